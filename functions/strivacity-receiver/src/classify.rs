//! Telling account events from audit logs (`event_type` `account` or `audit`).
//!
//! Strivacity streams both kinds through the same integration, and the shape of audit entries is not
//! documented, so the rule looks at everything it can, most explicit first:
//! 1. what the admin configured on the integration: HEC `source`/`sourcetype`, or the bulk index name, when
//!    it contains a marker word (`audit`, `account`);
//! 2. a type field in the event itself (`eventType`, `type`, `category`, `logType`) containing a marker;
//! 3. fields only one kind has (audit: `entity`, `changes`, `before`/`after`...; account: `loginSessionId`,
//!    `subject`, `labels`...);
//! 4. the configured default.
//!
//! Every list is configurable (see `config.rs`).

use serde_json::{Map, Value};

use crate::mapping::lookup;

/// The two Strivacity event types; their names are the `event_type` partition values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Account,
    Audit,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Account => "account",
            EventType::Audit => "audit",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "account" => Some(EventType::Account),
            "audit" => Some(EventType::Audit),
            _ => None,
        }
    }
}

/// The configurable rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Words that mark an audit log in a source, sourcetype, index name or type field (case-insensitive).
    pub audit_markers: Vec<String>,
    /// Words that mark an account event.
    pub account_markers: Vec<String>,
    /// Event fields whose value names the kind.
    pub type_fields: Vec<String>,
    /// Event fields (dotted paths) that only audit logs have.
    pub audit_fields: Vec<String>,
    /// Event fields (dotted paths) that only account events have.
    pub account_fields: Vec<String>,
    pub default: EventType,
}

impl Default for Rule {
    fn default() -> Self {
        let list = |items: &[&str]| items.iter().map(|s| (*s).to_owned()).collect();
        Rule {
            audit_markers: list(DEFAULT_AUDIT_MARKERS),
            account_markers: list(DEFAULT_ACCOUNT_MARKERS),
            type_fields: list(DEFAULT_TYPE_FIELDS),
            audit_fields: list(DEFAULT_AUDIT_FIELDS),
            account_fields: list(DEFAULT_ACCOUNT_FIELDS),
            default: EventType::Account,
        }
    }
}

pub const DEFAULT_AUDIT_MARKERS: &[&str] = &["audit"];
pub const DEFAULT_ACCOUNT_MARKERS: &[&str] = &["account"];
pub const DEFAULT_TYPE_FIELDS: &[&str] = &["eventType", "type", "category", "logType"];
pub const DEFAULT_AUDIT_FIELDS: &[&str] = &[
    "entity",
    "entityType",
    "entityName",
    "entityId",
    "changes",
    "before",
    "after",
];
pub const DEFAULT_ACCOUNT_FIELDS: &[&str] =
    &["loginSessionId", "subject", "actorApplication", "labels"];

/// What the request said about the event, besides the event itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hints<'a> {
    pub source: Option<&'a str>,
    pub sourcetype: Option<&'a str>,
    pub index: Option<&'a str>,
}

impl Rule {
    pub fn classify(&self, event: Option<&Map<String, Value>>, hints: Hints<'_>) -> EventType {
        for hint in [hints.sourcetype, hints.source, hints.index]
            .into_iter()
            .flatten()
        {
            if let Some(kind) = self.marked(hint) {
                return kind;
            }
        }
        let Some(event) = event else {
            return self.default;
        };
        for field in &self.type_fields {
            if let Some(Value::String(value)) = lookup(event, field) {
                if let Some(kind) = self.marked(value) {
                    return kind;
                }
            }
        }
        let has_any = |fields: &[String]| fields.iter().any(|f| lookup(event, f).is_some());
        if has_any(&self.audit_fields) {
            return EventType::Audit;
        }
        if has_any(&self.account_fields) {
            return EventType::Account;
        }
        self.default
    }

    /// The kind a text names. Audit markers are checked first: "account audit" is an audit log.
    fn marked(&self, text: &str) -> Option<EventType> {
        let text = text.to_ascii_lowercase();
        let contains = |markers: &[String]| {
            markers
                .iter()
                .any(|m| !m.is_empty() && text.contains(&m.to_ascii_lowercase()))
        };
        if contains(&self.audit_markers) {
            Some(EventType::Audit)
        } else if contains(&self.account_markers) {
            Some(EventType::Account)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn integration_metadata_decides_first() {
        let rule = Rule::default();
        let account_looking = obj(json!({"loginSessionId": "s"}));
        let hints = Hints {
            source: Some("strivacity-audit"),
            ..Hints::default()
        };
        assert_eq!(
            rule.classify(Some(&account_looking), hints),
            EventType::Audit
        );
        let hints = Hints {
            index: Some("strivacity-account-events"),
            ..Hints::default()
        };
        assert_eq!(
            rule.classify(Some(&obj(json!({"entity": "x"}))), hints),
            EventType::Account
        );
    }

    #[test]
    fn a_neutral_source_falls_through_to_the_payload() {
        let rule = Rule::default();
        let hints = Hints {
            source: Some("strivacity"),
            sourcetype: Some("json"),
            index: None,
        };
        let audit = obj(json!({"action": "update", "entity": "Adaptive Access Policy"}));
        assert_eq!(rule.classify(Some(&audit), hints), EventType::Audit);
        let typed = obj(json!({"eventType": "AUDIT_LOG"}));
        assert_eq!(rule.classify(Some(&typed), hints), EventType::Audit);
        let account = obj(json!({"eventId": "e", "subject": {"accountId": "a"}}));
        assert_eq!(rule.classify(Some(&account), hints), EventType::Account);
    }

    #[test]
    fn nothing_to_go_on_gives_the_default() {
        let mut rule = Rule::default();
        assert_eq!(
            rule.classify(Some(&obj(json!({"x": 1}))), Hints::default()),
            EventType::Account
        );
        rule.default = EventType::Audit;
        assert_eq!(rule.classify(None, Hints::default()), EventType::Audit);
    }

    #[test]
    fn configured_markers_and_fields_replace_the_defaults() {
        let rule = Rule {
            audit_markers: vec!["admin".into()],
            audit_fields: vec!["request.url".into()],
            ..Rule::default()
        };
        let hints = Hints {
            index: Some("sv-admin"),
            ..Hints::default()
        };
        assert_eq!(rule.classify(None, hints), EventType::Audit);
        let nested = obj(json!({"request": {"url": "/x"}}));
        assert_eq!(
            rule.classify(Some(&nested), Hints::default()),
            EventType::Audit
        );
    }
}
