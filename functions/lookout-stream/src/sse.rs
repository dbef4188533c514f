//! A Server-Sent Events parser (the `text/event-stream` format of the HTML standard), fed
//! with body chunks as they arrive.
//!
//! It follows the standard's line rules: CRLF, LF or CR line ends (even mixed, even with the
//! CR and LF of one pair in different chunks), one leading byte order mark skipped, `:`
//! comment lines, `field:value` with one optional space after the colon, a field without a
//! colon taken as a field with an empty value, `data` lines joined with `\n`, `retry` only
//! when all digits, `id` ignored when it contains NUL, unknown fields ignored.
//!
//! One deliberate difference: the standard drops a block without `data`, but Lookout's
//! `event:reconnect` / `event:end` blocks carry none, so every non-empty block is a frame.

use std::borrow::Cow;
use std::collections::VecDeque;

use memchr::memchr2;

/// One block of fields ended by a blank line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    /// The `event` field, if any (the standard's default type is `message`).
    pub event: Option<String>,
    /// `data` lines joined with `\n`.
    pub data: String,
    /// Whether any `data` field was present (an empty `data:` still counts).
    pub has_data: bool,
    /// The `id` field of this block, if any.
    pub id: Option<String>,
    /// The `retry` field of this block, in milliseconds.
    pub retry: Option<u64>,
}

impl Frame {
    /// The event type, with the standard's default.
    pub fn event_type(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }

