//! Credentials: reading the `Authorization` header of either protocol and checking it against the configured
//! HEC tokens, Elasticsearch API keys and Basic users.
//!
//! Every comparison hashes both sides with SHA-256 and compares the digests with `subtle`, and every candidate
//! is compared (no early exit), so neither the position nor the length of a match shows in the timing. Presented
//! credentials are never logged and never appear in an error.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};
use tributary_shared::secrets::{Secret, SecretValue};

/// What the sender put in its `Authorization` header. Not comparable: the only comparison of a credential is the
/// constant-time one in [`Credentials`].
pub enum Presented {
    /// `Splunk <token>`.
    Splunk(Secret),
    /// `Basic base64(user:password)`.
    Basic { user: String, password: Secret },
    /// `ApiKey <base64(id:key)>`.
    ApiKey(Secret),
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Presented::Splunk(_) => f.write_str("Splunk ***"),
            Presented::Basic { user, .. } => write!(f, "Basic {user}:***"),
            Presented::ApiKey(_) => f.write_str("ApiKey ***"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("no Authorization header")]
    Missing,
    #[error("the Authorization header is not of a supported form")]
    Malformed,
}

/// Parses an `Authorization` header value. Scheme names are matched case-insensitively, as HTTP says.
pub fn parse_header(value: Option<&[u8]>) -> Result<Presented, HeaderError> {
    let value = value.ok_or(HeaderError::Missing)?;
    let value = std::str::from_utf8(value)
        .map_err(|_| HeaderError::Malformed)?
        .trim();
    if value.is_empty() {
        return Err(HeaderError::Missing);
    }
    let (scheme, rest) = value.split_once(' ').ok_or(HeaderError::Malformed)?;
    let rest = rest.trim();
    if rest.is_empty() {
        return Err(HeaderError::Malformed);
    }
    match scheme.to_ascii_lowercase().as_str() {
        "splunk" => Ok(Presented::Splunk(Secret::new(rest))),
        "apikey" => Ok(Presented::ApiKey(Secret::new(rest))),
        "basic" => {
            let decoded = STANDARD.decode(rest).map_err(|_| HeaderError::Malformed)?;
            let decoded = String::from_utf8(decoded).map_err(|_| HeaderError::Malformed)?;
            let (user, password) = decoded.split_once(':').ok_or(HeaderError::Malformed)?;
            Ok(Presented::Basic {
                user: user.to_owned(),
                password: Secret::new(password),
            })
        }
        _ => Err(HeaderError::Malformed),
    }
}

/// A set of accepted credentials, stored as digests only.
#[derive(Default)]
struct DigestSet(Vec<[u8; 32]>);

impl DigestSet {
    fn from_values<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        DigestSet(values.into_iter().map(digest).collect())
    }

    fn contains(&self, candidate: &str) -> bool {
        let wanted = digest(candidate);
        let mut found = Choice::from(0);
        for known in &self.0 {
            found |= known.ct_eq(&wanted);
        }
        found.into()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// An Elasticsearch API key is `base64(id:key)` on the wire; admins may configure either that encoded form
/// or `id:key`, so both sides are brought to `id:key` before comparing.
fn normalize_api_key(value: &str) -> String {
    let value = value.trim();
    match STANDARD.decode(value) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) if text.contains(':') => text,
            _ => value.to_owned(),
        },
        Err(_) => value.to_owned(),
    }
}

/// The credentials the receiver accepts.
///
/// Read from one or more secrets. A secret that is a JSON object holds fields `hec_tokens`, `api_keys` and
/// `basic_auth` (`"user:password"` entries), each a string or an array of strings, so an old and a new value can
/// be valid together while a sender is switched over. A secret that is plain text (or a JSON array) holds HEC
/// tokens only.
#[derive(Default)]
pub struct Credentials {
    hec_tokens: DigestSet,
    api_keys: DigestSet,
    basic: DigestSet,
}

/// What the credentials say about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Rejected,
}

impl Credentials {
    pub fn from_secrets<'a>(secrets: impl IntoIterator<Item = &'a SecretValue>) -> Self {
        let mut hec = Vec::new();
        let mut api = Vec::new();
        let mut basic = Vec::new();
        for secret in secrets {
            let is_object = serde_json::from_str::<serde_json::Value>(secret.whole().expose())
                .map(|v| v.is_object())
                .unwrap_or(false);
            hec.extend(secret.list("hec_tokens"));
            if is_object {
                api.extend(secret.list("api_keys"));
                basic.extend(secret.list("basic_auth"));
            }
        }
        Credentials::from_lists(&hec, &api, &basic)
    }

    pub fn from_lists(hec_tokens: &[Secret], api_keys: &[Secret], basic: &[Secret]) -> Self {
        let api_keys: Vec<String> = api_keys
            .iter()
            .map(|k| normalize_api_key(k.expose()))
            .collect();
        Credentials {
            hec_tokens: DigestSet::from_values(hec_tokens.iter().map(|t| t.expose().trim())),
            api_keys: DigestSet::from_values(api_keys.iter().map(String::as_str)),
            basic: DigestSet::from_values(basic.iter().map(|b| b.expose().trim())),
        }
    }

    /// True when no credential at all is configured (the receiver then refuses everything).
    pub fn is_empty(&self) -> bool {
        self.hec_tokens.is_empty() && self.api_keys.is_empty() && self.basic.is_empty()
    }

    /// HEC: `Splunk <token>`, or Basic with any user name and the token as password.
    pub fn check_hec(&self, presented: &Presented) -> Verdict {
        let ok = match presented {
            Presented::Splunk(token) => self.hec_tokens.contains(token.expose()),
            Presented::Basic { password, .. } => self.hec_tokens.contains(password.expose()),
            Presented::ApiKey(_) => false,
        };
        verdict(ok)
    }

    /// Elasticsearch: `ApiKey` against the API keys, Basic against the `user:password` entries.
    pub fn check_elasticsearch(&self, presented: &Presented) -> Verdict {
        let ok = match presented {
            Presented::ApiKey(key) => self.api_keys.contains(&normalize_api_key(key.expose())),
            Presented::Basic { user, password } => self
                .basic
                .contains(&format!("{user}:{}", password.expose())),
            Presented::Splunk(_) => false,
        };
        verdict(ok)
    }
}

