"""An Athena stand-in for the example queries: DataFusion reading the landed gzip NDJSON from the local S3, through
the Glue table the template defines (its columns, its partition keys, its `@timestamp` -> `ts` mapping).

What differs from Athena, and how it is bridged:
- Athena's OpenX JSON SerDe reads a nested object into a `string` column as its JSON text; Arrow's JSON reader
  cannot, so the vendor-original columns (`transmit`, `easysend`, ...) are left out here. The example queries use
  the ECS fields only.
- Trino's `from_iso8601_timestamp` is registered as a function here (DataFusion calls it `to_timestamp`).
Everything else in the queries (struct field access, `date_format` with `%Y-%m-%d`, `array_position`, intervals,
`count(DISTINCT ...)`) runs as written.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from datafusion import SessionContext, udf
from datafusion.object_store import AmazonS3


def split_top(text: str, sep: str = ",") -> list[str]:
    """Splits a Hive type list at top-level separators (not inside `<...>`)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current:
        parts.append(current)
    return parts


def hive_type(text: str) -> pa.DataType:
    text = text.strip()
    if text.startswith("struct<") and text.endswith(">"):
        fields = []
        for part in split_top(text[len("struct<"):-1]):
            name, _, inner = part.partition(":")
            fields.append(pa.field(name.strip(), hive_type(inner)))
        return pa.struct(fields)
    if text.startswith("array<") and text.endswith(">"):
        return pa.list_(hive_type(text[len("array<"):-1]))
    if text.startswith("map<") and text.endswith(">"):
        key, value = split_top(text[len("map<"):-1])
        return pa.map_(hive_type(key), hive_type(value))
    return {
        "string": pa.string(),
        "bigint": pa.int64(),
        "int": pa.int32(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
    }[text]


def glue_table(template: dict) -> dict:
    return template["Resources"]["EventsTable"]["Properties"]["TableInput"]


def vendor_columns(template: dict) -> set[str]:
    values = glue_table(template)["Parameters"]["projection.vendor.values"]
    return set(values.split(","))


def arrow_schema(template: dict) -> tuple[pa.Schema, list[str]]:
    """The file schema DataFusion reads (JSON field names) and the view's column list (Glue names)."""
    table = glue_table(template)
    mappings = {
        key[len("mapping."):]: value
        for key, value in table["StorageDescriptor"]["SerdeInfo"]["Parameters"].items()
        if key.startswith("mapping.")
    }
    skip = vendor_columns(template)
    fields, view = [], []
    for column in table["StorageDescriptor"]["Columns"]:
        name = column["Name"]
        if name in skip:
            continue
        json_name = mappings.get(name, name)
        fields.append(pa.field(json_name, hive_type(column["Type"])))
        view.append(f'"{json_name}" AS "{name}"' if json_name != name else f'"{name}"')
    view += [f'"{k["Name"]}"' for k in table["PartitionKeys"]]
    return pa.schema(fields), view


def _iso8601(values: pa.Array) -> pa.Array:
    # pyarrow's strptime does not take fractional seconds on every platform; parse via the ISO cast instead.
    stripped = pc.replace_substring_regex(values, pattern="Z$", replacement="")
    return pc.cast(pc.cast(stripped, pa.timestamp("us")), pa.timestamp("us", tz="UTC"))


def session(template: dict, endpoint: str, bucket: str, prefix: str) -> SessionContext:
    """A DataFusion session with `events` defined like the Glue table, over s3://bucket/prefix/ on `endpoint`."""
    ctx = SessionContext()
    store = AmazonS3(
        bucket_name=bucket,
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",
        endpoint=endpoint,
        allow_http=True,
    )
    ctx.register_object_store("s3://", store, bucket)
    schema, view = arrow_schema(template)
    partitions = [(k["Name"], pa.string()) for k in glue_table(template)["PartitionKeys"]]
    ctx.register_json(
        "events_raw",
        f"s3://{bucket}/{prefix}/",
        schema=schema,
        file_extension=".ndjson.gz",
        table_partition_cols=partitions,
        file_compression_type="gzip",
    )
    ctx.sql(f"CREATE VIEW events AS SELECT {', '.join(view)} FROM events_raw").collect()
    ctx.register_udf(
        udf(_iso8601, [pa.string()], pa.timestamp("us", tz="UTC"), "immutable", name="from_iso8601_timestamp")
    )
    return ctx


def rows(ctx: SessionContext, sql: str) -> list[dict]:
    return ctx.sql(sql).to_arrow_table().to_pylist()
