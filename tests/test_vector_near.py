"""Quotients that do not terminate, carried in columns until a rounding decides them
(engine/vector/near.py): amounts worked out by hand computed in a run's first pass (bounds that
are such quotients, unbounded on a side or not, included), the rows where
a rounding boundary lies within the error bound (or a -0 may come out) left to the second pass,
and every row equal to the row engine's on drawn patient counts."""
import datetime as dt
import json

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from engine import vector  # noqa: E402
from engine.batch import Batch, cell  # noqa: E402
from engine.registry import Registry  # noqa: E402
from engine.vector import near, outputs  # noqa: E402

RULES = '''ruleset quotients_2025 "Essai : des quotients qui ne tombent pas juste"
  effective from 2025-01-01
  amends convention_2024

reference ESSAI "Essai des quotients (hypothèse d'étude)" grade hypothesis

rule share "Part d'un montant" : money =
  round (21 000 € * (physician.patients_mt / physician.file_active)) to cent
  source ESSAI quote "part"

rule clamped "Part bornée entre 0 et 1" : money =
  round (10 500 € * max(0, min(1, (physician.patients_mt - 1000) / (physician.file_active - 1000)))) to cent
  source ESSAI quote "bornée"

rule mixed "Somme de deux quotients, arrondie vers le bas" : money =
  round down (1 000 € * (physician.patients_mt / physician.file_active + physician.file_active / 7)) to cent
  source ESSAI quote "somme"

rule product "Produit de deux quotients" : money =
  round up (9 000 € * ((physician.patients_mt / physician.file_active) * (physician.file_active / (physician.patients_mt + physician.file_active)))) to cent
  source ESSAI quote "produit"

rule edge "Un demi-centime exact" : money =
  round (0.03 € * (physician.patients_mt / physician.file_active)) to cent
  source ESSAI quote "demi-centime"

rule negative "Une part négative" : money =
  round (1 € * ((physician.patients_mt - physician.file_active) / physician.file_active)) to cent
  source ESSAI quote "négative"

rule unsure "Condition d'essai" : bool =
  not established "condition d'essai non publiée"
  source ESSAI quote "inconnue"

rule maybe "Un montant ou rien" : optional money =
  if unsure then round (10 € * (physician.patients_mt / physician.file_active)) to cent else none
  source ESSAI quote "ou rien"

rule maybe_plus "Un montant ou rien, plus 1 €" : optional money =
  if maybe is set then maybe + 1 € else none
  source ESSAI quote "plus"

rule maybe_set "Le montant est-il fixé ?" : bool =
  maybe is set
  source ESSAI quote "fixé"

parameter extra "Patients en plus, inconnus" : int = ? between 10 and 20
  source ESSAI quote "inconnu"

rule ranged "Part d'un montant sur une patientèle inconnue" : money =
  round (3 000 € * min(1, physician.patients_mt / (physician.file_active + extra))) to cent
  source ESSAI quote "bornée"

rule floored "Une part bornée en bas, toujours négative" : money =
  round (3 000 € * max(0, (physician.patients_mt - 5000) / (physician.file_active + extra))) to cent
  source ESSAI quote "bornée"

rule read_both(x : decimal, y : decimal) "Deux taux lus de deux façons" : decimal = readings
  source ESSAI quote "deux lectures"
  reading lowest "Le plus faible" : min(x, y)
    source ESSAI quote "le plus faible"
  reading mean "La moyenne" : (x + y) / 2
    source ESSAI quote "la moyenne"

rule read_ranged "Montant selon deux lectures de deux taux" : money =
  round (3 000 € * read_both(physician.patients_mt / (physician.file_active + extra),
                             physician.patients_mt / physician.file_active)) to cent
  source ESSAI quote "deux lectures"

parameter gap "Patients supplémentaires demandés, inconnus (peut-être aucun)" : int = ? between 0 and 70
  source ESSAI quote "inconnu"

rule open_rate "Taux d'atteinte d'un objectif qui peut égaler le point de départ" : decimal =
  max(0, min(1, (physician.patients_mt - 1000) / gap))
  source ESSAI quote "taux"

rule open_share "Montant selon ce taux" : money =
  round (3 000 € * open_rate) to cent
  source ESSAI quote "taux"

rule nothing "Un taux dont rien n'est connu" : decimal =
  not established "taux non publié"
  source ESSAI quote "inconnu"

rule read_three(x : decimal, y : decimal) "Deux taux lus de trois façons" : decimal = readings
  source ESSAI quote "trois lectures"
  reading lowest "Le plus faible" : min(x, y)
    source ESSAI quote "le plus faible"
  reading product "Le produit" : x * y
    source ESSAI quote "le produit"
  reading mean "La moyenne" : (x + y) / 2
    source ESSAI quote "la moyenne"

rule read_nothing "Montant selon trois lectures d'un taux et d'un taux inconnu" : money =
  round (3 000 € * read_three(physician.patients_mt / physician.file_active, nothing)) to cent
  source ESSAI quote "trois lectures"

rule capped_nothing "Montant plafonné par un taux inconnu" : money =
  round (3 000 € * min(physician.patients_mt / physician.file_active, nothing)) to cent
  source ESSAI quote "plafonné"

rule spread "Un septième, multiplié par une patientèle" : money =
  round ((physician.patients_mt / 7) * physician.file_active * 1 €) to cent
  source ESSAI quote "septième"

rule tiny "Un quotient plus petit que le dernier chiffre gardé" : decimal =
  physician.patients_mt / (physician.file_active * 100000000000000)
  source ESSAI quote "minuscule"

rule nothing_times_tiny "Un taux inconnu fois un quotient minuscule" : money =
  round (5 € + 1 € * (nothing * tiny)) to cent
  source ESSAI quote "minuscule"

rule near_zero "Un quotient presque nul, de signe incertain à 9 décimales" : decimal =
  3 * (physician.patients_mt / physician.file_active) - 0.166666667
  source ESSAI quote "presque nul"

rule flipped "Un intervalle infini d'un côté fois un nombre presque nul" : money =
  round (1 € + 1 € * (min(5, nothing) * near_zero)) to cent
  source ESSAI quote "presque nul"

rule two_rates "Un montant fois le produit de deux taux" : money =
  round (30 000 € * ((physician.patients_mt / physician.file_active) * (physician.patients_mt / (physician.file_active + 1)))) to cent
  source ESSAI quote "deux taux"

output share, clamped, mixed, product, edge, negative, maybe, maybe_plus, maybe_set, ranged, floored, read_ranged, open_share, read_nothing, capped_nothing, spread, nothing_times_tiny, flipped, two_rates
'''
OUTPUTS = ["share", "clamped", "mixed", "product", "edge", "negative", "maybe", "maybe_plus", "maybe_set", "ranged",
           "floored", "read_ranged", "open_share", "read_nothing", "capped_nothing", "spread", "nothing_times_tiny",
           "flipped", "two_rates"]
