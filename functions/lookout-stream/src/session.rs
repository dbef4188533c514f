//! One bounded session on the event stream: connect from the last landed id, read frames,
//! land every N events or T seconds, advance the checkpoint after each landing, reconnect when
//! the server says so or goes silent, and stop — after a last landing and checkpoint — before
//! the deadline.
//!
//! Exactly once in S3 rests on three things: the checkpoint only moves after the events it
//! covers have landed; objects are named after the first event of each partition, so a session
//! that replays from the same checkpoint overwrites what a crashed one wrote; and events whose
//! id was already read are skipped when the server resends them (an event the mapping refuses is
//! known by its own id too, when it has one).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use tributary_shared::deadline::{Deadline, RoundTrips};
use tributary_shared::landing::batch::CompressedBatch;
use tributary_shared::landing::{LandError, LandReport, LandedUnparsed, ObjectNaming};
use tributary_shared::metrics::names;
use tributary_shared::record::Unparsed;
use tributary_shared::run::events::SkippedEvents;
use tributary_shared::run::{CheckpointError, Run};

use crate::client::{ClientError, LookoutClient, Resume};
use crate::config::LookoutConfig;
use crate::malformed::{self, Attempts};
use crate::mapping::{self, Provenance, VENDOR};
use crate::recent::RecentIds;
use crate::sse::{Frame, Parser};

/// How many recent event ids are remembered to drop repeats (about 100 bytes each).
const RECENT_IDS: usize = 10_000;

/// Metrics beyond the shared names.
pub mod metric {
    pub const RECONNECTS: &str = "Reconnects";
    pub const HEARTBEAT_TIMEOUTS: &str = "HeartbeatTimeouts";
    pub const DUPLICATES_SKIPPED: &str = "DuplicatesSkipped";
    pub const TOKEN_REFRESHES: &str = "TokenRefreshes";
    /// `events` frames that did not parse, every time one arrived (a resent one counts again).
    pub const MALFORMED_FRAMES: &str = "MalformedFrames";
    /// Malformed frames given up on after the configured attempts (their events are `SkippedEvents`).
    pub const MALFORMED_FRAMES_SKIPPED: &str = "MalformedFramesSkipped";

    use tributary_shared::metrics::Unit;

    /// Emitted on every run, zeros included.
    pub const ALL: &[(&str, Unit)] = &[
        (RECONNECTS, Unit::Count),
        (HEARTBEAT_TIMEOUTS, Unit::Count),
        (DUPLICATES_SKIPPED, Unit::Count),
        (TOKEN_REFRESHES, Unit::Count),
        (MALFORMED_FRAMES, Unit::Count),
        (MALFORMED_FRAMES_SKIPPED, Unit::Count),
    ];
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Land(#[from] LandError),
    #[error(transparent)]
    Checkpoint(CheckpointError),
    #[error("reading the unparsed events an earlier session landed: {0}")]
    ReadBack(String),
    #[error("Lookout answered 401 again with a freshly issued token: {0}")]
    StillUnauthorized(String),
    #[error(
        "the stream failed {failures} times in a row without delivering an event; last: {last}"
    )]
    Unreachable { failures: u32, last: String },
    #[error("the session never got an answer from Lookout ({attempts} attempts); last: {last}")]
    NeverConnected { attempts: u32, last: String },
}

/// Why the session ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Out of time: the Lambda deadline (minus the margin) or the configured session length.
    Deadline,
    /// No event for the configured idle time.
    Idle,
    /// Another run took the lease; nothing more was advanced.
    LostLease,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Deadline => "deadline",
            Stop::Idle => "idle",
            Stop::LostLease => "lost_lease",
        }
    }
}

/// What a session did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub events: u64,
    pub unparsed: u64,
    pub objects: u64,
    pub flushes: u64,
    pub connections: u64,
    pub duplicates: u64,
    /// Unparsed events read again that an earlier session had landed (left out).
    pub unparsed_landed_before: u64,
    /// The checkpoint at the end.
    pub cursor: Option<String>,
    pub stop: Option<Stop>,
}

