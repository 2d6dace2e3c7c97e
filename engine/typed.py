"""Typed result columns (Parquet, Arrow, Polars): each output's values under its declared type.

The row engine's values, in their JSON form (`engine.values.to_json`), become Arrow columns that
hold them exactly:

| declared type | Arrow type |
|---|---|
| `money` | `decimal128(18, 2)` (a value with more decimals is refused, never rounded) |
| `decimal`, `percent` | `decimal128(38, 32)` (a percent as a fraction: 0.15 for 15 %) |
| `int` | `int64` |
| `bool` | `bool` |
| `date` | `date32` |
| `text` | `string` |
| an enumeration | `dictionary<int32, string>`, the members of the enumeration as dictionary |
| a record (`reason` too) | `struct`, one field per field of the record |
| `list of T`, `set of T` | `list<struct>`: records as they are, other values as `{value: T}` |
| `map`, anything else | `string`, the JSON text |

A value not established is null, and beside it (for an output `x`; for a field `f` of a record,
as fields `f__…` of the same struct):

- `x__not_established` (string): the reason, null when the value is established;
- `x__between_low`, `x__between_high` (typed like `x`; numbers and dates only): its bounds, where
  known (null: no bound on that side);
- `x__one_of` (a list of values typed like `x`; scalars only): the values it may take, when they
  are known one by one;
- `x__decided_by` (list of strings): the names of the unknowns that would decide it.

`to_json_form` reads a typed value back into the JSON form: the two are equal, value for value
(tests/test_typed.py).
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from dsl import types as T
from dsl.errors import MillesimeError

NE, LOW, HIGH, ONE_OF, DECIDED = "__not_established", "__between_low", "__between_high", "__one_of", "__decided_by"
ORDERED = {"int", "money", "decimal", "percent", "date"}
SCALAR = ORDERED | {"bool", "text", "enum"}
MONEY_TYPE = (18, 2)
DECIMAL_TYPE = (38, 32)


class TypedError(MillesimeError):
    """A value that its column's type cannot hold exactly."""


def _pa():
    import pyarrow as pa
    return pa


def _kind(t: T.Type | None) -> str:
    t = t.base if t is not None else None
    if t is None:
        return "json"
    if t.kind in SCALAR:
        return t.kind
    if t.kind in ("record", "reason"):
        return "record"
    if t.kind in ("list", "set"):
        return "list"
    return "json"


def scalar_type(t: T.Type):
    pa = _pa()
    kind = _kind(t)
    return {"int": pa.int64(), "money": pa.decimal128(*MONEY_TYPE), "decimal": pa.decimal128(*DECIMAL_TYPE),
            "percent": pa.decimal128(*DECIMAL_TYPE), "bool": pa.bool_(), "date": pa.date32(), "text": pa.string(),
            "enum": pa.dictionary(pa.int32(), pa.string())}[kind]


def value_type(t: T.Type):
    """The Arrow type of a value of declared type `t` (without its not-established fields)."""
    pa = _pa()
    kind = _kind(t)
    if kind in SCALAR:
        return scalar_type(t)
    if kind == "record":
        return pa.struct(_record_fields(t.base))
    if kind == "list":
        inner = t.base.args[0]
        return pa.list_(value_type(inner) if _kind(inner) == "record" else pa.struct(_fields("value", inner)))
    return pa.string()


def _record_fields(t: T.Type) -> list:
    out = []
    for name, ft in t.fields:
        out.extend(_fields(name, ft))
    return out


def _fields(name: str, t: T.Type) -> list:
    """The fields of a value named `name`: itself, then what says it is not established."""
    pa = _pa()
    kind = _kind(t)
    out = [pa.field(name, value_type(t)), pa.field(name + NE, pa.string())]
    if kind in ORDERED:
        out += [pa.field(name + LOW, scalar_type(t)), pa.field(name + HIGH, scalar_type(t))]
    if kind in SCALAR:
        out.append(pa.field(name + ONE_OF, pa.list_(scalar_type(t))))
    out.append(pa.field(name + DECIDED, pa.list_(pa.string())))
    return out


def output_fields(name: str, t: T.Type) -> list:
    """The Arrow fields of output `name`: its value, then its not-established columns."""
    return _fields(name, t)


# ---------------------------------------------------------------- JSON form → Python values for Arrow

def _is_open(value) -> bool:
    return isinstance(value, dict) and "not_established" in value


def _scalar(value, kind: str):
    if value is None:
        return None
    if kind in ("money", "decimal", "percent"):
        return Decimal(value) if isinstance(value, (str, int, Decimal)) else value
    if kind == "date":
        return dt.date.fromisoformat(value) if isinstance(value, str) else value
    return value


def _parts(value, t: T.Type) -> dict:
    """A JSON-form value → {field suffix: Python value} for the fields of `_fields`."""
    kind = _kind(t)
    if _is_open(value):
        out = {"": None, NE: value["not_established"],
               DECIDED: [d["name"] for d in value.get("decided_by", [])]}
        if kind in ORDERED:
            low, high = value.get("between", [None, None])
            out[LOW], out[HIGH] = _scalar(low, kind), _scalar(high, kind)
        if kind in SCALAR:
            out[ONE_OF] = [_scalar(v, kind) for v in value["one_of"]] if "one_of" in value else None
        return out
    out = {"": _value(value, t), NE: None, DECIDED: None}
    if kind in ORDERED:
        out[LOW] = out[HIGH] = None
    if kind in SCALAR:
        out[ONE_OF] = None
    return out


