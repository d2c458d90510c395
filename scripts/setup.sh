#!/usr/bin/env bash
# Creates .venv (if missing) and installs dpgraph with its test tools, plus the real producers
# the end-to-end lineage tests run, each in an environment of its own because their pins are
# not ours: .venv-dbt (dbt-core, dbt-duckdb, openlineage-dbt) and .venv-airflow (Airflow 3
# with the OpenLineage provider), and the FalkorDB Bolt server (scripts/falkordb.sh).
# `--service` stops after .venv. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
if [ "${1:-}" = "--service" ]; then
  exit 0  # scripts/demo.sh: the service alone, without the producers' environments
fi
bash scripts/falkordb.sh  # the Bolt server the Bolt backend tests start (.cache/falkordb/)
if [ ! -x .venv-dbt/bin/dbt-ol ]; then
  "$PYTHON" -m venv .venv-dbt
  .venv-dbt/bin/python -m pip install --quiet --upgrade pip
  .venv-dbt/bin/python -m pip install --quiet -r requirements-dbt.txt
fi
if [ ! -x .venv-airflow/bin/airflow ]; then
  "$PYTHON" -m venv .venv-airflow
  .venv-airflow/bin/python -m pip install --quiet --upgrade pip
  .venv-airflow/bin/python -m pip install --quiet -r requirements-airflow.txt
fi
