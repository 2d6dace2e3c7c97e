"""Figures computed on whole columns (engine/compare_columns.py) are exactly those of the
row-by-row reference (`Figure` added and subtracted one by one), on random lists of figures
(established, open, unbounded on a side, several reasons whose first one wins, deciders).
"""
from decimal import Decimal

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from engine import compare as C, compare_columns as V  # noqa: E402
from engine.compare import Figure  # noqa: E402

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
