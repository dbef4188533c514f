//! Frames that did not parse. A malformed `events` frame is never committed past on first sight: the session
//! reconnects from the last good id so the server sends the batch again (most such frames are a transient fault of
//! the server or the path), and only once the same position has failed the configured number of times is the frame
//! skipped, its raw text kept under `_unparsed` and its events counted as skipped.

/// Failures of the frame that follows one resume point.
#[derive(Debug, Default)]
pub struct Attempts {
    /// The resume point the failures followed (`None`: the stream's start), and how many there were.
    at: Option<(Option<String>, u32)>,
}

impl Attempts {
    /// Records a malformed frame after `position`; answers how many times in a row a frame after that position
    /// has now failed. The count is kept after a skip: a second bad frame at a position that a skip did not move
    /// (a frame without an id) is skipped at once, instead of reconnecting, which would bring back the skipped one.
    pub fn failed_at(&mut self, position: Option<&str>) -> u32 {
        match &mut self.at {
            Some((at, count)) if at.as_deref() == position => {
                *count = count.saturating_add(1);
                *count
            }
            _ => {
                self.at = Some((position.map(str::to_owned), 1));
                1
            }
        }
    }
}

/// How many events a frame that is not valid JSON had begun to carry: the objects started in its events array
/// (`{"events":[...` or a bare `[...`), counting one cut off mid-way. `None` when no events array can be found, so
/// the number is unknown rather than a guess.
pub fn count_events(data: &str) -> Option<u64> {
    let start = events_array_start(data)?;
    let mut depth = 0u32;
    let mut in_string = false;
    let mut escaped = false;
    let mut count = 0u64;
    for b in data.as_bytes()[start..].iter().copied() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                if depth == 0 && b == b'{' {
                    count += 1;
                }
                depth += 1;
            }
            b'}' | b']' if depth == 0 => break,
            b'}' | b']' => depth -= 1,
            _ => {}
        }
    }
    Some(count)
}

/// The byte just after the `[` that opens the events array.
fn events_array_start(data: &str) -> Option<usize> {
    let trimmed = data.trim_start();
    let offset = data.len() - trimmed.len();
    if trimmed.starts_with('[') {
        return Some(offset + 1);
    }
    let key = trimmed.find(r#""events""#)?;
    let after_key = offset + key + r#""events""#.len();
    let rest = &data[after_key..];
    let colon = rest.trim_start().strip_prefix(':')?;
    let array = colon.trim_start().strip_prefix('[')?;
    Some(data.len() - array.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_events_a_cut_off_frame_had_begun() {
        assert_eq!(
            count_events(r#"{"events":[{"id":"a","x":{"y":"}"}},{"id":"b"},{"id":"c","ty"#),
            Some(3)
        );
        assert_eq!(count_events(r#"[{"id":"a"},{"id":"b""#), Some(2));
        assert_eq!(count_events(r#" { "events" : [ ] }"#), Some(0));
        assert_eq!(
            count_events(r#"{"events":[{"id":"broken","type":"THREAT","#),
            Some(1)
        );
    }

    #[test]
    fn an_unknown_shape_is_not_counted() {
        assert_eq!(
            count_events(r#"{"status":"degraded","message":"events unavailable"}"#),
            None
        );
        assert_eq!(count_events("not json"), None);
    }

    #[test]
    fn failures_count_per_position_and_restart_elsewhere() {
        let mut a = Attempts::default();
        assert_eq!(a.failed_at(None), 1);
        assert_eq!(a.failed_at(None), 2);
        assert_eq!(a.failed_at(Some("x")), 1);
        assert_eq!(a.failed_at(Some("x")), 2);
        assert_eq!(a.failed_at(Some("x")), 3);
        assert_eq!(
            a.failed_at(Some("x")),
            4,
            "still past the limit after a skip"
        );
        assert_eq!(a.failed_at(Some("y")), 1);
    }
}
