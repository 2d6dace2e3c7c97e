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


def _adapter(entry, path: str, strict: bool = False):
    """A pydantic validator of one field, with the constraints of the ruleset's case schema
    (`strict`: records inside it refuse unknown fields, as the row engine's validation does)."""
    import pydantic
    cache = entry.__dict__.setdefault("_vector_adapters", {})
    if (path, strict) in cache:
        return cache[(path, strict)]
    model = entry.schema if strict else entry.lenient_schema
    parts = path.split(".")
    info = None
    for i, part in enumerate(parts):
        info = model.model_fields[part]
        if i < len(parts) - 1:
            ann = info.annotation
            model = next((a for a in getattr(ann, "__args__", ()) if isinstance(a, type)), ann)
    adapter = pydantic.TypeAdapter(Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation)
    cache[(path, strict)] = adapter
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


VKIND = {"int": "num", "decimal": "num", "money": "num", "percent": "num", "bool": "bool", "date": "date",
         "text": "sym", "enum": "sym"}
MAX_KEYS = 32  # distinct keys of a map input kept as columns; a row holding another goes back


def _convert_column(run: Run, entry, path: str, name: str, base: T.Type):
    """The column of input `path` as the ruleset `entry` validates it: (Vec, rows it rejects)."""
    n = run.n
    present = run.present(name)
    decl = entry.model.inputs[path]
    kind = base.kind
    vkind = VKIND.get(kind)
    if vkind is None:
        if kind == "map" and _map_of_scalars(base):
            return _convert_map(run, entry, path, name, base, present)
        return Vec("opaque", none=~present), present.copy()  # a list, set or record: the rows holding one go back
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
    codes, validated = _validated(run, entry, path, name)
    udata, scale, ok, none = _scalars(run, validated, kind)
    ok &= ~none  # a cell read as none: the row engine's business
    ok[-1] = True
    data = udata[codes]
    refused = None if ok.all() else rows_where((~ok)[codes], n)
    return Vec(vkind, data, scale, kind == "int", none=rows_where(~present, n)), refused


def _validated(run: Run, entry, path: str, name: str, strict: bool = False):
    """Each row's index among the distinct cells of the column, and each distinct cell as the
    case schema validates it (_BAD when it refuses it)."""
    codes, uniques = run.encoded(name)
    return codes, _validated_cells(run, entry, path, name, uniques, range(len(uniques)), strict)


def _scalars(run: Run, validated: list, kind: str):
    """Validated values of a scalar type as column data, one entry per value and one more, last,
    for empty cells (code -1): (data, scale, ok — the value is one this back-end holds, none —
    the value is none)."""
    vkind = VKIND[kind]
    ok = np.zeros(len(validated) + 1, bool)
    ok[-1] = True
    none = np.zeros(len(validated) + 1, bool)
    none[-1] = True
    udata = np.zeros(len(validated) + 1, np.bool_ if vkind == "bool" else np.int64)
    scale = 0
    if vkind == "num":
        good = [v for v in validated if isinstance(v, (int, Decimal)) and not isinstance(v, bool)]
        scale = max((max(0, -v.as_tuple().exponent) for v in good
                     if isinstance(v, Decimal) and v.is_finite()), default=0)
        scale = min(scale, INPUT_SCALE)
    for i, v in enumerate(validated):
        if v is _BAD:
            continue
        if v is None:
            ok[i] = none[i] = True
            continue
        if vkind == "num":
            if isinstance(v, bool) or not isinstance(v, (int, Decimal)):
                continue
            if (kind == "int") != isinstance(v, int):
                continue
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
    return udata, scale, ok, none


def _map_of_scalars(base: T.Type) -> bool:
    """A map from int to a scalar or to a record of scalars (`contract.observed`)."""
    key, value = base.args
    if key.base.kind != "int":
        return False
    value = value.base
    if value.kind == "record":
        return all(f.base.kind in VKIND for _, f in value.fields)
    return value.kind in VKIND


