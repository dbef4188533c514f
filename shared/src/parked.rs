//! Batches kept in the state table when S3 refused them: a batch that a destructive read handed out exists only
//! in our process until it lands, so if landing fails after its retries it is kept here (compressed, split into
//! items under DynamoDB's 400 KB limit) and landed first by the next run, under the same object keys.
//!
//! Items: `<stream>#parked#<id>#<chunk>`, attribute `data` (binary) and, on chunk 0, `chunks` (how many). Which
//! batches are parked is bookkeeping of the stream's own item (`meta.parked_batches`), changed under its lease.

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use crate::landing::LandReport;
use crate::run::{CheckpointError, Run};
use crate::state::{StateError, StateStore, PARTITION_KEY};

/// Bookkeeping key of the batches kept in the state table because S3 refused them (ids, comma-separated).
pub const META_PARKED: &str = "parked_batches";

/// Bytes of one chunk item: well under DynamoDB's 400 KB item limit, attribute names and key included.
const CHUNK_BYTES: usize = 350 * 1024;

fn chunk_key(stream: &str, id: &str, chunk: usize) -> String {
    format!("{stream}#parked#{id}#{chunk}")
}

fn failed(store: &StateStore, operation: &'static str, stream: &str, error: String) -> StateError {
    StateError::Dynamo {
        operation,
        stream: stream.to_owned(),
        table: store.table().to_owned(),
        reason: error,
    }
}

impl StateStore {
    /// Keeps `data` as parked batch `id` of `stream` (overwriting a batch of the same id).
    pub async fn park(&self, stream: &str, id: &str, data: &[u8]) -> Result<(), StateError> {
        let chunks: Vec<&[u8]> = data.chunks(CHUNK_BYTES).collect();
        let count = chunks.len().max(1);
        for (i, chunk) in chunks.iter().enumerate().rev() {
            // The first chunk last: it says how many there are, so a half-written batch is never read as whole.
            let mut request = self
                .client()
                .put_item()
                .table_name(self.table())
                .item(PARTITION_KEY, AttributeValue::S(chunk_key(stream, id, i)))
                .item("data", AttributeValue::B(Blob::new(chunk.to_vec())));
            if i == 0 {
                request = request.item("chunks", AttributeValue::N(count.to_string()));
            }
            request
                .send()
                .await
                .map_err(|e| failed(self, "PutItem(park)", stream, crate::aws::error_text(&e)))?;
        }
        Ok(())
    }

    /// Parked batch `id` of `stream`, whole, or `None` if it is not (or no longer, or not wholly) there.
    pub async fn parked(&self, stream: &str, id: &str) -> Result<Option<Vec<u8>>, StateError> {
        let mut data = Vec::new();
        let mut count = 1;
        let mut chunk = 0;
        while chunk < count {
            let item = self
                .client()
                .get_item()
                .table_name(self.table())
                .key(
                    PARTITION_KEY,
                    AttributeValue::S(chunk_key(stream, id, chunk)),
                )
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| failed(self, "GetItem(parked)", stream, crate::aws::error_text(&e)))?
                .item;
            let Some(item) = item else {
                return Ok(None);
            };
            if chunk == 0 {
                count = item
                    .get("chunks")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
            }
            match item.get("data").and_then(|v| v.as_b().ok()) {
                Some(blob) => data.extend_from_slice(blob.as_ref()),
                None => return Ok(None),
            }
            chunk += 1;
        }
        Ok(Some(data))
    }

    /// Deletes parked batch `id` of `stream` once it has landed.
    pub async fn unpark(&self, stream: &str, id: &str, chunks: usize) -> Result<(), StateError> {
        for chunk in 0..chunks.max(1) {
            self.client()
                .delete_item()
                .table_name(self.table())
                .key(
                    PARTITION_KEY,
                    AttributeValue::S(chunk_key(stream, id, chunk)),
                )
                .send()
                .await
                .map_err(|e| {
                    failed(
                        self,
                        "DeleteItem(unpark)",
                        stream,
                        crate::aws::error_text(&e),
                    )
                })?;
        }
        Ok(())
    }
}

/// How many chunk items `bytes` of parked data take.
pub fn chunks_for(bytes: usize) -> usize {
    bytes.div_ceil(CHUNK_BYTES).max(1)
}

/// The batches `run`'s stream keeps because S3 refused them, oldest first.
pub fn ids(run: &Run<'_>) -> Vec<String> {
    run.meta(META_PARKED)
        .map(|ids| {
            ids.split(',')
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Keeps a batch that could not land as parked batch `id`, and writes `meta` with the bookkeeping (in one
/// update), so the next run lands it first.
pub async fn park(
    run: &mut Run<'_>,
    id: &str,
    data: &[u8],
    meta: &[(&str, &str)],
) -> Result<(), CheckpointError> {
    if run.lease_lost() {
        return Err(CheckpointError::LeaseLost);
    }
    let key = run.lease.stream().to_owned();
    run.state
        .park(&key, id, data)
        .await
        .map_err(CheckpointError::State)?;
    let mut parked = ids(run);
    if !parked.iter().any(|known| known == id) {
        parked.push(id.to_owned());
    }
    let list = parked.join(",");
    let mut values = vec![(META_PARKED, list.as_str())];
    values.extend_from_slice(meta);
    run.set_meta(&values).await
}

/// Parked batch `id` of `run`'s stream, if it is there.
pub async fn load(run: &Run<'_>, id: &str) -> Result<Option<Vec<u8>>, CheckpointError> {
    run.state
        .parked(run.lease.stream(), id)
        .await
        .map_err(CheckpointError::State)
}

/// Records the landing of parked batch `id` (of `bytes`, which `landed` covers) and forgets the batch.
pub async fn landed(
    run: &mut Run<'_>,
    id: &str,
    bytes: usize,
    landed: &LandReport,
    newest: Option<DateTime<Utc>>,
) -> Result<(), CheckpointError> {
    let rest: Vec<String> = ids(run).into_iter().filter(|p| p != id).collect();
    let rest = rest.join(",");
    run.checkpoint_with(landed, None, newest, &[(META_PARKED, &rest)])
        .await?;
    let key = run.lease.stream().to_owned();
    // Once the list no longer names it, a chunk left behind is only an orphan item, never landed twice.
    if let Err(error) = run.state.unpark(&key, id, chunks_for(bytes)).await {
        tracing::warn!(message = "Could not delete a landed parked batch.", stream = %key, id, error = %error);
    }
    Ok(())
}
