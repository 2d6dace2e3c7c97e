"""The batch's input columns (Arrow arrays or lists) converted to `Vec`s, validated as the case
schema would, once per ruleset that reads them."""
from __future__ import annotations

from typing import TYPE_CHECKING

import datetime as dt
import math
from decimal import Decimal
from typing import Annotated

import numpy as np

from dsl import types as T

from .columns import _NAMES, ANDNOT, DAY_MAX, DAY_MIN, EPOCH, INPUT_SCALE, LIMIT, OR, Vec, _scaled, rows_where, select

if TYPE_CHECKING:
    from .run import Run

# ---------------------------------------------------------------- input conversion

def _present(raw, n):
    if isinstance(raw, list):
        return np.fromiter((v is not None and not (isinstance(v, str) and v == "") for v in raw), bool, n)
    import pyarrow as pa
    import pyarrow.compute as pc
    arr = _array(raw, decode=False)
    if pa.types.is_dictionary(arr.type):  # a categorical column: emptiness read off its dictionary
        codes = arr.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        return _texts_present(arr.dictionary.to_pylist())[codes]
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        p = pc.not_equal(arr, "")
        p = pc.fill_null(p, False) if arr.null_count else p
    elif arr.null_count == 0:
        return np.ones(n, bool)
    else:
        p = arr.is_valid()
    return p.to_numpy(zero_copy_only=False)


def _texts_present(values: list):
    """Per distinct value whether a cell holding it is filled, and False last (code -1: null)."""
    return np.array([v is not None and v != "" for v in values] + [False], bool)


def _array(raw, decode: bool = True):
    """One Arrow array; a dictionary-encoded (categorical) one decoded unless `decode` is False."""
    import pyarrow as pa
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks() if raw.num_chunks != 1 else raw.chunk(0)
    if decode and pa.types.is_dictionary(raw.type):
        raw = raw.dictionary_decode()
    return raw


def _encode(raw, present):
    """Distinct raw values and each row's index among them (-1 for an empty cell)."""
    if not isinstance(raw, list):
        import pyarrow as pa
        import pyarrow.compute as pc
        arr = _array(raw, decode=False)
        try:  # a categorical column (Parquet, Polars) is encoded already
            enc = arr if pa.types.is_dictionary(arr.type) else pc.dictionary_encode(arr)
        except Exception:  # noqa: BLE001 — nested types: per row
            raw = arr.to_pylist()
        else:
            codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            return select(present, codes, -1), enc.dictionary.to_pylist()
    index: dict = {}
    uniques: list = []
    codes = np.full(len(raw), -1, np.int64)
    for i, v in enumerate(raw):
        if not present[i]:
            continue
        try:
            k = (v.__class__, v)
            code = index.get(k)
        except TypeError:  # unhashable (a JSON list or object): its own entry
            code = None
            k = None
        if code is None:
            code = len(uniques)
            uniques.append(v)
            if k is not None:
                index[k] = code
        codes[i] = code
    return codes, uniques


def _adapter(entry, path: str):
    """A pydantic validator of one field, with the constraints of the ruleset's case schema."""
    import pydantic
    cache = entry.__dict__.setdefault("_vector_adapters", {})
    if path in cache:
        return cache[path]
    model = entry.lenient_schema
    parts = path.split(".")
    info = None
    for i, part in enumerate(parts):
        info = model.model_fields[part]
        if i < len(parts) - 1:
            ann = info.annotation
            model = next((a for a in getattr(ann, "__args__", ()) if isinstance(a, type)), ann)
    adapter = pydantic.TypeAdapter(Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation)
    cache[path] = adapter
    return adapter


