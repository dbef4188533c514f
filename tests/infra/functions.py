"""The real functions landing real data, for the checks that read it: each function's binary (the one Lambda runs, in
its local mode) collects from its vendor simulator (Transmit, EasySend, Lookout) or takes the sample requests in
events/ (Strivacity) into a bucket of its own, once per record shape per test session (conftest.py makes
`landed_bucket` a fixture of every module)."""

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

from workspace import ROOT

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


@pytest.fixture(scope="session", params=["lean", "full"])
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
            answer = last_json(run_function("strivacity-receiver", env, sample))
            assert answer["statusCode"] == 200, f"{sample.name}: {answer}"
    finally:
        for sim in sims:
            sim.stop()
    yield bucket


def last_json(text: str) -> dict:
    decoder, docs, at = json.JSONDecoder(), [], 0
    text = text.strip()
    while at < len(text):
        doc, end = decoder.raw_decode(text, at)
        docs.append(doc)
        at = end
        while at < len(text) and text[at].isspace():
            at += 1
    return docs[-1]


def keys(bucket: str) -> list[str]:
    s3, keys, token = client("s3"), [], None
    while True:
        page = s3.list_objects_v2(Bucket=bucket, **({"ContinuationToken": token} if token else {}))
        keys += [o["Key"] for o in page.get("Contents", [])]
        token = page.get("NextContinuationToken")
        if not token:
            return keys
