"""Identifier checks of LDI 1.0 section 1, used by BR-05 on both sides of the wire.

The adapter and the reference hub import these same functions so that a record the adapter
holds back for BR-05 is exactly a record the hub would reject. Validators (``is_valid_*``) judge
the wire form only; normalisers (``normalise_*``) are the one tolerant door from source-system
spellings to that wire form.

They are written by hand rather than taken from PyPI because each is a few lines fixed by the
spec, while the libraries we checked (python-stdnum's UPN module, nhs-number, the UK postcode
validators) add rules LDI lacks (a fixed LA list) or accept forms it forbids (BFPO, unspaced
postcodes), so owning them is cheaper than wrapping and patching them.

Exception messages never quote the value being checked: it may be a child's identifier.
"""

from __future__ import annotations

import re
from operator import mul
from typing import Final

# --- NHS number and ContactPoint id: the same modulus 11 scheme --------------------------------

_NINE_DIGITS: Final = re.compile(r"[0-9]{9}")
_NHS_NUMBER: Final = re.compile(r"[0-9]{10}")
_CONTACTPOINT_ID: Final = re.compile(r"CP[0-9]{10}")
_MAX_SERIAL: Final = 999_999_999


_MOD11_WEIGHTS: Final = (10, 9, 8, 7, 6, 5, 4, 3, 2)


def _mod11_check(nine_digits: str) -> int | None:
    """Shared by NHS numbers and ContactPoint ids, whose spec rows define the same check.

    Weights 10..2 on the nine digits, check = 11 - (sum mod 11); 11 becomes 0 and 10 means the
    nine digits can never carry a valid check, so None.
    """
    if len(nine_digits) != 9:
        raise ValueError("the mod-11 check takes exactly nine digits")
    total = sum(map(mul, map(int, nine_digits), _MOD11_WEIGHTS))  # in C: the rules' hot path
    check = 11 - total % 11
    if check == 10:
        return None
    return 0 if check == 11 else check


def normalise_nhs_number(value: str) -> str:
    """Sources print NHS numbers as ``943 476 5919``; the wire carries no spaces (section 1).

    Only spaces are removed: anything else is left for ``is_valid_nhs_number`` to reject, so a
    mistyped number is never silently repaired into someone else's.
    """
    return value.replace(" ", "")


def is_valid_nhs_number(value: str) -> bool:
    """BR-05 on the wire form: exactly ten ASCII digits whose last is the modulus 11 check."""
    if _NHS_NUMBER.fullmatch(value) is None:
        return False
    return _mod11_check(value[:9]) == int(value[9])


def contactpoint_check_digit(nine_digits: str) -> int | None:
    """The hub issues ids with this check and both sides verify it (section 1, ContactPoint id).

    Returns None when the check would be 10: such nine-digit serials are never issued.
    """
    if _NINE_DIGITS.fullmatch(nine_digits) is None:
        raise ValueError("a ContactPoint check digit needs exactly 9 ASCII digits")
    return _mod11_check(nine_digits)


def is_valid_contactpoint_id(value: str) -> bool:
    """BR-05: ``CP`` plus ten digits, the last being the check of the first nine."""
    if _CONTACTPOINT_ID.fullmatch(value) is None:
        return False
    return _mod11_check(value[2:11]) == int(value[11])


def make_contactpoint_id(serial: int) -> str:
    """Lets the hub turn its next serial into an id; callers skip serials that cannot be issued.

    Raises ValueError outside 0..999_999_999 and when the serial's check would be 10 (use
    ``next_issuable_serial`` first to avoid that).
    """
    if not 0 <= serial <= _MAX_SERIAL:
        raise ValueError("ContactPoint serial must be in 0..999999999")
    digits = f"{serial:09d}"
    check = _mod11_check(digits)
    if check is None:
        raise ValueError("this serial's check digit would be 10; it is never issued")
    return f"CP{digits}{check}"


