//! The one way an object gets into S3, for every landing path ([`super::Lander::land`] and
//! [`super::streaming::StreamingLanding`]).
//!
//! - Lines are compressed as they are added. An object that outgrows its part size goes up as a multipart upload,
//!   so memory stays bounded by one part; an in-memory batch uses an unbounded part size and never does.
//! - Every object carries `x-amz-meta-lines` (its record count), `x-amz-meta-collector`, `x-amz-meta-version` and
//!   `x-amz-meta-shape` (what no line repeats). A multipart object's
//!   count is only known at the end, after its metadata was fixed, so it is uploaded to a staging key outside
//!   its partitions (`<prefix>/vendor=<vendor>/_staging/<digest of the key>`, ignored by Hive readers and by the
//!   per-vendor notifications, which want `.ndjson.gz`) and copied to its key with the count: the key appears once, complete and counted, and the
//!   SIEM gets one notification. (A copy is limited to 5 GB; objects here are bounded by one batch.)
//! - **An overwrite never removes a record that has landed.** The first write of a key is one request
//!   (`PutObject` with `If-None-Match: *`). When the key already exists, the earlier object is read back and
//!   every line whose `event.id` the new body lacks is appended ([`super::earlier`]); the result is written on
//!   condition that the earlier object is unchanged (`If-Match` on its ETag), retried a few times if another
//!   writer got in between. A multipart object does the same before it completes.

use std::collections::HashSet;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective};
use bytes::Bytes;

use super::Lander;
use crate::event_id::digest_hex;
use crate::ndjson::{decode_lines, GzipNdjson};

/// How often a merge is retried when the object changed between reading and writing it.
const MERGE_ATTEMPTS: usize = 4;

/// The largest object `CopyObject` can copy in one request.
const MAX_COPY_BYTES: usize = 5 * 1024 * 1024 * 1024;

const CONTENT_TYPE: &str = "application/x-ndjson";

/// One object being written. Made per partition by the landing paths.
pub(crate) struct ObjectWriter {
    key: String,
    gzip_level: u32,
    part_bytes: usize,
    body: GzipNdjson,
    /// Ids (as 128-bit digests, to bound memory) of the lines in this object: a multipart object's first parts are
    /// gone from memory by the time earlier lines are merged in, so this is how they are recognised.
    ids: HashSet<u128>,
    upload: Option<Multipart>,
    /// Compressed bytes already sent as parts.
    sent: usize,
    /// Lines taken over from an earlier write of the same key.
    kept: usize,
    /// The body replaces an earlier write as a whole instead of being merged with it.
    supersedes: bool,
    /// An earlier write of the key holds this body already ([`super::ObjectNaming::Once`]): leave it.
    once: bool,
}

struct Multipart {
    staging: String,
    upload_id: String,
    parts: Vec<CompletedPart>,
}

/// One object written.
pub(crate) struct Written {
    pub key: String,
    /// Lines in the object, including `kept`.
    pub lines: usize,
    /// Lines taken over from an earlier write of the same key.
    pub kept: usize,
    pub bytes: usize,
    pub uncompressed: usize,
    /// Parts of its multipart upload; 0 when it went up with one `PutObject`.
    pub parts: usize,
}

/// What a write requires of the key's current state.
enum Condition {
    /// Nothing is there yet (`If-None-Match: *`).
    Absent,
    /// The object read for the merge is still there, unchanged (`If-Match`).
    Unchanged(String),
    /// Whatever is there (a replay that supersedes it, see [`ObjectWriter::superseding`]).
    Any,
}

/// Sends a `PutObject` or `CopyObject` request (their builders share no trait) with what every object carries
/// (content type, record count, collector, version, shape) and the write's condition.
macro_rules! send_object {
    ($request:expr, $lander:expr, $lines:expr, $condition:expr) => {{
        let (if_none_match, if_match) = $condition.headers();
        $request
            .content_type(CONTENT_TYPE)
            .metadata("lines", $lines.to_string())
            .metadata("collector", $lander.collector)
            .metadata("version", crate::VERSION)
            .metadata("shape", $lander.shape.as_str())
            .set_if_none_match(if_none_match)
            .set_if_match(if_match)
            .send()
            .await
            .map(|_| ())
            .map_err(WriteError::from_sdk)
    }};
}

impl Condition {
    /// `(If-None-Match, If-Match)` of a write under this condition.
    fn headers(&self) -> (Option<String>, Option<String>) {
        match self {
            Condition::Absent => (Some("*".to_owned()), None),
            Condition::Unchanged(etag) => (None, Some(etag.clone())),
            Condition::Any => (None, None),
        }
    }
}

