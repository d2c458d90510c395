#!/usr/bin/env bash
# Creates .venv (if missing) and installs dpgraph with its test tools, plus the real producers
# the end-to-end lineage tests run, each in an environment of its own because their pins are
# not ours: .venv-dbt (dbt-core, dbt-duckdb, openlineage-dbt) and .venv-airflow (Airflow 3
# with the OpenLineage provider), Virtuoso (apt) for the remote-store tests and the FalkorDB
# Bolt server (scripts/falkordb.sh). `--service` stops after .venv. Idempotent.
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
# Virtuoso 7.2 (Debian), the second real SPARQL store the remote-store tests run against.
if ! command -v virtuoso-t >/dev/null || ! command -v isql-vt >/dev/null; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  # noninteractive: the package asks for a dba password we do not use (the tests' own db).
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    virtuoso-opensource >/dev/null
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