fn verdict(ok: bool) -> Verdict {
    if ok {
        Verdict::Accepted
    } else {
        Verdict::Rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user: &str, password: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(format!("{user}:{password}"))).into_bytes()
    }

    fn creds() -> Credentials {
        Credentials::from_secrets([&SecretValue::new(
            "s",
            r#"{"hec_tokens":["old-token","new-token"],"api_keys":["key-id:key-secret"],"basic_auth":"elastic:changeme"}"#,
        )])
    }

    #[test]
    fn splunk_scheme_and_basic_password_both_carry_hec_tokens() {
        let c = creds();
        for header in [
            b"Splunk old-token".to_vec(),
            b"splunk new-token".to_vec(),
            basic("x", "new-token"),
            basic("", "old-token"),
        ] {
            let p = parse_header(Some(&header)).unwrap();
            assert_eq!(c.check_hec(&p), Verdict::Accepted, "{p:?}");
        }
        let p = parse_header(Some(b"Splunk other")).unwrap();
        assert_eq!(c.check_hec(&p), Verdict::Rejected);
    }

    #[test]
    fn missing_and_malformed_headers_are_told_apart() {
        assert_eq!(parse_header(None).unwrap_err(), HeaderError::Missing);
        assert_eq!(parse_header(Some(b"  ")).unwrap_err(), HeaderError::Missing);
        assert_eq!(
            parse_header(Some(b"old-token")).unwrap_err(),
            HeaderError::Malformed
        );
        assert_eq!(
            parse_header(Some(b"Bearer x")).unwrap_err(),
            HeaderError::Malformed
        );
        assert_eq!(
            parse_header(Some(b"Basic !!!")).unwrap_err(),
            HeaderError::Malformed
        );
        assert_eq!(
            parse_header(Some(b"Splunk ")).unwrap_err(),
            HeaderError::Malformed
        );
    }

    #[test]
    fn api_keys_match_in_encoded_and_plain_form() {
        let c = creds();
        let encoded = STANDARD.encode("key-id:key-secret");
        let p = parse_header(Some(format!("ApiKey {encoded}").as_bytes())).unwrap();
        assert_eq!(c.check_elasticsearch(&p), Verdict::Accepted);
        // Configured in encoded form, presented encoded.
        let c2 = Credentials::from_lists(&[], &[Secret::new(encoded.clone())], &[]);
        assert_eq!(c2.check_elasticsearch(&p), Verdict::Accepted);
        let wrong = parse_header(Some(
            format!("ApiKey {}", STANDARD.encode("key-id:nope")).as_bytes(),
        ))
        .unwrap();
        assert_eq!(c.check_elasticsearch(&wrong), Verdict::Rejected);
    }

    #[test]
    fn basic_users_need_the_exact_user_and_password() {
        let c = creds();
        let ok = parse_header(Some(&basic("elastic", "changeme"))).unwrap();
        assert_eq!(c.check_elasticsearch(&ok), Verdict::Accepted);
        let bad = parse_header(Some(&basic("kibana", "changeme"))).unwrap();
        assert_eq!(c.check_elasticsearch(&bad), Verdict::Rejected);
    }

    #[test]
    fn credentials_of_one_protocol_do_not_open_the_other() {
        let c = creds();
        let hec = parse_header(Some(b"Splunk old-token")).unwrap();
        assert_eq!(c.check_elasticsearch(&hec), Verdict::Rejected);
        let api = parse_header(Some(
            format!("ApiKey {}", STANDARD.encode("key-id:key-secret")).as_bytes(),
        ))
        .unwrap();
        assert_eq!(c.check_hec(&api), Verdict::Rejected);
    }

    #[test]
    fn plain_text_secrets_hold_hec_tokens_only() {
        let c = Credentials::from_secrets([&SecretValue::new("s", "tok-a,tok-b")]);
        let p = parse_header(Some(b"Splunk tok-b")).unwrap();
        assert_eq!(c.check_hec(&p), Verdict::Accepted);
        let b = parse_header(Some(&basic("tok-a", "tok-b"))).unwrap();
        assert_eq!(c.check_elasticsearch(&b), Verdict::Rejected);
    }

    #[test]
    fn presented_credentials_never_print() {
        let p = parse_header(Some(&basic("elastic", "hunter2"))).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
        let p = parse_header(Some(b"Splunk hunter2")).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