/// A failed request, with whether it failed only because the key's state was not what the write required.
pub(crate) struct WriteError {
    text: String,
    conflict: bool,
    /// The key exists and a write required it absent (`If-None-Match: *` answered 412).
    exists: bool,
}

impl WriteError {
    fn from_sdk<E>(error: SdkError<E, HttpResponse>) -> WriteError
    where
        E: std::error::Error + 'static,
    {
        // 412: the condition failed; 409: a concurrent conditional write; 404: an `If-Match` target is gone.
        let status = error.raw_response().map(|r| r.status().as_u16());
        let conflict = matches!(status, Some(404 | 409 | 412));
        WriteError {
            text: crate::aws::error_text(&error),
            conflict,
            exists: status == Some(412),
        }
    }

    fn plain(text: impl Into<String>) -> WriteError {
        WriteError {
            text: text.into(),
            conflict: false,
            exists: false,
        }
    }
}

impl ObjectWriter {
    /// An empty object for `key`. `part_bytes` is the compressed size at which a part goes up; `usize::MAX`
    /// keeps the object in memory and writes it with one request.
    pub fn new(lander: &Lander, key: String, part_bytes: usize) -> ObjectWriter {
        ObjectWriter {
            key,
            gzip_level: lander.gzip_level,
            part_bytes,
            body: GzipNdjson::new(lander.gzip_level),
            ids: HashSet::new(),
            upload: None,
            sent: 0,
            kept: 0,
            supersedes: false,
            once: false,
        }
    }

    /// The key names this body's whole content ([`super::ObjectNaming::Once`]): if it exists, it is left as it
    /// is and counted as written.
    pub fn written_once(mut self) -> ObjectWriter {
        self.once = true;
        self
    }

