//! Unparsed logs fetched again. A log whose own `@timestamp` cannot place it lands under `_unparsed`, filed by the
//! hour it landed and named after the window it was fetched with. The next runs fetch the same minutes again (the
//! overlap, perhaps in another hour) and so does the sweep (in wider windows, so under other names): without a
//! check each of them would land it once more, up to seven times with the default sweep.
//!
//! So on the first unparsed log a fetch meets, it reads the `_unparsed` objects landed since the fetch's start
//! that were fetched with an overlapping window (their names say so), and counts the logs in them that came from
//! this stream with such a window. A log met again is not landed again: as many logs of each text are passed over
//! as had landed, so two logs with the same text are still two, and a third written later still lands. The n-th
//! log of one text in a fetch is its occurrence n (in the context from the second on, so it has an id of its own
//! and a rewrite of the window's object keeps the copies apart).
//!
//! Where it is not exact:
//! - an earlier fetch that overlapped this one *and* a neighbouring window counts for both (sweep windows do not
//!   keep to the grid, nor do windows after a change of size). Were the same text written late both there and
//!   here, the later one would be taken for the one that landed. Only logs of one text written after their window
//!   was fetched can be missed so, and only when a sweep or an old grid had landed one of them.
//! - a log the vendor keeps in the last second before a window ends is also in the next window's answer (requests
//!   start a second early, and an unparsed log has no time to drop it by); it lands once for each.

use std::collections::HashMap;

use serde::Deserialize;
use tributary_shared::event_id::digest_u128;
use tributary_shared::keys::Partition;
use tributary_shared::landing::{LandError, Lander};

use crate::mapping::VENDOR;
use crate::windows::Window;

/// How many unparsed logs of each text landed before from one stream and a window overlapping one fetch, and how
/// many of each this fetch has met.
#[derive(Debug, Default)]
pub struct EarlierUnparsed {
    /// Digest of the text → logs that landed before.
    landed: HashMap<u128, u32>,
    /// Digest of the text → logs met in this fetch.
    met: HashMap<u128, u32>,
    /// Objects read.
    pub reads: u64,
    /// Logs met again, not landed twice.
    pub again: u64,
}

impl EarlierUnparsed {
    /// Reads what landed for `fetched` from `stream`. Every fetch of an overlapping window ended after `fetched`
    /// starts, so what it landed is filed in that hour or a later one.
    pub async fn read(
        lander: &Lander,
        stream: &str,
        fetched: Window,
    ) -> Result<EarlierUnparsed, LandError> {
        let from = Partition::unparsed(VENDOR, fetched.start);
        let failed = |key: &str, reason: String| {
            LandError {
            bucket: lander.bucket().to_owned(),
            key: key.to_owned(),
            reason: format!(
                "reading the unparsed logs that landed before, not to land them twice: {reason}; nothing of the \
                 window is committed until this reads (move a damaged object aside)"
            ),
            not_landed: 0,
            landed: 0,
            total: 0,
        }
        };
        let mut earlier = EarlierUnparsed::default();
        let keys = lander
            .keys_from(&from)
            .await
            .map_err(|reason| failed(&from.lane_under(lander.prefix()), reason))?;
        for key in keys.iter().filter(|key| may_hold(key, fetched)) {
            let landed = &mut earlier.landed;
            lander
                .each_line(key, |line| {
                    if let Some(text) = text_of(line, stream, fetched) {
                        *landed.entry(digest_u128(text.as_bytes())).or_default() += 1;
                    }
                })
                .await
                .map_err(|reason| failed(key, reason))?;
            earlier.reads += 1;
        }
        Ok(earlier)
    }

    /// Meets an unparsed log with the text `raw`: its occurrence in this fetch (1 for the first log of its text)
    /// when it is to land, `None` when it is one of those that landed before.
    pub fn meet(&mut self, raw: &str) -> Option<u32> {
        let text = digest_u128(raw.as_bytes());
        let met = self.met.entry(text).or_default();
        *met += 1;
        if *met <= self.landed.get(&text).copied().unwrap_or(0) {
            self.again += 1;
            return None;
        }
        Some(*met)
    }
}

