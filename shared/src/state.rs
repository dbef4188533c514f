//! Per-stream state in one DynamoDB table: cursor (a string, with a version for conditional updates), a lease
//! against overlapping runs, bookkeeping the source needs, and run statistics.
//!
//! Item layout (partition key `pk`, e.g. `transmit#cis`):
//! `cursor` S, `version` N, `lease_owner` S, `lease_until_ms` N, `meta` M (string values),
//! `events_landed_total` N, `newest_event_time` S, `cursor_updated_at` S, `last_run_*`.
//! The table's TTL attribute is `expires_at`; stream items never set it, so they are never expired.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValue,
    ScalarAttributeType,
};
use chrono::{DateTime, Utc};

use crate::record::rfc3339;

pub const PARTITION_KEY: &str = "pk";
pub const TTL_ATTRIBUTE: &str = "expires_at";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another run changed the stream since we read it, or took over an expired lease. Not a crash: the caller
    /// logs it and stops without advancing anything.
    #[error("state of {stream} changed under us (expected version {expected} held by {owner}); nothing was advanced")]
    LostRace {
        stream: String,
        expected: u64,
        owner: String,
    },
    #[error("DynamoDB {operation} on {stream} in table {table} failed: {reason}")]
    Dynamo {
        operation: &'static str,
        stream: String,
        table: String,
        reason: String,
    },
    #[error("state item {stream} is malformed: {reason}")]
    Malformed { stream: String, reason: String },
    #[error("refusing to store cursor {cursor:?} for {stream}: {reason}")]
    InvalidCursor {
        stream: String,
        cursor: String,
        reason: &'static str,
    },
}

/// The longest cursor stored. Cursors are sent back to vendors (an SSE `Last-Event-ID` header, a query parameter)
/// on every run, so they stay short and printable.
pub const MAX_CURSOR_LEN: usize = 256;

/// Whether `cursor` may be stored: 1 to [`MAX_CURSOR_LEN`] visible ASCII characters (no spaces or control
/// characters, which a header or URL could not carry back).
pub fn check_cursor(cursor: &str) -> Result<(), &'static str> {
    if cursor.is_empty() {
        return Err("it is empty");
    }
    if cursor.len() > MAX_CURSOR_LEN {
        return Err("it is longer than 256 bytes");
    }
    if !cursor.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("it holds spaces, control or non-ASCII characters");
    }
    Ok(())
}

/// What the table holds for one stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamState {
    pub stream: String,
    pub cursor: Option<String>,
    pub version: u64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub meta: HashMap<String, String>,
    pub events_landed_total: u64,
    pub newest_event_time: Option<String>,
    pub cursor_updated_at: Option<String>,
    pub last_run_started_at: Option<String>,
    pub last_run_finished_at: Option<String>,
    pub last_run_outcome: Option<String>,
    pub last_run_events: Option<u64>,
    pub last_run_error: Option<String>,
    pub last_run_losses: Option<String>,
}

/// A held lease, with the state as of when it was taken (kept current by the store's methods).
#[derive(Debug, Clone)]
pub struct Lease {
    pub owner: String,
    pub until: DateTime<Utc>,
    pub state: StreamState,
}

impl Lease {
    pub fn stream(&self) -> &str {
        &self.state.stream
    }

    pub fn cursor(&self) -> Option<&str> {
        self.state.cursor.as_deref()
    }

    pub fn meta(&self, key: &str) -> Option<&str> {
        self.state.meta.get(key).map(String::as_str)
    }
}

/// Progress to record with a cursor move.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub events: u64,
    /// The newest event time landed so far, RFC 3339.
    pub newest_event_time: Option<String>,
    /// Bookkeeping (`meta.<key>`) written in the same update, e.g. clearing a mark the landing resolves.
    pub meta: Vec<(String, String)>,
}

/// How a run ended, for `last_run_*`.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Bookkeeping keys (`meta.<key>`) the finish write empties.
    pub cleared_meta: &'static [&'static str],
    pub started_at: DateTime<Utc>,
    pub outcome: &'static str,
    pub events: u64,
    pub error: Option<String>,
    /// What a `degraded` run lost, possibly lost or skipped, in words.
    pub losses: Option<String>,
}