    /// Replaces an earlier write of the key instead of keeping its lines. Only for a replay from a cursor that has
    /// not passed any of the earlier write's records (Lookout's first-event naming): every record it drops is read
    /// again by the same replay and lands again, in this object or a later one, before the cursor can pass it.
    /// Keeping them here would land them twice.
    pub fn superseding(mut self) -> ObjectWriter {
        self.supersedes = true;
        self
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    /// Names an object made before its name was known (one named after all its ids). Only before any part went
    /// up: a multipart upload is staged under a digest of the key.
    pub(super) fn set_key(&mut self, key: String) {
        debug_assert!(self.upload.is_none());
        self.key = key;
    }

    /// Lines added so far (not counting lines merged in from an earlier write).
    pub fn lines(&self) -> usize {
        self.body.lines() - self.kept
    }

    /// Adds the line of the event with id `id`, written by `write`.
    pub fn push(&mut self, id: &str, write: impl FnOnce(&mut Vec<u8>)) {
        self.ids.insert(id_digest(id));
        self.body.push_with(write);
    }

    /// Adds an already-encoded line whose id was already recorded (or that has none).
    pub(super) fn push_encoded(&mut self, line: &[u8]) {
        self.body.push_with(|out| out.extend_from_slice(line));
    }

    /// Records `id` as present; false if it already was.
    pub(super) fn insert_id(&mut self, id: u128) -> bool {
        self.ids.insert(id)
    }

    pub(super) fn count_kept(&mut self) {
        self.kept += 1;
    }

    /// Sends a part once enough compressed bytes have gathered.
    pub async fn send_full_part(&mut self, lander: &Lander) -> Result<(), String> {
        if self.body.compressed_len() < self.part_bytes {
            return Ok(());
        }
        let bytes = self.body.take_compressed();
        self.upload_part(lander, bytes).await
    }

    /// The encoded body, without writing it (benchmarks measure encoding alone).
    pub fn into_encoded(self) -> (String, Vec<u8>) {
        (self.key, self.body.finish())
    }

    /// Writes the object, keeping every line of an earlier write of the key that this one lacks. On failure
    /// nothing of this object stays behind except what a retry overwrites.
    pub async fn finish(mut self, lander: &Lander) -> Result<Written, String> {
        let written = if self.upload.is_some() && self.supersedes {
            self.write(lander, None).await.map_err(|e| e.text)
        } else if self.upload.is_some() {
            // Its first parts are already up: merge what landed before into the same upload, then complete.
            match super::earlier::keep_earlier_lines(&mut self, lander).await {
                Ok(earlier) => self.write(lander, earlier).await.map_err(|e| e.text),
                Err(text) => {
                    self.abort(lander).await;
                    Err(text)
                }
            }
        } else {
            self.put_or_merge(lander).await
        }?;
        if written.kept > 0 {
            tracing::warn!(
                message = "Kept records of an earlier write that this write lacked.",
                key = %written.key,
                kept = written.kept,
                lines = written.lines
            );
        }
        Ok(written)
    }

    /// The common case in one request; the merge only when the key is taken.
    async fn put_or_merge(self, lander: &Lander) -> Result<Written, String> {
        let lines = self.body.lines();
        let uncompressed = self.body.uncompressed_bytes();
        let fresh = Bytes::from(self.body.finish());
        let condition = if self.supersedes {
            Condition::Any
        } else {
            Condition::Absent
        };
        let written = match put(lander, &self.key, fresh.clone(), lines, &condition).await {
            Ok(()) => true,
            Err(error) if !error.conflict => return Err(error.text),
            // Written once already from the same content: as good as this write.
            Err(error) => self.once && error.exists,
        };
        if written {
            return Ok(Written {
                key: self.key,
                lines,
                kept: 0,
                bytes: fresh.len(),
                uncompressed,
                parts: 0,
            });
        }
        let mut last = String::new();
        for _ in 0..MERGE_ATTEMPTS {
            let mut merged = ObjectWriter {
                key: self.key.clone(),
                gzip_level: self.gzip_level,
                part_bytes: self.part_bytes,
                body: GzipNdjson::new(self.gzip_level),
                ids: HashSet::new(),
                upload: None,
                sent: 0,
                kept: 0,
                supersedes: false,
                once: false,
            };
            let lines = decode_lines(&fresh)
                .map_err(|e| format!("re-reading the body for {}: {e}", self.key))?;
            for line in lines {
                if let Some(id) = super::earlier::line_id(line.as_bytes()) {
                    merged.insert_id(id);
                }
                merged.push_encoded(line.as_bytes());
            }
            let earlier = match super::earlier::keep_earlier_lines(&mut merged, lander).await {
                Ok(earlier) => earlier,
                Err(text) => {
                    merged.abort(lander).await;
                    return Err(text);
                }
            };
            match merged.write(lander, earlier).await {
                Ok(written) => return Ok(written),
                Err(error) if error.conflict => last = error.text,
                Err(error) => return Err(error.text),
            }
        }
        Err(format!(
            "{} kept changing while earlier records were merged in ({MERGE_ATTEMPTS} attempts): {last}",
            self.key
        ))
    }

    /// Writes the body on condition that the key is still as read: absent (`earlier` is `None`) or unchanged.
    async fn write(
        mut self,
        lander: &Lander,
        earlier: Option<String>,
    ) -> Result<Written, WriteError> {
        let condition = match earlier {
            Some(etag) => Condition::Unchanged(etag),
            None if self.supersedes => Condition::Any,
            None => Condition::Absent,
        };
        let lines = self.body.lines();
        let uncompressed = self.body.uncompressed_bytes();
        let tail = std::mem::replace(&mut self.body, GzipNdjson::new(1)).finish();
        if self.upload.is_none() {
            let bytes = tail.len();
            put(lander, &self.key, Bytes::from(tail), lines, &condition).await?;
            return Ok(Written {
                key: self.key,
                lines,
                kept: self.kept,
                bytes,
                uncompressed,
                parts: 0,
            });
        }
        if let Err(text) = self.upload_part(lander, tail).await {
            self.abort(lander).await;
            return Err(WriteError::plain(text));
        }
        if let Err(text) = self.complete(lander).await {
            self.abort(lander).await;
            return Err(WriteError::plain(text));
        }
        let upload = self.upload.take().expect("checked above");
        let (staging, parts) = (upload.staging, upload.parts.len());
        let copied = self
            .copy_into_place(lander, &staging, lines, &condition)
            .await;
        delete_staging(lander, &staging).await;
        copied?;
        Ok(Written {
            key: self.key,
            lines,
            kept: self.kept,
            bytes: self.sent,
            uncompressed,
            parts,
        })
    }

    async fn upload_part(&mut self, lander: &Lander, bytes: Vec<u8>) -> Result<(), String> {
        if self.upload.is_none() {
            let staging = staging_key(lander, &self.key);
            let created = lander
                .s3
                .create_multipart_upload()
                .bucket(&lander.bucket)
                .key(&staging)
                .content_type(CONTENT_TYPE)
                .metadata("collector", lander.collector)
                .send()
                .await
                .map_err(|e| crate::aws::error_text(&e))?;
            let upload_id = created
                .upload_id
                .ok_or_else(|| "S3 started a multipart upload without an upload id".to_owned())?;
            self.upload = Some(Multipart {
                staging,
                upload_id,
                parts: Vec::new(),
            });
        }
        let upload = self.upload.as_mut().expect("created above");
        let number = upload.parts.len() as i32 + 1;
        self.sent += bytes.len();
        let uploaded = lander
            .s3
            .upload_part()
            .bucket(&lander.bucket)
            .key(&upload.staging)
            .upload_id(&upload.upload_id)
            .part_number(number)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| crate::aws::error_text(&e))?;
        upload.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(uploaded.e_tag)
                .build(),
        );
        Ok(())
    }

    async fn complete(&self, lander: &Lander) -> Result<(), String> {
        let upload = self
            .upload
            .as_ref()
            .expect("only multipart objects complete");
        if self.sent > MAX_COPY_BYTES {
            return Err(format!(
                "{} would be {} compressed bytes, more than one copy can move (5 GB); land smaller batches",
                self.key, self.sent
            ));
        }
        lander
            .s3
            .complete_multipart_upload()
            .bucket(&lander.bucket)
            .key(&upload.staging)
            .upload_id(&upload.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(upload.parts.clone()))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| crate::aws::error_text(&e))
    }

    async fn copy_into_place(
        &self,
        lander: &Lander,
        staging: &str,
        lines: usize,
        condition: &Condition,
    ) -> Result<(), WriteError> {
        let request = lander
            .s3
            .copy_object()
            .bucket(&lander.bucket)
            .key(&self.key)
            .copy_source(format!("{}/{}", lander.bucket, encode_copy_source(staging)))
            .metadata_directive(MetadataDirective::Replace);
        send_object!(request, lander, lines, condition)
    }

    /// Drops an open multipart upload; nothing becomes visible.
    pub async fn abort(&self, lander: &Lander) {
        let Some(upload) = &self.upload else {
            return;
        };
        if let Err(error) = lander
            .s3
            .abort_multipart_upload()
            .bucket(&lander.bucket)
            .key(&upload.staging)
            .upload_id(&upload.upload_id)
            .send()
            .await
        {
            // The bucket's lifecycle rule for incomplete multipart uploads removes what this could not.
            tracing::warn!(
                message = "Could not abort a multipart upload.",
                key = %self.key,
                error = %crate::aws::error_text(&error)
            );
        }
    }
}

