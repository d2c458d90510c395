"""The descriptor example in README.md is a valid registration, not a sketch."""

from __future__ import annotations

import re

import yaml

from dpgraph.descriptor import ProductDescriptor
from dpgraph.resources import default_home
from dpgraph.runtime import Runtime
from dpgraph.services.parsing import validate_model


def test_readme_descriptor_example_is_accepted(demo_runtime: Runtime) -> None:
    readme = (default_home() / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S)
                 if "kind: DataProduct" in b)
    d = validate_model(ProductDescriptor, yaml.safe_load(block))
    outcome = demo_runtime.registry.register_product(d, dry_run=True)
    assert outcome.accepted, [f.as_dict() for f in outcome.report.violations]
    assert outcome.report.violations == []


def test_readme_names_the_ci_test_command() -> None:
    ci = (default_home() / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert ci in (default_home() / "README.md").read_text(encoding="utf-8")
