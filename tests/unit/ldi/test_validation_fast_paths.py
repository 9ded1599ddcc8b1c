"""The NFC check's fast path gives exactly the answer of the value-by-value walk."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ldi import NAMESPACE
from ldi.schema import SchemaErrorItem
from ldi.validation import _all_nfc, _nfc_errors, _nfc_walk, check_document

# Letters, marks that compose (or not) with them, Hangul jamo, a composition exclusion, the
# markup characters that compose with U+0338, and white space: the cases NFC turns on.
_ALPHABET = [
    "a",
    "e",
    "A",
    "<",
    ">",
    "=",
    " ",
    "\n",
    "\u00e9",  # é, precomposed
    "\u00e8",  # è
    "\u1ea1",  # ạ
    "\u0301",  # combining acute (ccc 230)
    "\u0300",  # combining grave (ccc 230)
    "\u0323",  # combining dot below (ccc 220)
    "\u0331",  # combining macron below (ccc 220)
    "\u0338",  # combining long solidus overlay: < + it is ≮
    "\u1100",  # Hangul L
    "\u1161",  # Hangul V
    "\u11a8",  # Hangul T
    "\uac00",  # 가 (LV)
    "\u0958",  # a composition exclusion: never NFC
    "\u0344",  # a non-starter decomposition: never NFC
    "\u2260",  # ≠
]
_TEXT = st.lists(st.sampled_from(_ALPHABET), max_size=6).map("".join)
# Without the characters lxml writes as references, so that the bytes hold every value as is.
_UNESCAPED_TEXT = st.lists(
    st.sampled_from([c for c in _ALPHABET if c not in "<>"]), max_size=6
).map("".join)


@st.composite
def _trees(draw: st.DrawFn, text: st.SearchStrategy[str] = _TEXT) -> etree._Element:
    root = etree.Element("{" + NAMESPACE + "}Root")
    elements = [root]
    for i in range(draw(st.integers(1, 6))):
        parent = elements[draw(st.integers(0, len(elements) - 1))]
        kind = draw(st.sampled_from(["element", "element", "comment", "pi"]))
        if kind == "comment":
            node = etree.Comment(draw(text).replace("-", "") or "c")
            parent.append(node)
        elif kind == "pi":
            node = etree.ProcessingInstruction("pi", f"v='{draw(text)}'")
            parent.append(node)
        else:
            node = etree.SubElement(parent, f"E{i}")
            node.text = draw(text) or None
            if draw(st.booleans()):
                node.set("a", draw(text))
            elements.append(node)
        node.tail = draw(text) or None
    root.text = draw(text) or None
    return root


def _outcome(
    check: Callable[[etree._Element], list[SchemaErrorItem]], root: etree._Element
) -> object:
    """The errors (or the exception's type, which no check may raise any more)."""
    try:
        return check(root)
    except ValueError as exc:
        return type(exc)


@settings(max_examples=600, deadline=None)
@given(_trees())
def test_fast_path_agrees_with_the_walk(root: etree._Element) -> None:
    """On trees built from NFC's hard cases, _nfc_errors equals the value-by-value walk."""
    reparsed = etree.fromstring(etree.tostring(root))  # with source lines, as the hub has
    for tree in (root, reparsed):
        assert _outcome(_nfc_errors, tree) == _outcome(_nfc_walk, tree)
        if _all_nfc(tree):
            values = [v for e in tree.iter() for v in (e.text, *e.attrib.values()) if v]
            assert all(unicodedata.is_normalized("NFC", v) for v in values)


@settings(max_examples=600, deadline=None)
@given(_trees(_UNESCAPED_TEXT) | _trees())
def test_whole_document_check_agrees_with_the_walk(root: etree._Element) -> None:
    """Given the parsed bytes (one check of the whole document), _nfc_errors equals the walk."""
    data = etree.tostring(root, encoding="UTF-8", xml_declaration=True)
    reparsed = etree.fromstring(data)

    def with_bytes(tree: etree._Element) -> list[SchemaErrorItem]:
        return _nfc_errors(tree, data)

    assert _outcome(with_bytes, reparsed) == _outcome(_nfc_walk, reparsed)


def test_whole_document_check_is_not_fooled_by_references_or_other_encodings() -> None:
    """A decomposed é written as a character reference, or in ASCII-looking UTF-16, is found."""
    as_reference = b"<a>e&#x301;</a>"
    declaration = '<?xml version="1.0" encoding="UTF-16LE"?>'
    as_utf16 = (declaration + "<a>e\u0301</a>").encode("utf-16-le")
    assert as_utf16.isascii()  # every byte < 0x80, yet the text is not NFC
    for data in (as_reference, as_utf16):
        root = etree.fromstring(data)
        assert [e.message for e in _nfc_errors(root, data)] == [
            "Element 'a': text is not Unicode NFC (LDI-MSG-02)"
        ]


def _batch_with(given_name: str) -> bytes:
    name = given_name.encode("utf-8")
    return (
        b'<SubmissionBatch xmlns="' + NAMESPACE.encode() + b'" batchId="b" accountableBody="891"'
        b' sourceSystem="S" createdAt="2026-01-01T00:00:00+00:00" schemaVersion="1.0">'
        b'<Record messageId="m" action="Upsert" version="1"><SourceRecordId>1</SourceRecordId>'
        b"<Child><Name><GivenName>" + name + b"</GivenName><FamilyName>X</FamilyName></Name>"
        b"</Child></Record></SubmissionBatch>"
    )


def test_non_nfc_text_is_still_reported_with_its_line() -> None:
    """A decomposed name (e + U+0301) is reported as before; an NFC one (é) is not."""
    root = etree.fromstring(_batch_with("Zoe\u0301"))
    assert not _all_nfc(root)
    errors = _nfc_errors(root)
    assert [(e.line, e.message) for e in errors] == [
        (1, "Element 'GivenName': text is not Unicode NFC (LDI-MSG-02)")
    ]
    assert errors == _nfc_walk(root)
    nfc = etree.fromstring(_batch_with("Zo\u00e9"))
    assert _all_nfc(nfc) and _nfc_errors(nfc) == [] == _nfc_walk(nfc)


def test_character_reference_in_ascii_bytes_is_still_checked() -> None:
    """Pure-ASCII bytes can still carry a non-NFC value through a character reference."""
    data = _batch_with("Zoe&#769;")
    assert data.isascii()
    errors = _nfc_errors(etree.fromstring(data))
    assert [e.message for e in errors] == [
        "Element 'GivenName': text is not Unicode NFC (LDI-MSG-02)"
    ]


def test_non_nfc_attribute_and_comment_are_still_reported() -> None:
    """A non-NFC attribute value is reported; with a comment present the walk still runs."""
    data = _batch_with("Zoe").replace(b'batchId="b"', 'batchId="e\u0301"'.encode())
    assert [e.message for e in _nfc_errors(etree.fromstring(data))] == [
        "Element 'SubmissionBatch': text is not Unicode NFC (LDI-MSG-02)"
    ]
    commented = _batch_with("Zoe\u0301").replace(b"<Child>", "<!--\u00e9--><Child>".encode())
    root = etree.fromstring(commented)
    assert not _all_nfc(root)  # any comment: the walk decides
    assert [e.message for e in _nfc_errors(root)] == [
        "Element 'GivenName': text is not Unicode NFC (LDI-MSG-02)"
    ]


def test_check_document_reports_non_nfc_name_unchanged(golden_bytes: bytes) -> None:
    """check_document still fails the golden batch once a name is decomposed (LDI-MSG-02)."""
    assert check_document(golden_bytes).schema_valid
    data = golden_bytes.replace(b"<GivenName>Millie<", "<GivenName>Mill\u0069\u0301e<".encode())
    check = check_document(data)
    assert [(e.line, e.message) for e in check.schema_errors] == [
        (17, "Element 'GivenName': text is not Unicode NFC (LDI-MSG-02)")
    ]


def test_non_nfc_comment_or_instruction_is_reported_not_raised(golden_bytes: bytes) -> None:
    """Non-NFC text in a comment or processing instruction is a LDI-MSG-02 error, not a crash."""
    commented = _batch_with("Zoe").replace(b"<Child>", "<!--e\u0301--><Child>".encode())
    errors = _nfc_errors(etree.fromstring(commented))
    assert [e.message for e in errors] == ["Comment: text is not Unicode NFC (LDI-MSG-02)"]
    instructed = _batch_with("Zoe").replace(b"<Child>", "<?note e\u0301?><Child>".encode())
    errors = _nfc_errors(etree.fromstring(instructed))
    assert [e.message for e in errors] == [
        "Processing instruction 'note': text is not Unicode NFC (LDI-MSG-02)"
    ]
    golden = golden_bytes.replace(b"<Record ", "<!--e\u0301--><Record ".encode(), 1)
    assert golden != golden_bytes
    check = check_document(golden)  # an otherwise valid batch: that is its only error
    assert [e.message for e in check.schema_errors] == [
        "Comment: text is not Unicode NFC (LDI-MSG-02)"
    ]
