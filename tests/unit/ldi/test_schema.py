"""The shipped XSD: closed content, every optional element, patterns, redacted messages."""

from __future__ import annotations

from lxml import etree

from ldi import NAMESPACE
from ldi.schema import redact_message, validate_tree, wsdl_path, xsd_path

XS = "{http://www.w3.org/2001/XMLSchema}"


def _record_elements() -> set[str]:
    """Every element name declared inside the record's complex types, from the XSD itself."""
    schema = etree.parse(str(xsd_path()))
    names = set()
    receipt_side = {"BatchReceipt", "BatchOutcomeRequest", "BatchOutcome", "FaultDetail"}
    outcome_types = {"Breach", "RecordOutcome"}
    for ctype in schema.iter(XS + "complexType"):
        if ctype.get("name") in outcome_types:
            continue
        parent = ctype.getparent()
        if parent is not None and parent.get("name") in receipt_side:
            continue
        for element in ctype.iter(XS + "element"):
            names.add(element.get("name"))
    return names


def test_golden_batch_fills_every_element_the_schema_defines(golden_bytes: bytes) -> None:
    """Every element declared for a record appears in the golden batch (TA-SCH-02)."""
    present = {etree.QName(e).localname for e in etree.fromstring(golden_bytes).iter()}
    missing = _record_elements() - present
    assert missing == set()


def test_case_note_element_is_a_schema_error(golden_bytes: bytes) -> None:
    """A record with an element the spec does not define (a case note) fails the XSD."""
    data = golden_bytes.replace(b"<CAF>", b"<CaseNote>Referred for neglect</CaseNote><CAF>", 1)
    errors = validate_tree(etree.fromstring(data))
    assert errors and "CaseNote" in errors[0].message


def test_wrong_namespace_is_a_schema_error(golden_bytes: bytes) -> None:
    """A batch in another namespace is not an LDI document."""
    data = golden_bytes.replace(NAMESPACE.encode(), b"urn:example:other")
    assert validate_tree(etree.fromstring(data))


def test_schema_messages_never_quote_the_value(golden_bytes: bytes) -> None:
    """An invalid name is reported by element and facet without echoing the name itself."""
    data = golden_bytes.replace(
        b"<FamilyName>Smith-Jones</FamilyName>", b"<FamilyName>Sm1th</FamilyName>", 1
    )
    errors = validate_tree(etree.fromstring(data))
    assert errors
    assert all("Sm1th" not in e.message for e in errors)
    assert "FamilyName" in errors[0].message


def test_redaction_handles_quotes_inside_values() -> None:
    """A value containing an apostrophe is still removed from the message."""
    message = (
        "Element '{urn:contactpoint:ldi:1}GivenName': [facet 'maxLength'] The value "
        "'O'Brien-Smythe-Featherstonehaugh-Cholmondeley' has a length of '44'; this exceeds "
        "the allowed maximum length of '35'."
    )
    redacted = redact_message(message)
    assert "Brien" not in redacted and "maximum length of '35'" in redacted


def test_text_with_surrounding_space_or_control_character_fails(golden_bytes: bytes) -> None:
    """LDI-MSG-02 shapes the XSD can see: no leading/trailing space, no control characters."""
    for bad in (b" Lenton Primary School", b"Lenton\x0bPrimary"):
        data = golden_bytes.replace(b"Lenton Primary School", bad, 1)
        try:
            tree = etree.fromstring(data)
        except etree.XMLSyntaxError:
            continue  # a control character is already not well-formed XML: also refused
        assert validate_tree(tree), bad


def test_wsdl_declares_both_operations() -> None:
    """The WSDL offers SubmitBatch and GetBatchOutcome with a FaultDetail fault (LDI-TRN-01/05)."""
    wsdl = etree.parse(str(wsdl_path()))
    ops = {op.get("name") for op in wsdl.iter("{http://schemas.xmlsoap.org/wsdl/}operation")}
    assert ops == {"SubmitBatch", "GetBatchOutcome"}
    assert b"ldi:FaultDetail" in etree.tostring(wsdl)
