//! EasySend security log → ECS record.
//!
//! EasySend writes `@timestamp` without a zone (`2024-11-20T10:37:42.943305`); its API speaks UTC
//! throughout, so a zoneless timestamp is read as UTC. (`event.timezone` in the logs holds values like
//! `localhost`, which name no zone, so it cannot say otherwise.) An explicit offset, should one appear,
//! is honoured. The text is read by the shared `time::parse`.
//!
//! The logs are already ECS 8.11-shaped; those fields stay where ECS puts them (`client`, `user_agent`,
//! `url`, `organization`, `service`, `message`, `event.action`), `geo` moves under `client.geo`, the
//! client address is also `source.ip`, `os` becomes `user_agent.os`, and the vendor's `label` map becomes
//! ECS `labels` (values as strings). The log itself is kept whole under `easysend`. EasySend sends no
//! id, so `event.id` is a digest of the log's canonical JSON.

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use tributary_shared::event_id;
use tributary_shared::members::Members;
use tributary_shared::record::{Outcome, Record};
use tributary_shared::time::{self, TimeError};

pub const VENDOR: &str = "easysend";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MapError {
    #[error("the log is not valid JSON: {0}")]
    Json(String),
    #[error("the log is not a JSON object")]
    NotObject,
    #[error("the log has no @timestamp")]
    NoTimestamp,
    #[error("the log's @timestamp: {0}")]
    BadTimestamp(TimeError),
}

/// A log parsed far enough to place it in time.
pub struct ParsedLog<'a> {
    pub value: Value,
    pub timestamp: DateTime<Utc>,
    /// The log's members, found by the same parse (`None` when a key has escapes).
    members: Option<Members<'a>>,
}

/// Parses one raw log and reads its time.
pub fn parse(raw: &[u8]) -> Result<ParsedLog<'_>, MapError> {
    // Checked as UTF-8 once, in one pass, rather than string by string as `from_slice` would: about 20% less
    // time to parse a log.
    let text = std::str::from_utf8(raw)
        .map_err(|e| MapError::Json(format!("the text is not UTF-8: {e}")))?;
    // The members come with the values: reading them in a second pass cost 4% of a landed log's instructions.
    let object = Members::parse_object(text)
        .map_err(|e| MapError::Json(e.to_string()))?
        .ok_or(MapError::NotObject)?;
    let value = Value::Object(object.fields);
    let time = value
        .get("@timestamp")
        .and_then(Value::as_str)
        .ok_or(MapError::NoTimestamp)?;
    let timestamp = time::parse(time).map_err(MapError::BadTimestamp)?;
    Ok(ParsedLog {
        value,
        timestamp,
        members: object.members,
    })
}

/// `player` or `builder` from `product_type` (or `label.app_type`), lower case.
pub fn event_type(log: &Value) -> String {
    let named = log
        .get("product_type")
        .and_then(Value::as_str)
        .or_else(|| log.pointer("/label/app_type").and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match named {
        Some(name) => name.to_ascii_lowercase(),
        None => "unknown".to_owned(),
    }
}

/// How an action reads in ECS terms.
fn classify(action: &str) -> (&'static [&'static str], &'static [&'static str], Outcome) {
    const AUTH: &[&str] = &["authentication"];
    const WEB: &[&str] = &["web"];
    let folded: String = action
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let folded = folded.trim_start_matches("checkauthresponse");
    match folded {
        "authenticationsucceed" | "authenticationsucceeded" | "otppassed" => {
            (AUTH, &["start"], Outcome::Success)
        }
        "authenticationfailed" | "authenticationerror" | "missingcredentials" | "otpfailed" => {
            (AUTH, &["start"], Outcome::Failure)
        }
        "sessionblocked" => (AUTH, &["denied"], Outcome::Failure),
        "otpsent" | "otpresent" => (AUTH, &["info"], Outcome::Unknown),
        "opened" | "linkopened" => (WEB, &["access"], Outcome::Unknown),
        "linksent" | "datasubmitted" | "stepcompleted" | "completed" => {
            (WEB, &["info"], Outcome::Unknown)
        }
        _ => (&[], &["info"], Outcome::Unknown),
    }
}

/// Where a record came from, stamped into `tributary.*`.
pub struct Provenance<'a> {
    pub stream: &'a str,
    /// The grid window the log was fetched for.
    pub window: &'a str,
}

