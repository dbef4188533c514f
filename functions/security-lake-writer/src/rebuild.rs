//! Rebuilding one hour: list its landed objects, read and map every line, drop repeats of an event (the same
//! `event.id` landed twice: overlapping windows, a re-fetch, a redelivered push), sort each class by time, write one
//! file per class, remove files of classes the hour no longer has, then list again. If the inputs changed while the
//! files were built (another object landed, or one was rewritten), the hour is built again, so the last writer
//! always writes from the inputs as they are. Concurrent writers of one hour cannot leave an older file behind:
//! each one that writes checks afterwards, and the one that writes last sees the final inputs.
//!
//! Two guards keep the lake from going backwards or churning: an hour whose inputs now hold fewer rows than its
//! files were written from (landed objects expired or were deleted) is refused, not shrunk; and a file whose bytes
//! would not change is not written again, so the lake's subscribers hear of a file only when it changed.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use tracing::{info, warn};
use tributary_shared::deadline::Deadline;

use crate::hour::Hour;
use crate::inputs::{self, Input};
use crate::lake::{self, Found, Lake};
use crate::ocsf::{map, Class, Fallback, Row};
use crate::parquet_file;

/// Builds of one hour in one invocation before it is left to a redelivery.
const MAX_BUILDS: usize = 3;

/// Objects fetched at once while an hour is read.
const PARALLEL_GETS: usize = 8;

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
    /// Rows that did not fit their class's schema and were written as Base Events instead.
    pub demoted: usize,
    /// Objects that were not wholly readable gzip (what decompressed is written; the rest is reported).
    pub damaged_objects: Vec<String>,
    pub files_written: usize,
    /// Files left as they were because their bytes would not change.
    pub files_unchanged: usize,
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
    #[error(
        "the hour's inputs hold {now} rows, its files were written from {before}: landed objects expired or were \
         deleted, and the lake keeps the files it has"
    )]
    Shrunk { before: u64, now: usize },
    #[error("not enough time left to build the hour again; a redelivery builds it")]
    OutOfTime,
}

