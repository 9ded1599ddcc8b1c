"""Building LDI models from data that is already in shape, without pydantic's full validation.

The hub turns every record it receives into models, and the mapper every record it maps; for
clean input pydantic's validation is most of that cost, and for the models of this contract
(plain strings, ISO dates, integers, booleans, enumerations, nested models, lists; one length
constraint) it can be done more cheaply. :func:`construct` does it for data it can *prove* is
in shape: exact types, or the lexical forms the XSD gives (``2015-03-27``, ``true``, ``12``, an
enumeration's value). Anything else (a missing mandatory field, an unknown key, ``"1"`` for a
boolean, a date with a time zone) makes it return None, and the caller validates with pydantic
as before, which then reports the problem exactly as it always has. So the result never differs
from ``model.model_validate(data)``; a property test holds the two together.

The instance is assembled the way ``BaseModel.model_construct`` assembles one (``__dict__``,
the fields set, no extra, no private state), which these models allow: none has validators,
a post-init hook or private attributes (checked when a model's plan is made).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from enum import Enum
from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from ldi.models import LdiModel, field_shape

M = TypeVar("M", bound=LdiModel)

_FAIL = object()
_MISSING = object()
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT = re.compile(r"-?[1-9][0-9]{0,17}|0")
_BOOLEANS = {"true": True, "false": False}

Convert = Callable[[Any], Any]  # a value in, the field's value or _FAIL out


def _str(value: Any) -> Any:
    return value if type(value) is str else _FAIL


def _int(value: Any) -> Any:
    if type(value) is int:
        return value
    if type(value) is str and _INT.fullmatch(value):
        return int(value)
    return _FAIL


def _bool(value: Any) -> Any:
    if type(value) is bool:
        return value
    return _BOOLEANS.get(value, _FAIL) if type(value) is str else _FAIL


def _date(value: Any) -> Any:
    if type(value) is date:
        return value
    if type(value) is str and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return _FAIL
    return _FAIL


def _enum(kind: type[Enum]) -> Convert:
    members = {member.value: member for member in kind}

    def convert(value: Any) -> Any:
        if type(value) is kind:
            return value
        return members.get(value, _FAIL) if type(value) is str else _FAIL

    return convert


def _nested(model: type[LdiModel]) -> Convert:
    def convert(value: Any) -> Any:
        if type(value) is model:
            return value  # pydantic keeps an instance of the field's model as it is
        if type(value) is dict:
            built = construct(model, value)
            return _FAIL if built is None else built
        return _FAIL

    return convert


def _adapter(annotation: Any) -> Convert:
    """Any other type: pydantic itself, for this one field (rare: batch time stamps)."""
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)

    def convert(value: Any) -> Any:
        try:
            return adapter.validate_python(value)
        except ValidationError:
            return _FAIL

    return convert


def _converter(inner: Any) -> Convert:
    if inner is str:
        return _str
    if inner is bool:
        return _bool
    if inner is int:
        return _int
    if inner is date:
        return _date
    if isinstance(inner, type) and issubclass(inner, Enum):
        return _enum(inner)
    if isinstance(inner, type) and issubclass(inner, LdiModel):
        return _nested(inner)
    return _adapter(inner)


# (name, convert, is_list, optional, default maker or None when required, minimum list length)
_Field = tuple[str, Convert, bool, bool, Callable[[], Any] | None, int]


@cache
def _plan(model: type[LdiModel]) -> tuple[tuple[_Field, ...], frozenset[str]]:
    if model.__pydantic_post_init__ is not None or model.__private_attributes__:
        raise TypeError(f"{model.__name__}: construct() cannot build this model")
    fields: list[_Field] = []
    for name, info in model.model_fields.items():
        inner, is_list, optional = field_shape(info.annotation)
        default: Callable[[], Any] | None = None
        if info.default_factory is not None:
            default = info.default_factory  # type: ignore[assignment]
        elif not info.is_required():
            value = info.default
            default = lambda value=value: value  # noqa: E731 - one small closure per field
        minimum = min(
            (m.min_length for m in info.metadata if getattr(m, "min_length", None) is not None),
            default=0,
        )
        fields.append((name, _converter(inner), is_list, optional, default, minimum))
    return tuple(fields), frozenset(model.model_fields)


def construct(model: type[M], data: Mapping[str, Any]) -> M | None:
    """``model.model_validate(data)`` for data already in shape (keys are field names); None
    when that cannot be shown cheaply, and the caller validates the usual way."""
    fields, names = _plan(model)
    if not names.issuperset(data):
        return None
    values: dict[str, Any] = {}
    for name, convert, is_list, optional, default, minimum in fields:
        raw = data.get(name, _MISSING)
        if raw is _MISSING:
            if default is None:
                return None
            values[name] = default()
        elif raw is None:
            if not optional:
                return None
            values[name] = None
        elif is_list:
            if type(raw) is not list or len(raw) < minimum:
                return None
            items = [convert(item) for item in raw]
            if any(item is _FAIL for item in items):
                return None
            values[name] = items
        else:
            value = convert(raw)
            if value is _FAIL:
                return None
            values[name] = value
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(data))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def validated(model: type[M], data: Mapping[str, Any]) -> M:
    """The model for ``data``: built by :func:`construct` when possible, else by pydantic
    (which raises ValidationError exactly as ``model_validate`` does)."""
    built = construct(model, data)
    return built if built is not None else model.model_validate(data)
