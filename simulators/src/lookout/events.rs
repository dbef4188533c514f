//! The simulated event log: time-ordered UUIDv7 ids and realistic Mobile Risk API v2 events.
//!
//! Generated events are not stored as JSON: an entry keeps its id, time, type and sequence
//! number, and the JSON is rendered when the event is sent. That keeps half a million events
//! in a few tens of megabytes, so the simulator can feed a benchmark as fast as it reads.

use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// The four event types the stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Threat,
    Device,
    Audit,
    SmishingAlert,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        EventType::Threat,
        EventType::Device,
        EventType::Audit,
        EventType::SmishingAlert,
    ];

    /// The wire name, as in the `type` field and the `types` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Threat => "THREAT",
            EventType::Device => "DEVICE",
            EventType::Audit => "AUDIT",
            EventType::SmishingAlert => "SMISHING_ALERT",
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name.trim()))
    }

    fn bit(self) -> u8 {
        match self {
            EventType::Threat => 1,
            EventType::Device => 2,
            EventType::Audit => 4,
            EventType::SmishingAlert => 8,
        }
    }
}

/// A set of event types, as a `types` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeSet(u8);

impl TypeSet {
    pub const ALL: TypeSet = TypeSet(15);

    pub fn from_types(types: impl IntoIterator<Item = EventType>) -> TypeSet {
        TypeSet(types.into_iter().fold(0, |acc, t| acc | t.bit()))
    }

    pub fn contains(self, t: EventType) -> bool {
        self.0 & t.bit() != 0
    }
}

/// What an entry's JSON is made from.
#[derive(Debug, Clone)]
pub enum Body {
    /// Rendered on demand from the sequence number.
    Generated(u64),
    /// A caller-supplied event, already serialized with its id and time filled in.
    Json(Arc<str>),
}

/// One event in the log.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: u128,
    pub created_ms: i64,
    pub event_type: EventType,
    pub body: Body,
}

impl Entry {
    pub fn id_string(&self) -> String {
        format_id(self.id)
    }

    /// Appends the event's JSON to `out`.
    pub fn render(&self, enterprise_guid: &str, out: &mut String) {
        match &self.body {
            Body::Json(json) => out.push_str(json),
            Body::Generated(seq) => render_generated(self, *seq, enterprise_guid, out),
        }
    }
}

pub fn format_id(id: u128) -> String {
    uuid::Uuid::from_u128(id).hyphenated().to_string()
}

/// Parses an event id as sent back by a client. Anything that is not a UUID (Lookout's own
/// client starts from `"0"`) means "before the first event".
pub fn parse_id(text: &str) -> u128 {
    uuid::Uuid::parse_str(text.trim())
        .map(|u| u.as_u128())
        .unwrap_or(0)
}

/// The smallest id whose timestamp is `ms`: a lower bound for "events at or after `ms`".
pub fn id_floor_for_ms(ms: i64) -> u128 {
    (ms.max(0) as u128) << 80
}

/// Hands out strictly increasing UUIDv7 ids (RFC 9562 method 1: a 12-bit counter in `rand_a`
/// keeps ids minted in the same millisecond ordered).
#[derive(Debug, Default)]
pub struct IdGen {
    last_ms: i64,
    counter: u16,
}

impl IdGen {
    pub fn next(&mut self, ms: i64) -> u128 {
        if ms > self.last_ms {
            self.last_ms = ms;
            // Start low in the counter space so a burst within one millisecond has room.
            self.counter = fastrand::u16(0..256);
        } else if self.counter >= 0xfff {
            self.last_ms += 1;
            self.counter = 0;
        } else {
            self.counter += 1;
        }
        let rand_b = fastrand::u64(..) & ((1u64 << 62) - 1);
        ((self.last_ms as u128) << 80)
            | (0x7u128 << 76)
            | ((self.counter as u128) << 64)
            | (0b10u128 << 62)
            | rand_b as u128
    }
}

