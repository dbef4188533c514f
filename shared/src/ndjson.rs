//! Gzip-compressed NDJSON bodies: one JSON document per line, UTF-8, `\n` line ends.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;

/// Builds one gzip NDJSON object in memory, line by line. Memory stays bounded by the compressed size of one
/// object plus one line, because lines are compressed as they are added.
pub struct GzipNdjson {
    encoder: GzEncoder<Vec<u8>>,
    line: Vec<u8>,
    lines: usize,
    uncompressed: usize,
}

impl GzipNdjson {
    pub fn new(level: u32) -> Self {
        GzipNdjson {
            encoder: GzEncoder::new(Vec::with_capacity(64 * 1024), Compression::new(level)),
            line: Vec::with_capacity(2048),
            lines: 0,
            uncompressed: 0,
        }
    }

    /// Adds one line written by `write` (which must not write a newline).
    pub fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        self.line.clear();
        write(&mut self.line);
        self.line.push(b'\n');
        self.encoder
            .write_all(&self.line)
            .expect("compressing into a Vec cannot fail");
        self.lines += 1;
        self.uncompressed += self.line.len();
    }

    pub fn lines(&self) -> usize {
        self.lines
    }

    pub fn uncompressed_bytes(&self) -> usize {
        self.uncompressed
    }

    /// Compressed bytes produced so far and not yet taken.
    pub fn compressed_len(&self) -> usize {
        self.encoder.get_ref().len()
    }

    /// Takes the compressed bytes produced so far, e.g. to upload them as one part of a multipart upload; the
    /// parts taken followed by [`GzipNdjson::finish`] concatenate to the whole gzip body.
    pub fn take_compressed(&mut self) -> Vec<u8> {
        std::mem::take(self.encoder.get_mut())
    }

    /// The finished gzip body (or its remainder after [`GzipNdjson::take_compressed`]).
    pub fn finish(self) -> Vec<u8> {
        self.encoder
            .finish()
            .expect("compressing into a Vec cannot fail")
    }
}

/// Decodes a gzip NDJSON body into its lines (tests, tools and benchmarks read objects back with this).
pub fn decode_lines(body: &[u8]) -> std::io::Result<Vec<String>> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(body).read_to_string(&mut text)?;
    Ok(text.lines().map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_through_gzip() {
        let mut body = GzipNdjson::new(6);
        body.push_with(|out| out.extend_from_slice(br#"{"a":1}"#));
        body.push_with(|out| out.extend_from_slice(br#"{"b":"\u00e9"}"#));
        assert_eq!(body.lines(), 2);
        let bytes = body.finish();
        assert_eq!(&bytes[..2], &[0x1f, 0x8b]);
        assert_eq!(
            decode_lines(&bytes).unwrap(),
            [r#"{"a":1}"#, r#"{"b":"\u00e9"}"#]
        );
    }

    #[test]
    fn taken_parts_and_the_finish_concatenate_to_one_body() {
        let mut body = GzipNdjson::new(1);
        let mut whole = Vec::new();
        for i in 0..2000 {
            body.push_with(|out| out.extend_from_slice(format!(r#"{{"n":{i}}}"#).as_bytes()));
            if body.compressed_len() > 1024 {
                whole.extend(body.take_compressed());
            }
        }
        whole.extend(body.finish());
        let lines = decode_lines(&whole).unwrap();
        assert_eq!(lines.len(), 2000);
        assert_eq!(lines[1999], r#"{"n":1999}"#);
    }
}
