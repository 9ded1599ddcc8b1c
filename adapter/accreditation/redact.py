"""Redaction of captured SOAP exchanges for the evidence pack (no personal data leaves the run).

An allow-list, like the product's logging: element names are kept, and the text of only those
elements and attributes that carry protocol facts (ids of batches and messages, codes, statuses,
counts, rule ids) is kept. Every other text node (names, addresses, identifiers such as NHS
numbers and ContactPoint ids, dates of birth) becomes ``[redacted]``.
"""

from __future__ import annotations

from lxml import etree

from ldi.errors import InputError
from ldi.safexml import parse_bytes

REDACTED = "[redacted]"

KEEP_TEXT = frozenset(
    {"Code", "Rule", "Path", "RetryAfterSeconds", "Line", "Column", "CandidateCount", "Status"}
)
KEEP_ATTRIBUTES = frozenset(
    {
        "messageId",
        "batchId",
        "action",
        "version",
        "status",
        "schemaVersion",
        "accountableBody",
        "sourceSystem",
        "createdAt",
        "receivedAt",
        "recordCount",
    }
)


def redact_xml(data: bytes) -> bytes:
    """``data`` with every non-allow-listed text and attribute value replaced."""
    try:
        root = parse_bytes(data, source="exchange").getroot()
    except InputError:
        return REDACTED.encode()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element).localname
        if element.text and element.text.strip() and name not in KEEP_TEXT:
            element.text = REDACTED
        for attribute in list(element.attrib):
            if etree.QName(attribute).localname not in KEEP_ATTRIBUTES:
                element.attrib[attribute] = REDACTED
        if element.tail and element.tail.strip():
            element.tail = REDACTED
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True)
