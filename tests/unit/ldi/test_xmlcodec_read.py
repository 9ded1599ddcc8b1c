"""The codec's element walk (the hub's hot path) against the walk it replaced, kept here.

Same data on valid documents; on broken ones the same error message and line, so a strict parse
reports exactly what it reported before.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from lxml import etree

from ldi.errors import SchemaInvalid
from ldi.models import LdiModel, SubmissionBatch
from ldi.xmlcodec import _error, _FieldPlan, _local, _plan, _read, from_element

# ----- the walk as it was (reference) -----


@dataclass(frozen=True, slots=True)
class _ReadPlan:
    """Lookup tables for parsing one model, built once per class (parsing is the hub's hot path)."""

    by_attr: dict[str, _FieldPlan]
    by_tag: dict[str, tuple[int, _FieldPlan, str]]  # Clark tag -> (order, plan, local name)


@cache
def _read_plan(model: type[LdiModel]) -> _ReadPlan:
    plans = _plan(model)
    return _ReadPlan(
        by_attr={p.xml_name: p for p in plans if p.is_attribute},
        by_tag={p.tag: (i, p, p.xml_name) for i, p in enumerate(plans) if not p.is_attribute},
    )


def _reference_read(element: etree._Element, model: type[LdiModel], path: str) -> dict[str, Any]:
    read_plan = _read_plan(model)
    by_attr, by_tag = read_plan.by_attr, read_plan.by_tag
    data: dict[str, Any] = {}
    for key, attr_value in element.items():
        plan = by_attr.get(str(key))
        if plan is None:
            raise _error(
                f"{path}: attribute {key!r} is not defined by LDI 1.0 (LDI-MSG-01)", element
            )
        data[plan.name] = attr_value
    text = element.text
    if text and by_tag and text.strip():
        raise _error(f"{path}: unexpected text content (LDI-MSG-01)", element)
    last_index = -1
    counts: dict[str, int] = {}
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # comments and processing instructions carry no data
        found = by_tag.get(tag)
        if found is None:
            raise _error(
                f"{path}: element {_local(child)!r} is not defined here (LDI-MSG-01)", child
            )
        index, plan, local = found
        if index < last_index:
            raise _error(f"{path}: element {local!r} is out of order (LDI-MSG-01)", child)
        last_index = index
        if plan.is_list:
            count = counts[local] = counts.get(local, 0) + 1
        # Paths are only built where they are needed: for nested models and for errors.
        if plan.model is not None:
            child_path = f"{path}/{local}[{count}]" if plan.is_list else f"{path}/{local}"
            value: Any = _reference_read(child, plan.model, child_path)
        else:
            if len(child):
                where = f"{path}/{local}[{count}]" if plan.is_list else f"{path}/{local}"
                raise _error(f"{where}: unexpected child elements (LDI-MSG-01)", child)
            value = child.text or ""
        if plan.is_list:
            data.setdefault(plan.name, []).append(value)
        elif plan.name in data:
            raise _error(f"{path}/{local}: element repeated (LDI-MSG-01)", child)
        else:
            data[plan.name] = value
    return data


# ----- the comparisons -----


def _either(walk: Any, root: etree._Element) -> object:
    """The data, or the error's message and line."""
    try:
        return walk(root, SubmissionBatch, "SubmissionBatch")
    except SchemaInvalid as exc:
        return (exc.message, exc.line)


_CHANGES = [
    ("", ""),  # unchanged
    ("<Town>Nottingham</Town>", ""),  # an optional element left out
    ("<Town>Nottingham</Town>", "<Town>Nottingham</Town><Town>Derby</Town>"),  # repeated
    ("<Line>Lenton</Line>", "<Line>Lenton<b>x</b></Line>"),  # a child inside a list leaf
    ("<Town>Nottingham</Town>", "<Town>Notts<b/></Town>"),  # a child inside a leaf
    ("<BirthDate>2015-03-27</BirthDate>", ""),  # a required element missing
    (
        "<Gender>Female</Gender>",
        "<Gender>Female</Gender><BirthDate>2015-03-27</BirthDate>",
    ),  # order
    ("<Town>Nottingham</Town>", "<CaseNote>x</CaseNote>"),  # unknown element
    ('<OtherName type="Former">', '<OtherName type="Former" colour="red">'),  # unknown attr
    ("<Name>\n        <GivenName>Amelia", "<Name>stray<GivenName>Amelia"),  # stray text
    ("<Town>Nottingham</Town>", "<!-- c --><Town>Nottingham</Town><?pi x?>"),  # skipped
    ("<Town>Nottingham</Town>", "<Town><!-- c -->Nottingham</Town>"),  # comment in a leaf
    ("<Town>Nottingham</Town>", "<Town/>"),  # empty text
    ('<OtherName type="Preferred">', '<OtherName type="Preferred"><x:y xmlns:x="urn:x"/>'),
]


def _replace_nth(data: bytes, old: bytes, new: bytes, n: int) -> bytes | None:
    """``data`` with the ``n``-th occurrence of ``old`` replaced, or None if there is none."""
    at = -1
    for _ in range(n):
        at = data.find(old, at + 1)
        if at < 0:
            return None
    return data[:at] + new + data[at + len(old) :]


@pytest.mark.parametrize(("old", "new"), _CHANGES)
def test_walk_matches_the_reference(golden_bytes: bytes, old: str, new: str) -> None:
    """Each change to the golden batch gives the old walk's data or error, message and line."""
    for n in (1, 2):  # the change on the first occurrence and on a later one
        data = _replace_nth(golden_bytes, old.encode(), new.encode(), n) if old else golden_bytes
        if data is None:
            continue
        root = etree.fromstring(data)
        assert _either(_read, root) == _either(_reference_read, root)


def test_repeated_list_items_with_errors_name_their_position(golden_bytes: bytes) -> None:
    """A bad third ``Line`` is reported as ``Line[3]``, as before."""
    data = golden_bytes.replace(b"<Line>Lenton</Line>", b"<Line>Lenton<b/></Line>", 1)
    root = etree.fromstring(data)
    result = _either(_read, root)
    assert result == _either(_reference_read, root)
    assert isinstance(result, tuple)
    assert "SubmissionBatch/Record[1]/Child/Address/Line[3]: unexpected child" in result[0]


def test_from_element_still_builds_the_golden_batch(golden_bytes: bytes) -> None:
    """from_element on the golden batch gives the model the reference walk's data gives."""
    root = etree.fromstring(golden_bytes)
    expected = SubmissionBatch.model_validate(
        _reference_read(root, SubmissionBatch, "SubmissionBatch")
    )
    assert from_element(root, SubmissionBatch) == expected