ON = dt.date(2025, 6, 1)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    path = tmp_path_factory.mktemp("near") / "quotients.mil"
    path.write_text(RULES, encoding="utf-8")
    return Registry.load(reform=path)


def table(counts):
    rows = [{"specialty": "medecine_generale", "sector": "1", "optam": "false", "patients_mt": str(p),
             "file_active": str(f)} for p, f in counts]
    return pa.table({name: pa.array([r[name] for r in rows], pa.string()) for name in rows[0]})


def evaluate(registry, counts, monkeypatch):
    """(cells per output, rows of the second pass per output) of the vector back-end."""
    second: dict = {}
    first_pass = outputs._pass

    def spy(batch, columns, n, **kw):
        if kw.get("objects"):
            before = kw["before"][1]
            for name, rows in kw["rows_for"].items():
                second.setdefault(name, set()).update(before[rows].tolist())
        return first_pass(batch, columns, n, **kw)
    monkeypatch.setattr(outputs, "_pass", spy)
    t = table(counts)
    batch = Batch.prepare(ON, registry, OUTPUTS)
    out, back = vector.run_columns(batch, {n: t.column(n) for n in t.column_names}, t.num_rows)
    expected = [batch.row(row)[0] for row in t.to_pylist()]
    cells = {name: [out[name][0][code] if code >= 0 else None for code in out[name][1]] for name in OUTPUTS}
    for i in back.tolist():  # handed to the row engine: only a -0 (an exact quotient of -1/5000 € rounded),
        # `flipped` on rows where its operands are exact (the column code's own hand-back, no near value),
        # or `nothing_times_tiny` where the file active times 10^14 leaves the int64 range
        missing = [name for name in OUTPUTS if cells[name][i] is None]
        assert missing and set(missing) <= {"negative", "flipped", "nothing_times_tiny"}, (counts[i], back, missing)
        if "negative" in missing:
            assert expected[i]["negative"] == "-0.00"
        for name in missing:
            cells[name][i] = cell(expected[i][name])
    for name in OUTPUTS:
        assert cells[name] == [cell(e[name]) for e in expected], name
    return cells, second


