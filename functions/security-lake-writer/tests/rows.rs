//! Rows and files from records exactly as the collectors write them (their own mapping code, both record shapes):
//! the same event gives the same row whichever shape landed it and whenever it landed, every class's rows fit its
//! Parquet schema, and a file read back holds its rows, sorted by time, byte for byte the same when written again.

use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use security_lake_writer::ocsf::{map, Class, Fallback, Row};
use security_lake_writer::parquet_file;
use serde_json::Value;
use tributary_shared::record::{LineStamp, Record, Shape};

const TRANSMIT: &str = r#"[
 {"activity":"user_login","timestamp":1764590400000,"ip":"198.51.100.7","user_agent":"Mozilla/5.0","user_id":"u-1","tenant_id":"t-1","app_id":"a-1","device_id":"d-1","correlation_id":"c-1"},
 {"activity":"create_user","timestamp":1764590401000,"ip":"198.51.100.8","user_id":"u-2","tenant_id":"t-1"},
 {"activity":"journey_started","timestamp":1764590399000,"user_id":"u-3","tenant_id":"t-1","journey_id":"j-1"}
]"#;
const RISK: &str = r#"[{"activity":"risk_recommendation","timestamp":1764590402000,"ip":"203.0.113.9","user_id":"u-4","device_id":"d-9","additional_params":{"recommendation":"DENY","risk_score":91}}]"#;
const ADMIN: &str = r#"[{"activity":"createApp","timestamp":1764590403000,"ip":"192.0.2.1","actor_id":"adm-1","actor_type":"user","target_resource_id":"app-7","target_resource_type":"app","tenant_id":"t-1"}]"#;
const EASYSEND: &[&str] = &[
    r#"{"@timestamp":"2025-12-01T12:00:04.5","product_type":"Player","event":{"action":"OTP_FAILED"},"client":{"ip":"203.0.113.5"},"geo":{"country_name":"Israel"},"url":{"full":"https://forms.example/p/1","domain":"forms.example"},"label":{"page_name":"Identity","webflow_id":"wf-1"}}"#,
    r#"{"@timestamp":"2025-12-01T12:00:05","product_type":"Player","event":{"action":"OPENED"},"client":{"ip":"203.0.113.5"},"url":{"full":"https://forms.example/p/1","domain":"forms.example"},"label":{"page_name":"Identity","webflow_id":"wf-1"}}"#,
];

fn transmit(
    body: &str,
    event_type: transmit_poller::event_type::EventType,
    run: &str,
) -> Vec<Record> {
    let origin = transmit_poller::mapping::Origin {
        event_type,
        stream_id: "tributary",
        run,
        batch: 1,
    };
    let mapped = transmit_poller::mapping::map_body(body.as_bytes(), &origin);
    assert!(mapped.unparsed.is_empty());
    mapped.records
}

fn easysend(window: &str) -> Vec<Record> {
    EASYSEND
        .iter()
        .map(|raw| {
            let log = easysend_poller::mapping::parse(raw.as_bytes()).unwrap();
            let provenance = easysend_poller::mapping::Provenance {
                stream: "security-logs",
                window,
            };
            easysend_poller::mapping::to_record(log, &provenance)
        })
        .collect()
}

/// Every record the collectors would land from the samples, by one run (`run`) at one time (`ingested`).
fn records(run: &str) -> Vec<Record> {
    use transmit_poller::event_type::EventType;
    let mut all = transmit(TRANSMIT, EventType::Cis, run);
    all.extend(transmit(RISK, EventType::Risk, run));
    all.extend(transmit(ADMIN, EventType::Admin, run));
    all.extend(easysend(run));
    all
}

fn line(record: &Record, shape: Shape, ingested: &str) -> Vec<u8> {
    let mut out = Vec::new();
    record.to_line(
        &mut out,
        &LineStamp {
            ingested: ingested.to_owned(),
            shape,
        },
    );
    out
}

fn rows(shape: Shape, run: &str, ingested: &str) -> Vec<Row> {
    records(run)
        .iter()
        .map(|r| map::row(&line(r, shape, ingested), 0))
        .collect()
}

