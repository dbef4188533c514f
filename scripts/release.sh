#!/usr/bin/env bash
# Release builds of every function for Lambda: `cargo lambda build --release --arm64 --output-format zip`,
# one target/lambda/<function>/bootstrap.zip each (the zip Lambda's provided.al2023 runtime takes).
#
#   scripts/release.sh            arm64 (Graviton), as infra/template.yaml deploys them
#   scripts/release.sh --x86-64   x86_64 instead (the template then needs Architectures: [x86_64])
#
# cargo-lambda comes from the project's Python environment (scripts/venv.sh). If the aarch64 standard library
# is not installed and cannot be fetched, the script says so loudly and builds x86_64 instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary/target}"
lambda_dir="$root/target/lambda"
functions=(transmit-poller easysend-poller lookout-stream strivacity-receiver)

scripts/venv.sh install infra/requirements-release.txt
PATH="$(scripts/venv.sh path):$PATH"
export PATH

arch="arm64"
if [ "${1:-}" = "--x86-64" ]; then
  arch="x86-64"
elif ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  echo "release: installing the aarch64 standard library (rustup target add aarch64-unknown-linux-gnu)" >&2
  if ! timeout 120 rustup target add aarch64-unknown-linux-gnu >&2; then
    arch="x86-64"
    cat >&2 <<'WARN'
release: ************************************************************************************
release: WARNING: the aarch64 standard library could not be installed on this machine, so these
release: zips are x86_64, not arm64. Deploy them only with Architectures: [x86_64] in
release: infra/template.yaml (Globals > Function), or build on a machine that has the target.
release: ************************************************************************************
WARN
  fi
fi

# Deployed binaries carry no symbols or debug info: zips of 6-7 MB instead of about 18 MB, so Lambda fetches less
# on a cold start. (Only this script builds for the Lambda targets, so these settings never invalidate the
# artifacts other builds share in CARGO_TARGET_DIR.)
export CARGO_PROFILE_RELEASE_DEBUG=false
export CARGO_PROFILE_RELEASE_STRIP=symbols

bins=()
for f in "${functions[@]}"; do bins+=(--bin "$f"); done
start=$(date +%s)
cargo lambda build --release "--$arch" --output-format zip --lambda-dir "$lambda_dir" "${bins[@]}"
elapsed=$(( $(date +%s) - start ))

echo
echo "release: $arch zips, built in ${elapsed}s:"
for f in "${functions[@]}"; do
  zip="$lambda_dir/$f/bootstrap.zip"
  if [ ! -f "$zip" ]; then
    echo "release: missing $zip" >&2
    exit 1
  fi
  printf '  %-60s %8d bytes\n' "${zip#"$root"/}" "$(stat -c %s "$zip")"
done
