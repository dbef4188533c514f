//! Realistic Mosaic activity events, generated on demand.
//!
//! A backlog is described by a [`GenSpec`] (how many, from when, how far apart, which seed) and
//! event `i` is computed from `(seed, i)` only when a `collect` reaches it, so a backlog of a
//! million events costs a few bytes until it is read. Field names follow the vendor's examples
//! (flat, snake_case); activity names follow the activity catalogue. Where the vendor's own
//! documents disagree (`admin_login` in the API example, `adminLogin` in the catalogue;
//! `additionalParams` in the old admin example, `additional_params` elsewhere) the generator
//! emits both spellings so a client has to tolerate both.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The four event types the vendor streams separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Cis,
    Admin,
    Risk,
    Verify,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        EventType::Cis,
        EventType::Admin,
        EventType::Risk,
        EventType::Verify,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Cis => "cis",
            EventType::Admin => "admin",
            EventType::Risk => "risk",
            EventType::Verify => "verify",
        }
    }

    pub fn parse(text: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == text)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Journey events (cis).
pub const CIS_JOURNEY_ACTIVITIES: &[&str] = &[
    "journey_started",
    "journey_completed_successfully",
    "journey_completed_unsuccessfully",
    "step_started",
    "step_completed",
    "custom_event",
    "external_connection_call",
];

/// User management and authentication events (cis).
pub const CIS_USER_ACTIVITIES: &[&str] = &[
    "user_logout",
    "create_user_failure",
    "add_password",
    "authentication_succeeded",
    "sms_sent",
    "user_login",
    "create_user",
];

/// Identity verification events (verify).
pub const VERIFY_ACTIVITIES: &[&str] = &[
    "session_started",
    "consent_approved",
    "verification_completed",
    "face_auth_session_completed",
    "verification_status_updated",
    "image_uploaded_info",
    "error",
    "sdk_process_completed",
    "session_deleted",
    "session_created",
    "image_capture_clicked",
    "image_uploaded",
    "page_loaded",
    "deny_by_restriction_criterion",
    "read_image_data",
    "allow_by_restriction_criterion",
    "verification_started",
    "user_action_performed",
    "redirect",
    "face_auth_session_started",
    "check_image_quality",
];

/// Fraud prevention events (risk).
pub const RISK_ACTIVITIES: &[&str] = &["risk_recommendation"];

/// Admin events, spelled as the catalogue spells them.
pub const ADMIN_ACTIVITIES: &[&str] = &[
    "addAdmin",
    "adminCreateTenant",
    "adminLogin",
    "adminLogout",
    "adminUpdateTenant",
    "adminUpdateUser",
    "createApiToken",
    "enableAppSpecificSigningKey",
    "disableAppSpecificSigningKey",
    "createApp",
    "createMgmtApp",
    "createUser",
    "deleteApiToken",
    "deleteApp",
    "deleteMgmtApp",
    "deleteUser",
    "editAuthSettings",
    "editGeneralSettings",
    "removeAdmin",
    "updateApp",
    "updateMgmtApp",
    "editPreviewPolicy",
    "pushPolicyToProduction",
];

/// Every activity name the generator can emit for a type (both spellings for admin).
pub fn activities(event_type: EventType) -> Vec<&'static str> {
    match event_type {
        EventType::Cis => CIS_JOURNEY_ACTIVITIES
            .iter()
            .chain(CIS_USER_ACTIVITIES)
            .copied()
            .collect(),
        EventType::Verify => VERIFY_ACTIVITIES.to_vec(),
        EventType::Risk => RISK_ACTIVITIES.to_vec(),
        EventType::Admin => ADMIN_ACTIVITIES
            .iter()
            .copied()
            .chain(["admin_login", "admin_logout"])
            .collect(),
    }
}

/// A lazily generated backlog: `count` events of one type, the first at `start`, each
/// `interval_ms` after the previous one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenSpec {
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub count: u64,
    /// Time of the first event; defaults (when seeding) to `count * interval_ms` before now,
    /// so the backlog ends at the moment it was seeded.
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    /// Different seeds give different users, devices and ids, so two backlogs never share an
    /// event.
    #[serde(default)]
    pub seed: u64,
    /// Every n-th event (n ≥ 1; the 0th is never replaced) becomes a malformed element, cycling
    /// through [`MalformedKind`]s. The array around it stays valid JSON.
    #[serde(default)]
    pub malformed_every: Option<u64>,
}

fn default_interval_ms() -> u64 {
    1000
}

