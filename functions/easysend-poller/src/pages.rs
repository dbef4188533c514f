//! Incremental parser for the `get-security-logs` body: one JSON array of pages,
//! `[{"pageNumber":1,"results":n,"securityLogs":[{...},...]},...]`.
//!
//! Bytes are pushed in as they arrive and logs come out one at a time, so memory holds one log (plus
//! whatever part of the current chunk is unread), never a page: a window of 200,000 logs costs the same
//! as a window of ten. Only structure is checked here; each log's own JSON is left to the caller.

use bytes::Bytes;

/// The largest single log accepted. Real logs are about 2 KB; a runaway value beyond this is an error
/// rather than unbounded memory.
pub const MAX_LOG_BYTES: usize = 4 * 1024 * 1024;

/// What the parser found.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// One element of a page's `securityLogs`; its raw JSON text is [`PageParser::log`].
    Log,
    /// A page closed.
    PageEnd(PageSummary),
}

/// One page's own account of itself, and what was counted in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSummary {
    /// 1-based position of the page in the body.
    pub position: u64,
    pub page_number: Option<i64>,
    /// The page's `results` field.
    pub declared_results: Option<i64>,
    /// Logs actually found in the page's `securityLogs`.
    pub counted: u64,
}

/// Totals over a complete body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BodyTotals {
    pub pages: u64,
    pub logs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("unexpected {found} at byte {offset} of the body ({context})")]
    Unexpected {
        found: String,
        offset: u64,
        context: &'static str,
    },
    #[error("the body ended after {offset} bytes, in the middle of {context} ({logs} logs read): truncated")]
    Truncated {
        offset: u64,
        context: &'static str,
        logs: u64,
    },
    #[error("a log at byte {offset} is larger than {MAX_LOG_BYTES} bytes")]
    LogTooLarge { offset: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the opening `[`.
    Start,
    /// After `[`: a page or `]`.
    FirstPage,
    /// After a page: `,` or `]`.
    AfterPage,
    /// After `,` between pages: a page.
    NextPage,
    /// After `{` of a page: a key or `}`.
    FirstKey,
    /// After a member: `,` or `}`.
    AfterMember,
    /// After `,` in a page: a key.
    NextKey,
    /// Inside a key string.
    Key,
    /// After a key: `:`.
    Colon,
    /// After `:`: the member's value.
    MemberValue,
    /// Inside a page member other than `securityLogs`.
    OtherValue,
    /// After `[` of `securityLogs`: a log or `]`.
    FirstLog,
    /// After a log: `,` or `]`.
    AfterLog,
    /// After `,` between logs: a log.
    NextLog,
    /// Inside a log.
    Log,
    /// After the closing `]`: only white space.
    Done,
}

impl State {
    fn context(self) -> &'static str {
        match self {
            State::Start => "the start of the body",
            State::FirstPage | State::AfterPage | State::NextPage => "the array of pages",
            State::FirstKey
            | State::AfterMember
            | State::NextKey
            | State::Key
            | State::Colon
            | State::MemberValue
            | State::OtherValue => "a page",
            State::FirstLog | State::AfterLog | State::NextLog | State::Log => {
                "a page's securityLogs"
            }
            State::Done => "the end of the body",
        }
    }
}

/// Finds where one JSON value ends, across chunk boundaries.
#[derive(Debug, Default, Clone)]
struct ValueScan {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// A number or literal: ends at the first delimiter, which is not part of it.
    scalar: bool,
    started: bool,
}