fn json(row: &Row) -> Value {
    serde_json::from_slice(&row.json).unwrap()
}

#[test]
fn an_event_gives_the_same_row_in_either_shape_from_any_run() {
    let lean = rows(Shape::Lean, "run-1", "2025-12-01T12:05:00.000Z");
    let full = rows(Shape::Full, "run-2", "2025-12-01T13:40:00.000Z");
    assert_eq!(lean.len(), 7);
    for (a, b) in lean.iter().zip(&full) {
        assert_eq!(json(a), json(b));
        assert!(a.fallback.is_none(), "{}", json(a));
    }
}

#[test]
fn each_sample_lands_in_its_class_with_the_vendor_original_and_its_facts() {
    let rows = rows(Shape::Lean, "run-1", "2025-12-01T12:05:00.000Z");
    let classes: Vec<u32> = rows.iter().map(|r| r.class.uid()).collect();
    assert_eq!(classes, [3002, 3001, 3002, 2004, 6003, 3002, 6001]);
    let login = json(&rows[0]);
    assert_eq!(login["type_uid"], 300201);
    assert_eq!(login["user"]["uid"], "u-1");
    assert_eq!(login["src_endpoint"]["ip"], "198.51.100.7");
    assert_eq!(login["http_request"]["user_agent"], "Mozilla/5.0");
    assert_eq!(login["metadata"]["tenant_uid"], "t-1");
    assert_eq!(login["time"], 1764590400000i64);
    let original: Value = serde_json::from_str(login["raw_data"].as_str().unwrap()).unwrap();
    let sent: Vec<Value> = serde_json::from_str(TRANSMIT).unwrap();
    assert_eq!(
        original, sent[0],
        "raw_data is the vendor's event, whatever moved into ECS"
    );
    let risk = json(&rows[3]);
    assert_eq!(risk["finding_info"]["title"], "risk_recommendation: DENY");
    assert_eq!(risk["risk_score"], 91);
    assert_eq!(risk["severity_id"], 5);
    let admin = json(&rows[4]);
    assert_eq!(admin["api"]["operation"], "createApp");
    assert_eq!(admin["resources"][0]["uid"], "app-7");
    let otp = json(&rows[5]);
    assert_eq!(
        (otp["status_id"].as_i64(), otp["is_mfa"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(
        otp["user"]["type"], "Unknown",
        "EasySend names no user; Authentication requires one"
    );
    let opened = json(&rows[6]);
    assert_eq!(
        opened["web_resources"][0]["url_string"],
        "https://forms.example/p/1"
    );
    let unmapped: Value =
        serde_json::from_str(opened["unmapped"].as_str().unwrap_or("{}")).unwrap();
    assert!(unmapped
        .get("event")
        .is_none_or(|e| e.get("ingested").is_none()));
}

#[test]
fn lines_that_are_not_records_become_base_events_that_keep_their_text() {
    let broken = map::row(
        b"{\"@timestamp\": \"2025-12-01T12:00:00Z\", oops",
        1_764_590_400_000,
    );
    assert_eq!(
        (broken.class, broken.fallback),
        (Class::Base, Some(Fallback::Unreadable))
    );
    assert_eq!(
        json(&broken)["raw_data"],
        "{\"@timestamp\": \"2025-12-01T12:00:00Z\", oops"
    );
    assert_eq!(json(&broken)["time"], 1_764_590_400_000i64);
    let unparsed = br#"{"@timestamp":"2025-12-01T12:00:00.000Z","event":{"id":"x1","kind":"pipeline_error","module":"transmit","dataset":"transmit._unparsed","original":"{\"activity\":1}"},"error":{"message":"no timestamp"}}"#;
    let row = map::row(unparsed, 0);
    assert_eq!(
        (row.class, row.fallback),
        (Class::Base, Some(Fallback::Unparsed))
    );
    assert_eq!(json(&row)["raw_data"], "{\"activity\":1}");
    assert_eq!(json(&row)["status_detail"], "no timestamp");
    let unknown = br#"{"@timestamp":"2025-12-01T12:00:00.000Z","event":{"id":"x2","kind":"event","module":"strivacity","dataset":"strivacity.account","action":"something"},"strivacity":{"a":1}}"#;
    let row = map::row(unknown, 0);
    assert_eq!(
        (row.class, row.fallback),
        (Class::Base, Some(Fallback::Unmapped))
    );
    assert_eq!(json(&row)["activity_id"], 99);
}

#[test]
fn a_file_holds_its_rows_sorted_by_time_and_the_same_rows_write_the_same_bytes() {
    let all = rows(Shape::Lean, "run-1", "2025-12-01T12:05:00.000Z");
    for class in Class::ALL {
        let mut of_class: Vec<&Row> = all.iter().filter(|r| r.class == *class).collect();
        if of_class.is_empty() {
            continue;
        }
        of_class.sort_by_key(|r| r.time);
        let file = parquet_file::write(*class, &of_class, 1000).unwrap();
        assert_eq!(file, parquet_file::write(*class, &of_class, 1000).unwrap());
        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file)).unwrap();
        let sorting = reader.metadata().row_group(0).sorting_columns().cloned();
        let batches: Vec<_> = reader.build().unwrap().collect::<Result<_, _>>().unwrap();
        let times: Vec<i64> = batches
            .iter()
            .flat_map(|b| {
                let column = b.column_by_name("time").unwrap();
                let values = column
                    .as_any()
                    .downcast_ref::<arrow_array::Int64Array>()
                    .unwrap();
                values.values().to_vec()
            })
            .collect();
        assert_eq!(times.len(), of_class.len());
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(sorting.unwrap().len(), 1);
    }
}

#[test]
fn a_row_that_does_not_fit_its_class_is_an_error_not_a_silent_drop() {
    let mut row = map::row(
        &line(&records("r")[0], Shape::Lean, "2025-12-01T12:05:00.000Z"),
        0,
    );
    let mut value = json(&row);
    value["user"]["shoe_size"] = 44.into();
    row.json = value.to_string().into_bytes();
    let error = parquet_file::write(Class::Authentication, &[&row], 1000).unwrap_err();
    assert!(error.to_string().contains("shoe_size"), "{error}");
}

#[test]
fn values_of_the_wrong_kind_stay_in_unmapped_and_the_row_still_fits() {
    let line = br#"{"@timestamp":"2025-12-01T12:00:00.000Z","event":{"id":"odd","kind":"event","module":"easysend","dataset":"easysend.player","action":"OPENED","category":["web"],"type":["access"],"outcome":"unknown","severity":"high","risk_score":3e9},"client":{"ip":12345},"source":{"ip":["1.2.3.4"]},"url":{"full":{"x":1}},"tags":["a",1,{"b":2}]}"#;
    let row = map::row(line, 0);
    assert_eq!(row.class, Class::WebResourcesActivity);
    parquet_file::fits(row.class, &row).unwrap();
    let value = json(&row);
    assert_eq!(
        value["src_endpoint"]["ip"], "12345",
        "a number is an address's text"
    );
    assert_eq!(value["metadata"]["labels"], serde_json::json!(["a", "1"]));
    let unmapped: Value = serde_json::from_str(value["unmapped"].as_str().unwrap()).unwrap();
    assert_eq!(unmapped["source"]["ip"], serde_json::json!(["1.2.3.4"]));
    assert_eq!(unmapped["url"]["full"], serde_json::json!({"x": 1}));
    assert_eq!(unmapped["event"]["severity"], "high");
}

#[test]
fn a_record_whose_time_is_none_keeps_its_own_id() {
    let line = br#"{"@timestamp":"+10000-01-01T00:00:00.000Z","event":{"id":"far","kind":"event","module":"lookout","dataset":"lookout._invalid"}}"#;
    let row = map::row(line, 7);
    assert_eq!(
        (row.class, row.uid.as_str(), row.time),
        (Class::Base, "far", 7)
    );
}
