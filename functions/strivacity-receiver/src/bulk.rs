//! The Elasticsearch `_bulk` wire protocol, as far as a receiver needs it: content types, NDJSON action and
//! source lines (`index` and `create`), per-item results in request order, the ES error envelope and the
//! `GET /` info body that clients use to recognise Elasticsearch.
//!
//! Pure functions; the HTTP handlers in `lib.rs` call them. A request is validated whole before anything is
//! written: a bad line anywhere refuses the request with the error envelope, never with a partial result.

use http::StatusCode;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The header every response carries; official clients refuse servers without it.
pub const PRODUCT_HEADER: &str = "x-elastic-product";
pub const PRODUCT: &str = "Elasticsearch";

/// The bulk actions. Only `index` and `create` are stored; `update` and `delete` change documents that a
/// receiver does not keep, so each gets its own item error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Index,
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Index => "index",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// One document of a bulk request.
#[derive(Debug, Clone)]
pub struct BulkItem {
    pub action: Action,
    pub index: String,
    /// `_id` from the action line, when the sender set one.
    pub id: Option<String>,
    /// The document, parsed (always a JSON object).
    pub source: Value,
    /// The document exactly as it was written, kept as the original.
    pub raw: Box<RawValue>,
}

/// A whole-request failure, answered with the ES error envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {reason}")]
pub struct EsError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub reason: String,
}

/// An Elasticsearch error cause: `{"type": …, "reason": …}`, in a whole-request error's `root_cause` and in a
/// failed bulk item's `error`.
#[derive(Serialize)]
struct Cause<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    reason: &'a str,
}

impl EsError {
    pub fn new(status: StatusCode, kind: &'static str, reason: impl Into<String>) -> Self {
        EsError {
            status,
            kind,
            reason: reason.into(),
        }
    }

    fn bad_request(kind: &'static str, reason: impl Into<String>) -> Self {
        EsError::new(StatusCode::BAD_REQUEST, kind, reason)
    }

    /// `{"error":{"root_cause":[…],"type":…,"reason":…},"status":…}`, in Elasticsearch's key order.
    pub fn body(&self) -> String {
        #[derive(Serialize)]
        struct Error<'a> {
            root_cause: [Cause<'a>; 1],
            #[serde(rename = "type")]
            kind: &'a str,
            reason: &'a str,
        }
        #[derive(Serialize)]
        struct Envelope<'a> {
            error: Error<'a>,
            status: u16,
        }
        let cause = || Cause {
            kind: self.kind,
            reason: &self.reason,
        };
        serde_json::to_string(&Envelope {
            error: Error {
                root_cause: [cause()],
                kind: self.kind,
                reason: &self.reason,
            },
            status: self.status.as_u16(),
        })
        .expect("an error envelope always serializes")
    }

    /// The body for a request without valid credentials, as Elasticsearch's security layer words it.
    pub fn unauthenticated(reason: impl Into<String>) -> Self {
        EsError::new(StatusCode::UNAUTHORIZED, "security_exception", reason)
    }
}

/// The media types `_bulk` accepts: plain NDJSON/JSON and the versioned vendor types that 8.x and 9.x clients
/// send (`application/vnd.elasticsearch+x-ndjson; compatible-with=9`). A request without a content type is
/// taken as NDJSON, so a sender that omits it is not turned away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaType {
    /// The `compatible-with` version, when the sender used a vendor type.
    pub compatible_with: Option<u8>,
}

impl MediaType {
    pub fn parse(value: Option<&str>) -> Result<MediaType, EsError> {
        let Some(value) = value else {
            return Ok(MediaType {
                compatible_with: None,
            });
        };
        let mut parts = value.split(';').map(str::trim);
        let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
        let compat = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("compatible-with"))
            .map(|(_, v)| v.trim().trim_matches('"').parse::<u8>());
        let unsupported = || {
            EsError::new(
                StatusCode::NOT_ACCEPTABLE,
                "media_type_header_exception",
                format!("Content-Type header [{value}] is not supported"),
            )
        };
        match essence.as_str() {
            "application/json" | "application/x-ndjson" => Ok(MediaType {
                compatible_with: None,
            }),
            "application/vnd.elasticsearch+json" | "application/vnd.elasticsearch+x-ndjson" => {
                match compat {
                    Some(Ok(v)) => Ok(MediaType {
                        compatible_with: Some(v),
                    }),
                    _ => Err(unsupported()),
                }
            }
            _ => Err(unsupported()),
        }
    }

    /// The `Content-Type` of our JSON answer: the vendor type again when the client asked in it.
    pub fn response_content_type(self) -> String {
        match self.compatible_with {
            Some(v) => format!("application/vnd.elasticsearch+json;compatible-with={v}"),
            None => "application/json".to_owned(),
        }
    }
}

