//! Landing batches in S3: split by vendor, event type and event hour, one gzip NDJSON object per partition, under
//! deterministic keys so that a retried write overwrites instead of duplicating.
//!
//! Callers land a batch *before* they advance a cursor or ask the vendor for more; a failed landing is an error
//! that says how many events did not land.
//!
//! Every batch is put together by one type ([`batch::CompressedBatch`], which compresses each line as it is
//! added) and every object written by one module ([`object`]), for in-memory batches ([`Lander::land`], a Lookout
//! session's [`Lander::batch`]) and streamed ones ([`streaming`]) alike: it carries its record count in
//! `x-amz-meta-lines`, and an overwrite never removes a record that landed before (a re-fetch that returns less
//! keeps the union, reported as [`LandReport::kept_from_earlier`]). Partition values are validated in
//! [`crate::keys`]; records that do not fit their own partition land under `_invalid`
//! ([`LandReport::partition_fallbacks`]).

pub mod batch;
mod earlier;
mod landed_unparsed;
mod object;
pub mod streaming;

use std::collections::BTreeMap;

use futures_util::stream::{self, StreamExt};

use crate::keys::Partition;
use crate::record::{Record, Shape, Unparsed};
pub use landed_unparsed::LandedUnparsed;
use object::ObjectWriter;

