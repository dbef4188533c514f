//! Reading back what an earlier write left under a key, so an overwrite keeps it: every line whose `event.id`
//! (records and unparsed items alike) the new object lacks is appended to the new object. Lines without a
//! readable id are kept too, since nothing proves the new object holds them.
//!
//! The earlier object is streamed and decompressed chunk by chunk into the writer, which sends parts as they
//! fill, so memory stays bounded by one part and one chunk however large the earlier object is.

use std::borrow::Cow;
use std::io::Write;

use flate2::write::MultiGzDecoder;
use serde::Deserialize;

use super::object::{id_digest, ObjectWriter};
use super::Lander;

/// Appends to `writer` the lines of the object now under its key that it lacks. Returns the ETag of that object,
/// or `None` if there is none (then nothing was appended).
pub(super) async fn keep_earlier_lines(
    writer: &mut ObjectWriter,
    lander: &Lander,
) -> Result<Option<String>, String> {
    let key = writer.key().to_owned();
    let object = match lander.get_if_exists(&key).await {
        Ok(Some(object)) => object,
        Ok(None) => return Ok(None),
        Err(error) => {
            return Err(format!(
                "reading the earlier object to keep its records: {error}"
            ))
        }
    };
    let etag = object
        .e_tag
        .ok_or_else(|| format!("S3 returned {key} without an ETag"))?;
    let not_gzip = |error: std::io::Error| {
        format!(
            "the earlier object at {key} is not gzip NDJSON ({error}); it is left as it is and this batch is \
             not landed, so nothing in it is lost; move it aside to land here again"
        )
    };
    let mut decoder = MultiGzDecoder::new(Vec::new());
    let mut body = object.body;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| {
            format!(
                "reading the earlier object at {key}: {}",
                crate::aws::error_text(&e)
            )
        })?;
        decoder.write_all(&chunk).map_err(not_gzip)?;
        keep_complete_lines(writer, decoder.get_mut(), false);
        writer.send_full_part(lander).await?;
    }
    decoder.try_finish().map_err(not_gzip)?;
    keep_complete_lines(writer, decoder.get_mut(), true);
    Ok(Some(etag))
}

/// Moves the complete lines (all of them at the end of the object) out of `text` into `writer`.
fn keep_complete_lines(writer: &mut ObjectWriter, text: &mut Vec<u8>, at_end: bool) {
    let upto = if at_end {
        text.len()
    } else {
        match text.iter().rposition(|&b| b == b'\n') {
            Some(last) => last + 1,
            None => return,
        }
    };
    for line in text[..upto].split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let new = match line_id(line) {
            Some(id) => writer.insert_id(id),
            None => true,
        };
        if new {
            writer.push_encoded(line);
            writer.count_kept();
        }
    }
    text.drain(..upto);
}

#[derive(Deserialize)]
struct LineId<'a> {
    #[serde(borrow)]
    event: Option<EventId<'a>>,
}

#[derive(Deserialize)]
struct EventId<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
}

/// The digest of a line's `event.id`, if it has one.
pub(super) fn line_id(line: &[u8]) -> Option<u128> {
    let parsed: LineId = serde_json::from_slice(line).ok()?;
    Some(id_digest(&parsed.event?.id?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_known_by_its_event_id_whatever_else_it_holds() {
        let a = line_id(br#"{"@timestamp":"x","event":{"kind":"event","id":"e\"1"},"n":[1]}"#);
        let b = line_id(br#"{"event":{"id":"e\"1"}}"#);
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_ne!(a, line_id(br#"{"event":{"id":"e2"}}"#));
        assert_eq!(line_id(br#"{"event":{}}"#), None);
        assert_eq!(line_id(b"not json"), None);
    }
}
