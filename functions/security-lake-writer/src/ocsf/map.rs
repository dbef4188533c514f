//! A landed ECS record → one OCSF row of its class.
//!
//! The row carries the ECS fields OCSF has a place for, the vendor's original event as `raw_data` (rebuilt from
//! either record shape, so lean and full records give the same row), and every ECS field left over in `unmapped`
//! (JSON text), so nothing the record held is lost. Two facts of a landing are left out because they change when
//! the same event lands again: `event.ingested` and the collector's run/batch/stream provenance. That keeps a row a
//! pure function of the event, so rewriting an hour from re-landed objects writes the same file.

use chrono::DateTime;
use serde_json::{json, Map, Value};
use tributary_shared::event_id;
use tributary_shared::record::lean::original_of;

use super::classify::{classify, Facts};
use super::{schema, Class, Fallback, Row};

/// Per-run provenance the collectors write under `tributary` in full records; never part of a row.
const OPERATOR_PROVENANCE: &[&str] = &[
    "run",
    "batch",
    "stream_id",
    "stream",
    "window",
    "protocol",
    "request",
    "index",
];

/// Maps one NDJSON line. `fallback_time` (epoch ms) places a line that names no time of its own.
pub fn row(line: &[u8], fallback_time: i64) -> Row {
    let Ok(Value::Object(record)) = serde_json::from_slice::<Value>(line) else {
        return unreadable(line, fallback_time);
    };
    let time = record
        .get("@timestamp")
        .and_then(Value::as_str)
        .and_then(epoch_millis);
    let uid = record
        .get("event")
        .and_then(|e| e.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let (Some(time), Some(uid)) = (time, uid) else {
        return unreadable(line, fallback_time);
    };
    let raw_data = original_of(&Value::Object(record.clone())).map(|original| original.to_string());
    Mapper::new(record, time, uid, raw_data).finish()
}

/// A line that cannot be read as a record: a Base Event holding its text, named by the digest of that text.
fn unreadable(line: &[u8], time: i64) -> Row {
    let text = String::from_utf8_lossy(line).into_owned();
    let uid = event_id::digest_hex(line);
    let mut out = Out::default();
    common(&mut out, Class::Base, 0, time, &uid);
    out.set("raw_data", json!(text));
    out.set(
        "status_detail",
        json!("the landed line is not a record with event.id and @timestamp"),
    );
    Row {
        class: Class::Base,
        time,
        uid,
        json: out.into_json(),
        fallback: Some(Fallback::Unreadable),
    }
}

struct Mapper {
    ecs: Map<String, Value>,
    event: Map<String, Value>,
    time: i64,
    uid: String,
    vendor: String,
    event_type: String,
    raw_data: Option<String>,
    out: Out,
}

impl Mapper {
    fn new(mut ecs: Map<String, Value>, time: i64, uid: String, raw_data: Option<String>) -> Self {
        let event = match ecs.remove("event") {
            Some(Value::Object(event)) => event,
            _ => Map::new(),
        };
        let vendor = text(event.get("module")).unwrap_or_default();
        let event_type = text(event.get("dataset"))
            .and_then(|d| d.split_once('.').map(|(_, t)| t.to_owned()))
            .unwrap_or_default();
        ecs.remove("@timestamp");
        ecs.remove("ecs");
        ecs.remove(&vendor);
        // `related.*` repeats fields of the record (and only full records write it).
        ecs.remove("related");
        if let Some(Value::Object(tributary)) = ecs.get_mut("tributary") {
            for key in OPERATOR_PROVENANCE {
                tributary.remove(*key);
            }
            if tributary.is_empty() {
                ecs.remove("tributary");
            }
        }
        Mapper {
            ecs,
            event,
            time,
            uid,
            vendor,
            event_type,
            raw_data,
            out: Out::default(),
        }
    }

    fn finish(mut self) -> Row {
        let mut event = std::mem::take(&mut self.event);
        event.remove("id");
        event.remove("ingested");
        event.remove("module");
        event.remove("dataset");
        let kind = text(event.remove("kind").as_ref()).unwrap_or_default();
        let action = text(event.remove("action").as_ref()).unwrap_or_default();
        let category = strings(event.remove("category"));
        let types = strings(event.remove("type"));
        let outcome = text(event.remove("outcome").as_ref());
        let facts = Facts {
            vendor: &self.vendor,
            event_type: &self.event_type,
            kind: &kind,
            action: &action,
            category: &category.iter().map(String::as_str).collect::<Vec<_>>(),
            types: &types.iter().map(String::as_str).collect::<Vec<_>>(),
        };
        let unparsed = kind == "pipeline_error";
        let choice = if unparsed { None } else { classify(&facts) };
        let (class, activity_id, fallback) = match choice {
            Some(choice) => (choice.class, choice.activity_id, None),
            None if unparsed => (Class::Base, 0, Some(Fallback::Unparsed)),
            None => (Class::Base, 99, Some(Fallback::Unmapped)),
        };
        common(&mut self.out, class, activity_id, self.time, &self.uid);
        self.product();
        if !action.is_empty() {
            self.out.set("metadata.event_code", json!(action));
        }
        if let Some(tags) = self.ecs.remove("tags").filter(|t| t.is_array()) {
            self.out.set("metadata.labels", tags);
        }
        self.move_text("organization.id", "metadata.tenant_uid");
        if let Some(created) = text(event.remove("created").as_ref()) {
            self.out.set("metadata.original_time", json!(created));
        }
        for (from, to) in [("start", "start_time"), ("end", "end_time")] {
            if let Some(at) = event
                .get(from)
                .and_then(Value::as_str)
                .and_then(epoch_millis)
            {
                event.remove(from);
                self.out.set(to, json!(at));
            }
        }
        let (status_id, status) = match outcome.as_deref() {
            Some("success") => (1, "Success"),
            Some("failure") => (2, "Failure"),
            _ => (0, "Unknown"),
        };
        self.out.set("status_id", json!(status_id));
        self.out.set("status", json!(status));
        let score = event.remove("severity").and_then(|s| s.as_f64());
        let risk = event.get("risk_score").and_then(Value::as_f64);
        let (severity_id, severity) = severity(score.or(risk));
        self.out.set("severity_id", json!(severity_id));
        self.out.set("severity", json!(severity));
        if let Some(reason) = text(event.remove("reason").as_ref()) {
            self.out.set("message", json!(reason));
        } else {
            self.move_text("message", "message");
        }
        if unparsed {
            if let Some(original) = text(event.remove("original").as_ref()) {
                self.raw_data = Some(original);
            }
            self.move_text("error.message", "status_detail");
        }
        match class {
            Class::Authentication => self.authentication(),
            Class::AccountChange => self.account_change(),
            Class::ApiActivity => self.api_activity(&action),
            Class::EntityManagement => self.entity_management(),
            Class::DetectionFinding => self.detection_finding(&mut event, &action),
            Class::DeviceInventoryInfo => self.device(),
            Class::WebResourcesActivity => self.web_resources(),
            Class::Base => {}
        }
        if let Some(raw) = self.raw_data.take() {
            self.out.set("raw_data", json!(raw));
        }
        // Whatever ECS held that no attribute took: the event's own leftovers under `event`, as in the record.
        if !event.is_empty() {
            self.ecs.insert("event".to_owned(), Value::Object(event));
        }
        if !self.ecs.is_empty() {
            self.out.set(
                "unmapped",
                json!(Value::Object(std::mem::take(&mut self.ecs)).to_string()),
            );
        }
        Row {
            class,
            time: self.time,
            uid: self.uid,
            json: self.out.into_json(),
            fallback,
        }
    }

    fn product(&mut self) {
        let (vendor_name, product) = match self.vendor.as_str() {
            "transmit" => ("Transmit Security", "Mosaic"),
            "easysend" => ("EasySend", "EasySend"),
            "lookout" => ("Lookout", "Mobile Risk API"),
            "strivacity" => ("Strivacity", "Strivacity Fusion"),
            other => (other, other),
        };
        self.out
            .set("metadata.product.vendor_name", json!(vendor_name));
        self.out.set("metadata.product.name", json!(product));
        if !self.event_type.is_empty() {
            self.out
                .set("metadata.product.feature.name", json!(self.event_type));
            self.out.set(
                "metadata.log_name",
                json!(format!("{}.{}", self.vendor, self.event_type)),
            );
        }
    }

    /// The vendor's original event, read-only, for the few facts ECS does not carry.
    fn original(&self) -> Value {
        self.raw_data
            .as_deref()
            .and_then(|raw| serde_json::from_str(raw).ok())
            .unwrap_or(Value::Null)
    }

    fn move_text(&mut self, from: &str, to: &str) -> bool {
        match take(&mut self.ecs, from)
            .as_ref()
            .and_then(|v| text(Some(v)))
        {
            Some(value) => {
                self.out.set(to, json!(value));
                true
            }
            None => false,
        }
    }

    /// `user` from ECS `user.*`; OCSF requires it in some classes even when the vendor names nobody, so then it
    /// says the user is unknown.
    fn user(&mut self, at: &str, from: &str, required: bool) {
        let mut named = false;
        for (ecs, ocsf) in [("id", "uid"), ("name", "name"), ("email", "email_addr")] {
            named |= self.move_text(&format!("{from}.{ecs}"), &format!("{at}.{ocsf}"));
        }
        if !named && required {
            self.out.set(&format!("{at}.type"), json!("Unknown"));
        }
    }

    fn source(&mut self) {
        let ip = take(&mut self.ecs, "source.ip");
        let client_ip = self.ecs.get("client").and_then(|c| c.get("ip")).cloned();
        if let Some(ip) = ip.clone().or(client_ip.clone()) {
            self.out.set("src_endpoint.ip", ip);
        }
        if ip.is_none() || ip == client_ip {
            take(&mut self.ecs, "client.ip");
        }
        let geo = ["source.geo", "client.geo"]
            .into_iter()
            .find(|path| lookup(&self.ecs, path).is_some());
        if let Some(geo) = geo {
            for (ecs, ocsf) in [
                ("city_name", "city"),
                ("country_iso_code", "country"),
                ("country_name", "country"),
                ("region_name", "region"),
            ] {
                let to = format!("src_endpoint.location.{ocsf}");
                if !self.out.has(&to) {
                    self.move_text(&format!("{geo}.{ecs}"), &to);
                }
            }
        }
        self.move_text("user_agent.original", "http_request.user_agent");
    }

    fn authentication(&mut self) {
        self.user("user", "user", true);
        self.source();
        if self.vendor == "strivacity" {
            if let Some(session) = text(self.original().get("loginSessionId")) {
                self.out.set("session.uid", json!(session));
            }
        }
        let mfa = self.event_type == "player"
            && self
                .out
                .get("metadata.event_code")
                .is_some_and(|c| c.contains("OTP"));
        if mfa {
            self.out.set("is_mfa", json!(true));
        }
    }

    fn account_change(&mut self) {
        if lookup(&self.ecs, "user.target").is_some() {
            self.user("user", "user.target", true);
            self.user("actor.user", "user", false);
        } else {
            self.user("user", "user", true);
        }
        self.source();
    }

    fn api_activity(&mut self, action: &str) {
        self.out.set("api.operation", json!(action));
        self.user("actor.user", "user", true);
        let original = self.original();
        if let Some(kind) = text(original.get("actor_type")) {
            self.out.set("actor.user.type", json!(kind));
        }
        let uid = text(original.get("target_resource_id"));
        let kind = text(original.get("target_resource_type"));
        if uid.is_some() || kind.is_some() {
            self.out
                .set("resources", json!([{"uid": uid, "type": kind}]));
        }
        self.source();
        // API Activity requires `src_endpoint`; an event without an address still says where it came from: nowhere
        // known, as an empty endpoint.
        if !self.out.has("src_endpoint") {
            self.out.set("src_endpoint", json!({}));
        }
    }

    fn entity_management(&mut self) {
        let original = self.original();
        match self.vendor.as_str() {
            "lookout" => {
                let entity = json!({
                    "uid": text(original.pointer("/target/guid")),
                    "type": text(original.pointer("/target/type")),
                    "name": text(original.pointer("/audit/type")),
                    "data": original.pointer("/audit/attribute_changes").map(Value::to_string),
                });
                self.out.set("entity", entity);
                if let Some(uid) = text(original.pointer("/actor/guid")) {
                    self.out.set("actor.user.uid", json!(uid));
                }
                if let Some(kind) = text(original.pointer("/actor/type")) {
                    self.out.set("actor.user.type", json!(kind));
                }
            }
            _ => {
                let data = match (original.get("before"), original.get("after")) {
                    (None, None) => None,
                    (before, after) => Some(json!({"before": before, "after": after}).to_string()),
                };
                let entity = json!({
                    "uid": text(original.get("url")).or_else(|| text(original.get("entityId"))),
                    "name": text(original.get("entity")),
                    "data": data,
                });
                self.out.set("entity", entity);
                self.user("actor.user", "user", false);
            }
        }
        if !self.out.has("entity.uid") && !self.out.has("entity.name") {
            self.out.set("entity.name", json!("unknown"));
        }
    }

    fn detection_finding(&mut self, event: &mut Map<String, Value>, action: &str) {
        let uid = take(&mut self.ecs, "rule.id")
            .as_ref()
            .and_then(|v| text(Some(v)))
            .unwrap_or_else(|| self.uid.clone());
        self.out.set("finding_info.uid", json!(uid));
        let original = self.original();
        // Transmit's risk events name their verdict only in the original (`additional_params.recommendation`).
        let verdict = text(original.pointer("/additional_params/recommendation"));
        let title = take(&mut self.ecs, "rule.name")
            .as_ref()
            .and_then(|v| text(Some(v)))
            .or_else(|| verdict.map(|v| format!("{action}: {v}")))
            .unwrap_or_else(|| action.to_owned());
        self.out.set("finding_info.title", json!(title));
        self.move_text("rule.description", "finding_info.desc");
        if let Some(category) = take(&mut self.ecs, "rule.category")
            .as_ref()
            .and_then(|v| text(Some(v)))
        {
            self.out.set("finding_info.types", json!([category]));
        }
        self.move_text("url.original", "finding_info.src_url");
        if let Some(score) = event.remove("risk_score").and_then(|s| s.as_f64()) {
            self.out.set("risk_score", json!(score.round() as i64));
        }
        let status = original
            .pointer("/threat/status")
            .or_else(|| original.pointer("/smishing_alert/status"))
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase);
        // A finding's status is its own enum (New, In Progress, Suppressed, Resolved), not the outcome's.
        let (status_id, status) = match status.as_deref() {
            None | Some("OPEN") | Some("NEW") => (1, "New"),
            Some("RESOLVED") | Some("CLOSED") | Some("FIXED") => (4, "Resolved"),
            Some("IGNORED") | Some("DISMISSED") => (3, "Suppressed"),
            Some(_) => (99, "Other"),
        };
        self.out.set("status_id", json!(status_id));
        self.out.set("status", json!(status));
        self.user("actor.user", "user", false);
        self.device();
    }

    fn device(&mut self) {
        let uid = take(&mut self.ecs, "device.id")
            .or_else(|| self.ecs.get("host").and_then(|h| h.get("id")).cloned());
        if take(&mut self.ecs, "host.id").is_some() || uid.is_some() || self.out.has("finding_info")
        {
            // Lookout reports on mobile devices; the others name a browser or device they do not describe.
            let (type_id, kind) = if self.vendor == "lookout" {
                (5, "Mobile")
            } else {
                (0, "Unknown")
            };
            if let Some(uid) = uid.as_ref().and_then(|v| text(Some(v))) {
                self.out.set("device.uid", json!(uid));
            }
            if self.out.has("device.uid") || self.out.class == Some(Class::DeviceInventoryInfo) {
                self.out.set("device.type_id", json!(type_id));
                self.out.set("device.type", json!(kind));
            }
        }
        self.move_text("host.hostname", "device.hostname");
        if lookup(&self.ecs, "host.os").is_some() {
            let platform = take(&mut self.ecs, "host.os.platform")
                .as_ref()
                .and_then(|v| text(Some(v)));
            let name = take(&mut self.ecs, "host.os.name")
                .as_ref()
                .and_then(|v| text(Some(v)));
            let version = take(&mut self.ecs, "host.os.version")
                .as_ref()
                .and_then(|v| text(Some(v)));
            let family = platform
                .clone()
                .or(name.clone())
                .unwrap_or_default()
                .to_ascii_lowercase();
            let (type_id, kind) = match family.as_str() {
                "android" => (201, "Android"),
                "ios" => (301, "iOS"),
                "ipados" => (302, "iPadOS"),
                "windows" => (100, "Windows"),
                "macos" => (300, "macOS"),
                "linux" => (200, "Linux"),
                "" => (0, "Unknown"),
                _ => (99, "Other"),
            };
            take(&mut self.ecs, "host.os.type");
            self.out.set(
                "device.os",
                json!({"name": name.or(platform).unwrap_or_else(|| "Unknown".to_owned()), "type_id": type_id, "type": kind, "version": version}),
            );
            if !self.out.has("device.type_id") {
                self.out.set("device.type_id", json!(0));
                self.out.set("device.type", json!("Unknown"));
            }
        }
    }

    fn web_resources(&mut self) {
        let url = take(&mut self.ecs, "url.full").or_else(|| take(&mut self.ecs, "url.original"));
        let page = take(&mut self.ecs, "labels.page_name");
        let flow = take(&mut self.ecs, "labels.webflow_id");
        let flow_name = take(&mut self.ecs, "labels.web_flow_name");
        if let Some(url) = &url {
            self.out.set("http_request.url.url_string", url.clone());
            self.move_text("url.domain", "http_request.url.hostname");
        }
        self.out.set(
            "web_resources",
            json!([{"url_string": url, "name": page, "uid": flow, "type": flow_name}]),
        );
        self.source();
    }
}

