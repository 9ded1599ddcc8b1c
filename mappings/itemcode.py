"""A mapping's items as generated straight-line Python: one function per element kind.

Mapping is the pipeline's largest stage after the reading, and most of its cost was not the
transforms but the machinery around them: per item a loop step, a look-up closure, a presence
test, a transform-chain closure and a walk down the output tree. So each set of items (the
record's own, each group's) is compiled once, when the mapping is loaded, into one function
whose body evaluates every item in turn: the look-ups, transforms and stores written out.

The generated code holds no text from the mapping file: field names, constants, transforms,
their arguments and target paths are bound as objects in the function's namespace under
generated names (``k3``, ``t5``, …), so no YAML value can ever become code. There is no
expression language either: the generated code can only do what the item kinds below do.
The source of each generated function is kept on it (``__source__``) and in :mod:`linecache`
(:mod:`ldi.generated`), so a traceback through it shows real lines.

Item kinds, each with the meaning the mapping format documents (:mod:`mappings.spec`):

* ``const``: the constant (never counts as "filled": an element of constants only is empty);
* one field: its value when present (not None, not blank), else None, then the transforms;
* several fields: the first present one, then the transforms;
* several fields with ``join``: every present value, stripped and joined, then the transforms;
* a repeated item (``Address.Line``, ``Telephone``): each value of each field (lists flattened),
  through the transforms, the Nones dropped; no value at all: None.

A :class:`~mappings.transforms.TransformError` on one item is recorded as an LDI-MSG-01 breach
with the item's path, and the other items are still evaluated (every problem of a record is
reported at once).

A chain of built-in transforms is remembered per text value (:data:`MEMO_LIMIT` values per
chain): birth dates, code values, school and practice codes and names repeat across hundreds of
thousands of records, and the built-ins are pure functions of the text, the argument and the
mapping's code tables, all fixed once the mapping is compiled. Only text inputs, only results
that cannot be changed afterwards (text, dates, flags, numbers, no value) and never a failure
(a :class:`TransformError` is raised again each time) are remembered; a chain with a plug-in
transform is never remembered, since a plug-in need not be pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from ldi.generated import define_function
from ldi.models import Breach
from mappings.items import ItemInfo
from mappings.spec import ItemSpec
from mappings.transforms import BUILT_IN, TransformContext, TransformError, resolve

RECORD_PATH = "Record[1]"

Row = Mapping[str, Any]
#: Remembered results per transform chain; past it, new values are computed and not kept, so
#: a chain over values that never repeat (telephone numbers) costs a bounded amount of memory.
MEMO_LIMIT = 8192
#: Result types that are remembered: values nothing can change after the chain returned them.
_KEEPABLE = frozenset({str, bool, int, type(None), date})
#: ``fill(row, element, breaches) -> filled``: sets the items' values under ``element`` (a dict
#: tree of field names); True when any item that is not a constant had a value.
FillFunction = Callable[[Row, dict[str, Any], list[Breach]], bool]
#: ``value(row, breaches) -> value``: one item's value (None on a transform error, recorded).
ValueFunction = Callable[[Row, list[Breach]], Any]


@dataclass(frozen=True, slots=True)
class CompiledItem:
    """One item to compile: its target path (for messages), spec and place in the model."""

    target: str
    spec: ItemSpec
    info: ItemInfo


def xml_path(target: str) -> str:
    """An item's target (``Child.Name.GivenName``) as the path breaches report."""
    return f"{RECORD_PATH}/" + target.replace(".", "/")


def lookup(row: Row, name: str) -> Any:
    """A field by name; a dotted name not present as such reaches into nested mappings."""
    if name in row or "." not in name:
        return row.get(name)
    value: Any = row
    for part in name.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def present(value: Any) -> bool:
    """A value counts when it is not None and, if text, not blank."""
    return value is not None and not (isinstance(value, str) and not value.strip())


_MISS = object()  # not remembered (None is a result that is)


