//! The simulator's state: the event log, issued tokens, switches, queued faults and counters.
//! Tests hold a [`LookoutHandle`] and change it directly; the demo changes it over `/_sim/...`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

use super::events::{self, Body, Entry, EventType, IdGen};
use super::wire::{Malformed, WireMode};

/// The application key the simulator accepts unless told otherwise.
pub const DEFAULT_APP_KEY: &str = "sim-lookout-application-key";

/// Start-up options.
#[derive(Debug, Clone)]
pub struct LookoutOptions {
    /// Application keys accepted by `POST /oauth2/token`.
    pub app_keys: Vec<String>,
    pub enterprise_guid: String,
    pub settings: Settings,
}

impl Default for LookoutOptions {
    fn default() -> Self {
        LookoutOptions {
            app_keys: vec![DEFAULT_APP_KEY.to_string()],
            enterprise_guid: "680d9d84-ad0e-4706-b008-09e358df72b4".to_string(),
            settings: Settings::default(),
        }
    }
}

/// Switches that can change at any time; a connection reads them as it goes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Interval between heartbeats on an idle stream (Lookout: 5 s).
    pub heartbeat_ms: u64,
    /// Most events in one `events` frame.
    pub batch_size: usize,
    /// Pause between two `events` frames (0 = as fast as the client reads).
    pub batch_interval_ms: u64,
    /// Lifetime of issued access tokens, in seconds.
    pub token_ttl_s: u64,
    pub wire: WireMode,
    /// Write each chunk in small random pieces, so frames and lines straddle reads.
    pub fragment: bool,
    /// Send `reconnect` (with `retry_ms`) after this many events on every connection.
    pub reconnect_every: Option<u64>,
    /// The `retry` sent with `reconnect`/`end` from `reconnect_every`.
    pub retry_ms: u64,
    /// Send a `retry:` field before the first frame of every connection.
    pub initial_retry_ms: Option<u64>,
    /// Start every stream with a UTF-8 byte order mark.
    pub bom: bool,
    /// How far back `start_time` may go.
    pub max_lookback_s: i64,
    /// Resume *at* the given id instead of after it, sending that event again (a server that
    /// delivers at least once).
    pub inclusive_resume: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            heartbeat_ms: 5_000,
            batch_size: 50,
            batch_interval_ms: 0,
            token_ttl_s: 7_200,
            wire: WireMode::Lookout,
            fragment: false,
            reconnect_every: None,
            retry_ms: 1_000,
            initial_retry_ms: None,
            bom: false,
            max_lookback_s: 10 * 24 * 3600,
            inclusive_resume: false,
        }
    }
}

/// A partial [`Settings`] update, as posted to `/_sim/settings`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SettingsPatch {
    pub heartbeat_ms: Option<u64>,
    pub batch_size: Option<usize>,
    pub batch_interval_ms: Option<u64>,
    pub token_ttl_s: Option<u64>,
    pub wire: Option<WireMode>,
    pub fragment: Option<bool>,
    pub reconnect_every: Option<Option<u64>>,
    pub retry_ms: Option<u64>,
    pub initial_retry_ms: Option<Option<u64>>,
    pub bom: Option<bool>,
    pub inclusive_resume: Option<bool>,
}

/// What a queued fault does once its connection has sent `after_events` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum FaultAction {
    /// `event:reconnect` + `retry:`, then close.
    Reconnect { retry_ms: u64 },
    /// `event:end` (+ `retry:` if given), then close.
    End { retry_ms: Option<u64> },
    /// Half of the next `events` frame, then the connection is cut.
    DropMidFrame,
    /// Nothing at all, not even heartbeats, for `ms`; then carry on.
    Silence { ms: u64 },
    /// The connection's access token expires and the stream is closed; reconnecting with the
    /// same token gets 401.
    ExpireToken,
    /// One malformed `events` frame, then carry on.
    Malformed { kind: Malformed },
}

/// A fault for a future connection: the next connection to open takes the first one queued;
/// after a fault it survives (silence, an unmappable event, a hostile id) it takes the next one as well. A frame a
/// correct client must reject (bad JSON, not events) ends the connection's faults: the client reconnects, and the
/// next connection takes the next one.
/// `after_events` counts the events sent on that connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Events the connection sends before the fault strikes.
    #[serde(default)]
    pub after_events: u64,
    #[serde(flatten)]
    pub action: FaultAction,
}

