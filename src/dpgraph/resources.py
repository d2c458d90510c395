"""Where the project's RDF artefacts live (ontology, shapes, examples).

They are files at the repository root, edited by people and reviewed like code. The package
finds them beside its own source tree (the project runs from a checkout, installed in
editable mode); ``Settings.home`` (DPGRAPH_HOME) points elsewhere when needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def default_home() -> Path:
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Artefacts:
    home: Path

    @property
    def ontology(self) -> Path:
        return self.home / "ontology" / "dpgraph.ttl"

    def shapes(self, name: str) -> Path:
        return self.home / "shapes" / f"{name}.ttl"

    @property
    def examples(self) -> Path:
        return self.home / "examples"
