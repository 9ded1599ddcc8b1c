"""The LDI 1.0 XSD and WSDL as package data, and validation that never echoes personal data.

libxml2's validation messages quote the offending value ("The value 'J0hn' is not accepted…"),
and a value in an LDI document may be a child's name, so every message is rewritten to drop
quoted values before it goes anywhere (TA-SEC-01). Element names and facets are kept.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from lxml import etree

from ldi import NAMESPACE

_SCHEMA_DIR = resources.files("ldi") / "schema"
_local = threading.local()


def xsd_path() -> Path:
    """Filesystem path of the shipped XSD (package data)."""
    return Path(str(_SCHEMA_DIR / "ldi-v1.xsd"))


def wsdl_path() -> Path:
    """Filesystem path of the shipped WSDL, which imports the XSD beside it."""
    return Path(str(_SCHEMA_DIR / "ldi-v1.wsdl"))


def get_schema() -> etree.XMLSchema:
    """The compiled XSD, one per thread (lxml schema objects must not be shared across threads)."""
    schema: etree.XMLSchema | None = getattr(_local, "schema", None)
    if schema is None:
        schema = etree.XMLSchema(etree.parse(str(xsd_path())))
        _local.schema = schema
    return schema


@dataclass(frozen=True, slots=True)
class SchemaErrorItem:
    line: int
    column: int
    message: str


_VALUE_PATTERNS = (
    (re.compile(r"The value '.*?' (?=(is|has) )", re.DOTALL), "The value "),
    (re.compile(r": '.*?' is not a valid value", re.DOTALL), ": the value is not a valid value"),
    (
        re.compile(r"\[facet 'enumeration'\] The value .*", re.DOTALL),
        "[facet 'enumeration'] the value is not in the code list.",
    ),
)


def redact_message(message: str) -> str:
    """Drop quoted values from a libxml2 message; keep element names, facets and limits."""
    text = message.replace("{" + NAMESPACE + "}", "")
    for pattern, replacement in _VALUE_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def validate_tree(tree: etree._ElementTree | etree._Element) -> list[SchemaErrorItem]:
    """Every XSD error of a document, with line and column, values redacted."""
    schema = get_schema()
    if schema.validate(tree):
        return []
    return [
        SchemaErrorItem(line=e.line, column=e.column, message=redact_message(e.message))
        for e in schema.error_log
    ]
