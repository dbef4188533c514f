//! A landed ECS record → one OCSF row of its class.
//!
//! The row carries the ECS fields OCSF has a place for, the vendor's original event as `raw_data` (rebuilt from
//! either record shape, so lean and full records give the same row), and every ECS field left over in `unmapped`
//! (JSON text), so nothing the record held is lost. Two facts of a landing are left out because they change when
//! the same event lands again: `event.ingested` and the collector's run/batch/stream provenance. That keeps a row a
//! pure function of the event, so rewriting an hour from re-landed objects writes the same file.
//!
//! Where OCSF requires an attribute the vendor did not send (a user for Authentication, an endpoint for API
//! Activity, a name for a web resource), the row says "Unknown" rather than leaving the row invalid.

use serde_json::{json, Map, Value};
use tributary_shared::event_id;
use tributary_shared::record::lean::original_of;

use super::classify::{classify, Facts};
use super::values::{epoch_millis, lookup, strings, take, take_number, take_text, text, Out};
use super::{schema, Class, Fallback, Row};

/// Per-run provenance the collectors write under `tributary` in full records; never part of a row (except for
/// `_unparsed` records, whose ids are made from it).
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
        return unreadable(line, fallback_time, None);
    };
    let uid = record
        .get("event")
        .and_then(|e| e.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let time = record
        .get("@timestamp")
        .and_then(Value::as_str)
        .and_then(epoch_millis);
    let (Some(time), Some(uid)) = (time, uid.clone()) else {
        // A record without an id, or whose time is none RFC 3339 can say (a year past 9999): kept whole, under its
        // own id where it has one, so landing it again does not make a second row.
        return unreadable(line, fallback_time, uid);
    };
    let record = Value::Object(record);
    let original = original_of(&record).unwrap_or(Value::Null);
    let Value::Object(record) = record else {
        unreachable!("made an object above")
    };
    Mapper::new(record, time, uid, original).finish()
}

/// A line that cannot be read as a record: a Base Event holding its text.
fn unreadable(line: &[u8], time: i64, uid: Option<String>) -> Row {
    let uid = uid.unwrap_or_else(|| event_id::digest_hex(line));
    base_event(
        time,
        uid,
        String::from_utf8_lossy(line).into_owned(),
        "the landed line is not a record with event.id and an RFC 3339 @timestamp",
        Fallback::Unreadable,
    )
}

/// A Base Event that keeps `raw` whole and says why in `status_detail`.
pub fn base_event(time: i64, uid: String, raw: String, detail: &str, why: Fallback) -> Row {
    let mut out = Out::default();
    common(&mut out, Class::Base, 0, time, &uid);
    out.set("raw_data", json!(raw));
    out.set("status_detail", json!(detail));
    Row {
        class: Class::Base,
        time,
        uid,
        json: out.into_json(),
        fallback: Some(why),
    }
}

struct Mapper {
    ecs: Map<String, Value>,
    event: Map<String, Value>,
    time: i64,
    uid: String,
    vendor: String,
    event_type: String,
    /// The vendor's event, rebuilt from the record: read for the few facts ECS does not carry, and written as
    /// `raw_data`.
    original: Value,
    /// What `raw_data` holds instead, for an `_unparsed` record: the text that could not be parsed.
    unparsed_text: Option<String>,
    out: Out,
}

impl Mapper {
    fn new(mut ecs: Map<String, Value>, time: i64, uid: String, original: Value) -> Self {
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
        let unparsed = event.get("kind").and_then(Value::as_str) == Some("pipeline_error");
        if let (false, Some(Value::Object(tributary))) = (unparsed, ecs.get_mut("tributary")) {
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
            original,
            unparsed_text: None,
            out: Out::default(),
        }
    }

