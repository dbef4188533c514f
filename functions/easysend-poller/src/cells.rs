//! Object names on a fixed grid of five-minute cells, whatever `TRIBUTARY_EASYSEND_WINDOW_SECONDS` says: a log
//! always lands in the object of the cell holding its `@timestamp`. One fetch fills every cell it covers; a
//! fetch narrower than a cell (or not on its edges) shares the cell's objects with its neighbours, and the lander
//! keeps the union of what they hold. So a re-fetch after the window size changed, the retrospection sweep's wide
//! fetches and the regular windows all write the same keys, and no log is ever in S3 twice.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use tributary_shared::landing::streaming::StreamingLanding;
use tributary_shared::landing::{LandError, LandReport, Lander};
use tributary_shared::record::{Record, Unparsed};

use crate::windows::{align_down, Window};

/// The naming grid. Equal to the default window, so with the default every window is exactly one cell.
pub const CELL: Duration = Duration::minutes(5);

/// The cell holding `at`.
pub fn cell_of(at: DateTime<Utc>) -> Window {
    let start = align_down(at, CELL);
    Window::new(start, start + CELL)
}

/// One fetch being landed, cell by cell. Nothing is visible until [`CellLanding::commit`].
pub struct CellLanding {
    lander: Lander,
    cells: BTreeMap<DateTime<Utc>, StreamingLanding>,
    /// Items that did not parse have no time: they are named after the fetch they came from.
    unparsed: StreamingLanding,
}

impl CellLanding {
    pub fn new(lander: &Lander, fetched: Window) -> Self {
        CellLanding {
            lander: lander.clone(),
            cells: BTreeMap::new(),
            unparsed: lander.streaming(fetched.tag()),
        }
    }

    pub async fn push(&mut self, record: &Record) -> Result<(), LandError> {
        let cell = cell_of(record.timestamp);
        let lander = &self.lander;
        self.cells
            .entry(cell.start)
            .or_insert_with(|| lander.streaming(cell.tag()))
            .push(record)
            .await
    }

    pub async fn push_unparsed(&mut self, item: &Unparsed) -> Result<(), LandError> {
        self.unparsed.push_unparsed(item).await
    }

    /// Commits every cell, oldest first. On a failure the cells not yet committed are aborted; those committed
    /// are harmless, since landing the fetch again rewrites the same keys.
    pub async fn commit(self) -> Result<LandReport, LandError> {
        let mut report = LandReport::default();
        let mut pending = self.cells.into_values().chain([self.unparsed]);
        while let Some(landing) = pending.next() {
            match landing.commit().await {
                Ok(part) => absorb(&mut report, part),
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
        Ok(report)
    }

    /// Drops the fetch: nothing becomes visible.
    pub async fn abort(self) {
        for landing in self.cells.into_values().chain([self.unparsed]) {
            landing.abort().await;
        }
    }
}

fn absorb(into: &mut LandReport, part: LandReport) {
    into.objects.extend(part.objects);
    into.events += part.events;
    into.unparsed += part.unparsed;
    into.kept_from_earlier += part.kept_from_earlier;
    into.partition_fallbacks += part.partition_fallbacks;
    into.bytes += part.bytes;
    into.uncompressed_bytes += part.uncompressed_bytes;
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
