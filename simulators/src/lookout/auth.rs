//! `POST /oauth2/token`: the application key as Bearer, `grant_type=client_credentials`,
//! RFC 6749 error bodies.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::state::LookoutHandle;

pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({
            "error": error,
            "error_description": description,
            "error_uri": "https://tools.ietf.org/html/rfc6749#section-5.2",
        })),
    )
        .into_response()
}

/// The credential after `Bearer `, if the header has that shape.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, credential) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credential.trim())
        .filter(|c| !c.is_empty())
}

pub(crate) async fn token(
    State(sim): State<LookoutHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (failure, ttl_s) = {
        let mut c = sim.control();
        c.stats.token_requests += 1;
        (c.fail_tokens.pop_front(), c.settings.token_ttl_s)
    };
    if let Some(status) = failure {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return oauth_error(status, "temporarily_unavailable", "simulated failure");
    }
    let known = bearer(&headers).is_some_and(|key| sim.0.app_keys.iter().any(|k| k == key));
    if !known {
        sim.control().stats.token_rejections += 1;
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed: unknown or revoked application key",
        );
    }
    let form = parse_form(&String::from_utf8_lossy(&body));
    let grant = form
        .iter()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.as_str());
    match grant {
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            );
        }
    }
    let scope = form
        .iter()
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "mra_api".to_string());
    let token = sim.issue_token(Duration::from_secs(ttl_s));
    sim.control().stats.tokens_issued += 1;
    let expires_at = chrono::Utc::now().timestamp_millis() + (ttl_s as i64) * 1000;
    Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl_s,
        "expires_at": expires_at,
        "scope": scope,
    }))
    .into_response()
}

/// `application/x-www-form-urlencoded`, decoded.
fn parse_form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_are_decoded() {
        assert_eq!(
            parse_form("grant_type=client_credentials&scope=a+b%20c"),
            vec![
                ("grant_type".to_string(), "client_credentials".to_string()),
                ("scope".to_string(), "a b c".to_string())
            ]
        );
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%4"), "%4");
    }
}
