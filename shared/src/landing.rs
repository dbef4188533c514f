//! Landing batches in S3: split by vendor, event type and event hour, one gzip NDJSON object per partition, under
//! deterministic keys so that a retried write overwrites instead of duplicating.
//!
//! Callers land a batch *before* they advance a cursor or ask the vendor for more; a failed landing is an error
//! that says how many events did not land.

pub mod streaming;

use std::collections::BTreeMap;

use aws_sdk_s3::primitives::ByteStream;
use chrono::Utc;
use futures_util::stream::{self, StreamExt};

use crate::event_id::digest_hex;
use crate::keys::{Partition, UNPARSED};
use crate::ndjson::GzipNdjson;
use crate::record::{LineStamp, Record, Unparsed};

/// How the `<object-id>` of each partition's object is derived. Never from the wall clock or randomness.
#[derive(Debug, Clone, Copy)]
pub enum ObjectNaming<'a> {
    /// `<tag>-<digest of the event ids in the object>`. For destructive reads (Transmit) and pushes
    /// (Strivacity): the same batch sent again lands under the same key.
    Content { tag: &'a str },
    /// `<tag>-<digest of the first event id in the object>`. For replayable streams (Lookout): a session that
    /// resumes from the same checkpoint meets the same first event of each partition again and overwrites what a
    /// crashed session wrote there, whatever its flush boundaries were.
    FirstEvent { tag: &'a str },
    /// `<tag>` exactly. For re-fetchable windows (EasySend): the tag names the window, so a re-fetch overwrites
    /// the window's objects with a superset.
    Fixed { tag: &'a str },
}

impl ObjectNaming<'_> {
    fn object_id<'r>(&self, ids: impl Iterator<Item = &'r str>) -> String {
        match *self {
            ObjectNaming::Content { tag } => {
                let mut joined = Vec::with_capacity(64 * 1024);
                for id in ids {
                    joined.extend_from_slice(id.as_bytes());
                    joined.push(b'\n');
                }
                format!("{tag}-{}", digest_hex(&joined))
            }
            ObjectNaming::FirstEvent { tag } => {
                let mut ids = ids;
                format!("{tag}-{}", digest_hex(ids.next().unwrap_or("").as_bytes()))
            }
            ObjectNaming::Fixed { tag } => tag.to_owned(),
        }
    }

    fn tag(&self) -> &str {
        match *self {
            ObjectNaming::Content { tag }
            | ObjectNaming::FirstEvent { tag }
            | ObjectNaming::Fixed { tag } => tag,
        }
    }
}

/// One object written.
#[derive(Debug, Clone)]
pub struct LandedObject {
    pub key: String,
    pub lines: usize,
    pub bytes: usize,
}

/// What one landing wrote.
#[derive(Debug, Clone, Default)]
pub struct LandReport {
    pub objects: Vec<LandedObject>,
    /// Mapped records landed.
    pub events: usize,
    /// Unparsed items landed under `_unparsed`.
    pub unparsed: usize,
    /// Compressed bytes written.
    pub bytes: usize,
    /// Uncompressed NDJSON bytes.
    pub uncompressed_bytes: usize,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "{not_landed} of {total} collected events were not landed in s3://{bucket}/{key}: {reason} \
     ({landed} landed in other objects of the same batch)"
)]
pub struct LandError {
    pub bucket: String,
    /// The first key that failed.
    pub key: String,
    pub reason: String,
    /// Events (records and unparsed items) in objects that failed.
    pub not_landed: usize,
    /// Events in objects of the same batch that did land.
    pub landed: usize,
    pub total: usize,
}

/// Writes batches to one bucket and prefix on behalf of one collector.
#[derive(Clone)]
pub struct Lander {
    s3: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    collector: &'static str,
    gzip_level: u32,
}

struct Body {
    key: String,
    bytes: Vec<u8>,
    lines: usize,
    uncompressed: usize,
}

