"""messageId: deterministic, well-formed, and distinct for distinct (source, record, version)."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outbox.entries import message_id

systems = st.from_regex(r"[A-Z0-9]{3,12}", fullmatch=True)
record_ids = st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True)
versions = st.integers(min_value=1, max_value=2**40)


@given(systems, record_ids, versions)
def test_same_inputs_give_the_same_32_hex_id(system: str, record_id: str, version: int) -> None:
    """The id is 32 lower-case hex characters and depends only on its inputs."""
    first = message_id(system, record_id, version)
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert message_id(system, record_id, version) == first


@given(st.tuples(systems, record_ids, versions), st.tuples(systems, record_ids, versions))
def test_different_inputs_give_different_ids(
    a: tuple[str, str, int], b: tuple[str, str, int]
) -> None:
    """Two different (source, record, version) triples never share an id."""
    if a != b:
        assert message_id(*a) != message_id(*b)


def test_field_boundaries_are_part_of_the_id() -> None:
    """Moving characters between fields changes the id (length-prefixed encoding)."""
    assert message_id("ABC", "D1", 1) != message_id("ABCD", "1", 1)
    assert message_id("ABC", "1", 11) != message_id("ABC", "11", 1)


def test_known_value_is_stable_across_releases() -> None:
    """A fixed example pins the documented encoding, so ids never change silently."""

    def enc(text: str) -> bytes:
        data = text.encode()
        return len(data).to_bytes(4, "big") + data

    expected = hashlib.sha256(
        enc("cpadapter-message-id-v1") + enc("FWK891") + enc("C-1") + enc("1")
    ).hexdigest()[:32]
    assert message_id("FWK891", "C-1", 1) == expected


def test_version_must_be_positive() -> None:
    """Version 0 has no id: LDI versions are positive integers."""
    with pytest.raises(ValueError, match="positive"):
        message_id("FWK891", "C-1", 0)