/// Either we hold the lease, or someone else does until a given time.
#[derive(Debug)]
pub enum LeaseOutcome {
    Acquired(Box<Lease>),
    HeldByOther {
        owner: String,
        until: Option<DateTime<Utc>>,
    },
}

#[derive(Clone)]
pub struct StateStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn is_conditional_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

impl StateStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        StateStore {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub(crate) fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    /// Creates the table as the infrastructure template defines it (local stack, tests and tools).
    pub async fn create_table(&self) -> Result<(), StateError> {
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(PARTITION_KEY)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("attribute definition is complete"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(PARTITION_KEY)
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("key schema is complete"),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.dynamo_error("CreateTable", "-", &e))
    }

    fn dynamo_error(
        &self,
        operation: &'static str,
        stream: &str,
        error: &(dyn std::error::Error + 'static),
    ) -> StateError {
        StateError::Dynamo {
            operation,
            stream: stream.to_owned(),
            table: self.table.clone(),
            reason: crate::aws::error_text(error),
        }
    }

    /// Takes the stream's lease for `duration` if it is free, expired, or already ours. One round trip, which also
    /// returns the stream's state. A lease held by another run is not an error: the caller says so and exits.
    pub async fn acquire(
        &self,
        stream: &str,
        owner: &str,
        duration: Duration,
    ) -> Result<LeaseOutcome, StateError> {
        let now = Utc::now();
        let until = now + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(stream))
            .update_expression(
                "SET lease_owner = :owner, lease_until_ms = :until, \
                 version = if_not_exists(version, :zero), meta = if_not_exists(meta, :empty)",
            )
            .condition_expression(
                "attribute_not_exists(lease_owner) OR lease_until_ms < :now OR lease_owner = :owner",
            )
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":until", n(until.timestamp_millis()))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":empty", AttributeValue::M(HashMap::new()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => {
                let state = parse_item(stream, output.attributes.unwrap_or_default())?;
                Ok(LeaseOutcome::Acquired(Box::new(Lease {
                    owner: owner.to_owned(),
                    until,
                    state,
                })))
            }
            Err(e) if is_conditional_failure(&e) => {
                let current = self.load(stream).await?.unwrap_or_default();
                Ok(LeaseOutcome::HeldByOther {
                    owner: current.lease_owner.unwrap_or_else(|| "unknown".to_owned()),
                    until: current.lease_until,
                })
            }
            Err(e) => Err(self.dynamo_error("UpdateItem(acquire)", stream, &e)),
        }
    }

    /// Extends the lease `owner` holds on `stream` to `duration` from now (the run's heartbeat). Fails with
    /// [`StateError::LostRace`] when `owner` no longer holds it.
    pub async fn renew(
        &self,
        stream: &str,
        owner: &str,
        duration: Duration,
    ) -> Result<DateTime<Utc>, StateError> {
        let until =
            Utc::now() + chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(stream))
            .update_expression("SET lease_until_ms = :until")
            .condition_expression("lease_owner = :owner")
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":until", n(until.timestamp_millis()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(until),
            Err(e) if is_conditional_failure(&e) => Err(StateError::LostRace {
                stream: stream.to_owned(),
                expected: 0,
                owner: owner.to_owned(),
            }),
            Err(e) => Err(self.dynamo_error("UpdateItem(renew)", stream, &e)),
        }
    }

    /// Gives the lease back without recording a run (operations that are not collection runs).
    pub async fn release(&self, lease: Lease) -> Result<(), StateError> {
        let result = self
            .held_update(&lease)
            .update_expression("REMOVE lease_owner, lease_until_ms")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(self.lost_race(&lease)),
            Err(e) => Err(self.dynamo_error("UpdateItem(release)", lease.stream(), &e)),
        }
    }

    fn lost_race(&self, lease: &Lease) -> StateError {
        StateError::LostRace {
            stream: lease.stream().to_owned(),
            expected: lease.state.version,
            owner: lease.owner.clone(),
        }
    }

    /// Records landed progress and, when given, moves the cursor. Conditional on the version we last saw and on
    /// still holding the lease, so a run that lost its lease can never move a cursor. Call only after the data
    /// the cursor covers has landed.
    pub async fn advance(
        &self,
        lease: &mut Lease,
        cursor: Option<&str>,
        progress: &Progress,
    ) -> Result<(), StateError> {
        let mut sets = vec!["version = version + :one", "cursor_updated_at = :now"];
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(lease.stream()))
            .condition_expression("version = :version AND lease_owner = :owner")
            .expression_attribute_values(":version", n(lease.state.version))
            .expression_attribute_values(":owner", s(&lease.owner))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", s(rfc3339(Utc::now())))
            .expression_attribute_values(":events", n(progress.events));
        if let Some(cursor) = cursor {
            check_cursor(cursor).map_err(|reason| StateError::InvalidCursor {
                stream: lease.stream().to_owned(),
                cursor: cursor.chars().take(80).collect(),
                reason,
            })?;
            sets.push("#cursor = :cursor");
            request = request
                .expression_attribute_names("#cursor", "cursor")
                .expression_attribute_values(":cursor", s(cursor));
        }
        if let Some(newest) = &progress.newest_event_time {
            // Keep the newest time seen across runs: an older batch (late events) must not move it backwards.
            let keep_newest = match &lease.state.newest_event_time {
                Some(previous) if previous.as_str() > newest.as_str() => previous.clone(),
                _ => newest.clone(),
            };
            sets.push("newest_event_time = :newest");
            request = request.expression_attribute_values(":newest", s(keep_newest));
        }
        let meta_sets: Vec<String> = (0..progress.meta.len())
            .map(|i| format!("#meta.#mk{i} = :mv{i}"))
            .collect();
        if !progress.meta.is_empty() {
            request = request.expression_attribute_names("#meta", "meta");
        }
        for (i, (key, value)) in progress.meta.iter().enumerate() {
            request = request
                .expression_attribute_names(format!("#mk{i}"), key)
                .expression_attribute_values(format!(":mv{i}"), s(value));
        }
        sets.extend(meta_sets.iter().map(String::as_str));
        let update = format!("SET {} ADD events_landed_total :events", sets.join(", "));
        self.update_held(
            lease,
            request.update_expression(update),
            "UpdateItem(advance)",
        )
        .await
    }

    /// An update of `lease`'s item, conditional on still holding it.
    fn held_update(
        &self,
        lease: &Lease,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(lease.stream()))
            .condition_expression("lease_owner = :owner")
            .expression_attribute_values(":owner", s(&lease.owner))
    }

    /// Sends a conditional update of a held stream and keeps the lease's state current with what it wrote.
    async fn update_held(
        &self,
        lease: &mut Lease,
        request: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
        operation: &'static str,
    ) -> Result<(), StateError> {
        match request.return_values(ReturnValue::AllNew).send().await {
            Ok(output) => {
                lease.state = parse_item(lease.stream(), output.attributes.unwrap_or_default())?;
                Ok(())
            }
            Err(e) if is_conditional_failure(&e) => Err(self.lost_race(lease)),
            Err(e) => Err(self.dynamo_error(operation, lease.stream(), &e)),
        }
    }

    /// Sets bookkeeping values (`meta.<key>`), conditional on holding the lease.
    pub async fn set_meta(
        &self,
        lease: &mut Lease,
        values: &[(&str, &str)],
    ) -> Result<(), StateError> {
        if values.is_empty() {
            return Ok(());
        }
        let mut request = self
            .held_update(lease)
            .expression_attribute_names("#meta", "meta");
        let mut sets = Vec::new();
        for (i, (key, value)) in values.iter().enumerate() {
            sets.push(format!("#meta.#k{i} = :v{i}"));
            request = request
                .expression_attribute_names(format!("#k{i}"), *key)
                .expression_attribute_values(format!(":v{i}"), s(*value));
        }
        let request = request.update_expression(format!("SET {}", sets.join(", ")));
        self.update_held(lease, request, "UpdateItem(meta)").await
    }

    /// Records how the run ended and releases the lease in one write. If the lease was lost meanwhile, nothing
    /// is written (the other run owns the item now).
    pub async fn finish(&self, lease: Lease, summary: &RunSummary) -> Result<(), StateError> {
        let mut request = self
            .held_update(&lease)
            .expression_attribute_values(":started", s(rfc3339(summary.started_at)))
            .expression_attribute_values(":finished", s(rfc3339(Utc::now())))
            .expression_attribute_values(":outcome", s(summary.outcome))
            .expression_attribute_values(":events", n(summary.events));
        let mut update = "SET last_run_started_at = :started, last_run_finished_at = :finished, \
                          last_run_outcome = :outcome, last_run_events = :events"
            .to_owned();
        if !summary.cleared_meta.is_empty() {
            request = request
                .expression_attribute_names("#meta", "meta")
                .expression_attribute_values(":cleared", s(""));
            for (i, key) in summary.cleared_meta.iter().enumerate() {
                update.push_str(&format!(", #meta.#c{i} = :cleared"));
                request = request.expression_attribute_names(format!("#c{i}"), *key);
            }
        }
        let mut removes = vec!["lease_owner", "lease_until_ms"];
        for (attribute, value) in [
            ("last_run_error", &summary.error),
            ("last_run_losses", &summary.losses),
        ] {
            match value {
                Some(text) => {
                    update.push_str(&format!(", {attribute} = :{attribute}"));
                    request = request
                        .expression_attribute_values(format!(":{attribute}"), s(text.as_str()));
                }
                None => removes.push(attribute),
            }
        }
        update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        match request.update_expression(update).send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(self.lost_race(&lease)),
            Err(e) => Err(self.dynamo_error("UpdateItem(finish)", lease.stream(), &e)),
        }
    }

    /// The stream's state, read consistently; `None` if the stream has never run.
    pub async fn load(&self, stream: &str) -> Result<Option<StreamState>, StateError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(stream))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.dynamo_error("GetItem", stream, &e))?;
        output.item.map(|item| parse_item(stream, item)).transpose()
    }

    /// Every stream in the table (status tools).
    pub async fn list(&self) -> Result<Vec<StreamState>, StateError> {
        let mut states = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.dynamo_error("Scan", "*", &e))?;
            for item in output.items.unwrap_or_default() {
                let stream = item
                    .get(PARTITION_KEY)
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                states.push(parse_item(&stream, item)?);
            }
            start = output.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        states.sort_by(|a, b| a.stream.cmp(&b.stream));
        Ok(states)
    }
}

