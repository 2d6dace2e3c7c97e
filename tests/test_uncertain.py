"""The algebra of values not established (engine/uncertain.py), operation by operation.

Every expected value is worked out by hand from the bounds given; `U.admits` is what the
abstract values mean (the soundness property tests rest on it).
"""
import datetime as dt
from decimal import Decimal as D

import pytest

from dsl.ast import TableKey
from engine import uncertain as U
from engine.values import NotEstablished, Unknown, divide

P70 = Unknown(("cell", "f.mil", 1, 1), "gp_threshold[70]", "Seuil P70", "inconnu")
RATE = Unknown(("readings", "f.mil", 2, 1), "combined_rate", "Combinaison des taux", "lectures")


def rng(low, high, u=P70, **kw):
    return U.make_range(low, high, frozenset([u]), u.reason, **kw)


def shape(v):
    if isinstance(v, NotEstablished):
        return (v.shape, v.low, v.high) if v.shape != "set" else ("set", v.members)
    return v


def test_a_range_whose_bounds_meet_is_the_value_itself():
    assert rng(5, 5) == 5
    assert shape(rng(5, 6)) == ("range", 5, 6)
    with pytest.raises(U.Empty):
        rng(6, 5)
    with pytest.raises(U.Empty):
        rng(5, 5, high_open=True)


def test_arithmetic_on_bounds():
    r = rng(1045, 1503)
    assert shape(U.arith("+", r, 10)) == ("range", 1055, 1513)
    assert shape(U.arith("-", 1200, r)) == ("range", -303, 155)       # 1200−1503, 1200−1045
    assert shape(U.arith("-", r, r)) == ("range", -458, 458)          # sound, not tight: x − x
    assert shape(U.arith("*", r, D("0.5"))) == ("range", D("522.5"), D("751.5"))
    assert shape(U.arith("*", rng(-2, 3), rng(-5, 4))) == ("range", -15, 12)  # −5×3, 3×4
    assert shape(U.arith("*", rng(0, None), 2)) == ("range", 0, None)  # unbounded above stays so


def test_division_leaves_out_the_worlds_that_divide_by_zero():
    assert shape(U.divide(10, rng(2, 5), divide)) == ("range", 2, 5)            # 10/5, 10/2
    assert shape(U.divide(10, rng(0, 5), divide)) == ("range", 2, None)         # b → 0⁺: unbounded
    assert shape(U.divide(-10, rng(0, None), divide)) == ("range", None, 0)
    assert U.divide(10, rng(-1, 1), divide).shape == "top"                       # across 0
    with pytest.raises(U.Empty):  # every world divides by zero
        U.divide(rng(1, 2), NotEstablished("x", None, frozenset([P70]), "range", 0, 0), divide)


def test_comparisons_are_decided_when_the_ranges_do_not_overlap():
    r = rng(1045, 1503)
    assert U.compare("<=", 1000, r) is True
    assert U.compare("<=", 1600, r) is False
    assert U.compare("<=", 1200, r).shape == "top"
    assert U.compare("<", 1503, r) is False
    assert U.compare("<", 1503, rng(1045, 1503, high_open=False)) is False
    assert U.compare("<", 1503, NotEstablished("x", None, frozenset([P70]), "range", 1503, 2000, True)) is True
    assert U.compare(">=", r, 1045) is True
    assert U.compare("=", r, 1600) is False
    assert U.compare("!=", r, 1600) is True
    assert U.compare("=", r, 1200).shape == "top"
    assert U.compare("=", U.make_set({"half", "full"}, frozenset([RATE]), "x"), "third") is False
    # what decides the comparison is what decides its operands
    assert U.compare("<=", 1200, r).decided_by == frozenset([P70])


def test_join_of_possibilities():
    assert U.join([21000, 21000], frozenset([P70])) == 21000                        # they concur
    j = U.join([D("21000"), D("25000"), D("36000")], frozenset([P70]))
    assert shape(j) == ("range", D("21000"), D("36000"))
    assert j.decided_by == frozenset([P70]) and j.reason == "dépend de : Seuil P70"
    assert shape(U.join(["half", "full"], frozenset([RATE]))) == ("set", frozenset({"half", "full"}))
    assert U.join([True, False], frozenset([P70])).shape == "top"                   # a boolean: either
    # a calendar whose balance is uncertain stays a calendar
    a = [{"kind": "advance", "amount": D(3500)}, {"kind": "balance", "amount": D(0)}]
    b = [{"kind": "advance", "amount": D(3500)}, {"kind": "balance", "amount": D(-1750)}]
    joined = U.join([a, b], frozenset([RATE]))
    assert joined[0] == {"kind": "advance", "amount": D(3500)}
    assert shape(joined[1]["amount"]) == ("range", D(-1750), D(0))
    assert U.join([[1], [1, 2]], frozenset([RATE])).shape == "top"                  # shapes differ


