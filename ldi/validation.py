"""Check one SubmissionBatch document: safe parsing, then the XSD, then the rules.

The same steps, in the same order, serve ``cpadapter validate`` and the reference hub's
``SubmitBatch``: one source of truth for what the contract accepts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from lxml import etree

from ldi import NAMESPACE
from ldi.errors import SchemaInvalid
from ldi.models import Breach, SubmissionBatch
from ldi.rules import check_batch, text_problem
from ldi.safexml import DEFAULT_MAX_BYTES, parse_bytes
from ldi.schema import SchemaErrorItem, validate_tree
from ldi.xmlcodec import from_element


@dataclass
class BatchCheck:
    """The verdict on one document: schema errors, or the batch with its breaches per record."""

    record_count: int
    schema_errors: list[SchemaErrorItem] = field(default_factory=list)
    batch: SubmissionBatch | None = None
    breaches: list[list[Breach]] = field(default_factory=list)

    @property
    def schema_valid(self) -> bool:
        return not self.schema_errors

    @property
    def held(self) -> int:
        if not self.schema_valid:
            return self.record_count
        return sum(1 for b in self.breaches if b)


def _all_nfc(root: etree._Element, data: bytes | None = None) -> bool:
    """True only if every value :func:`_nfc_errors` looks at is NFC (False: walk them all).

    A substring of NFC text is NFC (normalisation works per starter-led run, and a run cut
    short by a substring boundary composes no differently). So when the parsed bytes are at
    hand, are UTF-8 and hold no reference (``&``: a value may then differ from its bytes), one
    check of the whole document covers every text and attribute value in it. Otherwise element
    text is checked concatenated (in C), and attribute values joined with a newline, which
    never composes or reorders with anything. Comments and processing instructions (whose text
    and pseudo-attributes the walk also checks) are rare: their presence sends the document
    down the walk.
    """
    if next(root.iter(etree.Comment, etree.ProcessingInstruction), None) is not None:
        return False
    is_nfc = unicodedata.is_normalized
    if data is not None and b"&" not in data and _is_utf8(root):
        return data.isascii() or is_nfc("NFC", data.decode("utf-8"))
    text = etree.tostring(root, method="text", encoding=str)
    if not (text.isascii() or is_nfc("NFC", text)):
        return False
    attributes = "\n".join(root.xpath("descendant-or-self::*/@*"))
    return attributes.isascii() or is_nfc("NFC", attributes)


def _is_utf8(root: etree._Element) -> bool:
    """Whether the document was read as UTF-8 (as declared, or by default)."""
    encoding = root.getroottree().docinfo.encoding or "UTF-8"
    return encoding.upper().replace("-", "") in ("UTF8", "ASCII", "USASCII")


def _nfc_errors(root: etree._Element, data: bytes | None = None) -> list[SchemaErrorItem]:
    """LDI-MSG-02 for what the XSD cannot see: text that is not NFC (values never quoted)."""
    return [] if _all_nfc(root, data) else _nfc_walk(root)


def _nfc_walk(root: etree._Element) -> list[SchemaErrorItem]:
    """:func:`_nfc_errors` value by value: the slow path, which says where each problem is."""
    errors = []
    is_nfc = unicodedata.is_normalized
    for element in root.iter():
        for value in (element.text, *element.attrib.values()):
            # NFC is checked first (fast, in C); the full text rule only runs on a suspect value.
            if not value or is_nfc("NFC", value):
                continue
            if value.strip() and text_problem(value.strip()) == "text is not Unicode NFC":
                errors.append(
                    SchemaErrorItem(
                        line=element.sourceline or 0,
                        column=0,
                        message=f"{_node_name(element)}: text is not Unicode NFC (LDI-MSG-02)",
                    )
                )
    return errors


def _node_name(node: etree._Element) -> str:
    """How an error names the node: ``Element 'GivenName'``, a comment, or a processing
    instruction (whose tag is a function, not a name: ``QName`` of it raises)."""
    if isinstance(node, etree._Comment):
        return "Comment"
    if isinstance(node, etree._ProcessingInstruction):
        return f"Processing instruction '{node.target}'"
    return f"Element '{etree.QName(node).localname}'"


_RECORD = "{" + NAMESPACE + "}Record"
_ELEMENT_NAME = re.compile(r"Element '([^']+)'")


def _with_columns(data: bytes, errors: list[SchemaErrorItem]) -> list[SchemaErrorItem]:
    """libxml2 gives no column for XSD errors: use the element's start tag on that line."""
    lines = data.splitlines()
    located = []
    for error in errors:
        column = error.column
        match = _ELEMENT_NAME.search(error.message)
        if column <= 0 and match and 0 < error.line <= len(lines):
            text = lines[error.line - 1].decode("utf-8", "replace")
            found = re.search(r"<(?:[\w.-]+:)?" + re.escape(match.group(1)) + r"[\s/>]", text)
            column = found.start() + 1 if found else 1
        located.append(SchemaErrorItem(error.line, max(column, 1), error.message))
    return located


def check_document(
    data: bytes, *, source: str = "<input>", max_bytes: int = DEFAULT_MAX_BYTES
) -> BatchCheck:
    """Parse (refusing unsafe XML, raising InputError), validate, then apply BR-01 … BR-08."""
    tree = parse_bytes(data, source=source, max_bytes=max_bytes)
    return check_element(tree.getroot(), data)


def count_records(root: etree._Element) -> int:
    """Number of ``Record`` children of a ``SubmissionBatch`` element (size limits, LDI-TRN-04)."""
    return sum(1 for _ in root.iterchildren(_RECORD))


def check_element(root: etree._Element, data: bytes | None = None) -> BatchCheck:
    """Validate an already-parsed ``SubmissionBatch`` element, then apply BR-01 … BR-08.

    The same steps as :func:`check_document`, for a caller that parsed the document itself
    (the hub finds the batch inside a SOAP envelope). ``data`` is the parsed bytes, used only to
    locate error columns; line numbers are those of the enclosing document.
    """
    count = count_records(root)
    errors = schema_errors(root, data)
    if errors:
        return BatchCheck(record_count=count, schema_errors=errors)
    return check_validated(root, count)


def schema_errors(root: etree._Element, data: bytes | None = None) -> list[SchemaErrorItem]:
    """The XSD, then LDI-MSG-02's NFC rule: every error with line and column, values redacted.

    The first half of :func:`check_element`, for a caller that must answer schema errors at
    once but may build the models later (the hub accepts a batch, then processes it).
    """
    errors = validate_tree(root if root.getparent() is not None else root.getroottree())
    if not errors:
        errors = _nfc_errors(root, data)
    if errors and data is not None:
        return _with_columns(data, errors)
    return errors


def check_validated(root: etree._Element, count: int | None = None) -> BatchCheck:
    """Models and BR-01 … BR-08 for an element that :func:`schema_errors` found valid.

    The XSD and the NFC check already enforced LDI-MSG-01/02/03 on every value, so the rules
    run without their per-value text checks (see :func:`ldi.rules.check_record`).
    """
    records = count if count is not None else count_records(root)
    try:
        batch = from_element(root, SubmissionBatch)
    except SchemaInvalid as exc:  # the XSD passed, so this is a gap between XSD and models
        return BatchCheck(
            record_count=records,
            schema_errors=[SchemaErrorItem(exc.line or 0, exc.column or 0, exc.message)],
        )
    return BatchCheck(
        record_count=records, batch=batch, breaches=check_batch(batch, text_rules=False)
    )