impl GenSpec {
    pub fn new(event_type: EventType, count: u64) -> GenSpec {
        GenSpec {
            event_type,
            count,
            start: None,
            interval_ms: default_interval_ms(),
            seed: 0,
            malformed_every: None,
        }
    }

    pub fn start(mut self, start: DateTime<Utc>) -> GenSpec {
        self.start = Some(start);
        self
    }

    pub fn interval_ms(mut self, interval_ms: u64) -> GenSpec {
        self.interval_ms = interval_ms;
        self
    }

    pub fn seed(mut self, seed: u64) -> GenSpec {
        self.seed = seed;
        self
    }

    pub fn malformed_every(mut self, every: u64) -> GenSpec {
        self.malformed_every = Some(every.max(1));
        self
    }

    /// The start time, or a default relative to `now`.
    pub(crate) fn resolved(mut self, now: DateTime<Utc>) -> GenSpec {
        if self.start.is_none() {
            let span = self.count.saturating_mul(self.interval_ms);
            let span = i64::try_from(span).unwrap_or(i64::MAX / 2);
            self.start = Some(now - chrono::Duration::milliseconds(span));
        }
        self
    }

    /// True when event `index` is a malformed element.
    pub fn is_malformed(&self, index: u64) -> bool {
        matches!(self.malformed_every, Some(n) if index > 0 && index.is_multiple_of(n.max(1)))
    }

    /// Event `index` as a JSON value (what `collect` returns for it). `enrichment` adds the
    /// `original_*` fields a stream created with enrichment carries.
    pub fn event(&self, index: u64, enrichment: bool) -> Value {
        let mut text = Vec::with_capacity(512);
        self.write_event(index, enrichment, &mut text);
        serde_json::from_slice(&text).unwrap_or(Value::Null)
    }

    /// Appends event `index` as JSON text to `out`.
    pub fn write_event(&self, index: u64, enrichment: bool, out: &mut Vec<u8>) {
        if self.is_malformed(index) {
            let n = self.malformed_every.unwrap_or(1).max(1);
            let kind = MalformedKind::ALL[((index / n - 1) % 4) as usize];
            out.extend_from_slice(kind.element(index).as_bytes());
            return;
        }
        // Serializing a struct of strings and JSON values into memory cannot fail.
        let _ = serde_json::to_writer(&mut *out, &generate(self, index, enrichment));
    }

    /// Appends events `range` as one JSON array, the body of a `collect` answer, to `out`.
    pub fn write_batch(&self, range: std::ops::Range<u64>, enrichment: bool, out: &mut Vec<u8>) {
        out.push(b'[');
        for index in range.clone() {
            if index > range.start {
                out.push(b',');
            }
            self.write_event(index, enrichment, out);
        }
        out.push(b']');
    }

    /// The events this spec produces that are well formed.
    pub fn well_formed_count(&self) -> u64 {
        match self.malformed_every {
            Some(n) if self.count > 0 => self.count - (self.count - 1) / n.max(1),
            _ => self.count,
        }
    }
}

/// What a malformed element inside an otherwise valid array can look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedKind {
    /// A bare string where an object belongs.
    NotAnObject,
    /// An object without `timestamp`.
    MissingTimestamp,
    /// An object whose `timestamp` is not a date.
    BadTimestamp,
    /// An object without `activity`.
    MissingActivity,
}

impl MalformedKind {
    pub const ALL: [MalformedKind; 4] = [
        MalformedKind::NotAnObject,
        MalformedKind::MissingTimestamp,
        MalformedKind::BadTimestamp,
        MalformedKind::MissingActivity,
    ];

    /// The element's JSON text; `index` keeps each one distinct.
    pub fn element(self, index: u64) -> String {
        match self {
            MalformedKind::NotAnObject => json!(format!("event {index} lost its shape")),
            MalformedKind::MissingTimestamp => {
                json!({"activity": "user_login", "user_id": format!("u{index}")})
            }
            MalformedKind::BadTimestamp => json!({
                "activity": "user_login",
                "timestamp": format!("yesterday at {index}"),
                "user_id": format!("u{index}"),
            }),
            MalformedKind::MissingActivity => json!({
                "timestamp": "2024-01-01T00:00:00.000Z",
                "user_id": format!("u{index}"),
            }),
        }
        .to_string()
    }
}

/// splitmix64: a tiny, good-enough mixer so every field is a pure function of (seed, index).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

struct Rng(u64);

