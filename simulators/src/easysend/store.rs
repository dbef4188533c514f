//! The simulator's log table: what EasySend's Player keeps for 48 hours, ordered by `@timestamp`.
//!
//! Seeded logs are stored as a few numbers and rendered to JSON only while a response streams, so a
//! window of 200,000 logs costs a few megabytes here instead of hundreds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;

/// Which EasySend product wrote a log (`product_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Player,
    Builder,
}

impl Product {
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Player => "Player",
            Product::Builder => "Builder",
        }
    }
}

/// How a seed request spreads logs over products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductMix {
    Player,
    Builder,
    /// Three Player logs for every Builder log, as a form-heavy tenant would see.
    #[default]
    Mixed,
}

/// One stored log.
#[derive(Debug, Clone)]
pub enum Entry {
    /// Rendered on demand from its seed.
    Generated { product: Product, seed: u64 },
    /// A log given verbatim (JSON text), e.g. a late arrival a test inserts.
    Custom {
        product: Option<Product>,
        json: Arc<str>,
    },
}

impl Entry {
    pub fn product(&self) -> Option<Product> {
        match self {
            Entry::Generated { product, .. } => Some(*product),
            Entry::Custom { product, .. } => *product,
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoredLog {
    /// `@timestamp` in microseconds since the epoch (UTC).
    pub ts_micros: i64,
    /// When the log was written to the table; the 48-hour retention counts from here.
    pub created_micros: i64,
    pub entry: Entry,
}

#[derive(Debug, Default)]
pub struct LogStore {
    // Keyed by (timestamp, insertion sequence) so equal timestamps keep insertion order.
    logs: BTreeMap<(i64, u64), StoredLog>,
    next_seq: u64,
}

impl LogStore {
    pub fn len(&self) -> usize {
        self.logs.len()
    }

    pub fn clear(&mut self) {
        self.logs.clear();
    }

    pub fn insert(&mut self, log: StoredLog) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.logs.insert((log.ts_micros, seq), log);
    }

    /// Seeds `count` generated logs spread evenly over `[from, to)`, created at their own timestamp.
    pub fn seed(&mut self, count: u64, from: DateTime<Utc>, to: DateTime<Utc>, mix: ProductMix) {
        let from_us = from.timestamp_micros();
        let span = (to.timestamp_micros() - from_us).max(1) as u128;
        for i in 0..count {
            let ts = from_us + ((i as u128 * span) / count.max(1) as u128) as i64;
            let seed = splitmix(self.next_seq ^ (ts as u64).rotate_left(17));
            let product = match mix {
                ProductMix::Player => Product::Player,
                ProductMix::Builder => Product::Builder,
                ProductMix::Mixed if seed.is_multiple_of(4) => Product::Builder,
                ProductMix::Mixed => Product::Player,
            };
            self.insert(StoredLog {
                ts_micros: ts,
                created_micros: ts,
                entry: Entry::Generated { product, seed },
            });
        }
    }

    /// Drops logs whose 48 hours (or whatever retention is set) have passed.
    pub fn expire(&mut self, now: DateTime<Utc>, retention_secs: i64) {
        let cutoff = now.timestamp_micros() - retention_secs * 1_000_000;
        self.logs.retain(|_, log| log.created_micros >= cutoff);
    }

    /// Logs with `start <= @timestamp < end_exclusive`, in timestamp order.
    pub fn range(
        &self,
        start_micros: i64,
        end_exclusive_micros: i64,
        product: Option<Product>,
    ) -> Vec<StoredLog> {
        if end_exclusive_micros <= start_micros {
            return Vec::new();
        }
        self.logs
            .range((start_micros, 0)..(end_exclusive_micros, 0))
            .map(|(_, log)| log)
            .filter(|log| product.is_none() || log.entry.product() == product)
            .cloned()
            .collect()
    }
}

/// Reads `@timestamp` the way EasySend writes it (`2024-11-20T10:37:42.943305`, no zone, UTC),
/// also accepting an explicit zone.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

/// Turns a log given as JSON into a stored entry; the timestamp comes from its `@timestamp`.
pub fn custom_entry(log: &Value, now: DateTime<Utc>) -> Result<StoredLog, String> {
    let ts = log
        .get("@timestamp")
        .and_then(Value::as_str)
        .and_then(parse_timestamp)
        .ok_or_else(|| {
            "each log needs an @timestamp like 2024-11-20T10:37:42.943305".to_string()
        })?;
    let product = match log.get("product_type").and_then(Value::as_str) {
        Some(p) if p.eq_ignore_ascii_case("player") => Some(Product::Player),
        Some(p) if p.eq_ignore_ascii_case("builder") => Some(Product::Builder),
        _ => None,
    };
    Ok(StoredLog {
        ts_micros: ts.timestamp_micros(),
        created_micros: now.timestamp_micros(),
        entry: Entry::Custom {
            product,
            json: Arc::from(log.to_string()),
        },
    })
}

/// A log EasySend keeps at `at` whatever it holds: JSON that is not an object, or an object whose `@timestamp` is
/// missing or unreadable. The table orders it by `at`, so it is served with the logs around that time.
pub fn unplaced_entry(log: &Value, at: DateTime<Utc>, now: DateTime<Utc>) -> StoredLog {
    StoredLog {
        ts_micros: at.timestamp_micros(),
        created_micros: now.timestamp_micros(),
        entry: Entry::Custom {
            product: None,
            json: Arc::from(log.to_string()),
        },
    }
}

/// Appends the JSON text of `log` to `out`.
pub fn render(log: &StoredLog, out: &mut String) {
    match &log.entry {
        Entry::Custom { json, .. } => out.push_str(json),
        Entry::Generated { product, seed } => render_generated(log.ts_micros, *product, *seed, out),
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Event actions named in the vendor guide: authentication results, OTP steps, and the form
/// life cycle (`OPENED` is the spelling seen in a real log).
const PLAYER_ACTIONS: &[&str] = &[
    "LINK_SENT",
    "OPENED",
    "OPENED",
    "DATA_SUBMITTED",
    "STEP_COMPLETED",
    "STEP_COMPLETED",
    "COMPLETED",
    "CheckAuthResponseMissingCredentials",
    "CheckAuthResponseAuthenticationSucceed",
    "CheckAuthResponseAuthenticationSucceed",
    "CheckAuthResponseAuthenticationError",
    "CheckAuthResponseAuthenticationFailed",
    "OTP_SENT",
    "OTP_RESENT",
    "OTP_PASSED",
    "OTP_FAILED",
    "SESSION_BLOCKED",
];

const BUILDER_ACTIONS: &[&str] = &[
    "CheckAuthResponseAuthenticationSucceed",
    "CheckAuthResponseAuthenticationSucceed",
    "CheckAuthResponseAuthenticationFailed",
    "CheckAuthResponseAuthenticationError",
    "CheckAuthResponseMissingCredentials",
];

const BROWSERS: &[(&str, &str, &str, &str)] = &[
    (
        "Chrome",
        "Windows",
        "Windows 10",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    ),
    (
        "Mobile Safari",
        "iOS",
        "iOS 18.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    ),
    (
        "Chrome Mobile",
        "Android",
        "Android 14",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
    ),
    (
        "Firefox",
        "Mac OS X",
        "Mac OS X 14.6",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.6; rv:132.0) Gecko/20100101 Firefox/132.0",
    ),
];

const PLACES: &[(&str, &str)] = &[
    ("United States", "New York"),
    ("United States", "California"),
    ("Israel", "Tel Aviv"),
    ("United Kingdom", "England"),
    ("Germany", "Bavaria"),
];

const FLOWS: &[(&str, &str)] = &[
    ("Auto Claim", "Claim details"),
    ("Account Opening", "Identity verification"),
    ("Policy Renewal", "Payment"),
    ("Address Change", "New address"),
];

fn pick<T: Copy>(items: &[T], bits: u64) -> T {
    items[(bits % items.len() as u64) as usize]
}

/// Renders one log shaped like the vendor guide's "Security Log Format - Player", plus the
/// top-level fields seen in a real log (`message`, `environment`, `product_type`, ...).
fn render_generated(ts_micros: i64, product: Product, seed: u64, out: &mut String) {
    let r = splitmix(seed);
    let r2 = splitmix(r);
    let ts = DateTime::<Utc>::from_timestamp_micros(ts_micros).unwrap_or_default();
    let action = match product {
        Product::Player => pick(PLAYER_ACTIONS, r),
        Product::Builder => pick(BUILDER_ACTIONS, r),
    };
    let (browser, os_family, os_full, ua) = pick(BROWSERS, r >> 8);
    let (country, region) = pick(PLACES, r >> 16);
    let (flow, page) = pick(FLOWS, r >> 24);
    let mobile = os_family == "iOS" || os_family == "Android";
    let ip = format!(
        "{}.{}.{}.{}",
        20 + (r2 % 180),
        (r2 >> 8) % 256,
        (r2 >> 16) % 256,
        1 + (r2 >> 24) % 254
    );
    let (auth_method, auth_status, auth_action) = if action.starts_with("CheckAuthResponse") {
        let status = action.trim_start_matches("CheckAuthResponse");
        ("SAML", status, "login")
    } else if action.starts_with("OTP_") || action == "SESSION_BLOCKED" {
        ("OTP", action, "otp")
    } else {
        ("", "", "")
    };
    let rid = format!("{:016x}", r2);
    let process_id = format!("{:08x}", (r >> 32) as u32);
    let app = match product {
        Product::Player => "player",
        Product::Builder => "builder",
    };
    let host = match product {
        Product::Player => "forms.acme-insurance.example",
        Product::Builder => "builder.acme-insurance.example",
    };
    // The same `write!` throughout: rendering happens while the body streams, so it stays cheap.
    let _ = write!(
        out,
        concat!(
            "{{\"message\":\"Security log\",\"environment\":\"acme-easysend\",",
            "\"product_type\":\"{product}\",\"customer_id\":\"4711\",",
            "\"specificCustomerName\":\"acme-insurance\",\"environment_type\":\"prod\",",
            "\"ecs\":{{\"version\":\"8.11\"}},",
            "\"@timestamp\":\"{ts}\",",
            "\"organization\":{{\"name\":\"Acme Insurance\"}},",
            "\"user_agent\":{{\"os\":{{\"browser_language\":\"en-US\",\"browser_platform\":\"{os_family}\",",
            "\"is_mobile_device\":{mobile},\"is_verified_bot\":false}},\"name\":\"{browser}\",",
            "\"device\":{{\"name\":\"{device}\"}},\"original\":\"{ua}\"}},",
            "\"os\":{{\"family\":\"{os_family}\",\"full\":\"{os_full}\"}},",
            "\"client\":{{\"ip\":\"{ip}\"}},",
            "\"event\":{{\"action\":\"{action}\",\"timezone\":\"localhost\"}},",
            "\"geo\":{{\"country_name\":\"{country}\",\"region_name\":\"{region}\"}},",
            "\"url\":{{\"full\":\"https://{host}/{app}/{process_id}?rid={rid}\",\"domain\":\"{host}\"}},",
            "\"service\":{{\"environment\":\"prod\"}},",
            "\"label\":{{\"app_type\":\"{app}\",\"customer_id\":\"4711\",\"business_group\":\"Claims\",",
            "\"business_group_id\":\"bg-12\",\"deploy_timestamp\":\"20241101120000\",",
            "\"is_co_browsing_on\":false,\"master_rid\":\"{rid}\",\"page_analytics_id\":\"pa-{page_index}\",",
            "\"page_index\":\"{page_index}\",\"page_name\":\"{page}\",\"process_id\":\"{process_id}\",",
            "\"process_multi_language\":\"false\",\"request_id\":\"req-{rid}\",\"rid\":\"{rid}\",",
            "\"role\":\"customer\",\"source_type\":\"link\",\"source_value\":\"email\",",
            "\"step_id\":\"step-{page_index}\",\"step_index\":\"{page_index}\",\"web_flow_name\":\"{flow}\",",
            "\"webflow_id\":\"wf-{process_id}\",\"player_version\":\"7.42.1\",",
            "\"authentication_method\":\"{auth_method}\",\"authentication_status\":\"{auth_status}\",",
            "\"auth_action\":\"{auth_action}\",\"auth_page\":\"{auth_page}\"}}}}"
        ),
        product = product.as_str(),
        ts = ts.format("%Y-%m-%dT%H:%M:%S%.6f"),
        os_family = os_family,
        os_full = os_full,
        mobile = mobile,
        browser = browser,
        device = if mobile { "Smartphone" } else { "Desktop" },
        ua = ua,
        ip = ip,
        action = action,
        country = country,
        region = region,
        host = host,
        app = app,
        process_id = process_id,
        rid = rid,
        page_index = (r >> 40) % 6,
        page = page,
        flow = flow,
        auth_method = auth_method,
        auth_status = auth_status,
        auth_action = auth_action,
        auth_page = if auth_method.is_empty() { "" } else { "login" },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_logs_are_valid_json_with_a_zoneless_microsecond_timestamp() {
        let mut store = LogStore::default();
        let from = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        store.seed(
            50,
            from,
            from + chrono::Duration::minutes(5),
            ProductMix::Mixed,
        );
        let logs = store.range(i64::MIN, i64::MAX, None);
        assert_eq!(logs.len(), 50);
        let mut builders = 0;
        for log in &logs {
            let mut text = String::new();
            render(log, &mut text);
            let value: Value = serde_json::from_str(&text).expect("valid JSON");
            let ts = value["@timestamp"].as_str().unwrap();
            assert_eq!(ts.len(), "2024-11-20T10:37:42.943305".len(), "{ts}");
            assert!(!ts.ends_with('Z'));
            assert_eq!(
                parse_timestamp(ts).unwrap().timestamp_micros(),
                log.ts_micros
            );
            if value["product_type"] == "Builder" {
                builders += 1;
            }
            assert!(value["event"]["action"].as_str().is_some());
        }
        assert!(builders > 0 && builders < 50);
    }

    #[test]
    fn range_is_half_open_and_filters_by_product() {
        let mut store = LogStore::default();
        let from = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        store.seed(
            10,
            from,
            from + chrono::Duration::seconds(10),
            ProductMix::Player,
        );
        let start = from.timestamp_micros();
        assert_eq!(store.range(start, start + 5_000_000, None).len(), 5);
        assert_eq!(
            store
                .range(start, start + 10_000_000, Some(Product::Builder))
                .len(),
            0
        );
    }
}
