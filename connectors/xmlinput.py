"""Streaming, hardened XML input for the file readers, with reasons a data administrator can use.

Parsing itself is :func:`ldi.safexml.iter_elements` (no DTD, no entities, no network, flat
memory); this module only turns its errors into :class:`~connectors.filereader.BadFile` naming
the file and line, and offers allow-list extraction: a reader names each element it takes, by
path, and nothing else in the document is ever looked at.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

from lxml import etree

from connectors.filereader import BadFile
from ldi.errors import InputError, NotWellFormed, UnsafeXml
from ldi.safexml import iter_elements

#: Where a DOCTYPE must appear, if anywhere: before the root element, near the start.
_PROLOG_BYTES = 64 * 1024


def _problem(exc: InputError) -> str:
    # InputError prefixes ":line:column: " when it has a position and no source name.
    return exc.message.split(": ", 1)[1] if exc.line is not None else exc.message


def _doctype_line(path: Path) -> int | None:
    try:
        with path.open("rb") as stream:
            head = stream.read(_PROLOG_BYTES)
    except OSError:
        return None
    for marker in (b"<!DOCTYPE", b"<!ENTITY"):
        at = head.find(marker)
        if at >= 0:
            return head.count(b"\n", 0, at) + 1
    return None


def stream_elements(path: Path, tag: str, *, origin: str) -> Iterator[etree._Element]:
    """Every ``tag`` element of the file (local name), each cleared once the caller moves on.

    Raises :class:`BadFile` (SRC-UNSAFE-XML or SRC-NOT-WELL-FORMED) with the line. lxml honours
    the encoding declared in the XML prolog; bytes invalid in it are a not-well-formed error.
    """
    early = _doctype_line(path)
    if early is not None:  # refused before the parser sees any of it (defence in depth)
        raise BadFile(
            origin,
            f"line {early}",
            "document declares a DTD; DTDs and entities are refused",
            code="SRC-UNSAFE-XML",
        )
    try:
        with path.open("rb") as stream:
            yield from iter_elements(stream, tag, source="")
    except UnsafeXml as exc:
        line = exc.line or _doctype_line(path)
        where = f"line {line}" if line else None
        raise BadFile(origin, where, _problem(exc), code="SRC-UNSAFE-XML") from exc
    except NotWellFormed as exc:
        where = f"line {max(exc.line or 1, 1)}"
        raise BadFile(origin, where, _problem(exc), code="SRC-NOT-WELL-FORMED") from exc
    except OSError as exc:
        raise BadFile(origin, None, f"cannot read ({exc.strerror})", code="SRC-UNREADABLE") from exc


def local_name(element: etree._Element) -> str:
    """The element's name without namespace (CTF and CIN are read namespace-tolerant)."""
    return etree.QName(element).localname


Index = dict[str, list[etree._Element]]


def index(element: etree._Element) -> Index:
    """The element's child elements by local name (comments and PIs skipped), in order.

    One pass over the children, then dictionary lookups: several times faster than lxml's
    ``find("{*}name")`` per field, which walks the children again for every name.
    """
    out: Index = {}
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag[0] == "{":
            tag = tag[tag.index("}") + 1 :]
        out.setdefault(tag, []).append(child)
    return out


@cache
def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("."))


def first(known: Index, name: str) -> etree._Element | None:
    """The first child called ``name`` in an index, or None."""
    found = known.get(name)
    return found[0] if found else None


def find_all(element: etree._Element, dotted: str) -> list[etree._Element]:
    """Every element at ``dotted`` (``Contacts.Contact``) below ``element``, in document order.

    Intermediate steps take the first element of their name, as a CTF has one container each.
    """
    *steps, last = _parts(dotted)
    node: etree._Element | None = element
    for step in steps:
        found = index(node).get(step) if node is not None else None
        node = found[0] if found else None
    return index(node).get(last, []) if node is not None else []


def find(element: etree._Element | None, dotted: str) -> etree._Element | None:
    """The first element at ``dotted`` (``Header.SourceSchool``) below ``element``, or None."""
    if element is None:
        return None
    found = find_all(element, dotted)
    return found[0] if found else None


def _stripped(node: etree._Element | None) -> str | None:
    if node is None or node.text is None:
        return None
    value = node.text.strip()
    return value or None


def text(element: etree._Element | None, dotted: str = "") -> str | None:
    """Stripped text at ``dotted`` below ``element`` (or of ``element`` itself); None if empty."""
    return _stripped(find(element, dotted) if dotted else element)


def texts(
    element: etree._Element, names: tuple[str, ...], prefix: str = ""
) -> dict[str, str | None]:
    """``{prefix + name: text}`` for each dotted name: every key present, None when absent.

    Each element on the way is indexed once per call, however many names go through it.
    """
    return texts_from(index(element), names, prefix)


def texts_from(known: Index, names: tuple[str, ...], prefix: str = "") -> dict[str, str | None]:
    """:func:`texts` below an element already indexed (a reader that indexes an element once
    and takes several groups of fields from it saves walking its children again).

    Names of one or two steps (all the readers use) take a flat path: the container of a
    two-step name is indexed once for every name below it; deeper names walk step by step.
    """
    below: dict[str, Index | None] = {}
    out: dict[str, str | None] = {}
    for key, parts in _text_plan(names, prefix):
        if len(parts) == 1:
            found = known.get(parts[0])
        elif len(parts) == 2:
            container = parts[0]
            if container in below:
                level = below[container]
            else:
                nodes = known.get(container)
                level = below[container] = index(nodes[0]) if nodes else None
            found = level.get(parts[1]) if level is not None else None
        else:
            found = _deeper(known, parts)
        value = found[0].text if found else None
        if value is not None:
            value = value.strip() or None
        out[key] = value
    return out


@cache
def _text_plan(names: tuple[str, ...], prefix: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((prefix + name, _parts(name)) for name in names)


def _deeper(known: Index, parts: tuple[str, ...]) -> list[etree._Element] | None:
    """The elements at a path of three or more steps (first of each name on the way)."""
    level = known
    for part in parts[:-1]:
        nodes = level.get(part)
        if not nodes:
            return None
        level = index(nodes[0])
    return level.get(parts[-1])


def stray_text_line(element: etree._Element) -> int | None:
    """Line of non-blank text directly inside ``element`` between its children, if any.

    An identifiers block holding loose text has been damaged by the exporting system; what
    the text says is never looked at, only that it is there.
    """
    if element.text and element.text.strip():
        return element.sourceline
    for child in element:
        if child.tail and child.tail.strip():
            return child.sourceline
    return None
