"""The Security Lake writer over what the real functions landed, from the landing's own notifications.

The objects all four functions landed (`landed_bucket`, once per record shape) are copied into a landing bucket of
this module's own, whose ObjectCreated notifications go to an SQS queue, as in the template. The writer's binary (in
its local mode) is then run with the queue's messages as Lambda's SQS batches, and the Parquet it wrote is read back
with pyarrow and DataFusion:
- every landed event is in exactly one row of exactly one file, in the Security Lake custom-source layout;
- every row is valid OCSF 1.1.0 for its class (shared/ocsf/ocsf-1.1.0.json, offline);
- files are sorted by time and hold only their hour;
- a redelivered notification and an overwritten input change no byte; a late event rewrites only its hour's files;
- a query across the classes counts the same events per vendor as the NDJSON query does.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import subprocess
import tempfile
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datafusion import SessionContext

import athena
import ocsf_validate
from functions import BIN, ENDPOINT, PREFIX, client, keys, last_json
from workspace import ROOT, load_template

ACCOUNT = "123456789012"
REGION = "us-east-1"
LAYOUT = re.compile(
    rf"ext/tributary-(?P<source>[a-z-]+)/region={REGION}/accountId={ACCOUNT}/eventDay=(?P<day>\d{{8}})/"
    r"(?P<vendor>[a-z]+)-(?P<type>[a-z0-9-]+)-(?P<fday>\d{8})-(?P<hour>\d{2})\.zstd\.parquet"
)
SCHEMA = json.loads((ROOT / "shared" / "ocsf" / "ocsf-1.1.0.json").read_text())
SOURCE_CLASS = {"base": 0, "finding": 2004, "account": 3001, "auth": 3002, "entity": 3004, "device": 5001,
                "web": 6001, "api": 6003}


class Lake:
    """A landing bucket with notifications to a queue, a Security Lake bucket, and the writer between them."""

    def __init__(self, source_bucket: str):
        run = uuid.uuid4().hex[:10]
        self.landing, self.lake = f"sl-landing-{run}", f"aws-security-data-lake-{REGION}-{run}"
        self.s3, self.sqs = client("s3"), client("sqs")
        for bucket in (self.landing, self.lake):
            self.s3.create_bucket(Bucket=bucket)
        self.queue = self.sqs.create_queue(QueueName=f"sl-writer-{run}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.s3.put_bucket_notification_configuration(Bucket=self.landing, NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
                                     "Filter": {"Key": {"FilterRules": [
                                         {"Name": "prefix", "Value": f"{PREFIX}/vendor="},
                                         {"Name": "suffix", "Value": ".ndjson.gz"}]}}}]})
        self.drain()  # moto sends a test event when the configuration is set
        for key in keys(source_bucket):
            if key.endswith(".ndjson.gz"):
                self.s3.copy_object(Bucket=self.landing, Key=key, CopySource={"Bucket": source_bucket, "Key": key})

    def drain(self) -> list[dict]:
        messages = []
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            batch = got.get("Messages", [])
            if not batch:
                return messages
            messages += batch
            self.sqs.delete_message_batch(QueueUrl=self.queue, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])

    def write(self, messages: list[dict], batch: int = 50) -> list[dict]:
        """The writer over `messages`, `batch` per invocation, as Lambda's SQS event source sends them."""
        env = {
            "PATH": "/usr/bin:/bin",
            "AWS_ENDPOINT_URL": ENDPOINT, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": REGION, "TRIBUTARY_BUCKET": self.landing, "TRIBUTARY_PREFIX": PREFIX,
            "TRIBUTARY_SECURITY_LAKE_BUCKET": self.lake, "TRIBUTARY_SECURITY_LAKE_ACCOUNT_ID": ACCOUNT,
            "TRIBUTARY_LOG_LEVEL": "warn", "TRIBUTARY_LOCAL_TIMEOUT_SECONDS": "300",
        }
        answers = []
        for at in range(0, len(messages), batch):
            records = [{"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs"}
                       for m in messages[at:at + batch]]
            done = subprocess.run([str(BIN / "security-lake-writer"), "-"], input=json.dumps({"Records": records}),
                                  env=env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, done.stderr[-3000:]
            answer = last_json(done.stdout)
            assert answer["batchItemFailures"] == [] and answer["failures"] == [], answer["failures"]
            answers.append(answer)
        return answers

    def files(self) -> dict[str, bytes]:
        return {k: self.s3.get_object(Bucket=self.lake, Key=k)["Body"].read() for k in keys(self.lake)}

    def landed_ids(self) -> Counter:
        """event.id of every landed record, per vendor, read from the NDJSON."""
        ids = Counter()
        for key in keys(self.landing):
            if key.endswith(".ndjson.gz"):
                body = self.s3.get_object(Bucket=self.landing, Key=key)["Body"].read()
                for line in gzip.decompress(body).splitlines():
                    ids[json.loads(line)["event"]["id"]] += 1
        return ids


def rows_of(files: dict[str, bytes]) -> dict[str, list[dict]]:
    return {key: pq.read_table(io.BytesIO(body)).to_pylist() for key, body in files.items()}


@pytest.fixture(scope="module")
def lake(landed_bucket):
    missing = not (BIN / "security-lake-writer").exists()
    assert not missing, "security-lake-writer is not built: scripts/checks/infra.sh builds it first"
    lake = Lake(landed_bucket)
    lake.notifications = lake.drain()
    assert lake.notifications, "the copies raised no notifications"
    lake.answers = lake.write(lake.notifications)
    return lake


def test_every_landed_event_is_in_exactly_one_row_in_the_security_lake_layout(lake):
    landed = lake.landed_ids()
    # Strivacity's sample requests send the same events over HEC and _bulk, so the NDJSON holds some twice (each
    # request lands as it came); Security Lake gets each event once.
    assert max(landed.values()) == 2, "the samples repeat events across requests"
    uids = Counter()
    for key, rows in rows_of(lake.files()).items():
        match = LAYOUT.fullmatch(key)
        assert match, f"{key} is not in the custom-source layout"
        assert match["day"] == match["fday"]
        classes = {r["class_uid"] for r in rows}
        assert classes == {SOURCE_CLASS[match["source"]]}, f"{key} holds classes {classes}"
        for row in rows:
            uids[row["metadata"]["uid"]] += 1
            assert row["metadata"]["product"]["vendor_name"]
    assert set(uids) == set(landed), (set(landed) - set(uids), set(uids) - set(landed))
    assert max(uids.values()) == 1, [u for u, n in uids.items() if n > 1][:5]
    # Every vendor and every class the mapping promises is there, from the real functions' data.
    present = {SOURCE_CLASS[LAYOUT.fullmatch(k)["source"]] for k in lake.files()}
    assert present >= {2004, 3001, 3002, 3004, 5001, 6001, 6003}, present


def test_every_row_is_valid_ocsf_for_its_class(lake):
    errors = []
    checked = 0
    for key, rows in rows_of(lake.files()).items():
        for row in rows:
            checked += 1
            errors += [f"{key} {row['metadata']['uid']}: {e}" for e in ocsf_validate.validate(row, SCHEMA)]
    assert checked > 500
    assert not errors, "\n".join(errors[:20])


def test_files_are_sorted_by_time_and_hold_only_their_hour(lake):
    for key, body in lake.files().items():
        table = pq.read_table(io.BytesIO(body))
        times = table.column("time").to_pylist()
        assert times == sorted(times), key
        match = LAYOUT.fullmatch(key)
        start = datetime.strptime(match["fday"] + match["hour"], "%Y%m%d%H").replace(tzinfo=timezone.utc)
        hour_start = int(start.timestamp() * 1000)
        # `_unparsed` hours are ingestion hours, and those records' time is their ingestion time: the same rule.
        assert all(hour_start <= t < hour_start + 3_600_000 for t in times), key
        metadata = pq.ParquetFile(io.BytesIO(body)).metadata
        assert metadata.row_group(0).column(0).compression == "ZSTD"
        assert metadata.row_group(0).sorting_columns, key


def test_the_vendor_original_and_the_unmapped_ecs_fields_travel_with_each_row(lake):
    """raw_data is the vendor's event (rebuilt from either record shape); unmapped holds the ECS fields no
    attribute took. Transmit's user_id, for one, is in the original."""
    transmit = [r for rows in rows_of(lake.files()).values() for r in rows
                if r["metadata"]["product"]["vendor_name"] == "Transmit Security" and r["class_uid"] == 3002]
    assert transmit
    for row in transmit:
        original = json.loads(row["raw_data"])
        assert original["activity"] == row["metadata"]["event_code"], row
        if "user_id" in original:
            assert row["user"]["uid"] == original["user_id"], row
        assert "ingested" not in (row["unmapped"] or ""), "a landing fact would make rewrites differ"


def test_a_redelivered_notification_changes_no_byte(lake):
    before = lake.files()
    lake.write(lake.notifications[:25], batch=25)
    assert lake.files() == before


def test_an_overwritten_input_changes_no_byte(lake):
    """A re-fetch rewrites an object with the same events, landed again (a new event.ingested) and written
    the other way (key order, line order): the files stay byte for byte the same."""
    before = lake.files()
    key = next(k for k in keys(lake.landing) if "/vendor=transmit/event_type=cis/" in k)
    lines = gzip.decompress(lake.s3.get_object(Bucket=lake.landing, Key=key)["Body"].read()).splitlines()
    again = []
    for line in reversed(lines):
        record = json.loads(line)
        record["event"]["ingested"] = "2099-01-01T00:00:00.000Z"
        again.append(json.dumps(record, sort_keys=True))
    lake.s3.put_object(Bucket=lake.landing, Key=key, Body=gzip.compress(("\n".join(again) + "\n").encode()))
    lake.write(lake.drain())
    assert lake.files() == before


def test_a_late_event_rewrites_only_its_hours_files(lake):
    before = lake.files()
    key = next(k for k in keys(lake.landing) if "/vendor=easysend/" in k)
    line = json.loads(gzip.decompress(lake.s3.get_object(Bucket=lake.landing, Key=key)["Body"].read()).splitlines()[0])
    line["event"]["id"] = "late-" + uuid.uuid4().hex
    late_key = key.rsplit("/", 1)[0] + "/late-arrival.ndjson.gz"
    lake.s3.put_object(Bucket=lake.landing, Key=late_key, Body=gzip.compress((json.dumps(line) + "\n").encode()))
    lake.write(lake.drain())
    after = lake.files()
    changed = {k for k in after if before.get(k) != after[k]}
    hour = LAYOUT.fullmatch(next(iter(changed)))
    stem = f"{hour['vendor']}-{hour['type']}-{hour['fday']}-{hour['hour']}"
    assert changed and all(k.endswith(f"/{stem}.zstd.parquet") for k in changed), changed
    assert set(after) == set(before)
    uids = Counter(r["metadata"]["uid"] for rows in rows_of(after).values() for r in rows)
    assert uids[line["event"]["id"]] == 1


def test_a_query_across_the_classes_counts_what_the_ndjson_query_counts(lake, landed_bucket):
    """DataFusion over the Parquet, one table per custom source, against the Athena table over the NDJSON."""
    ctx = SessionContext()
    tables = []
    scratch = Path(tempfile.mkdtemp())
    for key, body in lake.files().items():
        source = LAYOUT.fullmatch(key)["source"].replace("-", "_")
        directory = scratch / source
        directory.mkdir(exist_ok=True)
        (directory / key.rsplit("/", 1)[1]).write_bytes(body)
        tables.append(source)
    selects = []
    for source in sorted(set(tables)):
        ctx.register_parquet(source, str(scratch / source) + "/")
        selects.append(f"SELECT metadata['product']['vendor_name'] AS vendor_name, metadata['uid'] AS uid FROM {source}")
    parquet = athena.rows(ctx, "SELECT vendor_name, count(DISTINCT uid) AS events FROM ("
                          + " UNION ALL ".join(selects) + ") GROUP BY vendor_name")
    # The copies in this module's landing now hold one late EasySend event more than the functions landed.
    ndjson_ctx = athena.session(load_template(), ENDPOINT, lake.landing, PREFIX)
    ndjson = athena.rows(ndjson_ctx, "SELECT vendor, count(DISTINCT event.id) AS events FROM events GROUP BY vendor")
    names = {"Transmit Security": "transmit", "EasySend": "easysend", "Lookout": "lookout", "Strivacity": "strivacity"}
    assert {names[r["vendor_name"]]: r["events"] for r in parquet} == {r["vendor"]: r["events"] for r in ndjson}
