"""Functions generated as Python source, for hot paths that would otherwise interpret a plan.

Used where a fixed description (a model's fields, a mapping's items) is known once at start-up
and then applied to hundreds of thousands of records: writing the loop out as straight-line
code removes the per-step dispatch that dominated those paths. The callers put no text from
outside the program into the source: every value the code needs is passed in ``namespace``
under a generated name. The source is kept on the function (``__source__``) and registered
with :mod:`linecache`, so tracebacks and debuggers show the generated lines.
"""

from __future__ import annotations

import itertools
import linecache
from collections.abc import Mapping
from typing import Any

_serial = itertools.count(1)


def define_function(
    name: str, signature: str, body: list[str], namespace: Mapping[str, Any]
) -> Any:
    """Compile ``def name(signature):`` with ``body`` (lines indented one level or more)."""
    source = f"def {name}({signature}):\n" + "\n".join(body) + "\n"
    filename = f"<generated {name} {next(_serial)}>"
    scope = dict(namespace)
    exec(compile(source, filename, "exec"), scope)  # noqa: S102 - see the module docstring
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    function = scope[name]
    function.__source__ = source
    return function