/// How one connection ended.
enum ConnectionEnd {
    /// `reconnect` or `end` from the server, with its `retry`.
    Asked {
        event: String,
        retry: Option<Duration>,
    },
    /// The server closed the body.
    Closed,
    /// The connection broke (mid-frame or otherwise).
    Broken(String),
    /// Nothing arrived for twice the heartbeat interval.
    Silent,
    /// An `events` frame did not parse: reconnect from the last good id so the server sends it again.
    Malformed,
    Stop(Stop),
}

pub struct Session<'a, 'r> {
    config: &'a LookoutConfig,
    client: &'a LookoutClient,
    run: &'a mut Run<'r>,
    stream: &'a str,
    deadline: Deadline,
    /// The checkpoint in the state table.
    committed: Option<String>,
    /// The id of the last frame read: where a reconnect resumes.
    received: Option<String>,
    /// Recent event ids, to drop exact repeats a server sends again after a reconnect.
    recent: RecentIds,
    /// Malformed frames after the current resume point.
    malformed: Attempts,
    /// Where a stream without a checkpoint starts, persisted by the run cycle so neither a reconnect nor a
    /// failed first run moves it.
    first_since: Option<DateTime<Utc>>,
    /// Failed attempts to open the stream, and the last failure, for a session that never got an answer.
    open_failures: u32,
    last_failure: Option<String>,
    /// What was read since the last landing, already compressed: a few hundred bytes an event, where the records
    /// themselves would take some 8 KiB each until they land.
    batch: CompressedBatch,
    /// Unparsed events read since the last landing. They are filed by the hour they land in, so a session that
    /// replays what an earlier one landed (it failed or was killed before its checkpoint) would land them twice;
    /// they are held until the landing, where those that landed already are left out.
    pending_unparsed: Vec<Unparsed>,
    /// The unparsed events earlier sessions landed under this stream in this hour and the hour before, read once,
    /// at the first landing that holds any.
    landed_unparsed: Option<LandedUnparsed>,
    buffered_since: Option<Instant>,
    newest: Option<DateTime<Utc>>,
    /// The server's reconnection time, once it sent one.
    retry: Option<Duration>,
    flush_times: RoundTrips,
    last_event_at: Instant,
    outcome: Outcome,
}

impl<'a, 'r> Session<'a, 'r> {
    pub fn new(
        config: &'a LookoutConfig,
        client: &'a LookoutClient,
        run: &'a mut Run<'r>,
        stream: &'a str,
    ) -> Self {
        let committed = run.cursor().map(str::to_owned);
        let deadline = *run.deadline();
        let deadline = match config.session_limit {
            Some(limit) => deadline.cap(limit),
            None => deadline,
        };
        let batch = new_batch(run, stream);
        Session {
            config,
            client,
            run,
            stream,
            deadline,
            recent: {
                let mut recent = RecentIds::new(RECENT_IDS);
                if let Some(id) = committed.as_deref() {
                    recent.insert(id);
                }
                recent
            },
            malformed: Attempts::default(),
            first_since: None,
            open_failures: 0,
            last_failure: None,
            received: committed.clone(),
            committed,
            batch,
            pending_unparsed: Vec::new(),
            landed_unparsed: None,
            buffered_since: None,
            newest: None,
            retry: None,
            flush_times: RoundTrips::new(Duration::from_millis(500)),
            last_event_at: Instant::now(),
            outcome: Outcome::default(),
        }
    }

