"""Typed results built from the vector back-end's columns (engine/vector/typed_columns.py) are the
very arrays the JSON-form path builds (engine/typed.py from each value's JSON form): the same
schema, the same values, on random populations full of edges, on the bench's realistic one, and
on hand-worked payment calendars and open amounts.
"""
import contextlib
import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from engine import batch as B, vector  # noqa: E402
from engine.batch import Batch, evaluate_table  # noqa: E402
from engine.vector.typed_columns import Built  # noqa: E402
from test_vector import (LIST_OUTPUTS, OFFICIAL, ON_DATES, PICKED, REGISTRY, SCALAR_OUTPUTS, contract,  # noqa: E402
                         known_columns, physician, rows, table_of)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import realistic as R  # noqa: E402

OUTPUTS = SCALAR_OUTPUTS + LIST_OUTPUTS


@contextlib.contextmanager
def from_cells():
    """Every typed output through its JSON-form cells, as before typed_columns.py."""
    before = B.TYPED_FROM_COLUMNS
    B.TYPED_FROM_COLUMNS = False
    try:
        yield
    finally:
        B.TYPED_FROM_COLUMNS = before


def both_ways(table, on, registry=REGISTRY, outputs=OUTPUTS):
    new = evaluate_table(table, on, registry, outputs, engine="vector", typed=True)
    with from_cells():
        old = evaluate_table(table, on, registry, outputs, engine="vector", typed=True)
    return new, old


def assert_same(new, old):
    assert new.schema.equals(old.schema)
    for name in new.column_names:  # column by column first: a failure names the column
        assert new.column(name).equals(old.column(name)), (name, new.column(name).to_pylist(),
                                                           old.column(name).to_pylist())
    assert new.equals(old)


def built(table, on, registry=REGISTRY, outputs=OUTPUTS) -> set:
    """The outputs typed_columns.py builds on this table (the others take the JSON-form path)."""
    batch = Batch.prepare(on, registry, outputs)
    out, _ = vector.run_columns(batch, {n: table.column(n) for n in table.column_names}, table.num_rows, typed=True)
    return {name for name in outputs if isinstance(out[name], Built)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_typed_from_columns_equals_typed_from_cells(data):
    on = data.draw(st.sampled_from(ON_DATES))
    population = data.draw(st.lists(rows(on), min_size=1, max_size=25))
    table = known_columns(table_of(population, data.draw(st.booleans())), on)
    registry = data.draw(st.sampled_from([REGISTRY, OFFICIAL, PICKED]))  # open values: reasons, bounds, deciders
    assert_same(*both_ways(table, on, registry))


def realistic_table(n: int, seed: int):
    population = R.rows(n, seed)
    return pa.table({name: pa.array([row.get(name) for row in population], pa.string()) for name in population[0]})


@pytest.mark.parametrize("seed", [1, 2])
def test_realistic_population_typed_from_columns(seed):
    table = realistic_table(300, seed)
    # the payment calendars, the scalars and the ineligibility reasons come from the columns;
    # options (an enumeration inside a list) take the JSON-form path
    assert built(table, R.ON) >= {"payments", "ineligibility_reasons", "annual_aid", "eligible", "contract_year",
                                  "qualification_deadline", "governing_ruleset"}
    assert "options" not in built(table, R.ON)
    new, old = both_ways(table, R.ON)
    assert_same(new, old)
    with from_cells():  # the default outputs, as `millesime batch` writes them
        old = evaluate_table(table, R.ON, REGISTRY, engine="vector")
    assert_same(evaluate_table(table, R.ON, REGISTRY, engine="vector"), old)


def test_payment_calendar_as_typed_columns():
    # GP at P40, 1/2 ETP signed 2021-03-10 under avenant 7, on 2023-04-01: year 1 paid 2021-04-10
    # (18 000 €), year 2 on its anniversary (13 500 €), year 3 an advance of 50 % of 10 500 € and a
    # balance a year later, unknown without the observed patientèle (tests/test_vector.py)
    on = D(2023, 4, 1)
    avenant7 = dict(priority_zone=False, coordinated_practice=True, group_practice=True)
    table = known_columns(table_of([
        {**physician(percentile=40, **avenant7), **contract(D(2021, 3, 10), "half")},
        {**physician(percentile=40, sector=2, **avenant7), **contract(D(2021, 3, 10), "half")},
    ], as_text=False), on)
    assert "payments" in built(table, on, outputs=["payments"])
    new, old = both_ways(table, on, outputs=["payments"])
    assert_same(new, old)
    payments = new.column("payments").to_pylist()
    assert [(p["year"], p["date"], p["kind"], p["amount"]) for p in payments[0]] == [
        (1, D(2021, 4, 10), "single", Decimal("18000.00")),
        (2, D(2022, 3, 10), "single", Decimal("13500.00")),
        (3, D(2023, 5, 10), "advance", Decimal("5250.00")),
        (3, D(2024, 5, 10), "balance", None)]
    assert all(p["amount__not_established"] is None and p["amount__decided_by"] is None for p in payments[0])
    assert payments[1] == []
    assert new.column("payments__not_established").to_pylist() == [None, None]
    assert new.schema.field("payments").type.value_type.field("amount").type == pa.decimal128(18, 2)


def test_open_amount_as_typed_columns():
    # GP without percentile on 2025-09-01, 1/2 ETP signed 2023-06-01: under --official-only only P30
    # is known, so 1 200 patients lies anywhere above it → between 11 000 and 19 000 € (year 3 of
    # the 2024 table, up to the ≥ P95 amount); 700 patients lies below P30 → 0 €
    on = D(2025, 9, 1)
    table = known_columns(table_of([{**physician(), **contract(D(2023, 6, 1), "half")},
                                    {**physician(patients_mt=700), **contract(D(2023, 6, 1), "half", initial=700)}],
                                   as_text=False), on)
    assert "annual_aid" in built(table, on, OFFICIAL, ["annual_aid"])
    new, old = both_ways(table, on, OFFICIAL, ["annual_aid"])
    assert_same(new, old)
    row = new.select([n for n in new.column_names if n.startswith("annual_aid")]).to_pylist()
    assert row[0]["annual_aid"] is None
    assert (row[0]["annual_aid__between_low"], row[0]["annual_aid__between_high"]) == (Decimal("11000.00"),
                                                                                       Decimal("19000.00"))
    assert row[0]["annual_aid__decided_by"] == ["gp_threshold[50]", "gp_threshold[70]", "gp_threshold[90]",
                                                "gp_threshold[95]"]
    assert row[0]["annual_aid__not_established"]
    assert row[1] == {"annual_aid": Decimal("0.00"), "annual_aid__not_established": None,
                      "annual_aid__between_low": None, "annual_aid__between_high": None, "annual_aid__one_of": None,
                      "annual_aid__decided_by": None}


D = dt.date
