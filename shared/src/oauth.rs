//! Caching an OAuth2 access token: fetched once, reused until shortly before it expires, dropped on a 401 so the
//! next call fetches a fresh one. How a token is fetched is the vendor client's business.

use std::future::Future;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::secrets::Secret;

/// The longest lifetime believed of any token, whatever the vendor says.
const MAX_LIFETIME: Duration = Duration::from_secs(86_400);

/// A token and how long it lives.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub value: Secret,
    pub lifetime: Duration,
}

/// The standard token response. `expires_in` is seconds; some vendors (Lookout) also send `expires_at` in
/// milliseconds since the epoch. Without either, `default_lifetime` applies.
#[derive(Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    #[serde(default)]
    pub expires_in: Option<serde_json::Value>,
    #[serde(default)]
    pub expires_at: Option<serde_json::Value>,
}

impl TokenResponse {
    pub fn into_token(self, default_lifetime: Duration) -> AccessToken {
        let number = |v: &serde_json::Value| {
            v.as_f64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        };
        // Vendor numbers are not trusted: infinite, negative or absurd values are clamped to a day.
        let from_expires_in = self
            .expires_in
            .as_ref()
            .and_then(number)
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| Duration::from_secs_f64(s.min(MAX_LIFETIME.as_secs_f64())));
        let from_expires_at = self
            .expires_at
            .as_ref()
            .and_then(number)
            .filter(|ms| ms.is_finite())
            .map(|ms| {
                let now_ms = chrono::Utc::now().timestamp_millis() as f64;
                let left_ms = (ms - now_ms).clamp(0.0, MAX_LIFETIME.as_millis() as f64);
                Duration::from_millis(left_ms as u64)
            });
        // The shorter of the two is the safe one.
        let lifetime = match (from_expires_in, from_expires_at) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => default_lifetime,
        };
        AccessToken {
            value: Secret::new(self.access_token),
            lifetime,
        }
    }
}

pub struct TokenCache {
    refresh_before: Duration,
    current: Mutex<Option<(Secret, Instant)>>,
}

impl TokenCache {
    /// `refresh_before`: how long before expiry a token counts as expired (clock skew, request time), at most; a
    /// short-lived token is refreshed a fifth of its lifetime before it expires.
    pub fn new(refresh_before: Duration) -> Self {
        TokenCache {
            refresh_before,
            current: Mutex::new(None),
        }
    }

    /// The cached token, or a new one from `fetch` when there is none or it is about to expire.
    pub async fn get<F, Fut, E>(&self, fetch: F) -> Result<Secret, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, E>>,
    {
        let mut current = self.current.lock().await;
        if let Some((token, refresh_at)) = current.as_ref() {
            if Instant::now() < *refresh_at {
                return Ok(token.clone());
            }
        }
        let token = fetch().await?;
        let lifetime = token.lifetime.min(MAX_LIFETIME);
        // The margin is proportional to the lifetime (a fifth) and at most `refresh_before`, so a token of 10 s
        // is used for 8 s instead of being fetched again for every call.
        let margin = self.refresh_before.min(lifetime / 5);
        let refresh_at = Instant::now() + lifetime.saturating_sub(margin);
        *current = Some((token.value.clone(), refresh_at));
        Ok(token.value)
    }

    /// Drops the cached token (after the vendor answered 401 with it).
    pub async fn invalidate(&self) {
        *self.current.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn lifetime_prefers_the_shorter_of_expires_in_and_expires_at() {
        let at = chrono::Utc::now().timestamp_millis() + 60_000;
        let r: TokenResponse = serde_json::from_value(serde_json::json!(
            {"access_token": "t", "expires_in": 7200, "expires_at": at}
        ))
        .unwrap();
        let lifetime = r.into_token(Duration::from_secs(1)).lifetime;
        assert!(lifetime <= Duration::from_secs(60) && lifetime > Duration::from_secs(55));
        let r: TokenResponse =
            serde_json::from_value(serde_json::json!({"access_token": "t", "expires_in": "3600"}))
                .unwrap();
        assert_eq!(
            r.into_token(Duration::from_secs(1)).lifetime,
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn absurd_lifetimes_are_clamped_not_panics() {
        for body in [
            serde_json::json!({"access_token": "t", "expires_in": 1e300}),
            serde_json::json!({"access_token": "t", "expires_in": "inf"}),
            serde_json::json!({"access_token": "t", "expires_at": 1e300}),
            serde_json::json!({"access_token": "t", "expires_in": -5, "expires_at": "NaN"}),
        ] {
            let r: TokenResponse = serde_json::from_value(body).unwrap();
            assert!(r.into_token(Duration::from_secs(60)).lifetime <= MAX_LIFETIME);
        }
    }

    #[tokio::test]
    async fn tokens_are_reused_until_near_expiry_and_refetched_after_invalidate() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let fetches = AtomicU32::new(0);
        let fetch = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(AccessToken {
                value: Secret::new("t"),
                lifetime: Duration::from_secs(3600),
            })
        };
        cache.get(fetch).await.unwrap();
        cache.get(fetch).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        cache.invalidate().await;
        cache.get(fetch).await.unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        // A token that lives less than the refresh margin is still reused for four fifths of its lifetime.
        let short = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(AccessToken {
                value: Secret::new("t"),
                lifetime: Duration::from_millis(500),
            })
        };
        cache.invalidate().await;
        cache.get(short).await.unwrap();
        cache.get(short).await.unwrap();
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            3,
            "reused within its lifetime"
        );
        tokio::time::sleep(Duration::from_millis(420)).await;
        cache.get(short).await.unwrap();
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            4,
            "refreshed a fifth before expiry"
        );
    }
}
