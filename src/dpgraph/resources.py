"""Where the project's RDF artefacts live (ontology, shapes, examples).

They are files at the repository root, edited by people and reviewed like code; the
package finds them relative to its own source tree (the project runs from a checkout,
installed in editable mode), or from DPGRAPH_HOME when set.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    home = os.environ.get("DPGRAPH_HOME")
    return Path(home) if home else Path(__file__).resolve().parents[2]


def ontology_path() -> Path:
    return project_root() / "ontology" / "dpgraph.ttl"


def shapes_path(name: str) -> Path:
    return project_root() / "shapes" / f"{name}.ttl"


def examples_dir() -> Path:
    return project_root() / "examples"
