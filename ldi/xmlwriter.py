"""Records as XML text, written directly: the bytes lxml would give, without building a tree.

The adapter's hot path serialises every record it queues. Building an lxml element per value
and then serialising the tree costs several times what writing the same text costs, so the
pipeline writes records here and hands lxml only the finished text, once per chunk, for the XSD.
:func:`record_bytes` equals ``etree.tostring(to_element(record, "Record"), encoding="UTF-8")``
byte for byte (a property test holds the two together): the same element order (the models'
field order, which is the XSD's), the same escaping as libxml2 (text: ``& < >`` and CR;
attributes: also ``"``, TAB, LF), ``<Tag></Tag>`` for an empty string, and the same refusal of
characters XML cannot hold (``ValueError``, as lxml raises).

A :class:`WrittenRecord` keeps the record's top-level children apart, because the delta engine
hashes them without the envelope attributes (:func:`content_digest`, equal to hashing each child
element serialised on its own by lxml, which declares the namespace on it), and every text
value, for the gate's text checks without a second walk over the record.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any

from ldi import NAMESPACE
from ldi.models import LdiModel, XmlAttribute, field_shape

_XMLNS = f' xmlns="{NAMESPACE}"'
#: What lxml refuses in a text or attribute value: C0 controls but TAB/LF/CR, surrogates, FFFE/F.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NAME_TAGS = frozenset(("GivenName", "MiddleNames", "FamilyName"))


def _escape_text(value: str) -> str:
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    return value


_ATTRIBUTE_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\t": "&#9;",
        "\n": "&#10;",
        "\r": "&#13;",
    }
)


def _text(value: Any) -> str:
    """The wire form of a non-string value (as :mod:`ldi.xmlcodec` writes it)."""
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


# (field name, XML name, is attribute, is list, nested model or None)
_Plan = tuple[tuple[str, str, bool, bool, "type[LdiModel] | None"], ...]


@cache
def _plan(model: type[LdiModel]) -> _Plan:
    plan = []
    for name, info in model.model_fields.items():
        inner, is_list, _ = field_shape(info.annotation)
        nested = inner if isinstance(inner, type) and issubclass(inner, LdiModel) else None
        is_attribute = any(isinstance(m, XmlAttribute) for m in info.metadata)
        plan.append((name, info.alias or name, is_attribute, is_list, nested))
    return tuple(plan)


@dataclass(frozen=True, slots=True)
class WrittenRecord:
    """A ``Record`` as text: its top-level children, and every string value it holds."""

    children: tuple[str, ...]  # each child element (one per list item), namespace inherited
    values: tuple[str, ...]  # every str value (text and attributes), unescaped
    names: tuple[str, ...]  # the values of GivenName, MiddleNames and FamilyName elements

    def document(self, message_id: str, action: str, version: int) -> bytes:
        """The free-standing ``Record`` element, with this envelope (UTF-8 bytes)."""
        return (start_tag(message_id, action, version, declare=True) + self.body()).encode()

    def body(self) -> str:
        """The children and the end tag: what follows the start tag."""
        return "".join(self.children) + "</Record>"


def start_tag(message_id: str, action: str, version: int, *, declare: bool) -> str:
    """``<Record …>`` with its envelope; ``declare``: with the namespace declaration."""
    attributes = (
        f' messageId="{message_id.translate(_ATTRIBUTE_ESCAPES)}"'
        f' action="{action.translate(_ATTRIBUTE_ESCAPES)}" version="{version}"'
    )
    return "<Record" + (_XMLNS if declare else "") + attributes + ">"


def write_record(record: LdiModel) -> WrittenRecord:
    """Write a ``Record``'s children; ValueError for a value XML cannot hold (as lxml)."""
    values: list[str] = []
    names: list[str] = []
    children: list[str] = []
    data = record.__dict__
    for name, xml_name, is_attribute, is_list, nested in _plan(type(record)):
        value = data[name]
        if value is None or is_attribute:
            continue
        _element_into(children, values, names, xml_name, value, is_list, nested)
    if _NOT_XML.search("\x09".join(values)):
        raise ValueError(
            "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control "
            "characters"
        )
    for name, _xml, is_attribute, _list, _nested in _plan(type(record)):
        value = data[name]
        if is_attribute and type(value) is str:
            values.append(value)
    return WrittenRecord(tuple(children), tuple(values), tuple(names))


def _element_into(
    out: list[str],
    values: list[str],
    names: list[str],
    xml_name: str,
    value: Any,
    is_list: bool,
    nested: type[LdiModel] | None,
) -> None:
    for item in value if is_list else (value,):
        if nested is not None:
            _model_into(out, values, names, xml_name, item)
            continue
        if type(item) is str:
            values.append(item)
            if xml_name in _NAME_TAGS:
                names.append(item)
            text = _escape_text(item)
        else:
            text = _text(item)
        out.append(f"<{xml_name}>{text}</{xml_name}>")


def _model_into(
    out: list[str], values: list[str], names: list[str], tag: str, model: LdiModel
) -> None:
    data = model.__dict__
    attributes = ""
    children: list[str] = []
    for name, xml_name, is_attribute, is_list, nested in _plan(type(model)):
        value = data[name]
        if value is None:
            continue
        if is_attribute:
            text = value if type(value) is str else _text(value)
            if type(value) is str:
                values.append(text)
            attributes += f' {xml_name}="{text.translate(_ATTRIBUTE_ESCAPES)}"'
            continue
        _element_into(children, values, names, xml_name, value, is_list, nested)
    if children:
        out.append(f"<{tag}{attributes}>{''.join(children)}</{tag}>")
    else:
        out.append(f"<{tag}{attributes}/>")


def record_bytes(record: LdiModel) -> bytes:
    """The record's free-standing ``Record`` element, as lxml would serialise it."""
    written = write_record(record)
    data = record.__dict__
    return written.document(data["message_id"], _text(data["action"]), data["version"])


def content_digest(written: WrittenRecord) -> str:
    """SHA-256 of the record's content: each child as lxml serialises it alone (namespace
    declared on it), the envelope attributes left out; the delta engine's change test."""
    digest = hashlib.sha256()
    for child in written.children:
        cut = child.index(">")
        if child[cut - 1] == "/":
            cut -= 1
        tag_end = child.find(" ", 0, cut)
        at = cut if tag_end < 0 else tag_end
        digest.update((child[:at] + _XMLNS + child[at:]).encode())
    return digest.hexdigest()