impl ValueScan {
    /// Consumes bytes of the value from `input`; returns how many belong to it and whether it is complete.
    /// Most of a log's bytes are inside strings, where only a quote or a backslash matters: those runs are
    /// skipped with a vectorized search instead of byte by byte.
    fn advance(&mut self, input: &[u8]) -> (usize, bool) {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            if !self.started {
                self.started = true;
                match b {
                    b'{' | b'[' => self.depth = 1,
                    b'"' => self.in_string = true,
                    _ => self.scalar = true,
                }
                i += 1;
                continue;
            }
            if self.scalar {
                if matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace() {
                    return (i, true);
                }
                i += 1;
                continue;
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                let Some(skip) = memchr::memchr2(b'"', b'\\', &input[i..]) else {
                    return (input.len(), false);
                };
                i += skip;
                if input[i] == b'\\' {
                    self.escaped = true;
                } else {
                    self.in_string = false;
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
                i += 1;
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        (input.len(), false)
    }
}

/// Push parser over the body's bytes. Call [`PageParser::push`] with each chunk, then
/// [`PageParser::next_event`] until it returns `Ok(None)` (more input needed), and [`PageParser::finish`]
/// at the end of the body.
#[derive(Debug)]
pub struct PageParser {
    state: State,
    chunk: Bytes,
    pos: usize,
    /// Bytes of the body consumed before `chunk`.
    offset: u64,
    scan: ValueScan,
    value: Vec<u8>,
    /// A log was handed out from `value`; clear it on the next call.
    handed_out: bool,
    key: Vec<u8>,
    key_escaped: bool,
    position: u64,
    page_number: Option<i64>,
    declared: Option<i64>,
    counted: u64,
    totals: BodyTotals,
}

impl Default for PageParser {
    fn default() -> Self {
        Self::new()
    }
}

impl PageParser {
    pub fn new() -> Self {
        PageParser {
            state: State::Start,
            chunk: Bytes::new(),
            pos: 0,
            offset: 0,
            scan: ValueScan::default(),
            value: Vec::with_capacity(4096),
            handed_out: false,
            key: Vec::with_capacity(32),
            key_escaped: false,
            position: 0,
            page_number: None,
            declared: None,
            counted: 0,
            totals: BodyTotals::default(),
        }
    }

    /// Hands over the next chunk. The previous one must have been read to its end (`next_event` returned
    /// `Ok(None)`).
    pub fn push(&mut self, chunk: Bytes) {
        debug_assert_eq!(self.pos, self.chunk.len(), "previous chunk not fully read");
        self.offset += self.chunk.len() as u64;
        self.chunk = chunk;
        self.pos = 0;
    }

    /// Logs and pages read so far.
    pub fn totals(&self) -> BodyTotals {
        self.totals
    }

    fn unexpected(&self, at: usize, byte: u8) -> PageError {
        let found = if byte.is_ascii_graphic() {
            format!("'{}'", byte as char)
        } else {
            format!("byte 0x{byte:02x}")
        };
        PageError::Unexpected {
            found,
            offset: self.offset + at as u64,
            context: self.state.context(),
        }
    }

    /// The raw JSON text of the log the last [`Event::Log`] announced.
    pub fn log(&self) -> &[u8] {
        &self.value
    }

    /// The next log or page end in the bytes pushed so far; `Ok(None)` when the chunk is used up.
    pub fn next_event(&mut self) -> Result<Option<Event>, PageError> {
        if self.handed_out {
            self.handed_out = false;
            self.value.clear();
        }
        while self.pos < self.chunk.len() {
            if matches!(self.state, State::Log | State::OtherValue) {
                let (used, done) = self.scan.advance(&self.chunk[self.pos..]);
                self.value
                    .extend_from_slice(&self.chunk[self.pos..self.pos + used]);
                self.pos += used;
                if self.value.len() > MAX_LOG_BYTES {
                    return Err(PageError::LogTooLarge {
                        offset: self.offset + self.pos as u64 - self.value.len() as u64,
                    });
                }
                if !done {
                    continue;
                }
                if self.state == State::Log {
                    self.state = State::AfterLog;
                    self.counted += 1;
                    self.totals.logs += 1;
                    self.handed_out = true;
                    return Ok(Some(Event::Log));
                }
                self.member_value_done();
                continue;
            }

            let at = self.pos;
            let b = self.chunk[at];
            self.pos += 1;
            if self.state == State::Key {
                if self.key_escaped {
                    self.key_escaped = false;
                    self.key.push(b);
                } else if b == b'\\' {
                    self.key_escaped = true;
                    self.key.push(b);
                } else if b == b'"' {
                    self.state = State::Colon;
                } else if self.key.len() < 256 {
                    self.key.push(b);
                }
                continue;
            }
            if b.is_ascii_whitespace() {
                continue;
            }
            self.state = match (self.state, b) {
                (State::Start, b'[') => State::FirstPage,
                (State::FirstPage | State::NextPage, b'{') => {
                    self.position += 1;
                    self.page_number = None;
                    self.declared = None;
                    self.counted = 0;
                    State::FirstKey
                }
                (State::FirstPage | State::AfterPage, b']') => State::Done,
                (State::AfterPage, b',') => State::NextPage,
                (State::FirstKey | State::NextKey, b'"') => {
                    self.key.clear();
                    State::Key
                }
                (State::Colon, b':') => State::MemberValue,
                (State::MemberValue, b'[') if self.key == b"securityLogs" => State::FirstLog,
                (State::MemberValue, _) => {
                    // Any other member (or a `securityLogs` that is not an array): read it whole.
                    self.pos = at;
                    self.scan = ValueScan::default();
                    self.value.clear();
                    State::OtherValue
                }
                (State::AfterMember, b',') => State::NextKey,
                (State::FirstKey | State::AfterMember, b'}') => {
                    self.state = State::AfterPage;
                    self.totals.pages += 1;
                    return Ok(Some(Event::PageEnd(PageSummary {
                        position: self.position,
                        page_number: self.page_number,
                        declared_results: self.declared,
                        counted: self.counted,
                    })));
                }
                (State::FirstLog | State::AfterLog, b']') => State::AfterMember,
                (State::AfterLog, b',') => State::NextLog,
                (State::FirstLog | State::NextLog, _) => {
                    self.pos = at;
                    self.scan = ValueScan::default();
                    self.value.clear();
                    State::Log
                }
                _ => return Err(self.unexpected(at, b)),
            };
        }
        Ok(None)
    }

    fn member_value_done(&mut self) {
        let number = || serde_json::from_slice::<i64>(&self.value).ok();
        match self.key.as_slice() {
            b"pageNumber" => self.page_number = number(),
            b"results" => self.declared = number(),
            _ => {}
        }
        self.value.clear();
        self.state = State::AfterMember;
    }

    /// Call at the end of the body: the totals if the array was complete, otherwise why not.
    pub fn finish(&self) -> Result<BodyTotals, PageError> {
        if self.state == State::Done {
            Ok(self.totals)
        } else {
            Err(PageError::Truncated {
                offset: self.offset + self.pos as u64,
                context: self.state.context(),
                logs: self.totals.logs,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Owned {
        Log(String),
        Page(PageSummary),
    }

    /// Feeds `body` in chunks of `size` bytes and collects everything.
    fn parse(body: &str, size: usize) -> (Vec<Owned>, Result<BodyTotals, PageError>) {
        let mut parser = PageParser::new();
        let mut out = Vec::new();
        for chunk in body.as_bytes().chunks(size.max(1)) {
            parser.push(Bytes::copy_from_slice(chunk));
            loop {
                match parser.next_event() {
                    Ok(Some(Event::Log)) => out.push(Owned::Log(
                        String::from_utf8(parser.log().to_vec()).unwrap(),
                    )),
                    Ok(Some(Event::PageEnd(page))) => out.push(Owned::Page(page)),
                    Ok(None) => break,
                    Err(error) => return (out, Err(error)),
                }
            }
        }
        let end = parser.finish();
        (out, end)
    }

    const BODY: &str = r#" [
      {"pageNumber": 1, "results": 2, "securityLogs": [
          {"@timestamp":"2026-11-21T10:00:00.000001","event":{"action":"OPENED"},"s":"a \"quoted\" ]} brace"},
          {"@timestamp":"2026-11-21T10:00:01.000000","nested":[[1,2],{"x":[]}]}
      ]},
      {"securityLogs": [{"@timestamp":"2026-11-21T10:00:02.5"}], "results": 1, "pageNumber": 2, "extra": {"k": [1]}}
    ] "#;

    #[test]
    fn logs_and_page_counts_come_out_whatever_the_chunking() {
        let (whole, totals) = parse(BODY, BODY.len());
        assert_eq!(totals, Ok(BodyTotals { pages: 2, logs: 3 }));
        for size in [1, 2, 3, 7, 64] {
            let (chunked, totals) = parse(BODY, size);
            assert_eq!(chunked, whole, "chunk size {size}");
            assert_eq!(totals, Ok(BodyTotals { pages: 2, logs: 3 }));
        }
        assert_eq!(
            whole[2],
            Owned::Page(PageSummary {
                position: 1,
                page_number: Some(1),
                declared_results: Some(2),
                counted: 2
            })
        );
        assert_eq!(
            whole[4],
            Owned::Page(PageSummary {
                position: 2,
                page_number: Some(2),
                declared_results: Some(1),
                counted: 1
            })
        );
        match &whole[0] {
            Owned::Log(text) => {
                let v: serde_json::Value = serde_json::from_str(text).unwrap();
                assert_eq!(v["s"], "a \"quoted\" ]} brace");
            }
            other => panic!("{other:?}"),
        }
    }

    /// Escapes decide where strings end: a backslash before a quote, an escaped backslash before the closing
    /// quote, brackets inside strings. Cut at every possible place, the log still comes out whole.
    #[test]
    fn escapes_and_brackets_in_strings_end_strings_where_json_ends_them() {
        let log = r#"{"a":"\\","b":"\"}]","c":"x\\\"{","d":["]",{"e":"\\\\"}],"f":"\u005c"}"#;
        let body = format!(r#"[{{"securityLogs":[{log},{log}],"results":2}}]"#);
        for size in 1..=12 {
            let (events, totals) = parse(&body, size);
            assert_eq!(
                totals,
                Ok(BodyTotals { pages: 1, logs: 2 }),
                "chunk size {size}"
            );
            assert_eq!(events[0], Owned::Log(log.to_owned()), "chunk size {size}");
            assert_eq!(events[1], Owned::Log(log.to_owned()), "chunk size {size}");
        }
        let parsed: serde_json::Value = serde_json::from_str(log).unwrap();
        assert_eq!(parsed["c"], "x\\\"{");
    }

    #[test]
    fn an_empty_array_and_an_empty_page_are_fine() {
        assert_eq!(parse("[]", 1).1, Ok(BodyTotals::default()));
        let (events, totals) = parse(r#"[{"pageNumber":1,"results":0,"securityLogs":[]}]"#, 5);
        assert_eq!(totals, Ok(BodyTotals { pages: 1, logs: 0 }));
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn a_body_cut_mid_page_is_truncated_not_complete() {
        let cut = &BODY[..BODY.find("10:00:01").unwrap()];
        let (events, end) = parse(cut, 16);
        assert_eq!(events.len(), 1, "the complete first log still comes out");
        match end {
            Err(PageError::Truncated { logs, context, .. }) => {
                assert_eq!(logs, 1);
                assert_eq!(context, "a page's securityLogs");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn something_other_than_an_array_of_pages_is_rejected_with_its_offset() {
        let (_, end) = parse(r#"{"error":"x"}"#, 4);
        assert_eq!(
            end,
            Err(PageError::Unexpected {
                found: "'{'".into(),
                offset: 0,
                context: "the start of the body"
            })
        );
        let (_, end) = parse(r#"[{"pageNumber":1} {"#, 4);
        assert!(
            matches!(end, Err(PageError::Unexpected { offset: 18, .. })),
            "{end:?}"
        );
        let (_, end) = parse("[] x", 4);
        assert!(matches!(end, Err(PageError::Unexpected { .. })), "{end:?}");
    }
}
