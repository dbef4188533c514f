//! What keeps a destructive read's batch from being lost to anything but a crash, and a crash from being silent:
//!
//! - **The landing path is proven** before the first `collect` of a run (one small write with the same bucket,
//!   permissions and encryption as a landing): if S3 is broken, nothing is collected, so nothing is lost.
//! - **A batch that cannot land is kept**: if S3 refuses it after its retries, it is parked in the state table
//!   (compressed, split across items) and the next run lands it first, under the same object keys (they come from
//!   the events' ids), so nothing doubles. Its unparsed events keep the run and batch that collected them, so
//!   they keep their ids too, and those that a part of the refused landing wrote, in this hour or the one before,
//!   are not written again.
//! - **A batch in flight is marked** in state before each `collect`. The write that records a landing sets the
//!   mark of the next collect, parking clears it, and the run's finish write clears it, so the marks cost one
//!   write per run, not one per batch. A run that finds a mark left behind knows a run died between asking and
//!   landing (or, at worst, just before asking), and reports the batch as possibly lost (`degraded`).

use std::io::{Read, Write};

use chrono::Utc;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use tributary_shared::event_id::digest_hex;
use tributary_shared::landing::ObjectNaming;
use tributary_shared::parked;
use tributary_shared::record::rfc3339;
use tributary_shared::run::events::PossiblyLostBatch;
use tributary_shared::run::Run;

use crate::client::Collected;
use crate::error::PollerError;
use crate::event_type::EventType;
use crate::mapping::{self, Mapped, Origin, VENDOR};

/// Bookkeeping key of the collect in flight: `<RFC 3339 time>|<batch size>`.
pub const META_IN_FLIGHT: &str = "collect_in_flight";

/// Reports a collect a run left in flight (it died between asking and landing). The mark itself is replaced by
/// this run's first mark, or cleared by its finish.
pub fn report_crash(run: &Run<'_>) {
    let Some(mark) = run.meta(META_IN_FLIGHT).filter(|m| !m.is_empty()) else {
        return;
    };
    let (at, size) = mark.split_once('|').unwrap_or((mark, ""));
    run.emit(PossiblyLostBatch {
        stream: run.stream(),
        events_at_risk: size.parse().ok(),
        reason: &format!(
            "a run died with a collect in flight (asked at {at}); Transmit may have handed that batch out"
        ),
    });
}

/// The mark of a collect of `batch_size` asked now, as stored under [`META_IN_FLIGHT`].
pub fn in_flight(batch_size: u32) -> String {
    format!("{}|{batch_size}", rfc3339(Utc::now()))
}

/// Marks a collect of `batch_size` as in flight, in a write of its own (the first collect of a run, or one after
/// a failed collect); later collects are marked by the checkpoint before them.
pub async fn mark_in_flight(run: &mut Run<'_>, batch_size: u32) -> Result<(), PollerError> {
    run.set_meta(&[(META_IN_FLIGHT, &in_flight(batch_size))])
        .await?;
    Ok(())
}

/// Fails the run before anything is collected when the landing path is broken.
pub async fn prove_landing_path(run: &Run<'_>, event_type: EventType) -> Result<(), PollerError> {
    run.lander()
        .probe(VENDOR, event_type.as_str())
        .await
        .map_err(|reason| PollerError::LandingPath { event_type, reason })
}

/// How a collected answer is kept: a header line, then the bytes as Transmit sent them, gzip-compressed.
#[derive(Serialize, Deserialize)]
struct Header {
    /// Set when the answer broke off mid-body: the error, and the bytes are the fragment received.
    cut: Option<String>,
    /// The run that collected it and the batch's number in that run, which its unparsed events name. (Absent from
    /// batches kept before they were recorded: those take the landing run's.)
    #[serde(default)]
    run: Option<String>,
    #[serde(default)]
    batch: Option<u64>,
}

/// Keeps `collected` (which S3 refused) in the state table, clearing the in-flight mark in the same write.
pub async fn park(
    run: &mut Run<'_>,
    collected: &Collected,
    origin: &Origin<'_>,
) -> Result<String, PollerError> {
    let (id, data) = encode(collected, origin);
    parked::park(run, &id, &data, &[(META_IN_FLIGHT, "")]).await?;
    Ok(id)
}

/// The parked form of `collected`, and its id (a digest of the answer, so keeping it again is idempotent).
fn encode(collected: &Collected, origin: &Origin<'_>) -> (String, Vec<u8>) {
    let (cut, bytes) = match collected {
        Collected::Body(body) => (None, body),
        Collected::Cut { partial, error } => (Some(error.clone()), partial),
    };
    let mut out = GzEncoder::new(Vec::new(), flate2::Compression::default());
    let header = Header {
        cut,
        run: Some(origin.run.to_owned()),
        batch: Some(origin.batch),
    };
    let header = serde_json::to_vec(&header).expect("a header always serializes");
    out.write_all(&header)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.write_all(bytes))
        .expect("writing to memory cannot fail");
    let data = out.finish().expect("writing to memory cannot fail");
    (digest_hex(bytes)[..16].to_owned(), data)
}

