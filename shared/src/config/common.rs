//! The settings every function reads alike, whether or not it keeps state: where it lands, how it compresses,
//! how long it caches secrets and how early it stops before the deadline.

use std::time::Duration;

use super::Reader;
use crate::record::Shape;

/// `TRIBUTARY_BUCKET`.
pub fn bucket(reader: &mut Reader) -> String {
    reader.required("TRIBUTARY_BUCKET", "the landing bucket")
}

/// `TRIBUTARY_PREFIX`.
pub fn prefix(reader: &mut Reader) -> String {
    reader.text(
        "TRIBUTARY_PREFIX",
        "tributary",
        "key prefix above vendor= in every object key",
    )
}

/// `TRIBUTARY_GZIP_LEVEL`.
pub fn gzip_level(reader: &mut Reader) -> u32 {
    reader.whole(
        "TRIBUTARY_GZIP_LEVEL",
        6,
        1..=9,
        "",
        "gzip level of landed objects, 1 (fast) to 9 (small)",
    ) as u32
}

/// `TRIBUTARY_RECORD_SHAPE`.
pub fn record_shape(reader: &mut Reader) -> Shape {
    reader.choice(
        "TRIBUTARY_RECORD_SHAPE",
        "lean",
        Shape::CHOICES,
        "record shape: lean (vendor fields ECS carries are written once, under ECS) or full (the original byte \
         for byte beside ECS, related.*, run and batch)",
    )
}

/// `TRIBUTARY_SECRETS_TTL_SECONDS`.
pub fn secrets_ttl(reader: &mut Reader) -> Duration {
    reader.seconds(
        "TRIBUTARY_SECRETS_TTL_SECONDS",
        300,
        "how long a secret is cached; a rotated value is picked up within this time",
    )
}

/// `TRIBUTARY_SAFETY_MARGIN_SECONDS`, with the function's own default.
pub fn safety_margin(reader: &mut Reader, default_seconds: u64) -> Duration {
    reader.seconds(
        "TRIBUTARY_SAFETY_MARGIN_SECONDS",
        default_seconds,
        "stop this long before the Lambda deadline",
    )
}
