//! What earlier attempts of a request already landed, so a retry of a request that spans many hours skips it
//! without a round trip to S3 per object.
//!
//! A request is landed in chunks of partitions, one after another; each chunk that lands is remembered under the
//! request's digest until the request is acknowledged. A retry that reaches the same process (the standalone host,
//! or a warm Lambda instance) starts where the attempt before it stopped. One that reaches another process still
//! makes no duplicate: every object's key names the request's content, and an existing key is left as it is
//! (`ObjectNaming::Once`).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use tributary_shared::record::Record;

/// Partitions (objects) per chunk: a few rounds of concurrent uploads, so a chunk finishes well inside a budget
/// and an attempt that runs out of time loses little of its work.
pub(crate) const CHUNK_PARTITIONS: usize = 128;

/// Requests remembered at once; past it the oldest half is forgotten (their retries then ask S3 instead).
const REMEMBERED_REQUESTS: usize = 1024;

/// Chunks landed per request digest, and the digests in order of first landing (to forget the oldest).
type Remembered = (HashMap<String, HashSet<usize>>, Vec<String>);

#[derive(Default)]
pub(crate) struct LandedChunks {
    inner: Mutex<Remembered>,
}

impl LandedChunks {
    pub fn landed(&self, request: &str) -> HashSet<usize> {
        let inner = self.inner.lock().expect("landed chunks lock");
        inner.0.get(request).cloned().unwrap_or_default()
    }

    pub fn mark(&self, request: &str, chunk: usize) {
        let mut inner = self.inner.lock().expect("landed chunks lock");
        let (map, order) = &mut *inner;
        if !map.contains_key(request) {
            if order.len() >= REMEMBERED_REQUESTS {
                for old in order.drain(..REMEMBERED_REQUESTS / 2) {
                    map.remove(&old);
                }
            }
            order.push(request.to_owned());
        }
        map.entry(request.to_owned()).or_default().insert(chunk);
    }

    pub fn forget(&self, request: &str) {
        let mut inner = self.inner.lock().expect("landed chunks lock");
        let (map, order) = &mut *inner;
        if map.remove(request).is_some() {
            order.retain(|r| r != request);
        }
    }
}

/// The records split into chunks of whole partitions, in partition order (the same chunks for the same request).
/// `None` when they fit in one chunk, so the common request is landed as it came, without copying.
pub(crate) fn chunks(records: &[Record]) -> Option<Vec<Vec<Record>>> {
    let partitions = tributary_shared::landing::Lander::by_partition(records);
    if partitions.len() <= CHUNK_PARTITIONS {
        return None;
    }
    let groups: Vec<Vec<&Record>> = partitions.into_values().collect();
    Some(
        groups
            .chunks(CHUNK_PARTITIONS)
            .map(|chunk| chunk.iter().flatten().map(|r| (*r).clone()).collect())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_remembered_per_request_until_forgotten() {
        let landed = LandedChunks::default();
        landed.mark("r1", 0);
        landed.mark("r1", 2);
        landed.mark("r2", 1);
        assert_eq!(landed.landed("r1"), HashSet::from([0, 2]));
        landed.forget("r1");
        assert!(landed.landed("r1").is_empty());
        assert_eq!(landed.landed("r2"), HashSet::from([1]));
    }

    #[test]
    fn the_memory_is_bounded() {
        let landed = LandedChunks::default();
        for i in 0..REMEMBERED_REQUESTS + 1 {
            landed.mark(&format!("r{i}"), 0);
        }
        assert!(landed.landed("r0").is_empty());
        assert!(!landed.landed(&format!("r{REMEMBERED_REQUESTS}")).is_empty());
        assert!(landed.inner.lock().unwrap().0.len() <= REMEMBERED_REQUESTS);
    }
}
