# Strivacity: the receiver on the standalone host takes sample account and audit events through both protocols
# Strivacity streams with (Splunk HEC and Elasticsearch _bulk), lands them, and only then says yes.
# Sourced by scripts/demo.sh with the local stack up and TRIBUTARY_* exported; runs on its own too.
# The sample payloads in events/ carry placeholder credentials, which the demo secret accepts.

strivacity_root="${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
strivacity_bin="${TRIBUTARY_BIN:-${CARGO_TARGET_DIR:-$strivacity_root/target}/debug}"
strivacity_python="$("$strivacity_root/scripts/venv.sh" path)/python"
strivacity_secret="${TRIBUTARY_BUCKET:?}/strivacity-receiver"
"$strivacity_python" "$strivacity_root/scripts/init_local.py" "$TRIBUTARY_BUCKET" "${TRIBUTARY_STATE_TABLE:-tributary-demo-state}" \
  "$strivacity_secret={\"hec_tokens\":[\"00000000-0000-0000-0000-000000000000\"],\"api_keys\":[\"strivacity:replace-me\"]}"

declare -F demo_fact >/dev/null || demo_fact() { :; }
strivacity_port="${TRIBUTARY_DEMO_RECEIVER_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
mkdir -p "$strivacity_root/.local"
TRIBUTARY_STRIVACITY_SECRET_ID="$strivacity_secret" \
  "$strivacity_bin/strivacity-receiver-standalone" --listen "127.0.0.1:$strivacity_port" \
  > "$strivacity_root/.local/strivacity-receiver.log" 2>&1 &
strivacity_pid=$!
if declare -p demo_pids >/dev/null 2>&1; then demo_pids+=("$strivacity_pid"); else trap 'kill $strivacity_pid 2>/dev/null || true' EXIT; fi
strivacity_url="http://127.0.0.1:$strivacity_port"
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "$strivacity_url/services/collector/health" 2>/dev/null && break
  sleep 0.1
done
echo "receiver (standalone host) at $strivacity_url"

# Posts the body of one sample Function URL payload to the standalone host, with the sample's own headers.
strivacity_post() {
  local sample="$strivacity_root/events/$1"
  local method path
  method="$("$strivacity_python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["requestContext"]["http"]["method"])' "$sample")"
  path="$("$strivacity_python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["rawPath"])' "$sample")"
  local headers=()
  while IFS= read -r header; do headers+=(-H "$header"); done < <("$strivacity_python" -c '
import json, sys
for k, v in json.load(open(sys.argv[1]))["headers"].items():
    if k in ("authorization", "content-type", "content-encoding"):
        print(f"{k}: {v}")' "$sample")
  "$strivacity_python" -c '
import base64, json, sys
p = json.load(open(sys.argv[1]))
body = p.get("body", "")
sys.stdout.buffer.write(base64.b64decode(body) if p.get("isBase64Encoded") else body.encode())' "$sample" \
    | curl -sS -X "$method" "${headers[@]}" --data-binary @- -w '  -> HTTP %{http_code}\n' "$strivacity_url$path"
  echo
}

echo "-- Splunk HEC: two account events (a login and a failed MFA login) as concatenated envelopes"
strivacity_post strivacity-hec-account.json
echo "-- Splunk HEC: the same batch again, gzip-compressed, as a sender retry would (rewrites the same object: no duplicates)"
strivacity_post strivacity-hec-account-gzip.json
echo "-- Splunk HEC: two audit log entries"
strivacity_post strivacity-hec-audit.json
echo "-- Elasticsearch _bulk: the same account events into index strivacity-account (same ids, same object again)"
strivacity_post strivacity-bulk-account.json
echo "-- Elasticsearch _bulk: the audit entries via /strivacity-audit/_bulk"
strivacity_post strivacity-bulk-audit.json
echo "-- a wrong token is refused with HEC's own answer, and nothing lands"
curl -sS -H 'Authorization: Splunk wrong-token' --data-binary '{"event":{"eventId":"nope"}}' \
  -w '  -> HTTP %{http_code}\n' "$strivacity_url/services/collector/event"
echo
echo "-- the Lambda binary, one Function URL request from events/ (what cargo lambda invoke would send)"
TRIBUTARY_STRIVACITY_SECRET_ID="$strivacity_secret" \
  "$strivacity_bin/strivacity-receiver" "$strivacity_root/events/strivacity-es-info.json" 2>/dev/null \
  | "$strivacity_python" -c 'import json,sys; r=json.load(sys.stdin); print("  GET / ->", r["statusCode"], "x-elastic-product:", r["headers"].get("x-elastic-product"), json.loads(r["body"])["version"]["number"])'

demo_fact '{"vendor": "strivacity", "offered": 4, "faults": ["a gzip retry of a batch already landed", "the same events again through _bulk", "a wrong token (refused, nothing landed)"], "notes": ["offered = 4 distinct events (2 account, 2 audit) sent 5 times over both protocols"]}'

kill "$strivacity_pid" 2>/dev/null || true
wait "$strivacity_pid" 2>/dev/null || true
"$strivacity_root/scripts/show-landed.sh" strivacity 2