def test_min_max_abs_and_monotone_functions():
    rate = U.top("x", frozenset([RATE]))
    assert shape(U.function("max", None, [0, U.function("min", None, [1, rate])])) == ("range", 0, 1)
    assert shape(U.function("min", None, [rng(10, 20), 15])) == ("range", 10, 15)
    assert shape(U.function("abs", None, [rng(-3, 2)])) == ("range", 0, 3)
    signed = dt.date(2023, 6, 15)
    days = U.make_range(dt.date(2025, 1, 1), dt.date(2025, 12, 31), frozenset([P70]), "x")
    from engine.values import years_between
    assert shape(U.function("years_between", years_between, [signed, days])) == ("range", 1, 2)


def test_rounding_rounds_each_bound_the_rule_s_way():
    r = rng(D("13200.004"), D("17050.005"))
    assert shape(U.round_range(r, "nearest", "cent")) == ("range", D("13200.00"), D("17050.01"))
    assert shape(U.round_range(r, "down", "euro")) == ("range", D("13200"), D("17050"))


def test_refine_narrows_a_range_to_where_a_comparison_holds():
    p = rng(D(30), D(95))
    assert shape(U.refine(p, ">=", 90, True)) == ("range", 90, D(95))
    narrowed = U.refine(U.refine(p, ">=", 90, True), "<", 95, True)
    assert (narrowed.low, narrowed.high, narrowed.high_open) == (90, D(95), True)
    assert shape(U.refine(p, ">=", 90, False)) == ("range", D(30), 90)  # p < 90
    ints = rng(1045, 1503)
    assert shape(U.refine(ints, ">", 1200, True)) == ("range", 1201, 1503)  # whole numbers: 1200 + 1
    with pytest.raises(U.Empty):
        U.refine(ints, ">", 1600, True)


def test_headings_a_range_may_meet():
    bands = [TableKey("band", low=D(30), high=D(50)), TableKey("band", low=D(50), high=D(70)),
             TableKey("band", low=D(90), high=D(95)), TableKey("at_least", low=D(95))]
    assert U.headings_met(bands, rng(D(50), D(70))) == [1]           # [50, 70]: 70 is not in 50..70
    assert U.headings_met(bands, rng(D(30), D(95))) == [0, 1, 2, 3]
    assert U.headings_met(bands, NotEstablished("x", None, frozenset(), "range", D(90), D(95), False, True)) == [2]
    exact = [TableKey("exact", value=30), TableKey("exact", value=50)]
    assert U.headings_met(exact, rng(31, 49)) == []


def test_membership():
    s = U.make_set({"radiologie", "orl"}, frozenset([RATE]), "x")
    assert U.member(s, frozenset({"radiologie", "orl", "urologie"}), False) is True
    assert U.member(s, frozenset({"urologie"}), False) is False
    assert U.member(s, frozenset({"orl"}), True).shape == "top"


def test_admits_says_what_an_abstract_value_means():
    r = rng(D(13200), D(17050))
    assert U.admits(r, D(13200)) and U.admits(r, D("17050.00")) and not U.admits(r, D("17050.01"))
    assert U.admits(U.top("x"), "anything") and not U.admits(r, U.top("x"))
    assert U.admits([{"a": r}], [{"a": D(15000)}]) and not U.admits([{"a": r}], [{"a": D(1)}])
    assert U.admits(5, 5) and not U.admits(5, 6)


def test_the_sum_of_a_list_not_established_is_not_established():
    """`sum(xs)` where the list itself is not established (the options of a physician whose
    eligibility is open): nothing is known of the sum — it used to raise a TypeError."""
    opened = NotEstablished("la liste des options n'est pas établie", decided_by=frozenset({"x"}))
    got = U.function("sum", None, [opened])
    assert (got.shape, got.reason, got.decided_by) == ("top", "la liste des options n'est pas établie",
                                                       frozenset({"x"}))
