//! What a scheduled invocation asks for. EventBridge Scheduler delivers the custom input as is
//! (`{"stream": "cis"}`); an EventBridge Rule delivers a `Scheduled Event` envelope, whose `detail` may carry
//! the same fields, or which names the rule only in `resources`. Both shapes are accepted.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error("the invocation names no stream; expected one of {allowed:?} as \"stream\" in the input, in \"detail\", or as the rule name's last '-' part")]
    NoStream { allowed: Vec<String> },
    #[error("the invocation names stream {stream:?}, which is not one of {allowed:?}")]
    UnknownStream {
        stream: String,
        allowed: Vec<String>,
    },
}

/// The fields of the invocation input that matter to a scheduled function.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invocation {
    /// The stream (e.g. a Transmit event type) from `stream`, `type` or `event_type`.
    pub stream: Option<String>,
    /// An operation other than the scheduled collection (e.g. `stop`), from `operation`.
    pub operation: Option<String>,
    /// The rule name, when an EventBridge Rule envelope delivered the invocation.
    pub rule: Option<String>,
}

impl Invocation {
    pub fn parse(payload: &Value) -> Self {
        let is_envelope = payload.get("detail-type").is_some() && payload.get("detail").is_some();
        let body = if is_envelope {
            &payload["detail"]
        } else {
            payload
        };
        let field = |names: &[&str]| {
            names.iter().find_map(|name| {
                body.get(*name)
                    .or_else(|| payload.get(*name).filter(|_| !is_envelope))
                    .and_then(Value::as_str)
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
            })
        };
        let rule = is_envelope
            .then(|| payload.get("resources")?.as_array()?.first()?.as_str())
            .flatten()
            .and_then(|arn| arn.rsplit('/').next())
            .map(str::to_owned);
        Invocation {
            stream: field(&["stream", "type", "event_type"]),
            operation: field(&["operation"]),
            rule,
        }
    }

    /// The stream, checked against `allowed` (case-insensitive; returned in lower case). Falls back to the rule
    /// name's last `-` part (`tributary-transmit-cis` → `cis`), and to `default` when `allowed` has one stream.
    pub fn stream_in(&self, allowed: &[&str]) -> Result<String, InvocationError> {
        let allowed_list = || allowed.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let find = |name: &str| {
            allowed
                .iter()
                .find(|a| a.eq_ignore_ascii_case(name))
                .map(|a| a.to_lowercase())
        };
        if let Some(stream) = &self.stream {
            return find(stream).ok_or_else(|| InvocationError::UnknownStream {
                stream: stream.clone(),
                allowed: allowed_list(),
            });
        }
        if let Some(found) = self
            .rule
            .as_deref()
            .and_then(|r| r.rsplit('-').next())
            .and_then(find)
        {
            return Ok(found);
        }
        match allowed {
            [only] => Ok(only.to_lowercase()),
            _ => Err(InvocationError::NoStream {
                allowed: allowed_list(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TYPES: &[&str] = &["cis", "admin", "risk", "verify"];

    #[test]
    fn scheduler_custom_input() {
        let inv = Invocation::parse(&json!({"stream": "CIS"}));
        assert_eq!(inv.stream_in(TYPES).unwrap(), "cis");
        let inv = Invocation::parse(&json!({"type": "risk", "operation": "stop"}));
        assert_eq!(inv.stream_in(TYPES).unwrap(), "risk");
        assert_eq!(inv.operation.as_deref(), Some("stop"));
    }

    #[test]
    fn rule_envelope_with_detail_or_rule_name() {
        let envelope = json!({
            "version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123", "time": "2026-11-23T10:00:00Z", "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123:rule/tributary-transmit-admin"], "detail": {}
        });
        assert_eq!(
            Invocation::parse(&envelope).stream_in(TYPES).unwrap(),
            "admin"
        );
        let mut with_detail = envelope.clone();
        with_detail["detail"] = json!({"stream": "verify"});
        assert_eq!(
            Invocation::parse(&with_detail).stream_in(TYPES).unwrap(),
            "verify"
        );
    }

    #[test]
    fn unknown_or_missing_streams_are_clear_errors() {
        let err = Invocation::parse(&json!({"stream": "nope"}))
            .stream_in(TYPES)
            .unwrap_err();
        assert!(err.to_string().contains("nope"));
        assert!(Invocation::parse(&json!({})).stream_in(TYPES).is_err());
        assert_eq!(
            Invocation::parse(&json!({}))
                .stream_in(&["lookout"])
                .unwrap(),
            "lookout"
        );
    }
}
