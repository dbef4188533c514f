# EasySend: the simulator holds two hours of security logs (Player and Builder); the easysend-poller binary (the
# same one Lambda runs) fetches them in 30-minute grid windows, splitting each in two when the simulator answers
# 408. Then a log arrives late and the next response is cut mid-page: that run commits nothing for the cut window,
# and the run after it lands the window, the late log included, with every log in S3 exactly once. A log with no
# @timestamp, kept among the others, lands once under _unparsed although every run fetches its minutes again.
# Sourced by scripts/demo.sh with the local stack up and TRIBUTARY_* exported; runs on its own too.

easysend_root="${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
easysend_bin="${TRIBUTARY_BIN:-${CARGO_TARGET_DIR:-$easysend_root/target}/debug}"
easysend_python="$("$easysend_root/scripts/venv.sh" path)/python"
easysend_table="${TRIBUTARY_STATE_TABLE:-tributary-demo-state}"
easysend_secret="${TRIBUTARY_BUCKET:?}/easysend-api-key"
easysend_key="demo-easysend-api-key"
"$easysend_python" "$easysend_root/scripts/init_local.py" "$TRIBUTARY_BUCKET" "$easysend_table" \
  "$easysend_secret=$easysend_key"
# A fresh start for the demo stream, so a second demo run starts from its look-back again.
"$easysend_python" -c 'import sys, boto3; boto3.client("dynamodb").delete_item(TableName=sys.argv[1], Key={"pk": {"S": "easysend#security-logs"}})' \
  "$easysend_table"

mkdir -p "$easysend_root/.local"
easysend_address_file="$easysend_root/.local/easysend-sim.address"
: > "$easysend_address_file"
declare -F demo_fact >/dev/null || demo_fact() { :; }
"$easysend_bin/tributary-sim" easysend --port "${TRIBUTARY_DEMO_EASYSEND_PORT:-0}" --api-key "$easysend_key" \
  > "$easysend_address_file" 2> "$easysend_root/.local/easysend-sim.log" &
easysend_sim_pid=$!
if declare -p demo_pids >/dev/null 2>&1; then demo_pids+=("$easysend_sim_pid"); else trap 'kill $easysend_sim_pid 2>/dev/null || true' EXIT; fi
for _ in $(seq 1 100); do
  [ -s "$easysend_address_file" ] && break
  sleep 0.1
done
easysend_url="$(head -n1 "$easysend_address_file")"
echo "simulator at $easysend_url"

easysend_post() { curl -fsS -H 'content-type: application/json' -d "$2" "$easysend_url$1"; echo; }
easysend_ago() { date -u -d "@$(( $(date +%s) - $1 ))" +%Y-%m-%dT%H:%M:%SZ; }

echo "-- seed 20000 logs over the last two hours; windows wider than 20 minutes time out with 408"
easysend_post /_sim/seed "{\"count\":20000,\"from\":\"$(easysend_ago 7200)\",\"to\":\"$(easysend_ago 0)\",\"product\":\"mixed\"}"
easysend_post /_sim/timeout '{"max_window_seconds":1200}' > /dev/null
echo "-- and one log with no @timestamp, kept 10 minutes before where run 1's cursor will be"
easysend_cursor=$(( ($(date +%s) - 60) / 1800 * 1800 ))
easysend_post /_sim/logs "{\"at\":\"$(date -u -d "@$(( easysend_cursor - 600 ))" +%Y-%m-%dT%H:%M:%SZ)\",\"logs\":[{\"message\":\"Security log\",\"product_type\":\"Player\",\"event\":{\"action\":\"OPENED\"}}]}"

easysend_run() {
  TRIBUTARY_EASYSEND_PLAYER_URL="$easysend_url" \
  TRIBUTARY_EASYSEND_API_KEY_SECRET="$easysend_secret" \
  TRIBUTARY_EASYSEND_WINDOW_SECONDS=1800 \
  TRIBUTARY_EASYSEND_LOOKBACK_SECONDS=7200 \
  TRIBUTARY_EASYSEND_LAG_SECONDS=60 \
  TRIBUTARY_EASYSEND_OVERLAP_SECONDS=1800 \
  TRIBUTARY_LOCAL_TIMEOUT_SECONDS=120 \
    "$easysend_bin/easysend-poller" "$easysend_root/events/easysend.json" | grep -v '"_aws"'
}

