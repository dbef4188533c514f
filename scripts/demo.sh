#!/usr/bin/env bash
# Runs the whole pipeline locally: starts the local AWS stack and the vendor simulators, runs every function
# through its real handler (the same binary Lambda runs, in local mode), shows what landed in S3, hands the landing's
# notifications to the Security Lake writer and shows the OCSF Parquet it wrote, and closes with a summary per
# vendor: offered, landed, faults survived, anything lost or at risk.
#
# Ports: the simulators and the receiver listen on free loopback ports unless TRIBUTARY_DEMO_TRANSMIT_PORT,
# TRIBUTARY_DEMO_EASYSEND_PORT, TRIBUTARY_DEMO_LOOKOUT_PORT or TRIBUTARY_DEMO_RECEIVER_PORT say which; the local
# stack listens on TRIBUTARY_MOTO_PORT (5000). A stack the demo started is stopped at the end
# (TRIBUTARY_DEMO_KEEP_STACK=1 leaves it running); one that was already running is left running.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary/target}"

started_stack=""
if ! scripts/local-stack.sh running; then
  scripts/local-stack.sh start
  started_stack=1
fi
eval "$(scripts/local-stack.sh env)"
export TRIBUTARY_BUCKET="${TRIBUTARY_BUCKET:-tributary-demo}"
export TRIBUTARY_STATE_TABLE="${TRIBUTARY_STATE_TABLE:-tributary-demo-state}"
export TRIBUTARY_PREFIX="${TRIBUTARY_PREFIX:-tributary}"
export TRIBUTARY_LOG_LEVEL="${TRIBUTARY_LOG_LEVEL:-warn}"
"$("$root/scripts/venv.sh" path)/python" scripts/init_local.py "$TRIBUTARY_BUCKET" "$TRIBUTARY_STATE_TABLE"
"$("$root/scripts/venv.sh" path)/python" scripts/demo_reset.py "$TRIBUTARY_BUCKET" "$TRIBUTARY_PREFIX" "$TRIBUTARY_STATE_TABLE"

scripts/venv.sh install scripts/requirements-stack.txt scripts/requirements-demo.txt
demo_lake="${TRIBUTARY_DEMO_LAKE_BUCKET:-${TRIBUTARY_BUCKET}-security-lake}"
"$("$root/scripts/venv.sh" path)/python" scripts/demo_security_lake.py prepare "$TRIBUTARY_BUCKET" "$TRIBUTARY_PREFIX" "$demo_lake"

echo "== building the functions and simulators"
cargo build --workspace --bins --quiet
export TRIBUTARY_BIN="$CARGO_TARGET_DIR/debug"

# Background processes the demo parts start (simulators, the receiver) are stopped on exit.
demo_pids=()
cleanup() {
  for pid in "${demo_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$started_stack" ] && [ "${TRIBUTARY_DEMO_KEEP_STACK:-}" != "1" ]; then
    scripts/local-stack.sh stop
    echo "local stack: stopped (the demo started it; TRIBUTARY_DEMO_KEEP_STACK=1 keeps it)"
  else
    echo "local stack: left running at $AWS_ENDPOINT_URL; stop it with scripts/local-stack.sh stop"
  fi
}
trap cleanup EXIT

# What each part offered and injected, for the closing summary (one JSON object per line).
mkdir -p .local
demo_facts="$root/.local/demo-facts.jsonl"
: > "$demo_facts"
demo_fact() { printf '%s\n' "$1" >> "$demo_facts"; }

# A free loopback port for a simulator.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits until http://127.0.0.1:$1$2 answers (any HTTP status).
wait_http() {
  python3 - "$1" "${2:-/}" <<'PY'
import sys, time, urllib.request, urllib.error
url = f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}"
for _ in range(100):
    try:
        urllib.request.urlopen(url, timeout=1)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit(f"{url} did not answer")
PY
}

for part in scripts/demo/*.sh; do
  [ -e "$part" ] || continue
  echo
  echo "== $(basename "$part" .sh)"
  # shellcheck source=/dev/null
  source "$part"
done

echo
echo "== everything that landed"
scripts/show-landed.sh "" 0
echo
echo "== security lake: every landed event as OCSF Parquet, from the landing's notifications"
"$("$root/scripts/venv.sh" path)/python" scripts/demo_security_lake.py write "$TRIBUTARY_BUCKET" "$TRIBUTARY_PREFIX" \
  "$demo_lake" "$TRIBUTARY_BIN/security-lake-writer"
echo
"$("$root/scripts/venv.sh" path)/python" scripts/demo_summary.py "$TRIBUTARY_BUCKET" "$TRIBUTARY_PREFIX" \
  "$TRIBUTARY_STATE_TABLE" "$demo_facts"
