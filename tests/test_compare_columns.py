"""`compare_rows`' figures computed on whole columns (engine/compare_columns.py) are exactly those of
the row-by-row reference (`Figure` added and subtracted one by one): the same figures on random
lists of figures (established, open, unbounded on a side, several reasons whose first one wins,
deciders), the same columns on random evaluations (payments without amount, rows whose whole list is
not established, dates outside the segment, segments cut within a year, errors), the same table on
the bench's realistic population — and values the columns cannot hold exactly go row by row.
"""
import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from engine import compare as C, compare_columns as V  # noqa: E402
from engine.compare import Figure, Period, compare_rows  # noqa: E402
from engine.registry import Registry  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import realistic as R  # noqa: E402

REASONS = ["dépend de : a", "dépend de : b", "formule non publiée"]
NAMES = ["target_rate", "above_p30", "Zeta", "gp_threshold[70]", "été"]
MONEY = pa.decimal128(18, 2)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

cents = st.integers(-10 ** 7, 10 ** 7)
bound = st.one_of(st.none(), cents)
deciders = st.lists(st.sampled_from(NAMES), max_size=3)


def money(c):
    return None if c is None else Decimal(c).scaleb(-2)


# ---------------------------------------------------------------- figures: sums, differences, signs

@st.composite
def figure(draw):
    """(a Figure, its columns): established, or open between bounds (None: unbounded)."""
    if draw(st.booleans()):
        value = draw(cents)
        return Figure(money(value)), (value, value, False, False, -1, [])
    low, high, reason, who = draw(bound), draw(bound), draw(st.sampled_from(range(len(REASONS)))), draw(deciders)
    return (Figure(None, money(low), money(high), REASONS[reason], frozenset(who)),
            (low or 0, high or 0, low is None, high is None, reason, who))


def columns_of(drawn) -> V.Figures:
    """The Figures of a list of (Figure, columns) drawn, deciders coded as in a Vocabulary of NAMES."""
    rows = [c for _, c in drawn]
    who = [(i, NAMES.index(name)) for i, c in enumerate(rows) for name in c[5]]
    pairs = V._pairs(np.array([w for w, _ in who], np.int64), np.array([n for _, n in who], np.int64))
    return V.Figures(np.array([c[0] for c in rows], np.int64), np.array([c[1] for c in rows], np.int64),
                     np.array([c[2] for c in rows], bool), np.array([c[3] for c in rows], bool),
                     np.array([c[4] for c in rows], np.int32), *pairs)


def vocabulary() -> V.Vocabulary:
    vocabulary = V.Vocabulary()
    vocabulary.reason_codes(pa.array(REASONS))
    vocabulary.name_codes(pa.array(NAMES))
    return vocabulary


def as_figures(f: V.Figures) -> list[Figure]:
    """The Figures back as `Figure`s."""
    out = []
    for i in range(len(f)):
        who = frozenset(NAMES[n] for w, n in zip(f.who, f.name) if w == i)
        if f.reason[i] < 0:
            assert not who and not f.low_none[i] and not f.high_none[i] and f.low[i] == f.high[i]
            out.append(Figure(money(int(f.low[i]))))
        else:
            out.append(Figure(None, None if f.low_none[i] else money(int(f.low[i])),
                              None if f.high_none[i] else money(int(f.high[i])), REASONS[f.reason[i]], who))
    return out


@SETTINGS
@given(st.lists(st.tuples(figure(), st.integers(0, 4)), max_size=25))
def test_sums_by_group_add_the_figures_in_their_order(items):
    drawn = [f for f, _ in items]
    groups = np.array([g for _, g in items], np.int64)
    expected = []
    for group in range(5):  # Figure.__add__ in the items' order, from an established 0
        total = Figure()
        for (f, _), g in zip(drawn, groups):
            if g == group:
                total = total + f
        expected.append(total)
    assert as_figures(V.sum_by(columns_of(drawn), groups, 5)) == expected


@SETTINGS
@given(st.lists(st.tuples(figure(), figure()), max_size=20))
def test_differences_and_signs_are_figure_minus_and_sign(pairs):
    a, b = columns_of([x for x, _ in pairs]), columns_of([y for _, y in pairs])
    difference = V.minus(a, b)
    expected = [x.minus(y) for (x, _), (y, _) in pairs]
    assert as_figures(difference) == expected
    assert [V.OUTCOMES[s] for s in V.signs(difference)] == [f.sign() for f in expected]


