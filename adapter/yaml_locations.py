"""YAML paths and line numbers for error messages about configuration and mapping files.

Both config.yaml and the mapping files are validated by pydantic, whose errors carry a
location tuple such as ``("sources", 2, "options", "url")``; these helpers turn it into
``sources[2].options.url (line 31)`` by walking the composed YAML node tree.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

Location = Sequence[int | str]


def yaml_path(loc: Location) -> str:
    """``("sources", 2, "url")`` → ``sources[2].url``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def line_of(node: yaml.Node | None, loc: Location) -> int | None:
    """Line (1-based) of the deepest YAML node that ``loc`` reaches."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def clean_loc(loc: Location) -> tuple[int | str, ...]:
    """Drop the validator and union-branch names pydantic adds; keep the YAML keys."""
    return tuple(
        p
        for p in loc
        if not (isinstance(p, str) and ("[" in p or p.startswith("function-") or p == "[key]"))
    )


def located(node: yaml.Node | None, loc: Location, message: str) -> str:
    """One problem as ``path (line N): message``."""
    loc = clean_loc(loc)
    line = line_of(node, loc)
    where = f"{yaml_path(loc)} (line {line})" if line else yaml_path(loc)
    return f"{where}: {message}"
