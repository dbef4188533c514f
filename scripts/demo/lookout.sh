# Lookout: the SSE simulator streams THREAT/DEVICE/AUDIT/SMISHING_ALERT events; the lookout-stream binary (the
# same one Lambda runs) reads them in a bounded session through a reconnect, an `end` and a malformed frame,
# lands them, checkpoints, and a second session resumes exactly where the first one landed.
# Sourced by scripts/demo.sh with the local stack up and TRIBUTARY_* exported; runs on its own too.

lookout_root="${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
lookout_bin="${TRIBUTARY_BIN:-${CARGO_TARGET_DIR:-$lookout_root/target}/debug}"
lookout_python="$("$lookout_root/scripts/venv.sh" path)/python"
lookout_secret="${TRIBUTARY_BUCKET:?}/lookout-application-key"
lookout_app_key="demo-lookout-application-key"
"$lookout_python" "$lookout_root/scripts/init_local.py" "$TRIBUTARY_BUCKET" "${TRIBUTARY_STATE_TABLE:-tributary-demo-state}" \
  "$lookout_secret={\"application_key\":\"$lookout_app_key\"}"

mkdir -p "$lookout_root/.local"
lookout_address_file="$lookout_root/.local/lookout-sim.address"
: > "$lookout_address_file"
declare -F demo_fact >/dev/null || demo_fact() { :; }
"$lookout_bin/tributary-sim" lookout --port "${TRIBUTARY_DEMO_LOOKOUT_PORT:-0}" --app-key "$lookout_app_key" --heartbeat-ms 500 \
  > "$lookout_address_file" 2> "$lookout_root/.local/lookout-sim.log" &
lookout_sim_pid=$!
if declare -p demo_pids >/dev/null 2>&1; then demo_pids+=("$lookout_sim_pid"); else trap 'kill $lookout_sim_pid 2>/dev/null || true' EXIT; fi
for _ in $(seq 1 100); do
  [ -s "$lookout_address_file" ] && break
  sleep 0.1
done
lookout_url="$(head -n1 "$lookout_address_file")"
echo "simulator at $lookout_url"

lookout_post() { curl -fsS -H 'content-type: application/json' -d "$2" "$lookout_url$1"; echo; }

echo "-- seed 1000 events; the first connection is told to reconnect after 300 events, then carries a malformed"
echo "   frame; the second ends with 'end' after 200"
lookout_post /_sim/seed '{"count":1000}'
lookout_post /_sim/faults '[{"after_events":300,"action":"reconnect","retry_ms":500},{"after_events":200,"action":"end","retry_ms":300}]'
lookout_post /_sim/faults '{"after_events":100,"action":"malformed","kind":"bad_json"}'

# One session: runs until the stream has been quiet for 2 s (in Lambda: until the deadline).
lookout_run() {
  TRIBUTARY_LOOKOUT_BASE_URL="$lookout_url" \
  TRIBUTARY_LOOKOUT_SECRET_ID="$lookout_secret" \
  TRIBUTARY_LOOKOUT_HEARTBEAT_MS=500 \
  TRIBUTARY_LOOKOUT_FLUSH_EVENTS=400 \
  TRIBUTARY_LOOKOUT_IDLE_STOP_SECONDS=2 \
  TRIBUTARY_LOCAL_TIMEOUT_SECONDS=60 \
    "$lookout_bin/lookout-stream" "$lookout_root/events/lookout.json" | grep -v '"_aws"'
}

echo "-- session 1 (events/lookout.json, the EventBridge scheduled event)"
lookout_run
echo "-- 250 more events arrive; session 2 resumes from the checkpoint and lands only those"
lookout_post /_sim/seed '{"count":250}' > /dev/null
lookout_run
echo "-- what the simulator saw: every reconnect resumed with id = Last-Event-ID = the last frame read"
curl -fsS "$lookout_url/_sim/stats" | "$lookout_python" -c '
import json, sys
s = json.load(sys.stdin)
for c in s["connects"]:
    q = dict(c["query"])
    where = "start_time=" + q["start_time"] if "start_time" in q else "id=" + q.get("id", "-")
    print("  HTTP %s  %s  Last-Event-ID=%s" % (c["status"], where, c["last_event_id"] or "-"))
print("  events sent %s, tokens issued %s, early reconnects %s" % (s["events_sent"], s["tokens_issued"], s["early_reconnects"]))'

demo_fact '{"vendor": "lookout", "offered": 1250, "faults": ["a reconnect request after 300 events", "a malformed frame", "an end frame after 200 more"], "notes": ["offered = 1000 seeded + 250 for the second session, which resumed from the checkpoint and landed only those"]}'

kill "$lookout_sim_pid" 2>/dev/null || true
wait "$lookout_sim_pid" 2>/dev/null || true
"$lookout_root/scripts/show-landed.sh" lookout 2
