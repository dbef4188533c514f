//! An hour's inputs: every landed object of its partition, listed with its ETag (so a rewrite of the same key is
//! seen as a change), and read back as NDJSON lines.

use std::io::Read;

use aws_sdk_s3::Client;

/// One landed object as listed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Input {
    pub key: String,
    pub etag: String,
}

/// A landed object's NDJSON, as far as it decompressed, and what went wrong past that.
pub struct Landed {
    pub key: String,
    pub body: Vec<u8>,
    pub damage: Option<String>,
}

/// Every `.ndjson.gz` object under `prefix`, sorted by key.
pub async fn list(s3: &Client, bucket: &str, prefix: &str) -> Result<Vec<Input>, String> {
    let mut inputs = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| tributary_shared::aws::error_text(&e))?;
        for object in page.contents() {
            let (Some(key), etag) = (object.key(), object.e_tag().unwrap_or_default()) else {
                continue;
            };
            if key.ends_with(".ndjson.gz") {
                inputs.push(Input {
                    key: key.to_owned(),
                    etag: etag.to_owned(),
                });
            }
        }
    }
    inputs.sort();
    Ok(inputs)
}

/// One object's decompressed body. An object that cannot be fetched fails the read (the hour is retried); one
/// that is not gzip keeps what decompressed before the damage and says so.
pub async fn read_one(s3: &Client, bucket: &str, input: &Input) -> Result<Landed, String> {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(&input.key)
        .send()
        .await
        .map_err(|e| format!("{}: {}", input.key, tributary_shared::aws::error_text(&e)))?;
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| format!("{}: {e}", input.key))?
        .into_bytes();
    let (body, damage) = gunzip(&bytes);
    Ok(Landed {
        key: input.key.clone(),
        body,
        damage,
    })
}

/// Every gzip member of `bytes` (a landed object is one or more members), and the error that stopped it early.
pub fn gunzip(bytes: &[u8]) -> (Vec<u8>, Option<String>) {
    let mut out = Vec::with_capacity(bytes.len() * 6);
    let damage = flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .err()
        .map(|e| {
            format!(
                "not readable as gzip past byte {} of its text: {e}",
                out.len()
            )
        });
    (out, damage)
}
