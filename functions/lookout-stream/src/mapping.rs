//! Lookout Mobile Risk API v2 events → ECS records.
//!
//! Every record keeps the event exactly as received under `lookout`; `event.id` is Lookout's
//! `id`; `event_type` is the lower-cased `type`. On top of that:
//! - THREAT: an alert (`event.kind: alert`, `category: threat` + what the threat type implies),
//!   `event.severity`, `rule.*` from the classification, `threat.indicator.*` from the details,
//!   and `host.*`/`device.*`/`user.email` where the event names the device.
//! - DEVICE: `host.*` and `device.*` from the device, `user.email`, the security status as
//!   `event.reason`.
//! - AUDIT: `configuration` (or `iam`, `authentication`) with the attribute changes summarised
//!   in `event.reason`, the admin as `user.id`.
//! - SMISHING_ALERT: an alert with the detected URL as `url.original` and `threat.indicator.url`.
//!
//! An event without `id` or `type`, or without any usable time, is not mapped: it lands under
//! `_unparsed` with its raw text.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tributary_shared::record::{Outcome, Record};
use tributary_shared::time;

pub const VENDOR: &str = "lookout";

/// Where a record came from, stamped into `tributary.*`.
#[derive(Debug, Clone, Copy)]
pub struct Provenance<'a> {
    pub stream: &'a str,
    /// The SSE id of the frame that carried the event.
    pub cursor: Option<&'a str>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    #[error("events data is not JSON: {0}")]
    NotJson(String),
    #[error("events data is neither {{\"events\":[...]}} nor an array")]
    NotEvents,
}

