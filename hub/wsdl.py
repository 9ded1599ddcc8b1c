"""The WSDL and XSD as the hub serves them: pointing at the hub's own URL (LDI-TRN-01).

The shipped WSDL imports ``ldi-v1.xsd`` by a relative location and names a placeholder address.
Served from ``https://HOST:PORT/ldi/v1?wsdl``, a relative location would resolve to
``/ldi/ldi-v1.xsd``, which does not exist; so the import is rewritten to the absolute
``…/ldi/v1?xsd=ldi-v1.xsd`` and ``soap:address`` to ``…/ldi/v1``. A client such as zeep then
loads both documents from the hub over the same mutual-TLS session. Both are rewritten once per
base URL and kept.
"""

from __future__ import annotations

from functools import cache

from lxml import etree

from ldi.safexml import parse_bytes
from ldi.schema import wsdl_path, xsd_path

SERVICE_PATH = "/ldi/v1"
XSD_NAME = "ldi-v1.xsd"
_WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
_XS = "http://www.w3.org/2001/XMLSchema"


@cache
def wsdl_document(base_url: str) -> bytes:
    """The WSDL with its service address and schema import pointing at ``base_url``."""
    tree = parse_bytes(wsdl_path().read_bytes(), source=str(wsdl_path()))
    for address in tree.iter(f"{{{_WSDL_SOAP}}}address"):
        address.set("location", base_url + SERVICE_PATH)
    for imported in tree.iter(f"{{{_XS}}}import"):
        if imported.get("schemaLocation") == XSD_NAME:
            imported.set("schemaLocation", f"{base_url}{SERVICE_PATH}?xsd={XSD_NAME}")
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


@cache
def xsd_document() -> bytes:
    """The XSD exactly as shipped (it imports nothing, so nothing needs rewriting)."""
    return xsd_path().read_bytes()
