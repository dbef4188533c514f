//! `_unparsed` objects: two occurrences of the same bad input never collapse into one.

use tributary_shared::landing::ObjectNaming;
use tributary_shared::record::Unparsed;
use tributary_testkit::Stack;

fn frame(cursor: &str) -> Unparsed {
    Unparsed::new("lookout", "data: {\"id\": oops", "expected value at line 1")
        .with_context("stream", "lookout")
        .with_context("cursor", cursor)
}

#[tokio::test]
async fn identical_bad_frames_from_different_stream_positions_are_both_kept() {
    let stack = Stack::new("unparsed-positions").await;
    let lander = stack.services().lander("lookout-stream");
    let naming = ObjectNaming::FirstEvent { tag: "lookout" };
    // Two flushes of one session, each with the same malformed frame, at different positions.
    let first = lander.land(&[], &[frame("41")], naming).await.unwrap();
    let second = lander.land(&[], &[frame("97")], naming).await.unwrap();
    assert_eq!((first.unparsed, second.unparsed), (1, 1));

    let kept = stack.unparsed().await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    let mut cursors: Vec<_> = kept
        .iter()
        .map(|u| u["tributary"]["cursor"].as_str().unwrap())
        .collect();
    cursors.sort();
    assert_eq!(cursors, ["41", "97"]);
    assert_ne!(kept[0]["event"]["id"], kept[1]["event"]["id"]);

    // A retry of the first flush overwrites its own object and adds nothing.
    lander.land(&[], &[frame("41")], naming).await.unwrap();
    assert_eq!(stack.unparsed().await.len(), 2);
}

#[tokio::test]
async fn identical_bad_payloads_from_different_windows_are_both_kept() {
    let stack = Stack::new("unparsed-windows").await;
    let lander = stack.services().lander("easysend-poller");
    for window in ["w-1", "w-2"] {
        let mut landing = lander.streaming(window);
        let item = Unparsed::new("easysend", "{\"log\":", "EOF while parsing")
            .with_context("window", window);
        landing.push_unparsed(&item).await.unwrap();
        landing.commit().await.unwrap();
    }
    assert_eq!(stack.unparsed().await.len(), 2);
}

/// What [`tributary_shared::landing::LandedUnparsed`] finds: the items landed under one tag in this hour and the
/// hour before, and not those of another tag or an older hour.
#[tokio::test]
async fn the_unparsed_items_a_tag_landed_in_this_hour_or_the_one_before_are_found() {
    let stack = Stack::new("unparsed-landed-near").await;
    let lander = stack.services().lander("lookout-stream");
    let now = chrono::Utc::now();
    let (a, b, c) = (frame("1"), frame("2"), frame("3"));
    let naming = ObjectNaming::FirstEvent { tag: "lookout" };
    lander
        .land(&[], &[a.clone(), b.clone()], naming)
        .await
        .unwrap();
    // Another stream whose name begins with this one's is not this one.
    let other = ObjectNaming::FirstEvent { tag: "lookout2" };
    lander
        .land(&[], std::slice::from_ref(&c), other)
        .await
        .unwrap();

    let near = |at| lander.unparsed_landed_near("lookout", "lookout", at);
    let found = near(now).await.unwrap();
    assert!(found.contains(&a) && found.contains(&b));
    assert!(!found.contains(&c), "another tag's item");
    let all = [a.clone(), b.clone(), c.clone()];
    let fresh = found.not_landed(&all);
    assert_eq!(fresh.iter().map(Unparsed::id).collect::<Vec<_>>(), [c.id()]);

    // An hour on, the items of the hour before are still found; two hours on, no longer (the limit of the read).
    let hour = chrono::Duration::hours(1);
    assert!(near(now + hour).await.unwrap().contains(&a));
    assert!(!near(now + hour * 2).await.unwrap().contains(&a));

    // An object that cannot be read is an error that names the remedy, not an empty answer.
    let key = stack
        .keys()
        .await
        .into_iter()
        .find(|k| k.contains("/lookout-"))
        .unwrap();
    stack.put(&key, b"not gzip".to_vec()).await;
    let error = near(now).await.unwrap_err();
    assert!(
        error.contains(&key) && error.contains("move a damaged object aside"),
        "{error}"
    );
}