/// Maps a parsed log (and its raw text, kept verbatim) to a record. The log's ECS objects move into the record
/// instead of being copied: the record keeps the vendor's text as its original, so nothing reads the parsed log
/// afterwards.
pub fn to_record(raw: &[u8], log: ParsedLog<'_>, provenance: &Provenance<'_>) -> Record {
    let ParsedLog {
        value: mut log,
        timestamp,
        members,
    } = log;
    let id = event_id::from_canonical_json(&log);
    // The lean writer needs the log's members: kept in the record, they let it read them from where they lie, and
    // the record keep the text without checking it as JSON again (the parse checked it). A log with an escaped key
    // has them read here, without places.
    let members = members.or_else(|| {
        std::str::from_utf8(raw)
            .ok()
            .and_then(|text| Members::parse(text).ok())
    });
    let event_type = event_type(&log);
    let mut record = match &members {
        Some(members) => Record::of_members(VENDOR, event_type, timestamp, id, members),
        // `parse` accepted these bytes as a JSON object, so this does not happen; were it to, the log as parsed
        // stands for its text.
        None => Record::new(
            VENDOR,
            event_type,
            timestamp,
            id,
            RawValue::from_string(log.to_string()).expect("a Value serializes to valid JSON"),
        ),
    }
    .with_operator_provenance("stream", provenance.stream)
    .with_operator_provenance("window", provenance.window);

    if let Some(action) = log.pointer("/event/action").and_then(Value::as_str) {
        let (category, types, outcome) = classify(action);
        record = record
            .with_action(action)
            .with_category(category)
            .with_types(types)
            .with_outcome(outcome);
    }
    let Value::Object(log) = &mut log else {
        return record;
    };
    for field in ["message", "url", "organization", "service"] {
        if let Some(v) = log.remove(field) {
            record = record.with_field(field, v);
        }
    }
    let mut client = log.remove("client").unwrap_or(Value::Null);
    if let Some(geo) = log.remove("geo").filter(Value::is_object) {
        if !client.is_object() {
            client = Value::Object(Map::new());
        }
        client["geo"] = geo;
    }
    let ip = client.get("ip").cloned();
    record = record.with_field("client", client);
    record = record.with_path("source.ip", ip);
    let mut user_agent = log.remove("user_agent").unwrap_or(Value::Null);
    if let Some(Value::Object(os)) = log.remove("os") {
        if !user_agent.is_object() {
            user_agent = Value::Object(Map::new());
        }
        let ua_os = user_agent
            .as_object_mut()
            .expect("made an object above")
            .entry("os")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(ua_os) = ua_os {
            for (k, v) in os {
                ua_os.entry(k).or_insert(v);
            }
        }
    }
    record = record.with_field("user_agent", user_agent);
    if let Some(Value::Object(mut labels)) = log.remove("label") {
        // Changed where they stand: most labels are strings already, and rebuilding the map would allocate its
        // nodes again and free the old ones.
        labels.retain(|_, v| !v.is_null());
        for v in labels.values_mut() {
            if !v.is_string() {
                *v = Value::String(v.to_string());
            }
        }
        record = record.with_field("labels", Value::Object(labels));
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_shared::record::LineStamp;

    const LOG: &str = r#"{"message":"Security log","environment":"acme-easysend","product_type":"Player",
        "customer_id":"4711","ecs":{"version":"8.11"},"@timestamp":"2024-11-20T10:37:42.943305",
        "user_agent":{"os":{"browser_language":"en-US"},"name":"Chrome","original":"Mozilla/5.0"},
        "os":{"family":"Windows","full":"Windows 10"},"client":{"ip":"203.0.113.9"},
        "event":{"action":"CheckAuthResponseAuthenticationFailed","timezone":"localhost"},
        "geo":{"country_name":"Israel","region_name":"Tel Aviv"},
        "url":{"full":"https://forms.example/p","domain":"forms.example"},
        "label":{"app_type":"player","is_co_browsing_on":false,"step_index":"2"}}"#;

    fn line(raw: &str) -> Value {
        line_of(raw, tributary_shared::record::Shape::Full)
    }

    fn line_of(raw: &str, shape: tributary_shared::record::Shape) -> Value {
        let log = parse(raw.as_bytes()).unwrap();
        let record = to_record(
            raw.as_bytes(),
            log,
            &Provenance {
                stream: "security-logs",
                window: "w",
            },
        );
        let mut out = Vec::new();
        record.to_line(
            &mut out,
            &LineStamp {
                ingested: "2024-11-20T11:00:00.000Z".into(),
                shape,
            },
        );
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn a_zoneless_timestamp_is_utc_and_ecs_fields_stay_ecs() {
        let v = line(LOG);
        assert_eq!(v["@timestamp"], "2024-11-20T10:37:42.943Z");
        assert_eq!(v["ecs"]["version"], "8.11.0");
        assert_eq!(v["event"]["dataset"], "easysend.player");
        assert_eq!(
            v["event"]["action"],
            "CheckAuthResponseAuthenticationFailed"
        );
        assert_eq!(v["event"]["category"][0], "authentication");
        assert_eq!(v["event"]["outcome"], "failure");
        assert_eq!(v["event"]["id"].as_str().unwrap().len(), 32);
        assert_eq!(v["client"]["ip"], "203.0.113.9");
        assert_eq!(v["client"]["geo"]["country_name"], "Israel");
        assert_eq!(v["source"]["ip"], "203.0.113.9");
        assert_eq!(v["user_agent"]["os"]["family"], "Windows");
        assert_eq!(v["user_agent"]["os"]["browser_language"], "en-US");
        assert_eq!(v["url"]["domain"], "forms.example");
        assert_eq!(v["labels"]["is_co_browsing_on"], "false");
        assert_eq!(v["message"], "Security log");
        // The original is kept whole, zoneless timestamp and all.
        assert_eq!(v["easysend"]["@timestamp"], "2024-11-20T10:37:42.943305");
        assert_eq!(v["easysend"]["event"]["timezone"], "localhost");
        assert_eq!(v["tributary"]["window"], "w");
    }

    #[test]
    fn the_event_id_ignores_key_order_and_spacing() {
        let a =
            line(r#"{"@timestamp":"2024-11-20T10:37:42.943305","product_type":"Builder","x":1}"#);
        let b = line(
            r#"{ "x": 1, "product_type": "Builder", "@timestamp": "2024-11-20T10:37:42.943305" }"#,
        );
        assert_eq!(a["event"]["id"], b["event"]["id"]);
        assert_eq!(a["event"]["dataset"], "easysend.builder");
    }

    #[test]
    fn timestamps_with_an_offset_are_honoured() {
        assert_eq!(
            time::parse("2024-11-20T12:37:42.5+02:00").unwrap(),
            time::parse("2024-11-20T10:37:42.500000").unwrap()
        );
    }

    #[test]
    fn a_log_that_is_not_utf8_is_an_error_that_says_so() {
        let mut raw = br#"{"@timestamp":"2024-11-20T10:37:42","message":"caf"#.to_vec();
        raw.extend_from_slice(&[0xE9, b'"', b'}']);
        match parse(&raw) {
            Err(MapError::Json(text)) => assert!(text.contains("not UTF-8"), "{text}"),
            Err(other) => panic!("another error: {other}"),
            Ok(_) => panic!("a log that is not UTF-8 was accepted"),
        }
    }

    #[test]
    fn logs_that_cannot_be_placed_in_time_are_errors() {
        assert_eq!(parse(b"{\"a\":1}").err(), Some(MapError::NoTimestamp));
        assert!(matches!(
            parse(b"{\"@timestamp\":\"yesterday\"}"),
            Err(MapError::BadTimestamp(_))
        ));
        assert!(matches!(
            parse(b"{\"@timestamp\":\"9999-12-31T23:30:00-01:00\"}"),
            Err(MapError::BadTimestamp(TimeError::OutOfRange { .. }))
        ));
        assert_eq!(parse(b"[1]").err(), Some(MapError::NotObject));
        assert_eq!(parse(b" \"log\" ").err(), Some(MapError::NotObject));
        assert!(matches!(parse(b"{oops"), Err(MapError::Json(_))));
        assert!(matches!(parse(b"{\"a\":1} x"), Err(MapError::Json(_))));
        assert!(matches!(
            parse(b"{\"@timestamp\":\"2024-11-20T10:37:42\",\"a\":\"\xff\"}"),
            Err(MapError::Json(_))
        ));
        assert_eq!(
            parse(b"{\"@timestamp\":1732099062}").err(),
            Some(MapError::NoTimestamp)
        );
    }

    #[test]
    fn a_log_nested_past_the_parsers_limit_is_an_error_not_a_panic() {
        let deep = format!(
            r#"{{"@timestamp":"2024-11-20T10:37:42.943305","label":{}1{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(matches!(parse(deep.as_bytes()), Err(MapError::Json(_))));
    }

    #[test]
    fn a_logs_id_is_the_digest_of_its_parsed_json_as_earlier_versions_computed_it() {
        let log = parse(LOG.as_bytes()).unwrap();
        let value: Value = serde_json::from_str(LOG).unwrap();
        let id = to_record(
            LOG.as_bytes(),
            log,
            &Provenance {
                stream: "s",
                window: "w",
            },
        )
        .id;
        assert_eq!(id, event_id::from_canonical_json(&value));
        assert_eq!(id, "9cf02793e39ee614dd747c003e53ee53");
    }

    #[test]
    fn a_record_keeps_the_logs_text_verbatim_and_its_members_unless_a_key_has_escapes() {
        let record = |text: &str| {
            let provenance = Provenance {
                stream: "security-logs",
                window: "w",
            };
            to_record(
                text.as_bytes(),
                parse(text.as_bytes()).unwrap(),
                &provenance,
            )
        };
        let plain = record(LOG);
        assert_eq!(plain.original(), LOG);
        assert!(plain.has_original_members());
        let escaped = LOG.replacen(r#""environment""#, r#""\u0065nvironment""#, 1);
        let escaped_record = record(&escaped);
        assert_eq!(escaped_record.original(), escaped);
        assert!(!escaped_record.has_original_members());
        assert_eq!(
            escaped_record.id, plain.id,
            "the same log, spelled otherwise"
        );
    }

    #[test]
    fn a_lean_log_writes_what_ecs_carries_once_and_the_log_comes_back() {
        use tributary_shared::record::{lean::original_of, Shape};
        let lean = line_of(LOG, Shape::Lean);
        // ECS carries the action, the client, its geo, the user agent, the url, the message and the string
        // labels; the vendor key keeps the rest (a label that is no string, the os ECS merges into the agent's).
        assert_eq!(
            lean["easysend"],
            serde_json::json!({
                "environment": "acme-easysend", "product_type": "Player", "customer_id": "4711",
                "ecs": {"version": "8.11"}, "@timestamp": "2024-11-20T10:37:42.943305",
                "user_agent": {"os": {}}, "os": {"family": "Windows", "full": "Windows 10"},
                "client": {}, "event": {"timezone": "localhost"}, "url": {},
                "label": {"is_co_browsing_on": false}
            })
        );
        assert_eq!(lean["client"]["geo"]["country_name"], "Israel");
        assert_eq!(lean["labels"]["is_co_browsing_on"], "false");
        let original: Value = serde_json::from_str(LOG).unwrap();
        assert_eq!(original_of(&lean), Some(original.clone()));
        assert_eq!(original_of(&line(LOG)), Some(original));
    }

    #[test]
    fn logs_whose_ecs_fields_have_two_sources_come_back_whole_from_lean_lines() {
        let head = r#""@timestamp":"2024-11-20T10:37:42.943305","product_type":"Player""#;
        let cases = [
            // The client's own geo and none beside it; the same geo in both; two different ones.
            r#""client":{"ip":"203.0.113.9","geo":{"city_name":"Haifa"}}"#,
            r#""client":{"geo":{"city_name":"Haifa"}},"geo":{"city_name":"Haifa"}"#,
            r#""client":{"geo":{"city_name":"Haifa"}},"geo":{"city_name":"Eilat"}"#,
            // A geo that is no object, a client that is none, no client at all.
            r#""client":{"ip":"203.0.113.9","geo":{"city_name":"Haifa"}},"geo":"Israel""#,
            r#""client":"203.0.113.9","geo":{"city_name":"Haifa"}"#,
            r#""geo":{"city_name":"Haifa"}"#,
            // The agent's os and the log's os: disjoint, overlapping with the same and with another value.
            r#""user_agent":{"os":{"family":"iOS"},"name":"Safari"},"os":{"full":"iOS 18.1"}"#,
            r#""user_agent":{"os":{"family":"iOS"}},"os":{"family":"iOS","full":"iOS 18.1"}"#,
            r#""user_agent":{"os":{"family":"iOS"}},"os":{"family":"Windows"}"#,
            r#""user_agent":{"os":"iOS"},"os":{"family":"iOS"}"#,
            r#""os":{"family":"iOS"}"#,
            r#""user_agent":"Mozilla/5.0","os":{"family":"iOS"}"#,
            // Labels: null, an object, a dotted key, a key given twice, an escaped key.
            r#""label":{"a":null,"b":{"c":1},"d.e":"f","g":"1","g":"2","\u0068":"i","j":"k"}"#,
            // An action alone in `event`, one that is no string, `event` given twice.
            r#""event":{"action":"OPENED"}"#,
            r#""event":{"action":7}"#,
            r#""event":{"action":"OPENED"},"event":{"action":"COMPLETED","timezone":"x"}"#,
            // A key with a dot in its name is no path.
            r#""event.action":"OPENED","label.app_type":"player""#,
            // Keys spelled with escapes, and spaced values that ECS holds in its own spelling.
            r#""\u0067eo":{"city_name":"Haifa"},"\u0063lient":{"ip":"203.0.113.9"}"#,
            r#""client": { "ip" : "203.0.113.9" },"url":{ "full":"https://x.example/" }"#,
            r#""url":"https://x.example/","organization":{"name":"Acme","id":{"n":1}},"service":7"#,
        ];
        for case in cases {
            assert_comes_back(&format!("{{{head},{case}}}"));
        }
    }

    /// Asserts that the log `text` comes back whole from its lean line and from its full line.
    fn assert_comes_back(text: &str) {
        use tributary_shared::record::{lean::original_of, Shape};
        let original: Value = serde_json::from_str(text).unwrap();
        let lean = line_of(text, Shape::Lean);
        assert_eq!(original_of(&lean), Some(original.clone()), "{text}\n{lean}");
        assert_eq!(
            original_of(&line_of(text, Shape::Full)),
            Some(original),
            "{text}"
        );
    }

    /// Every combination of the members whose ECS fields have two sources, in random orders, two thousand times:
    /// what lean lines leave out must come back from their ECS fields, and nothing else.
    #[test]
    fn random_logs_come_back_whole_from_lean_lines() {
        const CHOICES: &[(&str, &[&str])] = &[
            (
                "client",
                &[
                    r#"{"ip":"203.0.113.9"}"#,
                    r#"{"ip":"203.0.113.9","geo":{"city_name":"Haifa"}}"#,
                    r#"{"geo":{"city_name":"Haifa"}}"#,
                    r#""203.0.113.9""#,
                    r#"{ "ip" : "203.0.113.9" }"#,
                ],
            ),
            (
                "geo",
                &[
                    r#"{"city_name":"Haifa"}"#,
                    r#"{"city_name":"Eilat"}"#,
                    r#""Israel""#,
                    r#"{"region_name":"Tel Aviv","city_name":"Haifa"}"#,
                ],
            ),
            (
                "user_agent",
                &[
                    r#"{"name":"Safari"}"#,
                    r#"{"os":{"family":"iOS"}}"#,
                    r#"{"os":{"family":"Windows","x":1},"original":"o"}"#,
                    r#"{"os":"iOS"}"#,
                    r#""ua""#,
                    r#"{"os":{"family":" iOS "}}"#,
                ],
            ),
            (
                "os",
                &[
                    r#"{"family":"iOS"}"#,
                    r#"{"family":"Windows","full":"Windows 10"}"#,
                    r#""iOS""#,
                    r#"{"family":"iOS ","full":"iOS 18"}"#,
                ],
            ),
            (
                "label",
                &[
                    r#"{"a":"1"}"#,
                    r#"{"a":"1","b":false,"c":null}"#,
                    r#"{"a":" 1 ","\u0061":"2"}"#,
                    r#"{"d.e":"f"}"#,
                ],
            ),
            (
                "event",
                &[
                    r#"{"action":"OPENED"}"#,
                    r#"{"action":"OPENED","timezone":"x"}"#,
                    r#"{"action":7}"#,
                ],
            ),
            (
                "url",
                &[
                    r#"{"full":"u","domain":"d"}"#,
                    r#"{"domain":"d","full":"u"}"#,
                    r#""u""#,
                ],
            ),
            ("message", &[r#""Security log""#, r#"{"text":"m"}"#]),
        ];
        let head = [r#""@timestamp":"2024-11-20T10:37:42.943305""#];
        for text in tributary_testkit::objects::shuffled_objects(&head, CHOICES, 2000) {
            assert_comes_back(&text);
        }
    }
}