def next_issuable_serial(serial: int) -> int:
    """The hub's allocator asks this so it never hands ``make_contactpoint_id`` a dead serial.

    Returns the smallest serial >= ``serial`` whose check digit is not 10. Gaps are at most two
    serials long, because the last digit's weight of 2 moves the remainder by 2 each step.
    """
    if not 0 <= serial <= _MAX_SERIAL:
        raise ValueError("ContactPoint serial must be in 0..999999999")
    for candidate in range(serial, _MAX_SERIAL + 1):
        if _mod11_check(f"{candidate:09d}") is not None:
            return candidate
    # Unreachable (999999999 itself is issuable), but keeps the contract explicit.
    raise ValueError("no issuable ContactPoint serial remains")


# --- UPN -----------------------------------------------------------------------------------------

# DfE check alphabet: A..Z without I, O and S, so that letter index = remainder mod 23.
_UPN_ALPHABET: Final = "ABCDEFGHJKLMNPQRTUVWXYZ"
_UPN_BODY: Final = re.compile(r"[0-9]{11}[0-9ABCDEFGHJKLMNPQRTUVWXYZ]")
_UPN_VALUES: Final = {
    **{str(digit): digit for digit in range(10)},
    **{letter: index for index, letter in enumerate(_UPN_ALPHABET)},
}
_UPN_WEIGHTS: Final = tuple(range(2, 14))
_UPN: Final = re.compile(r"[ABCDEFGHJKLMNPQRTUVWXYZ][0-9]{11}[0-9ABCDEFGHJKLMNPQRTUVWXYZ]")


def upn_check_letter(body: str) -> str:
    """The check letter (character 1) of a UPN whose characters 2..13 are ``body``.

    Source: DfE "Unique Pupil Numbers (UPN) guidance" (the UPN Guide, check letter section) as
    quoted by the DfE CIN census validation rule 1510. Characters 2..13 are multiplied by weights
    2..13, the products summed, the sum taken mod 23, and the remainder mapped to
    ``ABCDEFGHJKLMNPQRTUVWXYZ`` (0=A ... 22=Z). For a temporary UPN, character 13 is a letter and
    is weighted as its index in that same alphabet. Checked against python-stdnum's
    ``gb.upn`` vector ``B801200005001`` and the published temporary UPN ``X00180001701A``.
    """
    if _UPN_BODY.fullmatch(body) is None:
        raise ValueError("a UPN body is 11 digits then a digit or a check-alphabet letter")
    # Only character 13 can be a letter (temporary UPN); it counts as its alphabet index.
    total = sum(map(mul, map(_UPN_VALUES.__getitem__, body), _UPN_WEIGHTS))
    return _UPN_ALPHABET[total % 23]


def is_valid_upn(value: str) -> bool:
    """BR-05: a permanent or temporary UPN in upper case whose check letter is right."""
    if _UPN.fullmatch(value) is None:
        return False
    return upn_check_letter(value[1:]) == value[0]


# --- Organisation codes ------------------------------------------------------------------------

_THREE_DIGITS: Final = re.compile(r"[0-9]{3}")
_LAESTAB: Final = re.compile(r"[0-9]{7}")
_URN: Final = re.compile(r"[0-9]{6}")
_ODS_CODE: Final = re.compile(r"[A-Z][0-9]{5}")
_UPRN: Final = re.compile(r"[0-9]{1,12}")
_LA_MIN: Final = 201
_LA_MAX: Final = 938


def is_valid_la_code(value: str) -> bool:
    """The accountable body and every LAEstab prefix must be a DfE LA number in 201..938."""
    return _THREE_DIGITS.fullmatch(value) is not None and _LA_MIN <= int(value) <= _LA_MAX


def is_valid_laestab(value: str) -> bool:
    """BR-05 names the LAEstab's LA code explicitly, so a 7-digit shape alone is not enough."""
    return _LAESTAB.fullmatch(value) is not None and is_valid_la_code(value[:3])


def is_valid_urn(value: str) -> bool:
    """School URN: six digits (section 1)."""
    return _URN.fullmatch(value) is not None


def is_valid_ods_code(value: str) -> bool:
    """GP practice ODS code: one upper-case letter then five digits, e.g. ``C84001``."""
    return _ODS_CODE.fullmatch(value) is not None