    fn is_empty(&self) -> bool {
        self.event.is_none() && !self.has_data && self.id.is_none() && self.retry.is_none()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SseError {
    #[error("an SSE line or frame grew past {limit} bytes without ending; the stream is not SSE or is corrupt")]
    TooLarge { limit: usize },
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The incremental parser. Feed it with [`push`](Parser::push), take frames with
/// [`next_frame`](Parser::next_frame).
#[derive(Debug)]
pub struct Parser {
    /// Bytes not yet making a whole line.
    pending: Vec<u8>,
    /// The last line ended with CR: an LF at the start of the next bytes belongs to it.
    after_cr: bool,
    /// Nothing has been read yet: a byte order mark may still come.
    at_start: bool,
    frame: Frame,
    /// Bytes in the frame being built, to bound memory on a stream that never ends a frame.
    frame_bytes: usize,
    ready: VecDeque<Frame>,
    limit: usize,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new(16 * 1024 * 1024)
    }
}

impl Parser {
    /// A parser that refuses lines or frames longer than `limit` bytes.
    pub fn new(limit: usize) -> Parser {
        Parser {
            pending: Vec::new(),
            after_cr: false,
            at_start: true,
            frame: Frame::default(),
            frame_bytes: 0,
            ready: VecDeque::new(),
            limit,
        }
    }

    /// Starts over, as for a new connection: the standard's state does not carry over.
    pub fn reset(&mut self) {
        let limit = self.limit;
        *self = Parser::new(limit);
    }

    /// Whether a frame or line was started and not finished: at the end of a stream, that
    /// part is dropped (the standard's rule), and a caller may want to say so.
    pub fn has_partial(&self) -> bool {
        !self.pending.is_empty() || !self.frame.is_empty()
    }

    pub fn next_frame(&mut self) -> Option<Frame> {
        self.ready.pop_front()
    }

    pub fn push(&mut self, mut chunk: &[u8]) -> Result<(), SseError> {
        if self.at_start {
            // The BOM itself may arrive split over chunks.
            let mut head = std::mem::take(&mut self.pending);
            head.extend_from_slice(chunk);
            if head.len() < BOM.len() && BOM.starts_with(&head) {
                self.pending = head;
                return Ok(());
            }
            self.at_start = false;
            let body = head.strip_prefix(BOM).unwrap_or(&head).to_vec();
            return self.push(&body);
        }
        if self.after_cr {
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
            if !chunk.is_empty() {
                self.after_cr = false;
            }
        }
        while let Some(at) = memchr2(b'\n', b'\r', chunk) {
            let line_end = chunk[at];
            if self.pending.is_empty() {
                self.line(&chunk[..at])?;
            } else {
                let mut line = std::mem::take(&mut self.pending);
                line.extend_from_slice(&chunk[..at]);
                self.line(&line)?;
                line.clear();
                self.pending = line;
            }
            chunk = &chunk[at + 1..];
            if line_end == b'\r' {
                match chunk.first() {
                    Some(b'\n') => chunk = &chunk[1..],
                    Some(_) => {}
                    // The LF of a CRLF pair may be in the next chunk.
                    None => self.after_cr = true,
                }
            }
        }
        if self.pending.len() + chunk.len() > self.limit {
            return Err(SseError::TooLarge { limit: self.limit });
        }
        self.pending.extend_from_slice(chunk);
        Ok(())
    }

    fn line(&mut self, line: &[u8]) -> Result<(), SseError> {
        if line.is_empty() {
            let frame = std::mem::take(&mut self.frame);
            self.frame_bytes = 0;
            if !frame.is_empty() {
                self.ready.push_back(frame);
            }
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        self.frame_bytes += line.len();
        if self.frame_bytes > self.limit {
            return Err(SseError::TooLarge { limit: self.limit });
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match name {
            b"data" => {
                if self.frame.has_data {
                    self.frame.data.push('\n');
                }
                self.frame.has_data = true;
                self.frame.data.push_str(&text(value));
            }
            b"event" => self.frame.event = Some(text(value).into_owned()),
            b"id" if !value.contains(&0) => {
                self.frame.id = Some(text(value).into_owned());
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.frame.retry = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            _ => {}
        }
        Ok(())
    }
}

/// `bytes` as text, invalid UTF-8 replaced with U+FFFD as the standard's decoder replaces it. Checked with
/// `str::from_utf8` first, which skips ASCII a word at a time where `from_utf8_lossy` reads it byte by byte: a
/// session's data lines are nearly all ASCII and valid.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &[u8]) -> Vec<Frame> {
        let mut p = Parser::default();
        p.push(input).unwrap();
        std::iter::from_fn(|| p.next_frame()).collect()
    }

    /// Feeds `input` split at every possible pair of points, and checks the frames never change.
    fn parse_every_split(input: &[u8]) -> Vec<Frame> {
        let whole = parse(input);
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let mut p = Parser::default();
                p.push(&input[..i]).unwrap();
                p.push(&input[i..j]).unwrap();
                p.push(&input[j..]).unwrap();
                let frames: Vec<Frame> = std::iter::from_fn(|| p.next_frame()).collect();
                assert_eq!(frames, whole, "split at {i},{j}");
            }
        }
        whole
    }

    fn frame(event: &str, data: Option<&str>, id: Option<&str>, retry: Option<u64>) -> Frame {
        Frame {
            event: Some(event.to_string()),
            data: data.unwrap_or("").to_string(),
            has_data: data.is_some(),
            id: id.map(str::to_string),
            retry,
        }
    }

    #[test]
    fn parses_lookouts_documented_trace() {
        let frames = parse_every_split(
            b"event:heartbeat\ndata:{}\n\nid:0190ec04\nevent:events\ndata:{\"events\":[]}\n\nevent:reconnect\nretry:1000\n\n",
        );
        assert_eq!(
            frames,
            vec![
                frame("heartbeat", Some("{}"), None, None),
                frame("events", Some("{\"events\":[]}"), Some("0190ec04"), None),
                frame("reconnect", None, None, Some(1000)),
            ]
        );
    }

    #[test]
    fn strips_exactly_one_space_after_the_colon() {
        let frames = parse(b"event: end\ndata:  two\n\n");
        assert_eq!(frames, vec![frame("end", Some(" two"), None, None)]);
    }

    #[test]
    fn joins_multi_line_data_with_newlines() {
        let frames = parse_every_split(b"event:events\ndata:[1,\ndata: 2,\ndata:3]\n\n");
        assert_eq!(frames[0].data, "[1,\n2,\n3]");
        let empty_first = parse(b"data:\ndata:x\n\n");
        assert_eq!(empty_first[0].data, "\nx");
    }

    #[test]
    fn accepts_crlf_cr_and_lf_line_ends_mixed() {
        let frames =
            parse_every_split(b"event:a\r\ndata:1\r\n\r\nevent:b\rdata:2\r\revent:c\ndata:3\n\n");
        let events: Vec<_> = frames
            .iter()
            .map(|f| (f.event_type(), f.data.as_str()))
            .collect();
        assert_eq!(events, vec![("a", "1"), ("b", "2"), ("c", "3")]);
    }

    #[test]
    fn a_cr_then_lf_in_the_next_chunk_is_one_line_end() {
        let mut p = Parser::default();
        p.push(b"event:a\r").unwrap();
        p.push(b"\ndata:1\r").unwrap();
        p.push(b"\n\r").unwrap();
        p.push(b"\n").unwrap();
        assert_eq!(p.next_frame(), Some(frame("a", Some("1"), None, None)));
        assert_eq!(p.next_frame(), None);
    }

    #[test]
    fn skips_comments_and_unknown_fields() {
        let frames =
            parse_every_split(b": hello\nevent:heartbeat\n:inside\nfoo:bar\ndata:{}\n\n:\n\n");
        assert_eq!(frames, vec![frame("heartbeat", Some("{}"), None, None)]);
    }

    #[test]
    fn retry_counts_only_when_all_digits() {
        assert_eq!(parse(b"retry:250\n\n")[0].retry, Some(250));
        assert!(parse(b"retry:25x\n\n").is_empty());
        assert!(parse(b"retry:\n\n").is_empty());
        assert_eq!(parse(b"event:end\nretry: 3000\n\n")[0].retry, Some(3000));
    }

    #[test]
    fn a_field_without_colon_has_an_empty_value() {
        let frames = parse(b"data\ndata\n\n");
        assert_eq!(frames[0].data, "\n");
        assert!(frames[0].has_data);
    }

    #[test]
    fn skips_one_leading_byte_order_mark_even_when_split() {
        let input = b"\xEF\xBB\xBFevent:heartbeat\ndata:{}\n\n";
        assert_eq!(
            parse_every_split(input),
            vec![frame("heartbeat", Some("{}"), None, None)]
        );
        // Only at the very start.
        let later = parse(b"event:a\ndata:\xEF\xBB\xBFx\n\n");
        assert_eq!(later[0].data, "\u{feff}x");
    }

    #[test]
    fn keeps_multibyte_text_split_across_chunks() {
        let input = "event:events\ndata:{\"n\":\"Zoë ✓\"}\n\n".as_bytes();
        assert_eq!(parse_every_split(input)[0].data, "{\"n\":\"Zoë ✓\"}");
    }

    /// Bytes that are not UTF-8 become U+FFFD, one per maximal bad sequence, as the standard's decoder makes
    /// them; the valid text around them is kept.
    #[test]
    fn invalid_utf8_is_replaced_and_the_text_around_it_kept() {
        let input = b"event:ev\xffents\nid:7\xc3\ndata:{\"n\":\"Zo\xc3\xab \xe2\x9c\"}\n\n";
        let frames = parse_every_split(input);
        assert_eq!(frames[0].event.as_deref(), Some("ev\u{fffd}ents"));
        assert_eq!(frames[0].id.as_deref(), Some("7\u{fffd}"));
        assert_eq!(frames[0].data, "{\"n\":\"Zoë \u{fffd}\"}");
    }

    #[test]
    fn ignores_an_id_with_nul() {
        assert_eq!(parse(b"id:a\0b\nevent:x\n\n")[0].id, None);
    }

    #[test]
    fn an_unfinished_frame_is_held_back_and_reported() {
        let mut p = Parser::default();
        p.push(b"id:9\nevent:events\ndata:{\"events\":[{\"id\"")
            .unwrap();
        assert_eq!(p.next_frame(), None);
        assert!(p.has_partial());
        p.reset();
        assert!(!p.has_partial());
    }

    #[test]
    fn refuses_a_line_that_never_ends() {
        let mut p = Parser::new(64);
        assert_eq!(p.push(&[b'x'; 65]), Err(SseError::TooLarge { limit: 64 }));
    }
}