/// A document the request carried that cannot be stored as an event: answered with its own item error, as
/// Elasticsearch does, and kept under `_unparsed` with that error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedItem {
    /// The action as the sender named it (`index`, `create`, `update`, `delete`).
    pub action: &'static str,
    pub index: String,
    pub id: Option<String>,
    pub error: EsError,
    /// The 1-based line of the action.
    pub line: usize,
    /// The action line and its document line (if any) as sent.
    pub raw: String,
}

/// One document of a request: storable, or refused with its own error.
pub type Parsed = Result<BulkItem, RefusedItem>;

/// Parses a `_bulk` body. `url_index` is the `{index}` of `/{index}/_bulk`, the default for action lines
/// without `_index`.
///
/// What breaks the request's framing (a body without its final newline, an action line that is not JSON, an
/// action without its document line) or the request as a whole (no index at all, too many documents) refuses
/// the request, as Elasticsearch does; what is wrong with one document (its JSON, its index name, an action we
/// do not keep) refuses that document alone and the others are stored.
pub fn parse_bulk(
    body: &[u8],
    url_index: Option<&str>,
    max_events: usize,
) -> Result<Vec<Parsed>, EsError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(EsError::bad_request(
            "action_request_validation_exception",
            "Validation Failed: 1: no requests added;",
        ));
    }
    if !body.ends_with(b"\n") {
        return Err(EsError::bad_request(
            "illegal_argument_exception",
            "The bulk request must be terminated by a newline [\\n]",
        ));
    }
    if let Some(index) = url_index {
        check_index_name(index)?;
    }
    let mut lines = body
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)));
    let mut items = Vec::new();
    while let Some((number, line)) = lines.next() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if items.len() >= max_events {
            return Err(EsError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "illegal_argument_exception",
                format!(
                    "The bulk request has more than {max_events} documents; send smaller batches"
                ),
            ));
        }
        let (action, meta) = action_line(number, line)?;
        let index = match meta.get("_index") {
            Some(Value::String(index)) => index.clone(),
            Some(_) => {
                return Err(EsError::bad_request(
                    "illegal_argument_exception",
                    format!("Action/metadata line [{number}]: [_index] must be a string"),
                ))
            }
            None => url_index.map(str::to_owned).ok_or_else(|| {
                EsError::bad_request(
                    "action_request_validation_exception",
                    "Validation Failed: 1: index is missing;",
                )
            })?,
        };
        let id = match meta.get("_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if !id.is_empty() => Some(id.clone()),
            Some(_) => {
                return Err(EsError::bad_request(
                    "illegal_argument_exception",
                    format!("Action/metadata line [{number}]: [_id] must be a non-empty string"),
                ))
            }
        };
        // Only a refused item names its lines; an accepted one is kept by its document.
        let action_text = || String::from_utf8_lossy(line);
        let refuse = |error: EsError, raw: String| RefusedItem {
            action: action.name(),
            index: index.clone(),
            id: id.clone(),
            error,
            line: number,
            raw,
        };
        // `delete` is the one action without a document line.
        if action == Action::Delete {
            items.push(Err(refuse(
                unkept(number, action),
                action_text().into_owned(),
            )));
            continue;
        }
        let Some((source_number, source)) = lines.next().filter(|(_, l)| !l.is_empty()) else {
            return Err(EsError::bad_request(
                "illegal_argument_exception",
                format!("Action/metadata line [{number}] has no document line after it"),
            ));
        };
        let raw_pair = || format!("{}\n{}", action_text(), String::from_utf8_lossy(source));
        if action == Action::Update {
            items.push(Err(refuse(unkept(number, action), raw_pair())));
            continue;
        }
        if let Err(error) = check_index_name(&index) {
            items.push(Err(refuse(error, raw_pair())));
            continue;
        }
        match document(source_number, source) {
            Ok((raw, source)) => items.push(Ok(BulkItem {
                action,
                index,
                id,
                source,
                raw,
            })),
            Err(error) => items.push(Err(refuse(error, raw_pair()))),
        }
    }
    if items.is_empty() {
        return Err(EsError::bad_request(
            "action_request_validation_exception",
            "Validation Failed: 1: no requests added;",
        ));
    }
    Ok(items)
}

