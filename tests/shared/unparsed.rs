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
