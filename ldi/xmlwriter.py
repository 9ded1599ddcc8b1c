"""Records as XML text, written directly: the bytes lxml would give, without building a tree.

The adapter's hot path serialises every record it queues. Building an lxml element per value
and then serialising the tree costs several times what writing the same text costs, so the
pipeline writes records here and hands lxml only the finished text, once per chunk, for the XSD.
:func:`record_bytes` equals ``etree.tostring(to_element(record, "Record"), encoding="UTF-8")``
byte for byte (a property test holds the two together): the same element order (the models'
field order, which is the XSD's), the same escaping as libxml2 (text: ``& < >`` and CR;
attributes: also ``"``, TAB, LF), ``<Tag></Tag>`` for an empty string, and the same refusal of
characters XML cannot hold (``ValueError``, as lxml raises). Each model is written by a
function generated once from its fields (:func:`_writer`): a generic walk over the fields spent
a third of the writing time deciding, per value, what the field was.

A :class:`WrittenRecord` keeps the record's top-level children apart, because the delta engine
hashes them without the envelope attributes (:func:`content_digest`, equal to hashing each child
element serialised on its own by lxml, which declares the namespace on it), and every text
value, for the gate's text checks without a second walk over the record.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Any

from ldi import NAMESPACE
from ldi.generated import define_function
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
    _writer(type(record), True)(record, children, values, names, "", "")
    if _NOT_XML.search("\x09".join(values)):
        raise ValueError(
            "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control "
            "characters"
        )
    data = record.__dict__
    for name in _attribute_fields(type(record)):
        value = data[name]
        if type(value) is str:
            values.append(value)
    return WrittenRecord(tuple(children), tuple(values), tuple(names))


#: ``write(model, out, values, names, open, close)``: appends the model's element to ``out``
#: (``open``: ``"<Tag"``, ``close``: ``"</Tag>"``) and its str values to ``values`` (and to
#: ``names`` for the name elements). The top-level writer appends each child to ``out`` instead.
_Writer = Callable[[LdiModel, list[str], list[str], list[str], str, str], None]


def _wire_form(kind: Any, bind: Callable[[str, Any], str]) -> str:
    """The expression giving the wire text of a non-string ``v`` of a field of type ``kind``.

    The field's type is known here, so the common cases skip :func:`_text`'s tests; a value
    of any other type (a model built without validation) still goes through it.
    """
    if kind is bool:
        return "('true' if v is True else 'false' if v is False else text(v))"
    if isinstance(kind, type) and issubclass(kind, Enum):
        table = bind("n", {member: str(member.value) for member in kind})
        return f"({table}.get(v) or text(v))"
    if kind is date:
        return "(v.isoformat() if v.__class__ is date else text(v))"
    return "text(v)"


@cache
def _attribute_fields(model: type[LdiModel]) -> tuple[str, ...]:
    return tuple(
        name
        for name, info in model.model_fields.items()
        if any(isinstance(m, XmlAttribute) for m in info.metadata)
    )


@cache
def _writer(model: type[LdiModel], top: bool) -> _Writer:
    """One generated function writing ``model`` (:mod:`ldi.generated`): the fields in order.

    Attributes first (in field order), then each element: a nested model through its own
    writer, a string escaped (and collected for the text rules), anything else in its wire
    form (:func:`_text`). ``top``: the ``Record`` itself, whose envelope attributes are the
    delta engine's and whose children are kept apart.
    """
    namespace: dict[str, Any] = {
        "escape": _escape_text,
        "text": _text,
        "ESC": _ATTRIBUTE_ESCAPES,
        "date": date,
    }
    body = ["    d = m.__dict__"]
    if not top:
        body += ["    a = ''", "    c = []"]
    children = "out" if top else "c"

    def bind(prefix: str, value: Any) -> str:
        name = f"{prefix}{len(namespace)}"
        namespace[name] = value
        return name

    for name, info in model.model_fields.items():
        inner, is_list, _ = field_shape(info.annotation)
        nested = inner if isinstance(inner, type) and issubclass(inner, LdiModel) else None
        xml_name = info.alias or name
        is_attribute = any(isinstance(m, XmlAttribute) for m in info.metadata)
        if is_attribute and top:
            continue
        body.append(f"    v = d[{bind('k', name)}]")
        if is_attribute:
            start = bind("s", f' {xml_name}="')
            body += [
                "    if v is not None:",
                "        if v.__class__ is str:",
                "            values.append(v)",
                f"            a += {start} + v.translate(ESC) + '\"'",
                "        else:",
                f"            a += {start} + text(v).translate(ESC) + '\"'",
            ]
            continue
        body.append("    if v is not None:")
        depth = "        "
        if is_list:
            body.append("        for v in v:")
            depth += "    "
        if nested is not None:
            write = bind("w", _writer(nested, False))
            tags = bind("o", f"<{xml_name}"), bind("e", f"</{xml_name}>")
            body.append(f"{depth}{write}(v, {children}, values, names, {tags[0]}, {tags[1]})")
            continue
        opening, closing = bind("o", f"<{xml_name}>"), bind("e", f"</{xml_name}>")
        body += [
            f"{depth}if v.__class__ is str:",
            f"{depth}    values.append(v)",
            *([f"{depth}    names.append(v)"] if xml_name in _NAME_TAGS else []),
            f"{depth}    {children}.append({opening} + escape(v) + {closing})",
            f"{depth}else:",
            f"{depth}    {children}.append({opening} + {_wire_form(inner, bind)} + {closing})",
        ]
    if not top:
        body += [
            "    if c:",
            "        out.append(open + a + '>' + ''.join(c) + close)",
            "    else:",
            "        out.append(open + a + '/>')",
        ]
    function: _Writer = define_function(
        f"write_{model.__name__}", "m, out, values, names, open, close", body, namespace
    )
    return function


def record_bytes(record: LdiModel) -> bytes:
    """The record's free-standing ``Record`` element, as lxml would serialise it."""
    written = write_record(record)
    data = record.__dict__
    return written.document(data["message_id"], _text(data["action"]), data["version"])


def content_digest(written: WrittenRecord) -> str:
    """SHA-256 of the record's content: each child as lxml serialises it alone (namespace
    declared on it), the envelope attributes left out; the delta engine's change test.

    Hashing the concatenation once equals feeding the children one by one (SHA-256 is a
    stream), and costs one encode and one update instead of one per child.
    """
    parts: list[str] = []
    for child in written.children:
        cut = child.index(">")
        if child[cut - 1] == "/":
            cut -= 1
        tag_end = child.find(" ", 0, cut)
        at = cut if tag_end < 0 else tag_end
        parts += (child[:at], _XMLNS, child[at:])
    return hashlib.sha256("".join(parts).encode()).hexdigest()