impl Fault {
    pub fn after(after_events: u64, action: FaultAction) -> Fault {
        Fault {
            after_events,
            action,
        }
    }
}

/// One stream request, as the simulator saw it.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectRecord {
    pub query: Vec<(String, String)>,
    pub last_event_id: Option<String>,
    pub accept: Option<String>,
    /// The HTTP status answered.
    pub status: u16,
}

impl ConnectRecord {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Counters for tests and the demo.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub token_requests: u64,
    pub tokens_issued: u64,
    pub token_rejections: u64,
    pub connects: Vec<ConnectRecord>,
    pub unauthorized_connects: u64,
    pub events_sent: u64,
    pub frames_sent: u64,
    pub heartbeats_sent: u64,
    pub open_streams: u64,
    pub max_open_streams: u64,
    /// Connections opened before the `retry` delay of a preceding `reconnect`/`end` elapsed.
    pub early_reconnects: u64,
    pub faults_fired: Vec<FaultAction>,
    /// `events` frames sent corrupted by [`LookoutHandle::corrupt_frame_with`].
    pub corrupted_frames_sent: u64,
}

/// The frame carrying one event of the log is sent corrupted: its real `id:`, its data cut off in the middle of its
/// last event, so a client that trusted the `id:` would never see those events again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Corruption {
    /// The event whose frame is corrupted.
    pub id: u128,
    /// How many more times; `None` = every time.
    pub remaining: Option<u32>,
}

/// What `seed` answers.
#[derive(Debug, Clone, Serialize)]
pub struct SeedSummary {
    pub added: u64,
    pub total: u64,
    pub first_id: Option<String>,
    pub last_id: Option<String>,
}

/// Options for generated events.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct GenerateOptions {
    /// Types to cycle through; empty = a realistic mix of all four.
    pub types: Vec<String>,
    /// `created_time` of the first event (RFC 3339); default now minus `count * spacing_ms`,
    /// so the events are in the recent past.
    pub start: Option<String>,
    /// Milliseconds between consecutive events' `created_time`.
    pub spacing_ms: Option<i64>,
}

pub(crate) struct TokenInfo {
    pub expires: Instant,
}

pub(crate) struct Log {
    pub entries: Vec<Entry>,
    ids: IdGen,
    next_seq: u64,
}

pub(crate) struct Control {
    pub settings: Settings,
    pub faults: VecDeque<Fault>,
    pub fail_connects: VecDeque<u16>,
    pub fail_tokens: VecDeque<u16>,
    pub stats: Stats,
    pub reconnect_not_before: Option<Instant>,
    pub corruptions: Vec<Corruption>,
}

pub(crate) struct Inner {
    pub app_keys: Vec<String>,
    pub enterprise_guid: String,
    pub log: RwLock<Log>,
    /// Bumped on every append, so idle connections wake up for new events.
    pub appended: watch::Sender<u64>,
    pub tokens: Mutex<HashMap<String, TokenInfo>>,
    pub control: Mutex<Control>,
    /// Set when the simulator stops, so open streams end instead of outliving it.
    pub shutdown: AtomicBool,
}

/// A handle on a running (or about to run) simulator.
#[derive(Clone)]
pub struct LookoutHandle(pub(crate) Arc<Inner>);

impl LookoutHandle {
    pub fn new(options: LookoutOptions) -> LookoutHandle {
        let (appended, _) = watch::channel(0);
        LookoutHandle(Arc::new(Inner {
            app_keys: options.app_keys,
            enterprise_guid: options.enterprise_guid,
            log: RwLock::new(Log {
                entries: Vec::new(),
                ids: IdGen::default(),
                next_seq: 0,
            }),
            appended,
            tokens: Mutex::new(HashMap::new()),
            control: Mutex::new(Control {
                settings: options.settings,
                faults: VecDeque::new(),
                fail_connects: VecDeque::new(),
                fail_tokens: VecDeque::new(),
                stats: Stats::default(),
                reconnect_not_before: None,
                corruptions: Vec::new(),
            }),
            shutdown: AtomicBool::new(false),
        }))
    }