def _convert_map(run: Run, entry, path: str, name: str, base: T.Type, present):
    """A map input as columns: for each key met (at most MAX_KEYS), whether a row holds it and its
    value's columns (a record: a column per field). Cells in a canonical form are read by Arrow
    (json_cells.py), the others validated one by one as the row engine does; rows the schema
    refuses are the row engine's (it names the problem); rows holding more keys go back too."""
    from . import json_cells
    from .lists import VMap
    n = run.n
    value_type = base.args[1].base
    codes, uniques = run.encoded(name)
    fields = json_cells.fields_of(value_type)
    fast = None
    if fields is not None and run.schema.columns[name].kind == "json" and not entry.model.inputs[path].bounds:
        fast = json_cells.read(uniques, fields)
    u = len(uniques)
    slow = range(u) if fast is None else np.flatnonzero(~fast.fast).tolist()
    validated = _validated_cells(run, entry, path, name, uniques, slow, strict=True)
    # the cells validated one by one (and only those) are read in Python
    maps = {i: validated[i] for i in slow if isinstance(validated[i], dict)}
    refused = np.zeros(u + 1, bool)
    refused[[i for i in slow if validated[i] is _BAD or (validated[i] is not None and i not in maps)]] = True
    held_by: dict = {}
    for i, m in maps.items():
        for key in m:
            held_by.setdefault(key, np.zeros(u + 1, bool))[i] = True
    if fast is not None:
        for key, (held, _) in fast.keys.items():
            held_by.setdefault(key, np.zeros(u + 1, bool))[:-1] |= held
    keys = sorted(held_by)
    too_many = np.zeros(u + 1, bool)
    if len(keys) > MAX_KEYS:
        for key in keys[MAX_KEYS:]:
            too_many |= held_by[key]
        keys = keys[:MAX_KEYS]

    def column(key, kind, pick, j):
        """A value's column (a record's field `j`) over the distinct cells: the validated cells'
        values, and the int64 values Arrow read on the canonical ones."""
        holders = [i for i, m in maps.items() if key in m]
        read = fast.keys.get(key) if fast is not None else None
        return _values_column(run, holders, [pick(maps[i][key]) for i in holders], kind, codes, u,
                              None if read is None else (read[0], read[1][j]))

    present_cols, values = [], []
    for key in keys:
        held = held_by[key]
        present_cols.append(held[codes])
        if value_type.kind == "record":
            record = {}
            for j, (field, ftype) in enumerate(value_type.fields):
                record[field], bad = column(key, ftype.base.kind, lambda r, f=field: _field(r, f), j)
                refused |= bad & held
            values.append(Vec("record", record))
        else:
            col, bad = column(key, value_type.kind, lambda x: x, 0)
            refused |= bad & held
            values.append(col)
    defer = rows_where(too_many[codes], n)
    return (Vec("map", VMap(keys, present_cols, values), none=rows_where(~present, n), defer=defer),
            rows_where(refused[codes], n))


def _validated_cells(run: Run, entry, path: str, name: str, uniques: list, which, strict: bool):
    """The distinct cells of `which` (indices into `uniques`) as the case schema validates them
    (_BAD when it refuses one); None for the others."""
    from ..flat import read_cell as _read  # the row path's own reading of a cell
    adapter = _adapter(entry, path, strict)
    column_kind = run.schema.columns[name].kind
    validated: list = [None] * len(uniques)
    for i in which:
        try:
            validated[i] = adapter.validate_python(_read(column_kind, uniques[i]))
        except (ValueError, TypeError, ArithmeticError):
            validated[i] = _BAD
    return validated


def _field(record, field: str):
    if record is None:
        return None
    return record.get(field) if isinstance(record, dict) else getattr(record, field, None)


def _values_column(run: Run, holders: list, values: list, kind: str, codes, u: int, read=None):
    """The column of scalar values over the `u` distinct cells — `values` those of the cells
    `holders`, `read` (the cells holding one, their int64 values) those json_cells.py read; no
    value in the other cells — and the distinct cells whose value this back-end cannot hold."""
    data, scale, ok, none = _scalars(run, values, kind)
    udata = np.zeros(u + 1, data.dtype)
    unone, uok = np.ones(u + 1, bool), np.ones(u + 1, bool)
    udata[holders], unone[holders], uok[holders] = data[:-1], none[:-1], ok[:-1]
    if read is not None:
        held, ints = read
        udata[:-1][held] = ints[held] * 10 ** scale
        unone[:-1][held] = False
    return Vec(VKIND[kind], udata[codes], scale, kind == "int", none=rows_where(unone[codes], len(codes))), ~uok


_BAD = object()


