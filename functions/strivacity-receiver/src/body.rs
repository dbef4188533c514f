//! Request bodies: size limits and `Content-Encoding`, shared by both protocols.
//!
//! Limits are checked before anything is parsed or written, so an oversized request is refused whole. Gzip is
//! inflated into a bounded buffer: inflating stops one byte past the limit, so a small compressed body cannot make
//! us allocate more than the limit (a "gzip bomb").

use std::borrow::Cow;
use std::io::Read;

use flate2::read::MultiGzDecoder;

/// Sizes a single request may not exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes on the wire (compressed, if the sender compressed).
    pub max_body_bytes: usize,
    /// Bytes after decompression.
    pub max_decompressed_bytes: usize,
    /// Events (HEC envelopes, raw lines or bulk documents) in one request.
    pub max_events: usize,
}

impl Default for Limits {
    /// A Function URL refuses request payloads above 6 MB (and a binary body travels base64-encoded, so about
    /// 4.5 MB of gzip); 5 MB keeps the standalone host within what the Lambda could take anyway.
    fn default() -> Self {
        Limits {
            max_body_bytes: 5 * 1024 * 1024,
            max_decompressed_bytes: 32 * 1024 * 1024,
            max_events: 10_000,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("request body inflates to more than {limit} bytes")]
    DecompressedTooLarge { limit: usize },
    #[error("content encoding {0:?} is not supported (use gzip or none)")]
    UnsupportedEncoding(String),
    #[error("request body is not valid gzip: {0}")]
    BadGzip(String),
    #[error("request body could not be read: {0}")]
    Unreadable(String),
    #[error("request body did not arrive within {0:?}")]
    TimedOut(std::time::Duration),
}

/// How the body was encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

impl Encoding {
    /// Reads a `Content-Encoding` header value.
    pub fn from_header(value: Option<&str>) -> Result<Self, BodyError> {
        let Some(value) = value else {
            return Ok(Encoding::Identity);
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Ok(Encoding::Identity),
            "gzip" | "x-gzip" => Ok(Encoding::Gzip),
            other => Err(BodyError::UnsupportedEncoding(other.to_owned())),
        }
    }
}

/// Checks the wire size and returns the decoded body.
pub fn decode<'a>(
    body: &'a [u8],
    encoding: Encoding,
    limits: &Limits,
) -> Result<Cow<'a, [u8]>, BodyError> {
    if body.len() > limits.max_body_bytes {
        return Err(BodyError::TooLarge {
            limit: limits.max_body_bytes,
        });
    }
    match encoding {
        Encoding::Identity => {
            if body.len() > limits.max_decompressed_bytes {
                return Err(BodyError::DecompressedTooLarge {
                    limit: limits.max_decompressed_bytes,
                });
            }
            Ok(Cow::Borrowed(body))
        }
        Encoding::Gzip => inflate(body, limits.max_decompressed_bytes).map(Cow::Owned),
    }
}

/// Inflates gzip (several members allowed, as `gzip` concatenation produces) up to `limit` bytes.
fn inflate(body: &[u8], limit: usize) -> Result<Vec<u8>, BodyError> {
    if body.is_empty() {
        // Some clients send an empty body with the gzip header still set: that is "no data", not bad gzip.
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let mut reader = MultiGzDecoder::new(body).take(limit as u64 + 1);
    reader
        .read_to_end(&mut out)
        .map_err(|e| BodyError::BadGzip(e.to_string()))?;
    if out.len() > limit {
        return Err(BodyError::DecompressedTooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn limits(body: usize, inflated: usize) -> Limits {
        Limits {
            max_body_bytes: body,
            max_decompressed_bytes: inflated,
            max_events: 10,
        }
    }

    #[test]
    fn plain_bodies_pass_through_unchanged() {
        let out = decode(b"{\"event\":1}", Encoding::Identity, &limits(100, 100)).unwrap();
        assert_eq!(&*out, b"{\"event\":1}");
    }

    #[test]
    fn gzip_bodies_are_inflated_including_concatenated_members() {
        let mut body = gzip(b"{\"event\":\"a\"}");
        body.extend(gzip(b"{\"event\":\"b\"}"));
        let out = decode(&body, Encoding::Gzip, &limits(1000, 1000)).unwrap();
        assert_eq!(&*out, b"{\"event\":\"a\"}{\"event\":\"b\"}");
    }

    #[test]
    fn wire_size_over_the_limit_is_refused() {
        let err = decode(&[b' '; 101], Encoding::Identity, &limits(100, 1000)).unwrap_err();
        assert_eq!(err, BodyError::TooLarge { limit: 100 });
    }

    #[test]
    fn gzip_bomb_stops_inflating_at_the_limit() {
        // 10 MB of zeros compresses to about 10 KB.
        let bomb = gzip(&vec![0u8; 10 * 1024 * 1024]);
        assert!(bomb.len() < 64 * 1024);
        let err = decode(&bomb, Encoding::Gzip, &limits(64 * 1024, 1024 * 1024)).unwrap_err();
        assert_eq!(err, BodyError::DecompressedTooLarge { limit: 1024 * 1024 });
    }

    #[test]
    fn exactly_the_limit_is_accepted() {
        let body = gzip(&[b'x'; 1000]);
        assert_eq!(
            decode(&body, Encoding::Gzip, &limits(1000, 1000))
                .unwrap()
                .len(),
            1000
        );
    }

    #[test]
    fn broken_gzip_is_reported() {
        let err = decode(b"not gzip at all", Encoding::Gzip, &limits(100, 100)).unwrap_err();
        assert!(matches!(err, BodyError::BadGzip(_)));
    }

    #[test]
    fn encodings_are_read_case_insensitively() {
        assert_eq!(Encoding::from_header(None).unwrap(), Encoding::Identity);
        assert_eq!(Encoding::from_header(Some("GZIP")).unwrap(), Encoding::Gzip);
        assert_eq!(
            Encoding::from_header(Some("x-gzip")).unwrap(),
            Encoding::Gzip
        );
        assert_eq!(
            Encoding::from_header(Some("br")).unwrap_err(),
            BodyError::UnsupportedEncoding("br".into())
        );
    }
}
