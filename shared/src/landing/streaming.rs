//! Landing a batch too large to hold in memory (an EasySend window of 200,000 logs): records are compressed as
//! they arrive, one gzip NDJSON object per partition, and an object that outgrows one part goes up as a multipart
//! upload. Memory is bounded by one part per open partition plus 16 bytes per record id (the ids let a rewrite
//! of the same key keep the records an earlier write held and this one lacks), whatever the batch size.
//!
//! Nothing is visible in S3 until [`StreamingLanding::commit`]; [`StreamingLanding::abort`] leaves no trace, so a
//! batch that fails half-way (a body cut mid-page, counts that do not add up) commits nothing. Keys follow the
//! landing contract with the batch's tag as the object id ([`super::ObjectNaming::Fixed`]), so landing the same
//! batch again overwrites the same objects, keeping the union of what they held.

use super::batch::CompressedBatch;
use super::object::ObjectWriter;
use super::{LandError, LandReport, Lander, ObjectNaming};
use crate::record::{Record, Unparsed};

/// The default part size, and real S3's smallest part (all but the last): also the most compressed bytes held
/// per open object.
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

/// The smallest part size [`StreamingLanding::with_part_bytes`] accepts, for tests against a local stack that
/// takes parts this small. Real S3 rejects parts under [`MIN_PART_BYTES`] when the upload completes.
pub const LOCAL_MIN_PART_BYTES: usize = 64 * 1024;

/// One batch being landed, partition by partition. Made by [`Lander::streaming`].
pub struct StreamingLanding {
    batch: CompressedBatch,
}

impl Lander {
    /// Starts a batch whose objects are all named `tag` (within their partitions).
    pub fn streaming(&self, tag: &str) -> StreamingLanding {
        StreamingLanding {
            batch: self
                .batch(ObjectNaming::Fixed { tag })
                .with_part_bytes(MIN_PART_BYTES),
        }
    }
}

impl StreamingLanding {
    /// Compressed bytes gathered before a part goes up. Real S3 needs at least 5 MiB ([`MIN_PART_BYTES`], the
    /// default); values down to 64 KiB ([`LOCAL_MIN_PART_BYTES`]) are accepted for a local stack configured to
    /// take them, so tests can exercise multipart landing with small batches.
    pub fn with_part_bytes(mut self, bytes: usize) -> Self {
        self.batch = self.batch.with_part_bytes(bytes.max(LOCAL_MIN_PART_BYTES));
        self
    }

    /// Lines written so far, records and unparsed items.
    pub fn lines(&self) -> usize {
        self.batch.lines()
    }

    /// Adds one record to its partition's object.
    pub async fn push(&mut self, record: &Record) -> Result<(), LandError> {
        let (lander, object) = self.batch.add_record(record);
        send_full_part(lander, object).await
    }

    /// Adds one item that could not be parsed or mapped, under `_unparsed`.
    pub async fn push_unparsed(&mut self, item: &Unparsed) -> Result<(), LandError> {
        let (lander, object) = self.batch.add_unparsed(item);
        send_full_part(lander, object).await
    }

    /// Makes every object visible: small ones with one `PutObject`, large ones by completing their multipart
    /// upload. Objects that landed before a failure are harmless: landing the batch again rewrites them under
    /// the same keys; the rest are aborted.
    pub async fn commit(self) -> Result<LandReport, LandError> {
        self.batch.land().await
    }

    /// Drops the batch: open multipart uploads are aborted, nothing becomes visible.
    pub async fn abort(self) {
        self.batch.abort().await
    }
}

async fn send_full_part(lander: &Lander, object: &mut ObjectWriter) -> Result<(), LandError> {
    object.send_full_part(lander).await.map_err(|reason| {
        let lines = object.lines();
        LandError {
            bucket: lander.bucket.clone(),
            key: object.key().to_owned(),
            reason,
            not_landed: lines,
            landed: 0,
            total: lines,
        }
    })
}
