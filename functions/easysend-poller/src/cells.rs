//! Object names on a fixed grid of five-minute cells, whatever `TRIBUTARY_EASYSEND_WINDOW_SECONDS` says: a log
//! always lands in the object of the cell holding its `@timestamp`. One fetch fills every cell it covers; a
//! fetch narrower than a cell (or not on its edges) shares the cell's objects with its neighbours, and the lander
//! keeps the union of what they hold. So a re-fetch after the window size changed, the retrospection sweep's wide
//! fetches and the regular windows all write the same keys, and no log is ever in S3 twice.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use tributary_shared::keys::Partition;
use tributary_shared::landing::streaming::StreamingLanding;
use tributary_shared::landing::{LandError, LandReport, Lander};
use tributary_shared::record::{Record, Unparsed};
use tributary_shared::services::Services;

use crate::mapping::VENDOR;
use crate::unparsed_again::EarlierUnparsed;
use crate::windows::{align_down, Window};

/// The naming grid. Equal to the default window, so with the default every window is exactly one cell.
pub const CELL: Duration = Duration::minutes(5);

/// The cell holding `at`.
pub fn cell_of(at: DateTime<Utc>) -> Window {
    let start = align_down(at, CELL);
    Window::new(start, start + CELL)
}

/// One fetch being landed, cell by cell: a cell becomes visible once the fetch has moved past it, the rest at
/// [`CellLanding::commit`].
pub struct CellLanding {
    lander: Lander,
    cells: BTreeMap<DateTime<Utc>, StreamingLanding>,
    /// Items that did not parse have no time: they are named after the fetch they came from.
    unparsed: StreamingLanding,
    fetched: Window,
    stream: String,
    /// Read on the first unparsed item: those that landed before, not to land them again.
    earlier_unparsed: Option<EarlierUnparsed>,
    /// Set for a re-check: only logs not already in their cell's object are landed.
    known: Option<Landed>,
    /// What the cells committed so far landed.
    report: LandReport,
}

impl CellLanding {
    pub fn new(lander: &Lander, fetched: Window, stream: &str) -> Self {
        CellLanding {
            lander: lander.clone(),
            cells: BTreeMap::new(),
            unparsed: lander.streaming(&fetched.tag()),
            fetched,
            stream: stream.to_owned(),
            earlier_unparsed: None,
            known: None,
            report: LandReport::default(),
        }
    }

    /// A landing that takes only logs not already landed in their cell's object (the retrospection sweep), so a
    /// re-check that finds nothing new writes nothing.
    pub fn only_new(lander: &Lander, fetched: Window, stream: &str, landed: Landed) -> Self {
        CellLanding {
            known: Some(landed),
            ..CellLanding::new(lander, fetched, stream)
        }
    }

    pub async fn push(&mut self, record: &Record) -> Result<(), LandError> {
        let cell = cell_of(record.timestamp);
        if let Some(known) = &mut self.known {
            if !known.is_new(record, cell).await? {
                return Ok(());
            }
        }
        self.commit_before(cell.start).await?;
        let lander = &self.lander;
        self.cells
            .entry(cell.start)
            .or_insert_with(|| lander.streaming(&cell.tag()))
            .push(record)
            .await
    }

    /// Adds an item that did not parse, unless it landed before ([`crate::unparsed_again`]); from the second item
    /// of one text on, with its occurrence in the context, so each has an id of its own.
    pub async fn push_unparsed(&mut self, item: Unparsed) -> Result<(), LandError> {
        let earlier = match &mut self.earlier_unparsed {
            Some(earlier) => earlier,
            None => self
                .earlier_unparsed
                .insert(EarlierUnparsed::read(&self.lander, &self.stream, self.fetched).await?),
        };
        let item = match earlier.meet(&item.raw) {
            None => return Ok(()),
            Some(1) => item,
            Some(occurrence) => item.with_context("occurrence", occurrence),
        };
        self.unparsed.push_unparsed(&item).await
    }

