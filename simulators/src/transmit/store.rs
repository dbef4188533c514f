//! What the simulated tenant holds: per event type, whether collection is on, the recorded
//! events, and the streams reading them.
//!
//! Events of a type form one append-only log of segments (a lazily generated backlog or a list
//! of explicit elements). A stream is a read position in that log; `collect` hands out the next
//! events and moves the position, which is what makes it a destructive read. Events recorded
//! while a type has no stream wait for the first stream created; a stream created next to an
//! existing one only sees events recorded after it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::events::{EventType, GenSpec};

#[derive(Debug, Clone)]
pub(crate) enum Payload {
    Generated(Arc<GenSpec>),
    /// Each element's JSON text.
    Explicit(Arc<Vec<String>>),
}

#[derive(Debug, Clone)]
struct Segment {
    /// Log offset of the segment's first event.
    start: u64,
    len: u64,
    payload: Payload,
    recorded_at: SystemTime,
}

/// A run of events to render: elements `from..to` of one segment.
#[derive(Debug, Clone)]
pub(crate) struct Slice {
    pub payload: Payload,
    pub from: u64,
    pub to: u64,
}

impl Slice {
    pub(crate) fn len(&self) -> u64 {
        self.to - self.from
    }
}

/// A collected batch, rendered to JSON text outside the lock.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub slices: Vec<Slice>,
    pub enrichment: bool,
}

impl Batch {
    pub(crate) fn len(&self) -> u64 {
        self.slices.iter().map(Slice::len).sum()
    }

    /// The batch as the top-level JSON array `collect` answers with.
    pub(crate) fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.len() as usize * 480);
        out.push(b'[');
        let mut first = true;
        for slice in &self.slices {
            for i in slice.from..slice.to {
                if !first {
                    out.push(b',');
                }
                first = false;
                match &slice.payload {
                    Payload::Generated(spec) => spec.write_event(i, self.enrichment, &mut out),
                    Payload::Explicit(items) => out.extend_from_slice(items[i as usize].as_bytes()),
                }
            }
        }
        out.push(b']');
        out
    }
}

#[derive(Debug, Clone)]
struct StreamState {
    position: u64,
    retention: Option<Duration>,
    enrichment: bool,
    batches_served: u64,
    events_served: u64,
}

#[derive(Debug, Default)]
struct TypeState {
    collecting: bool,
    segments: VecDeque<Segment>,
    /// Log offset one past the newest event.
    end: u64,
    /// Where the first stream created starts reading.
    floor: u64,
    streams: BTreeMap<String, StreamState>,
}

/// What a test or the demo can see of one stream.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StreamInfo {
    pub stream_id: String,
    /// Events recorded and not yet collected by this stream.
    pub pending: u64,
    pub retention_days: Option<u64>,
    pub enrichment: bool,
    pub batches_served: u64,
    pub events_served: u64,
}

/// What a test or the demo can see of one event type.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TypeInfo {
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub collecting: bool,
    /// Events recorded since the type's log was last emptied (by `stop-collect`).
    pub recorded: u64,
    /// Events waiting for a first stream to be created.
    pub waiting_for_stream: u64,
    pub streams: Vec<StreamInfo>,
}

#[derive(Debug)]
pub(crate) enum CreateError {
    NotCollecting,
    Exists,
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    types: [TypeState; 4],
}

impl Store {
    fn of(&mut self, t: EventType) -> &mut TypeState {
        &mut self.types[t.index()]
    }

    pub(crate) fn record(&mut self, t: EventType, payload: Payload, len: u64) {
        let state = self.of(t);
        if len == 0 {
            return;
        }
        state.segments.push_back(Segment {
            start: state.end,
            len,
            payload,
            recorded_at: SystemTime::now(),
        });
        state.end += len;
    }

    /// Returns false when collection was already on.
    pub(crate) fn start_collect(&mut self, t: EventType) -> bool {
        !std::mem::replace(&mut self.of(t).collecting, true)
    }

    pub(crate) fn is_collecting(&self, t: EventType) -> bool {
        self.types[t.index()].collecting
    }

    pub(crate) fn create_stream(
        &mut self,
        t: EventType,
        stream_id: &str,
        retention: Option<Duration>,
        enrichment: bool,
    ) -> Result<(), CreateError> {
        let state = self.of(t);
        if !state.collecting {
            return Err(CreateError::NotCollecting);
        }
        if state.streams.contains_key(stream_id) {
            return Err(CreateError::Exists);
        }
        let position = if state.streams.is_empty() {
            state.floor
        } else {
            state.end
        };
        state.streams.insert(
            stream_id.to_owned(),
            StreamState {
                position,
                retention,
                enrichment,
                batches_served: 0,
                events_served: 0,
            },
        );
        Ok(())
    }

    /// Returns false when there was no such stream.
    pub(crate) fn delete_stream(&mut self, t: EventType, stream_id: &str) -> bool {
        let state = self.of(t);
        let existed = state.streams.remove(stream_id).is_some();
        if state.streams.is_empty() {
            // What the deleted stream had not collected goes with it.
            state.floor = state.end;
        }
        state.gc();
        existed
    }

    /// Stops collection and deletes every stream of the type, with what they held.
    pub(crate) fn stop_collect(&mut self, t: EventType) -> bool {
        let state = self.of(t);
        let was = state.collecting;
        state.collecting = false;
        state.streams.clear();
        state.floor = state.end;
        state.gc();
        was
    }

