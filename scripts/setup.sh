#!/usr/bin/env bash
# Creates .venv (if missing) and installs dpgraph with its test tools, and .venv-dbt with the
# real dbt producer (dbt-core, dbt-duckdb, openlineage-dbt) that the end-to-end tests run:
# its pins are not ours, so it lives in an environment of its own. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
if [ ! -x .venv-dbt/bin/dbt-ol ]; then
  "$PYTHON" -m venv .venv-dbt
  .venv-dbt/bin/python -m pip install --quiet --upgrade pip
  .venv-dbt/bin/python -m pip install --quiet -r requirements-dbt.txt
fi