fn decode(data: &[u8]) -> Result<(Collected, Header), String> {
    let mut text = Vec::new();
    GzDecoder::new(data)
        .read_to_end(&mut text)
        .map_err(|e| format!("not gzip: {e}"))?;
    let split = text
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no header line")?;
    let header: Header =
        serde_json::from_slice(&text[..split]).map_err(|e| format!("bad header: {e}"))?;
    let bytes = text[split + 1..].to_vec();
    let collected = match header.cut.clone() {
        None => Collected::Body(bytes),
        Some(error) => Collected::Cut {
            partial: bytes,
            error,
        },
    };
    Ok((collected, header))
}

/// Maps an answer as a fresh one would be.
pub fn map(collected: &Collected, origin: &Origin<'_>) -> Mapped {
    match collected {
        Collected::Body(body) => mapping::map_body(body, origin),
        Collected::Cut { partial, error } => Mapped {
            unparsed: vec![mapping::cut_body(partial, error, origin)],
            ..Mapped::default()
        },
    }
}

/// Lands every parked batch, oldest first, before anything new is collected. Returns how many landed.
pub async fn land_parked(
    run: &mut Run<'_>,
    event_type: EventType,
    stream_id: &str,
) -> Result<u64, PollerError> {
    let mut landed_batches = 0;
    for id in parked::ids(run) {
        let Some(data) = parked::load(run, &id).await? else {
            tracing::error!(
                message = "A parked batch is named in state but its items are gone; it cannot be landed.",
                event_type = %event_type,
                id = %id
            );
            return Err(PollerError::ParkedMissing { event_type, id });
        };
        let (collected, header) =
            decode(&data).map_err(|reason| PollerError::ParkedUnreadable {
                event_type,
                id: id.clone(),
                reason,
            })?;
        let origin = Origin {
            event_type,
            stream_id,
            run: header.run.as_deref().unwrap_or(run.owner()),
            batch: header.batch.unwrap_or(run.totals().batches + 1),
        };
        let mapped = map(&collected, &origin);
        let landed_before = match mapped.unparsed.as_slice() {
            [] => Default::default(),
            _ => run
                .lander()
                .unparsed_landed_near(VENDOR, stream_id, Utc::now())
                .await
                .map_err(|reason| PollerError::ParkedReadBack {
                    event_type,
                    id: id.clone(),
                    reason,
                })?,
        };
        let unparsed = landed_before.not_landed(&mapped.unparsed);
        let mut landed = run
            .lander()
            .land(
                &mapped.records,
                &unparsed,
                ObjectNaming::Content { tag: stream_id },
            )
            .await
            .map_err(|source| PollerError::ParkedNotLanded {
                event_type,
                id: id.clone(),
                source: Box::new(source),
            })?;
        landed.unparsed_landed_before = mapped.unparsed.len() - unparsed.len();
        parked::landed(run, &id, data.len(), &landed, mapped.newest).await?;
        tracing::info!(
            message = "Landed a batch kept from an earlier run.",
            event_type = %event_type,
            id = %id,
            events = landed.events
        );
        landed_batches += 1;
    }
    Ok(landed_batches)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_shared::record::Unparsed;

    fn origin(run: &str) -> Origin<'_> {
        Origin {
            event_type: EventType::Risk,
            stream_id: "s-1",
            run,
            batch: 3,
        }
    }

    #[test]
    fn a_kept_batch_names_its_unparsed_events_as_the_run_that_collected_it_did() {
        let body = Collected::Body(br#"[{"activity":"x"}, 7]"#.to_vec());
        let (_, data) = encode(&body, &origin("run-a"));
        let (collected, header) = decode(&data).unwrap();
        assert_eq!(
            (header.run.as_deref(), header.batch),
            (Some("run-a"), Some(3))
        );
        let again = Origin {
            run: header.run.as_deref().unwrap(),
            batch: header.batch.unwrap(),
            ..origin("run-b")
        };
        let first = map(&body, &origin("run-a")).unparsed;
        let relanded = map(&collected, &again).unparsed;
        assert!(!first.is_empty());
        assert_eq!(
            first.iter().map(Unparsed::id).collect::<Vec<_>>(),
            relanded.iter().map(Unparsed::id).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_batch_kept_before_the_origin_was_recorded_still_reads() {
        let mut out = GzEncoder::new(Vec::new(), flate2::Compression::default());
        out.write_all(b"{\"cut\":null}\n[]").unwrap();
        let (collected, header) = decode(&out.finish().unwrap()).unwrap();
        assert!(matches!(collected, Collected::Body(b) if b == b"[]"));
        assert_eq!((header.run, header.batch), (None, None));
    }
}