impl Rng {
    fn new(seed: u64, index: u64, salt: u64) -> Rng {
        Rng(mix(seed ^ mix(index ^ mix(salt))))
    }
    fn next(&mut self) -> u64 {
        self.0 = mix(self.0);
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A 21-character id in the shape of the vendor's ids (`8XrdnAMJcMD8RhVMjDipa`).
fn vendor_id(seed: u64, salt: u64, n: u64) -> String {
    let mut rng = Rng::new(seed, n, salt);
    (0..21)
        .map(|_| ALPHABET[rng.below(ALPHABET.len())] as char)
        .collect()
}

fn uuid_like(rng: &mut Rng) -> String {
    let a = rng.next();
    let b = rng.next();
    let mut s = String::with_capacity(36);
    let _ = write!(
        s,
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    );
    s
}

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    "okhttp/4.12.0",
];

fn ip(rng: &mut Rng) -> String {
    // Documentation ranges only: never a real address.
    match rng.below(8) {
        0 => format!("2001:db8::{:x}", rng.next() & 0xffff),
        1..=3 => format!("203.0.113.{}", 1 + rng.below(254)),
        4..=5 => format!("198.51.100.{}", 1 + rng.below(254)),
        _ => format!("192.0.2.{}", 1 + rng.below(254)),
    }
}

fn timestamp(spec: &GenSpec, index: u64) -> String {
    let start = spec.start.unwrap_or(DateTime::UNIX_EPOCH);
    let offset = i64::try_from(index.saturating_mul(spec.interval_ms)).unwrap_or(i64::MAX / 2);
    (start + chrono::Duration::milliseconds(offset)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The wire shape of one event. Flat, snake_case, absent fields omitted, as in the vendor's
/// examples.
#[derive(Debug, Serialize)]
struct Event {
    activity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_app_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_actor_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_resource_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target_resource_type: Option<&'static str>,
    ip: String,
    user_agent: &'static str,
    timestamp: String,
    invocation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    flow_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlation_id: Option<String>,
    tenant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_params: Option<Value>,
    #[serde(rename = "additionalParams", skip_serializing_if = "Option::is_none")]
    additional_params_camel: Option<Value>,
}

fn generate(spec: &GenSpec, index: u64, enrichment: bool) -> Event {
    let seed = spec.seed;
    let mut rng = Rng::new(seed, index, spec.event_type as u64 + 1);
    let user_no = rng.next() % 500;
    let app_no = rng.next() % 3;
    let user_id = vendor_id(seed, 11, user_no);
    let app_id = vendor_id(seed, 12, app_no);
    let tenant_id = vendor_id(seed, 13, 0);
    let client_id = vendor_id(seed, 14, app_no);
    let device_id = format!("dev-{}", vendor_id(seed, 15, user_no % 300));
    let ip = ip(&mut rng);
    let user_agent = USER_AGENTS[rng.below(USER_AGENTS.len())];
    let invocation_id = uuid_like(&mut rng);
    let correlation_id = uuid_like(&mut rng);
    let mut event = Event {
        activity: String::new(),
        app_id: Some(app_id.clone()),
        original_app_id: enrichment.then(|| format!("app-{app_no}")),
        user_id: Some(user_id),
        original_user_id: enrichment.then(|| format!("user{user_no}@example.com")),
        actor_id: None,
        actor_type: None,
        original_actor_id: None,
        target_resource_id: None,
        target_resource_type: None,
        ip,
        user_agent,
        timestamp: timestamp(spec, index),
        invocation_id,
        flow_id: None,
        correlation_id: Some(correlation_id),
        tenant_id,
        client_id: Some(client_id),
        device_id: None,
        additional_params: None,
        additional_params_camel: None,
    };
    match spec.event_type {
        EventType::Cis => {
            let journey = rng.below(2) == 0;
            let activity = if journey {
                rng.pick(CIS_JOURNEY_ACTIVITIES)
            } else {
                rng.pick(CIS_USER_ACTIVITIES)
            };
            event.activity = activity.to_owned();
            event.device_id = Some(device_id);
            if journey {
                let journey_no = rng.below(4);
                event.flow_id = Some(format!("journey-{journey_no}"));
                event.additional_params = Some(json!({
                    "journey_id": format!("journey-{journey_no}"),
                    "journey_version": 1 + rng.below(5),
                    "step_id": format!("step-{}", rng.below(9)),
                }));
            } else if activity == "create_user_failure" {
                event.additional_params = Some(json!({"error": "user already exists"}));
            } else if activity == "sms_sent" {
                event.additional_params = Some(json!({"channel": "sms"}));
            }
        }
        EventType::Verify => {
            event.activity = rng.pick(VERIFY_ACTIVITIES).to_owned();
            event.flow_id = Some(format!("session-{}", rng.next() % 10_000));
            let status = ["pending", "complete", "recapture", "rejected"][rng.below(4)];
            event.additional_params = Some(json!({"status": status}));
        }
        EventType::Risk => {
            event.activity = "risk_recommendation".to_owned();
            event.device_id = Some(device_id);
            let recommendation = ["ALLOW", "ALLOW", "ALLOW", "CHALLENGE", "DENY"][rng.below(5)];
            let score = rng.below(100);
            let action = ["login", "register", "transaction", "password_reset"][rng.below(4)];
            event.additional_params = Some(json!({
                "recommendation": recommendation,
                "risk_score": score,
                "action_type": action,
            }));
        }
        EventType::Admin => {
            let activity = rng.pick(ADMIN_ACTIVITIES);
            // The API reference's example spells admin logins in snake_case; the catalogue in
            // camelCase. Emit both.
            event.activity = match (activity, index % 5) {
                ("adminLogin", 0) => "admin_login".to_owned(),
                ("adminLogout", 0) => "admin_logout".to_owned(),
                _ => activity.to_owned(),
            };
            event.app_id = None;
            event.user_id = None;
            event.original_app_id = None;
            event.original_user_id = None;
            event.client_id = None;
            event.correlation_id = None;
            event.actor_id = Some(vendor_id(seed, 16, user_no % 12));
            event.actor_type = Some(if rng.below(5) == 0 { "app" } else { "user" });
            event.original_actor_id =
                enrichment.then(|| format!("admin{}@example.com", user_no % 12));
            let (target_id, target_type) = admin_target(activity, &mut rng, seed, &app_id);
            event.target_resource_id = Some(target_id);
            event.target_resource_type = Some(target_type);
            let params = if activity == "adminUpdateUser" {
                json!({
                    "secondary_emails": {"prev": [], "current": [format!("user{user_no}@example.org")]},
                    "birthday": {"prev": null, "current": "1990-01-01"},
                })
            } else {
                json!({})
            };
            if index.is_multiple_of(2) {
                event.additional_params_camel = Some(params);
            } else {
                event.additional_params = Some(params);
            }
        }
    }
    event
}

fn admin_target(activity: &str, rng: &mut Rng, seed: u64, app_id: &str) -> (String, &'static str) {
    let lower = activity.to_ascii_lowercase();
    if lower.contains("login") || lower.contains("logout") {
        ("admin-portal".to_owned(), "app")
    } else if lower.contains("tenant") {
        (vendor_id(seed, 13, 0), "tenant")
    } else if lower.contains("admin") {
        (vendor_id(seed, 17, rng.next() % 12), "admin")
    } else if lower.contains("user") {
        (vendor_id(seed, 11, rng.next() % 500), "user")
    } else if lower.contains("token") && !lower.contains("signing") {
        (format!("token-{}", rng.next() % 1000), "api_token")
    } else if lower.contains("policy") {
        (format!("policy-{}", rng.next() % 20), "policy")
    } else {
        (app_id.to_owned(), "app")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_index_gives_the_same_event_and_different_indexes_differ() {
        let spec = GenSpec::new(EventType::Cis, 10)
            .start("2024-05-01T10:00:00Z".parse().unwrap())
            .seed(7);
        assert_eq!(spec.event(3, false), spec.event(3, false));
        assert_ne!(spec.event(3, false), spec.event(4, false));
        assert_eq!(
            spec.event(1, false)["timestamp"],
            "2024-05-01T10:00:01.000Z"
        );
    }

    #[test]
    fn every_type_uses_catalogue_activities_and_documented_fields() {
        for t in EventType::ALL {
            let spec = GenSpec::new(t, 200).start(Utc::now());
            let names = activities(t);
            for i in 0..200 {
                let e = spec.event(i, true);
                let activity = e["activity"].as_str().unwrap();
                assert!(names.contains(&activity), "{t}: {activity}");
                assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
                assert!(e["ip"].is_string() && e["user_agent"].is_string());
                if t == EventType::Admin {
                    assert!(e["actor_id"].is_string() && e["target_resource_type"].is_string());
                } else {
                    assert!(e["user_id"].is_string() && e["app_id"].is_string());
                }
            }
        }
    }

    #[test]
    fn malformed_elements_replace_every_nth_event() {
        let spec = GenSpec::new(EventType::Risk, 10)
            .start(Utc::now())
            .malformed_every(4);
        assert!(spec.event(4, false).is_string());
        assert!(spec.event(8, false).get("timestamp").is_none());
        assert!(spec.event(0, false).is_object());
        assert_eq!(spec.well_formed_count(), 8);
    }
}
