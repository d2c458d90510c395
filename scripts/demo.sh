#!/usr/bin/env bash
# Sets everything up and starts dpgraph on its embedded store with the demo mesh loaded.
# Extra arguments go to `dpgraph serve` (e.g. --port 9000 --data-dir /tmp/dpgraph).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --service
exec .venv/bin/dpgraph serve --demo "$@"
