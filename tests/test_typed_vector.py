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
from test_vector import (LIST_OUTPUTS, OFFICIAL, ON_DATES, PICKED, REGISTRY, SCALAR_OUTPUTS,  # noqa: E402
                         branches_on_their_rows, contract, known_columns, physician, rows, table_of)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import realistic as R  # noqa: E402

D = dt.date
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
    with branches_on_their_rows(data.draw(st.booleans())):
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


# ---------------------------------------------------------------- columns made by hand

from dsl import types as T  # noqa: E402
from engine import typed as TY  # noqa: E402
from engine.values import Unknown  # noqa: E402
from engine.vector import open as open_, typed_columns  # noqa: E402
from engine.vector.columns import EPOCH, Vec, reason_code, sym  # noqa: E402
from engine.vector.lists import VList  # noqa: E402
from engine.vector.outputs import cells  # noqa: E402

UNKNOWNS = [Unknown(("unknown", "t.mil", k, 1), name, "libellé", "raison") for k, name in
            enumerate(["seuil[70]", "lecture", "seuil[50]"])]
DBY = [0, open_.dby_code(UNKNOWNS[:1]), open_.dby_code(UNKNOWNS)]
WHY = [reason_code("le seuil n'est pas publié"), reason_code("dépend de : lecture")]


def from_cells_way(v, name, t, n, members=None):
    """What engine/batch.py builds from the column's JSON-form cells (None: it refuses a value)."""
    texts, codes = cells(v, t, slice(None), n)
    columns = TY.Columns(name, t, {t.base.name: members} if members else None)
    try:
        built_ = columns.arrays([TY.decode_cell(text, t) for text in texts])
    except TY.TypedError:
        return None
    return [a.take(pa.array(codes)) for a in built_]


@st.composite
def masks(draw, n):
    """none / not established (with reasons, deciders and, for some, bounds) rows of n."""
    state = draw(st.lists(st.sampled_from(["value", "value", "none", "ne", "range"]), min_size=n, max_size=n))
    none = np.array([s == "none" for s in state])
    ne = np.array([s in ("ne", "range") for s in state])
    rng = np.array([s == "range" for s in state])
    why = np.array(draw(st.lists(st.sampled_from(WHY), min_size=n, max_size=n)), np.int32)
    dby = np.array(draw(st.lists(st.sampled_from(DBY), min_size=n, max_size=n)), np.int32)
    return none, ne, rng, why, dby


def vec(draw, kind, data, scale, isint, n):
    none, ne, rng, why, dby = draw(masks(n))
    iv = None
    if rng.any():
        spread = 10 ** 4 if kind == "date" else 10 ** 6  # bounds of dates within years 1–9999
        lo = np.array(data) - np.array(draw(st.lists(st.integers(0, spread), min_size=n, max_size=n)), np.int64)
        hi = np.array(data) + np.array(draw(st.lists(st.integers(1, spread), min_size=n, max_size=n)), np.int64)
        inf = st.lists(st.booleans(), min_size=n, max_size=n)
        iv = open_.Interval(n, lo, hi, np.array(draw(inf)), np.array(draw(inf)))
    return Vec(kind, np.array(data, np.bool_ if kind == "bool" else np.int64), scale, isint, none=none, ne=ne,
               why=why, dby=dby, rng=rng if iv is not None else None, iv=iv)


@st.composite
def scalar_columns(draw):
    n = draw(st.integers(1, 12))
    kind = draw(st.sampled_from(["money", "decimal", "percent", "int", "bool", "date", "text"]))
    if kind in ("money", "decimal", "percent", "int"):
        scale = 0 if kind == "int" else draw(st.integers(0, 18))
        big = draw(st.sampled_from([10 ** 4, 10 ** 9, 10 ** 15, (1 << 59)]))
        data = draw(st.lists(st.one_of(st.integers(-big, big), st.sampled_from([0, 5, 50, 525000, 1000, -1])),
                             min_size=n, max_size=n))
        return kind, data, scale, kind == "int" or draw(st.booleans()), n
    if kind == "bool":
        return kind, draw(st.lists(st.booleans(), min_size=n, max_size=n)), 0, False, n
    if kind == "date":
        days = st.integers(D(1990, 1, 1).toordinal() - EPOCH, D(2040, 1, 1).toordinal() - EPOCH)
        return kind, draw(st.lists(days, min_size=n, max_size=n)), 0, False, n
    if kind == "text" and draw(st.booleans()):  # an enumeration: its members, and now and then a code that is not
        words = [sym(w) for w in OPTIONS] + [sym("autre")] * draw(st.integers(0, 1))
        return "enum", draw(st.lists(st.sampled_from(words), min_size=n, max_size=n)), 0, False, n
    words = [sym(w) for w in ("single", "advance", "balance", "éligible")]
    return kind, draw(st.lists(st.sampled_from(words), min_size=n, max_size=n)), 0, False, n


