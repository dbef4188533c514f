"""Shows what landed: objects per partition with their line counts, then a few records, one line each (time,
event type, action, outcome, who, id). TRIBUTARY_DEMO_FULL_RECORDS=1 prints them whole instead.

usage: show_landed.py <bucket> <prefix> [vendor] [records-to-print]
"""
import gzip
import json
import os
import sys
from collections import Counter

import boto3

bucket, prefix = sys.argv[1], sys.argv[2].strip("/")
vendor = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
show = int(sys.argv[4]) if len(sys.argv) > 4 else 2
root = f"{prefix}/vendor={vendor}/" if vendor else f"{prefix}/"

s3 = boto3.client("s3")
keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root):
    # Landed data only: a prefix also holds the pollers' landing-path probes and multipart staging.
    keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".ndjson.gz")]

per_partition = Counter()
samples = []
for key in keys:
    lines = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().splitlines()
    partition = key.rsplit("/", 1)[0]
    per_partition[partition] += len(lines)
    if len(samples) < show and lines:
        samples.append((key, json.loads(lines[0])))

print(f"s3://{bucket}/{root}: {len(keys)} objects, {sum(per_partition.values())} records")
for partition, count in sorted(per_partition.items()):
    print(f"  {partition}/  {count} records")


def field(record, path):
    value = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def compact(record):
    """A few fields an analyst scans first; `-` where the vendor has none."""
    who = field(record, "user.name") or field(record, "user.email") or field(record, "user.id") \
        or field(record, "source.ip") or field(record, "client.ip") or field(record, "device.id")
    parts = [
        record.get("@timestamp", "-"),
        field(record, "event.dataset") or "-",
        field(record, "event.action") or ("unparsed: " + (field(record, "error.message") or "")[:60]),
        field(record, "event.outcome") or "-",
        str(who or "-"),
        "id=" + str(field(record, "event.id") or "-"),
    ]
    return "  ".join(parts)


full = os.environ.get("TRIBUTARY_DEMO_FULL_RECORDS") == "1"
if samples:
    print("sample records" + ("" if full else " (TRIBUTARY_DEMO_FULL_RECORDS=1 prints them whole):"))
for key, record in samples:
    if full:
        print(f"\n--- first record of {key}")
        print(json.dumps(record, indent=2)[:3000])
    else:
        print("  " + compact(record))
