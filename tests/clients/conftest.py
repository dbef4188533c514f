"""Shared fixtures for the real-client tests: a bucket and a credentials secret on the local AWS stack, and the
standalone receiver serving them on a free loopback port."""

import gzip
import json
import os
import pathlib
import subprocess
import tempfile
import time
import uuid

import boto3
import pytest

HEC_TOKEN = str(uuid.uuid4())
API_KEY_ID = "strivacity"
API_KEY = "client-test-key-" + uuid.uuid4().hex[:8]
BASIC_USER = ("elastic", "changeme-" + uuid.uuid4().hex[:8])


def _aws(service):
    return boto3.client(
        service,
        endpoint_url=os.environ.get("TRIBUTARY_TEST_AWS_ENDPOINT", "http://127.0.0.1:5000"),
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


class Receiver:
    def __init__(self, base_url, port, bucket):
        self.base_url = base_url
        self.port = port
        self.bucket = bucket
        self.hec_token = HEC_TOKEN
        self.api_key = (API_KEY_ID, API_KEY)
        self.basic_auth = BASIC_USER
        self._s3 = _aws("s3")

    def keys(self):
        keys = []
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return sorted(keys)

    def records(self):
        """Every landed record, decoded from the gzip NDJSON objects."""
        records = []
        for key in self.keys():
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            for line in gzip.decompress(body).decode("utf-8").splitlines():
                records.append(json.loads(line))
        return records

    def unparsed(self):
        """Every line kept under `_unparsed` (what a request carried that could not be an event)."""
        lines = []
        for key in self.keys():
            if "/event_type=_unparsed/" not in key:
                continue
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            lines.extend(json.loads(line) for line in gzip.decompress(body).decode("utf-8").splitlines())
        return lines

    def records_with_ids(self, ids):
        wanted = set(ids)
        return [r for r in self.records() if r["event"]["id"] in wanted]


@pytest.fixture(scope="session")
def receiver():
    binary = os.environ.get("TRIBUTARY_STRIVACITY_RECEIVER_BIN")
    if not binary or not pathlib.Path(binary).exists():
        pytest.fail("set TRIBUTARY_STRIVACITY_RECEIVER_BIN to the built strivacity-receiver-standalone binary")
    bucket = "t-clients-" + uuid.uuid4().hex[:12]
    _aws("s3").create_bucket(Bucket=bucket)
    secret_id = bucket + "/strivacity-receiver"
    _aws("secretsmanager").create_secret(
        Name=secret_id,
        SecretString=json.dumps(
            {
                "hec_tokens": [HEC_TOKEN],
                "api_keys": [f"{API_KEY_ID}:{API_KEY}"],
                "basic_auth": [f"{BASIC_USER[0]}:{BASIC_USER[1]}"],
            }
        ),
    )
    env = dict(os.environ)
    env.update(
        {
            "TRIBUTARY_BUCKET": bucket,
            "TRIBUTARY_STRIVACITY_SECRET_ID": secret_id,
            "AWS_ENDPOINT_URL": os.environ.get("TRIBUTARY_TEST_AWS_ENDPOINT", "http://127.0.0.1:5000"),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
            "TRIBUTARY_LOG_LEVEL": "warn",
        }
    )
    # stdout goes to a file: the receiver prints a metrics line per request, which would fill a pipe nobody reads.
    with tempfile.TemporaryDirectory() as tmp:
        out_path = pathlib.Path(tmp) / "receiver.out"
        with open(out_path, "wb") as out, open(pathlib.Path(tmp) / "receiver.err", "wb") as err:
            process = subprocess.Popen([binary, "--listen", "127.0.0.1:0"], stdout=out, stderr=err, env=env)
            try:
                address = None
                deadline = time.time() + 30
                while address is None and time.time() < deadline:
                    if process.poll() is not None:
                        pytest.fail("the receiver exited: " + (pathlib.Path(tmp) / "receiver.err").read_text())
                    for line in out_path.read_text().splitlines():
                        if line.startswith("listening on http://"):
                            address = line.removeprefix("listening on http://").strip()
                    time.sleep(0.05)
                if address is None:
                    pytest.fail("the receiver did not start listening within 30 s")
                port = int(address.rsplit(":", 1)[1])
                yield Receiver(f"http://{address}", port, bucket)
            finally:
                process.terminate()
                process.wait(timeout=10)


def account_event(event_id, outcome="SUCCESS"):
    return {
        "eventId": event_id,
        "loginSessionId": "ls-" + event_id,
        "startTimestamp": "2026-11-23T10:15:30.250Z",
        "labels": ["LOGIN", outcome],
        "type": "login",
        "actor": {"accountId": "acc-1", "userName": "jane@example.com", "ip": "203.0.113.7"},
        "network": {"http": {"user_agent": "Mozilla/5.0"}},
        "subject": {"accountId": "acc-1", "userName": "jane@example.com"},
    }


def audit_event(event_id):
    return {
        "eventID": event_id,
        "date": "2026-11-23T11:00:00Z",
        "actor": "admin-7",
        "ipAddress": "198.51.100.2",
        "action": "update",
        "entity": "Adaptive Access Policy",
    }