    /// Takes up to `batch_size` events off the stream. `None` when the stream does not exist.
    pub(crate) fn collect(
        &mut self,
        t: EventType,
        stream_id: &str,
        batch_size: u64,
    ) -> Option<Batch> {
        let now = SystemTime::now();
        let state = self.of(t);
        let stream = state.streams.get_mut(stream_id)?;
        let mut batch = Batch {
            slices: Vec::new(),
            enrichment: stream.enrichment,
        };
        let mut taken = 0;
        for segment in &state.segments {
            if taken == batch_size {
                break;
            }
            let seg_end = segment.start + segment.len;
            if seg_end <= stream.position {
                continue;
            }
            let expired = stream
                .retention
                .is_some_and(|r| segment.recorded_at + r < now);
            if expired {
                stream.position = seg_end;
                continue;
            }
            let from = stream.position - segment.start;
            let n = (segment.len - from).min(batch_size - taken);
            batch.slices.push(Slice {
                payload: segment.payload.clone(),
                from,
                to: from + n,
            });
            stream.position += n;
            taken += n;
        }
        stream.batches_served += 1;
        stream.events_served += taken;
        state.gc();
        Some(batch)
    }

    pub(crate) fn info(&self, t: EventType) -> TypeInfo {
        let state = &self.types[t.index()];
        TypeInfo {
            event_type: t,
            collecting: state.collecting,
            recorded: state.end,
            waiting_for_stream: if state.streams.is_empty() {
                state.end - state.floor
            } else {
                0
            },
            streams: state
                .streams
                .iter()
                .map(|(id, s)| StreamInfo {
                    stream_id: id.clone(),
                    pending: state.end - s.position,
                    retention_days: s.retention.map(|r| r.as_secs() / 86_400),
                    enrichment: s.enrichment,
                    batches_served: s.batches_served,
                    events_served: s.events_served,
                })
                .collect(),
        }
    }
}

impl TypeState {
    /// Drops segments every reader is past, so a drained backlog costs nothing.
    fn gc(&mut self) {
        let low = self
            .streams
            .values()
            .map(|s| s.position)
            .min()
            .unwrap_or(self.floor);
        while self
            .segments
            .front()
            .is_some_and(|s| s.start + s.len <= low)
        {
            self.segments.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn seeded(n: u64) -> Store {
        let mut store = Store::default();
        let spec = GenSpec::new(EventType::Cis, n).resolved(Utc::now());
        store.record(EventType::Cis, Payload::Generated(Arc::new(spec)), n);
        store
    }

    #[test]
    fn collect_drains_oldest_first_and_then_answers_empty() {
        let mut store = seeded(25);
        assert!(store.start_collect(EventType::Cis));
        store
            .create_stream(EventType::Cis, "s", None, false)
            .unwrap();
        let sizes: Vec<u64> = (0..4)
            .map(|_| store.collect(EventType::Cis, "s", 10).unwrap().len())
            .collect();
        assert_eq!(sizes, [10, 10, 5, 0]);
        let first = store.collect(EventType::Cis, "s", 10).unwrap();
        assert_eq!(first.render(), b"[]");
    }

    #[test]
    fn a_second_stream_sees_only_events_recorded_after_it() {
        let mut store = seeded(5);
        store.start_collect(EventType::Cis);
        store
            .create_stream(EventType::Cis, "a", None, false)
            .unwrap();
        store
            .create_stream(EventType::Cis, "b", None, false)
            .unwrap();
        store.record(
            EventType::Cis,
            Payload::Explicit(Arc::new(vec!["{}".into()])),
            1,
        );
        assert_eq!(store.collect(EventType::Cis, "a", 100).unwrap().len(), 6);
        assert_eq!(store.collect(EventType::Cis, "b", 100).unwrap().len(), 1);
    }

    #[test]
    fn stop_collect_deletes_streams_and_what_they_held() {
        let mut store = seeded(5);
        store.start_collect(EventType::Cis);
        store
            .create_stream(EventType::Cis, "s", None, false)
            .unwrap();
        assert!(!store.start_collect(EventType::Cis));
        store.stop_collect(EventType::Cis);
        assert!(store.collect(EventType::Cis, "s", 10).is_none());
        assert!(matches!(
            store.create_stream(EventType::Cis, "s", None, false),
            Err(CreateError::NotCollecting)
        ));
        store.start_collect(EventType::Cis);
        store
            .create_stream(EventType::Cis, "s", None, false)
            .unwrap();
        assert_eq!(store.collect(EventType::Cis, "s", 10).unwrap().len(), 0);
    }

    #[test]
    fn rendered_batches_are_json_arrays_of_the_recorded_elements() {
        let mut store = seeded(3);
        store.record(
            EventType::Cis,
            Payload::Explicit(Arc::new(vec!["42".into(), "{\"a\":1}".into()])),
            2,
        );
        store.start_collect(EventType::Cis);
        store
            .create_stream(EventType::Cis, "s", None, false)
            .unwrap();
        let body = store.collect(EventType::Cis, "s", 1000).unwrap().render();
        let parsed: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed.len(), 5);
        assert_eq!(parsed[3], 42);
        assert_eq!(parsed[4]["a"], 1);
    }
}
