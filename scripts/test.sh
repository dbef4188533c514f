#!/usr/bin/env bash
# Runs every test: formatting and lints, unit tests, integration tests against the local AWS stack (moto) and the
# vendor simulators, then the extra checks in scripts/checks/ (real protocol clients, template lint).
# Installs what it needs; starts the local stack if it is not running and stops it again afterwards.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

if ! scripts/local-stack.sh running; then
  scripts/local-stack.sh start
  trap 'scripts/local-stack.sh stop' EXIT
fi
eval "$(scripts/local-stack.sh env)"

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

mkdir -p .local
log=.local/test-output.log
: > "$log"

echo "== checks"
for check in scripts/checks/*.sh; do
  [ -e "$check" ] || continue
  echo "-- $check"
  bash "$check" 2>&1 | tee -a "$log"
done

echo "== unit and integration tests"
cargo test --workspace --locked 2>&1 | tee -a "$log"

# One closing line over everything above: cargo's per-binary results and pytest's summaries.
python3 - "$log" <<'PY'
import re, sys
passed = failed = 0
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"test result: \w+\. (\d+) passed; (\d+) failed", line)
    if m:
        passed, failed = passed + int(m[1]), failed + int(m[2])
        continue
    if re.match(r"^=*\s*\d+ (passed|failed)", line):
        passed += sum(int(n) for n in re.findall(r"(\d+) passed", line))
        failed += sum(int(n) for n in re.findall(r"(\d+) failed", line))
print(f"tests: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
