# Transmit Mosaic: the simulator holds a backlog of each event type; the transmit-poller binary (the same one
# Lambda runs) collects each type from its sample scheduled event, getting through a 429 with Retry-After, a
# 503 and a token that stops working mid-run; two malformed events land under _unparsed. Then the stop
# operation takes the cis stream down.
# Sourced by scripts/demo.sh with the local stack up and TRIBUTARY_* exported; runs on its own too.

transmit_root="${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
transmit_bin="${TRIBUTARY_BIN:-${CARGO_TARGET_DIR:-$transmit_root/target}/debug}"
transmit_python="$("$transmit_root/scripts/venv.sh" path)/python"
transmit_secret="${TRIBUTARY_BUCKET:?}/transmit-client"
transmit_client_id="demo-transmit-client"
transmit_client_secret="demo-transmit-client-secret"
"$transmit_python" "$transmit_root/scripts/init_local.py" "$TRIBUTARY_BUCKET" "${TRIBUTARY_STATE_TABLE:-tributary-demo-state}" \
  "$transmit_secret={\"client_id\":\"$transmit_client_id\",\"client_secret\":\"$transmit_client_secret\"}"

mkdir -p "$transmit_root/.local"
transmit_address_file="$transmit_root/.local/transmit-sim.address"
: > "$transmit_address_file"
declare -F demo_fact >/dev/null || demo_fact() { :; }
"$transmit_bin/tributary-sim" transmit --port "${TRIBUTARY_DEMO_TRANSMIT_PORT:-0}" \
  --client-id "$transmit_client_id" --client-secret "$transmit_client_secret" \
  > "$transmit_address_file" 2> "$transmit_root/.local/transmit-sim.log" &
transmit_sim_pid=$!
if declare -p demo_pids >/dev/null 2>&1; then demo_pids+=("$transmit_sim_pid"); else trap 'kill $transmit_sim_pid 2>/dev/null || true' EXIT; fi
for _ in $(seq 1 100); do
  [ -s "$transmit_address_file" ] && break
  sleep 0.1
done
transmit_url="$(head -n1 "$transmit_address_file")"
echo "simulator at $transmit_url"

transmit_post() { curl -fsS -H 'content-type: application/json' -d "$2" "$transmit_url$1"; echo; }

echo "-- seed backlogs: cis 2500 (every 1000th event malformed), admin 300, risk 1200, verify 800"
transmit_post /_sim/seed '{"type":"cis","count":2500,"malformed_every":1000,"seed":1}'
transmit_post /_sim/seed '{"type":"admin","count":300,"seed":2}'
transmit_post /_sim/seed '{"type":"risk","count":1200,"seed":3}'
transmit_post /_sim/seed '{"type":"verify","count":800,"seed":4}'
echo "-- faults: one 429 (Retry-After: 1) and one 503 on collect; tokens stop working after 4 calls"
transmit_post /_sim/faults '{"throttle":{"count":1,"retry_after":"1"},"server_errors":{"count":1,"status":503},"revoke_tokens_after":4}' > /dev/null

transmit_run() {
  TRIBUTARY_TRANSMIT_BASE_URL="$transmit_url/activities/v1" \
  TRIBUTARY_TRANSMIT_SECRET_ID="$transmit_secret" \
  TRIBUTARY_TRANSMIT_BATCH_SIZE=500 \
  TRIBUTARY_LOCAL_TIMEOUT_SECONDS=120 \
    "$transmit_bin/transmit-poller" "$1" | grep -v '"_aws"'
}

for transmit_type in cis admin risk verify; do
  echo "-- collect $transmit_type (events/transmit-$transmit_type.json)"
  if ! transmit_run "$transmit_root/events/transmit-$transmit_type.json"; then
    echo "   (the 503 ended this run on purpose: collect is a destructive read, so it is never retried blindly and"
    echo "    the run reports the batch it may have lost; the next scheduled run carries on)"
    echo "-- collect $transmit_type again: the next scheduled run"
    transmit_run "$transmit_root/events/transmit-$transmit_type.json"
  fi
done

echo "-- what the simulator saw"
curl -fsS "$transmit_url/_sim/state" | "$transmit_python" -c '
import json, sys
s = json.load(sys.stdin)
for t in s["types"]:
    for st in t["streams"]:
        print("  %-6s stream %s: %d events handed out in %d collects, %d pending" % (
            t["type"], st["stream_id"], st["events_served"], st["batches_served"], st["pending"]))
x = s["stats"]
print("  429s %d, 5xx %d, 401s %d, tokens issued %d" % (x["throttled"], x["server_errors"], x["unauthorized"], x["tokens_issued"]))'
demo_fact "$(curl -fsS "$transmit_url/_sim/state" | "$transmit_python" -c '
import json, sys
s = json.load(sys.stdin)
served = sum(st["events_served"] for t in s["types"] for st in t["streams"])
print(json.dumps({"vendor": "transmit", "offered": served, "unparsed_offered": True,
  "faults": ["a 429 with Retry-After: 1", "a 503 on collect", "tokens revoked after 4 calls", "2 malformed events"],
  "notes": ["offered = what the simulator handed out across the four types; the 503 on collect made the poller log "
            "an ERROR that a batch may be lost (collect is a destructive read, so a failed answer could have carried "
            "one). The simulator counts what it handed out, so landed + unparsed = offered is the proof either way; "
            "in production compare with the Mosaic portal for that hour",
            "the cis stream was stopped and deleted at the end (the stop operation)"]}))')"

echo "-- stop collecting cis and delete its stream (events/transmit-stop.json)"
transmit_run "$transmit_root/events/transmit-stop.json"

kill "$transmit_sim_pid" 2>/dev/null || true
wait "$transmit_sim_pid" 2>/dev/null || true
"$transmit_root/scripts/show-landed.sh" transmit 2