impl Lander {
    pub fn new(
        s3: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
        collector: &'static str,
        gzip_level: u32,
    ) -> Self {
        Lander {
            s3,
            bucket: bucket.into(),
            prefix: prefix.into(),
            collector,
            gzip_level,
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn collector(&self) -> &'static str {
        self.collector
    }

    /// Lands `records` (split by partition) and `unparsed` (under `_unparsed`, by ingestion hour). Either every
    /// object is written, or the error says how many events did not land; objects that did land are harmless
    /// because a retry rewrites them under the same keys.
    pub async fn land(
        &self,
        records: &[Record],
        unparsed: &[Unparsed],
        naming: ObjectNaming<'_>,
    ) -> Result<LandReport, LandError> {
        let bodies = self.encode(records, unparsed, naming);
        self.put_all(bodies).await
    }

    /// Encodes the objects a landing would write, without writing them (benchmarks measure this part alone).
    pub fn encode_only(
        &self,
        records: &[Record],
        unparsed: &[Unparsed],
        naming: ObjectNaming<'_>,
    ) -> Vec<(String, Vec<u8>)> {
        self.encode(records, unparsed, naming)
            .into_iter()
            .map(|b| (b.key, b.bytes))
            .collect()
    }

    fn encode(
        &self,
        records: &[Record],
        unparsed: &[Unparsed],
        naming: ObjectNaming<'_>,
    ) -> Vec<Body> {
        let stamp = LineStamp::now(self.collector);
        let mut groups: BTreeMap<Partition, Vec<&Record>> = BTreeMap::new();
        for record in records {
            groups
                .entry(Partition::new(
                    record.vendor,
                    &*record.event_type,
                    record.timestamp,
                ))
                .or_default()
                .push(record);
        }
        let mut bodies = Vec::with_capacity(groups.len() + 1);
        for (partition, group) in groups {
            let object_id = naming.object_id(group.iter().map(|r| r.id.as_str()));
            let mut body = GzipNdjson::new(self.gzip_level);
            for record in &group {
                body.push_with(|out| record.to_line(out, &stamp));
            }
            bodies.push(Body {
                key: partition.key(&self.prefix, &object_id),
                lines: body.lines(),
                uncompressed: body.uncompressed_bytes(),
                bytes: body.finish(),
            });
        }
        if let Some(first) = unparsed.first() {
            // Unparsed items have no trustworthy event time, so they are filed by ingestion hour; their ids are
            // digests of the raw text, so the same bad input lands under the same key.
            let partition = Partition::new(first.vendor, UNPARSED, Utc::now());
            let ids: Vec<String> = unparsed.iter().map(Unparsed::id).collect();
            let object_id = ObjectNaming::Content { tag: naming.tag() }
                .object_id(ids.iter().map(String::as_str));
            let mut body = GzipNdjson::new(self.gzip_level);
            for item in unparsed {
                body.push_with(|out| item.to_line(out, &stamp));
            }
            bodies.push(Body {
                key: partition.key(&self.prefix, &object_id),
                lines: body.lines(),
                uncompressed: body.uncompressed_bytes(),
                bytes: body.finish(),
            });
        }
        bodies
    }

    async fn put_all(&self, bodies: Vec<Body>) -> Result<LandReport, LandError> {
        let total: usize = bodies.iter().map(|b| b.lines).sum();
        let unparsed_prefix = format!("event_type={UNPARSED}/");
        let results: Vec<(LandedObject, usize, Result<(), String>)> = stream::iter(bodies)
            .map(|body| async move {
                let object = LandedObject {
                    key: body.key.clone(),
                    lines: body.lines,
                    bytes: body.bytes.len(),
                };
                let result = self
                    .s3
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&body.key)
                    .content_type("application/x-ndjson")
                    .metadata("lines", body.lines.to_string())
                    .metadata("collector", self.collector)
                    .body(ByteStream::from(body.bytes))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| crate::aws::error_text(&e));
                (object, body.uncompressed, result)
            })
            .buffer_unordered(4)
            .collect()
            .await;

        let mut report = LandReport::default();
        let mut failure: Option<(String, String)> = None;
        let mut not_landed = 0;
        for (object, uncompressed, result) in results {
            match result {
                Ok(()) => {
                    if object.key.contains(&unparsed_prefix) {
                        report.unparsed += object.lines;
                    } else {
                        report.events += object.lines;
                    }
                    report.bytes += object.bytes;
                    report.uncompressed_bytes += uncompressed;
                    report.objects.push(object);
                }
                Err(reason) => {
                    not_landed += object.lines;
                    failure.get_or_insert((object.key, reason));
                }
            }
        }
        match failure {
            None => Ok(report),
            Some((key, reason)) => {
                tracing::error!(
                    message = "Landing failed.",
                    bucket = %self.bucket,
                    key = %key,
                    error = %reason,
                    not_landed,
                    total
                );
                Err(LandError {
                    bucket: self.bucket.clone(),
                    key,
                    reason,
                    not_landed,
                    landed: total - not_landed,
                    total,
                })
            }
        }
    }
}