class _Code:
    """The lines of one generated function and the objects its names stand for."""

    def __init__(self, context: TransformContext) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {
            "ctx": context,
            "lookup": lookup,
            "Breach": Breach,
            "TransformError": TransformError,
            "MISS": _MISS,
            "KEEPABLE": _KEEPABLE,
            "MEMO_LIMIT": MEMO_LIMIT,
        }

    def bind(self, prefix: str, value: Any) -> str:
        """A fresh name for ``value`` in the generated code."""
        name = f"{prefix}{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def get(self, field: str) -> str:
        """The expression that reads ``field`` from the row ``r``."""
        key = self.bind("k", field)
        return f"r.get({key})" if "." not in field else f"lookup(r, {key})"

    def transforms(self, depth: int, item: ItemSpec, variable: str) -> None:
        """Statements that pass ``variable`` through the item's transform chain."""
        calls = [
            (self.bind("t", resolve(step.name)), self.bind("a", step.arg))
            for step in item.transforms
        ]
        if not calls:
            return
        if not all(step.name in BUILT_IN for step in item.transforms):
            for transform, argument in calls:
                self.emit(depth, f"{variable} = {transform}({variable}, {argument}, ctx)")
            return
        memo = self.bind("m", {})
        self.emit(depth, f"if {variable}.__class__ is str:")
        self.emit(depth + 1, f"w = {memo}.get({variable}, MISS)")
        self.emit(depth + 1, "if w is MISS:")
        self.emit(depth + 2, f"w = {variable}")
        for transform, argument in calls:
            self.emit(depth + 2, f"w = {transform}(w, {argument}, ctx)")
        self.emit(depth + 2, f"if w.__class__ in KEEPABLE and len({memo}) < MEMO_LIMIT:")
        self.emit(depth + 3, f"{memo}[{variable}] = w")
        self.emit(depth + 1, f"{variable} = w")
        self.emit(depth, "else:")
        for transform, argument in calls:
            self.emit(depth + 1, f"{variable} = {transform}({variable}, {argument}, ctx)")

    def value(self, depth: int, item: CompiledItem) -> None:
        """Statements that leave the item's value in ``v`` (see the module docstring)."""
        spec = item.spec
        if spec.const is not None:
            self.emit(depth, f"v = {self.bind('c', spec.const)}")
            return
        fields = spec.source_fields
        if item.info.repeated:
            self.emit(depth, "vs = []")
            for field in fields:
                self.emit(depth, f"x = {self.get(field)}")
                self.emit(depth, "for v in (x if isinstance(x, (list, tuple)) else (x,)):")
                self.transforms(depth + 1, spec, "v")
                self.emit(depth + 1, "if v is not None:")
                self.emit(depth + 2, "vs.append(v)")
            self.emit(depth, "v = vs or None")
            return
        if spec.join is not None:
            self.emit(depth, "parts = []")
            for field in fields:
                self.emit(depth, f"v = {self.get(field)}")
                self.emit(depth, "if v is not None and not (isinstance(v, str) and not v.strip()):")
                self.emit(depth + 1, "parts.append(str(v).strip())")
            self.emit(depth, f"v = {self.bind('j', spec.join)}.join(parts) if parts else None")
            self.transforms(depth, spec, "v")
            return
        # First present field wins; each further field is read only when needed.
        inner = depth
        for n, field in enumerate(fields):
            self.emit(inner, f"v = {self.get(field)}")
            self.emit(inner, "if v is None or (isinstance(v, str) and not v.strip()):")
            inner += 1
            if n == len(fields) - 1:
                self.emit(inner, "v = None")
        self.transforms(depth, spec, "v")

    def guarded(self, depth: int, item: CompiledItem) -> None:
        """The item's value in ``v``; on a transform error a breach and ``v = None``."""
        self.emit(depth, "try:")
        self.value(depth + 1, item)
        self.emit(depth, "except TransformError as error:")
        path = self.bind("p", xml_path(item.target))
        self.emit(
            depth + 1,
            f"breaches.append(Breach(rule='LDI-MSG-01', path={path}, message=error.message))",
        )
        self.emit(depth + 1, "v = None")

    def build(self, name: str, signature: str) -> Any:
        return define_function(name, signature, self.lines, self.namespace)


def fill_function(items: Sequence[CompiledItem], context: TransformContext) -> FillFunction:
    """One function that evaluates ``items`` on a row and stores their values in a dict tree."""
    code = _Code(context)
    code.emit(1, "filled = False")
    for item in items:
        code.guarded(1, item)
        code.emit(1, "if v is not None:")
        node = "element"
        for step in item.info.field_path[:-1]:
            node = f"{node}.setdefault({code.bind('s', step)}, {{}})"
        code.emit(2, f"{node}[{code.bind('s', item.info.field_path[-1])}] = v")
        if item.spec.const is None:
            code.emit(2, "filled = True")
    code.emit(1, "return filled")
    function: FillFunction = code.build("fill", "r, element, breaches")
    return function


def value_function(item: CompiledItem, context: TransformContext) -> ValueFunction:
    """One item's value from a row (the source record id, the deleted flag)."""
    code = _Code(context)
    code.guarded(1, item)
    code.emit(1, "return v")
    function: ValueFunction = code.build("value", "r, breaches")
    return function
