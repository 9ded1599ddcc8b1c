"""The one exception hierarchy of ContactPoint Adapter.

Every error carries a ``code`` (an LDI fault code, a rule id such as ``TA-SEC-03`` or an
adapter error code such as ``CFG-INVALID``) so that logs, reports and accreditation evidence
can quote it. Messages never contain personal data: they name files, records (by id), fields
and rules, never values taken from a child's record.

    ContactPointError                    root; ``code``
    ├── ConfigError                      config.yaml / mapping files unusable (CFG-*)
    ├── InputError                       a file or document we were given cannot be used
    │   ├── UnreadableInput              UNREADABLE: missing, unreadable, wrong encoding
    │   ├── NotWellFormed                NOT_WELL_FORMED: not XML (line/column given)
    │   ├── UnsafeXml                    UNSAFE_XML: DTD, entity or over limits (TA-SEC-03)
    │   └── SchemaInvalid                SCHEMA_INVALID: fails the LDI XSD (line/column)
    ├── SourceError                      a connector could not read its source (SRC-*)
    │   └── QuarantinedInput             one file/unit set aside with a reason; others go on
    ├── MappingError                     a source record cannot be mapped (MAP-*)
    ├── StoreError                       the adapter's own database (STORE-*)
    ├── DeliveryError                    talking to the hub failed
    │   ├── TransientDeliveryError       retry later (UNAVAILABLE, THROTTLED, time-out, reset)
    │   └── PermanentDeliveryError       park, never retry (SCHEMA_INVALID, UNAUTHORISED, …)
    └── HubError                         the reference hub refuses a request (carries a fault code)

Sub-packages add leaves under these branches; they never root a second hierarchy.
"""

from __future__ import annotations


class ContactPointError(Exception):
    """Root of every error raised on purpose by this product."""

    code: str = "CP-ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class ConfigError(ContactPointError):
    """Configuration cannot be used; ``location`` is a YAML path with line when known."""

    code = "CFG-INVALID"

    def __init__(self, message: str, *, location: str = "", code: str | None = None) -> None:
        super().__init__(f"{location}: {message}" if location else message, code=code)
        self.location = location


class InputError(ContactPointError):
    """A document or file handed to us is unusable as a whole."""

    code = "UNREADABLE"

    def __init__(
        self,
        message: str,
        *,
        source: str = "",
        line: int | None = None,
        column: int | None = None,
        code: str | None = None,
    ) -> None:
        where = source
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        super().__init__(f"{where}: {message}" if where else message, code=code)
        self.source = source
        self.line = line
        self.column = column


class UnreadableInput(InputError):
    """The input cannot be read at all (missing, permissions, undecodable)."""

    code = "UNREADABLE"


class NotWellFormed(InputError):
    """The input is not well-formed XML."""

    code = "NOT_WELL_FORMED"


class UnsafeXml(InputError):
    """The XML declares a DTD or entities, or exceeds a size limit (TA-SEC-03)."""

    code = "UNSAFE_XML"


class SchemaInvalid(InputError):
    """The document does not validate against the LDI 1.0 XSD (LDI-MSG-01)."""

    code = "SCHEMA_INVALID"


class SourceError(ContactPointError):
    """A connector cannot read its source (connection, authentication, host key, …)."""

    code = "SRC-ERROR"

    def __init__(self, message: str, *, source: str = "", code: str | None = None) -> None:
        super().__init__(f"source {source!r}: {message}" if source else message, code=code)
        self.source = source


class QuarantinedInput(SourceError):
    """One file or unit was set aside with a reason; the rest of the source goes on."""

    code = "SRC-QUARANTINED"


class MappingError(ContactPointError):
    """A source record cannot be turned into an LDI record."""

    code = "MAP-ERROR"


class StoreError(ContactPointError):
    """The adapter's own store is unusable or inconsistent."""

    code = "STORE-ERROR"


class DeliveryError(ContactPointError):
    """Submitting to, or polling, the hub failed."""

    code = "DELIVERY-ERROR"


class TransientDeliveryError(DeliveryError):
    """Worth retrying: the hub or network may recover (LDI-TRN-05 retryable codes)."""

    def __init__(
        self, message: str, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Never worth retrying: the batch is parked with this reason (TA-REL-04)."""


class HubError(ContactPointError):
    """The reference hub refuses a request; ``code`` is an LDI fault code (LDI-TRN-05)."""

    code = "UNAVAILABLE"

    def __init__(
        self,
        message: str,
        *,
        code: str,
        line: int | None = None,
        column: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.line = line
        self.column = column
        self.retry_after = retry_after
