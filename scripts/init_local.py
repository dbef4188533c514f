"""Creates the demo bucket and state table on the local stack if they do not exist (idempotent)."""
import os
import sys

import boto3

bucket, table = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3")
ddb = boto3.client("dynamodb")
try:
    s3.head_bucket(Bucket=bucket)
except s3.exceptions.ClientError:
    s3.create_bucket(Bucket=bucket)
try:
    ddb.describe_table(TableName=table)
except ddb.exceptions.ResourceNotFoundException:
    ddb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
for name, value in (arg.split("=", 1) for arg in sys.argv[3:]):
    sm = boto3.client("secretsmanager")
    try:
        sm.create_secret(Name=name, SecretString=value)
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=name, SecretString=value)
print(f"local stack ready: s3://{bucket}, table {table} at {os.environ.get('AWS_ENDPOINT_URL')}", file=sys.stderr)
