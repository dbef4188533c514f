#!/usr/bin/env bash
# The local AWS stack: moto in server mode on loopback, serving S3, DynamoDB, SQS and Secrets Manager.
#   scripts/local-stack.sh start   start it if it is not already answering (idempotent)
#   scripts/local-stack.sh stop    stop the server this script started
#   scripts/local-stack.sh running exit 0 if a local stack answers on the port
#   scripts/local-stack.sh env     print the exports that point the AWS SDKs and the tests at it
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${TRIBUTARY_MOTO_PORT:-5000}"
endpoint="http://127.0.0.1:$port"
state="$root/.local"
mkdir -p "$state"

answering() {
  # Any HTTP answer counts: moto's dashboard may answer 500, and data.json grows slow with every stored object.
  python3 -c 'import sys, urllib.request as u, urllib.error as e
try: u.urlopen(u.Request(sys.argv[1], method="HEAD"), timeout=2)
except e.HTTPError: pass' "$endpoint/moto-api/" 2>/dev/null
}

case "${1:-}" in
  start)
    if answering; then exit 0; fi
    "$root/scripts/venv.sh" install "$root/scripts/requirements-stack.txt"
    bin="$("$root/scripts/venv.sh" path)"
    # Parts down to 64 KiB (real S3: 5 MiB), so tests can exercise multipart landing with small objects.
    S3_UPLOAD_PART_MIN_SIZE=65536 nohup "$bin/moto_server" -H 127.0.0.1 -p "$port" > "$state/moto.log" 2>&1 &
    echo $! > "$state/moto.pid"
    for _ in $(seq 1 100); do
      if answering; then echo "local stack: moto answering at $endpoint" >&2; exit 0; fi
      sleep 0.2
    done
    echo "local stack: moto did not start; see $state/moto.log" >&2
    exit 1
    ;;
  running)
    answering
    ;;
  stop)
    if [ -f "$state/moto.pid" ]; then
      kill "$(cat "$state/moto.pid")" 2>/dev/null || true
      rm -f "$state/moto.pid"
    fi
    ;;
  env)
    cat <<ENV
export AWS_ENDPOINT_URL=$endpoint
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export TRIBUTARY_TEST_AWS_ENDPOINT=$endpoint
ENV
    ;;
  *)
    echo "usage: scripts/local-stack.sh start|stop|running|env" >&2
    exit 2
    ;;
esac