def is_valid_uprn(value: str) -> bool:
    """UPRN: one to twelve digits (section 1); not a BR-05 check, but shared with the schema."""
    return _UPRN.fullmatch(value) is not None


# --- Postcode ------------------------------------------------------------------------------------

# Standard UK grammar (BS 7666 / Royal Mail) with its per-position letter limits; the spec is
# silent on them, and the spec says to take the stricter reading when silent.
_P1: Final = "[A-PR-UWYZ]"  # area letter 1: not Q, V, X
_P2: Final = "[A-HK-Y]"  # area letter 2: not I, J, Z
_P3: Final = "[A-HJKPSTUW]"  # district letter in A9A
_P4: Final = "[ABEHMNPRV-Y]"  # district letter in AA9A
_IN: Final = "[ABD-HJLNP-UW-Z]"  # inward letters: not C, I, K, M, O, V
_POSTCODE: Final = re.compile(
    rf"(?:{_P1}[0-9]{{1,2}}|{_P1}{_P2}[0-9]{{1,2}}|{_P1}[0-9]{_P3}|{_P1}{_P2}[0-9]{_P4})"
    rf" [0-9]{_IN}{{2}}"
)
# BF1 postcodes are the postcode-shaped form of BFPO addresses, which section 1 excludes.
_BFPO_AREA: Final = "BF"


def is_valid_postcode(value: str) -> bool:
    """BR-05 on the wire form only: upper case, one space before the three-character inward code.

    Not accepted: BFPO in either form (``BFPO 123``, ``BF1 ...``), and ``GIR 0AA``, a
    non-geographic Girobank code that no child, school or practice address carries; the grammar
    already rejects it (I cannot be an area's second letter) and we add no exception for it.
    """
    return _POSTCODE.fullmatch(value) is not None and not value.startswith(_BFPO_AREA)


def normalise_postcode(value: str) -> str | None:
    """Source systems store ``ng27qp`` or `` sw1a  1aa ``; this gives the wire form or None.

    All whitespace and case are ignored; the inward code is always the last three characters,
    so the single space can be placed without guessing.
    """
    compact = "".join(value.split())
    # Refuse non-ASCII before upper(): e.g. "ſ".upper() is "S" and must not become a postcode.
    if not compact.isascii() or not 5 <= len(compact) <= 7:
        return None
    candidate = f"{compact[:-3].upper()} {compact[-3:].upper()}"
    return candidate if is_valid_postcode(candidate) else None


# --- Telephone and email -------------------------------------------------------------------------

_TELEPHONE: Final = re.compile(r"\+?[0-9 ]{10,16}")
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_EMAIL_MAX: Final = 254
_TRUNK_ZERO: Final = re.compile(r"\(\s*0\s*\)")
_PUNCTUATION: Final = re.compile(r"[()\-.]")
_SPACES: Final = re.compile(r"\s+")


def is_valid_telephone(value: str) -> bool:
    """Section 3 pattern ``\\+?[0-9 ]{10,16}``, matched against the whole value."""
    return _TELEPHONE.fullmatch(value) is not None


def normalise_telephone(value: str) -> str | None:
    """Sources write ``(0115) 977-3210`` or ``+44 (0)115 977 3210``; the wire wants digits/spaces.

    Brackets, hyphens and dots become spaces and runs of spaces collapse to one. After an
    international ``+`` prefix a ``(0)`` is dropped, since dialling it would reach the wrong
    number. Returns None when the result still fails ``is_valid_telephone``.
    """
    text = value.strip()
    if text.startswith("+"):
        text = _TRUNK_ZERO.sub(" ", text)
    text = _PUNCTUATION.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    return text if is_valid_telephone(text) else None


def is_valid_email(value: str) -> bool:
    """Section 3 pattern ``[^@\\s]+@[^@\\s]+\\.[^@\\s]+`` on the whole value, max 254 chars."""
    return len(value) <= _EMAIL_MAX and _EMAIL.fullmatch(value) is not None
