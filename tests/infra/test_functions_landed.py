"""What the real functions land, read the way Athena reads it: each function's binary (the one Lambda runs, in
its local mode) collects from its vendor simulator (Transmit, EasySend, Lookout) or takes the sample requests in
events/ (Strivacity) into a bucket of this module's own; then every landed key must fall inside the Glue table's
partition projection, every record must read through the table's columns without a type error, and the example
queries must find the real events. The whole module runs once per record shape (lean and full): the same SQL
must read both."""

from __future__ import annotations

import json
import re

import athena
from functions import ENDPOINT, PREFIX, client, keys
from workspace import ROOT, load_template


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
    for key in keys(landed_bucket):
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
    transmit = [k for k in keys(landed_bucket) if "/vendor=transmit/event_type=cis/" in k and k.endswith(".ndjson.gz")]
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
