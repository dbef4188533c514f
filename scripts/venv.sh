#!/usr/bin/env bash
# The project's Python environment (.venv in the repository, not committed; TRIBUTARY_VENV puts it elsewhere, as CI
# does to reuse it across fresh clones): local AWS stand-ins, real protocol clients, linters. Usage: scripts/venv.sh install <requirements-file>...   (idempotent: skips unchanged files)
#                          scripts/venv.sh path                              (prints the venv's bin directory)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${TRIBUTARY_VENV:-$root/.venv}"
python="${PYTHON:-python3}"

ensure_venv() {
  if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
  fi
}

case "${1:-}" in
  install)
    shift
    ensure_venv
    mkdir -p "$venv/.stamps"
    for req in "$@"; do
      stamp="$venv/.stamps/$(basename "$req").sha"
      sum="$(sha256sum "$req" | cut -d' ' -f1)"
      if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
        echo "venv: installing $req" >&2
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
        echo "$sum" > "$stamp"
      fi
    done
    ;;
  path)
    ensure_venv
    echo "$venv/bin"
    ;;
  *)
    echo "usage: scripts/venv.sh install <requirements-file>... | path" >&2
    exit 2
    ;;
esac