def _native(arr, base, n):
    """Fast paths for typed Arrow columns: (data, bad) or None when the generic path applies."""
    import pyarrow as pa
    t = arr.type
    kind = base.kind

    def filled(fill):  # the values, empty cells as `fill` (they are read as none)
        return (arr.fill_null(fill) if arr.null_count else arr).to_numpy(zero_copy_only=False)
    if kind in ("int", "decimal", "money", "percent") and pa.types.is_integer(t) and not pa.types.is_uint64(t):
        return filled(0).astype(np.int64, copy=False), None
    if kind == "bool" and pa.types.is_boolean(t):
        return filled(False), None
    if kind == "date" and pa.types.is_date32(t):
        return (arr.fill_null(0) if arr.null_count else arr).cast(pa.int32()).to_numpy(
            zero_copy_only=False).astype(np.int64), None
    if kind == "int" and (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return _plain_integers(arr)
    return None


def _plain_integers(arr):
    """A text column (a CSV's) whose cells are all plain integers — ASCII digits, an optional
    minus, no leading zero, at most 15 digits — or empty: (values, None); pydantic reads each
    such text as that very integer. None when some cell is written otherwise (it then goes,
    with every distinct text, through pydantic)."""
    import pyarrow.compute as pc
    plain = pc.match_substring_regex(arr, r"^(-?[1-9][0-9]{0,14}|0)?$")
    if not pc.all(pc.fill_null(plain, True)).as_py():
        return None
    digits = pc.if_else(pc.equal(arr, ""), "0", arr)  # an empty cell is none: its value is not read
    return pc.cast(pc.fill_null(digits, "0"), "int64").to_numpy(zero_copy_only=False), None


def _convert_column(run: Run, entry, path: str, name: str, base: T.Type):
    """The column of input `path` as the ruleset `entry` validates it: (Vec, rows it rejects)."""
    from ..flat import read_cell as _read  # the row path's own reading of a cell
    n = run.n
    present = run.present(name)
    decl = entry.model.inputs[path]
    kind = base.kind
    vkind = {"int": "num", "decimal": "num", "money": "num", "percent": "num", "bool": "bool", "date": "date",
             "text": "sym", "enum": "sym"}.get(kind)
    if vkind is None:  # a list, set, map or record: not vectorised, the rows holding one go back
        return Vec("opaque", none=~present), present.copy()
    raw = run.columns[name]
    native = None if isinstance(raw, list) else _native(_array(raw), base, n)
    if native is not None:
        data, bad = native
        if vkind == "num":  # the `between`/`at least`/`at most` of the declaration, within ±2⁶⁰
            low, high = 1 - LIMIT, LIMIT - 1
            for b in decl.bounds:
                if b.kind == "min":
                    low = max(low, math.ceil(b.value))
                else:
                    high = min(high, math.floor(b.value))
            bad = OR(bad, (data < low) | (data > high))
        elif vkind == "date":
            bad = OR(bad, (data < DAY_MIN) | (data > DAY_MAX))
        none = rows_where(~present, n)
        return Vec(vkind, data, 0, kind == "int", none=none), rows_where(ANDNOT(bad, none), n)
    codes, uniques = run.encoded(name)
    adapter = _adapter(entry, path)
    column_kind = run.schema.columns[name].kind
    validated = []
    for raw_value in uniques:
        try:
            value = adapter.validate_python(_read(column_kind, raw_value))
        except (ValueError, TypeError, ArithmeticError):
            value = _BAD
        validated.append(value)
    ok = np.zeros(len(uniques) + 1, bool)  # the last entry: empty cells (code -1), none, not refused
    ok[-1] = True
    udata = np.zeros(len(uniques) + 1, np.bool_ if vkind == "bool" else np.int64)
    scale = 0
    if vkind == "num":
        good = [v for v in validated if isinstance(v, (int, Decimal)) and not isinstance(v, bool)]
        scale = max((max(0, -v.as_tuple().exponent) for v in good
                     if isinstance(v, Decimal) and v.is_finite()), default=0)
        scale = min(scale, INPUT_SCALE)
    for i, v in enumerate(validated):
        if v is _BAD:
            continue
        if vkind == "num":
            if isinstance(v, bool) or not isinstance(v, (int, Decimal)):
                continue
            if (kind == "int") != isinstance(v, int):
                continue
            s = (v, 0) if isinstance(v, int) and abs(v) < LIMIT else None
            if isinstance(v, int):
                s = (v * 10 ** scale, scale) if abs(v * 10 ** scale) < LIMIT else None
            else:
                s = _scaled(v, scale)
            if s is None:
                continue
            udata[i] = s[0]
        elif vkind == "bool":
            if not isinstance(v, bool):
                continue
            udata[i] = v
        elif vkind == "date":
            if not isinstance(v, dt.date) or isinstance(v, dt.datetime):
                continue
            udata[i] = v.toordinal() - EPOCH
        else:
            if not isinstance(v, str):
                continue
            udata[i] = _NAMES.hold(v, run.texts)
        ok[i] = True
    data = udata[codes]
    refused = None if ok.all() else rows_where((~ok)[codes], n)
    return Vec(vkind, data, scale, kind == "int", none=rows_where(~present, n)), refused


_BAD = object()