OPTIONS = ["third", "half", "full"]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_scalar_columns_are_typed_as_their_cells_are(data):
    kind, values, scale, isint, n = data.draw(scalar_columns())
    vkind = {"money": "num", "decimal": "num", "percent": "num", "int": "num", "text": "sym", "enum": "sym"}.get(kind,
                                                                                                             kind)
    v = vec(data.draw, vkind, values, scale, isint, n)
    if vkind not in ("num", "date"):
        v = v.replace(rng=None, iv=None)
    t = T.Type("optional", args=(T.Type(kind, name="option" if kind == "enum" else ""),))
    members = OPTIONS if kind == "enum" else None
    new = typed_columns.arrays(v, "x", t, members, n)
    old = from_cells_way(v, "x", t, n, members)
    if old is None:  # it may refuse what a column holds on rows without a value (never written): not those
        bad = v.bad() if v.bad() is not None else False
        old = from_cells_way(v.replace(data=np.where(bad, 0, v.data).astype(v.data.dtype)), "x", t, n, members)
    if kind == "enum" and sym("autre") not in values:
        assert new is not None  # the members as dictionary
    if new is None:  # the JSON-form path then builds them: only where it refuses a value, or where an
        assert old is None or kind == "enum"  # enumeration's dictionary is not its members
        return
    assert old is not None
    assert [a.type for a in new] == [f.type for f in TY.output_fields("x", t)]
    for a, b, f in zip(new, old, TY.output_fields("x", t)):
        assert a.equals(b), (f.name, a.to_pylist(), b.to_pylist())


def test_decimals_are_exact_at_every_scale():
    # 7,5 % at scale 3 and 0.000000000000000001 at scale 18: decimal128(38, 32) holds them exactly;
    # 1 234,5 € at scale 1 is 1234.50 in decimal128(18, 2), 12,345 € at scale 3 cannot be (the
    # JSON-form path refuses it too: it is never rounded)
    rate = Vec("num", np.array([75, 1], np.int64), 3, False)
    tiny = Vec("num", np.array([1, -10 ** 17], np.int64), 18, False)
    t = T.Type("decimal")
    assert typed_columns.arrays(rate, "r", t, None, 2)[0].to_pylist() == [Decimal("0.075"), Decimal("0.001")]
    assert typed_columns.arrays(tiny, "r", t, None, 2)[0].to_pylist() == [Decimal("1E-18"), Decimal("-0.1")]
    money = T.Type("money")
    assert typed_columns.arrays(Vec("num", np.array([12345], np.int64), 1, False), "m", money, None, 1)[0] \
        .to_pylist() == [Decimal("1234.50")]
    assert typed_columns.arrays(Vec("num", np.array([12345], np.int64), 3, False), "m", money, None, 1) is None
    assert from_cells_way(Vec("num", np.array([12345], np.int64), 3, False), "m", money, 1) is None


PAYMENT = T.Type("record", fields=(("year", T.INT), ("date", T.DATE), ("kind", T.TEXT),
                                   ("amount", T.Type("optional", args=(T.MONEY,)))))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_lists_of_records_are_typed_as_their_cells_are(data):
    n = data.draw(st.integers(1, 8))
    k = data.draw(st.integers(0, 4))
    length = np.array(data.draw(st.lists(st.integers(0, k), min_size=n, max_size=n)), np.int64)
    items = []
    for _ in range(k):
        year = Vec("num", np.array(data.draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)), np.int64), 0, True)
        day = Vec("date", np.array(data.draw(st.lists(st.integers(18000, 22000), min_size=n, max_size=n)), np.int64))
        kind = Vec("sym", np.array(data.draw(st.lists(st.sampled_from([sym("single"), sym("advance")]), min_size=n,
                                                      max_size=n)), np.int64))
        amount = vec(data.draw, "num", data.draw(st.lists(st.integers(0, 10 ** 8), min_size=n, max_size=n)),
                     data.draw(st.integers(0, 2)), False, n)
        items.append(Vec("record", {"year": year, "date": day, "kind": kind, "amount": amount}))
    none, ne, _, why, dby = data.draw(masks(n))
    v = Vec("list", VList(length, items), none=none, ne=ne, why=why, dby=dby)
    t = T.Type("list", args=(PAYMENT,))
    new = typed_columns.arrays(v, "payments", t, None, n)
    old = from_cells_way(v, "payments", t, n)
    assert new is not None and old is not None
    for a, b in zip(new, old):
        assert a.type == b.type and a.equals(b), (a.to_pylist(), b.to_pylist())


def test_a_dictionary_that_differs_is_built_from_cells(monkeypatch):
    # if arrays from the columns and those of rows handed back would not join as the JSON-form path
    # builds them (an enumeration's dictionary), the whole batch is built the JSON-form way
    # (`additional_file_active` is one value or none on some rows: written by the second pass)
    table = realistic_table(60, 3)
    outputs = ["payments", "annual_aid", "additional_file_active"]
    expected = evaluate_table(table, R.ON, REGISTRY, outputs, engine="vector")

    def refuse(base, rows, patch):
        raise typed_columns.Mismatch("dictionary")
    monkeypatch.setattr(typed_columns, "place", refuse)
    monkeypatch.setattr("engine.vector.outputs.place", refuse)
    calls = []
    real = B._vector_record_batch_with
    monkeypatch.setattr(B, "_vector_record_batch_with", lambda *a, **k: calls.append(k) or real(*a, **k))
    got = evaluate_table(table, R.ON, REGISTRY, outputs, engine="vector")
    assert got.equals(expected)
    assert calls[-1] == {"from_columns": False}
