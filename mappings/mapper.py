"""Turn one SourceRecord into one LDI Record, as its mapping file says.

The mapping is compiled once, when it is loaded: the record's own items and each group's items
become one generated function each (:mod:`mappings.itemcode`: transforms resolved and bound to
the code tables, look-ups and target paths written out). The result is a *draft*: the envelope
(messageId, action, version, ContactPointId) is the delta engine's business, so drafts carry
placeholders there.

Only fields the mapping names are read; a case-information column in the source has no path
into the output. A value that cannot be transformed, or a mandatory child item left empty,
holds the record with LDI-MSG-01 and the item's path. An optional element left incomplete
(an address without a postcode, an involvement without a start date) is omitted and noted,
so the run report says what was left out and why: nothing disappears silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from connectors.base import SourceRecord
from ldi.models import Action, Breach, Record, field_shape
from mappings.itemcode import (
    RECORD_PATH,
    CompiledItem,
    FillFunction,
    fill_function,
    lookup,
    present,
    value_function,
    xml_path,
)
from mappings.items import GroupInfo, ItemInfo, groups_of_record, items_of
from mappings.spec import SELF_ROWS, GroupSpec, MappingSpec
from mappings.transforms import TransformContext

PLACEHOLDER_MESSAGE_ID = "0" * 32
#: A pseudo-field the source record id may be taken from: the connector's own key.
SOURCE_KEY = "__key__"

#: Elements that are dropped (with a note) when incomplete, by their field name.
_DROPPABLE = frozenset(
    {
        "address",
        "participation",
        "other_names",
        "parent_carers",
        "educational_settings",
        "primary_medical_practitioner",
        "involvements",
        "caf",
        "held_by",
    }
)


@dataclass(frozen=True, slots=True)
class MapNote:
    """An optional element omitted because it was incomplete (path, reason; no values)."""

    path: str
    message: str


@dataclass(frozen=True, slots=True)
class MapResult:
    """A draft record, or the breaches that hold it; plus notes on omitted elements."""

    source_record_id: str | None
    record: Record | None
    breaches: tuple[Breach, ...] = ()
    notes: tuple[MapNote, ...] = ()
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class _CompiledGroup:
    target: str
    rows: str
    pick: str
    where: tuple[tuple[str, frozenset[str | None]], ...]
    info: GroupInfo
    fill: FillFunction


@dataclass
class _Build:
    tree: dict[str, Any] = field(default_factory=dict)
    breaches: list[Breach] = field(default_factory=list)


class Mapper:
    """A compiled mapping for one source; ``map`` is safe to call from one thread at a time."""

    def __init__(self, spec: MappingSpec) -> None:
        problems = spec.problems()
        if problems:
            raise ValueError(problems[0][1])
        self.spec = spec
        self._context = ctx = TransformContext(code_tables=spec.code_tables)
        record_items = items_of(Record)
        key = CompiledItem("SourceRecordId", spec.source_record_id, record_items["SourceRecordId"])
        self._key = value_function(key, ctx)
        self._key_needs_record_key = SOURCE_KEY in spec.source_record_id.source_fields
        self._deleted = (
            value_function(
                CompiledItem("deleted", spec.deleted, ItemInfo(("deleted",), False, False)), ctx
            )
            if spec.deleted is not None
            else None
        )
        self._fill = fill_function(
            [CompiledItem(t, s, record_items[t]) for t, s in spec.items.items()], ctx
        )
        self._groups = tuple(self._compile_group(g, ctx) for g in spec.groups)

    @staticmethod
    def _compile_group(spec: GroupSpec, ctx: TransformContext) -> _CompiledGroup:
        info = groups_of_record()[spec.target]
        catalogue = items_of(info.model)
        fill = fill_function(
            [CompiledItem(f"{spec.target}.{t}", s, catalogue[t]) for t, s in spec.items.items()],
            ctx,
        )
        where = tuple(
            (name, frozenset(None if v is None else str(v) for v in values))
            for name, values in spec.where.items()
        )
        return _CompiledGroup(spec.target, spec.rows, spec.pick, where, info, fill)

    # ----- evaluation -----

    def map(self, source: SourceRecord) -> MapResult:
        """Map one source record to a draft Record, or to the breaches that hold it."""
        build = _Build()
        fields = source.fields
        key_row = {**fields, SOURCE_KEY: source.key} if self._key_needs_record_key else fields
        key = self._key(key_row, build.breaches)
        key = key if key is not None else source.key
        deleted = bool(self._deleted and self._deleted(fields, build.breaches))
        self._fill(fields, build.tree, build.breaches)
        for group in self._groups:
            self._fill_group(group, source, build)
        if build.breaches:
            return MapResult(str(key), None, tuple(build.breaches), deleted=deleted)
        return self._validate(str(key), build.tree, deleted)

    def _fill_group(self, group: _CompiledGroup, source: SourceRecord, build: _Build) -> None:
        rows: Sequence[Mapping[str, Any]] = (
            [source.fields] if group.rows == SELF_ROWS else source.related.get(group.rows, ())
        )
        if group.where:
            rows = [r for r in rows if _row_matches(r, group.where)]
        if group.pick == "first":
            rows = rows[:1]
        elif group.pick == "last":
            rows = rows[-1:]
        built = []
        for row in rows:
            element: dict[str, Any] = {}
            if group.fill(row, element, build.breaches):
                built.append(element)
        if not built:
            return
        node = build.tree
        for step in group.info.field_path[:-1]:
            node = node.setdefault(step, {})
        last = group.info.field_path[-1]
        if group.info.max_occurs == 1 and not isinstance(node.get(last), list):
            if len(built) > 1:
                build.breaches.append(
                    Breach(
                        rule="LDI-MSG-01",
                        path=xml_path(group.target),
                        message=f"{len(built)} rows for an element that occurs once; "
                        "use pick: first or last in the mapping",
                    )
                )
            node[last] = built[0]
        else:
            existing = node.setdefault(last, [])
            existing.extend(built)
            if len(existing) > group.info.max_occurs:
                build.breaches.append(
                    Breach(
                        rule="LDI-MSG-01",
                        path=xml_path(group.target),
                        message=f"{len(existing)} occurrences, at most {group.info.max_occurs}",
                    )
                )

    # ----- completeness -----

    def _validate(self, key: str, tree: dict[str, Any], deleted: bool) -> MapResult:
        notes: list[MapNote] = []
        envelope = {
            "message_id": PLACEHOLDER_MESSAGE_ID,
            "action": Action.UPSERT,
            "version": 1,
            "source_record_id": key,
        }
        for _ in range(64):  # each pass drops at least one incomplete element
            try:
                record = Record.model_validate({**envelope, **tree})
            except ValidationError as exc:
                breaches = _drop_incomplete(tree, exc, notes)
                if breaches:
                    return MapResult(key, None, tuple(breaches), tuple(notes), deleted)
                continue
            return MapResult(key, record, (), tuple(notes), deleted)
        raise AssertionError("mapping validation did not converge")  # pragma: no cover


def _xml_loc(loc: tuple[int | str, ...]) -> str:
    """A pydantic location (field names or aliases, list indexes) as an XML path."""
    model: Any = Record
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1] += f"[{part + 1}]"
            continue
        fields = model.model_fields if model is not None else {}
        name = next((n for n, f in fields.items() if part in (n, f.alias)), None)
        if name is None:
            parts.append(str(part))
            model = None
            continue
        info = fields[name]
        parts.append(info.alias or name)
        inner = field_shape(info.annotation)[0]
        model = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
    return "/".join(parts)


def _row_matches(
    row: Mapping[str, Any], where: tuple[tuple[str, frozenset[str | None]], ...]
) -> bool:
    for name, allowed in where:
        value = lookup(row, name)
        if (str(value).strip() if present(value) else None) not in allowed:
            return False
    return True


def _drop_incomplete(
    tree: dict[str, Any], exc: ValidationError, notes: list[MapNote]
) -> list[Breach]:
    """Errors outside droppable elements are breaches; otherwise drop the first incomplete one.

    One element per pass: removing a list item shifts the indexes of later errors, so the
    caller validates again after each drop.
    """
    droppable: list[tuple[tuple[int | str, ...], tuple[int | str, ...], str]] = []
    breaches: list[Breach] = []
    for error in exc.errors(include_input=False):
        loc = tuple(error["loc"])
        cut = None
        for i, part in enumerate(loc):
            if part in _DROPPABLE:
                cut = i + 2 if i + 1 < len(loc) and isinstance(loc[i + 1], int) else i + 1
        if cut is None:
            breaches.append(
                Breach(
                    rule="LDI-MSG-01",
                    path=f"{RECORD_PATH}/{_xml_loc(loc)}",
                    message=f"mandatory item is missing or invalid ({error['type']})",
                )
            )
        else:
            droppable.append((loc[:cut], loc[cut:], error["type"]))
    if breaches:
        return breaches
    element, _inner_loc, kind = droppable[0]
    loc_of_error = element + _inner_loc
    _remove(tree, element)
    notes.append(
        MapNote(
            path=_xml_loc(element),
            message=f"omitted: incomplete ({_xml_loc(loc_of_error)}: {kind})",
        )
    )
    return []


def _remove(tree: dict[str, Any], loc: tuple[int | str, ...]) -> None:
    node: Any = tree
    for part in loc[:-1]:
        node = node[part]
    del node[loc[-1]]
    if isinstance(node, list) and not node:
        parent: Any = tree
        for part in loc[:-2]:
            parent = parent[part]
        del parent[loc[-2]]
