"""Generated item code: same values as the item kinds' plain meaning, and no code from YAML."""

from __future__ import annotations

import traceback
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import mappings.itemcode
import mappings.transforms
from ldi.models import Breach
from mappings.itemcode import CompiledItem, fill_function, lookup, present, value_function
from mappings.items import ItemInfo
from mappings.spec import ItemSpec
from mappings.transforms import TransformContext, TransformError, resolve

CONTEXT = TransformContext(code_tables={"g": {"M": "Male", "F": "Female"}})


def _reference(spec: ItemSpec, repeated: bool, row: dict[str, Any]) -> Any:
    """The item kinds as the mapping format documents them, written the plain way."""

    def apply(value: Any) -> Any:
        for step in spec.transforms:
            value = resolve(step.name)(value, step.arg, CONTEXT)
        return value

    if spec.const is not None:
        return spec.const
    raw = [lookup(row, f) for f in spec.source_fields]
    if repeated:
        flat = [v for r in raw for v in (r if isinstance(r, list | tuple) else [r])]
        kept = [w for w in (apply(v) for v in flat) if w is not None]
        return kept or None
    if spec.join is not None:
        parts = [str(v).strip() for v in raw if present(v)]
        return apply(spec.join.join(parts) if parts else None)
    return apply(next((v for v in raw if present(v)), None))


FIELDS = ["a", "b", "c.d", "e"]
values = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", " x ", "M", "F", "yes", "no", "2020-01-31", "31/01/2020"]),
    st.text(max_size=6),
    st.integers(-5, 5),
    st.lists(st.sampled_from(["", " p ", "q", None]), max_size=3),
)
rows = st.fixed_dictionaries(
    {},
    optional={
        "a": values,
        "b": values,
        "c": st.fixed_dictionaries({}, optional={"d": values}),
        "c.d": values,
        "e": values,
    },
)
steps = st.lists(
    st.sampled_from(["trim", "upper", "nfc", "boolean", "date", {"code": "g"}, {"default": "z"}]),
    max_size=3,
)


@st.composite
def items(draw: st.DrawFn) -> tuple[ItemSpec, bool]:
    repeated = draw(st.booleans())
    if draw(st.integers(0, 9)) == 0:
        return ItemSpec.model_validate({"const": draw(st.sampled_from(["K", True]))}), repeated
    fields = draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True))
    join = draw(st.sampled_from([None, None, " ", ", "])) if not repeated else None
    spec = {"from": fields, "transforms": draw(steps)}
    if join is not None:
        spec["join"] = join
    return ItemSpec.model_validate(spec), repeated


@settings(max_examples=400)
@given(item=items(), row=rows)
@example(item=(ItemSpec.model_validate({"from": ["a", "e"], "join": ","}), False), row={"a": " x "})
@example(item=(ItemSpec.model_validate({"from": ["a", "b"]}), True), row={"a": [None], "b": ""})
def test_generated_values_equal_the_plain_meaning(
    item: tuple[ItemSpec, bool], row: dict[str, Any]
) -> None:
    """For random items and rows, generated code gives the reference value or the same error."""
    spec, repeated = item
    compiled = CompiledItem("Child.X", spec, ItemInfo(("child", "x"), repeated, False))
    value = value_function(compiled, CONTEXT)
    breaches: list[Breach] = []
    try:
        expected: Any = _reference(spec, repeated, row)
        error = None
    except TransformError as exc:
        expected, error = None, exc.message
    assert value(row, breaches) == expected
    assert value(row, breaches) == expected  # again: a remembered chain result, if any
    if error is None:
        assert breaches == []
    else:
        expected_breach = Breach(rule="LDI-MSG-01", path="Record[1]/Child/X", message=error)
        assert breaches == [expected_breach, expected_breach]


