//! Landing a batch too large to hold in memory (an EasySend window of 200,000 logs): records are compressed as
//! they arrive, one gzip NDJSON object per partition, and an object that outgrows one part goes up as a multipart
//! upload. Memory is bounded by one part per open partition, whatever the batch size.
//!
//! Nothing is visible in S3 until [`StreamingLanding::commit`]; [`StreamingLanding::abort`] leaves no trace, so a
//! batch that fails half-way (a body cut mid-page, counts that do not add up) commits nothing. Keys follow the
//! landing contract with the batch's tag as the object id ([`super::ObjectNaming::Fixed`]), so landing the same
//! batch again overwrites the same objects.

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use chrono::Utc;

use super::{LandError, LandReport, LandedObject, Lander};
use crate::keys::{Partition, UNPARSED};
use crate::ndjson::GzipNdjson;
use crate::record::{LineStamp, Record, Unparsed};

/// S3's smallest part (all but the last): also the most compressed bytes held per open object.
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

struct OpenObject {
    key: String,
    body: GzipNdjson,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    compressed: usize,
}

/// One batch being landed, partition by partition. Made by [`Lander::streaming`].
pub struct StreamingLanding {
    lander: Lander,
    tag: String,
    part_bytes: usize,
    stamp: LineStamp,
    open: BTreeMap<Partition, OpenObject>,
    /// `_unparsed` items are filed by ingestion hour, fixed when the batch starts so they share one object.
    unparsed_hour: chrono::DateTime<Utc>,
}

impl Lander {
    /// Starts a batch whose objects are all named `tag` (within their partitions).
    pub fn streaming(&self, tag: impl Into<String>) -> StreamingLanding {
        StreamingLanding {
            lander: self.clone(),
            tag: tag.into(),
            part_bytes: MIN_PART_BYTES,
            stamp: LineStamp::now(self.collector),
            open: BTreeMap::new(),
            unparsed_hour: Utc::now(),
        }
    }
}

impl StreamingLanding {
    /// Compressed bytes gathered before a part goes up (at least S3's 5 MiB).
    pub fn with_part_bytes(mut self, bytes: usize) -> Self {
        self.part_bytes = bytes.max(MIN_PART_BYTES);
        self
    }

    /// Lines written so far, records and unparsed items.
    pub fn lines(&self) -> usize {
        self.open.values().map(|o| o.body.lines()).sum()
    }

    /// Adds one record to its partition's object.
    pub async fn push(&mut self, record: &Record) -> Result<(), LandError> {
        let partition = Partition::new(record.vendor, &*record.event_type, record.timestamp);
        let object = open_object(&mut self.open, &self.lander, &self.tag, partition);
        object
            .body
            .push_with(|out| record.to_line(out, &self.stamp));
        upload_if_full(&self.lander, object, self.part_bytes).await
    }

    /// Adds one item that could not be parsed or mapped, under `_unparsed`.
    pub async fn push_unparsed(&mut self, item: &Unparsed) -> Result<(), LandError> {
        let partition = Partition::new(item.vendor, UNPARSED, self.unparsed_hour);
        let object = open_object(&mut self.open, &self.lander, &self.tag, partition);
        object.body.push_with(|out| item.to_line(out, &self.stamp));
        upload_if_full(&self.lander, object, self.part_bytes).await
    }

    /// Makes every object visible: small ones with one `PutObject`, large ones by completing their multipart
    /// upload. Objects that landed before a failure are harmless: landing the batch again rewrites them under
    /// the same keys; the rest are aborted.
    pub async fn commit(mut self) -> Result<LandReport, LandError> {
        let total = self.lines();
        let mut report = LandReport::default();
        let mut objects = std::mem::take(&mut self.open).into_iter();
        while let Some((partition, mut object)) = objects.next() {
            let lines = object.body.lines();
            let uncompressed = object.body.uncompressed_bytes();
            match finish_object(&self.lander, &mut object).await {
                Ok(()) => {
                    if partition.event_type == UNPARSED {
                        report.unparsed += lines;
                    } else {
                        report.events += lines;
                    }
                    report.bytes += object.compressed;
                    report.uncompressed_bytes += uncompressed;
                    report.objects.push(LandedObject {
                        key: object.key,
                        lines,
                        bytes: object.compressed,
                    });
                }
                Err(reason) => {
                    let mut not_landed = lines;
                    abort_object(&self.lander, &object).await;
                    for (_, rest) in objects {
                        not_landed += rest.body.lines();
                        abort_object(&self.lander, &rest).await;
                    }
                    tracing::error!(
                        message = "Landing failed.",
                        bucket = %self.lander.bucket,
                        key = %object.key,
                        error = %reason,
                        not_landed,
                        total
                    );
                    return Err(LandError {
                        bucket: self.lander.bucket.clone(),
                        key: object.key,
                        reason,
                        not_landed,
                        landed: total - not_landed,
                        total,
                    });
                }
            }
        }
        Ok(report)
    }