/// The item error for an action that changes documents a receiver does not keep.
fn unkept(number: usize, action: Action) -> EsError {
    EsError::bad_request(
        "illegal_argument_exception",
        format!(
            "Action/metadata line [{number}] uses [{}]; this endpoint receives events and accepts only [index] and [create]",
            action.name()
        ),
    )
}

/// A document line: a JSON object, kept as written and parsed.
fn document(number: usize, line: &[u8]) -> Result<(Box<RawValue>, Value), EsError> {
    let not_a_document = |why: String| {
        EsError::bad_request(
            "document_parsing_exception",
            format!("[{number}:1] failed to parse the document: {why}"),
        )
    };
    let raw: Box<RawValue> =
        serde_json::from_slice(line).map_err(|e| not_a_document(e.to_string()))?;
    if !raw.get().starts_with('{') {
        return Err(not_a_document("it is not a JSON object".to_owned()));
    }
    let source: Value =
        serde_json::from_str(raw.get()).map_err(|e| not_a_document(e.to_string()))?;
    Ok((raw, source))
}

fn action_line(number: usize, line: &[u8]) -> Result<(Action, Map<String, Value>), EsError> {
    let value: Value = serde_json::from_slice(line).map_err(|e| {
        EsError::bad_request(
            "x_content_parse_exception",
            format!("[{number}:1] Malformed action/metadata line [{number}]: {e}"),
        )
    })?;
    let malformed = |found: &str| {
        EsError::bad_request(
            "illegal_argument_exception",
            format!(
                "Malformed action/metadata line [{number}], expected field [create], [delete], [index] or [update] but found [{found}]"
            ),
        )
    };
    let Value::Object(map) = value else {
        return Err(malformed("not an object"));
    };
    if map.len() != 1 {
        return Err(malformed("more than one action"));
    }
    let (name, meta) = map.into_iter().next().expect("one entry");
    let action = match name.as_str() {
        "index" => Action::Index,
        "create" => Action::Create,
        "update" => Action::Update,
        "delete" => Action::Delete,
        other => return Err(malformed(other)),
    };
    match meta {
        Value::Object(meta) => Ok((action, meta)),
        _ => Err(EsError::bad_request(
            "illegal_argument_exception",
            format!("Malformed action/metadata line [{number}], expected START_OBJECT"),
        )),
    }
}

/// Elasticsearch's index name rules; names are also what tells account from audit events, so they are
/// checked rather than trusted.
pub fn check_index_name(name: &str) -> Result<(), EsError> {
    let invalid = |why: &str| {
        EsError::bad_request(
            "invalid_index_name_exception",
            format!("Invalid index name [{name}], {why}"),
        )
    };
    if name.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if name != name.to_lowercase() {
        return Err(invalid("must be lowercase"));
    }
    if name == "." || name == ".." {
        return Err(invalid("must not be '.' or '..'"));
    }
    if name.starts_with(['-', '_', '+']) {
        return Err(invalid("must not start with '_', '-', or '+'"));
    }
    if name.chars().any(|c| {
        matches!(
            c,
            '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ' ' | ',' | '#' | ':'
        )
    }) {
        return Err(invalid(
            "must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?, #, :]",
        ));
    }
    if name.len() > 255 {
        return Err(invalid("index name is too long"));
    }
    Ok(())
}

/// What the response says about one document: stored, or refused with its own error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemResult<'a> {
    pub action: &'static str,
    pub index: &'a str,
    /// The stored document's id; for a refused one, the `_id` the sender gave, if any.
    pub id: Option<&'a str>,
    pub error: Option<&'a EsError>,
}