echo "-- run 1 (events/easysend.json, the EventBridge scheduled event): first run, two hours back"
easysend_run
echo "-- a log dated 10 minutes before the cursor arrives late; the next response breaks off after 500 logs"
easysend_late="$(date -u -d "@$(( easysend_cursor - 600 ))" +%Y-%m-%dT%H:%M:%S.000000)"
easysend_post /_sim/logs "{\"logs\":[{\"@timestamp\":\"$easysend_late\",\"message\":\"Security log\",\"product_type\":\"Player\",\"ecs\":{\"version\":\"8.11\"},\"client\":{\"ip\":\"203.0.113.77\"},\"event\":{\"action\":\"DATA_SUBMITTED\",\"timezone\":\"localhost\"},\"label\":{\"app_type\":\"player\",\"rid\":\"late-arrival\"}}]}"
easysend_post /_sim/truncate '{"after_logs":500,"times":1}' > /dev/null
echo "-- run 2: re-fetches the overlap, meets the cut body, commits nothing for that window and fails loudly"
easysend_run || echo "   (run 2 failed as intended)"
echo "-- run 3: recovers the window"
easysend_run
echo "   (\"windows\": 0 with 5001 logs landed is right: \"windows\" counts windows that moved the cursor, and this"
echo "    run only re-fetched the last window, which the cursor already covered (\"refetched\": 1). Its logs, the late"
echo "    one included, went into the same objects as before, so S3 still holds each log once.)"

echo "-- what the simulator saw"
curl -fsS "$easysend_url/_sim/requests" | "$easysend_python" -c '
import json, sys
for r in json.load(sys.stdin):
    print("  HTTP %s  start_time=%s %s=%s  %s logs" % (r["status"], r["start_time"], r["end_param"], r["end"], r["results"]))'

# Why fewer logs landed than were seeded: windows are fetched only once closed (60 s behind now, on the 30-minute
# grid), so logs dated after the cursor wait for the next run. Ask the simulator, as the vendor API, how many.
curl -fsS -X POST "$easysend_url/_sim/faults/clear" > /dev/null
easysend_cursor_at="$("$easysend_python" -c 'import sys, boto3; print(boto3.client("dynamodb").get_item(TableName=sys.argv[1], Key={"pk": {"S": "easysend#security-logs"}})["Item"]["cursor"]["S"])' "$easysend_table")"
easysend_param() { date -u -d "$1" +%Y%m%d%H%M%S; }
easysend_pending="$(curl -fsS -o /dev/null -D - -H "apiKey: $easysend_key" \
  "$easysend_url/player/api/get-security-logs?start_time=$(easysend_param "$easysend_cursor_at")&end_time=$(easysend_param "now + 1 minute")" \
  | tr -d '\r' | awk -F': ' 'tolower($1) == "number-of-results" {print $2}')"
echo "-- $easysend_pending logs are dated after the cursor $easysend_cursor_at: the next scheduled run collects them"
demo_fact "{\"vendor\": \"easysend\", \"offered\": 20002, \"unparsed_offered\": true, \"pending\": ${easysend_pending:-0}, \"pending_why\": \"dated after the cursor $easysend_cursor_at; a window is fetched once it has closed, 60 s behind now on the 30-minute grid\", \"faults\": [\"408 for windows wider than 20 minutes (split in two)\", \"a response cut after 500 logs (run 2 failed and committed nothing; run 3 recovered)\", \"a log arriving 10 minutes late\", \"a log with no @timestamp, fetched again by runs 2 and 3\"], \"notes\": [\"offered = 20000 seeded + 1 late arrival + 1 with no @timestamp\"]}"

kill "$easysend_sim_pid" 2>/dev/null || true
wait "$easysend_sim_pid" 2>/dev/null || true
"$easysend_root/scripts/show-landed.sh" easysend 1
echo "-- every log exactly once: $("$easysend_python" - "$TRIBUTARY_BUCKET" "${TRIBUTARY_PREFIX:-tributary}" <<'PY'
import gzip, json, sys, boto3
s3 = boto3.client("s3")
ids, late, unparsed = [], 0, 0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[1], Prefix=f"{sys.argv[2]}/vendor=easysend/"):
    for o in page.get("Contents", []):
        for line in gzip.decompress(s3.get_object(Bucket=sys.argv[1], Key=o["Key"])["Body"].read()).splitlines():
            record = json.loads(line)
            if record["event"]["kind"] == "pipeline_error":
                unparsed += 1
                continue
            ids.append(record["event"]["id"])
            # Lean records carry the vendor's `label` as ECS `labels`; full ones keep it under `easysend` as well.
            labels = record.get("labels") or record["easysend"].get("label") or {}
            late += labels.get("rid") == "late-arrival"
print(f"{len(ids)} records, {len(set(ids))} distinct event ids, late arrival landed {late} time(s), "
      f"the log with no @timestamp {unparsed} time(s) under _unparsed")
PY
)"
