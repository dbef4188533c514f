"""Landed objects in the shape the landing contract fixes (DESIGN §3, shared/src/record.rs and keys.rs): ECS-shaped
records, gzip NDJSON, one object per vendor / event type / event hour under
`<prefix>/vendor=<v>/event_type=<t>/dt=<YYYY-MM-DD>/hour=<HH>/<object-id>.ndjson.gz`."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone


def rfc3339(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def record(vendor: str, event_type: str, at: datetime, original: dict, *, action: str, category=(), types=(),
           outcome="unknown", user: dict | None = None, source_ip: str | None = None, event_id: str | None = None,
           ingested: datetime | None = None) -> dict:
    line = {
        "@timestamp": rfc3339(at),
        "ecs": {"version": "8.11.0"},
        "event": {
            "id": event_id or hashlib.sha256(json.dumps(original, sort_keys=True).encode()).hexdigest(),
            "kind": "event",
            "module": vendor,
            "dataset": f"{vendor}.{event_type}",
            "action": action,
            **({"category": list(category)} if category else {}),
            **({"type": list(types)} if types else {}),
            "outcome": outcome,
            "ingested": rfc3339(ingested or at),
        },
    }
    if user:
        line["user"] = user
    if source_ip:
        line["source"] = {"ip": source_ip}
    line[vendor] = original
    line["tributary"] = {"collector": f"{vendor}-test", "version": "0.1.0"}
    return line


def unparsed(vendor: str, at: datetime, raw: str, error: str) -> dict:
    return {
        "@timestamp": rfc3339(at),
        "ecs": {"version": "8.11.0"},
        "event": {
            "id": hashlib.sha256(raw.encode()).hexdigest(),
            "kind": "pipeline_error",
            "module": vendor,
            "dataset": f"{vendor}._unparsed",
            "original": raw,
            "ingested": rfc3339(at),
        },
        "error": {"message": error},
        "tributary": {"collector": f"{vendor}-test", "version": "0.1.0"},
    }


def key(prefix: str, line: dict, object_id: str) -> str:
    vendor, event_type = line["event"]["dataset"].split(".", 1)
    at = datetime.strptime(line["@timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return (f"{prefix}/vendor={vendor}/event_type={event_type}/dt={at:%Y-%m-%d}/hour={at:%H}/"
            f"{object_id}.ndjson.gz")


def land(s3, bucket: str, prefix: str, lines: list[dict], tag: str) -> list[str]:
    """Groups lines by partition and writes one gzip NDJSON object each, named by the content (deterministic)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        groups[key(prefix, line, "")].append(line)
    keys = []
    for partition_key, group in sorted(groups.items()):
        digest = hashlib.sha256("\n".join(g["event"]["id"] for g in group).encode()).hexdigest()[:32]
        object_key = partition_key.replace("/.ndjson.gz", f"/{tag}-{digest}.ndjson.gz")
        body = "".join(json.dumps(g, separators=(",", ":")) + "\n" for g in group).encode()
        s3.put_object(Bucket=bucket, Key=object_key, Body=gzip.compress(body), ContentType="application/x-ndjson")
        keys.append(object_key)
    return keys


def hours_ago(now: datetime, hours: float) -> datetime:
    return now - timedelta(hours=hours)