    /// Runs the session.
    pub async fn run(mut self) -> Result<Outcome, SessionError> {
        if self.committed.is_none() {
            let lookback =
                chrono::Duration::from_std(self.config.effective_lookback()).unwrap_or_default();
            match self.run.first_start(|| Utc::now() - lookback).await {
                Ok(since) => self.first_since = Some(since),
                Err(error) => return Err(SessionError::Checkpoint(error)),
            }
        }
        let result = match self.run_inner().await {
            // Connected to nothing in the whole session: an unreachable or refusing host is a failure, not a quiet
            // stream.
            Ok(stop) if stop != Stop::LostLease && self.outcome.connections == 0 => {
                Err(SessionError::NeverConnected {
                    attempts: self.open_failures,
                    last: self
                        .last_failure
                        .clone()
                        .unwrap_or_else(|| "no attempt fitted in the time budget".to_owned()),
                })
            }
            other => other,
        };
        let result = match result {
            Ok(stop) => Ok(stop),
            // Whatever went wrong, what was read and not landed is landed now, so the next run
            // does not have to read it again.
            Err(error) => match self.flush().await {
                Ok(_) => Err(error),
                Err(flush_error) => {
                    tracing::error!(message = "Final landing after an error failed too.", error = %flush_error);
                    Err(error)
                }
            },
        };
        result.map(|stop| {
            self.outcome.stop = Some(stop);
            self.outcome.cursor = self.committed.clone();
            self.outcome.clone()
        })
    }

    async fn run_inner(&mut self) -> Result<Stop, SessionError> {
        let mut parser = Parser::default();
        let mut failures: u32 = 0;
        loop {
            if let Some(stop) = self.stop_due() {
                return self.finish(stop).await;
            }
            let resume = match &self.received {
                Some(id) => Resume::After(id.clone()),
                None => Resume::Since(self.first_since.unwrap_or_else(Utc::now)),
            };
            let delay = match self.open(&resume).await {
                Ok(response) => {
                    self.outcome.connections += 1;
                    let events_before = self.outcome.events + self.batch.events() as u64;
                    parser.reset();
                    let end = self.read(response, &mut parser).await?;
                    if self.outcome.events + self.batch.events() as u64 > events_before {
                        failures = 0;
                    }
                    match end {
                        ConnectionEnd::Stop(stop) => return self.finish(stop).await,
                        ConnectionEnd::Asked { event, retry } => {
                            tracing::info!(message = "Server asked to reconnect.", event = %event, retry_ms = retry.map(|r| r.as_millis() as u64));
                            retry.or(self.retry).unwrap_or(self.config.reconnect_delay)
                        }
                        ConnectionEnd::Closed => {
                            failures += 1;
                            tracing::warn!(
                                message = "Server closed the stream.",
                                partial_frame = parser.has_partial()
                            );
                            self.backoff(failures)
                        }
                        ConnectionEnd::Broken(error) => {
                            failures += 1;
                            tracing::warn!(message = "Stream broke; reconnecting from the last complete frame.", error = %error, partial_frame = parser.has_partial());
                            self.check_failures(failures, &error)?;
                            self.backoff(failures)
                        }
                        ConnectionEnd::Malformed => {
                            self.retry.unwrap_or(self.config.reconnect_delay)
                        }
                        ConnectionEnd::Silent => {
                            failures += 1;
                            self.run.metrics().count(metric::HEARTBEAT_TIMEOUTS, 1);
                            tracing::warn!(
                                message = "No heartbeat; dropping the connection.",
                                silent_ms = (self.config.heartbeat * 2).as_millis() as u64
                            );
                            self.backoff(failures)
                        }
                    }
                }
                Err(SessionError::Client(error)) if retryable(&error) => {
                    failures += 1;
                    let text = error.to_string();
                    self.open_failures += 1;
                    self.last_failure = Some(text.clone());
                    self.check_failures(failures, &text)?;
                    tracing::warn!(message = "Could not open the stream; trying again.", error = %text, failures);
                    self.backoff(failures)
                }
                Err(error) => return Err(error),
            };
            self.check_failures(failures, "the stream keeps ending without events")?;
            self.run.metrics().count(metric::RECONNECTS, 1);
            // Wait, but land what is due meanwhile and never past the stop point.
            let until = Instant::now() + delay;
            while Instant::now() < until {
                if self.stop_due().is_some() {
                    break;
                }
                let wake = [
                    Some(until),
                    self.flush_due_at(),
                    Some(self.stop_reading_at()),
                ]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(until);
                tokio::time::sleep_until(wake.into()).await;
                if self.flush_due_at().is_some_and(|at| at <= Instant::now()) {
                    if let Some(stop) = self.flush().await? {
                        return Ok(stop);
                    }
                }
            }
        }
    }

