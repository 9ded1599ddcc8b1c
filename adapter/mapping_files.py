"""Load mapping files (``mappings/<source>.yaml``) into typed MappingSpecs at the edge.

Every problem is reported with its YAML path and line, as for config.yaml: an unknown LDI item,
an unknown transform or an undefined code table is an error the ICT engineer can find at once.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from adapter.yaml_locations import located
from ldi.errors import ConfigError
from mappings.spec import MappingSpec


def mapping_problems(path: Path) -> tuple[MappingSpec | None, list[str]]:
    """Load ``path``; the spec (or None) and every problem as 'yaml.path (line N): …'."""
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except OSError as exc:
        return None, [f"{path}: cannot read ({exc.strerror})"]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return None, [f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]
    if not isinstance(raw, dict):
        return None, [f"{path}: the top level must be a mapping"]
    try:
        spec = MappingSpec.model_validate(raw)
    except ValidationError as exc:
        return None, [
            f"{path}: {located(node, e['loc'], e['msg'])}" for e in exc.errors(include_input=False)
        ]
    problems = [f"{path}: {located(node, at, message)}" for at, message in spec.problems()]
    return (None, problems) if problems else (spec, [])


def load_mapping(path: Path) -> MappingSpec:
    """The MappingSpec in ``path``; ConfigError (CFG-MAPPING) listing every problem otherwise."""
    spec, problems = mapping_problems(path)
    if spec is None:
        raise ConfigError("; ".join(problems), code="CFG-MAPPING")
    return spec