pub struct Rebuilder<'a> {
    pub landing: &'a aws_sdk_s3::Client,
    pub landing_bucket: &'a str,
    pub prefix: &'a str,
    pub lake: &'a Lake,
    pub row_group_rows: usize,
    /// When set, a build is started only while this leaves time for one as slow as the slowest so far.
    pub deadline: Option<Deadline>,
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
        let mut slowest = Duration::ZERO;
        for build in 1..=MAX_BUILDS {
            if build > 1 && self.deadline.is_some_and(|d| !d.allows(slowest)) {
                return Err(RebuildError::OutOfTime);
            }
            let started = std::time::Instant::now();
            let built = self.build(hour, &listed).await;
            slowest = slowest.max(started.elapsed());
            let now = self.list(&prefix).await?;
            match built {
                Ok(mut report) if now == listed => {
                    report.builds = build;
                    return Ok(report);
                }
                // Fewer rows than the files hold, from inputs that did not change: they really shrank.
                Err(RebuildError::Shrunk { .. }) if now == listed => return built,
                // Fewer rows from a listing that is out of date: a newer writer has written; start again from now.
                Ok(_) | Err(RebuildError::Shrunk { .. }) => {}
                Err(other) => return Err(other),
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
        let existing = self.existing(hour).await?;
        let rows = self.read_rows(hour, listed, &mut report).await?;
        let rows = distinct(rows);
        report.repeats = report.lines - rows.len();
        report.rows = rows.len();
        let before = existing
            .values()
            .filter_map(|found| match found {
                Found::Present(file) => file.hour_rows,
                _ => None,
            })
            .max()
            .unwrap_or(0);
        if (rows.len() as u64) < before {
            return Err(RebuildError::Shrunk {
                before,
                now: rows.len(),
            });
        }
        let mut by_class: BTreeMap<Class, Vec<&Row>> = BTreeMap::new();
        for row in &rows {
            match row.fallback {
                Some(Fallback::Unreadable) => report.unreadable += 1,
                Some(Fallback::Unparsed) => report.unparsed += 1,
                Some(Fallback::Unmapped) => report.unmapped += 1,
                // Misfits are made below, from rows that had a class.
                Some(Fallback::Misfit) | None => {}
            }
            by_class.entry(row.class).or_default().push(row);
        }
        for rows in by_class.values_mut() {
            rows.sort_by(|a, b| (a.time, &a.uid).cmp(&(b.time, &b.uid)));
        }
        // Every class but Base first: a row that does not fit its class joins the Base Events.
        let mut files: Vec<(Class, Vec<u8>, usize)> = Vec::new();
        let mut demoted = Vec::new();
        for (class, class_rows) in by_class.iter().filter(|(c, _)| **c != Class::Base) {
            let (file, misfits) = encode(*class, class_rows, self.row_group_rows)?;
            demoted.extend(misfits);
            if let Some((body, count)) = file {
                files.push((*class, body, count));
            }
        }
        report.demoted = demoted.len();
        if report.demoted > 0 {
            warn!(message = "Rows that do not fit their OCSF class were written as Base Events.", hour = %hour, rows = report.demoted);
        }
        let mut base: Vec<&Row> = by_class.get(&Class::Base).cloned().unwrap_or_default();
        base.extend(demoted.iter());
        base.sort_by(|a, b| (a.time, &a.uid).cmp(&(b.time, &b.uid)));
        if !base.is_empty() {
            let body = parquet_file::write(Class::Base, &base, self.row_group_rows)?;
            files.push((Class::Base, body, base.len()));
        }
        let hour_rows = rows.len();
        for (class, body, count) in files {
            report.parquet_bytes += body.len();
            report.rows_per_class.insert(class.uid(), count);
            let unchanged = matches!(
                existing.get(&class),
                Some(Found::Present(file)) if file.sha256 == lake::digest(&body)
            );
            if unchanged {
                report.files_unchanged += 1;
                continue;
            }
            self.lake
                .put(class, hour, body, hour_rows)
                .await
                .map_err(RebuildError::Storage)?;
            report.files_written += 1;
        }
        for (class, found) in &existing {
            if *found != Found::Absent && !report.rows_per_class.contains_key(&class.uid()) {
                if *found == Found::Hidden {
                    warn!(message = "Cannot look for a stale file (403): grant s3:GetObject and s3:ListBucket on the custom source's location.", class = class.name(), hour = %hour);
                    continue;
                }
                self.lake
                    .remove(*class, hour)
                    .await
                    .map_err(RebuildError::Storage)?;
                report.files_removed += 1;
            }
        }
        Ok(report)
    }

    /// What the lake holds of this hour now, per class.
    async fn existing(&self, hour: &Hour) -> Result<BTreeMap<Class, Found>, RebuildError> {
        let looks = Class::ALL.iter().map(|class| async move {
            let found = self.lake.find(*class, hour).await;
            found.map(|found| (*class, found))
        });
        futures_util::future::try_join_all(looks)
            .await
            .map(|found| found.into_iter().collect())
            .map_err(RebuildError::Storage)
    }

    /// Every line of the hour's objects as a row, each object mapped as it arrives and then let go, so an hour
    /// never holds its inputs and its rows at once.
    async fn read_rows(
        &self,
        hour: &Hour,
        listed: &[Input],
        report: &mut HourReport,
    ) -> Result<Vec<Row>, RebuildError> {
        let fallback_time = hour.start_millis();
        let mut rows = Vec::new();
        let mut objects = futures_util::stream::iter(
            listed
                .iter()
                .map(|input| inputs::read_one(self.landing, self.landing_bucket, input)),
        )
        .buffered(PARALLEL_GETS);
        while let Some(object) = objects.next().await {
            let object = object.map_err(RebuildError::Storage)?;
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
        Ok(rows)
    }
}

/// `class`'s file with its row count, and the rows that did not fit its schema, as Base Events.
#[allow(clippy::type_complexity)]
fn encode(
    class: Class,
    rows: &[&Row],
    row_group_rows: usize,
) -> Result<(Option<(Vec<u8>, usize)>, Vec<Row>), RebuildError> {
    match parquet_file::write(class, rows, row_group_rows) {
        Ok(body) => Ok((Some((body, rows.len())), Vec::new())),
        Err(parquet_file::ParquetError::Row { .. }) => {
            let (fitting, misfits): (Vec<&Row>, Vec<&Row>) = rows
                .iter()
                .partition(|row| parquet_file::fits(class, row).is_ok());
            let demoted = misfits.iter().map(|row| demote(class, row)).collect();
            let file = if fitting.is_empty() {
                None
            } else {
                let body = parquet_file::write(class, &fitting, row_group_rows)?;
                Some((body, fitting.len()))
            };
            Ok((file, demoted))
        }
        Err(other) => Err(other.into()),
    }
}

/// A row its class's schema refused, as a Base Event that keeps the row itself as its raw data.
fn demote(class: Class, row: &Row) -> Row {
    let reason = parquet_file::fits(class, row).err().unwrap_or_default();
    map::base_event(
        row.time,
        row.uid.clone(),
        String::from_utf8_lossy(&row.json).into_owned(),
        &format!(
            "the {} row does not fit its schema: {reason}",
            class.caption()
        ),
        Fallback::Misfit,
    )
}

/// One row per event: of the rows sharing an `event.id`, the one whose text sorts first, so which copy of an event
/// is kept never depends on the order objects were listed or read in.
fn distinct(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_unstable_by(|a, b| (&a.uid, &a.json).cmp(&(&b.uid, &b.json)));
    rows.dedup_by(|later, first| later.uid == first.uid);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(class: Class, uid: &str, json: &str) -> Row {
        Row {
            class,
            time: 1_764_590_400_000,
            uid: uid.to_owned(),
            json: json.as_bytes().to_vec(),
            fallback: None,
        }
    }

    #[test]
    fn a_row_its_schema_refuses_becomes_a_base_event_and_the_rest_are_written() {
        let good = row(
            Class::Authentication,
            "good",
            r#"{"class_uid":3002,"time":1764590400000,"user":{"uid":"u1"},"metadata":{"uid":"good"}}"#,
        );
        let bad = row(
            Class::Authentication,
            "bad",
            r#"{"class_uid":3002,"time":1764590400000,"src_endpoint":{"ip":12345},"metadata":{"uid":"bad"}}"#,
        );
        let (file, demoted) = encode(Class::Authentication, &[&good, &bad], 1000).unwrap();
        assert_eq!(file.map(|(_, rows)| rows), Some(1));
        assert_eq!(demoted.len(), 1);
        let base: serde_json::Value = serde_json::from_slice(&demoted[0].json).unwrap();
        assert_eq!(demoted[0].class, Class::Base);
        assert_eq!(demoted[0].fallback, Some(Fallback::Misfit));
        assert_eq!(base["metadata"]["uid"], "bad");
        assert!(
            base["raw_data"].as_str().unwrap().contains("12345"),
            "{base}"
        );
        assert!(
            base["status_detail"]
                .as_str()
                .unwrap()
                .contains("Authentication"),
            "{base}"
        );
        assert!(parquet_file::fits(Class::Base, &demoted[0]).is_ok());
    }

    #[test]
    fn repeats_keep_the_copy_that_sorts_first_whatever_the_order() {
        let a = row(Class::Authentication, "e1", r#"{"a":1}"#);
        let b = row(Class::Authentication, "e1", r#"{"a":2}"#);
        let c = row(Class::Authentication, "e2", r#"{"a":3}"#);
        let one = distinct(vec![b.clone(), c.clone(), a.clone()]);
        let other = distinct(vec![a, c, b]);
        let texts = |rows: &[Row]| rows.iter().map(|r| r.json.clone()).collect::<Vec<_>>();
        assert_eq!(texts(&one), texts(&other));
        assert_eq!(one.len(), 2);
        assert_eq!(one[0].json, br#"{"a":1}"#);
    }
}