    fn check_failures(&self, failures: u32, last: &str) -> Result<(), SessionError> {
        if failures > self.config.max_failed_reconnects {
            return Err(SessionError::Unreachable {
                failures,
                last: last.to_owned(),
            });
        }
        Ok(())
    }

    /// Exponential, jittered, from the reconnect delay, at most 30 s.
    fn backoff(&self, failures: u32) -> Duration {
        let base = self
            .retry
            .unwrap_or(self.config.reconnect_delay)
            .max(Duration::from_millis(50));
        let ceiling = base
            .saturating_mul(1 << failures.saturating_sub(1).min(6))
            .min(Duration::from_secs(30));
        ceiling / 2 + Duration::from_millis(fastrand::u64(0..=ceiling.as_millis() as u64 / 2))
    }

    async fn finish(&mut self, stop: Stop) -> Result<Stop, SessionError> {
        if stop == Stop::LostLease {
            return Ok(stop);
        }
        Ok(self.flush().await?.unwrap_or(stop))
    }

    /// Opens a connection, refreshing the token once if the server answers 401.
    async fn open(&self, resume: &Resume) -> Result<reqwest::Response, SessionError> {
        let metrics = self.run.metrics();
        let mut refreshed = false;
        loop {
            let token = self.client.token(&self.deadline, metrics).await?;
            match self
                .client
                .connect(resume, &token, &self.deadline, metrics)
                .await
            {
                Err(ClientError::Unauthorized { detail }) if refreshed => {
                    return Err(SessionError::StillUnauthorized(detail))
                }
                Err(ClientError::Unauthorized { detail }) => {
                    tracing::info!(message = "Access token refused; fetching a new one.", detail = %detail);
                    metrics.count(metric::TOKEN_REFRESHES, 1);
                    self.client.invalidate_token().await;
                    refreshed = true;
                }
                other => return Ok(other?),
            }
        }
    }

    /// When reading must stop so the last landing still fits before the deadline.
    fn stop_reading_at(&self) -> Instant {
        Instant::now()
            + self
                .deadline
                .remaining()
                .saturating_sub(self.flush_times.estimate())
    }

    fn stop_due(&mut self) -> Option<Stop> {
        if self.run.lease_lost() {
            return Some(Stop::LostLease);
        }
        if self.deadline.remaining() <= self.flush_times.estimate() {
            return Some(Stop::Deadline);
        }
        if self
            .config
            .idle_stop
            .is_some_and(|idle| self.last_event_at.elapsed() >= idle)
        {
            return Some(Stop::Idle);
        }
        None
    }

    fn flush_due_at(&self) -> Option<Instant> {
        self.buffered_since
            .map(|since| since + self.config.flush_interval)
    }

    async fn read(
        &mut self,
        mut response: reqwest::Response,
        parser: &mut Parser,
    ) -> Result<ConnectionEnd, SessionError> {
        let silence_limit = self.config.heartbeat * 2;
        let mut last_bytes = Instant::now();
        loop {
            if let Some(stop) = self.stop_due() {
                return Ok(ConnectionEnd::Stop(stop));
            }
            let silence_at = last_bytes + silence_limit;
            let idle_at = self.config.idle_stop.map(|idle| self.last_event_at + idle);
            let wake = [
                Some(silence_at),
                self.flush_due_at(),
                Some(self.stop_reading_at()),
                idle_at,
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(silence_at);
            match tokio::time::timeout_at(wake.into(), response.chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    last_bytes = Instant::now();
                    if let Err(error) = parser.push(&chunk) {
                        self.run.metrics().count(names::ERRORS, 1);
                        return Ok(ConnectionEnd::Broken(error.to_string()));
                    }
                    while let Some(frame) = parser.next_frame() {
                        if let Some(end) = self.on_frame(frame) {
                            return Ok(end);
                        }
                    }
                    if self.buffered_lines() >= self.config.flush_events {
                        if let Some(stop) = self.flush().await? {
                            return Ok(ConnectionEnd::Stop(stop));
                        }
                        last_bytes = Instant::now();
                    }
                }
                Ok(Ok(None)) => return Ok(ConnectionEnd::Closed),
                Ok(Err(error)) => {
                    return Ok(ConnectionEnd::Broken(tributary_shared::aws::error_text(
                        &error,
                    )))
                }
                Err(_) => {
                    if self.flush_due_at().is_some_and(|at| at <= Instant::now()) {
                        if let Some(stop) = self.flush().await? {
                            return Ok(ConnectionEnd::Stop(stop));
                        }
                        // Landing is not the server's silence.
                        last_bytes = last_bytes.max(Instant::now() - silence_limit / 2);
                    }
                    if last_bytes.elapsed() >= silence_limit {
                        return Ok(ConnectionEnd::Silent);
                    }
                }
            }
        }
    }

