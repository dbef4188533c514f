//! What an invocation asks for: the landed objects named by the SQS messages it carries. A message body is an S3
//! event notification (`Records[].s3`, keys URL-encoded), an EventBridge "Object Created" event (`detail`, keys as
//! they are), or S3's `s3:TestEvent` (nothing to do). A direct invocation may name hours to rebuild instead:
//! `{"rebuild": ["<prefix>/vendor=…/event_type=…/dt=…/hour=…/"]}` (a backfill, or after a mapping change).

use serde_json::Value;

/// One object a notification names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
}

/// One message of the batch and what it names (or why it cannot be read).
#[derive(Debug)]
pub struct Message {
    /// SQS's `messageId`, what a partial batch failure names; none for a direct invocation.
    pub id: Option<String>,
    pub objects: Result<Vec<ObjectRef>, String>,
}

/// The messages of an invocation's payload.
pub fn messages(payload: &Value, landing_bucket: &str) -> Vec<Message> {
    if let Some(keys) = payload.get("rebuild") {
        let objects = match keys.as_array() {
            Some(keys) => keys
                .iter()
                .map(|k| {
                    k.as_str()
                        .map(|key| ObjectRef {
                            bucket: landing_bucket.to_owned(),
                            key: key.to_owned(),
                        })
                        .ok_or_else(|| "rebuild names something that is not a key".to_owned())
                })
                .collect(),
            None => Err("rebuild is not a list of keys".to_owned()),
        };
        return vec![Message { id: None, objects }];
    }
    let Some(records) = payload.get("Records").and_then(Value::as_array) else {
        return vec![Message {
            id: None,
            objects: Err(
                "the event is neither an SQS batch (Records) nor a rebuild request".to_owned(),
            ),
        }];
    };
    records
        .iter()
        .map(|record| Message {
            id: record
                .get("messageId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            objects: match record.get("body").and_then(Value::as_str) {
                Some(body) => objects(body),
                None => Err("the SQS record has no body".to_owned()),
            },
        })
        .collect()
}

/// The objects one message body names.
fn objects(body: &str) -> Result<Vec<ObjectRef>, String> {
    let body: Value =
        serde_json::from_str(body).map_err(|e| format!("the message body is not JSON: {e}"))?;
    if body.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    // An S3 notification delivered through SNS arrives wrapped in its `Message`.
    if let Some(inner) = body.get("Message").and_then(Value::as_str) {
        return objects(inner);
    }
    if let Some(records) = body.get("Records").and_then(Value::as_array) {
        return records
            .iter()
            .filter(|r| {
                r.get("eventName")
                    .and_then(Value::as_str)
                    .is_none_or(|name| name.starts_with("ObjectCreated"))
            })
            .map(|r| {
                let bucket = r.pointer("/s3/bucket/name").and_then(Value::as_str);
                let key = r.pointer("/s3/object/key").and_then(Value::as_str);
                match (bucket, key) {
                    (Some(bucket), Some(key)) => Ok(ObjectRef {
                        bucket: bucket.to_owned(),
                        key: url_decode(key)?,
                    }),
                    _ => Err("an S3 notification record names no bucket or key".to_owned()),
                }
            })
            .collect();
    }
    if body.get("source").and_then(Value::as_str) == Some("aws.s3") {
        let bucket = body.pointer("/detail/bucket/name").and_then(Value::as_str);
        let key = body.pointer("/detail/object/key").and_then(Value::as_str);
        return match (bucket, key) {
            (Some(bucket), Some(key)) => Ok(vec![ObjectRef {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            }]),
            _ => Err("an EventBridge S3 event names no bucket or key".to_owned()),
        };
    }
    Err("the message body is neither an S3 notification nor an EventBridge S3 event".to_owned())
}

/// S3 notifications URL-encode keys the way HTML forms do (`%3D` for `=`, `+` for a space).
fn url_decode(key: &str) -> Result<String, String> {
    let bytes = key.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("the key {key:?} has a broken %-escape"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("the key {key:?} is not UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sqs(bodies: &[String]) -> Value {
        let records: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| json!({"messageId": format!("m{i}"), "body": body, "eventSource": "aws:sqs"}))
            .collect();
        json!({ "Records": records })
    }

    #[test]
    fn s3_notifications_eventbridge_events_and_test_events_are_read() {
        let s3 = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "landing"},
            "object": {"key": "tributary/vendor%3Dtransmit/event_type%3Dcis/dt%3D2026-12-01/hour%3D13/a+b.ndjson.gz"}}}]});
        let bridge = json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {"name": "landing"},
            "object": {"key": "tributary/vendor=lookout/event_type=threat/dt=2026-12-01/hour=13/x.ndjson.gz"}}});
        let test = json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "landing"});
        let got = messages(
            &sqs(&[s3.to_string(), bridge.to_string(), test.to_string()]),
            "landing",
        );
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0].objects.as_ref().unwrap()[0].key,
            "tributary/vendor=transmit/event_type=cis/dt=2026-12-01/hour=13/a b.ndjson.gz"
        );
        assert_eq!(got[0].id.as_deref(), Some("m0"));
        assert_eq!(
            got[1].objects.as_ref().unwrap()[0].key,
            "tributary/vendor=lookout/event_type=threat/dt=2026-12-01/hour=13/x.ndjson.gz"
        );
        assert!(got[2].objects.as_ref().unwrap().is_empty());
    }

    #[test]
    fn a_message_that_names_nothing_readable_is_an_error_of_its_own() {
        let got = messages(&sqs(&["{oops".to_owned(), json!({"a": 1}).to_string(),
            json!({"Records": [{"s3": {"object": {"key": "k"}}}]}).to_string(),
            json!({"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": "bad%zz"}}}]}).to_string()]), "landing");
        assert!(got.iter().all(|m| m.objects.is_err()), "{got:?}");
        assert!(messages(&json!({"x": 1}), "landing")[0].objects.is_err());
    }

    #[test]
    fn a_rebuild_request_names_keys_in_the_landing_bucket() {
        let got = messages(
            &json!({"rebuild": ["tributary/vendor=easysend/event_type=player/dt=2026-12-01/hour=10/"]}),
            "landing",
        );
        assert_eq!(got[0].objects.as_ref().unwrap()[0].bucket, "landing");
        assert!(got[0].id.is_none());
    }
}
