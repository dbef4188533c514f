//! The 200 body: one JSON array of pages, rendered chunk by chunk while it streams.

use std::io;

use bytes::Bytes;
use futures_util::Stream;

use super::faults::{Truncate, TruncateMode};
use super::store::{render, StoredLog};

const CHUNK_BYTES: usize = 64 * 1024;

/// `[{"pageNumber":1,"results":n,"securityLogs":[...]}, ...]` for `logs`, `page_size` logs a page.
pub fn page_stream(
    logs: Vec<StoredLog>,
    page_size: usize,
    truncate: Option<Truncate>,
) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static {
    let writer = PageWriter {
        logs,
        page_size: page_size.max(1),
        next: 0,
        opened: false,
        finished: false,
        truncate,
        break_next: false,
    };
    futures_util::stream::unfold(writer, |mut writer| async move {
        if writer.break_next && !writer.finished {
            // Give the server time to send the head and what came before, so the break lands
            // mid-body rather than before the response starts.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        writer.next_chunk().map(|chunk| (chunk, writer))
    })
}

/// Number of pages a body of `results` logs has.
pub fn page_count(results: usize, page_size: usize) -> usize {
    results.div_ceil(page_size.max(1))
}

struct PageWriter {
    logs: Vec<StoredLog>,
    page_size: usize,
    next: usize,
    opened: bool,
    finished: bool,
    truncate: Option<Truncate>,
    break_next: bool,
}

fn connection_break() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "simulated connection break mid-page",
    )
}

impl PageWriter {
    fn next_chunk(&mut self) -> Option<Result<Bytes, io::Error>> {
        if self.finished {
            return None;
        }
        if self.break_next {
            self.finished = true;
            return Some(Err(connection_break()));
        }
        let mut out = String::with_capacity(CHUNK_BYTES + 4096);
        if !self.opened {
            self.opened = true;
            out.push('[');
        }
        while out.len() < CHUNK_BYTES {
            if let Some(cut) = &self.truncate {
                if self.next >= cut.after_logs {
                    self.finished = true;
                    return Some(match cut.mode {
                        // Hand out what was rendered; the break comes with the next poll.
                        TruncateMode::Abort if !out.is_empty() => {
                            self.finished = false;
                            self.break_next = true;
                            Ok(Bytes::from(out))
                        }
                        TruncateMode::Abort => Err(connection_break()),
                        TruncateMode::Clean => Ok(Bytes::from(out)),
                    });
                }
            }
            if self.next == self.logs.len() {
                if !self.logs.is_empty() {
                    out.push_str("]}");
                }
                out.push(']');
                self.finished = true;
                return Some(Ok(Bytes::from(out)));
            }
            let in_page = self.next % self.page_size;
            if in_page == 0 {
                if self.next > 0 {
                    out.push_str("]},");
                }
                let page_len = self.page_size.min(self.logs.len() - self.next);
                out.push_str(&format!(
                    "{{\"pageNumber\":{},\"results\":{},\"securityLogs\":[",
                    self.next / self.page_size + 1,
                    page_len
                ));
            } else {
                out.push(',');
            }
            render(&self.logs[self.next], &mut out);
            self.next += 1;
        }
        Some(Ok(Bytes::from(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::easysend::store::{Entry, Product};
    use futures_util::StreamExt;
    use serde_json::Value;

    fn logs(n: usize) -> Vec<StoredLog> {
        (0..n)
            .map(|i| StoredLog {
                ts_micros: 1_700_000_000_000_000 + i as i64,
                created_micros: 0,
                entry: Entry::Generated {
                    product: Product::Player,
                    seed: i as u64,
                },
            })
            .collect()
    }

    async fn collect(logs: Vec<StoredLog>, page: usize, cut: Option<Truncate>) -> (Vec<u8>, bool) {
        let mut body = Vec::new();
        let mut broke = false;
        let mut stream = Box::pin(page_stream(logs, page, cut));
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => body.extend_from_slice(&bytes),
                Err(_) => {
                    broke = true;
                    break;
                }
            }
        }
        (body, broke)
    }

    #[tokio::test]
    async fn pages_hold_at_most_page_size_logs() {
        let (body, broke) = collect(logs(25), 10, None).await;
        assert!(!broke);
        let pages: Vec<Value> = serde_json::from_slice(&body).unwrap();
        assert_eq!(pages.len(), 3);
        assert_eq!(pages[0]["pageNumber"], 1);
        assert_eq!(pages[2]["results"], 5);
        assert_eq!(pages[2]["securityLogs"].as_array().unwrap().len(), 5);
        assert_eq!(page_count(25, 10), 3);
    }

    #[tokio::test]
    async fn an_empty_window_is_an_empty_array() {
        let (body, _) = collect(Vec::new(), 10, None).await;
        assert_eq!(body, b"[]");
    }

    #[tokio::test]
    async fn truncation_cuts_the_body_mid_page() {
        let cut = |mode| {
            Some(Truncate {
                after_logs: 15,
                mode,
                times: None,
            })
        };
        let (body, broke) = collect(logs(25), 10, cut(TruncateMode::Abort)).await;
        assert!(broke);
        assert!(serde_json::from_slice::<Value>(&body).is_err());
        let (body, broke) = collect(logs(25), 10, cut(TruncateMode::Clean)).await;
        assert!(!broke);
        assert!(serde_json::from_slice::<Value>(&body).is_err());
    }
}