fn parse_item(
    stream: &str,
    item: HashMap<String, AttributeValue>,
) -> Result<StreamState, StateError> {
    let malformed = |reason: String| StateError::Malformed {
        stream: stream.to_owned(),
        reason,
    };
    let string = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    let number = |name: &str| -> Result<Option<u64>, StateError> {
        match item.get(name) {
            None => Ok(None),
            Some(AttributeValue::N(text)) => text
                .parse::<u64>()
                .map(Some)
                .map_err(|e| malformed(format!("{name}={text:?}: {e}"))),
            Some(other) => Err(malformed(format!("{name} is not a number: {other:?}"))),
        }
    };
    let meta = match item.get("meta") {
        Some(AttributeValue::M(map)) => map
            .iter()
            .filter_map(|(k, v)| v.as_s().ok().map(|v| (k.clone(), v.clone())))
            .collect(),
        _ => HashMap::new(),
    };
    Ok(StreamState {
        stream: stream.to_owned(),
        cursor: string("cursor"),
        version: number("version")?.unwrap_or(0),
        lease_owner: string("lease_owner"),
        lease_until: number("lease_until_ms")?
            .and_then(|ms| DateTime::from_timestamp_millis(ms as i64)),
        meta,
        events_landed_total: number("events_landed_total")?.unwrap_or(0),
        newest_event_time: string("newest_event_time"),
        cursor_updated_at: string("cursor_updated_at"),
        last_run_started_at: string("last_run_started_at"),
        last_run_finished_at: string("last_run_finished_at"),
        last_run_outcome: string("last_run_outcome"),
        last_run_events: number("last_run_events")?,
        last_run_error: string("last_run_error"),
        last_run_losses: string("last_run_losses"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_that_could_not_be_sent_back_are_refused() {
        assert!(check_cursor("2026-11-21T00:00:00Z").is_ok());
        assert!(check_cursor("0190cd04-9520-7120-8a5e-a8866b8eca40").is_ok());
        assert!(check_cursor("").is_err());
        assert!(check_cursor("a\r\nX-Injected: 1").is_err());
        assert!(check_cursor("with space").is_err());
        assert!(check_cursor(&"x".repeat(257)).is_err());
        assert!(check_cursor(&"x".repeat(256)).is_ok());
    }
}