pub fn format_time(ms: i64) -> String {
    let t: DateTime<Utc> = Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
    // Lookout writes `+00:00`, not `Z`.
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// A stable pseudo-random value per (sequence, salt), so generated events are reproducible.
fn mix(seq: u64, salt: u64) -> u64 {
    let mut z = seq
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A v4-looking guid derived from a number.
fn guid(n: u64, salt: u64) -> String {
    let hi = mix(n, salt);
    let lo = mix(n, salt ^ 0x5555);
    let v = ((hi as u128) << 64 | lo as u128) & !(0xF000u128 << 64) & !(0xC000_0000_0000_0000u128);
    let v = v | (0x4000u128 << 64) | (0x8000_0000_0000_0000u128);
    format_id(v)
}

fn pick<T: Copy>(items: &[T], seq: u64, salt: u64) -> T {
    items[(mix(seq, salt) % items.len() as u64) as usize]
}

/// The type of the `seq`-th generated event when no types were asked for: mostly threats
/// and device changes, fewer audits and smishing alerts, as in a real tenant.
pub fn default_type_for(seq: u64) -> EventType {
    match seq % 10 {
        0..=3 => EventType::Threat,
        4..=6 => EventType::Device,
        7 | 8 => EventType::Audit,
        _ => EventType::SmishingAlert,
    }
}

const DEVICES: u64 = 2_000;

struct DeviceFacts {
    guid: String,
    platform: &'static str,
    manufacturer: &'static str,
    model: &'static str,
    os_version: &'static str,
    email: String,
}

fn device(n: u64) -> DeviceFacts {
    let android = !n.is_multiple_of(3);
    let (platform, manufacturer, model, os_version) = if android {
        let (m, d) = pick(
            &[
                ("Google", "Pixel 8"),
                ("samsung", "SM-S918B"),
                ("motorola", "moto g84"),
            ],
            n,
            1,
        );
        ("ANDROID", m, d, pick(&["13", "14", "15"], n, 2))
    } else {
        (
            "IOS",
            "Apple",
            pick(&["iPhone15,2", "iPhone16,1", "iPhone14,5"], n, 1),
            pick(&["17.6.1", "18.1", "18.2.1"], n, 2),
        )
    };
    DeviceFacts {
        guid: guid(n, 11),
        platform,
        manufacturer,
        model,
        os_version,
        email: format!("user{:04}@corp.example", n),
    }
}

fn render_generated(entry: &Entry, seq: u64, enterprise_guid: &str, out: &mut String) {
    let id = entry.id_string();
    let created = format_time(entry.created_ms);
    let dev = device(mix(seq, 3) % DEVICES);
    let _ = write!(
        out,
        r#"{{"id":"{id}","enterprise_guid":"{enterprise_guid}","created_time":"{created}","type":"{}","#,
        entry.event_type.as_str()
    );
    match entry.event_type {
        EventType::Threat => {
            let (ttype, class) = pick(
                &[
                    ("APPLICATION", "RISKWARE"),
                    ("APPLICATION", "TROJAN"),
                    ("NETWORK", "PORT_SCAN"),
                    ("NETWORK", "MAN_IN_THE_MIDDLE"),
                    ("OS", "OUT_OF_DATE_OS"),
                    ("CONFIGURATION", "USB_DEBUGGING"),
                    ("WEB_CONTENT", "PHISHING"),
                ],
                seq,
                4,
            );
            let severity = pick(&["LOW", "MEDIUM", "HIGH", "ADVISORY"], seq, 5);
            let (change, status) = pick(
                &[
                    ("CREATED", "OPEN"),
                    ("CREATED", "OPEN"),
                    ("UPDATED", "RESOLVED"),
                    ("UPDATED", "IGNORED"),
                ],
                seq,
                6,
            );
            let _ = write!(
                out,
                r#""change_type":"{change}","threat":{{"guid":"{}","status":"{status}","severity":"{severity}","type":"{ttype}","classifications":["{class}"],"details":"#,
                guid(seq, 7)
            );
            if ttype == "APPLICATION" {
                let pkg = pick(
                    &["com.doa.start", "com.flash.torch.free", "net.cleaner.boost"],
                    seq,
                    8,
                );
                let _ = write!(
                    out,
                    r#"{{"application_name":"{pkg}","package_name":"{pkg}","package_sha":"{:016x}{:016x}","path":"package://{pkg}","file_name":"{pkg}"}}}},"#,
                    mix(seq, 9),
                    mix(seq, 10)
                );
            } else {
                out.push_str("{}},");
            }
            // Lookout's own samples name the threat as target and the device as actor; other
            // deliveries name the device as target with its details. Both shapes occur.
            if seq.is_multiple_of(2) {
                let _ = write!(
                    out,
                    r#""target":{{"guid":"{}","type":"THREAT"}},"actor":{{"guid":"{}","type":"DEVICE"}}}}"#,
                    dev.guid, dev.guid
                );
            } else {
                let _ = write!(
                    out,
                    r#""target":{{"guid":"{}","type":"DEVICE","email_address":"{}","platform":"{}","os_version":"{}","manufacturer":"{}","model":"{}"}},"actor":{{"guid":"{}","type":"DEVICE"}}}}"#,
                    dev.guid,
                    dev.email,
                    dev.platform,
                    dev.os_version,
                    dev.manufacturer,
                    dev.model,
                    dev.guid
                );
            }
        }
        EventType::Device => {
            let change = pick(
                &["CREATED", "UPDATED", "UPDATED", "UPDATED", "PURGED"],
                seq,
                4,
            );
            let security = pick(
                &[
                    "SECURE",
                    "SECURE",
                    "THREAT_LOW",
                    "THREAT_MEDIUM",
                    "THREAT_HIGH",
                ],
                seq,
                5,
            );
            let activation = if change == "PURGED" {
                "DELETED"
            } else {
                pick(
                    &[
                        "ACTIVATED",
                        "ACTIVATED",
                        "ACTIVATED",
                        "PENDING",
                        "DEACTIVATED",
                    ],
                    seq,
                    6,
                )
            };
            let (pkg, ver) = if dev.platform == "ANDROID" {
                ("com.lookout.enterprise", "10.4.1.23")
            } else {
                ("com.lookout.work", "8.12.0")
            };
            let _ = write!(
                out,
                r#""change_type":"{change}","device":{{"guid":"{g}","platform":"{p}","profile_type":"WORK","info":{{"external_id":"ext-{n:05}","mdm_connector_id":"{mdm}","email":"{email}"}},"status":{{"security_status":"{security}","activation_status":"{activation}","protection_status":"PROTECTED"}},"hardware":{{"manufacturer":"{man}","model":"{model}"}},"software":{{"os_version":"{os}","sdk_version":"{sdk}","security_patch_level":"2025-01-05"}},"client":{{"ota_version":"{ver}","package_name":"{pkg}","package_version":"{ver}"}},"checkin_time":"{created}"}},"target":{{"guid":"{g}","type":"DEVICE"}},"actor":{{"guid":"{g}","type":"DEVICE"}}}}"#,
                g = dev.guid,
                p = dev.platform,
                n = mix(seq, 3) % DEVICES,
                mdm = mix(seq, 12) % 40,
                email = dev.email,
                man = dev.manufacturer,
                model = dev.model,
                os = dev.os_version,
                sdk = if dev.platform == "ANDROID" {
                    "34"
                } else {
                    "18"
                },
            );
        }
        EventType::Audit => {
            let admin = guid(mix(seq, 4) % 8, 13);
            match seq % 3 {
                0 => {
                    let _ = write!(
                        out,
                        r#""change_type":"CREATED","audit":{{"type":"CLASSIFICATION_POLICY","attribute_changes":[{{"name":"agent_outdated"}},{{"name":"severity","from":"medium","to":"high"}},{{"name":"override_properties","to":"[\"minimumCompliantVersion\"]"}},{{"name":"policy_group_name"}}]}},"actor":{{"guid":"{admin}","type":"ADMIN"}},"target":{{"guid":"{enterprise_guid}","type":"ENTERPRISE"}}}}"#,
                    );
                }
                1 => {
                    let _ = write!(
                        out,
                        r#""change_type":"CREATED","audit":{{"type":"ADMIN_LOGIN","attribute_changes":[{{"name":"email","to":"admin{}@corp.example"}}]}},"actor":{{"guid":"{admin}","type":"ADMIN"}},"target":{{"guid":"{enterprise_guid}","type":"ENTERPRISE"}}}}"#,
                        mix(seq, 4) % 8
                    );
                }
                _ => {
                    let _ = write!(
                        out,
                        r#""change_type":"UPDATED","audit":{{"type":"ENTERPRISE","attribute_changes":[{{"name":"device_inactivity_days","from":"30","to":"14"}}]}},"actor":{{"type":"SYSTEM"}},"target":{{"guid":"{enterprise_guid}","type":"ENTERPRISE"}}}}"#,
                    );
                }
            }
        }
        EventType::SmishingAlert => {
            let alert = guid(seq, 14);
            let (category, alert_type, url) = pick(
                &[
                    (
                        "EMBEDDED_PHISHING_URL",
                        "URL_DETECTION",
                        "http://parcel-redelivery.example/track?id=",
                    ),
                    (
                        "EMBEDDED_MALICIOUS_URL",
                        "URL_DETECTION",
                        "http://bank-verify.example/login?s=",
                    ),
                    (
                        "EMBEDDED_PHISHING_URL",
                        "URL_DETECTION",
                        "http://toll-payment.example/pay?ref=",
                    ),
                ],
                seq,
                4,
            );
            let severity = pick(&["HIGH", "MEDIUM", "LOW"], seq, 5);
            let _ = write!(
                out,
                r#""change_type":"CREATED","smishing_alert":{{"guid":"{alert}","type":"SMISHING","severity":"{severity}","description":"Suspicious link in a text message","detections":[{{"category":"{category}","alert_type":"{alert_type}","original_url":"{url}{:x}"}}]}},"target":{{"guid":"{alert}","type":"SMISHING_ALERT"}},"actor":{{"guid":"{}","type":"DEVICE"}}}}"#,
                mix(seq, 15) % 0xffff_ffff,
                dev.guid
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_strictly_increasing_and_version_7() {
        let mut ids = IdGen::default();
        let mut last = 0u128;
        for i in 0..10_000 {
            let id = ids.next(1_700_000_000_000 + i / 5000);
            assert!(id > last);
            assert_eq!(uuid::Uuid::from_u128(id).get_version_num(), 7);
            last = id;
        }
    }

    #[test]
    fn generated_events_are_valid_json_with_the_documented_fields() {
        let mut ids = IdGen::default();
        for seq in 0..200 {
            let event_type = EventType::ALL[(seq % 4) as usize];
            let entry = Entry {
                id: ids.next(1_740_045_318_817),
                created_ms: 1_740_045_318_817,
                event_type,
                body: Body::Generated(seq),
            };
            let mut out = String::new();
            entry.render("703d284e-0000-4000-8000-000000000001", &mut out);
            let v: serde_json::Value =
                serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
            assert_eq!(v["id"], entry.id_string());
            assert_eq!(v["type"], event_type.as_str());
            assert_eq!(v["created_time"], "2025-02-20T09:55:18.817+00:00");
            let key = event_type.as_str().to_ascii_lowercase();
            assert!(v[&key].is_object(), "{out}");
        }
    }
}
