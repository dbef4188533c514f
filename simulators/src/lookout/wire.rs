//! How frames are written on the wire.
//!
//! Lookout's own trace uses `field:value`, LF line ends and `{"events":[...]}`. The SSE format
//! allows more (a space after the colon, CRLF or CR line ends, comments, `data` split over
//! several lines), and a consumer found in the wild uses a bare array, so the simulator can
//! write every one of those variants, alone or rotating frame by frame.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LineEnding {
    #[default]
    Lf,
    Crlf,
    Cr,
}

impl LineEnding {
    fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::Crlf => "\r\n",
            LineEnding::Cr => "\r",
        }
    }
}

/// One way of writing frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct WireStyle {
    /// `field: value` instead of `field:value`.
    pub space_after_colon: bool,
    pub line_ending: LineEnding,
    /// Comment lines (`: ...`) between and inside frames.
    pub comments: bool,
    /// The `data` of an `events` frame split over several `data:` lines.
    pub multiline_data: bool,
    /// `data:[...]` instead of `data:{"events":[...]}`.
    pub bare_array: bool,
}

/// Which style each frame uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum WireMode {
    /// As in Lookout's documented trace.
    #[default]
    Lookout,
    /// One fixed style for every frame.
    Fixed(WireStyle),
    /// Every frame in a different combination, cycling through all of them.
    Mixed,
}

impl WireMode {
    pub fn style_for_frame(self, frame: u64) -> WireStyle {
        match self {
            WireMode::Lookout => WireStyle::default(),
            WireMode::Fixed(style) => style,
            WireMode::Mixed => {
                // A mixed-radix count over 2 * 3 * 2 * 2 * 2 = 48 combinations.
                let n = frame % 48;
                WireStyle {
                    space_after_colon: n % 2 == 1,
                    line_ending: [LineEnding::Lf, LineEnding::Crlf, LineEnding::Cr]
                        [(n / 2 % 3) as usize],
                    comments: (n / 6) % 2 == 1,
                    multiline_data: (n / 12) % 2 == 1,
                    bare_array: (n / 24) % 2 == 1,
                }
            }
        }
    }
}

/// Writes frames into a buffer.
pub struct FrameWriter<'a> {
    out: &'a mut String,
    style: WireStyle,
}

impl<'a> FrameWriter<'a> {
    pub fn new(out: &'a mut String, style: WireStyle) -> Self {
        FrameWriter { out, style }
    }

    fn field(&mut self, name: &str, value: &str) {
        self.out.push_str(name);
        self.out.push(':');
        if self.style.space_after_colon {
            self.out.push(' ');
        }
        self.out.push_str(value);
        self.out.push_str(self.style.line_ending.as_str());
    }

    fn end_frame(&mut self) {
        self.out.push_str(self.style.line_ending.as_str());
    }

    pub fn comment(&mut self, text: &str) {
        self.out.push(':');
        self.out.push_str(text);
        self.out.push_str(self.style.line_ending.as_str());
    }

    pub fn heartbeat(&mut self) {
        if self.style.comments {
            self.comment(" keep-alive");
        }
        self.field("event", "heartbeat");
        self.field("data", "{}");
        self.end_frame();
    }

    /// An `events` frame. `events` are rendered JSON objects; `last_id` is the id of the last.
    pub fn events(&mut self, last_id: &str, events: &[&str]) {
        self.field("id", last_id);
        self.field("event", "events");
        if self.style.comments {
            self.comment(&format!(" batch of {}", events.len()));
        }
        let (open, close) = if self.style.bare_array {
            ("[", "]")
        } else {
            (r#"{"events":["#, "]}")
        };
        if self.style.multiline_data {
            // Split only between array elements: the lines join with `\n`, which is JSON
            // whitespace there, never inside a string.
            self.field("data", open);
            for (i, event) in events.iter().enumerate() {
                if i + 1 < events.len() {
                    let line = format!("{event},");
                    self.field("data", &line);
                } else {
                    self.field("data", event);
                }
            }
            self.field("data", close);
        } else {
            let mut line =
                String::with_capacity(events.iter().map(|e| e.len() + 1).sum::<usize>() + 16);
            line.push_str(open);
            for (i, event) in events.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                line.push_str(event);
            }
            line.push_str(close);
            self.field("data", &line);
        }
        self.end_frame();
    }

