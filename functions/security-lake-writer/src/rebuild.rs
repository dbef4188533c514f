//! Rebuilding one hour: list its landed objects, read and map every line, drop repeats of an event (the same
//! `event.id` landed twice: overlapping windows, a re-fetch, a redelivered push), sort each class by time, write one
//! file per class, remove files of classes the hour no longer has, then list again. If the inputs changed while the
//! files were built (another object landed, or one was rewritten), the hour is built again, so the last writer
//! always writes from the inputs as they are. Concurrent writers of one hour cannot leave an older file behind:
//! each one that writes checks afterwards, and the one that writes last sees the final inputs.

use std::collections::BTreeMap;

use tracing::{info, warn};

use crate::hour::Hour;
use crate::inputs::{self, Input};
use crate::lake::Lake;
use crate::ocsf::{map, Class, Fallback, Row};
use crate::parquet_file;

/// Builds of one hour in one invocation before it is left to a redelivery.
const MAX_BUILDS: usize = 3;

/// What one hour's rebuild did.
#[derive(Debug, Default, Clone)]
pub struct HourReport {
    pub inputs: usize,
    pub lines: usize,
    pub rows: usize,
    /// Lines that repeated an event already in the hour.
    pub repeats: usize,
    pub rows_per_class: BTreeMap<u32, usize>,
    pub unreadable: usize,
    pub unparsed: usize,
    pub unmapped: usize,
    /// Objects that were not wholly readable gzip (what decompressed is written; the rest is reported).
    pub damaged_objects: Vec<String>,
    pub files_written: usize,
    pub files_removed: usize,
    pub parquet_bytes: usize,
    pub builds: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("{0}")]
    Storage(String),
    #[error(transparent)]
    Parquet(#[from] parquet_file::ParquetError),
    #[error(
        "the hour's inputs kept changing over {MAX_BUILDS} builds; a redelivery builds it again"
    )]
    Unsettled,
}

pub struct Rebuilder<'a> {
    pub landing: &'a aws_sdk_s3::Client,
    pub landing_bucket: &'a str,
    pub prefix: &'a str,
    pub lake: &'a Lake,
    pub row_group_rows: usize,
}

impl Rebuilder<'_> {
    pub async fn rebuild(&self, hour: &Hour) -> Result<HourReport, RebuildError> {
        let listed = self.list(&hour.landing_prefix(self.prefix)).await?;
        self.rebuild_from(hour, listed).await
    }

    /// Builds `hour` from the inputs `listed` (as a listing a moment ago found them), then checks them against a
    /// new listing and builds again until the two agree.
    pub async fn rebuild_from(
        &self,
        hour: &Hour,
        mut listed: Vec<Input>,
    ) -> Result<HourReport, RebuildError> {
        let prefix = hour.landing_prefix(self.prefix);
        for build in 1..=MAX_BUILDS {
            let mut report = self.build(hour, &listed).await?;
            report.builds = build;
            let now = self.list(&prefix).await?;
            if now == listed {
                return Ok(report);
            }
            info!(message = "Inputs changed while the hour was built; building it again.", hour = %hour, build);
            listed = now;
        }
        Err(RebuildError::Unsettled)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<Input>, RebuildError> {
        inputs::list(self.landing, self.landing_bucket, prefix)
            .await
            .map_err(RebuildError::Storage)
    }

    async fn build(&self, hour: &Hour, listed: &[Input]) -> Result<HourReport, RebuildError> {
        let mut report = HourReport {
            inputs: listed.len(),
            ..HourReport::default()
        };
        let landed = inputs::read(self.landing, self.landing_bucket, listed)
            .await
            .map_err(RebuildError::Storage)?;
        let fallback_time = hour.start_millis();
        let mut rows = Vec::new();
        for object in landed {
            if let Some(damage) = &object.damage {
                warn!(message = "A landed object is damaged; its readable part is written.", key = %object.key, error = %damage);
                report.damaged_objects.push(object.key.clone());
            }
            for line in object.body.split(|b| *b == b'\n') {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                report.lines += 1;
                rows.push(map::row(line, fallback_time));
            }
        }
        let rows = distinct(rows);
        report.repeats = report.lines - rows.len();
        report.rows = rows.len();
        let mut by_class: BTreeMap<Class, Vec<&Row>> = BTreeMap::new();
        for row in &rows {
            match row.fallback {
                Some(Fallback::Unreadable) => report.unreadable += 1,
                Some(Fallback::Unparsed) => report.unparsed += 1,
                Some(Fallback::Unmapped) => report.unmapped += 1,
                None => {}
            }
            by_class.entry(row.class).or_default().push(row);
        }
        for class in Class::ALL {
            let key = self.lake.key(*class, hour);
            match by_class.get_mut(class) {
                Some(class_rows) => {
                    class_rows.sort_by(|a, b| (a.time, &a.uid).cmp(&(b.time, &b.uid)));
                    let body = parquet_file::write(*class, class_rows, self.row_group_rows)?;
                    report.parquet_bytes += body.len();
                    report.rows_per_class.insert(class.uid(), class_rows.len());
                    self.lake
                        .put(&key, body)
                        .await
                        .map_err(RebuildError::Storage)?;
                    report.files_written += 1;
                }
                None => {
                    if self
                        .lake
                        .remove_if_present(&key)
                        .await
                        .map_err(RebuildError::Storage)?
                    {
                        report.files_removed += 1;
                    }
                }
            }
        }
        Ok(report)
    }
}

/// One row per event: of the rows sharing an `event.id`, the one whose text sorts first, so which copy of an event
/// is kept never depends on the order objects were listed or read in.
fn distinct(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_unstable_by(|a, b| (&a.uid, &a.json).cmp(&(&b.uid, &b.json)));
    rows.dedup_by(|later, first| later.uid == first.uid);
    rows
}
