"""The typed form of a mapping file (``mappings/<source>.yaml``).

Validation here is what makes a mapping safe: every target must be an LDI item (or a group
element) from :mod:`mappings.items`, every transform must exist, every code table a transform
names must be defined. Loading YAML (with line numbers for errors) happens at the edge, in
``adapter``; this module receives plain data and returns typed objects.

Example::

    source_record_id: {from: person_id}
    code_tables:
      gender: {M: Male, F: Female, U: NotKnown}
    items:
      Child.Name.GivenName: {from: forename, transforms: [trim, nfc, name_case]}
      Child.Gender: {from: sex, transforms: [{code: gender}]}
    groups:
      - target: ParentCarer
        rows: carers
        items:
          Name.FamilyName: {from: surname, transforms: [trim]}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ldi.models import Record
from mappings.items import ENVELOPE, groups_of_record, items_of
from mappings.transforms import TAKES_CODE_TABLE, known_transforms

#: ``rows: "@record"`` builds a group from the child's own fields (e.g. a former surname).
SELF_ROWS = "@record"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TransformStep(_Spec):
    """One transform: a name and its optional argument."""

    name: str
    arg: Any = None


def _parse_step(raw: Any) -> TransformStep:
    if isinstance(raw, TransformStep):
        return raw
    if isinstance(raw, str):
        return TransformStep(name=raw)
    if isinstance(raw, dict) and len(raw) == 1:
        ((name, arg),) = raw.items()
        return TransformStep(name=str(name), arg=arg)
    raise ValueError("a transform is a name, or a one-key mapping {name: argument}")


class ItemSpec(_Spec):
    """Where one LDI item comes from: source field(s) or a constant, then transforms."""

    source_fields: tuple[str, ...] = Field(default=(), alias="from")
    const: str | bool | None = None
    join: str | None = Field(
        default=None,
        description="Join every present field with this separator (default: first present wins)",
    )
    transforms: tuple[TransformStep, ...] = ()

    @field_validator("source_fields", mode="before")
    @classmethod
    def _fields(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("transforms", mode="before")
    @classmethod
    def _steps(cls, value: Any) -> Any:
        return tuple(_parse_step(v) for v in value) if isinstance(value, list) else value

    @field_validator("transforms")
    @classmethod
    def _known(cls, steps: tuple[TransformStep, ...]) -> tuple[TransformStep, ...]:
        known = known_transforms()
        for step in steps:
            if step.name not in known:
                raise ValueError(f"unknown transform {step.name!r} (known: {', '.join(known)})")
        return steps

    @model_validator(mode="after")
    def _one_source(self) -> ItemSpec:
        if bool(self.source_fields) == (self.const is not None):
            raise ValueError("give exactly one of 'from' (source fields) or 'const'")
        return self


Location = tuple[str | int, ...]


def _target_problems(
    items: dict[str, ItemSpec], allowed: dict[str, Any], where: str, at: Location
) -> list[tuple[Location, str]]:
    found = []
    for target in items:
        if target in ENVELOPE:
            found.append(((*at, target), f"{target!r} is set by the pipeline, not by a mapping"))
        elif target not in allowed:
            found.append(((*at, target), f"{target!r} is not an LDI item of {where}"))
    return found


class GroupSpec(_Spec):
    """An element built once per related row (ParentCarer, Involvement, …)."""

    target: str
    rows: str = Field(description="Related-rows key of the source record, or @record")
    pick: Literal["all", "first", "last"] = "all"
    where: dict[str, list[str | None]] = Field(
        default_factory=dict,
        description="Keep only rows whose field holds one of the listed values (null: empty)",
    )
    items: dict[str, ItemSpec]

    def problems(self, at: Location) -> list[tuple[Location, str]]:
        """Targets that are not items of this group's element."""
        group = groups_of_record().get(self.target)
        if group is None or self.target in ("Child", "Child.Name"):
            return [((*at, "target"), f"{self.target!r} is not an LDI element a group builds")]
        return _target_problems(self.items, items_of(group.model), self.target, (*at, "items"))


class MappingSpec(_Spec):
    """One source's mapping: the record key, code tables, record items and groups."""

    source_record_id: ItemSpec
    deleted: ItemSpec | None = Field(
        default=None, description="A yes/no field flagging the child deleted/closed (TA-DLT-03)"
    )
    code_tables: dict[str, dict[str, str]] = Field(default_factory=dict)
    items: dict[str, ItemSpec]
    groups: tuple[GroupSpec, ...] = ()

    def problems(self) -> list[tuple[Location, str]]:
        """Every cross-field problem, located: unknown targets, undefined code tables."""
        found = _target_problems(self.items, items_of(Record), "a Record", ("items",))
        for index, group in enumerate(self.groups):
            found.extend(group.problems(("groups", index)))
        for at, item in self._located_items():
            for n, step in enumerate(item.transforms):
                if step.name in TAKES_CODE_TABLE and step.arg not in self.code_tables:
                    found.append(
                        (
                            (*at, "transforms", n),
                            f"transform {step.name!r} names undefined code table {step.arg!r}",
                        )
                    )
        return found

    def _located_items(self) -> list[tuple[Location, ItemSpec]]:
        found: list[tuple[Location, ItemSpec]] = [(("source_record_id",), self.source_record_id)]
        found.extend((("items", k), v) for k, v in self.items.items())
        if self.deleted is not None:
            found.append((("deleted",), self.deleted))
        for index, group in enumerate(self.groups):
            found.extend((("groups", index, "items", k), v) for k, v in group.items.items())
        return found

    def source_fields(self) -> set[str]:
        """Every source field the mapping reads: nothing else reaches the output."""
        return {f for _, item in self._located_items() for f in item.source_fields}

    @classmethod
    def checked(cls, data: Any) -> MappingSpec:
        """Validate ``data`` and its cross-field rules; ValueError listing every problem."""
        spec = cls.model_validate(data)
        problems = spec.problems()
        if problems:
            raise ValueError("; ".join(f"{'.'.join(map(str, at))}: {m}" for at, m in problems))
        return spec