    /// Drops the batch: open multipart uploads are aborted, nothing becomes visible.
    pub async fn abort(mut self) {
        for (_, object) in std::mem::take(&mut self.open) {
            abort_object(&self.lander, &object).await;
        }
    }
}

fn open_object<'a>(
    open: &'a mut BTreeMap<Partition, OpenObject>,
    lander: &Lander,
    tag: &str,
    partition: Partition,
) -> &'a mut OpenObject {
    open.entry(partition)
        .or_insert_with_key(|partition| OpenObject {
            key: partition.key(&lander.prefix, tag),
            body: GzipNdjson::new(lander.gzip_level),
            upload_id: None,
            parts: Vec::new(),
            compressed: 0,
        })
}

/// Sends the object's compressed bytes as a part once there are enough of them.
async fn upload_if_full(
    lander: &Lander,
    object: &mut OpenObject,
    part_bytes: usize,
) -> Result<(), LandError> {
    if object.body.compressed_len() < part_bytes {
        return Ok(());
    }
    let bytes = object.body.take_compressed();
    upload_part(lander, object, bytes)
        .await
        .map_err(|reason| lander.object_error(object, reason))
}

impl Lander {
    fn object_error(&self, object: &OpenObject, reason: String) -> LandError {
        LandError {
            bucket: self.bucket.clone(),
            key: object.key.clone(),
            reason,
            not_landed: object.body.lines(),
            landed: 0,
            total: object.body.lines(),
        }
    }
}

async fn upload_part(
    lander: &Lander,
    object: &mut OpenObject,
    bytes: Vec<u8>,
) -> Result<(), String> {
    let upload_id = match &object.upload_id {
        Some(id) => id.clone(),
        None => {
            let created = lander
                .s3
                .create_multipart_upload()
                .bucket(&lander.bucket)
                .key(&object.key)
                .content_type("application/x-ndjson")
                .metadata("collector", lander.collector)
                .send()
                .await
                .map_err(|e| crate::aws::error_text(&e))?;
            let id = created
                .upload_id
                .ok_or_else(|| "S3 started a multipart upload without an upload id".to_owned())?;
            object.upload_id = Some(id.clone());
            id
        }
    };
    let number = object.parts.len() as i32 + 1;
    object.compressed += bytes.len();
    let uploaded = lander
        .s3
        .upload_part()
        .bucket(&lander.bucket)
        .key(&object.key)
        .upload_id(&upload_id)
        .part_number(number)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(|e| crate::aws::error_text(&e))?;
    object.parts.push(
        CompletedPart::builder()
            .part_number(number)
            .set_e_tag(uploaded.e_tag)
            .build(),
    );
    Ok(())
}

async fn finish_object(lander: &Lander, object: &mut OpenObject) -> Result<(), String> {
    let lines = object.body.lines();
    let body = std::mem::replace(&mut object.body, GzipNdjson::new(1));
    let tail = body.finish();
    if object.upload_id.is_none() {
        object.compressed += tail.len();
        return lander
            .s3
            .put_object()
            .bucket(&lander.bucket)
            .key(&object.key)
            .content_type("application/x-ndjson")
            .metadata("lines", lines.to_string())
            .metadata("collector", lander.collector)
            .body(ByteStream::from(tail))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| crate::aws::error_text(&e));
    }
    // A multipart object cannot carry the `lines` metadata: it is only known after its metadata was set.
    upload_part(lander, object, tail).await?;
    let upload_id = object.upload_id.clone().unwrap_or_default();
    lander
        .s3
        .complete_multipart_upload()
        .bucket(&lander.bucket)
        .key(&object.key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(object.parts.clone()))
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| crate::aws::error_text(&e))
}

async fn abort_object(lander: &Lander, object: &OpenObject) {
    let Some(upload_id) = &object.upload_id else {
        return;
    };
    if let Err(error) = lander
        .s3
        .abort_multipart_upload()
        .bucket(&lander.bucket)
        .key(&object.key)
        .upload_id(upload_id)
        .send()
        .await
    {
        // The bucket's lifecycle rule for incomplete multipart uploads removes what this could not.
        tracing::warn!(
            message = "Could not abort a multipart upload.",
            key = %object.key,
            error = %crate::aws::error_text(&error)
        );
    }
}
