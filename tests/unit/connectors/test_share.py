"""Share: every unit belongs to exactly one share of a run, whatever the names look like."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import Share


@given(st.text(min_size=1, max_size=60), st.integers(min_value=1, max_value=16))
def test_each_unit_has_exactly_one_owner(name: str, count: int) -> None:
    """For any name and any number of shares, exactly one share owns the unit."""
    assert sum(Share(k, count).owns(name) for k in range(count)) == 1


def test_export_names_that_differ_in_a_digit_spread_over_the_shares() -> None:
    """Nightly export names (one digit apart) do not all land in one share."""
    names = [f"8912{i:03d}_CTF_891MMM_{j:03d}.xml" for i in range(6) for j in range(30)]
    for count in (2, 4, 8):
        owned = [sum(Share(k, count).owns(n) for n in names) for k in range(count)]
        assert min(owned) >= len(names) / count / 2, owned


def test_the_demo_schools_exports_land_in_both_shares() -> None:
    """The six demo schools' export names use both of two shares (CRC-32 put all six in one)."""
    names = [f"891{phase}00{n}_CTF_891MMM_001.xml" for phase in (2, 4) for n in (1, 2, 3)]
    owned = [sum(Share(k, 2).owns(n) for n in names) for k in range(2)]
    assert min(owned) > 0, owned


def test_a_share_outside_the_count_is_refused() -> None:
    """Share 2 of 2 (indexes start at 0) is a programming error, said at once."""
    with pytest.raises(ValueError, match="share 2 of 2"):
        Share(2, 2)
