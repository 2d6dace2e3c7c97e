"""The second pass of a vector run (engine/vector/run.py: the rows whose values need Python
values) reads again what the first pass computed whole on its rows — the rules, conditions and
parameters without arguments, none deferred there — instead of computing them anew. On the
bench's realistic population, with every default output, the second pass takes such values, and
every row computed in columns equals the row engine's."""
import datetime as dt
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")

from engine import vector  # noqa: E402
from engine.batch import Batch, cell  # noqa: E402
from engine.registry import Registry  # noqa: E402
from engine.vector import run as vector_run  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import realistic as R  # noqa: E402


@pytest.mark.parametrize("on", [dt.date(2026, 9, 1), dt.date(2029, 6, 30)])
def test_the_second_pass_reads_the_first_pass_s_whole_values(monkeypatch, on):
    registry = Registry.load()
    rows = R.rows(1200, 31)
    table = pa.table({c: pa.array([r.get(c) or None for r in rows], pa.string()) for c in R.COLUMNS})
    columns = {name: table.column(name) for name in table.column_names}
    seeded = []
    original = vector_run.Run.inherit

    def inherit(self, before, idx):
        original(self, before, idx)
        seeded.append(sorted(name for kind, name, _ in (k for k in self._seed if k[0] != "failed")))
    monkeypatch.setattr(vector_run.Run, "inherit", inherit)
    outputs = list(registry.in_force(on).model.outputs)
    batch = Batch.prepare(on, registry, outputs)
    out, back = vector.run_columns(batch, columns, table.num_rows)
    assert seeded and "eligible" in seeded[0] and "contract_year" in seeded[0]
    handed = set(back.tolist())
    assert len(handed) < 0.05 * table.num_rows
    for i, row in enumerate(table.to_pylist()):
        if i in handed:
            continue
        expected = batch.row(row)[0]
        for name in outputs:
            texts, codes = out[name]
            assert texts[codes[i]] == cell(expected[name]), (name, i)
