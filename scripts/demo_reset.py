"""Empties the demo's landing prefix and state table, so every demo run starts from nothing and its closing
summary counts only what this run landed.

usage: demo_reset.py <bucket> <prefix> <state-table>
"""
import sys

import boto3

bucket, prefix, table = sys.argv[1], sys.argv[2].strip("/"), sys.argv[3]
s3 = boto3.client("s3")
objects = 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/"):
    keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
    if keys:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        objects += len(keys)
dynamodb = boto3.client("dynamodb")
items = 0
for page in dynamodb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk"):
    for item in page["Items"]:
        dynamodb.delete_item(TableName=table, Key={"pk": item["pk"]})
        items += 1
print(f"demo: starting from nothing (removed {objects} objects from an earlier run and {items} stream states)")