/// Whether the object at `key` may hold logs fetched with a window overlapping `fetched`: its name is the window
/// it was fetched with. A name that is no window is read, to be safe.
fn may_hold(key: &str, fetched: Window) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    let tag = name.strip_suffix(".ndjson.gz").unwrap_or(name);
    Window::from_tag(tag).is_none_or(|window| window.overlaps(fetched))
}

/// The text of the unparsed log on `line` when it came from `stream` with a window overlapping `fetched`.
fn text_of(line: &[u8], stream: &str, fetched: Window) -> Option<String> {
    #[derive(Deserialize)]
    struct Line {
        event: Event,
        tributary: Context,
    }
    #[derive(Deserialize)]
    struct Event {
        original: String,
    }
    #[derive(Deserialize)]
    struct Context {
        stream: String,
        window: String,
    }
    let line: Line = serde_json::from_slice(line).ok()?;
    let window = Window::from_label(&line.tributary.window)?;
    (line.tributary.stream == stream && window.overlaps(fetched)).then_some(line.event.original)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn window(from_minute: u32, to_minute: u32) -> Window {
        let at = |minute: u32| {
            Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
                + chrono::Duration::minutes(minute.into())
        };
        Window::new(at(from_minute), at(to_minute))
    }

    fn line(text: &str, stream: &str, fetched: Window) -> Vec<u8> {
        serde_json::json!({
            "event": {"original": text, "kind": "pipeline_error"},
            "tributary": {"stream": stream, "window": fetched.label()},
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn only_lines_of_this_stream_fetched_with_an_overlapping_window_count() {
        let fetched = window(5, 10);
        assert_eq!(
            text_of(&line("x", "s", window(5, 10)), "s", fetched).as_deref(),
            Some("x")
        );
        assert_eq!(
            text_of(&line("x", "s", window(0, 60)), "s", fetched).as_deref(),
            Some("x")
        );
        assert_eq!(
            text_of(&line("x", "other", window(5, 10)), "s", fetched),
            None
        );
        assert_eq!(
            text_of(&line("x", "s", window(10, 15)), "s", fetched),
            None,
            "the next window"
        );
        assert_eq!(
            text_of(&line("x", "s", window(0, 5)), "s", fetched),
            None,
            "the one before"
        );
        assert_eq!(text_of(b"not json", "s", fetched), None);
        assert_eq!(
            text_of(
                br#"{"event":{"original":"x"},"tributary":{"stream":"s"}}"#,
                "s",
                fetched
            ),
            None
        );
    }

    #[test]
    fn objects_named_after_other_windows_are_not_read() {
        let fetched = window(5, 10);
        let key = |w: Window| {
            format!(
                "p/vendor=easysend/event_type=_unparsed/dt=2026-12-03/hour=10/{}.ndjson.gz",
                w.tag()
            )
        };
        assert!(may_hold(&key(window(5, 10)), fetched));
        assert!(may_hold(&key(window(0, 20)), fetched));
        assert!(!may_hold(&key(window(10, 15)), fetched));
        assert!(may_hold(
            "p/vendor=easysend/event_type=_unparsed/dt=2026-12-03/hour=10/0123abcd.ndjson.gz",
            fetched
        ));
    }

    #[test]
    fn each_log_that_landed_is_met_again_once_and_the_others_count_on() {
        let mut earlier = EarlierUnparsed::default();
        earlier.landed.insert(digest_u128(b"twice"), 2);
        earlier.landed.insert(digest_u128(b"once"), 1);
        let met: Vec<Option<u32>> = ["twice", "once", "twice", "twice", "once", "new", "new"]
            .into_iter()
            .map(|text| earlier.meet(text))
            .collect();
        assert_eq!(met, [None, None, None, Some(3), Some(2), Some(1), Some(2)]);
        assert_eq!(earlier.again, 3);
    }
}