/// The `_bulk` answer after everything the request carried is stored: one item per document, in request order,
/// `created` or its error, with the keys in Elasticsearch's order, and `errors: true` when any item failed.
pub fn bulk_response(items: &[ItemResult<'_>], took_ms: u64) -> String {
    #[derive(Serialize)]
    struct Shards {
        total: u8,
        successful: u8,
        failed: u8,
    }
    #[derive(Serialize)]
    struct Created<'a> {
        _index: &'a str,
        _id: &'a str,
        _version: u8,
        result: &'static str,
        _shards: Shards,
        _seq_no: usize,
        _primary_term: u8,
        status: u16,
    }
    #[derive(Serialize)]
    struct Failed<'a> {
        _index: &'a str,
        _id: Option<&'a str>,
        status: u16,
        error: Cause<'a>,
    }
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Item<'a> {
        Created(Created<'a>),
        Failed(Failed<'a>),
    }
    /// `{"<action>": {...}}`.
    struct Named<'a>(&'static str, Item<'a>);
    impl Serialize for Named<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry(self.0, &self.1)?;
            map.end()
        }
    }
    #[derive(Serialize)]
    struct Response<'a> {
        took: u64,
        errors: bool,
        items: Vec<Named<'a>>,
    }
    let errors = items.iter().any(|item| item.error.is_some());
    let mut seq = 0;
    let items = items
        .iter()
        .map(|item| {
            let body = match item.error {
                Some(error) => Item::Failed(Failed {
                    _index: item.index,
                    _id: item.id,
                    status: error.status.as_u16(),
                    error: Cause {
                        kind: error.kind,
                        reason: &error.reason,
                    },
                }),
                None => {
                    seq += 1;
                    Item::Created(Created {
                        _index: item.index,
                        _id: item.id.unwrap_or_default(),
                        _version: 1,
                        result: "created",
                        _shards: Shards {
                            total: 1,
                            successful: 1,
                            failed: 0,
                        },
                        _seq_no: seq - 1,
                        _primary_term: 1,
                        status: 201,
                    })
                }
            };
            Named(item.action, body)
        })
        .collect();
    serde_json::to_string(&Response {
        took: took_ms,
        errors,
        items,
    })
    .expect("a bulk response always serializes")
}

/// The identity the receiver shows on `GET /`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    pub node_name: String,
    pub cluster_name: String,
}

impl Default for ClusterInfo {
    fn default() -> Self {
        ClusterInfo {
            node_name: "tributary".to_owned(),
            cluster_name: "tributary".to_owned(),
        }
    }
}

/// The version we present ourselves as. 8.x is what Strivacity's integration and the 8/9 clients expect.
pub const ES_VERSION: &str = "8.17.0";

/// The `GET /` body of an Elasticsearch 8 node, in its key order.
pub fn info_body(info: &ClusterInfo) -> String {
    use sha2::{Digest, Sha256};
    #[derive(Serialize)]
    struct Version {
        number: &'static str,
        build_flavor: &'static str,
        build_type: &'static str,
        build_hash: &'static str,
        build_date: &'static str,
        build_snapshot: bool,
        lucene_version: &'static str,
        minimum_wire_compatibility_version: &'static str,
        minimum_index_compatibility_version: &'static str,
    }
    #[derive(Serialize)]
    struct Info<'a> {
        name: &'a str,
        cluster_name: &'a str,
        cluster_uuid: String,
        version: Version,
        tagline: &'static str,
    }
    // A stable 22-character id, like the ones Elasticsearch generates.
    let cluster_uuid: String = hex::encode(Sha256::digest(info.cluster_name.as_bytes()))
        .chars()
        .take(22)
        .collect();
    serde_json::to_string(&Info {
        name: &info.node_name,
        cluster_name: &info.cluster_name,
        cluster_uuid,
        version: Version {
            number: ES_VERSION,
            build_flavor: "default",
            build_type: "tar",
            build_hash: "2b6a7fed44faa321997703718f07ee0420804b41",
            build_date: "2024-12-11T12:08:05.663969764Z",
            build_snapshot: false,
            lucene_version: "9.12.0",
            minimum_wire_compatibility_version: "7.17.0",
            minimum_index_compatibility_version: "7.0.0",
        },
        tagline: "You Know, for Search",
    })
    .expect("the info body always serializes")
}