    fn finish(mut self) -> Row {
        let mut event = std::mem::take(&mut self.event);
        for key in ["id", "ingested", "module", "dataset"] {
            event.remove(key);
        }
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
        if let Some(tags) = self.ecs.remove("tags") {
            self.out.set("metadata.labels", json!(strings(Some(tags))));
        }
        self.move_text("organization.id", "metadata.tenant_uid");
        if let Some(created) = take_text(&mut event, "created") {
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
        let score = take_number(&mut event, "severity");
        let risk = event.get("risk_score").and_then(Value::as_f64);
        let (severity_id, severity) = severity(score.or(risk));
        self.out.set("severity_id", json!(severity_id));
        self.out.set("severity", json!(severity));
        if let Some(reason) = take_text(&mut event, "reason") {
            self.out.set("message", json!(reason));
        } else {
            self.move_text("message", "message");
        }
        if unparsed {
            self.unparsed_text = take_text(&mut event, "original");
            self.move_text("error.message", "status_detail");
        }
        let original = std::mem::take(&mut self.original);
        match class {
            Class::Authentication => self.authentication(&original),
            Class::AccountChange => self.account_change(),
            Class::ApiActivity => self.api_activity(&action, &original),
            Class::EntityManagement => self.entity_management(&original),
            Class::DetectionFinding => self.detection_finding(&mut event, &action, &original),
            Class::DeviceInventoryInfo => self.device(),
            Class::WebResourcesActivity => self.web_resources(),
            Class::Base => {}
        }
        let raw = match self.unparsed_text.take() {
            Some(text) => Some(text),
            None => (!original.is_null()).then(|| original.to_string()),
        };
        self.out.set("raw_data", json!(raw));
        // Whatever ECS held that no attribute took: the event's own leftovers under `event`, as in the record.
        if !event.is_empty() {
            self.ecs.insert("event".to_owned(), Value::Object(event));
        }
        if !self.ecs.is_empty() {
            let unmapped = Value::Object(std::mem::take(&mut self.ecs)).to_string();
            self.out.set("unmapped", json!(unmapped));
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
            let log_name = format!("{}.{}", self.vendor, self.event_type);
            self.out.set("metadata.log_name", json!(log_name));
        }
    }

    /// Moves a text (or number) from ECS to the row; a value of another kind stays in ECS, so in `unmapped`.
    fn move_text(&mut self, from: &str, to: &str) -> bool {
        match take_text(&mut self.ecs, from) {
            Some(value) => {
                self.out.set(to, json!(value));
                true
            }
            None => false,
        }
    }

    /// `user` from ECS `user.*`. OCSF requires a user in some classes, with a name, uid or account: when the
    /// vendor names nobody, the row says the user is unknown.
    fn user(&mut self, at: &str, from: &str, required: bool) {
        let mut named = false;
        for (ecs, ocsf) in [("id", "uid"), ("name", "name"), ("email", "email_addr")] {
            named |= self.move_text(&format!("{from}.{ecs}"), &format!("{at}.{ocsf}"));
        }
        if !self.out.has(&format!("{at}.uid")) && !self.out.has(&format!("{at}.name")) {
            if let Some(email) = self.out.get(&format!("{at}.email_addr")).map(str::to_owned) {
                self.out.set(&format!("{at}.name"), json!(email));
            } else if !named && required {
                self.out.set(&format!("{at}.name"), json!("Unknown"));
                self.out.set(&format!("{at}.type_id"), json!(0));
                self.out.set(&format!("{at}.type"), json!("Unknown"));
            }
        }
    }

    /// `<at>.type_id` and `.type` from a vendor's word for the kind of user.
    fn user_type(&mut self, at: &str, kind: &str) {
        let (type_id, caption) = match kind.to_ascii_lowercase().as_str() {
            "user" => (1, "User".to_owned()),
            "admin" | "administrator" => (2, "Admin".to_owned()),
            "system" => (3, "System".to_owned()),
            _ => (99, kind.to_owned()),
        };
        self.out.set(&format!("{at}.type_id"), json!(type_id));
        self.out.set(&format!("{at}.type"), json!(caption));
        if !self.out.has(&format!("{at}.uid")) && !self.out.has(&format!("{at}.name")) {
            self.out.set(&format!("{at}.name"), json!(caption));
        }
    }

    fn source(&mut self) {
        let ip = text(lookup(&self.ecs, "source.ip"));
        let client_ip = text(lookup(&self.ecs, "client.ip"));
        if ip.is_some() {
            take(&mut self.ecs, "source.ip");
        }
        if client_ip.is_some() && (ip.is_none() || ip == client_ip) {
            take(&mut self.ecs, "client.ip");
        }
        if let Some(ip) = ip.or(client_ip) {
            self.out.set("src_endpoint.ip", json!(ip));
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

    fn authentication(&mut self, original: &Value) {
        self.user("user", "user", true);
        self.source();
        // OCSF asks an authentication for the service or the endpoint logged on to: the vendor's product, and the
        // application where ECS names one.
        self.move_text("service.id", "service.uid");
        let product = self.out.get("metadata.product.name").map(str::to_owned);
        self.out.set("service.name", json!(product));
        if self.vendor == "strivacity" {
            if let Some(session) = text(original.get("loginSessionId")) {
                self.out.set("session.uid", json!(session));
            }
        }
        let otp = self.vendor == "easysend"
            && self
                .out
                .get("metadata.event_code")
                .is_some_and(|c| c.contains("OTP"));
        if otp {
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

    fn api_activity(&mut self, action: &str, original: &Value) {
        let operation = if action.is_empty() { "Unknown" } else { action };
        self.out.set("api.operation", json!(operation));
        self.user("actor.user", "user", false);
        if let Some(kind) = text(original.get("actor_type")) {
            self.user_type("actor.user", &kind);
        }
        if !self.out.has("actor.user") {
            self.user("actor.user", "user", true);
        }
        let uid = text(original.get("target_resource_id"));
        let kind = text(original.get("target_resource_type"));
        // A resource needs a name or uid in OCSF; with only a type, the type names it.
        if uid.is_some() || kind.is_some() {
            let name = if uid.is_none() { kind.clone() } else { None };
            let resource = json!([{"uid": uid, "type": kind, "name": name}]);
            self.out.set("resources", resource);
        }
        self.source();
        // API Activity requires `src_endpoint`, and an endpoint needs an address or a name: an event without an
        // address says so by name.
        if !self.out.has("src_endpoint.ip") {
            self.out.set("src_endpoint.name", json!("Unknown"));
        }
    }

    fn entity_management(&mut self, original: &Value) {
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
                    self.user_type("actor.user", &kind);
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
            self.out.set("entity.name", json!("Unknown"));
        }
    }

    fn detection_finding(
        &mut self,
        event: &mut Map<String, Value>,
        action: &str,
        original: &Value,
    ) {
        let uid = take_text(&mut self.ecs, "rule.id").unwrap_or_else(|| self.uid.clone());
        self.out.set("finding_info.uid", json!(uid));
        // Transmit's risk events name their verdict only in the original (`additional_params.recommendation`).
        let verdict = text(original.pointer("/additional_params/recommendation"));
        let title = take_text(&mut self.ecs, "rule.name")
            .or_else(|| verdict.map(|v| format!("{action}: {v}")))
            .or_else(|| (!action.is_empty()).then(|| action.to_owned()))
            .unwrap_or_else(|| "Unknown".to_owned());
        self.out.set("finding_info.title", json!(title));
        self.move_text("rule.description", "finding_info.desc");
        if let Some(category) = take_text(&mut self.ecs, "rule.category") {
            self.out.set("finding_info.types", json!([category]));
        }
        self.move_text("url.original", "finding_info.src_url");
        if let Some(score) = take_number(event, "risk_score") {
            // OCSF's risk_score is an integer_t (32 bits).
            let score = score.round().clamp(0.0, f64::from(i32::MAX)) as i64;
            self.out.set("risk_score", json!(score));
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

    /// `device`: the id, host name and OS ECS has. Whenever a device is written it has its required `type_id`,
    /// and Device Inventory Info always writes one.
    fn device(&mut self) {
        let uid = take_text(&mut self.ecs, "device.id");
        let host_id = take_text(&mut self.ecs, "host.id");
        if let Some(uid) = uid.or(host_id) {
            self.out.set("device.uid", json!(uid));
        }
        self.move_text("host.hostname", "device.hostname");
        if lookup(&self.ecs, "host.os").is_some() {
            let platform = take_text(&mut self.ecs, "host.os.platform");
            let name = take_text(&mut self.ecs, "host.os.name");
            let version = take_text(&mut self.ecs, "host.os.version");
            let family = platform
                .clone()
                .or(name.clone())
                .unwrap_or_default()
                .to_ascii_lowercase();
            // `host.os.type` goes only where it repeats the platform; otherwise it stays for `unmapped`.
            if text(lookup(&self.ecs, "host.os.type"))
                .is_some_and(|t| t.eq_ignore_ascii_case(&family))
            {
                take(&mut self.ecs, "host.os.type");
            }
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
            let name = name.or(platform).unwrap_or_else(|| "Unknown".to_owned());
            let os = json!({"name": name, "type_id": type_id, "type": kind, "version": version});
            self.out.set("device.os", os);
        }
        if self.out.has("device") || self.out.class == Some(Class::DeviceInventoryInfo) {
            // Lookout reports on mobile devices; the others name a browser or device they do not describe.
            let (type_id, kind) = if self.vendor == "lookout" {
                (5, "Mobile")
            } else {
                (0, "Unknown")
            };
            self.out.set("device.type_id", json!(type_id));
            self.out.set("device.type", json!(kind));
        }
    }

    fn web_resources(&mut self) {
        let url = take_text(&mut self.ecs, "url.full")
            .or_else(|| take_text(&mut self.ecs, "url.original"));
        let page = take_text(&mut self.ecs, "labels.page_name");
        let flow = take_text(&mut self.ecs, "labels.webflow_id");
        let flow_name = take_text(&mut self.ecs, "labels.web_flow_name");
        if let Some(url) = &url {
            self.out.set("http_request.url.url_string", json!(url));
            self.move_text("url.domain", "http_request.url.hostname");
        }
        // A web resource needs a name or uid in OCSF: the page, else the address, else "Unknown".
        let name = match (&page, &flow) {
            (Some(page), _) => Some(page.clone()),
            (None, Some(_)) => None,
            (None, None) => Some(url.clone().unwrap_or_else(|| "Unknown".to_owned())),
        };
        let resource = json!([{"url_string": url, "name": name, "uid": flow, "type": flow_name}]);
        self.out.set("web_resources", resource);
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