def test_amounts_worked_out_by_hand_in_the_first_pass(registry, monkeypatch):
    counts = [(1000, 3000), (2000, 3000), (1, 7), (900, 4000), (5000, 4000), (1234, 4321)]
    cells, second = evaluate(registry, counts, monkeypatch)
    # 21 000 × 1/3, × 2/3, × 1/7; × 9/40 (terminates); × 5/4; × 1234/4321 = 25 914 000/4 321 = 5 997.2228…
    assert cells["share"] == ['7000.00', '14000.00', '3000.00', '4725.00', '26250.00', '5997.22']
    # 10 500 × max(0, min(1, q)), q = (p - 1000)/(f - 1000): 0; 1/2; 999/993 (1); -1/30 (max picks the exact
    # 0); 4/3 (1); 234/3321 → 739.837…
    assert cells["clamped"] == ['0.00', '5250.00', '10500.00', '0.00', '10500.00', '739.84']
    # 1 000 × (1/3 + 3000/7) = 428 904.7619… rounded down
    assert cells["mixed"][0] == '428904.76'
    # 9 000 × p/f × f/(p+f), each quotient and product to 28 digits in the row engine, rounded up: exactly
    # 9 000·p/(p+f) = 2 250, 3 600, 1 125, 1 653.06…, 5 000, 1 999.27… — where it is a whole number of cents
    # the row engine's value lies a hair above or below it, and rounding up tells them apart: those rows are
    # the second pass's (checked equal to the row engine's above); the others are the first's
    assert cells["product"] == ['2250.00', '3600.00', '1125.00', '1653.07', '5000.00', '1999.28']
    assert second.get("product") == {0, 1, 2, 4}
    # computed in the first pass: every row of `share`, `clamped` and `mixed`
    for name in ("share", "clamped", "mixed"):
        assert not second.get(name), (name, second.get(name))


def test_a_rounding_boundary_within_the_bound_is_left_to_the_second_pass(registry, monkeypatch):
    # 0.03 € × 1/6 is 0.005 exactly; the row engine's 1/6 has 28 digits (…667), so its product is a
    # hair above half a cent: 0.01. A near value cannot tell: the row goes to the second pass. 0.03 × 1/3
    # = 0.01 (far from any boundary) stays in the first.
    cells, second = evaluate(registry, [(1, 6), (1, 3)], monkeypatch)
    assert cells["edge"] == ['0.01', '0.01']
    assert second.get("edge") == {0}


def test_a_zero_that_may_be_negative_is_left_to_the_second_pass(registry, monkeypatch):
    # (299 - 300) / 300 = -1/300: 1 € times it rounds to -0.00 in the row engine (a Decimal keeps the
    # sign of a zero); (300 - 299) / 299 rounds to 0.00 — a near value close to 0 from above
    cells, second = evaluate(registry, [(299, 300), (300, 299), (1, 3)], monkeypatch)
    assert cells["negative"] == ['-0.00', '0.00', '-0.67']
    assert 0 in second.get("negative", set())
    assert 2 not in second.get("negative", set())