@SETTINGS
@given(st.lists(st.tuples(figure(), figure()), max_size=20))
def test_the_five_columns_of_figures_are_those_row_by_row(pairs):
    new, old = {}, {}
    baseline, reform = columns_of([x for x, _ in pairs]), columns_of([y for _, y in pairs])
    for side, f in (("baseline", baseline), ("reform", reform), ("difference", V.minus(reform, baseline))):
        V.money_columns(new, f"x__{side}", f, vocabulary())
    C._money_columns(old, "x", {"baseline": [x for (x, _), _ in pairs], "reform": [y for _, (y, _) in pairs]})
    old = {name: pa.array(values, C._field(name).type) for name, values in old.items()}
    assert list(new) == list(old)
    for name in new:
        assert new[name].type == old[name].type and new[name].equals(old[name]), name


# ---------------------------------------------------------------- whole comparisons on random evaluations

START, END = dt.date(2023, 10, 1), dt.date(2031, 3, 1)


@st.composite
def payment(draw):
    date = draw(st.one_of(st.none(), st.dates(START, END)))
    kind = draw(st.sampled_from(["amount", "amount", "none", "open"]))
    if kind == "amount":
        return {"date": date, "amount": money(draw(cents))}
    if kind == "none":
        return {"date": date, "amount": None}
    return {"date": date, "amount": None, "amount__not_established": draw(st.sampled_from(REASONS)),
            "amount__between_low": money(draw(bound)), "amount__between_high": money(draw(bound)),
            "amount__decided_by": draw(st.one_of(st.none(), deciders))}


PAYMENT = pa.struct([("date", pa.date32()), ("amount", MONEY), ("amount__not_established", pa.string()),
                     ("amount__between_low", MONEY), ("amount__between_high", MONEY),
                     ("amount__decided_by", pa.list_(pa.string()))])


@st.composite
def evaluation(draw, n):
    """An evaluated table of n rows as `evaluate_table` types it: payments, eligibility, a money
    output, errors."""
    rows = []
    for _ in range(n):
        whole = draw(st.one_of(st.none(), st.none(), st.sampled_from(REASONS)))
        aid = draw(figure())[0]
        rows.append({
            "payments": None if whole and draw(st.booleans()) else draw(st.lists(payment(), max_size=5)),
            "payments__not_established": whole,
            "payments__decided_by": draw(deciders) if whole else None,
            "eligible": draw(st.one_of(st.none(), st.booleans())),
            "annual_aid": aid.value, "annual_aid__not_established": aid.reason,
            "annual_aid__between_low": aid.low, "annual_aid__between_high": aid.high,
            "annual_aid__decided_by": sorted(aid.deciders) if aid.reason else None,
            "error": draw(st.one_of(st.none(), st.none(), st.none(), st.just('[{"field": "sector"}]')))})
    schema = pa.schema([("payments", pa.list_(PAYMENT)), ("payments__not_established", pa.string()),
                        ("payments__decided_by", pa.list_(pa.string())), ("eligible", pa.bool_()),
                        ("annual_aid", MONEY), ("annual_aid__not_established", pa.string()),
                        ("annual_aid__between_low", MONEY), ("annual_aid__between_high", MONEY),
                        ("annual_aid__decided_by", pa.list_(pa.string())), ("error", pa.string())])
    return pa.Table.from_pylist(rows, schema=schema)


D = dt.date
PERIODS = [  # (period, its segments): cut on 1 January, within a year, not cut; one evaluation date
    (Period.years(2026, 2029), [(D(2026, 1, 1), D(2026, 12, 31)), (D(2027, 1, 1), D(2029, 12, 31))]),
    (Period.years(2024, 2025), [(D(2024, 1, 1), D(2024, 6, 21)), (D(2024, 6, 22), D(2025, 12, 31))]),
    (Period.years(2027, 2027), [(D(2027, 1, 1), D(2027, 12, 31))]),
    (Period(2023, 2028, D(2027, 12, 31)), [(D(2023, 1, 1), D(2028, 12, 31))]),
]


def assert_same_columns(n, period, segments, finals):
    new = V.comparison_columns(n, period, ["annual_aid"], segments, finals)
    old = C._by_row(n, period, ["annual_aid"], segments, finals)
    assert list(new) == list(old)
    for name, values in old.items():
        expected = pa.array(values, C._field(name).type)
        assert new[name].type == expected.type, name
        assert new[name].equals(expected), (name, new[name].to_pylist(), values)