async fn put(
    lander: &Lander,
    key: &str,
    body: Bytes,
    lines: usize,
    condition: &Condition,
) -> Result<(), WriteError> {
    let request = lander
        .s3
        .put_object()
        .bucket(&lander.bucket)
        .key(key)
        .body(ByteStream::from(body));
    send_object!(request, lander, lines, condition)
}

async fn delete_staging(lander: &Lander, staging: &str) {
    if let Err(error) = lander
        .s3
        .delete_object()
        .bucket(&lander.bucket)
        .key(staging)
        .send()
        .await
    {
        tracing::warn!(
            message = "Could not delete a staging object; it is outside every vendor prefix and can be removed.",
            key = %staging,
            error = %crate::aws::error_text(&error)
        );
    }
}

/// `<prefix>/vendor=<vendor>/_staging/<digest of key>`: deterministic, short, inside the vendor's prefix (so a
/// function's permissions stay scoped to its vendor) but outside every `event_type=` partition and without the
/// `.ndjson.gz` suffix, so Hive readers and the SIEM notifications never see it.
fn staging_key(lander: &Lander, key: &str) -> String {
    let name = digest_hex(key.as_bytes());
    match key.find("/event_type=") {
        Some(at) => format!("{}/_staging/{name}", &key[..at]),
        None => {
            let prefix = lander.prefix.trim_matches('/');
            if prefix.is_empty() {
                format!("_staging/{name}")
            } else {
                format!("{prefix}/_staging/{name}")
            }
        }
    }
}

/// `CopySource` wants the key URL-encoded; `/` stays as the separator.
fn encode_copy_source(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The id of a line as kept in [`ObjectWriter`]'s set.
pub(super) fn id_digest(id: &str) -> u128 {
    crate::event_id::digest_u128(id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_sources_are_url_encoded_except_the_separators() {
        assert_eq!(
            encode_copy_source("my prefix/_staging/ab=c"),
            "my%20prefix/_staging/ab%3Dc"
        );
    }
}