/// The attributes every row has: classification, time and metadata.
fn common(out: &mut Out, class: Class, activity_id: u32, time: i64, uid: &str) {
    let (category_uid, category_name) = class.category();
    let activity_name = class.activity_name(activity_id);
    out.class = Some(class);
    out.set("class_uid", json!(class.uid()));
    out.set("class_name", json!(class.caption()));
    out.set("category_uid", json!(category_uid));
    out.set("category_name", json!(category_name));
    out.set("activity_id", json!(activity_id));
    out.set("activity_name", json!(activity_name));
    out.set(
        "type_uid",
        json!(u64::from(class.uid()) * 100 + u64::from(activity_id)),
    );
    out.set(
        "type_name",
        json!(format!("{}: {}", class.caption(), activity_name)),
    );
    out.set("severity_id", json!(1));
    out.set("severity", json!("Informational"));
    out.set("time", json!(time));
    out.set("metadata.version", json!(schema::version()));
    out.set("metadata.uid", json!(uid));
    out.set("metadata.log_provider", json!("tributary"));
}

/// OCSF severity from the 0–100 score ECS uses (Elastic's bands); no score is Informational.
fn severity(score: Option<f64>) -> (u32, &'static str) {
    match score {
        None => (1, "Informational"),
        Some(s) if s <= 1.0 => (1, "Informational"),
        Some(s) if s <= 21.0 => (2, "Low"),
        Some(s) if s <= 47.0 => (3, "Medium"),
        Some(s) if s <= 73.0 => (4, "High"),
        Some(_) => (5, "Critical"),
    }
}