@SETTINGS
@given(st.data(), st.sampled_from(PERIODS), st.integers(0, 6))
def test_the_columns_are_those_row_by_row_on_random_evaluations(data, chosen, n):
    period, cuts = chosen
    segments = {side: [(s, data.draw(evaluation(n))) for s in cuts] for side in C.SIDES}
    finals = {side: segments[side][-1][1] for side in C.SIDES}
    assert_same_columns(n, period, segments, finals)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(evaluation(8))
def test_chunked_and_sliced_evaluations_read_alike(rows):
    period, cuts = PERIODS[0]
    sliced = pa.concat_tables([rows.slice(0, 3), rows.slice(3)]).slice(1, 6)  # two chunks, an offset
    segments = {side: [(s, sliced) for s in cuts] for side in C.SIDES}
    assert_same_columns(6, period, segments, {side: sliced for side in C.SIDES})


def test_values_the_columns_cannot_hold_go_row_by_row():
    period, cuts = PERIODS[2]

    def table(values, type_):
        payments = [[{"date": dt.date(2027, 3, 1), "amount": v}] for v in values]
        struct = pa.struct([("date", pa.date32()), ("amount", type_), ("amount__not_established", pa.string()),
                            ("amount__between_low", type_), ("amount__between_high", type_),
                            ("amount__decided_by", pa.list_(pa.string()))])
        return pa.table({"payments": pa.array(payments, pa.list_(struct)),
                         "payments__not_established": pa.nulls(len(values), pa.string()),
                         "payments__decided_by": pa.nulls(len(values), pa.list_(pa.string())),
                         "eligible": pa.array([True] * len(values)), "error": pa.nulls(len(values), pa.string())})

    def run(evaluated):
        segments = {side: [(cuts[0], evaluated)] for side in C.SIDES}
        return C._in_columns(evaluated.num_rows, period, [], segments, {side: evaluated for side in C.SIDES})
    # more decimals than cents, but whole cents: read exactly; an amount in whole euros too
    exact = table([Decimal("1.230"), Decimal("-7.000")], pa.decimal128(20, 3))
    assert run(exact)["payments_2027__baseline"].to_pylist() == [Decimal("1.23"), Decimal("-7.00")]
    assert run(table([Decimal(5)], pa.decimal128(10, 0)))["payments_2027__reform"].to_pylist() == [Decimal("5.00")]
    for values, type_ in (([Decimal("0.005")], pa.decimal128(20, 3)),  # a fraction of a cent
                          ([Decimal(10) ** 30], pa.decimal128(38, 2)),  # beyond int64
                          ([Decimal(2) ** 61, Decimal(2) ** 61], pa.decimal128(38, 0)),  # sums that could overflow
                          ([1.5], pa.float64())):  # not a decimal
        assert run(table(values, type_)) is None, (values, type_)
    empty_reason = table([Decimal(1)], MONEY).set_column(1, "payments__not_established", pa.array([""]))
    assert run(empty_reason) is None  # `reason or …` would pass an empty reason over: only the rows are exact


# ---------------------------------------------------------------- the bench's realistic population

REFORM = Path(__file__).resolve().parent.parent / "bench" / "reform_2027.mil"


@pytest.fixture(scope="module")
def realistic():
    rows = R.rows(400, seed=11)
    for i, row in enumerate(rows):
        row["weight"] = ("1", "2.5", "0", "12")[i % 4]
    return pa.Table.from_pylist(rows), Registry.load(), Registry.load(reform=REFORM)


@pytest.mark.parametrize("period", [Period.years(2026, 2030), Period.years(2024, 2024), "on"])
def test_a_realistic_population_in_columns_and_row_by_row(realistic, period, monkeypatch):
    table, baseline, reform = realistic
    period = Period.at(R.ON, [baseline, reform]) if period == "on" else period
    slow = compare_rows(table, baseline, reform, period, "weight", by=["specialty"], in_columns=False)
    monkeypatch.setattr(C, "_by_row", None)  # the columns must not fall back here
    fast = compare_rows(table, baseline, reform, period, "weight", by=["specialty"])
    assert fast.schema.equals(slow.schema)
    for name in fast.column_names:
        assert fast.column(name).equals(slow.column(name)), name
    assert "undetermined" in set(fast.column("outcome").to_pylist())  # figures not established were compared
    assert fast.column("payments_total__reform__not_established").null_count < table.num_rows
    assert json.dumps(C.summarize(fast, period)) == json.dumps(C.summarize(slow, period))
