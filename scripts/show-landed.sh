#!/usr/bin/env bash
# Lists what landed in the demo bucket (optionally for one vendor) and prints a few records.
# usage: scripts/show-landed.sh [vendor] [records-to-print]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$("$root/scripts/venv.sh" path)"
"$bin/python" "$root/scripts/show_landed.py" "${TRIBUTARY_BUCKET:?}" "${TRIBUTARY_PREFIX:-tributary}" "${1:-}" "${2:-2}"