    /// An `events` frame numbered `last_id` whose data is cut off halfway through its last event (a server
    /// that truncated its own serialisation): not JSON, yet it still says which events it carried.
    pub fn corrupt_events(&mut self, last_id: &str, events: &[&str]) {
        let mut data = String::from(r#"{"events":["#);
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                data.push(',');
            }
            if i + 1 == events.len() {
                let mut cut = event.len() / 2;
                while !event.is_char_boundary(cut) {
                    cut -= 1;
                }
                data.push_str(&event[..cut]);
            } else {
                data.push_str(event);
            }
        }
        self.field("id", last_id);
        self.field("event", "events");
        self.field("data", &data);
        self.end_frame();
    }

    pub fn reconnect(&mut self, retry_ms: u64) {
        self.field("event", "reconnect");
        self.field("retry", &retry_ms.to_string());
        self.end_frame();
    }

    pub fn end(&mut self, retry_ms: Option<u64>) {
        self.field("event", "end");
        if let Some(retry) = retry_ms {
            self.field("retry", &retry.to_string());
        }
        self.end_frame();
    }

    /// A frame a correct client cannot use; it must set it aside and keep reading.
    /// `last_id` is the id of the last event sent on the connection, if any: a server that sends
    /// a broken frame still numbers it like the frames around it.
    pub fn malformed(&mut self, kind: Malformed, last_id: Option<&str>) {
        match (kind, last_id) {
            (Malformed::HostileId, _) => {
                // An id no client may store and send back: 2,000 characters with a control character inside.
                let id = format!("{}\u{1}{}", "x".repeat(1000), "y".repeat(999));
                self.field("id", &id);
            }
            (_, Some(id)) => self.field("id", id),
            (_, None) => {}
        }
        match kind {
            Malformed::BadJson => {
                self.field("event", "events");
                self.field("data", r#"{"events":[{"id":"broken","type":"THREAT","#);
            }
            Malformed::NotEvents => {
                self.field("event", "events");
                self.field(
                    "data",
                    r#"{"status":"degraded","message":"events unavailable"}"#,
                );
            }
            Malformed::EventWithoutId => {
                self.field("event", "events");
                self.field(
                    "data",
                    r#"{"events":[{"enterprise_guid":"00000000-0000-4000-8000-000000000000","created_time":"not a time","change_type":"CREATED"}]}"#,
                );
            }
            Malformed::HostileId => {
                self.field("event", "events");
                self.field("data", r#"{"events":[]}"#);
            }
        }
        self.end_frame();
    }
}

/// Kinds of malformed `events` frame the simulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Malformed {
    /// `data` that is not JSON.
    #[default]
    BadJson,
    /// JSON, but neither `{"events":[...]}` nor an array.
    NotEvents,
    /// An event without `id` or `type`.
    EventWithoutId,
    /// A well-formed, empty `events` frame whose `id:` is 2,000 characters with a control character.
    HostileId,
}

impl Malformed {
    /// Whether a correct client can use the rest of the connection after this frame (it rejects only an event,
    /// or only an id), rather than reconnecting to have the frame sent again.
    pub fn survivable(self) -> bool {
        matches!(self, Malformed::EventWithoutId | Malformed::HostileId)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookout_style_matches_the_documented_trace() {
        let mut out = String::new();
        let mut w = FrameWriter::new(&mut out, WireMode::Lookout.style_for_frame(0));
        w.heartbeat();
        w.events("b", &[r#"{"id":"a"}"#, r#"{"id":"b"}"#]);
        w.reconnect(1000);
        assert_eq!(
            out,
            "event:heartbeat\ndata:{}\n\nid:b\nevent:events\ndata:{\"events\":[{\"id\":\"a\"},{\"id\":\"b\"}]}\n\nevent:reconnect\nretry:1000\n\n"
        );
    }

    #[test]
    fn mixed_mode_covers_every_variant() {
        let styles: Vec<WireStyle> = (0..48)
            .map(|n| WireMode::Mixed.style_for_frame(n))
            .collect();
        assert!(
            styles.iter().any(|s| s.space_after_colon)
                && styles.iter().any(|s| !s.space_after_colon)
        );
        for le in [LineEnding::Lf, LineEnding::Crlf, LineEnding::Cr] {
            assert!(styles.iter().any(|s| s.line_ending == le));
        }
        assert!(styles
            .iter()
            .any(|s| s.comments && s.multiline_data && s.bare_array));
        let distinct: std::collections::HashSet<_> =
            styles.iter().map(|s| format!("{s:?}")).collect();
        assert_eq!(distinct.len(), 48);
    }
}