def test_one_value_or_none_gives_nothing_known_in_the_first_pass(registry, monkeypatch):
    # `maybe` is 10 € × 1/3 → 3.33 or none, as `unsure` decides: the row engine's set of the two.
    # `maybe is set` is then not established, and so is `maybe + 1 €` (no interval holds none), both
    # with the reason « dépend de : Condition d'essai » and `unsure` as what decides — computed in the
    # first pass, not handed to the second
    cells, second = evaluate(registry, [(1000, 3000), (2000, 3000)], monkeypatch)
    # `maybe` itself is written as that set: 10 € × 1/3 and 10 € × 2/3 (3.33 and 6.67) or none
    for text, amount in zip(cells["maybe"], ["3.33", "6.67"]):
        assert json.loads(text)["one_of"] == [None, amount]
        assert json.loads(text)["not_established"] == "dépend de : Condition d'essai"
    assert not second.get("maybe")
    for name in ("maybe_plus", "maybe_set"):
        for text in cells[name]:
            value = json.loads(text)
            assert value["not_established"] == "dépend de : Condition d'essai", (name, value)
            assert [u["name"] for u in value["decided_by"]] == ["unsure"]
            assert "one_of" not in value and "between" not in value
        assert not second.get(name), (name, second.get(name))


def test_bounds_that_are_quotients_in_the_first_pass(registry, monkeypatch):
    # 3 000 € × 1000 / (3000 + extra), extra between 10 and 20: between 3 000 000 / 3 020 = 993.377… and
    # 3 000 000 / 3 010 = 996.677…, rounded: 993.38 and 996.68 — bounds that are quotients not terminating
    cells, second = evaluate(registry, [(1000, 3000)], monkeypatch)
    value = json.loads(cells["ranged"][0])
    assert value["between"] == ["993.38", "996.68"]
    assert [u["name"] for u in value["decided_by"]] == ["extra"]
    assert not second.get("ranged")
    # max(0, (1000 - 5000) / (3000 + extra)): the range lies below 0 by far: max picks the exact 0
    assert cells["floored"] == ["0.00"] and not second.get("floored")
    # the readings of x = 1000/(3000 + extra) (a range) and y = 1/3: the lowest is x, the mean (x + y)/2;
    # their hull times 3 000: from 3 000 × 1000/3020 = 993.377… to 1 500 × (1000/3010 + 1/3) = 998.338…
    value = json.loads(cells["read_ranged"][0])
    assert value["between"] == ["993.38", "998.34"]
    assert sorted(u["name"] for u in value["decided_by"]) == ["extra", "read_both"]
    assert not second.get("read_ranged")


def test_ranges_unbounded_on_a_side_in_the_first_pass(registry, monkeypatch):
    counts = [(1001, 3000), (995, 3000), (1100, 3000), (1000, 3000), (0, 3000)]
    cells, second = evaluate(registry, counts, monkeypatch)
    # (p - 1000) / gap, gap between 0 and 70 (0 included): 1/gap is at least 1/70 and unbounded above;
    # min(1, ·) bounds it again: [1/70, 1], times 3 000: from 42.857… to 3 000. -5/gap is at most -1/14
    # and unbounded below: max(0, ·) is 0 exactly. 100/gap is at least 10/7: min(1, ·) is 1 exactly.
    # 0/gap is 0 (every world that divides gives 0).
    value = json.loads(cells["open_share"][0])
    assert value["between"] == ["42.86", "3000.00"]
    assert [u["name"] for u in value["decided_by"]] == ["gap"]
    assert cells["open_share"][1:] == ["0.00", "3000.00", "0.00", "0.00"]
    # min(p/f, a rate of which nothing is known) is unbounded below, at most p/f: times 3 000, at most
    # 1 001.00 (3 000 × 1001/3000), 995.00, 1 100.00, 1 000.00 and 0.00
    for text, high in zip(cells["capped_nothing"], ["1001.00", "995.00", "1100.00", "1000.00", "0.00"]):
        value = json.loads(text)
        assert value["not_established"] == "taux non publié" and value["between"] == [None, high]
    # the readings of p/f and that rate: the lowest (-∞, p/f], the product and the mean nothing known
    # (p/f is not 0 by far… or is 0 exactly: 0 × it is 0 but the mean still knows nothing); their hull:
    # nothing known, with the reason of the rate, decided by the rate and by the choice of a reading
    for text in cells["read_nothing"]:
        value = json.loads(text)
        assert value["not_established"] == "taux non publié" and "between" not in value
        assert sorted(u["name"] for u in value["decided_by"]) == ["nothing", "read_three"]
    for name in ("open_share", "capped_nothing", "read_nothing"):
        assert not second.get(name), (name, second.get(name))