def test_fill_sets_nested_values_and_reports_every_failing_item() -> None:
    """A fill stores each value at its path, skips Nones, and records each failing item."""
    specs = [
        ("Child.Name.GivenName", {"from": "given", "transforms": ["trim"]}, ("child", "name", "g")),
        ("Child.BirthDate", {"from": "dob", "transforms": ["date"]}, ("child", "birth_date")),
        ("Child.Gender", {"from": "sex", "transforms": [{"code": "g"}]}, ("child", "gender")),
        ("Child.Kind", {"const": "K"}, ("child", "kind")),
        ("Child.Name.FamilyName", {"from": "family"}, ("child", "name", "f")),
    ]
    fill = fill_function(
        [
            CompiledItem(t, ItemSpec.model_validate(s), ItemInfo(p, False, False))
            for t, s, p in specs
        ],
        CONTEXT,
    )
    tree: dict[str, Any] = {}
    breaches: list[Breach] = []
    filled = fill({"given": "  Ann ", "dob": "not a date", "sex": "X"}, tree, breaches)
    assert filled is True
    assert tree == {"child": {"name": {"g": "Ann"}, "kind": "K"}}
    assert [b.path for b in breaches] == ["Record[1]/Child/BirthDate", "Record[1]/Child/Gender"]
    only_constants: dict[str, Any] = {}
    assert fill({}, only_constants, []) is False
    assert only_constants == {"child": {"kind": "K"}}


def test_mapping_text_never_becomes_code() -> None:
    """Field names, constants and arguments are bound as objects, never written into the code."""
    hostile = 'x"]) or __import__("os").system("false") #'
    spec = ItemSpec.model_validate(
        {"from": [hostile, "plain"], "join": hostile, "transforms": [{"prefix": hostile}]}
    )
    value = value_function(CompiledItem("Child.X", spec, ItemInfo(("x",), False, False)), CONTEXT)
    assert hostile not in value.__source__  # type: ignore[attr-defined]
    assert "plain" not in value.__source__  # type: ignore[attr-defined]
    assert value({hostile: "a", "plain": "b"}, []) == f"{hostile}a{hostile}b"


def test_a_traceback_through_generated_code_shows_its_lines() -> None:
    """An unexpected error inside a transform is not swallowed and its frame has source text."""
    spec = ItemSpec.model_validate({"from": "n", "transforms": [{"pluck": "k"}]})
    value = value_function(CompiledItem("Child.X", spec, ItemInfo(("x",), False, False)), CONTEXT)
    assert value({"n": {"k": 1}}, []) == 1
    try:
        value({"n": _Exploding()}, [])
    except RuntimeError as exc:
        lines = traceback.format_exception(exc)
    else:
        raise AssertionError("the error was swallowed")
    assert any("v = t" in line for line in lines)


class _Exploding(dict):  # type: ignore[type-arg]
    def get(self, key: Any, default: Any = None) -> Any:
        raise RuntimeError("boom")


def _memos(function: Any) -> list[dict[Any, Any]]:
    """The remembered-results tables a generated function holds (bound under ``m…`` names)."""
    return [v for k, v in function.__globals__.items() if k.startswith("m") and type(v) is dict]


def _item(spec: dict[str, Any]) -> CompiledItem:
    return CompiledItem("Child.X", ItemSpec.model_validate(spec), ItemInfo(("x",), False, False))


def test_a_built_in_chain_remembers_text_values_up_to_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Repeated text is transformed once; past MEMO_LIMIT values nothing more is kept."""
    monkeypatch.setattr(mappings.itemcode, "MEMO_LIMIT", 3)
    value = value_function(_item({"from": "d", "transforms": ["trim", "date"]}), CONTEXT)
    (memo,) = _memos(value)
    days = [f" 2020-01-{day:02d} " for day in range(1, 8)]
    results = [value({"d": d}, []) for d in days + days]
    assert [r.day for r in results] == [*range(1, 8), *range(1, 8)]
    assert len(memo) == 3
    assert set(memo) == set(days[:3])


def test_a_failing_value_is_not_remembered() -> None:
    """A TransformError is raised, and reported, every time the value is met."""
    value = value_function(_item({"from": "d", "transforms": ["date"]}), CONTEXT)
    breaches: list[Breach] = []
    assert value({"d": "31/31/2020"}, breaches) is None
    assert value({"d": "31/31/2020"}, breaches) is None
    assert len(breaches) == 2
    assert _memos(value) == [{}]


def test_a_chain_with_a_plug_in_is_never_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plug-in need not be pure: it runs for every value, however often it repeats."""
    calls: list[Any] = []

    def counting(value: Any, _arg: Any, _ctx: TransformContext) -> Any:
        calls.append(value)
        return value

    class EntryPoint:
        def load(self) -> Any:
            return counting

    monkeypatch.setattr(mappings.transforms, "_plugins", lambda: {"counting": EntryPoint()})
    value = value_function(_item({"from": "d", "transforms": ["trim", "counting"]}), CONTEXT)
    for _ in range(3):
        assert value({"d": " a "}, []) == "a"
    assert calls == ["a", "a", "a"]
    assert _memos(value) == []
