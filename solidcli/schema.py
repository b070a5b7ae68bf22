"""Strict frozen-dataclass schemas for params.yaml: types, and a range for every number.

`build(cls, data)` turns plain YAML data into dataclass `cls`, refusing unknown keys, missing
keys, wrong types and out-of-range numbers with one line naming the key, the value and what is
allowed. A field's range is declared where the field is (`count()`, `positive()`, ...); every
float must be finite whatever its range. Hand-written rather than pydantic: the schema is a
few dataclasses, and this keeps the one-line messages and YAML 1.2 key names (`lambda`).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from solidcli.errors import SolidError


class ConfigError(SolidError):
    """params.yaml or an override does not match the schema."""


@dataclass(frozen=True)
class Range:
    """Allowed numbers: lo <= x (or lo < x when `lo_open`), x <= hi (x < hi when `hi_open`)."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def holds(self, x: float) -> bool:
        if self.lo is not None and (x <= self.lo if self.lo_open else x < self.lo):
            return False
        return not (self.hi is not None and (x >= self.hi if self.hi_open else x > self.hi))

    def __str__(self) -> str:
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '>='} {self.lo:g}")
        if self.hi is not None:
            hi = f"{self.hi:,}" if float(self.hi).is_integer() else f"{self.hi:g}"
            parts.append(f"{'<' if self.hi_open else '<='} {hi}")
        return " and ".join(parts) or "finite"


def _field(allowed: Range, key: str | None = None, dotted: bool = False) -> Any:
    meta: dict[str, Any] = {"range": allowed}
    if key is not None:
        meta["key"] = key  # the YAML name, where it is not a Python name (`lambda`)
    if dotted:
        meta["dotted"] = True  # floats written with a dot (DVC names runs after the text)
    return field(metadata=meta)


# Upper bounds, checked when params are read, before anything is allocated. Each is far above
# any setting of the paper and far below what breaks a library or a 24 GiB machine:
SEED_MAX = 2**32 - 1  # numpy's and torch's seeds are 32-bit everywhere (torch's: < 2**64)
WIDTH_MAX = 4096  # a width or length (train.dim, max_len, ...): (D x D) weights, (L x L)
# attention and an (items x D) table stay inside memory; the paper uses D = 64, L = 50
DEPTH_MAX = 64  # stacked layers (the paper: 1-2)
COUNT_MAX = 1_000_000  # a count of items, codes, epochs or a batch (the largest dataset has
# 213k items; more is not a setting but a typo)


def count(lo: int = 1, key: str | None = None, hi: int = COUNT_MAX) -> Any:
    """An integer field (or list of integers) in lo..hi (see the bounds above)."""
    return _field(Range(lo=lo, hi=hi), key)


def width(key: str | None = None) -> Any:
    """A width or sequence length: 1..WIDTH_MAX."""
    return count(hi=WIDTH_MAX, key=key)


def depth(lo: int = 1) -> Any:
    """A number of stacked layers: lo..DEPTH_MAX."""
    return count(lo=lo, hi=DEPTH_MAX)


def seed_field() -> Any:
    """A random seed (or list of seeds): 0..SEED_MAX."""
    return count(lo=0, hi=SEED_MAX)


def positive(key: str | None = None, dotted: bool = False) -> Any:
    """A finite number > 0."""
    return _field(Range(lo=0, lo_open=True), key, dotted)


def non_negative(key: str | None = None, dotted: bool = False) -> Any:
    """A finite number >= 0."""
    return _field(Range(lo=0), key, dotted)


def fraction(key: str | None = None) -> Any:
    """A probability such as dropout: 0 <= x < 1."""
    return _field(Range(lo=0, hi=1, hi_open=True), key)


def build(cls: type, data: Any, where: str) -> Any:
    """Build dataclass `cls` from plain data, strictly."""
    if not isinstance(data, dict):
        raise ConfigError(f"'{where}' must be a mapping, got {_kind(data)}")
    hints = typing.get_type_hints(cls)
    fields = {f.metadata.get("key", f.name): f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    prefix = f"{where}." if where else ""
    if unknown:
        raise ConfigError(f"unknown key '{prefix}{unknown[0]}' (known: {', '.join(fields)})")
    missing = [k for k, f in fields.items()  # a field with a default may be left out
               if k not in data and f.default is dataclasses.MISSING]
    if missing:
        raise ConfigError(f"missing key '{prefix}{missing[0]}'")
    kwargs = {f.name: _coerce(hints[f.name], data[k], prefix + k, f.metadata)
              for k, f in fields.items() if k in data}
    return cls(**kwargs)


def _check_range(value: float, where: str, allowed: Range | None) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"'{where}' must be a finite number"
                          + (f" {allowed}" if allowed else "") + f", got {value!r}")
    if allowed is not None and not allowed.holds(value):
        raise ConfigError(f"'{where}' must be {allowed}, got {value!r}")


def _coerce(hint: Any, value: Any, where: str, meta: Any = None) -> Any:
    meta = meta or {}
    allowed = meta.get("range")
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where, meta)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"'{where}' must be one of {', '.join(map(str, args))}, "
                              f"got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"'{where}' must be a list, got {_kind(value)}")
        return [_coerce(args[0], v, f"{where}[{i}]", meta) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"'{where}' must be a mapping, got {_kind(value)}")
        return {str(k): _coerce(args[1], v, f"{where}.{k}", meta) for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"'{where}' must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"'{where}' must be an integer, got {value!r}")
        _check_range(value, where, allowed)
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"'{where}' must be a number, got {value!r}")
        if meta.get("dotted") and isinstance(value, int):
            raise ConfigError(f"'{where}' must be written with a dot ({value}.0, not {value}): "
                              "DVC names the run after the value as written")
        _check_range(float(value), where, allowed)
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"'{where}' must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported schema type {hint!r}")  # a bug in the schema, not user input


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def to_dict(obj: Any) -> Any:
    """Dataclass -> plain data with the YAML key names (inverse of `build`)."""
    if dataclasses.is_dataclass(obj):
        return {
            f.metadata.get("key", f.name): to_dict(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
        }
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_dict(v) for v in obj]
    return obj
