"""Map cells read by Arrow (engine/vector/json_cells.py) are read as the case schema's validation
reads them, one cell at a time: the same keys, values, empty cells and refused rows, on hand-picked
awkward cells and on random ones written in many ways."""
import datetime as dt
import json

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from engine import shipped_registry  # noqa: E402
from engine.batch import Batch  # noqa: E402
from engine.vector import inputs, json_cells  # noqa: E402
from engine.vector.run import Run, engine_for  # noqa: E402

REGISTRY = shipped_registry()
ON = dt.date(2026, 9, 1)
PATH, COLUMN = "contract.observed", "contract_observed"


def convert(cells: list, fast: bool):
    """contract.observed's column (VMap) and the rows it refuses, read with or without Arrow."""
    batch = Batch.prepare(ON, REGISTRY, None)
    n = len(cells)
    columns = {COLUMN: pa.array(cells, pa.string()), "contract_signed_on": pa.array(["2025-01-01"] * n)}
    run = Run(engine_for(REGISTRY), batch.schema, columns, n, ON)
    entry = REGISTRY.in_force(ON)
    base = entry.model.input_type(PATH).base
    before = json_cells.read
    if not fast:
        json_cells.read = lambda uniques, fields: None
    try:
        v, refused = inputs._convert_map(run, entry, PATH, COLUMN, base, run.present(COLUMN))
    finally:
        json_cells.read = before
    return v, refused


def described(v, refused, n):
    """Per row: None (no map), 'refused', 'too many keys', or {key: (patients_mt, file_active)}."""
    m = v.data
    out = []
    for i in range(n):
        if refused is not None and refused[i]:
            out.append("refused")
        elif v.defer is not None and v.defer[i]:
            out.append("too many keys")
        elif v.none is not None and v.none[i]:
            out.append(None)
        else:
            row = {}
            for key, held, value in zip(m.keys, m.present, m.values):
                if held[i]:
                    row[key] = tuple(None if f.none is not None and f.none[i] else int(f.data[i])
                                     for f in value.data.values())
            out.append(row)
    return out


def both(cells):
    fast = described(*convert(cells, True), len(cells))
    slow = described(*convert(cells, False), len(cells))
    assert fast == slow
    return fast


def test_canonical_and_awkward_cells_read_alike():
    cells = [
        '{"3": {"patients_mt": 35, "file_active": 2222}, "4": {"patients_mt": 263, "file_active": 2516}}',
        '{"3":{"patients_mt":35,"file_active":2222}}',               # compact separators: canonical
        ' {\n "-2" : { "patients_mt" : -7 , "file_active" : 0 } } ',  # whitespace, negative key and value
        "{}",
        '{"03": {"patients_mt": 1, "file_active": 2}}',              # leading zero: validated
        '{"3": {"file_active": 2, "patients_mt": 1}}',               # other field order: validated
        '{"3": {"patients_mt": 1.0, "file_active": 2}}',             # 1.0: validated
        '{"3": {"patients_mt": 1, "file_active": 2}, "3": {"patients_mt": 5, "file_active": 6}}',  # twice
        '{"3": {"patients_mt": 1}}',                                  # a field missing: refused
        '{"3": {"patients_mt": 1, "file_active": 2, "x": 3}}',       # an unknown field: refused
        "null",
        "",
        '{"3": {"patients_mt": 999999999999999999, "file_active": 2}}',  # 18 digits: still a column
        '{"3": {"patients_mt": "12", "file_active": 2}}',            # a text: validated
    ]
    got = both(cells)
    assert got[0] == {3: (35, 2222), 4: (263, 2516)}
    assert got[1] == {3: (35, 2222)}
    assert got[2] == {-2: (-7, 0)}
    assert got[3] == {}
    assert got[4] == got[5] == {3: (1, 2)}
    assert got[7] == got[8] == got[9] == "refused"
    assert got[11] is None
    assert got[12] == {3: (999999999999999999, 2)}


@st.composite
def cell(draw):
    if draw(st.integers(0, 15)) == 0:
        return draw(st.sampled_from(["", "null", "{}", "[]", "{", '{"3": null}', "0"]))
    ws = st.sampled_from(["", " ", "  ", "\n", "\t", " \r\n"])
    number = st.one_of(st.integers(-5, 3000), st.integers(-10 ** 19, 10 ** 19))
    entries = []
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.integers(-3, 12))
        key_text = draw(st.sampled_from([str(key), str(key), "0" + str(key)])) if key >= 0 else str(key)
        fields = [("patients_mt", draw(number)), ("file_active", draw(number))]
        if draw(st.integers(0, 8)) == 0:
            fields.reverse()
        if draw(st.integers(0, 12)) == 0:
            fields.pop()
        parts = []
        for name, value in fields:
            text = json.dumps(value) if draw(st.integers(0, 10)) else json.dumps(float(value) if abs(value) < 1e15 else str(value))
            parts.append(f'"{name}"{draw(ws)}:{draw(ws)}{text}')
        entries.append(f'"{key_text}"{draw(ws)}:{draw(ws)}{{{draw(ws)}' + f"{draw(ws)},{draw(ws)}".join(parts) + "}")
    return draw(ws) + "{" + draw(ws) + f"{draw(ws)},{draw(ws)}".join(entries) + draw(ws) + "}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(cell(), min_size=1, max_size=30))
def test_random_cells_read_alike(cells):
    both(cells)


def test_arrow_reads_the_canonical_cells_only():
    cells = ['{"3": {"patients_mt": 35, "file_active": 2222}, "4": {"patients_mt": 263, "file_active": 2516}}',
             '{"03": {"patients_mt": 1, "file_active": 2}}',
             '{"3": {"patients_mt": 1, "file_active": 2}, "3": {"patients_mt": 5, "file_active": 6}}',
             '{"3": {"file_active": 2, "patients_mt": 1}}',
             '{ "-1" :{"patients_mt":0,"file_active":-4} }',
             "{}"]
    read = json_cells.read(cells, ["patients_mt", "file_active"])
    assert read.fast.tolist() == [True, False, False, False, True, True]
    held, (patients, active) = read.keys[3]
    assert held.tolist() == [True, False, False, False, False, False]
    assert (patients[0], active[0]) == (35, 2222)
    assert read.keys[4][1][1][0] == 2516
    assert read.keys[-1][1][1][4] == -4
    assert set(read.keys) == {3, 4, -1}
