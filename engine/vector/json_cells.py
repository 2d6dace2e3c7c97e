"""JSON cells of a map input read by Arrow's string kernels, not one `json.loads` and one pydantic
validation per cell (`contract.observed`: `{"3": {"patients_mt": 35, "file_active": 2222}, …}`).

Only cells in a canonical form are read here: an object whose keys are integers written as JSON
writes them (no sign but `-`, no leading zero, at most 18 digits) and whose values are integers,
or records of integers with exactly the declared fields in the declared order, separated by JSON
whitespace. A regular expression (RE2, one Arrow call) picks those cells; their field names are
then dropped and what is left split into integer tokens, read as int64 in one cast. Such a cell
has one meaning and the case schema accepts it: the same keys and values as the row engine's
validation gives (tests/test_json_cells.py checks both on random and awkward cells). Any other
cell — a key written twice, `1.0`, another field order, `null` — is left to that validation,
which reads it or names its problem.
"""
from __future__ import annotations

import re

import numpy as np

_WS = "[ \t\n\r]*"
_INT = "(?:0|-?[1-9][0-9]{0,17})"  # |x| < 10¹⁸ < 2⁶⁰: every one fits a column
_NAME = re.compile("[A-Za-z_][A-Za-z0-9_]*")  # a field name the token split can drop


def fields_of(value_type) -> list[str] | None:
    """The fields read per key (`[]` for a map to integers), or None when the map's values are
    not integers or records of integers."""
    if value_type.kind == "int":
        return []
    if value_type.kind == "record" and all(f.base.kind == "int" and f.kind != "optional" and _NAME.fullmatch(name)
                                           for name, f in value_type.fields):
        return [name for name, _ in value_type.fields]
    return None


def pattern(fields: list[str]) -> str:
    """The RE2 pattern of a canonical cell."""
    sep = _WS + "," + _WS
    if fields:
        value = r"\{" + _WS + sep.join(f'"{re.escape(f)}"' + _WS + ":" + _WS + _INT for f in fields) + _WS + r"\}"
    else:
        value = _INT
    entry = '"' + _INT + '"' + _WS + ":" + _WS + value
    return "^" + _WS + r"\{" + _WS + "(?:" + entry + "(?:" + sep + entry + ")*)?" + _WS + r"\}" + _WS + "$"


class Read:
    """The canonical cells among a column's distinct cells: `fast` (a mask over them) and, per
    key met, the cells holding it and each field's int64 values (index: the distinct cell)."""

    def __init__(self, fast, keys: dict):
        self.fast = fast
        self.keys = keys  # key → (held mask, [values per field] — one column for a map to integers)


def read(uniques: list, fields: list[str]) -> Read | None:
    """The canonical cells of `uniques` (distinct texts) read, or None when none is."""
    import pyarrow as pa
    import pyarrow.compute as pc
    u = len(uniques)
    if not u or not all(isinstance(x, str) for x in uniques):
        return None
    texts = pa.array(uniques, pa.string())
    fast = pc.match_substring_regex(texts, pattern(fields)).to_numpy(zero_copy_only=False)
    if not fast.any():
        return None
    cells = np.flatnonzero(fast)
    bare = pc.replace_substring_regex(texts.take(pa.array(cells)), '"[A-Za-z_][A-Za-z0-9_]*"', "")
    pieces = pc.split_pattern_regex(bare, "[^0-9-]+")
    tokens = pc.list_flatten(pieces)
    parents = pc.list_parent_indices(pieces).to_numpy(zero_copy_only=False)
    nonempty = pc.not_equal(tokens, "")
    tokens = tokens.filter(nonempty)
    parents = parents[nonempty.to_numpy(zero_copy_only=False)]
    width = 1 + max(len(fields), 1)
    numbers = pc.cast(tokens, pa.int64()).to_numpy(zero_copy_only=False).reshape(-1, width)
    owner = cells[parents[::width]]  # each entry's distinct cell
    keys = numbers[:, 0]
    # a key written twice in a cell (`"3"` and `"3"`): the validation names that problem
    pairs = np.stack([owner, keys], axis=1)
    _, first, counts = np.unique(pairs, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        twice = np.unique(pairs[first[counts > 1], 0])
        fast[twice] = False
        kept = fast[owner]
        owner, keys, numbers = owner[kept], keys[kept], numbers[kept]
    out = {}
    for key in np.unique(keys).tolist():
        at = keys == key
        held = np.zeros(u, bool)
        held[owner[at]] = True
        columns = []
        for j in range(width - 1):
            column = np.zeros(u, np.int64)
            column[owner[at]] = numbers[at, 1 + j]
            columns.append(column)
        out[int(key)] = (held, columns)
    return Read(fast, out)
