"""A comprehension's positions evaluated at once in the vector back-end (engine/vector/lists.py
`_stacked`): the payment calendar `[payments_of(y) for y in 1..…]` runs its rules once for the
rows of every contract year rather than once per year. On the bench's realistic population, at
dates where calendars run from one to five years, every row computed in columns equals the row
engine's, and the stacked path is the one taken."""
import datetime as dt
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")

from engine import vector  # noqa: E402
from engine.batch import Batch, cell  # noqa: E402
from engine.registry import Registry  # noqa: E402
from engine.vector import lists  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import realistic as R  # noqa: E402

OUTPUTS = ["payments", "aid_due", "annual_aid", "achievement_rate"]


def realistic_table(n: int, seed: int):
    rows = R.rows(n, seed)
    return pa.table({c: pa.array([r.get(c) or None for r in rows], pa.string()) for c in R.COLUMNS})


@pytest.mark.parametrize("on, rows_limit", [(dt.date(2026, 9, 1), None), (dt.date(2024, 3, 1), None),
                                            (dt.date(2030, 12, 31), None), (dt.date(2030, 12, 31), 1)])
def test_stacked_positions_give_the_row_engine_s_calendars(monkeypatch, on, rows_limit):
    """`rows_limit` 1: each stacked evaluation holds at most as many rows as the context (memory),
    so the positions go in several groups."""
    if rows_limit is not None:
        monkeypatch.setattr(lists, "STACK_ROWS", rows_limit)
    registry = Registry.load()
    table = realistic_table(1200, 23)
    columns = {name: table.column(name) for name in table.column_names}
    stacked = []
    original = lists._stacked

    def counting(ctx, env, var, element_fn, counted):
        stacked.append(len(counted))
        return original(ctx, env, var, element_fn, counted)
    monkeypatch.setattr(lists, "_stacked", counting)
    batch = Batch.prepare(on, registry, OUTPUTS)
    out, back = vector.run_columns(batch, columns, table.num_rows)
    if rows_limit is None:
        assert stacked and max(stacked) >= 3  # calendars of three contract years and more, in one evaluation
    else:
        assert len(stacked) >= 3 and max(stacked) <= 2  # in groups of at most the context's rows
    handed = set(back.tolist())
    assert len(handed) < 0.05 * table.num_rows
    for i, row in enumerate(table.to_pylist()):
        if i in handed:
            continue
        expected = batch.row(row)[0]
        for name in OUTPUTS:
            texts, codes = out[name]
            assert texts[codes[i]] == cell(expected[name]), (name, i)
