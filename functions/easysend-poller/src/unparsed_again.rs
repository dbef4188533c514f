//! Unparsed logs fetched again. A log whose own `@timestamp` cannot place it lands under `_unparsed`, filed by the
//! hour it landed and named after the window it was fetched with. The next runs fetch the same minutes again (the
//! overlap, perhaps in another hour) and so does the sweep (in wider windows, so under other names): without a
//! check each of them would land it once more, up to seven times with the default sweep.
//!
//! So on the first unparsed log a fetch meets, it reads the `_unparsed` objects landed since the fetch's start
//! that were fetched with an overlapping window (their names say so), and counts the logs in them that came from
//! this stream with such a window. A log met again is not landed again: as many logs of each text are passed over
//! as had landed, so two logs with the same text are still two, and a log written after an earlier fetch still
//! lands. The one case it cannot tell apart: an earlier fetch that overlapped this one *and* a neighbouring window
//! counts for both, so were the same text written both there and, later, here, the later one would be taken for
//! the one that landed.

use std::collections::HashMap;

use serde::Deserialize;
use tributary_shared::event_id::digest_u128;
use tributary_shared::keys::Partition;
use tributary_shared::landing::{LandError, Lander};

use crate::mapping::VENDOR;
use crate::windows::Window;

/// How many unparsed logs of each text landed before from one stream and a window overlapping one fetch.
#[derive(Debug, Default)]
pub struct EarlierUnparsed {
    /// Digest of the text → how many of its logs are still to be met again.
    landed: HashMap<u128, u32>,
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
        let failed = |key: &str, reason: String| LandError {
            bucket: lander.bucket().to_owned(),
            key: key.to_owned(),
            reason: format!(
                "reading the unparsed logs that landed before, not to land them twice: {reason}"
            ),
            not_landed: 0,
            landed: 0,
            total: 0,
        };
        let mut earlier = EarlierUnparsed::default();
        let keys = lander
            .keys_from(&from)
            .await
            .map_err(|reason| failed(&from.lane_under(lander.prefix()), reason))?;
        for key in keys.iter().filter(|key| may_hold(key, fetched)) {
            let lines = lander
                .read_lines(key)
                .await
                .map_err(|reason| failed(key, reason))?;
            earlier.reads += 1;
            for text in lines
                .iter()
                .flatten()
                .filter_map(|line| text_of(line, stream, fetched))
            {
                *earlier
                    .landed
                    .entry(digest_u128(text.as_bytes()))
                    .or_default() += 1;
            }
        }
        Ok(earlier)
    }

    /// Whether an unparsed log with the text `raw` is to land: not when it is one of those that landed before.
    pub fn is_new(&mut self, raw: &str) -> bool {
        match self.landed.get_mut(&digest_u128(raw.as_bytes())) {
            Some(left) if *left > 0 => {
                *left -= 1;
                self.again += 1;
                false
            }
            _ => true,
        }
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
fn text_of(line: &str, stream: &str, fetched: Window) -> Option<String> {
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
    let line: Line = serde_json::from_str(line).ok()?;
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

    fn line(text: &str, stream: &str, fetched: Window) -> String {
        serde_json::json!({
            "event": {"original": text, "kind": "pipeline_error"},
            "tributary": {"stream": stream, "window": fetched.label()},
        })
        .to_string()
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
        assert_eq!(text_of("not json", "s", fetched), None);
        assert_eq!(
            text_of(
                r#"{"event":{"original":"x"},"tributary":{"stream":"s"}}"#,
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
    fn each_log_that_landed_is_met_again_once() {
        let mut earlier = EarlierUnparsed::default();
        earlier.landed.insert(digest_u128(b"twice"), 2);
        earlier.landed.insert(digest_u128(b"once"), 1);
        let met: Vec<bool> = ["twice", "once", "twice", "twice", "once", "new"]
            .into_iter()
            .map(|text| earlier.is_new(text))
            .collect();
        assert_eq!(met, [false, false, false, true, true, true]);
        assert_eq!(earlier.again, 3);
    }
}
