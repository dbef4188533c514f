#!/usr/bin/env bash
# Real clients against the Strivacity receiver: the official Python Elasticsearch client (bulk helpers, product
# check) and an independent Splunk HEC client library, talking to the standalone receiver, which lands in the local
# AWS stack; the tests then read what landed back from S3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

"$root/scripts/local-stack.sh" start
eval "$("$root/scripts/local-stack.sh" env)"
"$root/scripts/venv.sh" install "$root/scripts/requirements-stack.txt" "$root/tests/clients/requirements.txt"
bin="$("$root/scripts/venv.sh" path)"

target="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build --quiet -p strivacity-receiver --bin strivacity-receiver-standalone)
export TRIBUTARY_STRIVACITY_RECEIVER_BIN="$target/debug/strivacity-receiver-standalone"

cd "$root/tests/clients"
"$bin/python" -m pytest -q -p no:cacheprovider .