    /// Handles one frame; `Some` ends the connection.
    fn on_frame(&mut self, frame: Frame) -> Option<ConnectionEnd> {
        let retry = frame.retry.map(Duration::from_millis);
        if retry.is_some() {
            self.retry = retry;
        }
        match frame.event_type() {
            "heartbeat" => None,
            "reconnect" | "end" => Some(ConnectionEnd::Asked {
                event: frame.event_type().to_owned(),
                retry,
            }),
            // A frame without `event:` is a `message`; if it carries data, read it as events
            // rather than lose it.
            "events" | "message" if frame.has_data => self.on_events(frame),
            other => {
                tracing::debug!(message = "Ignoring a frame of unknown type.", event = other);
                None
            }
        }
    }

    /// Reads one `events` frame; `Some` when it did not parse and must be sent again.
    fn on_events(&mut self, frame: Frame) -> Option<ConnectionEnd> {
        self.run.metrics().count(names::PAGES, 1);
        let frame_id = frame
            .id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty());
        let provenance = Provenance {
            stream: self.stream,
            cursor: frame_id,
        };
        let mut last_id: Option<String> = None;
        let before = self.buffered_lines();
        match mapping::parse_payload(&frame.data) {
            Ok(events) => {
                for raw in events {
                    match mapping::map_event(raw, provenance) {
                        Ok(record) => {
                            if !self.recent.insert(&record.id) {
                                self.outcome.duplicates += 1;
                                self.run.metrics().count(metric::DUPLICATES_SKIPPED, 1);
                                continue;
                            }
                            last_id = Some(record.id.clone());
                            self.newest = self.newest.max(Some(record.timestamp));
                            self.batch.push(&record);
                        }
                        Err(error) => {
                            let (item, named) =
                                unmappable(raw, &error.to_string(), self.stream, frame_id);
                            if named && !self.recent.insert(&item.id()) {
                                self.outcome.duplicates += 1;
                                self.run.metrics().count(metric::DUPLICATES_SKIPPED, 1);
                                continue;
                            }
                            tracing::warn!(message = "Event could not be mapped; landing it as unparsed.", error = %error, sse_id = frame_id);
                            self.pending_unparsed.push(item);
                        }
                    }
                }
            }
            Err(error) => {
                self.run.metrics().count(names::ERRORS, 1);
                self.run.metrics().count(metric::MALFORMED_FRAMES, 1);
                let attempts = self.malformed.failed_at(self.received.as_deref());
                if attempts < self.config.malformed_retries {
                    // Never commit past it: from the last good id, the server sends the same batch again.
                    tracing::warn!(
                        message = "Malformed events frame; reconnecting from the last good id to have it sent again.",
                        error = %error,
                        sse_id = frame_id,
                        resume_after = self.received.as_deref().unwrap_or(""),
                        attempt = attempts,
                        attempts_allowed = self.config.malformed_retries
                    );
                    return Some(ConnectionEnd::Malformed);
                }
                self.skip_malformed(&frame.data, &error.to_string(), frame_id, attempts);
            }
        }
        if self.buffered_lines() > before {
            self.last_event_at = Instant::now();
        }
        // The frame's id names its last event; without one, the last event's own id will do.
        if let Some(id) = frame_id.map(str::to_owned).or(last_id) {
            self.advance_received(id);
        }
        if self.buffered_since.is_none()
            && (self.received != self.committed || !self.pending_unparsed.is_empty())
        {
            self.buffered_since = Some(Instant::now());
        }
        None
    }

    /// Gives up on a frame that failed to parse `attempts` times after the same resume point: its raw text lands
    /// under `_unparsed`, its events (where the frame lets them be counted) are reported skipped, and reading goes
    /// on past it.
    fn skip_malformed(&mut self, data: &str, error: &str, frame_id: Option<&str>, attempts: u32) {
        self.run
            .metrics()
            .count(metric::MALFORMED_FRAMES_SKIPPED, 1);
        let counted = malformed::count_events(data);
        let reason = format!(
            "a malformed events frame (id {}) failed to parse {attempts} times and was skipped; {}, its raw text \
             is under _unparsed",
            frame_id.unwrap_or("none"),
            match counted {
                Some(n) => format!("it carried {n} events"),
                None => "the events in it could not be counted".to_owned(),
            }
        );
        self.run.emit(SkippedEvents {
            stream: self.stream,
            count: counted.unwrap_or(0),
            reason: &reason,
        });
        self.pending_unparsed
            .push(unparsed(data, error, self.stream, frame_id));
    }

    /// Events and unparsed events read since the last landing.
    fn buffered_lines(&self) -> usize {
        self.batch.lines() + self.pending_unparsed.len()
    }

    /// Moves the resume point forward, never back: a frame numbered before what was already read
    /// (a server replaying) must not rewind it.
    ///
    /// An id that could not be sent back (control characters, absurd length: see
    /// [`tributary_shared::state::check_cursor`]) is never a resume point: the session keeps the last good one, so a
    /// reconnect may replay a frame, which the repeat filter absorbs.
    fn advance_received(&mut self, id: String) {
        if let Err(reason) = tributary_shared::state::check_cursor(&id) {
            self.run.metrics().count(names::ERRORS, 1);
            tracing::warn!(
                message = "Ignoring an event id that cannot be a resume point.",
                stream = self.stream,
                id = %id.chars().take(80).collect::<String>(),
                reason
            );
            return;
        }
        let older = match (uuid_v7(&id), self.received.as_deref().and_then(uuid_v7)) {
            (Some(new), Some(current)) => new < current,
            _ => false,
        };
        if !older {
            self.received = Some(id);
        }
    }

    /// Lands what is buffered, then advances the checkpoint. `Some(LostLease)` when another run
    /// holds the stream now.
    async fn flush(&mut self) -> Result<Option<Stop>, SessionError> {
        if self.batch.is_empty()
            && self.pending_unparsed.is_empty()
            && self.received == self.committed
        {
            self.buffered_since = None;
            return Ok(None);
        }
        let started = Instant::now();
        let batch = std::mem::replace(&mut self.batch, new_batch(self.run, self.stream));
        let unparsed = std::mem::take(&mut self.pending_unparsed);
        let report = match self.land(batch, &unparsed).await {
            Ok(report) => report,
            Err(error) => {
                // The batch is gone with its failed landing, so what was read since the checkpoint exists only in
                // the stream now: never checkpoint past it (not even by the last landing after this error). The
                // next session reads it again from the checkpoint and overwrites whatever of it did land.
                self.received = self.committed.clone();
                return Err(error);
            }
        };
        let cursor = self.received.clone();
        match self
            .run
            .checkpoint(&report, cursor.as_deref(), self.newest)
            .await
        {
            Ok(()) => {}
            Err(CheckpointError::LeaseLost) => return Ok(Some(Stop::LostLease)),
            Err(error) => return Err(SessionError::Checkpoint(error)),
        }
        // Time spent landing is not the stream being idle: a slow flush must not end the session as idle.
        self.last_event_at += started.elapsed();
        self.outcome.events += report.events as u64;
        self.outcome.unparsed += report.unparsed as u64;
        self.outcome.unparsed_landed_before += report.unparsed_landed_before as u64;
        self.outcome.objects += report.objects.len() as u64;
        self.outcome.flushes += 1;
        self.committed = cursor;
        self.buffered_since = None;
        self.flush_times.observe(started.elapsed());
        Ok(None)
    }

    /// Lands `batch` with those of `unparsed` that no earlier session landed.
    async fn land(
        &mut self,
        mut batch: CompressedBatch,
        unparsed: &[Unparsed],
    ) -> Result<LandReport, SessionError> {
        let mut landed_before = 0;
        if !unparsed.is_empty() {
            let landed = match &self.landed_unparsed {
                Some(landed) => landed,
                None => {
                    let landed = self
                        .run
                        .lander()
                        .unparsed_landed_near(VENDOR, self.stream, Utc::now())
                        .await
                        .map_err(SessionError::ReadBack)?;
                    self.landed_unparsed.insert(landed)
                }
            };
            for item in unparsed {
                if landed.contains(item) {
                    landed_before += 1;
                } else {
                    batch.push_unparsed(item);
                }
            }
            if landed_before > 0 {
                tracing::info!(
                    message =
                        "Unparsed events read again had landed before; they are not landed twice.",
                    stream = self.stream,
                    events = landed_before
                );
            }
        }
        let mut report = batch.land().await?;
        report.unparsed_landed_before = landed_before;
        Ok(report)
    }
}