def test_each_row_keeps_its_own_error_bound(registry, monkeypatch):
    # p/7 is carried to 9 places, within 1e-9 of the row engine's; times the file active f, within
    # f·1e-9. 5/7 × 1 = 0.714 285… lies 0.000 714… from the half cent 0.715: its own bound (2e-9)
    # decides it, 0.71 — a bound shared by the column, the largest row's (1/7 × 1 000 000: 1e-3),
    # would not, and would send the row to the second pass. 142 857.142 857… is 0.002 1… from the
    # half cent: decided within its own bound of about 0.001, 142 857.14.
    cells, second = evaluate(registry, [(5, 1), (1, 1_000_000)], monkeypatch)
    assert cells["spread"] == ["0.71", "142857.14"]
    assert not second.get("spread")


def test_a_product_of_two_rates_is_exact_enough_to_round(registry, monkeypatch):
    # 30 000 × 178/241 × 178/242 = 30 000 × 31 684/58 322 = 16 297.795 000 171… — 1.7e-7 € above the half
    # cent, 16 297.80. Each rate carried to 9 places, their product would be within 2e-9 of the row
    # engine's, 6e-5 € once times 30 000: undecided. Carried to 14 places (as many as the int64 columns
    # hold with room to spare), and multiplied exactly in Python integers, it is within 1e-8 €: decided.
    cells, second = evaluate(registry, [(178, 241)], monkeypatch)
    assert cells["two_rates"] == ["16297.80"]
    assert not second.get("two_rates")


def test_a_product_reaching_infinity_keeps_the_row_engine_s_sides(registry, monkeypatch):
    # 1/1 800 000 000 000 000 is 0.000 000 000 000 001 at the 15 places a near quotient keeps at most,
    # within its err of 0: the row engine's is not 0, and a rate of which nothing is known times it is
    # nothing known (0 times it would be 0). 3 × 1/18 - 0.166666667 is +1e-9 at 9 places, but
    # -3.3e-10 to 28 digits: (-∞, 5] times it is [-1.7e-9, +∞) — bounded below, not above —, plus
    # 1 €: at least 1.00. Both left to the second pass, which gives the row engine's values.
    cells, second = evaluate(registry, [(1, 18)], monkeypatch)
    value = json.loads(cells["nothing_times_tiny"][0])
    assert value["not_established"] == "taux non publié" and "between" not in value
    value = json.loads(cells["flipped"][0])
    assert value["not_established"] == "taux non publié" and value["between"] == ["1.00", None]
    assert second.get("nothing_times_tiny") == {0} and second.get("flipped") == {0}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 5000), st.integers(1, 5000).filter(lambda f: f != 1000)), min_size=1, max_size=30))
def test_near_values_give_the_row_engine_s_amounts(registry, monkeypatch, counts):
    evaluate(registry, counts, monkeypatch)


@given(st.integers(-10 ** 15, 10 ** 15), st.integers(1, 10 ** 6))
def test_half_even_is_decimal_s(x, d):
    from decimal import ROUND_HALF_EVEN, Decimal
    expected = int((Decimal(x) / Decimal(d)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    assert int(near._half_even(np.array([x], np.int64), np.int64(d))[0]) == expected


@given(st.one_of(st.integers(-10 ** 36, 10 ** 36), st.integers(-99, 99).map(lambda h: h * 5 * 10 ** 17)),
       st.integers(1, 36))
def test_half_even_of_python_integers_is_decimal_s(p, places):
    # the exact products of near_arith: Python integers far beyond int64, ties included
    from decimal import ROUND_HALF_EVEN, Decimal, localcontext
    from engine.vector.near_arith import _half_even_objects
    with localcontext() as context:
        context.prec = 100
        expected = int((Decimal(p) / Decimal(10) ** places).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    assert _half_even_objects(np.array([p], object), 10 ** places)[0] == expected
