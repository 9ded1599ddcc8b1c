"""Models ⇄ LDI XML, in canonical form (UTF-8, XSD element order, two-space indentation).

Hand-written rather than pydantic-xml: serialising records is the adapter's hot path, and issue
6's benchmark allows at most twice the cost of building the same elements with lxml directly.
A field *plan* is computed once per model class, so each record is one walk over a tuple with
no per-call type introspection. Parsing is strict (closed content, order, no stray text): it is
safe to use on documents that have not been through the XSD, and says where a document is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar

from lxml import etree
from pydantic import ValidationError

from ldi import NAMESPACE
from ldi.errors import SchemaInvalid
from ldi.models import LdiModel, XmlAttribute, field_shape

M = TypeVar("M", bound=LdiModel)

_NS = "{" + NAMESPACE + "}"
_NSMAP = {None: NAMESPACE}


@dataclass(frozen=True, slots=True)
class _FieldPlan:
    name: str
    xml_name: str
    tag: str  # Clark notation, for elements
    is_attribute: bool
    is_list: bool
    model: type[LdiModel] | None


@cache
def _plan(model: type[LdiModel]) -> tuple[_FieldPlan, ...]:
    plans = []
    for name, info in model.model_fields.items():
        inner, is_list, _ = field_shape(info.annotation)
        xml_name = info.alias or name
        nested = inner if isinstance(inner, type) and issubclass(inner, LdiModel) else None
        plans.append(
            _FieldPlan(
                name=name,
                xml_name=xml_name,
                tag=_NS + xml_name,
                is_attribute=any(isinstance(m, XmlAttribute) for m in info.metadata),
                is_list=is_list,
                model=nested,
            )
        )
    return tuple(plans)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("date-times on the wire carry a UTC offset")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@cache
def _build_plan(
    model: type[LdiModel],
) -> tuple[tuple[str, str, str, bool, bool, type[LdiModel] | None], ...]:
    """:func:`_plan` as plain tuples, for :func:`_fill` (unpacking beats attribute access)."""
    return tuple(
        (p.name, p.xml_name, p.tag, p.is_attribute, p.is_list, p.model) for p in _plan(model)
    )


_SubElement = etree.SubElement


def _fill(element: etree._Element, model: LdiModel) -> None:
    values = model.__dict__  # a pydantic model keeps its field values here
    for name, xml_name, tag, is_attribute, is_list, nested in _build_plan(type(model)):
        value = values[name]
        if value is None:
            continue
        if is_attribute:
            element.set(xml_name, value if type(value) is str else _text(value))
            continue
        if nested is not None:
            for item in value if is_list else (value,):
                _fill(_SubElement(element, tag), item)
        elif is_list:
            for item in value:
                _SubElement(element, tag).text = item if type(item) is str else _text(item)
        else:
            _SubElement(element, tag).text = value if type(value) is str else _text(value)


def to_element(model: LdiModel, name: str | None = None) -> etree._Element:
    """Build the element for ``model``; documents are named after their class."""
    element = etree.Element(_NS + (name or type(model).__name__), nsmap=_NSMAP)
    _fill(element, model)
    return element


def to_bytes(model: LdiModel, *, name: str | None = None) -> bytes:
    """Serialise ``model`` as a canonical, standalone UTF-8 document."""
    return serialise(to_element(model, name))


def serialise(element: etree._Element) -> bytes:
    """Canonical bytes of an element built here: XML declaration, UTF-8, pretty-printed."""
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# ----- parsing -----


def _error(message: str, element: etree._Element) -> SchemaInvalid:
    return SchemaInvalid(message, line=element.sourceline)


#: Per model: XML attribute name -> field name, and Clark tag -> (position, field name, local
#: name, is a list, nested model or None). Plain tuples: unpacking beats attribute access.
_ReadTable = tuple[dict[str, str], dict[str, tuple[int, str, str, bool, type[LdiModel] | None]]]


@cache
def _read_table(model: type[LdiModel]) -> _ReadTable:
    plans = _plan(model)
    return (
        {p.xml_name: p.name for p in plans if p.is_attribute},
        {
            p.tag: (i, p.name, p.xml_name, p.is_list, p.model)
            for i, p in enumerate(plans)
            if not p.is_attribute
        },
    )


def _local(element: etree._Element) -> str:
    """Local name of an element that is not in the plan (only needed for error messages)."""
    return etree.QName(element).localname


#: Where an element is, for error messages: a path string, or (parent, local name, position
#: among its namesakes, 0 when it cannot repeat). Spelt out only when there is an error.
_Where = str | tuple["_Where", str, int]


def _path(where: _Where) -> str:
    if isinstance(where, str):
        return where
    parent, local, count = where
    return f"{_path(parent)}/{local}[{count}]" if count else f"{_path(parent)}/{local}"


def _read(element: etree._Element, model: type[LdiModel], where: _Where) -> dict[str, Any]:
    by_attr, by_tag = _read_table(model)
    data: dict[str, Any] = {}
    for key, attr_value in element.items():
        name = by_attr.get(key)
        if name is None:
            raise _error(
                f"{_path(where)}: attribute {key!r} is not defined by LDI 1.0 (LDI-MSG-01)",
                element,
            )
        data[name] = attr_value
    text = element.text
    if text and by_tag and text.strip():
        raise _error(f"{_path(where)}: unexpected text content (LDI-MSG-01)", element)
    last_index = -1
    for child in element:
        tag = child.tag
        found = by_tag.get(tag)  # type: ignore[arg-type]  # a comment's tag is a function
        if found is None:
            if not isinstance(tag, str):
                continue  # comments and processing instructions carry no data
            raise _error(
                f"{_path(where)}: element {_local(child)!r} is not defined here (LDI-MSG-01)",
                child,
            )
        index, name, local, is_list, nested = found
        if index < last_index:
            raise _error(f"{_path(where)}: element {local!r} is out of order (LDI-MSG-01)", child)
        last_index = index
        if is_list:
            items = data.get(name)
            if items is None:
                items = data[name] = []
            if nested is not None:
                items.append(_read(child, nested, (where, local, len(items) + 1)))
            elif len(child):
                raise _error(
                    f"{_path((where, local, len(items) + 1))}: unexpected child elements "
                    "(LDI-MSG-01)",
                    child,
                )
            else:
                items.append(child.text or "")
            continue
        if nested is not None:
            value: Any = _read(child, nested, (where, local, 0))
        elif len(child):
            raise _error(
                f"{_path((where, local, 0))}: unexpected child elements (LDI-MSG-01)", child
            )
        else:
            value = child.text or ""
        if name in data:
            raise _error(f"{_path(where)}/{local}: element repeated (LDI-MSG-01)", child)
        data[name] = value
    return data


def from_element(element: etree._Element, model: type[M]) -> M:
    """Parse ``element`` as ``model``; raises :class:`SchemaInvalid` naming the element."""
    name = model.__name__
    if element.tag != _NS + name:
        raise _error(f"expected element {name!r} in namespace {NAMESPACE}", element)
    data = _read(element, model, etree.QName(element).localname)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        # pydantic's message may echo the input value; keep only its type of error.
        raise _error(f"{name}: {where}: {first['type']} (LDI-MSG-01)", element) from exc
