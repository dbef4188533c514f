"""The demo's closing summary, per vendor: what the simulator offered, what landed in S3 (each event once, unparsed
ones kept), the faults injected and survived, anything lost or at risk, and why a number that looks off is right.

usage: demo_summary.py <bucket> <prefix> <state-table> <facts.jsonl>

The facts file has one JSON object per line, written by the demo parts: {"vendor", "offered", "faults": [...],
"notes": [...], "pending": n, "pending_why": "..."}.
"""
import gzip
import json
import sys
from collections import defaultdict

import boto3

bucket, prefix, table, facts_path = sys.argv[1], sys.argv[2].strip("/"), sys.argv[3], sys.argv[4]
VENDORS = ["transmit", "easysend", "lookout", "strivacity"]

facts = defaultdict(lambda: {"faults": [], "notes": []})
try:
    for line in open(facts_path):
        fact = json.loads(line)
        merged = facts[fact["vendor"]]
        merged["faults"] += fact.pop("faults", [])
        merged["notes"] += fact.pop("notes", [])
        merged.update(fact)
except FileNotFoundError:
    pass

s3 = boto3.client("s3")
landed = {v: {"records": 0, "ids": set(), "unparsed": 0} for v in VENDORS}
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/"):
    for obj in page.get("Contents", []):
        key = obj["Key"]
        if not key.endswith(".ndjson.gz"):
            continue
        vendor = key[len(prefix) + 1:].split("/", 1)[0].removeprefix("vendor=")
        if vendor not in landed:
            continue
        for line in gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).splitlines():
            record = json.loads(line)
            landed[vendor]["records"] += 1
            if "/event_type=_unparsed/" in key:
                landed[vendor]["unparsed"] += 1
            else:
                landed[vendor]["ids"].add(record.get("event", {}).get("id"))

streams = defaultdict(list)
for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table):
    for item in page["Items"]:
        pk = item["pk"]["S"]
        vendor, _, name = pk.partition("#")
        streams[vendor].append((name, item.get("last_run_outcome", {}).get("S", "-"),
                                item.get("last_run_losses", {}).get("S")))

print("== summary: what each vendor offered, what landed, and what was lost or at risk")
for vendor in VENDORS:
    got, fact = landed[vendor], facts.get(vendor, {"faults": [], "notes": []})
    events = len(got["ids"])
    unparsed = f", plus {got['unparsed']} unparsed kept whole under event_type=_unparsed" if got["unparsed"] else ""
    line = f"{vendor:<11} {events} events landed, each once{unparsed}"
    if "offered" in fact:
        line += f"; the simulator offered {fact['offered']}"
    print(line)
    pad = " " * 12
    if fact["faults"]:
        print(f"{pad}faults injected and survived: {'; '.join(fact['faults'])}")
    offered = fact.get("offered")
    pending = fact.get("pending", 0)
    if offered is not None:
        # Transmit's malformed events are among those it handed out; Lookout's malformed frame is an extra one.
        kept = got["unparsed"] if fact.get("unparsed_offered") else 0
        missing = offered - events - kept - pending
        if pending:
            print(f"{pad}not collected yet: {pending} ({fact.get('pending_why', 'the next run collects them')})")
        if missing >= 0:
            print(f"{pad}lost or at risk: {missing}")
        else:
            print(f"{pad}MORE landed than offered ({-missing}): an earlier run's objects are in the bucket, or a duplicate")
    reported = [(name, losses) for name, _, losses in streams.get(vendor, []) if losses]
    outcomes = ", ".join(f"{name} {outcome}" for name, outcome, _ in sorted(streams.get(vendor, [])))
    if outcomes:
        print(f"{pad}last runs: {outcomes}")
    for name, losses in reported:
        print(f"{pad}{name} reported: {losses}")
    for note in fact["notes"]:
        print(f"{pad}note: {note}")

print("""
where to look next:
  tributary-ctl status --wide        every stream's health, last run, lag and lease (with the demo's environment:
                                     TRIBUTARY_STATE_TABLE={table} and the local stack's AWS settings)
  scripts/show-landed.sh <vendor> 5  objects per partition and sample records (TRIBUTARY_DEMO_FULL_RECORDS=1: whole)
  docs/deploying.md                  deploying it for real; docs/operations.md for the tools; docs/siem-pickup.md
""".format(table=table).rstrip())
