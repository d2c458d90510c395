#!/usr/bin/env python3
"""Run the demo mesh's dbt project (examples/dbt/demo) with the real producer, dbt-ol, and keep
the OpenLineage events it emits, unchanged, as examples/lineage-dbt/NN-<job>-<event>.json.

    python scripts/record_demo_lineage.py                  # re-record examples/lineage-dbt/
    python scripts/record_demo_lineage.py --url http://127.0.0.1:8080 --out /tmp/ev
                                                           # also post them to a dpgraph server

dbt lives in .venv-dbt (``bash scripts/setup.sh``). The project is copied to a temporary
directory and run the way a team runs it: ``dbt seed`` lands the source systems' raw tables,
``dbt build`` and ``dbt docs generate`` (the catalog gives dbt-ol the column types), then
``dbt-ol build``. Seeds are excluded from the builds: they stand in for the source systems'
extracts, which are not dbt jobs. The transport is OpenLineage's own file transport (one JSON
event per line), plus its HTTP transport to ``--url`` when given (a composite transport, so
dbt-ol posts each event to dpgraph exactly as any deployment would). Only the standard library
is used, so any Python 3.11 runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "examples" / "dbt" / "demo"
DEFAULT_OUT = REPO / "examples" / "lineage-dbt"
DBT_BIN = REPO / ".venv-dbt" / "bin"
JOB_NAMESPACE = "mesh-dbt"
JOB_PREFIX = "mesh.main.mesh."  # <database>.<schema>.<project>. of every model's job
COMMAND_TIMEOUT = 300
STEPS = (
    ("seed", ("dbt", "seed")),
    ("build", ("dbt", "build", "--exclude", "resource_type:seed")),
    ("docs", ("dbt", "docs", "generate")),
    ("ol-build", ("dbt-ol", "build", "--exclude", "resource_type:seed")),
)


def dbt_env(config: Path) -> dict[str, str]:
    """A hermetic environment: no inherited dbt/OpenLineage settings or proxies, the dbt venv
    first on PATH (dbt-ol starts ``dbt``), jobs in the namespace the products declare."""
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(("DBT_", "OPENLINEAGE", "DPGRAPH_", "VIRTUAL_ENV"))
           and k.lower() not in {"http_proxy", "https_proxy", "all_proxy"}}
    env.update({
        "PATH": f"{DBT_BIN}{os.pathsep}{env.get('PATH', '')}",
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "OPENLINEAGE_CONFIG": str(config),
        "OPENLINEAGE_NAMESPACE": JOB_NAMESPACE,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_VERSION_CHECK": "false",
        "DO_NOT_TRACK": "1",
    })
    return env


def transport_config(events_file: Path, url: str | None) -> str:
    """openlineage.yml: the file transport, and the HTTP transport to ``url`` when given.
    JSON is valid YAML, so no YAML library is needed."""
    file = {"type": "file", "log_file_path": str(events_file), "append": True}
    if url is None:
        return json.dumps({"transport": file})
    http = {"type": "http", "url": url}
    return json.dumps({"transport": {"type": "composite", "continue_on_failure": False,
                                     "transports": [http, file]}})


def run_project(workdir: Path, url: str | None = None) -> list[str]:
    """Copy the project into ``workdir``, run the steps, return the emitted events (one JSON
    text each, in emission order). Each step's output is kept in ``workdir/<step>.log``."""
    if not (DBT_BIN / "dbt-ol").exists():
        sys.exit("no .venv-dbt: run `bash scripts/setup.sh` first")
    project = workdir / "demo"
    shutil.copytree(PROJECT, project,
                    ignore=shutil.ignore_patterns("target", "logs", "*.duckdb*"))
    events_file = workdir / "events.jsonl"
    config = workdir / "openlineage.yml"
    config.write_text(transport_config(events_file, url), encoding="utf-8")
    env = dbt_env(config)
    for step, command in STEPS:
        done = subprocess.run([str(DBT_BIN / command[0]), *command[1:], "--profiles-dir", "."],
                              cwd=project, env=env, capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT, check=False)
        (workdir / f"{step}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(command)}` failed ({done.returncode}); "
                               f"see {workdir / f'{step}.log'}:\n{done.stdout[-3000:]}")
    return [line for line in events_file.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def file_name(index: int, event: dict) -> str:
    """``NN-<model>-<run|test>-<eventtype>.json``, or ``NN-<job>-…`` for the dbt invocation."""
    job = str(event["job"]["name"]).removeprefix(JOB_PREFIX).replace(".build.", "-")
    job = re.sub(r"[^A-Za-z0-9_\-]", "-", job)
    return f"{index:02d}-{job}-{str(event['eventType']).lower()}.json"


def write_events(events: list[str], out: Path) -> list[Path]:
    """Each event pretty-printed in its own file (same JSON value, keys in emitted order);
    earlier recordings in ``out`` are replaced."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    written = []
    for i, text in enumerate(events, start=1):
        event = json.loads(text)
        path = out / file_name(i, event)
        path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="directory for the event files (default examples/lineage-dbt)")
    parser.add_argument("--url", help="also post every event to this dpgraph (OpenLineage "
                                      "HTTP transport), e.g. http://127.0.0.1:8080")
    parser.add_argument("--workdir", type=Path,
                        help="run here instead of a temporary directory (kept afterwards)")
    args = parser.parse_args()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        events = run_project(args.workdir, args.url)
    else:
        with tempfile.TemporaryDirectory(prefix="dpgraph-dbt-demo-") as tmp:
            events = run_project(Path(tmp), args.url)
    written = write_events(events, args.out)
    print(f"{len(written)} events written to {args.out}")


if __name__ == "__main__":
    main()
