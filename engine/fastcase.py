"""A quick acceptance check of cases already in canonical form, before pydantic.

`engine.case.validate` asks `checker(model, schema)` for a function that either returns the
validated case (the very dict pydantic's `model_validate(...).model_dump()` would give) or
`None`, meaning "not sure": the case is then validated by pydantic, which gives the exact
error messages and every lax conversion. The checker only accepts values whose conversion is
unambiguous (an `int` for an int, a `date` or an ISO `YYYY-MM-DD` string for a date, an
`int`, a `Decimal` or a plain decimal string for a decimal, one of the members' names for an
enum, …) and within the declared bounds; anything else — a missing required field, an
unknown field under the strict schema, a list, a float, a bound crossed — defers to pydantic.
tests/test_fastcase.py compares both on generated cases.
"""
from __future__ import annotations

import datetime as dt
import re
import weakref
from decimal import Decimal
from typing import Callable

from dsl.model import Ruleset

_DECIMAL_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class _Defer(Exception):
    """The fast check is not sure: pydantic decides."""


_CACHE: dict[int, tuple] = {}  # id(schema) → (weak reference to it, its check); a plain dict is read faster


def checker(model: Ruleset, schema: type) -> Callable[[object], dict | None] | None:
    """The quick check for `schema` (the strict or the lenient case model of `model`), built once."""
    known = _CACHE.get(id(schema))
    if known is not None and known[0]() is schema:
        return known[1]
    extra = schema.model_config.get("extra", "ignore")
    try:
        group = _group(model, "", extra == "forbid")
    except _Defer:  # a declaration this check does not know: always pydantic
        fn = None
    else:
        def fn(raw):
            try:
                return group(raw)
            except _Defer:
                return None
    _CACHE[id(schema)] = (weakref.ref(schema), fn)
    return fn


_SIGNATURES: dict[int, tuple] = {}  # id(model) → (weak reference to it, signature)


def input_signature(model: Ruleset) -> tuple:
    """What a ruleset's case schema accepts and how: every input path with its type (enums by their
    members) and bounds, in order. Two rulesets with equal signatures validate a case alike."""
    known = _SIGNATURES.get(id(model))
    if known is not None and known[0]() is model:
        return known[1]
    signature = tuple((path, _type_signature(model, decl.type), tuple((b.kind, b.value) for b in decl.bounds))
                      for path, decl in model.inputs.items())
    _SIGNATURES[id(model)] = (weakref.ref(model), signature)
    return signature


def declaration_signature(model: Ruleset, path: str) -> tuple:
    """How `model` declares input `path` (type, enum members, bounds): rulesets whose declarations of
    a path are equal accept and convert its values alike."""
    known = _DECLARATIONS.get(id(model))
    if known is None or known[0]() is not model:
        known = _DECLARATIONS[id(model)] = (weakref.ref(model), {p: (t, b) for p, t, b in input_signature(model)})
    return known[1][path]


_DECLARATIONS: dict[int, tuple] = {}
_REUSE: dict[tuple[int, int], tuple] = {}  # (id(a), id(b)) → (weak refs, checks or None)


def reuse_checks(a: Ruleset, b: Ruleset) -> list[tuple[tuple[str, ...], frozenset]] | None:
    """Whether a case `a` accepted (strictly or leniently) is, as it stands, the case `b` accepts
    leniently: the same input paths in the same order, with the same types and bounds — except
    enums whose members differ, given here as (path parts, `b`'s members): the value `a` accepted
    must then be one of `b`'s members (else `b` validates the case itself, for its own error).
    None: `b` must validate the case itself."""
    key = (id(a), id(b))
    known = _REUSE.get(key)
    if known is not None and known[0]() is a and known[1]() is b:
        return known[2]
    checks: list | None = []
    sa, sb = input_signature(a), input_signature(b)
    if [p for p, _, _ in sa] != [p for p, _, _ in sb]:
        checks = None
    else:
        for (path, ta, bounds_a), (_, tb, bounds_b) in zip(sa, sb):
            if ta == tb and bounds_a == bounds_b:
                continue
            if ta[0] == "optional" and tb[0] == "optional":
                ta, tb = ta[1][0], tb[1][0]
            if bounds_a == bounds_b and ta[0] == "enum" and tb[0] == "enum":
                checks.append((tuple(path.split(".")), frozenset(tb[1])))
                continue
            checks = None
            break
    _REUSE[key] = (weakref.ref(a), weakref.ref(b), checks)
    return checks


def reusable(a: Ruleset, b: Ruleset, inputs: dict) -> bool:
    """Whether `inputs` (the case `a` validated) is the case `b` would validate leniently."""
    checks = reuse_checks(a, b)
    if checks is None:
        return False
    for parts, members in checks:
        value = inputs
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None and value not in members:
            return False
    return True


def _type_signature(model: Ruleset, ref) -> tuple:
    if ref.kind == "named":
        if ref.name in model.enums:
            return ("enum", tuple(m.name for m in model.enums[ref.name].members))
        return ("named", ref.name)
    return (ref.kind, tuple(_type_signature(model, a) for a in ref.args),
            tuple((name, _type_signature(model, t)) for name, t in ref.fields))


def _group(model: Ruleset, prefix: str, strict: bool):
    fields = []
    for path, decl in model.inputs.items():
        head, _, name = path.rpartition(".")
        if head != prefix.rstrip("."):
            continue
        optional = decl.type.kind == "optional"
        ref = decl.type.args[0] if optional else decl.type
        check = _value(model, ref, path, strict)
        bounds = {b.kind: _bound(b.value, check) for b in decl.bounds}
        fields.append((name, optional, check, bounds.get("min"), bounds.get("max")))
    known = frozenset(name for name, *_ in fields)

    def group(raw):
        if type(raw) is not dict:
            raise _Defer
        if strict and not known.issuperset(raw):
            raise _Defer
        out = {}
        for name, optional, check, low, high in fields:
            value = raw.get(name)
            if value is None:
                if not optional:
                    raise _Defer
                out[name] = None
            else:
                value = out[name] = check(value)
                if (low is not None and not value >= low) or (high is not None and not value <= high):
                    raise _Defer
        return out
    return group


def _bound(value, check):
    """A bound as compared: a whole one as an int for an int field (the same test, without
    converting each value to Decimal)."""
    if check is _int and isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return value


def _value(model: Ruleset, ref, path: str, strict: bool):
    if ref.kind == "group":
        return _group(model, path + ".", strict)
    if ref.kind != "named":
        return _always_defer  # lists, sets, maps, records: pydantic (None is still accepted above)
    name = ref.name
    if name == "int":
        return _int
    if name in ("decimal", "money", "percent"):
        return _decimal
    if name == "date":
        return _date
    if name == "text":
        return _text
    if name == "bool":
        return _bool
    if name in model.enums:
        members = frozenset(m.name for m in model.enums[name].members)

        def enum(value):
            if type(value) is str and value in members:
                return value
            raise _Defer
        return enum
    raise _Defer


def _always_defer(value):
    raise _Defer


def _int(value):
    if type(value) is int:
        return value
    raise _Defer


def _decimal(value):
    t = type(value)
    if t is Decimal:
        if value.is_finite():
            return value
    elif t is int:
        return Decimal(value)
    elif t is str and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    raise _Defer


def _date(value):
    t = type(value)
    if t is dt.date:
        return value
    if t is str and _DATE_TEXT.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise _Defer from None
    raise _Defer


def _text(value):
    if type(value) is str:
        return value
    raise _Defer


def _bool(value):
    if type(value) is bool:
        return value
    raise _Defer