/// The answer to any path or method the receiver does not serve, worded as Elasticsearch words it.
pub fn no_handler(method: &str, path: &str) -> EsError {
    EsError::bad_request(
        "illegal_argument_exception",
        format!("no handler found for uri [{path}] and method [{method}]"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MAX: usize = 100;

    fn stored(items: Vec<Parsed>) -> Vec<BulkItem> {
        items.into_iter().map(|i| i.expect("stored")).collect()
    }

    #[test]
    fn a_bad_document_is_refused_alone_and_the_others_are_stored() {
        let body = concat!(
            "{\"index\":{\"_index\":\"x\"}}\n{\"eventId\":\"a\"}\n",
            "{\"index\":{\"_index\":\"x\",\"_id\":\"bad\"}}\n{\"eventId\":\n",
            "{\"index\":{\"_index\":\"x\"}}\n[1,2]\n",
            "{\"index\":{\"_index\":\"Upper\"}}\n{}\n",
            "{\"update\":{\"_index\":\"x\",\"_id\":\"u\"}}\n{\"doc\":{}}\n",
            "{\"delete\":{\"_index\":\"x\",\"_id\":\"d\"}}\n",
            "{\"create\":{\"_index\":\"x\"}}\n{\"eventId\":\"b\"}\n",
        );
        let items = parse_bulk(body.as_bytes(), None, MAX).unwrap();
        let kinds: Vec<Result<&str, &str>> = items
            .iter()
            .map(|i| match i {
                Ok(item) => Ok(item.action.name()),
                Err(refused) => Err(refused.error.kind),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                Ok("index"),
                Err("document_parsing_exception"),
                Err("document_parsing_exception"),
                Err("invalid_index_name_exception"),
                Err("illegal_argument_exception"),
                Err("illegal_argument_exception"),
                Ok("create"),
            ]
        );
        let bad = items[1].as_ref().unwrap_err();
        assert_eq!(bad.id.as_deref(), Some("bad"));
        assert_eq!(bad.line, 3);
        assert_eq!(
            bad.raw,
            "{\"index\":{\"_index\":\"x\",\"_id\":\"bad\"}}\n{\"eventId\":"
        );
        let delete = items[5].as_ref().unwrap_err();
        assert_eq!((delete.action, delete.line), ("delete", 11));
    }

    #[test]
    fn index_and_create_pairs_become_items_in_order() {
        let body = concat!(
            "{\"index\":{\"_index\":\"strivacity-account\"}}\n",
            "{\"eventId\":\"a\"}\n",
            "{\"create\":{\"_id\":\"given\"}}\n",
            "{\"eventId\":\"b\"}\n",
        );
        let items = stored(parse_bulk(body.as_bytes(), Some("fallback"), MAX).unwrap());
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].action, Action::Index);
        assert_eq!(items[0].index, "strivacity-account");
        assert_eq!(items[0].id, None);
        assert_eq!(items[1].action, Action::Create);
        assert_eq!(items[1].index, "fallback");
        assert_eq!(items[1].id.as_deref(), Some("given"));
        assert_eq!(items[1].source["eventId"], "b");
    }

    #[test]
    fn crlf_and_blank_lines_between_pairs_are_tolerated() {
        let body = "{\"index\":{\"_index\":\"x\"}}\r\n{\"a\":1}\r\n\n{\"index\":{}}\n{\"a\":2}\n";
        let items = stored(parse_bulk(body.as_bytes(), Some("y"), MAX).unwrap());
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].index, "y");
    }

    #[test]
    fn whole_request_errors_name_what_is_wrong() {
        let cases: [(&str, Option<&str>, &str); 5] = [
            ("", None, "action_request_validation_exception"),
            (
                "{\"index\":{}}\n{\"a\":1}",
                Some("x"),
                "illegal_argument_exception",
            ),
            (
                "{\"index\":{}}\n{\"a\":1}\n",
                None,
                "action_request_validation_exception",
            ),
            (
                "{\"upsert\":{}}\n{}\n",
                Some("x"),
                "illegal_argument_exception",
            ),
            ("not json\n{}\n", Some("x"), "x_content_parse_exception"),
        ];
        for (body, index, kind) in cases {
            let err = parse_bulk(body.as_bytes(), index, MAX).unwrap_err();
            assert_eq!(err.kind, kind, "{body:?}: {err}");
            assert_eq!(err.status, StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn an_action_without_its_document_is_refused() {
        let err = parse_bulk(b"{\"index\":{\"_index\":\"x\"}}\n", None, MAX).unwrap_err();
        assert!(err.reason.contains("no document line"), "{err}");
    }

    #[test]
    fn document_count_is_limited() {
        let body = "{\"index\":{}}\n{}\n".repeat(3);
        assert_eq!(parse_bulk(body.as_bytes(), Some("x"), 3).unwrap().len(), 3);
        let err = parse_bulk(body.as_bytes(), Some("x"), 2).unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn error_envelope_has_root_cause_type_reason_and_status() {
        let err = EsError::unauthenticated(
            "missing authentication credentials for REST request [/_bulk]",
        );
        let text = err.body();
        assert!(
            text.starts_with(r#"{"error":{"root_cause":[{"type":"security_exception""#),
            "{text}"
        );
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["status"], 401);
        assert_eq!(body["error"]["type"], "security_exception");
        assert_eq!(body["error"]["root_cause"][0]["type"], "security_exception");
        assert!(body["error"]["reason"].as_str().unwrap().contains("/_bulk"));
    }

    #[test]
    fn media_types_of_all_client_generations_are_accepted() {
        for ok in [
            None,
            Some("application/x-ndjson"),
            Some("application/json; charset=UTF-8"),
            Some("application/vnd.elasticsearch+x-ndjson; compatible-with=9"),
            Some("application/vnd.elasticsearch+json;compatible-with=8"),
        ] {
            assert!(MediaType::parse(ok).is_ok(), "{ok:?}");
        }
        let vnd = MediaType::parse(Some(
            "application/vnd.elasticsearch+x-ndjson; compatible-with=9",
        ))
        .unwrap();
        assert_eq!(
            vnd.response_content_type(),
            "application/vnd.elasticsearch+json;compatible-with=9"
        );
        for bad in [
            Some("text/plain"),
            Some("application/vnd.elasticsearch+json"),
        ] {
            assert_eq!(
                MediaType::parse(bad).unwrap_err().status,
                StatusCode::NOT_ACCEPTABLE
            );
        }
    }

    #[test]
    fn bulk_response_lists_one_item_per_document_with_its_own_error() {
        let refused = EsError::bad_request("document_parsing_exception", "bad JSON");
        let items = [
            ItemResult {
                action: "index",
                index: "a",
                id: Some("id1"),
                error: None,
            },
            ItemResult {
                action: "index",
                index: "a",
                id: None,
                error: Some(&refused),
            },
            ItemResult {
                action: "create",
                index: "b",
                id: Some("id2"),
                error: None,
            },
        ];
        let text = bulk_response(&items, 3);
        assert!(text.starts_with(r#"{"took":3,"errors":true,"items":[{"index":{"_index":"a","_id":"id1","_version":1,"result":"created""#), "{text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["items"][0]["index"]["status"], 201);
        assert_eq!(
            body["items"][1]["index"],
            json!({"_index": "a", "_id": null, "status": 400,
                   "error": {"type": "document_parsing_exception", "reason": "bad JSON"}})
        );
        assert_eq!(body["items"][2]["create"]["_index"], "b");
        assert_eq!(body["items"][2]["create"]["_seq_no"], 1);
        let clean = bulk_response(&items[..1], 1);
        assert!(clean.contains(r#""errors":false"#), "{clean}");
    }

    #[test]
    fn info_body_looks_like_elasticsearch_8() {
        let body: Value = serde_json::from_str(&info_body(&ClusterInfo::default())).unwrap();
        assert!(body["version"]["number"]
            .as_str()
            .unwrap()
            .starts_with("8."));
        assert_eq!(body["version"]["build_flavor"], "default");
        assert_eq!(body["tagline"], "You Know, for Search");
        assert_eq!(body["cluster_uuid"].as_str().unwrap().len(), 22);
    }

    #[test]
    fn index_names_follow_elasticsearch_rules() {
        assert!(check_index_name("strivacity-audit-2026.11").is_ok());
        for bad in ["", "Upper", "_x", "-x", "a b", "a:b", "a/b", ".", ".."] {
            assert!(check_index_name(bad).is_err(), "{bad:?}");
        }
    }
}
