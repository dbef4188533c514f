#!/usr/bin/env bash
# Infrastructure checks: cfn-lint on infra/template.yaml, then tests/infra (pytest): the template against the code
# it deploys (binaries, environment variables, IAM scope, shared contracts), the Athena table and example queries
# over objects landed in the local stack (seeded, and landed by the real functions from the simulators), S3
# notifications per vendor queue, the Strivacity recipe's commands against the receiver, and the Security Lake writer's
# OCSF Parquet over what the functions landed (read back with pyarrow and DataFusion, validated against OCSF 1.1.0).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

scripts/venv.sh install scripts/requirements-stack.txt tests/infra/requirements.txt
bin="$(scripts/venv.sh path)"

echo "cfn-lint infra/template.yaml"
"$bin/cfn-lint" infra/template.yaml

# The functions' own binaries land the data the Athena table is checked against (each collecting from its
# vendor simulator), and the Strivacity recipe runs against the receiver's standalone host.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary/target}"
cargo build --quiet --locked --bins -p tributary-simulators -p transmit-poller -p easysend-poller \
  -p lookout-stream -p strivacity-receiver -p security-lake-writer

# The local stack is shared with the other tests: start it if needed, never stop it here.
scripts/local-stack.sh start
if [ -z "${TRIBUTARY_TEST_AWS_ENDPOINT:-}" ]; then
  eval "$(scripts/local-stack.sh env)"
fi

"$bin/python" -m pytest -q -p no:cacheprovider tests/infra
