"""The demo's Security Lake step: the landing bucket's ObjectCreated notifications go to a queue from the start
(`prepare`); at the end (`write`) the queue's messages are handed to the real security-lake-writer binary as
Lambda's SQS batches, and what it wrote is shown: files per OCSF class, rows, bytes, and every landed event
accounted for once.

usage: demo_security_lake.py prepare <bucket> <prefix> <lake-bucket>
       demo_security_lake.py write <bucket> <prefix> <lake-bucket> <writer-binary>
"""
import gzip
import io
import json
import os
import subprocess
import sys
from collections import Counter

import boto3

mode, bucket, prefix, lake = sys.argv[1], sys.argv[2], sys.argv[3].strip("/"), sys.argv[4]
s3, sqs = boto3.client("s3"), boto3.client("sqs")
queue_name = f"{bucket}-security-lake-writer"


def keys(name, under=""):
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=under):
        yield from (o["Key"] for o in page.get("Contents", []))


if mode == "prepare":
    try:
        s3.head_bucket(Bucket=lake)
        s3.delete_objects(Bucket=lake, Delete={"Objects": [{"Key": k} for k in keys(lake)] or [{"Key": "-"}]})
    except s3.exceptions.ClientError:
        s3.create_bucket(Bucket=lake)
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{
        "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": f"{prefix}/vendor="},
                                           {"Name": "suffix", "Value": ".ndjson.gz"}]}}}]})
    print(f"security lake: landing notifications go to {queue_name}; files will be written to s3://{lake}/")
    sys.exit(0)

url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
messages = []
while True:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    if not got:
        break
    messages += got
    sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                    for i, m in enumerate(got)])
env = {**os.environ, "TRIBUTARY_SECURITY_LAKE_BUCKET": lake, "TRIBUTARY_SECURITY_LAKE_ACCOUNT_ID": "123456789012"}
invocations = 0
for at in range(0, len(messages), 500):
    batch = {"Records": [{"messageId": m["MessageId"], "body": m["Body"], "eventSource": "aws:sqs"}
                         for m in messages[at:at + 500]]}
    done = subprocess.run([sys.argv[5], "-"], input=json.dumps(batch), env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"security-lake-writer failed:\n{done.stderr[-2000:]}")
    # stdout holds the invocation's metrics line (EMF) and then its answer.
    decoder, text, at, answer = json.JSONDecoder(), done.stdout.strip(), 0, None
    while at < len(text):
        answer, at = decoder.raw_decode(text, at)
        while at < len(text) and text[at].isspace():
            at += 1
    if answer["batchItemFailures"]:
        sys.exit(f"security-lake-writer gave back {len(answer['batchItemFailures'])} messages: {answer['failures']}")
    invocations += 1
print(f"security-lake-writer: {len(messages)} notifications in {invocations} invocations (SQS batches of up to 500)")

import pyarrow.parquet as pq  # noqa: E402  (the demo's venv has it for the Athena stand-in)

per_source, rows_by_vendor, uids = Counter(), Counter(), Counter()
files, size = Counter(), Counter()
for key in keys(lake, "ext/"):
    source = key.split("/")[1]
    body = s3.get_object(Bucket=lake, Key=key)["Body"].read()
    table = pq.read_table(io.BytesIO(body), columns=["metadata"])
    files[source] += 1
    size[source] += len(body)
    for metadata in table.column("metadata").to_pylist():
        per_source[source] += 1
        rows_by_vendor[metadata["product"]["vendor_name"]] += 1
        uids[metadata["uid"]] += 1
for source in sorted(per_source):
    print(f"  s3://{lake}/ext/{source}/region=…/accountId=…/eventDay=…/  {files[source]} files, "
          f"{per_source[source]} rows, {size[source]} bytes")
landed = set()
for key in keys(bucket, f"{prefix}/vendor="):
    if key.endswith(".ndjson.gz"):
        for line in gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).splitlines():
            landed.add(json.loads(line)["event"]["id"])
repeated = sum(1 for n in uids.values() if n > 1)
print(f"  rows per vendor: {dict(sorted(rows_by_vendor.items()))}")
print(f"  every landed event once: {len(landed)} distinct landed events, {len(uids)} in the lake, "
      f"{repeated} in more than one row, {len(landed - set(uids))} missing")
if landed != set(uids) or repeated:
    sys.exit("the lake does not hold every landed event exactly once")