/// The events of an `events` frame's data: `{"events":[...]}` (Lookout's documented shape) or a
/// bare array (seen in a consumer's fixtures).
pub fn parse_payload(data: &str) -> Result<Vec<&RawValue>, PayloadError> {
    #[derive(Deserialize)]
    struct Wrapped<'a> {
        #[serde(borrow)]
        events: Option<Vec<&'a RawValue>>,
    }
    match data.trim_start().as_bytes().first() {
        Some(b'[') => serde_json::from_str::<Vec<&RawValue>>(data)
            .map_err(|e| PayloadError::NotJson(e.to_string())),
        Some(b'{') => serde_json::from_str::<Wrapped>(data)
            .map_err(|e| PayloadError::NotJson(e.to_string()))?
            .events
            .ok_or(PayloadError::NotEvents),
        _ => match serde_json::from_str::<Value>(data) {
            Err(e) => Err(PayloadError::NotJson(e.to_string())),
            Ok(_) => Err(PayloadError::NotEvents),
        },
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Event {
    id: Option<String>,
    enterprise_guid: Option<String>,
    created_time: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    change_type: Option<String>,
    actor: Option<Party>,
    target: Option<Party>,
    threat: Option<Threat>,
    device: Option<Device>,
    audit: Option<Audit>,
    smishing_alert: Option<Smishing>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Party {
    guid: Option<String>,
    #[serde(rename = "type")]
    party_type: Option<String>,
    email_address: Option<String>,
    platform: Option<String>,
    os_version: Option<String>,
    manufacturer: Option<String>,
    model: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Threat {
    guid: Option<String>,
    status: Option<String>,
    severity: Option<String>,
    #[serde(rename = "type")]
    threat_type: Option<String>,
    classifications: Vec<String>,
    description: Option<String>,
    details: Option<ThreatDetails>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ThreatDetails {
    application_name: Option<String>,
    package_name: Option<String>,
    package_sha: Option<String>,
    path: Option<String>,
    file_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Device {
    guid: Option<String>,
    platform: Option<String>,
    info: Option<DeviceInfo>,
    status: Option<DeviceStatus>,
    hardware: Option<Hardware>,
    software: Option<Software>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeviceInfo {
    email: Option<String>,
    external_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeviceStatus {
    security_status: Option<String>,
    activation_status: Option<String>,
    protection_status: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Hardware {
    manufacturer: Option<String>,
    model: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Software {
    os_version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Audit {
    #[serde(rename = "type")]
    audit_type: Option<String>,
    attribute_changes: Vec<AttributeChange>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AttributeChange {
    name: Option<String>,
    from: Option<Value>,
    to: Option<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Smishing {
    guid: Option<String>,
    severity: Option<String>,
    description: Option<String>,
    detections: Vec<Detection>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Detection {
    category: Option<String>,
    alert_type: Option<String>,
    original_url: Option<String>,
}

/// Why an event could not be mapped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MapError {
    #[error("event is not a JSON object with Lookout's fields: {0}")]
    Shape(String),
    #[error("event has no id")]
    NoId,
    #[error("event {0} has no type")]
    NoType(String),
    #[error("event {id} has no usable time: created_time {created:?} is not RFC 3339 and the id carries no UUIDv7 time")]
    NoTime { id: String, created: Option<String> },
}

/// Maps one event. `raw` becomes the record's `lookout` field unchanged.
pub fn map_event(raw: &RawValue, provenance: Provenance<'_>) -> Result<Record, MapError> {
    let event: Event =
        serde_json::from_str(raw.get()).map_err(|e| MapError::Shape(e.to_string()))?;
    let id = event
        .id
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or(MapError::NoId)?;
    let type_name = event
        .event_type
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| MapError::NoType(id.clone()))?;
    let timestamp = event
        .created_time
        .as_deref()
        .and_then(|t| time::parse(t).ok())
        .or_else(|| uuid_v7_time(&id))
        .ok_or_else(|| MapError::NoTime {
            id: id.clone(),
            created: event.created_time.clone(),
        })?;
    let upper = type_name.to_ascii_uppercase();
    let event_type = type_name.to_ascii_lowercase();
    let change = event
        .change_type
        .as_deref()
        .unwrap_or("")
        .to_ascii_uppercase();

    let original = raw.to_owned();
    let mut record = Record::new(VENDOR, event_type.clone(), timestamp, id, original).with_path(
        "organization.id",
        event.enterprise_guid.clone().map(Value::from),
    );
    if let Some(created) = &event.created_time {
        record = record.with_created(created.clone());
    }
    if !change.is_empty() {
        record = record.with_action(format!("{event_type}-{}", change.to_ascii_lowercase()));
    }
    record = match upper.as_str() {
        "THREAT" => map_threat(record, &event, &change),
        "DEVICE" => map_device(record, &event, &change),
        "AUDIT" => map_audit(record, &event, &change),
        "SMISHING_ALERT" => map_smishing(record, &event),
        _ => record.with_types(&["info"]),
    };
    record = record.with_operator_provenance("stream", provenance.stream);
    if let Some(cursor) = provenance.cursor {
        record = record.with_provenance("cursor", cursor);
    }
    Ok(record)
}

/// The event's own `id`, if it has a usable one (a string that is not blank), however badly the rest of it is
/// formed: what an event the mapping refuses is known by, so that it is recognised when it comes again.
pub fn own_id(raw: &RawValue) -> Option<String> {
    #[derive(Deserialize)]
    struct Named {
        id: Option<Value>,
    }
    // A struct would also read from an array (`["x"]`), which names nothing.
    if !raw.get().trim_start().starts_with('{') {
        return None;
    }
    match serde_json::from_str::<Named>(raw.get()).ok()?.id? {
        Value::String(id) if !id.trim().is_empty() => Some(id),
        _ => None,
    }
}

/// The millisecond time in a UUIDv7 (its first 48 bits), if `id` is one.
fn uuid_v7_time(id: &str) -> Option<DateTime<Utc>> {
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) || hex.as_bytes()[12] != b'7'
    {
        return None;
    }
    let ms = i64::from_str_radix(&hex[..12], 16).ok()?;
    time::epoch_millis(ms).ok()
}

/// ECS `event.type` for a change.
fn change_types(change: &str) -> &'static [&'static str] {
    match change {
        "CREATED" => &["creation"],
        "DELETED" | "PURGED" => &["deletion"],
        "UPDATED" => &["change"],
        _ => &["info"],
    }
}

/// `event.severity` on the 0–100 scale Elastic's rules use.
fn severity_score(severity: &str) -> Option<u64> {
    match severity.to_ascii_uppercase().as_str() {
        "NONE" => Some(0),
        "ADVISORY" => Some(1),
        "LOW" => Some(21),
        "MEDIUM" => Some(47),
        "HIGH" => Some(73),
        "CRITICAL" => Some(99),
        _ => None,
    }
}

fn s(v: &Option<String>) -> Option<Value> {
    v.as_ref()
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.clone()))
}

fn os_type(platform: &str) -> Option<&'static str> {
    match platform.to_ascii_uppercase().as_str() {
        "ANDROID" => Some("android"),
        "IOS" => Some("ios"),
        _ => None,
    }
}

fn with_os(record: Record, platform: Option<&str>, version: &Option<String>) -> Record {
    let platform = platform.filter(|p| !p.is_empty());
    let os = platform.and_then(os_type);
    record
        .with_path("host.os.type", os.map(Value::from))
        .with_path("host.os.platform", os.map(Value::from))
        .with_path(
            "host.os.name",
            os.map(|o| Value::from(if o == "ios" { "iOS" } else { "Android" })),
        )
        .with_path("host.os.version", s(version))
}

/// The device an event is about: the party of type DEVICE (target first, then actor).
fn device_party(event: &Event) -> Option<&Party> {
    let is_device = |p: &&Party| {
        p.party_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("DEVICE"))
    };
    event
        .target
        .as_ref()
        .filter(is_device)
        .or_else(|| event.actor.as_ref().filter(is_device))
}

fn with_device_party(mut record: Record, event: &Event) -> Record {
    let Some(device) = device_party(event) else {
        return record;
    };
    record = record
        .with_path("host.id", s(&device.guid))
        .with_path("device.id", s(&device.guid))
        .with_path("device.manufacturer", s(&device.manufacturer))
        .with_path("device.model.identifier", s(&device.model))
        .with_path("user.email", s(&device.email_address));
    with_os(record, device.platform.as_deref(), &device.os_version)
}

fn map_threat(record: Record, event: &Event, change: &str) -> Record {
    let default = Threat::default();
    let threat = event.threat.as_ref().unwrap_or(&default);
    let threat_type = threat
        .threat_type
        .as_deref()
        .unwrap_or("")
        .to_ascii_uppercase();
    let category: &[&str] = match threat_type.as_str() {
        "APPLICATION" | "FILE" => &["threat", "malware"],
        "NETWORK" => &["threat", "network", "intrusion_detection"],
        "WEB_CONTENT" => &["threat", "web"],
        "OS" | "CONFIGURATION" => &["threat", "configuration", "vulnerability"],
        _ => &["threat"],
    };
    let mut types = vec!["indicator"];
    types.extend_from_slice(change_types(change));
    let mut record = record
        .with_kind("alert")
        .with_category(category)
        .with_types(&types)
        .with_path("rule.category", s(&threat.threat_type))
        .with_path(
            "rule.name",
            threat.classifications.first().cloned().map(Value::from),
        )
        .with_path("rule.id", s(&threat.guid))
        .with_path("rule.description", s(&threat.description));
    if let Some(score) = threat.severity.as_deref().and_then(severity_score) {
        record = record.with_event_field("severity", json!(score));
    }
    let reason = [threat.status.as_deref(), threat.severity.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
    if !threat.classifications.is_empty() || !reason.is_empty() {
        record = record.with_event_field(
            "reason",
            Value::from(format!(
                "{} ({})",
                threat.classifications.join(", "),
                reason.join(", ")
            )),
        );
    }
    if let Some(details) = &threat.details {
        let is_file =
            details.file_name.is_some() || details.path.is_some() || details.package_sha.is_some();
        record = record
            .with_path(
                "threat.indicator.type",
                is_file.then(|| Value::from("file")),
            )
            .with_path("threat.indicator.file.name", s(&details.file_name))
            .with_path("threat.indicator.file.path", s(&details.path))
            .with_path("threat.indicator.file.hash.sha256", s(&details.package_sha))
            .with_path("threat.software.name", s(&details.application_name))
            .with_path("package.name", s(&details.package_name));
    }
    with_device_party(record, event)
}

fn map_device(record: Record, event: &Event, change: &str) -> Record {
    let mut types = vec!["info"];
    types.extend(change_types(change).iter().filter(|t| **t != "info"));
    let mut record = record.with_category(&["host"]).with_types(&types);
    let Some(device) = &event.device else {
        return with_device_party(record, event);
    };
    let hardware = device.hardware.as_ref();
    let info = device.info.as_ref();
    record = record
        .with_path("host.id", s(&device.guid))
        .with_path("device.id", s(&device.guid))
        .with_path(
            "device.manufacturer",
            hardware.and_then(|h| s(&h.manufacturer)),
        )
        .with_path(
            "device.model.identifier",
            hardware.and_then(|h| s(&h.model)),
        )
        .with_path("user.email", info.and_then(|i| s(&i.email)))
        .with_path("host.hostname", info.and_then(|i| s(&i.external_id)));
    if let Some(status) = &device.status {
        let parts: Vec<&str> = [
            status.security_status.as_deref(),
            status.activation_status.as_deref(),
            status.protection_status.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !parts.is_empty() {
            record = record.with_event_field("reason", Value::from(parts.join(", ")));
        }
    }
    let os_version = device
        .software
        .as_ref()
        .and_then(|sw| sw.os_version.clone());
    with_os(record, device.platform.as_deref(), &os_version)
}

fn map_audit(record: Record, event: &Event, change: &str) -> Record {
    let default = Audit::default();
    let audit = event.audit.as_ref().unwrap_or(&default);
    let audit_type = audit
        .audit_type
        .as_deref()
        .unwrap_or("")
        .to_ascii_uppercase();
    let record = if audit_type.contains("LOGIN") {
        record
            .with_category(&["authentication"])
            .with_types(&["start"])
            .with_outcome(Outcome::Success)
    } else if ["ADMIN", "USER", "ROLE", "PERMISSION"]
        .iter()
        .any(|w| audit_type.contains(w))
    {
        let mut types = vec!["admin"];
        types.extend_from_slice(change_types(change));
        record
            .with_category(&["iam", "configuration"])
            .with_types(&types)
    } else {
        record
            .with_category(&["configuration"])
            .with_types(change_types(change))
    };
    let changes: Vec<String> = audit
        .attribute_changes
        .iter()
        .filter_map(|c| {
            let name = c.name.as_deref()?;
            let text = |v: &Option<Value>| match v {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
            };
            Some(match (text(&c.from), text(&c.to)) {
                (None, None) => name.to_owned(),
                (None, Some(to)) => format!("{name} = {to}"),
                (Some(from), None) => format!("{name}: {from} -> (removed)"),
                (Some(from), Some(to)) => format!("{name}: {from} -> {to}"),
            })
        })
        .collect();
    let admin = event.actor.as_ref().filter(|a| {
        a.party_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("ADMIN"))
    });
    // A login audit names who logged in as the new value of `email`.
    let login_email = audit_type
        .contains("LOGIN")
        .then(|| {
            audit
                .attribute_changes
                .iter()
                .find(|c| c.name.as_deref() == Some("email"))
                .and_then(|c| c.to.clone())
                .filter(Value::is_string)
        })
        .flatten();
    record
        .with_path("user.id", admin.and_then(|a| s(&a.guid)))
        .with_path("user.email", login_email)
        .with_event_field(
            "reason",
            if changes.is_empty() {
                Value::Null
            } else {
                Value::from(format!(
                    "{}: {}",
                    audit_type.to_ascii_lowercase(),
                    changes.join("; ")
                ))
            },
        )
        .with_path("rule.category", s(&audit.audit_type))
}

fn map_smishing(record: Record, event: &Event) -> Record {
    let default = Smishing::default();
    let alert = event.smishing_alert.as_ref().unwrap_or(&default);
    let first = alert.detections.first();
    let url = first.and_then(|d| s(&d.original_url));
    let mut record = record
        .with_kind("alert")
        .with_category(&["threat", "web"])
        .with_types(&["indicator"])
        .with_path("rule.id", s(&alert.guid))
        .with_path("rule.name", first.and_then(|d| s(&d.category)))
        .with_path("rule.category", first.and_then(|d| s(&d.alert_type)))
        .with_path("rule.description", s(&alert.description))
        .with_path("url.original", url.clone())
        .with_path(
            "threat.indicator.type",
            url.as_ref().map(|_| Value::from("url")),
        )
        .with_path("threat.indicator.url.original", url);
    if let Some(score) = alert.severity.as_deref().and_then(severity_score) {
        record = record.with_event_field("severity", json!(score));
    }
    with_device_party(record, event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_shared::record::LineStamp;

    fn line(raw: &str) -> Value {
        let raw = RawValue::from_string(raw.to_owned()).unwrap();
        let record = map_event(
            &raw,
            Provenance {
                stream: "events",
                cursor: Some("c1"),
            },
        )
        .unwrap();
        let mut out = Vec::new();
        record.to_line(
            &mut out,
            &LineStamp {
                ingested: "2026-01-01T00:00:00.000Z".into(),
                shape: tributary_shared::record::Shape::Full,
            },
        );
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(&format!("\"lookout\":{}", raw.get())),
            "original kept verbatim: {text}"
        );
        serde_json::from_str(&text).unwrap()
    }

    // Lookout's own sample events (field names as documented; ids shortened).
    const THREAT: &str = r#"{"id":"f3511385-0000-4000-8000-000000000001","enterprise_guid":"703d284e-0000-4000-8000-000000000002","created_time":"2025-02-20T09:55:18.817+00:00","type":"THREAT","change_type":"CREATED","threat":{"guid":"a8da3393-0000-4000-8000-000000000003","status":"OPEN","severity":"LOW","type":"APPLICATION","classifications":["RISKWARE"],"details":{"application_name":"Start","package_name":"com.doa.start","package_sha":"ae2a00","path":"package://com.doa.start","file_name":"com.doa.start"}},"target":{"guid":"951294c6-0000-4000-8000-000000000004","type":"THREAT"},"actor":{"guid":"951294c6-0000-4000-8000-000000000004","type":"DEVICE"}}"#;
    const AUDIT: &str = r#"{"id":"0190cd04-9520-7120-8a5e-a8866b8eca40","enterprise_guid":"680d9d84-ad0e-4706-b008-09e358df72b4","created_time":"2024-07-19T22:02:28.539+00:00","type":"AUDIT","change_type":"CREATED","audit":{"type":"CLASSIFICATION_POLICY","attribute_changes":[{"name":"agent_outdated"},{"name":"severity","from":"medium","to":"high"}]},"actor":{"guid":"a1","type":"ADMIN"}}"#;
    const DEVICE: &str = r#"{"id":"d1","created_time":"2025-02-20T10:00:00.000+00:00","type":"DEVICE","change_type":"UPDATED","device":{"guid":"g1","platform":"ANDROID","profile_type":"WORK","info":{"external_id":"e1","mdm_connector_id":"12","email":"u@corp.example"},"status":{"security_status":"THREAT_HIGH","activation_status":"ACTIVATED","protection_status":"PROTECTED"},"hardware":{"manufacturer":"Google","model":"Pixel 8"},"software":{"os_version":"14","sdk_version":"34","security_patch_level":"2025-01-05"}}}"#;
    const SMISHING: &str = r#"{"id":"s1","created_time":"2025-02-20T10:00:00.000+00:00","type":"SMISHING_ALERT","change_type":"CREATED","smishing_alert":{"guid":"sa1","severity":"HIGH","detections":[{"category":"EMBEDDED_PHISHING_URL","alert_type":"URL_DETECTION","original_url":"http://bad.example/x"}]},"actor":{"guid":"g2","type":"DEVICE"}}"#;

    #[test]
    fn threats_are_alerts_with_details_and_the_device_as_host() {
        let v = line(THREAT);
        assert_eq!(v["event"]["id"], "f3511385-0000-4000-8000-000000000001");
        assert_eq!(v["event"]["kind"], "alert");
        assert_eq!(v["event"]["dataset"], "lookout.threat");
        assert_eq!(v["event"]["category"], json!(["threat", "malware"]));
        assert_eq!(v["event"]["type"], json!(["indicator", "creation"]));
        assert_eq!(v["event"]["action"], "threat-created");
        assert_eq!(v["event"]["severity"], 21);
        assert_eq!(v["@timestamp"], "2025-02-20T09:55:18.817Z");
        assert_eq!(v["rule"]["name"], "RISKWARE");
        assert_eq!(v["threat"]["indicator"]["file"]["hash"]["sha256"], "ae2a00");
        assert_eq!(v["host"]["id"], "951294c6-0000-4000-8000-000000000004");
        assert_eq!(
            v["organization"]["id"],
            "703d284e-0000-4000-8000-000000000002"
        );
        assert_eq!(v["tributary"]["cursor"], "c1");
    }

    #[test]
    fn devices_fill_host_and_device() {
        let v = line(DEVICE);
        assert_eq!(v["event"]["kind"], "event");
        assert_eq!(v["event"]["category"], json!(["host"]));
        assert_eq!(v["event"]["type"], json!(["info", "change"]));
        assert_eq!(v["host"]["id"], "g1");
        assert_eq!(v["host"]["os"]["type"], "android");
        assert_eq!(v["host"]["os"]["version"], "14");
        assert_eq!(v["device"]["model"]["identifier"], "Pixel 8");
        assert_eq!(v["user"]["email"], "u@corp.example");
        assert_eq!(v["event"]["reason"], "THREAT_HIGH, ACTIVATED, PROTECTED");
    }

    #[test]
    fn audits_are_configuration_changes_with_the_attribute_changes() {
        let v = line(AUDIT);
        assert_eq!(v["event"]["category"], json!(["configuration"]));
        assert_eq!(v["event"]["type"], json!(["creation"]));
        assert_eq!(
            v["event"]["reason"],
            "classification_policy: agent_outdated; severity: medium -> high"
        );
        assert_eq!(v["user"]["id"], "a1");
    }

    #[test]
    fn admin_logins_are_authentication_with_the_admin() {
        let v = line(
            r#"{"id":"l1","created_time":"2025-02-20T10:00:00.000+00:00","type":"AUDIT","change_type":"CREATED","audit":{"type":"ADMIN_LOGIN","attribute_changes":[{"name":"email","to":"admin@corp.example"}]},"actor":{"guid":"a2","type":"ADMIN"}}"#,
        );
        assert_eq!(v["event"]["category"], json!(["authentication"]));
        assert_eq!(v["event"]["outcome"], "success");
        assert_eq!(
            v["user"],
            json!({"id": "a2", "email": "admin@corp.example"})
        );
        assert_eq!(
            v["event"]["reason"],
            "admin_login: email = admin@corp.example"
        );
    }

    #[test]
    fn smishing_alerts_carry_the_url() {
        let v = line(SMISHING);
        assert_eq!(v["event"]["dataset"], "lookout.smishing_alert");
        assert_eq!(v["event"]["kind"], "alert");
        assert_eq!(v["url"]["original"], "http://bad.example/x");
        assert_eq!(v["host"]["id"], "g2");
        assert_eq!(v["event"]["severity"], 73);
    }

    #[test]
    fn a_missing_time_falls_back_to_the_uuid_v7_time() {
        let raw = RawValue::from_string(
            r#"{"id":"0190cd04-9520-7120-8a5e-a8866b8eca40","type":"AUDIT"}"#.into(),
        )
        .unwrap();
        let record = map_event(
            &raw,
            Provenance {
                stream: "e",
                cursor: None,
            },
        )
        .unwrap();
        assert_eq!(
            tributary_shared::record::rfc3339(record.timestamp),
            "2024-07-19T22:02:28.000Z"
        );
    }

    #[test]
    fn events_without_id_type_or_time_are_refused() {
        let map = |s: &str| {
            map_event(
                &RawValue::from_string(s.into()).unwrap(),
                Provenance {
                    stream: "e",
                    cursor: None,
                },
            )
        };
        assert_eq!(map(r#"{"type":"THREAT"}"#).unwrap_err(), MapError::NoId);
        assert!(matches!(
            map(r#"{"id":"x"}"#).unwrap_err(),
            MapError::NoType(_)
        ));
        assert!(matches!(
            map(r#"{"id":"x","type":"THREAT","created_time":"soon"}"#).unwrap_err(),
            MapError::NoTime { .. }
        ));
        assert!(matches!(
            map(r#"{"id":"x","type":"THREAT","created_time":"9999-12-31T23:30:00-01:00"}"#)
                .unwrap_err(),
            MapError::NoTime { .. }
        ));
        assert!(matches!(map(r#"[1]"#).unwrap_err(), MapError::Shape(_)));
    }

    #[test]
    fn a_refused_event_is_known_by_its_own_id_when_it_has_a_usable_one() {
        let own = |s: &str| own_id(&RawValue::from_string(s.into()).unwrap());
        // Refused for its change type, which is not text: its id still names it.
        assert_eq!(
            own(r#"{"id":"e-7","type":"THREAT","change_type":7,"threat":[]}"#).as_deref(),
            Some("e-7")
        );
        for nameless in [
            r#"{"type":"THREAT"}"#,
            r#"{"id":"  ","type":"THREAT"}"#,
            r#"{"id":12,"type":"THREAT"}"#,
            r#"{"id":null}"#,
            r#"{"id":"a","id":"b"}"#,
            r#"["e-7"]"#,
            r#""e-7""#,
        ] {
            assert_eq!(own(nameless), None, "{nameless}");
        }
    }

    #[test]
    fn payloads_may_be_wrapped_or_bare_arrays() {
        assert_eq!(
            parse_payload(r#"{"events":[{"id":"a"},{"id":"b"}]}"#)
                .unwrap()
                .len(),
            2
        );
        assert_eq!(parse_payload("[\n{\"id\":\"a\"}\n]").unwrap().len(), 1);
        assert_eq!(parse_payload(r#"{"events":[]}"#).unwrap().len(), 0);
        assert_eq!(
            parse_payload(r#"{"status":"x"}"#).unwrap_err(),
            PayloadError::NotEvents
        );
        assert_eq!(parse_payload("42").unwrap_err(), PayloadError::NotEvents);
        assert!(matches!(
            parse_payload(r#"{"events":[{"id""#).unwrap_err(),
            PayloadError::NotJson(_)
        ));
    }

    fn lean_line(text: &str) -> Value {
        use tributary_shared::record::{LineStamp, Shape};
        let raw = RawValue::from_string(text.to_owned()).unwrap();
        let provenance = Provenance {
            stream: "events",
            cursor: None,
        };
        let record = map_event(&raw, provenance).unwrap();
        let mut out = Vec::new();
        record.to_line(&mut out, &LineStamp::now(Shape::Lean));
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn lean_lines_write_the_enterprise_and_the_admin_once_and_the_event_comes_back() {
        use tributary_shared::record::lean::original_of;
        for text in [THREAT, AUDIT, DEVICE, SMISHING] {
            let lean = lean_line(text);
            assert!(lean["lookout"].get("enterprise_guid").is_none(), "{lean}");
            assert_eq!(
                original_of(&lean),
                Some(serde_json::from_str(text).unwrap()),
                "{text}"
            );
        }
        // The admin who acted is user.id, written once; an actor that is no admin keeps its guid.
        let lean = lean_line(AUDIT);
        assert_eq!(lean["user"]["id"], "a1");
        assert_eq!(lean["lookout"]["actor"], json!({"type": "ADMIN"}));
        let device_actor = AUDIT.replace(r#""type":"ADMIN""#, r#""type":"DEVICE""#);
        let lean = lean_line(&device_actor);
        assert_eq!(
            lean["lookout"]["actor"],
            json!({"guid": "a1", "type": "DEVICE"})
        );
        assert_eq!(
            original_of(&lean),
            Some(serde_json::from_str(&device_actor).unwrap())
        );
    }
}
