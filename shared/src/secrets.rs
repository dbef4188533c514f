//! Secrets from AWS Secrets Manager, cached for a while so rotation needs no redeploy, and never printed.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// A secret string. `Debug` and `Display` print `***` so a secret cannot reach a log or an error by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("could not read secret {id} from Secrets Manager: {reason}")]
    Fetch { id: String, reason: String },
    #[error("secret {id} has no string value")]
    NotString { id: String },
    #[error("secret {id} is not a JSON object with a string field {field:?}")]
    MissingField { id: String, field: String },
}

/// The string value of one secret: either plain text or a JSON object of fields.
#[derive(Clone)]
pub struct SecretValue {
    id: String,
    text: Secret,
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue({}: ***)", self.id)
    }
}

impl SecretValue {
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        SecretValue {
            id: id.into(),
            text: Secret::new(text),
        }
    }

    /// The whole value, for secrets that hold one plain string.
    pub fn whole(&self) -> Secret {
        self.text.clone()
    }

    /// A string field of a JSON secret, e.g. `client_secret`.
    pub fn field(&self, field: &str) -> Result<Secret, SecretError> {
        serde_json::from_str::<serde_json::Value>(self.text.expose())
            .ok()
            .and_then(|v| v.get(field).and_then(|f| f.as_str()).map(Secret::new))
            .ok_or_else(|| SecretError::MissingField {
                id: self.id.clone(),
                field: field.to_owned(),
            })
    }

    /// Several values in one secret, for credentials that rotate with an overlap (HEC tokens, API keys):
    /// a JSON array of strings, a JSON object whose field `field` is such an array or a string, or a plain
    /// comma- or newline-separated list.
    pub fn list(&self, field: &str) -> Vec<Secret> {
        let text = self.text.expose();
        let strings = |v: &serde_json::Value| -> Vec<Secret> {
            match v {
                serde_json::Value::String(s) => vec![Secret::new(s.as_str())],
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .map(Secret::new)
                    .collect(),
                _ => Vec::new(),
            }
        };
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v @ serde_json::Value::Array(_)) => strings(&v),
            Ok(serde_json::Value::Object(map)) => map.get(field).map(strings).unwrap_or_default(),
            _ => text
                .split([',', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Secret::new)
                .collect(),
        }
        .into_iter()
        .filter(|s| !s.expose().is_empty())
        .collect()
    }
}

/// Reads secrets by ARN or name and keeps each for `ttl`, so a warm Lambda does not call Secrets Manager on every
/// invocation but still picks up a rotated value within `ttl`.
pub struct SecretsCache {
    client: aws_sdk_secretsmanager::Client,
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Arc<SecretValue>)>>,
}

impl SecretsCache {
    pub fn new(client: aws_sdk_secretsmanager::Client, ttl: Duration) -> Self {
        SecretsCache {
            client,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub async fn get(&self, id: &str) -> Result<Arc<SecretValue>, SecretError> {
        let mut entries = self.entries.lock().await;
        if let Some((fetched, value)) = entries.get(id) {
            if fetched.elapsed() < self.ttl {
                return Ok(value.clone());
            }
        }
        let output = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| SecretError::Fetch {
                id: id.to_owned(),
                reason: crate::aws::error_text(&e),
            })?;
        let text = output
            .secret_string()
            .ok_or_else(|| SecretError::NotString { id: id.to_owned() })?;
        let value = Arc::new(SecretValue::new(id, text));
        entries.insert(id.to_owned(), (Instant::now(), value.clone()));
        Ok(value)
    }

    /// Forgets a cached value, e.g. after the vendor rejected it, so the next read fetches a rotated one.
    pub async fn forget(&self, id: &str) {
        self.entries.lock().await.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let v = SecretValue::new("id", r#"{"client_secret":"hunter2"}"#);
        assert!(!format!("{v:?}").contains("hunter2"));
        assert_eq!(v.field("client_secret").unwrap().expose(), "hunter2");
        let err = v.field("client_id").unwrap_err().to_string();
        assert!(err.contains("client_id") && !err.contains("hunter2"));
    }

    #[test]
    fn lists_accept_arrays_objects_and_plain_text() {
        let names = |v: Vec<Secret>| v.iter().map(|s| s.expose().to_owned()).collect::<Vec<_>>();
        assert_eq!(
            names(SecretValue::new("a", r#"["x","y"]"#).list("tokens")),
            ["x", "y"]
        );
        assert_eq!(
            names(SecretValue::new("a", r#"{"tokens":["x"]}"#).list("tokens")),
            ["x"]
        );
        assert_eq!(
            names(SecretValue::new("a", r#"{"tokens":"x"}"#).list("tokens")),
            ["x"]
        );
        assert_eq!(
            names(SecretValue::new("a", "x, y\nz").list("tokens")),
            ["x", "y", "z"]
        );
    }
}
