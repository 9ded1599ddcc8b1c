"""Extension points, found through Python entry points.

A third party adds a connector, a transport or a mapping transform in its own package by
declaring an entry point in one of the groups below; this product's own plug-ins are declared
the same way in ``pyproject.toml``, so there is one path for both.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

from ldi.errors import ConfigError

CONNECTORS = "cpadapter.connectors"
TRANSPORTS = "cpadapter.transports"
TRANSFORMS = "cpadapter.transforms"


@cache
def _group(group: str) -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=group)}


def names(group: str) -> list[str]:
    """Registered names in ``group``, sorted."""
    return sorted(_group(group))


def load(group: str, name: str) -> Any:
    """The object registered as ``name`` in ``group``; ConfigError naming the choices if absent."""
    found = _group(group).get(name)
    if found is None:
        choices = ", ".join(names(group)) or "none installed"
        raise ConfigError(f"unknown {group.rsplit('.', 1)[-1][:-1]} {name!r} (known: {choices})")
    return found.load()