/// An empty batch for what the session reads next, named by first event: a session that resumes from the same
/// checkpoint meets the same first event of each partition again and overwrites what a crashed one wrote there.
fn new_batch(run: &Run<'_>, stream: &str) -> CompressedBatch {
    run.lander().batch(ObjectNaming::FirstEvent { tag: stream })
}

/// An event the mapping refused, as an unparsed item, and whether it names itself. One that does (Lookout's `id`) is
/// known by its own id, not by the frame that carried it: a server resending it after a reconnect, or a replay from
/// an older checkpoint, may carry it in another frame, and it must keep its unparsed id to be known as a repeat.
fn unmappable(raw: &RawValue, error: &str, stream: &str, sse_id: Option<&str>) -> (Unparsed, bool) {
    match mapping::own_id(raw) {
        Some(id) => (
            Unparsed::new(VENDOR, raw.get(), error)
                .with_context("stream", stream)
                .with_context("event_id", id),
            true,
        ),
        None => (unparsed(raw.get(), error, stream, sse_id), false),
    }
}

fn unparsed(raw: &str, error: &str, stream: &str, sse_id: Option<&str>) -> Unparsed {
    let item = Unparsed::new(VENDOR, raw, error).with_context("stream", stream);
    match sse_id {
        Some(id) => item.with_context("cursor", id),
        None => item,
    }
}

