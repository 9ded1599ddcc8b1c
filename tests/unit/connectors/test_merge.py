"""The one-pass merge-join (connectors.merge): grouping, orphans, duplicates, order checks."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.merge import KeyOrderError, merge_join


def test_related_rows_are_grouped_under_their_parent() -> None:
    """Each parent gets exactly its related rows, per stream, and orphans are skipped."""
    parents = [(1, "a"), (3, "c"), (5, "e")]
    carers = [(0, "orphan"), (1, "c1"), (1, "c2"), (4, "orphan"), (5, "c5")]
    cafs = [(3, "k3")]
    merged = list(merge_join(parents, {"carers": carers, "caf": cafs}))
    assert merged == [
        (1, "a", {"carers": ["c1", "c2"], "caf": []}),
        (3, "c", {"carers": [], "caf": ["k3"]}),
        (5, "e", {"carers": ["c5"], "caf": []}),
    ]


def test_duplicate_parent_is_reported_not_yielded() -> None:
    """A repeated parent key is passed to on_duplicate and its row is not yielded again."""
    seen: list[int] = []
    merged = list(
        merge_join(
            [(1, "a"), (1, "a-again"), (2, "b")], {"x": [(1, "x1")]}, on_duplicate=seen.append
        )
    )
    assert [(key, parent) for key, parent, _ in merged] == [(1, "a"), (2, "b")]
    assert merged[0][2] == {"x": ["x1"]}
    assert seen == [1]


def test_related_stream_out_of_order_stops_the_join() -> None:
    """A related stream whose keys go backwards raises KeyOrderError naming the stream."""
    with pytest.raises(KeyOrderError, match="carers"):
        list(merge_join([(1, "a"), (2, "b"), (3, "c")], {"carers": [(2, "x"), (1, "y")]}))


def test_parent_stream_out_of_order_stops_the_join() -> None:
    """A parent stream whose keys go backwards raises KeyOrderError."""
    with pytest.raises(KeyOrderError, match="parent"):
        list(merge_join([(2, "b"), (1, "a")], {}))


def test_string_keys_compare_by_code_point() -> None:
    """Text keys join by Python's code-point order (upper case before lower case)."""
    parents = [("B", 1), ("a", 2), ("b", 3)]
    related = [("B", "rB"), ("a", "ra"), ("b", "rb")]
    merged = {key: groups["r"] for key, _, groups in merge_join(parents, {"r": related})}
    assert merged == {"B": ["rB"], "a": ["ra"], "b": ["rb"]}


@given(
    parent_keys=st.sets(st.integers(0, 60), max_size=25),
    related=st.dictionaries(
        st.sampled_from(["carers", "involvements", "caf"]),
        st.lists(st.integers(0, 60), max_size=60),
        max_size=3,
    ),
)
def test_merge_equals_grouping_by_key(parent_keys: set[int], related: dict[str, list[int]]) -> None:
    """For any distribution of related rows, the join equals a dict group-by on the key."""
    parents = [(key, f"p{key}") for key in sorted(parent_keys)]
    streams: dict[str, list[tuple[int, str]]] = {}
    expected: dict[int, dict[str, list[str]]] = {k: {n: [] for n in related} for k in parent_keys}
    for name, keys in related.items():
        rows = sorted((key, f"{name}-{key}-{i}") for i, key in enumerate(keys))
        streams[name] = rows
        grouped: dict[int, list[str]] = defaultdict(list)
        for key, row in rows:
            grouped[key].append(row)
        for key in parent_keys:
            expected[key][name] = grouped.get(key, [])
    merged = list(merge_join(parents, streams))
    assert [key for key, _, _ in merged] == sorted(parent_keys)
    assert {key: groups for key, _, groups in merged} == expected
