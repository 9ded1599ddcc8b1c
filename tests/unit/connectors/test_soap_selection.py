"""The field allow-list: only named parts of an item survive."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.soap import FieldPathError, select_fields

ITEM: dict[str, Any] = {
    "ChildId": "CH1",
    "Address": {"Line": ["1 High St"], "Postcode": "NG1 1AA", "Note": "key under mat"},
    "Involvements": {
        "Involvement": [
            {"ServiceType": "HV", "ReasonForReferral": "low mood"},
            {"ServiceType": "SN", "ReasonForReferral": None},
        ]
    },
    "ClinicalNotes": "weight below 2nd centile",
    "Missing": None,
}


def test_a_name_keeps_its_whole_subtree_and_nothing_else() -> None:
    """A top-level name keeps that field whole; unnamed fields are dropped."""
    assert select_fields(ITEM, ["ChildId", "Address"]) == {
        "ChildId": "CH1",
        "Address": ITEM["Address"],
    }


def test_dotted_names_pick_leaves_inside_structures_and_lists() -> None:
    """Dotted names keep only those leaves, inside nested structures and each list element."""
    picked = select_fields(
        ITEM, ["Address.Postcode", "Address.Line", "Involvements.Involvement.ServiceType"]
    )
    assert picked == {
        "Address": {"Postcode": "NG1 1AA", "Line": ["1 High St"]},
        "Involvements": {"Involvement": [{"ServiceType": "HV"}, {"ServiceType": "SN"}]},
    }


def test_an_absent_optional_structure_stays_none() -> None:
    """A named structure that the item leaves empty (None) is kept as None."""
    assert select_fields(ITEM, ["Missing.Deeper"]) == {"Missing": None}


@pytest.mark.parametrize("path", ["NHSNumber", "Address.Town", "ChildId.Deeper"])
def test_a_name_the_item_does_not_have_is_an_error(path: str) -> None:
    """A name that does not exist (a typo) raises instead of silently keeping nothing."""
    with pytest.raises(FieldPathError) as caught:
        select_fields(ITEM, [path])
    assert caught.value.path == path


names = st.text(alphabet="ABCDEFGHIJ", min_size=1, max_size=3)


@given(
    item=st.dictionaries(names, st.text(min_size=1, max_size=8), min_size=1, max_size=8),
    data=st.data(),
)
def test_values_outside_the_allow_list_never_survive(item: dict[str, str], data: Any) -> None:
    """For any flat item and any allow-list of its keys, output keys are exactly that list."""
    allowed = data.draw(st.lists(st.sampled_from(sorted(item)), unique=True))
    picked = select_fields(item, allowed)
    assert set(picked) == set(allowed)
    assert all(picked[k] == item[k] for k in allowed)