/// Failures worth another connection attempt (the server or the network), as opposed to a
/// refusal that will not change (a bad key, a rejected parameter).
fn retryable(error: &ClientError) -> bool {
    matches!(
        error,
        ClientError::Http(_) | ClientError::ConnectTimeout { .. }
    )
}

/// The id as a number, if it is a UUIDv7 (time-ordered, so comparable); other ids compare as
/// nothing and are never dropped as repeats.
pub fn uuid_v7(id: &str) -> Option<u128> {
    let mut value: u128 = 0;
    let mut digits = 0;
    for c in id.trim().chars() {
        if c == '-' {
            continue;
        }
        value = (value << 4) | c.to_digit(16)? as u128;
        digits += 1;
        if digits > 32 {
            return None;
        }
    }
    (digits == 32 && (value >> 76) & 0xF == 7).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_version_7_uuids_compare() {
        let a = uuid_v7("0190cd04-9520-7120-8a5e-a8866b8eca40").unwrap();
        let b = uuid_v7("0190ec04-a5f0-731e-bb68-a9b89d37669f").unwrap();
        assert!(a < b);
        assert_eq!(uuid_v7("f3511385-2d2b-4c8e-8000-000000000001"), None);
        assert_eq!(uuid_v7("0"), None);
        assert_eq!(uuid_v7("not-a-uuid"), None);
    }
}