    pub(crate) fn control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.0.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn tokens(&self) -> std::sync::MutexGuard<'_, HashMap<String, TokenInfo>> {
        self.0.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn log(&self) -> std::sync::RwLockReadGuard<'_, Log> {
        self.0.log.read().unwrap_or_else(|p| p.into_inner())
    }

    fn log_mut(&self) -> std::sync::RwLockWriteGuard<'_, Log> {
        self.0.log.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends every open stream and refuses to keep new ones open.
    pub fn shut_down_streams(&self) {
        self.0.shutdown.store(true, Ordering::SeqCst);
        self.0.appended.send_modify(|n| *n += 1);
    }

    pub(crate) fn shut_down(&self) -> bool {
        self.0.shutdown.load(Ordering::SeqCst)
    }

    pub fn enterprise_guid(&self) -> &str {
        &self.0.enterprise_guid
    }

    pub fn settings(&self) -> Settings {
        self.control().settings.clone()
    }

    pub fn update_settings(&self, patch: SettingsPatch) -> Settings {
        let mut c = self.control();
        let s = &mut c.settings;
        if let Some(v) = patch.heartbeat_ms {
            s.heartbeat_ms = v.max(1);
        }
        if let Some(v) = patch.batch_size {
            s.batch_size = v.max(1);
        }
        if let Some(v) = patch.batch_interval_ms {
            s.batch_interval_ms = v;
        }
        if let Some(v) = patch.token_ttl_s {
            s.token_ttl_s = v;
        }
        if let Some(v) = patch.wire {
            s.wire = v;
        }
        if let Some(v) = patch.fragment {
            s.fragment = v;
        }
        if let Some(v) = patch.reconnect_every {
            s.reconnect_every = v;
        }
        if let Some(v) = patch.retry_ms {
            s.retry_ms = v;
        }
        if let Some(v) = patch.initial_retry_ms {
            s.initial_retry_ms = v;
        }
        if let Some(v) = patch.bom {
            s.bom = v;
        }
        if let Some(v) = patch.inclusive_resume {
            s.inclusive_resume = v;
        }
        s.clone()
    }

    pub fn set_heartbeat(&self, interval: Duration) {
        self.control().settings.heartbeat_ms = (interval.as_millis() as u64).max(1);
    }

    pub fn set_batch_size(&self, n: usize) {
        self.control().settings.batch_size = n.max(1);
    }

    pub fn set_wire(&self, wire: WireMode) {
        self.control().settings.wire = wire;
    }

    pub fn set_token_ttl(&self, ttl: Duration) {
        self.control().settings.token_ttl_s = ttl.as_secs();
    }

    /// Queues a fault for the next connection that opens.
    pub fn push_fault(&self, fault: Fault) {
        self.control().faults.push_back(fault);
    }

    /// The `events` frame carrying the event at `index` of the log (oldest first) is sent corrupted `times` times
    /// (`None`: every time it is sent), with its real `id:`. Returns that event's id.
    pub fn corrupt_frame_with(&self, index: usize, times: Option<u32>) -> Option<String> {
        let id = self.log().entries.get(index)?.id;
        self.control().corruptions.push(Corruption {
            id,
            remaining: times,
        });
        Some(events::format_id(id))
    }

    /// Whether the frame of events `first..=last` is to be sent corrupted (counting it as sent).
    pub(crate) fn take_corruption(&self, first: u128, last: u128) -> bool {
        let mut c = self.control();
        let hit = c
            .corruptions
            .iter_mut()
            .find(|k| (first..=last).contains(&k.id) && k.remaining.is_none_or(|n| n > 0));
        let Some(hit) = hit else { return false };
        if let Some(n) = hit.remaining.as_mut() {
            *n -= 1;
        }
        c.stats.corrupted_frames_sent += 1;
        true
    }

    /// The next `count` stream requests are answered with `status` (429 carries `Retry-After: 1`).
    pub fn fail_next_connects(&self, status: u16, count: usize) {
        let mut c = self.control();
        c.fail_connects.extend(std::iter::repeat_n(status, count));
    }

    /// The next `count` token requests are answered with `status`.
    pub fn fail_next_tokens(&self, status: u16, count: usize) {
        let mut c = self.control();
        c.fail_tokens.extend(std::iter::repeat_n(status, count));
    }

    /// Every access token issued so far expires now; open streams close.
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for info in self.tokens().values_mut() {
            info.expires = now;
        }
        // Wake idle streams so they notice.
        self.0.appended.send_modify(|n| *n += 1);
    }

    pub fn stats(&self) -> Stats {
        self.control().stats.clone()
    }

    /// Every event id in the log, oldest first.
    pub fn event_ids(&self) -> Vec<String> {
        self.log().entries.iter().map(Entry::id_string).collect()
    }

    /// Every event in the log as JSON, oldest first.
    pub fn events(&self) -> Vec<Value> {
        let log = self.log();
        log.entries
            .iter()
            .map(|e| {
                let mut out = String::new();
                e.render(&self.0.enterprise_guid, &mut out);
                serde_json::from_str(&out).unwrap_or(Value::Null)
            })
            .collect()
    }

    pub fn event_count(&self) -> u64 {
        self.log().entries.len() as u64
    }

    /// Appends `count` generated events.
    pub fn seed_generated(
        &self,
        count: u64,
        options: &GenerateOptions,
    ) -> Result<SeedSummary, String> {
        let types: Vec<EventType> = options
            .types
            .iter()
            .map(|t| EventType::parse(t).ok_or_else(|| format!("unknown event type {t:?}")))
            .collect::<Result<_, _>>()?;
        let spacing = options.spacing_ms.unwrap_or(1).max(0);
        let start_ms = match &options.start {
            Some(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map_err(|e| format!("bad start {s:?}: {e}"))?
                .timestamp_millis(),
            None => chrono::Utc::now().timestamp_millis() - spacing * count as i64,
        };
        let mut log = self.log_mut();
        let first = log.entries.len();
        log.entries.reserve(count as usize);
        for i in 0..count {
            let seq = log.next_seq;
            log.next_seq += 1;
            let created_ms = start_ms + spacing * i as i64;
            let event_type = if types.is_empty() {
                events::default_type_for(seq)
            } else {
                types[(i % types.len() as u64) as usize]
            };
            let id = log.ids.next(created_ms);
            log.entries.push(Entry {
                id,
                created_ms,
                event_type,
                body: Body::Generated(seq),
            });
        }
        let summary = summary(&log, first);
        drop(log);
        self.0.appended.send_modify(|n| *n += 1);
        Ok(summary)
    }

    /// Appends caller-supplied events. `id` and `created_time` are filled in where missing
    /// (an explicit `id` is replaced: the log must stay time-ordered); `type` is required.
    pub fn seed_events(&self, events: Vec<Value>) -> Result<SeedSummary, String> {
        let now = chrono::Utc::now().timestamp_millis();
        let mut log = self.log_mut();
        let first = log.entries.len();
        for mut event in events {
            let obj = event
                .as_object_mut()
                .ok_or_else(|| "an event must be a JSON object".to_string())?;
            let event_type = obj
                .get("type")
                .and_then(Value::as_str)
                .and_then(EventType::parse)
                .ok_or_else(|| {
                    "an event needs a type of THREAT, DEVICE, AUDIT or SMISHING_ALERT".to_string()
                })?;
            let created_ms = match obj.get("created_time").and_then(Value::as_str) {
                Some(t) => chrono::DateTime::parse_from_rfc3339(t)
                    .map_err(|e| format!("bad created_time {t:?}: {e}"))?
                    .timestamp_millis(),
                None => now,
            };
            let id = log.ids.next(created_ms);
            obj.insert("id".into(), Value::String(events::format_id(id)));
            obj.insert(
                "created_time".into(),
                Value::String(events::format_time(created_ms)),
            );
            obj.entry("enterprise_guid")
                .or_insert_with(|| Value::String(self.0.enterprise_guid.clone()));
            let json = serde_json::to_string(&event).map_err(|e| e.to_string())?;
            log.next_seq += 1;
            log.entries.push(Entry {
                id,
                created_ms,
                event_type,
                body: Body::Json(json.into()),
            });
        }
        let summary = summary(&log, first);
        drop(log);
        self.0.appended.send_modify(|n| *n += 1);
        Ok(summary)
    }

    pub(crate) fn issue_token(&self, ttl: Duration) -> String {
        let token = format!(
            "sim-at-{:016x}{:016x}",
            fastrand::u64(..),
            fastrand::u64(..)
        );
        self.tokens().insert(
            token.clone(),
            TokenInfo {
                expires: Instant::now() + ttl,
            },
        );
        token
    }

    /// Expires one token (the `ExpireToken` fault).
    pub(crate) fn expire_token(&self, token: &str) {
        if let Some(info) = self.tokens().get_mut(token) {
            info.expires = Instant::now();
        }
    }
}

fn summary(log: &Log, first: usize) -> SeedSummary {
    let added = &log.entries[first..];
    SeedSummary {
        added: added.len() as u64,
        total: log.entries.len() as u64,
        first_id: added.first().map(Entry::id_string),
        last_id: added.last().map(Entry::id_string),
    }
}
