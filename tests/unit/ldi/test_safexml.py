"""Hardened XML parsing (TA-SEC-03): no DTD, no entities, no network, size limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from ldi.errors import NotWellFormed, UnreadableInput, UnsafeXml
from ldi.safexml import iter_elements, parse_bytes, parse_file

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>
<r>&x;</r>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>"""


@pytest.mark.parametrize(
    "doc", [XXE, LAUGHS, b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/x.dtd"><r/>']
)
def test_documents_with_a_dtd_are_refused(doc: bytes) -> None:
    """External entities, entity expansion and external DTDs are all refused as UNSAFE_XML."""
    with pytest.raises(UnsafeXml) as caught:
        parse_bytes(doc, source="in.xml")
    assert caught.value.code == "UNSAFE_XML"
    assert "in.xml" in str(caught.value)


def test_dtd_behind_a_bom_and_comment_is_refused() -> None:
    """A DOCTYPE hidden after a byte-order mark and a comment is still found."""
    with pytest.raises(UnsafeXml):
        parse_bytes(b"\xef\xbb\xbf<!-- hi -->\n" + XXE.split(b"\n", 1)[1])


def test_oversize_document_is_refused_before_parsing() -> None:
    """A document over the size limit is refused without being parsed (LDI-TRN-04: 5 MiB)."""
    with pytest.raises(UnsafeXml, match="over the limit"):
        parse_bytes(b"<r>" + b"x" * 100 + b"</r>", max_bytes=50)


def test_not_well_formed_gives_line_and_column() -> None:
    """A syntax error is NOT_WELL_FORMED with the line and column of the problem."""
    with pytest.raises(NotWellFormed) as caught:
        parse_bytes(b"<r>\n  <a></b>\n</r>", source="bad.xml")
    assert caught.value.line == 2
    assert caught.value.column is not None
    assert str(caught.value).startswith("[NOT_WELL_FORMED] bad.xml:2:")


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    """A missing file is UNREADABLE naming the path."""
    with pytest.raises(UnreadableInput, match=r"nope\.xml"):
        parse_file(tmp_path / "nope.xml")


def test_streaming_yields_each_element_and_keeps_memory_flat(tmp_path: Path) -> None:
    """iter_elements yields every element and clears processed siblings as it goes."""
    path = tmp_path / "big.xml"
    path.write_bytes(
        b"<root>" + b"".join(b"<c><v>%d</v></c>" % i for i in range(2000)) + b"</root>"
    )
    seen = 0
    for element in iter_elements(path, "c"):
        assert element.findtext("v") == str(seen)
        earlier = list(element.itersiblings(preceding=True))
        assert len(earlier) <= 1  # siblings already handed out were dropped
        seen += 1
    assert seen == 2000


def test_streaming_refuses_a_dtd(tmp_path: Path) -> None:
    """The streaming reader refuses a DTD before yielding anything."""
    path = tmp_path / "x.xml"
    path.write_bytes(XXE)
    with pytest.raises(UnsafeXml):
        next(iter_elements(path, "r", source="x.xml"))


def test_streaming_refuses_a_dtd_even_without_a_matching_element(tmp_path: Path) -> None:
    """A DTD document holding none of the wanted elements is still refused, not read as empty."""
    path = tmp_path / "x.xml"
    path.write_bytes(XXE)
    with pytest.raises(UnsafeXml):
        list(iter_elements(path, "Pupil", source="x.xml"))


def test_streaming_matches_the_local_name_in_any_namespace(tmp_path: Path) -> None:
    """Elements are matched by local name with or without a namespace; others are not yielded."""
    path = tmp_path / "ns.xml"
    path.write_bytes(b'<r xmlns="urn:a"><c/><x:c xmlns:x="urn:b"/><c xmlns=""/><cc/></r>')
    assert [e.tag for e in iter_elements(path, "c")] == ["{urn:a}c", "{urn:b}c", "c"]