def _value(value, t: T.Type):
    kind = _kind(t)
    if value is None:
        return None
    if kind in SCALAR:
        return _scalar(value, kind)
    if kind == "record":
        return _record(value, t.base)
    if kind == "list":
        inner = t.base.args[0]
        if _kind(inner) == "record":
            return [_record(v, inner.base) if not _is_open(v) else _open_record(v, inner.base) for v in value]
        return [_named("value", v, inner) for v in value]
    return json.dumps(value, ensure_ascii=False)


def _named(name: str, value, t: T.Type) -> dict:
    return {name + suffix: v for suffix, v in _parts(value, t).items()}


def _record(value: dict, t: T.Type) -> dict:
    out = {}
    for name, ft in t.fields:
        out.update(_named(name, value.get(name), ft))
    return out


def _open_record(value: dict, t: T.Type) -> dict:
    """A list element that is itself not established: every field says so."""
    out = {}
    for name, ft in t.fields:
        out.update(_named(name, value, ft))
    return out


# ---------------------------------------------------------------- columns

class Columns:
    """The typed columns of one output, built from JSON-form values."""

    def __init__(self, name: str, t: T.Type, enums: dict[str, list[str]] | None = None):
        self.name, self.t = name, t
        self.fields = output_fields(name, t)
        self.enum_members = (enums or {}).get(t.base.name) if _kind(t) == "enum" else None

    def arrays(self, values: list) -> list:
        """One Arrow array per field, for JSON-form `values` (one per row)."""
        columns = {f.name: [] for f in self.fields}
        for value in values:
            for suffix, v in _parts(value, self.t).items():
                columns[self.name + suffix].append(v)
        out = []
        for f in self.fields:
            out.append(self._array(f, columns[f.name]))
        return out

    def _array(self, f, data: list):
        pa = _pa()
        if f.name == self.name and self.enum_members is not None:
            members = self.enum_members
            index = {m: i for i, m in enumerate(members)}
            if all(v is None or v in index for v in data):
                indices = pa.array([None if v is None else index[v] for v in data], pa.int32())
                return pa.DictionaryArray.from_arrays(indices, pa.array(members, pa.string()))
        try:
            return pa.array(data, f.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            bad = next((v for v in data if not _fits(v, f.type)), None)
            raise TypedError(f"résultat `{f.name}` : la valeur {bad} ne tient pas exactement dans une colonne "
                             f"{f.type} ({exc})") from None


def _fits(value, arrow_type) -> bool:
    pa = _pa()
    try:
        pa.array([value], arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return False
    return True


def decode_cell(text, t: T.Type):
    """A JSON-form cell as text (`engine.values.text_cell`) → the JSON-form value."""
    if text is None:
        return None
    kind = _kind(t)
    if kind in ("money", "decimal", "percent", "date", "text", "enum"):
        if text.startswith('{"not_established"'):
            return json.loads(text, parse_float=Decimal)
        return text
    return json.loads(text, parse_float=Decimal)


# ---------------------------------------------------------------- typed → JSON form (for checks)

def to_json_form(row: dict, name: str, t: T.Type):
    """The JSON-form value of output `name` from a typed row (a dict of the output's fields, as
    `pyarrow.Table.to_pylist` gives them)."""
    return _back(row, name, t)


def _back(row: dict, name: str, t: T.Type):
    kind = _kind(t)
    reason = row.get(name + NE)
    if reason is not None:
        out: dict = {"not_established": reason}
        if kind in ORDERED and (row.get(name + LOW) is not None or row.get(name + HIGH) is not None):
            out["between"] = [_scalar_back(row.get(name + LOW), t), _scalar_back(row.get(name + HIGH), t)]
        if kind in SCALAR and row.get(name + ONE_OF) is not None:
            out["one_of"] = [_scalar_back(v, t) for v in row[name + ONE_OF]]
        out["decided_by"] = row.get(name + DECIDED) or []
        return out
    value = row.get(name)
    if value is None:
        return None
    if kind in SCALAR:
        return _scalar_back(value, t)
    if kind == "record":
        return {fname: _back(value, fname, ft) for fname, ft in t.base.fields}
    if kind == "list":
        inner = t.base.args[0]
        if _kind(inner) == "record":
            return [{fname: _back(v, fname, ft) for fname, ft in inner.base.fields} for v in value]
        return [_back(v, "value", inner) for v in value]
    return json.loads(value, parse_float=Decimal)


def _scalar_back(value, t: T.Type):
    from .values import to_json
    if value is None:
        return None
    kind = _kind(t)
    if kind in ("decimal", "percent") and isinstance(value, Decimal):
        return to_json(value.normalize() if value != 0 else Decimal(0), t)
    return to_json(value, t)