/// How the `<object-id>` of each partition's object is derived. Never from the wall clock or randomness.
#[derive(Debug, Clone, Copy)]
pub enum ObjectNaming<'a> {
    /// `<tag>-<digest of the event ids in the object>`. For destructive reads (Transmit) and pushes
    /// (Strivacity): the same batch sent again lands under the same key.
    Content { tag: &'a str },
    /// `<tag>-<digest of the first event id in the object>`. For replayable streams (Lookout): a session that
    /// resumes from the same checkpoint meets the same first event of each partition again and overwrites what a
    /// crashed session wrote there, whatever its flush boundaries were. The one scheme whose overwrite replaces
    /// instead of keeping the union: see [`object::ObjectWriter::superseding`] for why nothing is lost.
    FirstEvent { tag: &'a str },
    /// `<tag>-<digest of the event ids in the object>`, where `tag` itself names the whole content it came from
    /// (a push receiver's digest of the request body). A key that already exists was written from the very same
    /// content, so it already holds this object's records: a retry leaves it as it is instead of reading it back
    /// and rewriting it, and so gets further than the attempt before it.
    Once { tag: &'a str },
    /// `<tag>` exactly. For re-fetchable windows (EasySend): the tag names the window, so a re-fetch overwrites
    /// the window's objects with a superset.
    Fixed { tag: &'a str },
}

/// One object written.
#[derive(Debug, Clone)]
pub struct LandedObject {
    pub key: String,
    /// Lines in the object as written, including `kept_from_earlier`; also its `x-amz-meta-lines`.
    pub lines: usize,
    /// Lines an earlier write of the same key held that this batch lacked, kept in the object.
    pub kept_from_earlier: usize,
    pub bytes: usize,
    /// Parts of its multipart upload; 0 when it went up with one `PutObject`.
    pub parts: usize,
}

/// What one landing wrote.
#[derive(Debug, Clone, Default)]
pub struct LandReport {
    pub objects: Vec<LandedObject>,
    /// Mapped records of this batch landed.
    pub events: usize,
    /// Unparsed items of this batch landed under `_unparsed`.
    pub unparsed: usize,
    /// Records and unparsed items that an earlier write of the same keys held and this batch lacked (a re-fetch
    /// that returned less): kept, not counted in `events` or `unparsed`.
    pub kept_from_earlier: usize,
    /// Unparsed items of this batch left out because they had landed already ([`LandedUnparsed`]): not counted in
    /// `unparsed`.
    pub unparsed_landed_before: usize,
    /// Records of this batch whose event type or time could not be a partition value, landed under `_invalid`
    /// (counted in `events` too).
    pub partition_fallbacks: usize,
    /// Compressed bytes written.
    pub bytes: usize,
    /// Uncompressed NDJSON bytes.
    pub uncompressed_bytes: usize,
}

impl LandReport {
    /// Counts what this landing wrote into a run's metrics.
    pub fn count_in(&self, metrics: &crate::metrics::RunMetrics) {
        use crate::metrics::{names, Unit};
        metrics.count(names::EVENTS_LANDED, self.events as u64);
        metrics.count(names::UNPARSED, self.unparsed as u64);
        metrics.count(names::OBJECTS_LANDED, self.objects.len() as u64);
        metrics.add(names::BYTES_LANDED, self.bytes as f64, Unit::Bytes);
        metrics.count(names::PARTITION_FALLBACKS, self.partition_fallbacks as u64);
        metrics.count(names::RECORDS_KEPT, self.kept_from_earlier as u64);
        metrics.count(
            names::UNPARSED_LANDED_BEFORE,
            self.unparsed_landed_before as u64,
        );
    }

    /// Adds what another landing of the same batch wrote (a landing done in parts: cells, chunks).
    pub fn absorb(&mut self, part: LandReport) {
        self.objects.extend(part.objects);
        self.events += part.events;
        self.unparsed += part.unparsed;
        self.kept_from_earlier += part.kept_from_earlier;
        self.unparsed_landed_before += part.unparsed_landed_before;
        self.partition_fallbacks += part.partition_fallbacks;
        self.bytes += part.bytes;
        self.uncompressed_bytes += part.uncompressed_bytes;
    }
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
    shape: Shape,
    /// Objects of one batch written at once.
    concurrency: usize,
}

/// Objects of one batch written at once unless a collector says otherwise.
const DEFAULT_CONCURRENCY: usize = 4;

/// One batch's objects, by partition, before they are written.
struct Objects {
    open: BTreeMap<Partition, ObjectWriter>,
    partition_fallbacks: usize,
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
            shape: Shape::default(),
            concurrency: DEFAULT_CONCURRENCY,
        }
    }

    /// Writes records in `shape` (lean by default).
    pub fn with_shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }

    /// Writes up to `objects` objects of a batch at once (at least one). A push receiver whose request may span
    /// thousands of hours needs more than the default to answer within its time budget.
    pub fn with_concurrency(mut self, objects: usize) -> Self {
        self.concurrency = objects.max(1);
        self
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
    /// because a retry rewrites them under the same keys. Object names follow the order of `records`; the lines
    /// within an object are grouped by subject ([`batch::CompressedBatch::push_grouped`]), which compresses better.
    pub async fn land(
        &self,
        records: &[Record],
        unparsed: &[Unparsed],
        naming: ObjectNaming<'_>,
    ) -> Result<LandReport, LandError> {
        let objects = self.encode(records, unparsed, naming);
        self.write_all(objects).await
    }

    /// The object at `key`, or `None` when there is none (a 404; without `s3:ListBucket` S3 answers 403 instead,
    /// which is an error here).
    pub async fn get_if_exists(
        &self,
        key: &str,
    ) -> Result<Option<aws_sdk_s3::operation::get_object::GetObjectOutput>, String> {
        match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => Ok(Some(object)),
            Err(error)
                if error
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(None)
            }
            Err(error) => Err(crate::aws::error_text(&error)),
        }
    }

    /// Hands each line of the gzip NDJSON object at `key` to `each`, decompressed chunk by chunk as it arrives, so
    /// memory holds a chunk and a line, not the object. `false` when there is no object.
    pub async fn each_line(&self, key: &str, mut each: impl FnMut(&[u8])) -> Result<bool, String> {
        use std::io::Write;
        let Some(object) = self.get_if_exists(key).await? else {
            return Ok(false);
        };
        let not_gzip = |e: std::io::Error| format!("not gzip NDJSON: {e}");
        let mut decoder = flate2::write::MultiGzDecoder::new(Vec::new());
        let mut body = object.body;
        let mut complete_lines = |text: &mut Vec<u8>, at_end: bool| {
            let upto = match text.iter().rposition(|&b| b == b'\n') {
                _ if at_end => text.len(),
                Some(last) => last + 1,
                None => return,
            };
            text[..upto]
                .split(|&b| b == b'\n')
                .filter(|line| !line.is_empty())
                .for_each(&mut each);
            text.drain(..upto);
        };
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| crate::aws::error_text(&e))?;
            decoder.write_all(&chunk).map_err(not_gzip)?;
            complete_lines(decoder.get_mut(), false);
        }
        decoder.try_finish().map_err(not_gzip)?;
        complete_lines(decoder.get_mut(), true);
        Ok(true)
    }

    /// The keys of the objects in the partitions of `from`'s vendor and event type, from `from`'s hour on, in key
    /// order (which is hour order): one listing however many hours it spans.
    pub async fn keys_from(&self, from: &Partition) -> Result<Vec<String>, String> {
        let lane = format!("{}/", from.lane_under(&self.prefix));
        // Every key of `from`'s hour is longer than its path, so it follows it.
        let objects = self
            .list(&lane, Some(from.path_under(&self.prefix)))
            .await?;
        Ok(objects.into_iter().filter_map(|o| o.key).collect())
    }

    /// The objects whose keys begin with `prefix` (and follow `start_after`), in key order.
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<String>,
    ) -> Result<Vec<aws_sdk_s3::types::Object>, String> {
        let mut objects = Vec::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_start_after(start_after)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| crate::aws::error_text(&e))?;
            objects.extend(page.contents.unwrap_or_default());
        }
        Ok(objects)
    }

    /// Records grouped by the partition each lands in, in partition order.
    pub fn by_partition(records: &[Record]) -> BTreeMap<Partition, Vec<&Record>> {
        let mut groups: BTreeMap<Partition, Vec<&Record>> = BTreeMap::new();
        for record in records {
            groups
                .entry(Partition::for_event(
                    record.vendor,
                    &record.event_type,
                    record.timestamp,
                ))
                .or_default()
                .push(record);
        }
        groups
    }

    /// Proves the landing path before a destructive read: one small write under `vendor`'s prefix, with the
    /// bucket, permissions and encryption a real landing uses. The key (`<prefix>/vendor=<vendor>/_probe/<stream>`)
    /// is outside every partition and lacks the `.ndjson.gz` suffix, so neither Hive readers nor the SIEM
    /// notifications see it; each run overwrites it.
    pub async fn probe(&self, vendor: &str, stream: &str) -> Result<(), String> {
        let prefix = self.prefix.trim_matches('/');
        let name = crate::keys::sanitize(stream);
        let key = if prefix.is_empty() {
            format!("vendor={vendor}/_probe/{name}")
        } else {
            format!("{prefix}/vendor={vendor}/_probe/{name}")
        };
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("text/plain")
            .metadata("collector", self.collector)
            .body(aws_sdk_s3::primitives::ByteStream::from_static(
                b"landing path checked before collecting\n",
            ))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("s3://{}/{key}: {}", self.bucket, crate::aws::error_text(&e)))
    }

    /// A lander for [`Lander::encode_only`] and [`Lander::batch`] alone, with no storage behind it: any write
    /// fails. For benchmarks and tests that measure or check encoding.
    pub fn without_storage(collector: &'static str, gzip_level: u32) -> Lander {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .build();
        Lander::new(
            aws_sdk_s3::Client::from_conf(config),
            "none",
            "tributary",
            collector,
            gzip_level,
        )
    }

    /// Encodes the objects a landing would write, without writing them (benchmarks measure this part alone).
    pub fn encode_only(
        &self,
        records: &[Record],
        unparsed: &[Unparsed],
        naming: ObjectNaming<'_>,
    ) -> Vec<(String, Vec<u8>)> {
        self.encode(records, unparsed, naming)
            .open
            .into_values()
            .map(ObjectWriter::into_encoded)
            .collect()
    }

    fn encode(
        &self,
        records: &[Record],
        unparsed: &[Unparsed],
        naming: ObjectNaming<'_>,
    ) -> Objects {
        let mut batch = self.batch(naming).stamped_once();
        batch.push_grouped(records);
        for item in unparsed {
            batch.push_unparsed(item);
        }
        batch.seal().1
    }

    /// Writes every object of a batch (`concurrency` at a time) and reports them together.
    async fn write_all(&self, objects: Objects) -> Result<LandReport, LandError> {
        let total: usize = objects.open.values().map(ObjectWriter::lines).sum();
        let results: Vec<_> = stream::iter(objects.open)
            .map(|(partition, object)| async move {
                let key = object.key().to_owned();
                let lines = object.lines();
                (partition, key, lines, object.finish(self).await)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;

        let mut report = LandReport {
            partition_fallbacks: objects.partition_fallbacks,
            ..LandReport::default()
        };
        let mut failure: Option<(String, String)> = None;
        let mut not_landed = 0;
        for (partition, key, lines, result) in results {
            match result {
                Ok(written) => {
                    if partition.is_unparsed() {
                        report.unparsed += lines;
                    } else {
                        report.events += lines;
                    }
                    report.kept_from_earlier += written.kept;
                    report.bytes += written.bytes;
                    report.uncompressed_bytes += written.uncompressed;
                    report.objects.push(LandedObject {
                        key: written.key,
                        lines: written.lines,
                        kept_from_earlier: written.kept,
                        bytes: written.bytes,
                        parts: written.parts,
                    });
                }
                Err(reason) => {
                    not_landed += lines;
                    failure.get_or_insert((key, reason));
                }
            }
        }
        report.objects.sort_by(|a, b| a.key.cmp(&b.key));
        let Some((key, reason)) = failure else {
            return Ok(report);
        };
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