fn epoch_millis(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.timestamp_millis())
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(value: Option<Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(|i| text(Some(i))).collect(),
        Some(other) => text(Some(&other)).into_iter().collect(),
        None => Vec::new(),
    }
}

fn lookup<'a>(map: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let value = map.get(head)?;
    match rest {
        None => Some(value),
        Some(rest) => lookup(value.as_object()?, rest),
    }
}

/// Removes the value at a dotted path, and any object that removal leaves empty.
fn take(map: &mut Map<String, Value>, path: &str) -> Option<Value> {
    match path.split_once('.') {
        None => map.remove(path),
        Some((head, rest)) => {
            let child = map.get_mut(head)?.as_object_mut()?;
            let taken = take(child, rest);
            if child.is_empty() {
                map.remove(head);
            }
            taken
        }
    }
}

/// The row being built, by dotted paths.
#[derive(Default)]
struct Out {
    row: Map<String, Value>,
    class: Option<Class>,
}

impl Out {
    fn set(&mut self, path: &str, value: Value) {
        if value.is_null() {
            return;
        }
        let mut node = &mut self.row;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                node.insert(part.to_owned(), value);
                return;
            }
            let child = node
                .entry(part.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            node = child.as_object_mut().expect("made an object above");
        }
    }

    fn has(&self, path: &str) -> bool {
        lookup(&self.row, path).is_some()
    }

    fn get(&self, path: &str) -> Option<&str> {
        lookup(&self.row, path).and_then(Value::as_str)
    }

    fn into_json(self) -> Vec<u8> {
        strip_nulls(Value::Object(self.row))
            .to_string()
            .into_bytes()
    }
}

/// Nulls inside objects built with `json!` (an absent vendor field) are left out, as absent attributes are.
fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}
