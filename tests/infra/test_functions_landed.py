"""What the real functions land, read the way Athena reads it: each function's binary (the one Lambda runs, in
its local mode) collects from its vendor simulator (Transmit, EasySend, Lookout) or takes the sample requests in
events/ (Strivacity) into a bucket of this module's own; then every landed key must fall inside the Glue table's
partition projection, every record must read through the table's columns without a type error, and the example
queries must find the real events. The whole module runs once per record shape (lean and full): the same SQL
must read both."""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest

import athena
from workspace import ROOT, load_template

ENDPOINT = os.environ.get("TRIBUTARY_TEST_AWS_ENDPOINT", "http://127.0.0.1:5000")
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "tributary" / "target"))
BIN = TARGET / "debug"
PREFIX = "tributary"
BINARIES = ["tributary-sim", "transmit-poller", "easysend-poller", "lookout-stream", "strivacity-receiver"]


def client(service: str):
    return boto3.client(service, endpoint_url=ENDPOINT, aws_access_key_id="test", aws_secret_access_key="test",
                        region_name="us-east-1")


class Simulator:
    """`tributary-sim <vendor> --port 0 …` until the module is done; its base URL from its first line."""

    def __init__(self, vendor: str, *options: str):
        self.process = subprocess.Popen([str(BIN / "tributary-sim"), vendor, "--port", "0", *options],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        match = re.search(r"(http://[0-9.:]+)", line)
        assert match, f"the {vendor} simulator did not start: {line!r}"
        self.url = match.group(1)

    def post(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def run_function(binary: str, env: dict, event: str | Path) -> str:
    """One local run of a function's binary; `event` is a file, or JSON text given on stdin."""
    args, stdin = ([str(BIN / binary), str(event)], None) if isinstance(event, Path) else ([str(BIN / binary), "-"], event)
    done = subprocess.run(args, input=stdin, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{binary} failed:\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module", params=["lean", "full"])
def landed_bucket(request):
    missing = [b for b in BINARIES if not (BIN / b).exists()]
    assert not missing, f"{missing} are not built: scripts/checks/infra.sh builds them first"
    run = uuid.uuid4().hex[:10]
    bucket, table = f"infra-functions-{request.param}-{run}", f"infra-functions-{request.param}-{run}"
    client("s3").create_bucket(Bucket=bucket)
    client("dynamodb").create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    secrets = client("secretsmanager")

    def secret(name: str, value: str) -> str:
        secret_id = f"{bucket}/{name}"
        secrets.create_secret(Name=secret_id, SecretString=value)
        return secret_id

    base = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ENDPOINT_URL": ENDPOINT,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "TRIBUTARY_BUCKET": bucket,
        "TRIBUTARY_PREFIX": PREFIX,
        "TRIBUTARY_STATE_TABLE": table,
        "TRIBUTARY_LOG_LEVEL": "warn",
        "TRIBUTARY_LOCAL_TIMEOUT_SECONDS": "120",
        "TRIBUTARY_RECORD_SHAPE": request.param,
    }
    sims = []
    try:
        transmit = Simulator("transmit")
        sims.append(transmit)
        for event_type, count in (("cis", 60), ("admin", 20), ("risk", 10), ("verify", 10)):
            transmit.post("/_sim/seed", {"type": event_type, "count": count})
        env = {**base,
               "TRIBUTARY_TRANSMIT_BASE_URL": f"{transmit.url}/activities/v1",
               "TRIBUTARY_TRANSMIT_SECRET_ID": secret("transmit", json.dumps(
                   {"client_id": "tributary-local", "client_secret": "tributary-local-secret"}))}
        for event_type in ("cis", "admin", "risk", "verify"):
            run_function("transmit-poller", env, json.dumps({"stream": event_type}))

        easysend = Simulator("easysend")
        sims.append(easysend)
        easysend.post("/_sim/seed", {"count": 200})
        env = {**base,
               "TRIBUTARY_EASYSEND_PLAYER_URL": easysend.url,
               "TRIBUTARY_EASYSEND_API_KEY_SECRET": secret("easysend", "easysend-local-api-key"),
               "TRIBUTARY_EASYSEND_LOOKBACK_SECONDS": "7200"}
        run_function("easysend-poller", env, json.dumps({"stream": "security-logs"}))

        lookout = Simulator("lookout", "--app-key", "infra-app-key", "--heartbeat-ms", "500")
        sims.append(lookout)
        lookout.post("/_sim/seed", {"count": 300})
        env = {**base,
               "TRIBUTARY_LOOKOUT_BASE_URL": lookout.url,
               "TRIBUTARY_LOOKOUT_SECRET_ID": secret("lookout", json.dumps({"application_key": "infra-app-key"})),
               "TRIBUTARY_LOOKOUT_HEARTBEAT_MS": "500",
               "TRIBUTARY_LOOKOUT_IDLE_STOP_SECONDS": "2"}
        run_function("lookout-stream", env, ROOT / "events" / "lookout.json")

        samples = sorted((ROOT / "events").glob("strivacity-*.json"))
        tokens, keys = set(), set()
        for sample in samples:
            auth = {k.lower(): v for k, v in json.loads(sample.read_text())["headers"].items()}["authorization"]
            scheme, _, value = auth.partition(" ")
            (tokens if scheme == "Splunk" else keys).add(value)
        env = {**base, "TRIBUTARY_STRIVACITY_SECRET_ID": secret(
            "strivacity", json.dumps({"hec_tokens": sorted(tokens), "api_keys": sorted(keys)}))}
        for sample in samples:
            answer = _last_json(run_function("strivacity-receiver", env, sample))
            assert answer["statusCode"] == 200, f"{sample.name}: {answer}"
    finally:
        for sim in sims:
            sim.stop()
    yield bucket


def _last_json(text: str) -> dict:
    decoder, docs, at = json.JSONDecoder(), [], 0
    text = text.strip()
    while at < len(text):
        doc, end = decoder.raw_decode(text, at)
        docs.append(doc)
        at = end
        while at < len(text) and text[at].isspace():
            at += 1
    return docs[-1]


def _keys(bucket: str) -> list[str]:
    s3, keys, token = client("s3"), [], None
    while True:
        page = s3.list_objects_v2(Bucket=bucket, **({"ContinuationToken": token} if token else {}))
        keys += [o["Key"] for o in page.get("Contents", [])]
        token = page.get("NextContinuationToken")
        if not token:
            return keys


def test_every_vendor_landed_inside_the_partition_projection(landed_bucket):
    template = load_template()
    params = athena.glue_table(template)["Parameters"]
    vendors = set(params["projection.vendor.values"].split(","))
    event_types = set(template["Parameters"]["AthenaEventTypes"]["Default"].split(","))
    pattern = re.compile(rf"{PREFIX}/vendor=([^/]+)/event_type=([^/]+)/dt=\d{{4}}-\d{{2}}-\d{{2}}/hour=\d{{2}}/[^/]+\.ndjson\.gz")
    # Besides landed objects a prefix holds only the pollers' landing-path probes and multipart staging, neither a
    # `.ndjson.gz` object, so no SIEM notification or Hive reader meets them.
    aside = re.compile(rf"{PREFIX}/vendor=[a-z]+/(_probe|_staging)/[^/]+")
    seen = set()
    for key in _keys(landed_bucket):
        if not key.endswith(".ndjson.gz"):
            assert aside.fullmatch(key), f"{key} is neither landed data nor a probe or staging object"
            continue
        match = pattern.fullmatch(key)
        assert match, f"{key} is not in the landing layout"
        vendor, event_type = match.groups()
        assert vendor in vendors, key
        assert event_type in event_types, f"{key}: event_type {event_type} is not projected (AthenaEventTypes)"
        seen.add(vendor)
    assert seen == vendors


def test_every_landed_record_reads_through_the_athena_table(landed_bucket):
    """Selecting every column decodes every field of every record with the table's types: a vendor field that
    does not fit its declared type fails here."""
    template = load_template()
    ctx = athena.session(template, ENDPOINT, landed_bucket, PREFIX)
    rows = athena.rows(ctx, "SELECT * FROM events")
    by_vendor: dict[str, int] = {}
    for row in rows:
        by_vendor[row["vendor"]] = by_vendor.get(row["vendor"], 0) + 1
        assert row["ts"] and row["event"]["id"], row
    assert set(by_vendor) == {"transmit", "easysend", "lookout", "strivacity"}, by_vendor
    assert by_vendor["transmit"] == 100


def test_the_example_queries_find_the_real_events(landed_bucket):
    template = load_template()
    ctx = athena.session(template, ENDPOINT, landed_bucket, PREFIX)
    queries = ROOT / "infra" / "athena"
    admin = athena.rows(ctx, (queries / "admin-changes-by-actor.sql").read_text())
    assert {r["vendor"] for r in admin} >= {"transmit"}, admin
    assert sum(r["changes"] for r in admin if r["vendor"] == "transmit") == 20
    landed = athena.rows(ctx, (queries / "landed-per-hour.sql").read_text())
    assert {r["vendor"] for r in landed} <= {"transmit", "easysend", "lookout", "strivacity"}
    failed = athena.rows(ctx, (queries / "failed-logins-by-user.sql").read_text())
    assert all(r["failed_logins"] >= 1 and r["vendor"] in {"transmit", "easysend", "strivacity"} for r in failed)


def test_each_shape_is_what_its_objects_say(landed_bucket):
    """Lean records write a vendor field ECS carries once, under ECS; full records keep the original whole, with
    the run that collected it. Object metadata names the shape either way."""
    import gzip

    shape = landed_bucket.split("-")[2]
    s3 = client("s3")
    transmit = [k for k in _keys(landed_bucket) if "/vendor=transmit/event_type=cis/" in k and k.endswith(".ndjson.gz")]
    assert transmit
    for key in transmit:
        assert s3.head_object(Bucket=landed_bucket, Key=key)["Metadata"]["shape"] == shape
        body = s3.get_object(Bucket=landed_bucket, Key=key)["Body"].read()
        for line in gzip.decompress(body).splitlines():
            record = json.loads(line)
            if shape == "lean":
                assert "activity" not in record["transmit"] and "tributary" not in record, record
            else:
                assert record["transmit"]["activity"] == record["event"]["action"], record
                assert record["tributary"]["run"], record
