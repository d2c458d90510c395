#!/usr/bin/env bash
# Sets everything up and runs the whole test suite (lint first). A skipped test fails it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
ruff check src tests bench
python -m pytest -q "$@"
