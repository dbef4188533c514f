"""The commands docs/strivacity.md tells an operator to run, run as written against the receiver (its standalone
HTTP host, the same router the Function URL serves) on the local stack; then what they landed, read back the
way docs/siem-pickup.md says a SIEM reads it."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import uuid
from pathlib import Path

import boto3
import pytest

import athena
from workspace import ROOT, load_template

ENDPOINT = os.environ.get("TRIBUTARY_TEST_AWS_ENDPOINT", "http://127.0.0.1:5000")
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "tributary" / "target"))
RECEIVER = TARGET / "debug" / "strivacity-receiver-standalone"
AWS_ENV = {
    "AWS_ENDPOINT_URL": ENDPOINT,
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_REGION": "us-east-1",
}


def client(service: str):
    return boto3.client(service, endpoint_url=ENDPOINT, aws_access_key_id="test", aws_secret_access_key="test",
                        region_name="us-east-1")


def shell_blocks(doc: Path) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", doc.read_text(), re.S)


@pytest.fixture(scope="module")
def receiver():
    """A receiver on a free loopback port, writing to a bucket of its own, accepting one HEC token and one API
    key from a JSON secret as docs/strivacity.md describes."""
    assert RECEIVER.exists(), f"{RECEIVER} is missing: scripts/checks/infra.sh builds it first"
    run = uuid.uuid4().hex[:10]
    bucket = f"infra-recipe-{run}"
    client("s3").create_bucket(Bucket=bucket)
    token, key = f"hec-{run}", f"key-{run}"
    secret = f"infra-recipe/{run}"
    client("secretsmanager").create_secret(
        Name=secret, SecretString=json.dumps({"hec_tokens": [token], "api_keys": [key]})
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        **AWS_ENV,
        "TRIBUTARY_BUCKET": bucket,
        "TRIBUTARY_STRIVACITY_SECRET_ID": secret,
        "TRIBUTARY_LOG_LEVEL": "warn",
    }
    process = subprocess.Popen([str(RECEIVER), "--listen", "127.0.0.1:0"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        match = re.match(r"listening on (http://\S+)", line)
        assert match, f"the receiver did not start: {line!r} {process.stderr.read() if process.poll() else ''}"
        yield {"url": match.group(1) + "/", "token": token, "key": key, "bucket": bucket}
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_block(block: str, receiver: dict) -> str:
    env = {"PATH": os.environ.get("PATH", ""), "URL": receiver["url"], "TOKEN": receiver["token"],
           "KEY": receiver["key"]}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, f"{block}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def landed(bucket: str) -> dict[str, list[dict]]:
    s3 = client("s3")
    objects = {}
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        body = gzip.decompress(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        objects[item["Key"]] = [json.loads(line) for line in body.decode().splitlines()]
    return objects


@pytest.fixture(scope="module")
def recipe_outputs(receiver):
    """The two check blocks of docs/strivacity.md (Splunk, then Elasticsearch), run once as written."""
    blocks = [b for b in shell_blocks(ROOT / "docs" / "strivacity.md") if "curl" in b and "aws " not in b]
    assert len(blocks) == 2, "one check block per option (Splunk, Elasticsearch)"
    return [run_block(block, receiver) for block in blocks]


def test_the_strivacity_recipe_commands_work_as_written(receiver, recipe_outputs):
    splunk, elastic = recipe_outputs
    assert '"code":17' in splunk, splunk
    assert '{"text":"Success","code":0}' in splunk, splunk

    decoder = json.JSONDecoder()
    info, end = decoder.raw_decode(elastic.strip())
    bulk, _ = decoder.raw_decode(elastic.strip()[end:].strip())
    assert info["tagline"] == "You Know, for Search", elastic
    assert bulk["errors"] is False and bulk["items"][0]["index"]["status"] == 201, elastic

    objects = landed(receiver["bucket"])
    records = {r["event"]["id"]: (key, r) for key, lines in objects.items() for r in lines}
    key, _ = records["try-1"]
    assert key.startswith("tributary/vendor=strivacity/event_type=account/"), key
    key, audit = records["try-2"]
    assert key.startswith("tributary/vendor=strivacity/event_type=audit/"), key
    assert audit["strivacity"]["entity"] == "Adaptive Access Policy", "the original event is kept whole"


def test_a_wrong_token_is_refused_with_the_hec_answer(receiver):
    done = subprocess.run(
        ["curl", "-sS", "-w", "\n%{http_code}", f"{receiver['url']}services/collector/event",
         "-H", "Authorization: Splunk not-the-token", "-d", '{"event": {"eventId": "nope"}}'],
        capture_output=True, text=True, timeout=30,
    )
    body, status = done.stdout.rsplit("\n", 1)
    assert status == "403" and json.loads(body) == {"text": "Invalid token", "code": 4}


def test_real_records_fit_the_athena_table(receiver, recipe_outputs):
    """Every top-level field the receiver writes is a column of the Glue table (or the vendor's original), and
    the records read back through the table as Athena would read them."""
    template = load_template()
    table = athena.glue_table(template)
    columns = {c["Name"] for c in table["StorageDescriptor"]["Columns"]}
    mapped = {v for k, v in table["StorageDescriptor"]["SerdeInfo"]["Parameters"].items() if k.startswith("mapping.")}
    objects = landed(receiver["bucket"])
    for key, lines in objects.items():
        for record in lines:
            unknown = set(record) - columns - mapped
            assert not unknown, f"{key}: fields {sorted(unknown)} have no column in the Athena table"
    ctx = athena.session(template, ENDPOINT, receiver["bucket"], "tributary")
    rows = athena.rows(ctx, "SELECT event.id AS id, event_type, \"user\".name AS name FROM events ORDER BY id")
    by_id = {r["id"]: r for r in rows}
    assert by_id["try-1"]["event_type"] == "account"
    assert by_id["try-2"]["event_type"] == "audit"
