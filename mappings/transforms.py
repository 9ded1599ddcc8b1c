"""The fixed set of named transforms a mapping may use, plus plug-ins by entry point.

A transform is a plain callable ``(value, arg, context) -> value``: ``arg`` is the YAML value
given with its name (``{date: "%d/%m/%Y"}`` → ``"%d/%m/%Y"``; bare names get ``None``).
``None`` means "no value" and passes through every transform except ``default``.
A value that cannot be transformed raises :class:`TransformError`, which names the transform
and never the value; the record is then held with the item's path.

Third parties add transforms in their own package under entry-point group
``cpadapter.transforms``; there is no expression language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from ldi import identifiers as ids
from ldi.errors import ConfigError, MappingError


class TransformError(MappingError):
    """A value could not be transformed; the message never contains the value."""

    code = "LDI-MSG-01"


@dataclass(frozen=True)
class TransformContext:
    """What transforms may consult: the mapping's code tables."""

    code_tables: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


Transform = Callable[[Any, Any, TransformContext], Any]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def trim(value: Any, _arg: Any, _ctx: TransformContext) -> Any:
    """Strip surrounding white space and collapse inner runs; empty becomes no value."""
    text = _text(value)
    return " ".join(text.split()) if text is not None else None


def nfc(value: Any, _arg: Any, _ctx: TransformContext) -> Any:
    """Unicode NFC (LDI-MSG-02)."""
    text = _text(value)
    return unicodedata.normalize("NFC", text) if text is not None else None


_NAME_PART = re.compile(r"([A-Za-zÀ-ÖØ-öø-ÿ])([^\s\-']*)")


def name_case(value: Any, _arg: Any, _ctx: TransformContext) -> Any:
    """Title-case names typed in capitals (SMITH-JONES → Smith-Jones); mixed case is kept."""
    text = _text(value)
    if text is None:
        return None
    if text != text.upper() and text != text.lower():
        return text
    return _NAME_PART.sub(lambda m: m.group(1).upper() + m.group(2).lower(), text.lower())


def upper(value: Any, _arg: Any, _ctx: TransformContext) -> Any:
    text = _text(value)
    return text.upper() if text is not None else None


def lower(value: Any, _arg: Any, _ctx: TransformContext) -> Any:
    text = _text(value)
    return text.lower() if text is not None else None


_ISO_FORMAT = "%Y-%m-%d"
#: Formats read without ``strptime`` (slow: a regex build-up and locale lookups per call): the
#: text must be exactly these ASCII digits; anything else still goes through ``strptime``.
_FAST_DATES: dict[str, tuple[re.Pattern[str], tuple[int, int, int]]] = {
    _ISO_FORMAT: (re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})"), (1, 2, 3)),
    "%d/%m/%Y": (re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})"), (3, 2, 1)),
}


def to_date(value: Any, arg: Any, _ctx: TransformContext) -> Any:
    """Parse a date with the given strptime format (default ISO); datetimes lose their time.

    Dates pass through. ISO and ``%d/%m/%Y`` text of exactly the zero-padded form is read
    directly; every other text, and an impossible date, gives the same result as ``strptime``.
    """
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    text = _text(value)
    if text is None:
        return None
    text = text.strip()
    fmt = arg or _ISO_FORMAT
    fast = _FAST_DATES.get(fmt)
    if fast is not None:
        match = fast[0].fullmatch(text)
        if match is not None:
            y, m, d = fast[1]
            try:
                return date(int(match[y]), int(match[m]), int(match[d]))
            except ValueError:
                pass  # e.g. 30 February: strptime below raises the transform error
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError as exc:
        raise TransformError(f"not a date in the format {fmt}") from exc


def code(value: Any, arg: Any, ctx: TransformContext) -> Any:
    """Translate a source code through a code table of the mapping (unknown code: error)."""
    text = _text(value)
    if text is None:
        return None
    table = ctx.code_tables[arg]
    found = table.get(text.strip())
    if found is None:
        found = table.get("*")  # an explicit catch-all, when the table declares one
    if found is None:
        raise TransformError(f"code not in code table {arg!r}")
    return found