    /// Commits the open cells older than `start` (the fetch has moved past them).
    async fn commit_before(&mut self, start: DateTime<Utc>) -> Result<(), LandError> {
        while let Some(entry) = self.cells.first_entry() {
            if *entry.key() >= start {
                break;
            }
            match entry.remove().commit().await {
                Ok(part) => self.report.absorb(part),
                Err(mut error) => {
                    error.landed += self.report.events + self.report.unparsed;
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// Commits every cell, oldest first, and hands back the re-check's bookkeeping (empty for a plain fetch). On a
    /// failure the cells not yet committed are aborted; those committed are harmless, since landing the fetch again
    /// rewrites the same keys.
    pub async fn commit(self) -> Result<(LandReport, Recheck), LandError> {
        let mut report = self.report;
        let known = self.known;
        let earlier_unparsed = self.earlier_unparsed.unwrap_or_default();
        let mut pending = self.cells.into_values().chain([self.unparsed]);
        while let Some(landing) = pending.next() {
            match landing.commit().await {
                Ok(part) => report.absorb(part),
                Err(mut error) => {
                    error.landed += report.events + report.unparsed;
                    for rest in pending {
                        rest.abort().await;
                    }
                    return Err(error);
                }
            }
        }
        report.objects.sort_by(|a, b| a.key.cmp(&b.key));
        let (reads, new) = known.map_or((0, 0), |k| (k.reads, k.new));
        let recheck = Recheck {
            reads: reads + earlier_unparsed.reads,
            new,
            unparsed_again: earlier_unparsed.again,
        };
        Ok((report, recheck))
    }

    /// Drops the rest of the fetch: the open cells are aborted and never become visible.
    pub async fn abort(self) {
        for landing in self.cells.into_values().chain([self.unparsed]) {
            landing.abort().await;
        }
    }
}

/// What reading back what landed before cost and found.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recheck {
    /// Objects read back from S3.
    pub reads: u64,
    /// Logs that had not landed (a re-check).
    pub new: u64,
    /// Unparsed logs met again and not landed twice (any fetch).
    pub unparsed_again: u64,
}

/// What already landed, read back cell object by cell object as a re-check reaches it.
pub struct Landed {
    lander: Lander,
    /// Event ids per object key.
    ids: HashMap<String, HashSet<String>>,
    /// Objects read back (the S3 cost of the re-check).
    pub reads: u64,
    /// Logs found that had not landed.
    pub new: u64,
}

impl Landed {
    pub fn new(services: &Services) -> Self {
        Landed {
            lander: services.lander(crate::FUNCTION),
            ids: HashMap::new(),
            reads: 0,
            new: 0,
        }
    }

    /// Whether `record` is missing from the object of its cell (and so, from S3: a log lands nowhere else).
    async fn is_new(&mut self, record: &Record, cell: Window) -> Result<bool, LandError> {
        let key = Partition::for_event(VENDOR, &record.event_type, record.timestamp)
            .key(self.lander.prefix(), &cell.tag());
        if !self.ids.contains_key(&key) {
            let ids = self.read_ids(&key).await?;
            self.reads += 1;
            self.ids.insert(key.clone(), ids);
        }
        let fresh = self
            .ids
            .get_mut(&key)
            .is_some_and(|ids| ids.insert(record.id.clone()));
        self.new += fresh as u64;
        Ok(fresh)
    }

    /// The `event.id`s of the object at `key` (none if there is no object).
    async fn read_ids(&self, key: &str) -> Result<HashSet<String>, LandError> {
        let failed = |reason: String| LandError {
            bucket: self.lander.bucket().to_owned(),
            key: key.to_owned(),
            reason: format!("reading what landed before, to find late logs: {reason}"),
            not_landed: 0,
            landed: 0,
            total: 0,
        };
        #[derive(serde::Deserialize)]
        struct Line {
            event: Event,
        }
        #[derive(serde::Deserialize)]
        struct Event {
            id: String,
        }
        let mut ids = HashSet::new();
        self.lander
            .each_line(key, |line| {
                if let Ok(line) = serde_json::from_slice::<Line>(line) {
                    ids.insert(line.event.id);
                }
            })
            .await
            .map_err(failed)?;
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn cells_are_five_minutes_on_the_epoch_grid() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 10, 7, 59).unwrap();
        assert_eq!(cell_of(at).tag(), "20261121T100500Z-20261121T101000Z");
        let edge = Utc.with_ymd_and_hms(2026, 11, 21, 10, 10, 0).unwrap();
        assert_eq!(cell_of(edge).start, edge);
    }
}
