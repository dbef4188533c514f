"""The example Athena queries in infra/athena/ (and quoted in docs/siem-pickup.md), run for real over landed objects
in the local S3 through a table defined exactly like the template's Glue table. See athena.py for the two
places where DataFusion and Athena differ."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections import Counter
from datetime import datetime, timezone
from urllib.parse import unquote_plus

import boto3
import pytest

import athena
import landed
from workspace import ROOT, load_template

QUERIES = ROOT / "infra" / "athena"
ENDPOINT = os.environ.get("TRIBUTARY_TEST_AWS_ENDPOINT", "http://127.0.0.1:5000")
PREFIX = "tributary"


def query(name: str) -> str:
    return (QUERIES / f"{name}.sql").read_text()


@pytest.fixture(scope="module")
def template():
    return load_template()


@pytest.fixture(scope="module")
def s3():
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )


@pytest.fixture(scope="module")
def now():
    return datetime.now(timezone.utc)


def _seed_lines(now: datetime) -> list[dict]:
    r, ago = landed.record, lambda h: landed.hours_ago(now, h)
    login = dict(category=["authentication"], types=["start"])
    return [
        # Failed logins in the last day: two for one Transmit user, one each for two Strivacity users.
        r("transmit", "cis", ago(1), {"activity": "login_failed", "user_id": "u-8Xrd", "n": 1},
          action="login_failed", outcome="failure", user={"id": "u-8Xrd"}, source_ip="192.0.2.1", **login),
        r("transmit", "cis", ago(5), {"activity": "login_failed", "user_id": "u-8Xrd", "n": 2},
          action="login_failed", outcome="failure", user={"id": "u-8Xrd"}, **login),
        r("strivacity", "account", ago(2), {"eventId": "s-1"}, event_id="s-1", action="login",
          outcome="failure", user={"id": "acc-1", "name": "alice@example.com"}, **login),
        r("strivacity", "account", ago(3), {"eventId": "s-2"}, event_id="s-2", action="login",
          outcome="failure", user={"id": "acc-2", "name": "bob@example.com"}, **login),
        # Not failed logins in the last day: a success, a failure 30 hours ago, a failure that is not a login.
        r("transmit", "cis", ago(1), {"activity": "login", "user_id": "u-8Xrd"},
          action="login", outcome="success", user={"id": "u-8Xrd"}, **login),
        r("transmit", "cis", ago(30), {"activity": "login_failed", "user_id": "u-old"},
          action="login_failed", outcome="failure", user={"id": "u-old"}, **login),
        r("easysend", "player", ago(4), {"message": "Security log", "event": {"action": "OTP_SENT"}},
          action="OTP_SENT", outcome="failure", category=["iam"], user={"name": "dave@example.com"}),
        # Admin changes: two update_user and one add_role by one Transmit admin, one Strivacity audit entry,
        # and one change ten days ago that the 7-day query must not see.
        r("transmit", "admin", ago(24), {"activity": "update_user", "actor_id": "admin-1", "n": 1},
          action="update_user", category=["iam"], types=["change"], user={"id": "admin-1"}),
        r("transmit", "admin", ago(72), {"activity": "update_user", "actor_id": "admin-1", "n": 2},
          action="update_user", category=["iam"], types=["change"], user={"id": "admin-1"}),
        r("transmit", "admin", ago(6), {"activity": "add_role", "actor_id": "admin-1"},
          action="add_role", category=["iam"], types=["change"], user={"id": "admin-1"}),
        r("strivacity", "audit", ago(48), {"eventId": "a-1"}, event_id="a-1", action="update",
          category=["configuration"], types=["change"], user={"id": "adm-9", "email": "carol@example.com"}),
        r("transmit", "admin", ago(240), {"activity": "update_user", "actor_id": "admin-2"},
          action="update_user", category=["iam"], types=["change"], user={"id": "admin-2"}),
        # Landed right now: one event twice (a retried batch) and one once.
        r("lookout", "threat", now, {"id": "l-1"}, event_id="l-1", action="CREATED"),
        r("lookout", "threat", now, {"id": "l-1"}, event_id="l-1", action="CREATED"),
        r("lookout", "threat", now, {"id": "l-2"}, event_id="l-2", action="CREATED"),
        landed.unparsed("lookout", ago(1), "data:{oops" + "x" * 300, "expected value at line 1 column 2"),
    ]


@pytest.fixture(scope="module")
def seeded(s3, now):
    bucket = f"infra-athena-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    lines = _seed_lines(now)
    keys = landed.land(s3, bucket, PREFIX, lines, tag="seed")
    yield bucket, lines, keys
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)


@pytest.fixture(scope="module")
def ctx(template, seeded):
    bucket, _, _ = seeded
    return athena.session(template, ENDPOINT, bucket, PREFIX)


def test_failed_logins_per_user_over_the_last_day(ctx):
    result = athena.rows(ctx, query("failed-logins-by-user"))
    assert [(r["user_name"], r["vendor"], r["failed_logins"]) for r in result] == [
        ("u-8Xrd", "transmit", 2),
        ("alice@example.com", "strivacity", 1),
        ("bob@example.com", "strivacity", 1),
    ]
    assert result[0]["first_failure"] < result[0]["last_failure"]


def test_admin_changes_by_actor_over_the_last_week(ctx):
    result = athena.rows(ctx, query("admin-changes-by-actor"))
    assert [(r["actor"], r["vendor"], r["action"], r["changes"]) for r in result] == [
        ("admin-1", "transmit", "update_user", 2),
        ("admin-1", "transmit", "add_role", 1),
        ("carol@example.com", "strivacity", "update", 1),
    ]


def test_landed_per_hour_counts_lines_and_distinct_events(ctx, seeded, now):
    _, lines, _ = seeded
    today = now.strftime("%Y-%m-%d")
    expected_lines: Counter = Counter()
    expected_ids: dict = {}
    for line in lines:
        ts = line["@timestamp"]
        if ts[:10] != today:
            continue
        vendor, event_type = line["event"]["dataset"].split(".", 1)
        group = (vendor, event_type, today, ts[11:13])
        expected_lines[group] += 1
        expected_ids.setdefault(group, set()).add(line["event"]["id"])
    result = athena.rows(ctx, query("landed-per-hour"))
    got = {(r["vendor"], r["event_type"], r["dt"], r["hour"]): (r["lines"], r["events"]) for r in result}
    assert got == {g: (n, len(expected_ids[g])) for g, n in expected_lines.items()}
    lookout_now = got[("lookout", "threat", today, now.strftime("%H"))]
    assert lookout_now == (3, 2), "the retried Lookout event counts as one event"


def test_unparsed_records_show_the_error_and_the_raw_start(ctx):
    result = athena.rows(ctx, query("unparsed-records"))
    assert len(result) == 1
    assert result[0]["vendor"] == "lookout"
    assert result[0]["error"] == "expected value at line 1 column 2"
    assert result[0]["raw_start"].startswith("data:{oops") and len(result[0]["raw_start"]) == 200


def test_landed_keys_fall_inside_the_partition_projection(template, seeded):
    """Athena finds only what the projection enumerates: every landed key must match the location template with
    a projected vendor and event type."""
    _, _, keys = seeded
    params = athena.glue_table(template)["Parameters"]
    vendors = set(params["projection.vendor.values"].split(","))
    event_types = set(template["Parameters"]["AthenaEventTypes"]["Default"].split(","))
    pattern = re.compile(
        rf"{PREFIX}/vendor=(?P<vendor>[^/]+)/event_type=(?P<event_type>[^/]+)/dt=\d{{4}}-\d{{2}}-\d{{2}}"
        r"/hour=(?P<hour>\d{2})/[^/]+\.ndjson\.gz"
    )
    for key in keys:
        match = pattern.fullmatch(key)
        assert match, key
        assert match["vendor"] in vendors and match["event_type"] in event_types, key
        assert 0 <= int(match["hour"]) <= 23


def test_every_query_file_is_quoted_verbatim_in_the_siem_docs():
    doc = (ROOT / "docs" / "siem-pickup.md").read_text()
    for path in sorted(QUERIES.glob("*.sql")):
        assert path.read_text().strip() in doc, f"docs/siem-pickup.md does not quote {path.name} as it is"


def test_s3_notifications_reach_only_the_vendors_own_queue(template, s3):
    """The template's notification filters, applied to a bucket in the local stack: each vendor's objects reach
    its own queue, nothing else does."""
    sqs = boto3.client("sqs", endpoint_url=ENDPOINT, aws_access_key_id="test", aws_secret_access_key="test",
                       region_name="us-east-1")
    run = uuid.uuid4().hex[:10]
    bucket = f"infra-notify-{run}"
    s3.create_bucket(Bucket=bucket)
    configs, queues = [], {}
    for config in template["Resources"]["LandingBucket"]["Properties"]["NotificationConfiguration"][
        "QueueConfigurations"
    ]:
        rules = []
        for rule in config["Filter"]["S3Key"]["Rules"]:
            value = rule["Value"]
            if isinstance(value, dict):
                value = value["Fn::Sub"].replace("${LandingPrefix}", PREFIX)
            rules.append({"Name": rule["Name"], "Value": value})
        logical = config["Queue"]["Fn::GetAtt"][0]
        url = sqs.create_queue(QueueName=f"{run}-{logical}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queues[logical] = url
        configs.append({"QueueArn": arn, "Events": [config["Event"]], "Filter": {"Key": {"FilterRules": rules}}})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configs})

    objects = {
        "transmit": f"{PREFIX}/vendor=transmit/event_type=cis/dt=2026-11-23/hour=10/a.ndjson.gz",
        "easysend": f"{PREFIX}/vendor=easysend/event_type=player/dt=2026-11-23/hour=10/b.ndjson.gz",
        "lookout": f"{PREFIX}/vendor=lookout/event_type=_unparsed/dt=2026-11-23/hour=10/c.ndjson.gz",
        "strivacity": f"{PREFIX}/vendor=strivacity/event_type=audit/dt=2026-11-23/hour=10/d.ndjson.gz",
    }
    ignored = [f"{PREFIX}/vendor=transmit/README.txt", f"other/vendor=transmit/event_type=cis/x.ndjson.gz"]
    for key in list(objects.values()) + ignored:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")

    def received(url: str) -> list[str]:
        # The local stack sends notifications while it stores the object, so the queues are complete by now.
        keys = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                return keys
            for message in batch:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                for event in json.loads(message["Body"]).get("Records", []):
                    keys.append(unquote_plus(event["s3"]["object"]["key"]))

    try:
        by_vendor = {v: received(queues[f"{v.capitalize().replace('Easysend', 'EasySend')}SiemQueue"])
                     for v in objects}
        assert by_vendor == {v: [k] for v, k in objects.items()}
    finally:
        for key in list(objects.values()) + ignored:
            s3.delete_object(Bucket=bucket, Key=key)
        s3.delete_bucket(Bucket=bucket)
        for url in queues.values():
            sqs.delete_queue(QueueUrl=url)