def postcode(value: Any, _arg: Any, _ctx: TransformContext) -> Any:
    """Normalise a UK postcode to wire form; an impossible postcode is kept for BR-05 to report."""
    text = _text(value)
    if text is None:
        return None
    return ids.normalise_postcode(text) or text.strip().upper()


def telephone(value: Any, _arg: Any, _ctx: TransformContext) -> Any:
    """Normalise a telephone number; one that cannot be made valid is dropped (no value)."""
    text = _text(value)
    return ids.normalise_telephone(text) if text is not None else None


def nhs_number(value: Any, _arg: Any, _ctx: TransformContext) -> Any:
    """Remove spaces (allowed on input, not on the wire)."""
    text = _text(value)
    return ids.normalise_nhs_number(text) if text is not None else None


def identifier(value: Any, _arg: Any, _ctx: TransformContext) -> Any:
    """Upper-case and remove spaces (UPN, ODS code, LAEstab)."""
    text = _text(value)
    return "".join(text.split()).upper() if text is not None else None


_TRUE = frozenset({"1", "y", "yes", "true", "t"})
_FALSE = frozenset({"0", "n", "no", "false", "f"})


def boolean(value: Any, _arg: Any, _ctx: TransformContext) -> Any:
    """Y/N, 1/0, true/false, yes/no → bool."""
    if value is None or isinstance(value, bool):
        return value
    text = _text(value)
    if text is None:
        return None
    key = text.strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise TransformError("not a yes/no value")


def default(value: Any, arg: Any, _ctx: TransformContext) -> Any:
    """Use ``arg`` when there is no value."""
    return arg if value is None else value


def prefix(value: Any, arg: Any, _ctx: TransformContext) -> Any:
    """Prepend ``arg`` (e.g. to keep keys of two tables apart)."""
    text = _text(value)
    return f"{arg}{text}" if text is not None else None


def split_name(value: Any, arg: Any, _ctx: TransformContext) -> Any:
    """From "Given Middle Family" take ``given``, ``middle`` or ``family``."""
    text = _text(value)
    if text is None:
        return None
    parts = text.split()
    if arg == "given":
        return parts[0]
    if arg == "family":
        return parts[-1] if len(parts) > 1 else None
    if arg == "middle":
        return " ".join(parts[1:-1]) or None
    raise TransformError("split_name takes given, middle or family")


def email(value: Any, _arg: Any, _ctx: TransformContext) -> Any:
    """Trim and lower-case; an address that cannot be valid is dropped (no value)."""
    text = _text(value)
    if text is None:
        return None
    cleaned = text.strip().lower()
    return cleaned if ids.is_valid_email(cleaned) else None


def pluck(value: Any, arg: Any, _ctx: TransformContext) -> Any:
    """From a nested row (e.g. one of a contact's phones) take the field ``arg``."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TransformError("pluck needs a nested row")
    return value.get(arg)


BUILT_IN: dict[str, Transform] = {
    "pluck": pluck,
    "trim": trim,
    "nfc": nfc,
    "name_case": name_case,
    "upper": upper,
    "lower": lower,
    "date": to_date,
    "code": code,
    "postcode": postcode,
    "telephone": telephone,
    "nhs_number": nhs_number,
    "identifier": identifier,
    "boolean": boolean,
    "default": default,
    "prefix": prefix,
    "split_name": split_name,
    "email": email,
}

#: Transforms whose argument names a code table; checked against the mapping's tables.
TAKES_CODE_TABLE = frozenset({"code"})


PLUGIN_GROUP = "cpadapter.transforms"


@cache
def _plugins() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}


def known_transforms() -> list[str]:
    """Every transform name a mapping may use: built-ins and installed plug-ins."""
    return sorted({*BUILT_IN, *_plugins()})


def resolve(name: str) -> Transform:
    """A built-in transform, or a plug-in from the ``cpadapter.transforms`` entry points."""
    found = BUILT_IN.get(name)
    if found is not None:
        return found
    plugin = _plugins().get(name)
    if plugin is not None:
        loaded: Transform = plugin.load()
        return loaded
    known = ", ".join(known_transforms())
    raise ConfigError(f"unknown transform {name!r} (known: {known})", code="CFG-TRANSFORM")
