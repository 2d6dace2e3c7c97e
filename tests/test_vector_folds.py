"""`count`, `sum`, `any` and `all` over a list in the vector back-end (engine/vector/lists.py `fold`)
give the row engine's values: on constant lists worked out by hand, and on the bench's realistic
population through a reform that folds the payment calendar and the options offered — every row
the vector back-end computes equal to the row engine's, and most rows computed in columns."""
import datetime as dt
import sys
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")

from engine import vector  # noqa: E402
from engine.batch import Batch, cell  # noqa: E402
from engine.registry import Registry  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import realistic as R  # noqa: E402

FOLDS = '''ruleset folds_2025 "Réforme d'essai : sommes et décomptes sur des listes"
  effective from 2025-01-01
  amends convention_2024

reference ESSAI "Essai des sommes et décomptes (hypothèse d'étude)" grade hypothesis

parameter big_offer "Seuil d'un gros montant" : money = 20 000 €
  source ESSAI quote "seuil"

parameter large_offer "Seuil d'un montant important" : money = 10 000 €
  source ESSAI quote "seuil"

rule offered_total "Somme des montants de toutes les options" : money =
  sum([sum(o.amounts) for o in options])
  source ESSAI quote "somme"

rule payment_count "Nombre de versements" : int =
  count(payments)
  source ESSAI quote "décompte"

rule years_total "Somme des années des versements" : int =
  sum([p.year for p in payments])
  source ESSAI quote "années"

rule some_balance "Un solde parmi les versements" : bool =
  any([p.kind = "balance" for p in payments])
  source ESSAI quote "un au moins"

rule all_due "Tous les versements sont échus" : bool =
  all([p.date <= on for p in payments])
  source ESSAI quote "tous"

rule some_big_offer "Un montant proposé au-dessus de 20 000 €" : bool =
  any([a > big_offer for a in flatten([o.amounts for o in options])])
  source ESSAI quote "un au moins"

rule all_offers_large "Tous les montants proposés d'au moins 10 000 €" : bool =
  all([a >= large_offer for a in flatten([o.amounts for o in options])])
  source ESSAI quote "tous"

rule some_many_more "Une option demande plus de 100 patients de plus" : bool =
  any([o.additional_file_active > 100 for o in options])
  source ESSAI quote "un au moins"

rule all_non_negative "Aucune option ne demande moins de patients" : bool =
  all([o.additional_file_active >= 0 for o in options])
  source ESSAI quote "tous"

rule more_total "Patients de plus, toutes options" : int =
  sum([o.additional_file_active for o in options])
  source ESSAI quote "somme"

rule latest_payment "Dernière date de versement" : date =
  if count(payments) > 0 then max([p.date for p in payments]) else on
  source ESSAI quote "dernière"

rule first_year "Première année versée" : int =
  if count(payments) > 0 then min([p.year for p in payments]) else 0
  source ESSAI quote "première"

rule smallest_offer "Plus petit montant proposé" : money =
  if count(options) > 0 then min(flatten([o.amounts for o in options])) else 0 €
  source ESSAI quote "plus petit"

rule constants "Sommes et décomptes de listes constantes" : {six: int, three: int, none_yes: bool, all_no: bool, empty: int, cents: money, low: int, high: int} =
  {six: sum([1, 2, 3]), three: count([4, 5, 6]), none_yes: any([false, true, false]), all_no: all([true, false]),
   empty: sum([]), cents: sum([1.50 €, 2.25 €]), low: min([7, 3, 9]), high: max([7, 3, 9])}
  source ESSAI quote "constantes"

output offered_total, payment_count, years_total, some_balance, all_due, some_big_offer, all_offers_large, constants
output some_many_more, all_non_negative, more_total, latest_payment, first_year, smallest_offer
'''
OUTPUTS = ["offered_total", "payment_count", "years_total", "some_balance", "all_due", "some_big_offer",
           "all_offers_large", "some_many_more", "all_non_negative", "more_total", "latest_payment", "first_year",
           "smallest_offer"]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    path = tmp_path_factory.mktemp("folds") / "folds.mil"
    path.write_text(FOLDS, encoding="utf-8")
    return Registry.load(reform=path)


def realistic_table(n: int, seed: int):
    rows = R.rows(n, seed)
    return pa.table({c: pa.array([r.get(c) or None for r in rows], pa.string()) for c in R.COLUMNS})


def test_folds_of_constant_lists_as_worked_out_by_hand(registry):
    table = realistic_table(300, 5)
    batch = Batch.prepare(dt.date(2026, 9, 1), registry, ["constants"])
    columns = {name: table.column(name) for name in table.column_names}
    out, back = vector.run_columns(batch, columns, table.num_rows)
    texts, codes = out["constants"]
    assert len(back) < table.num_rows  # computed in columns, not handed back
    done = [i for i in range(table.num_rows) if i not in set(back.tolist())]
    assert {texts[codes[i]] for i in done} == {
        '{"six": 6, "three": 3, "none_yes": true, "all_no": false, "empty": 0, "cents": "3.75", "low": 3, "high": 9}'}


@pytest.mark.parametrize("on", [dt.date(2026, 9, 1), dt.date(2025, 3, 1)])
def test_folds_over_realistic_lists_are_the_row_engine_s(registry, on):
    """Each output alone (a row handed back for one output is handed back whole: evaluated
    together, one fold's rows would hide another's)."""
    table = realistic_table(1500, 11)
    columns = {name: table.column(name) for name in table.column_names}
    population = table.to_pylist()
    reference = Batch.prepare(on, registry, OUTPUTS)
    expected = [reference.row(row)[0] for row in population]
    for name in OUTPUTS:
        batch = Batch.prepare(on, registry, [name])
        out, back = vector.run_columns(batch, columns, table.num_rows)
        handed = set(back.tolist())
        # computed in columns for most rows (before, every row of a fold went back) — but a sum of
        # money over an empty list, which the row engine holds as the int 0 (`offered_total` on
        # every row with a contract: no options), is left to the row engine
        if name != "offered_total":
            assert len(handed) < 0.3 * table.num_rows, (name, len(handed))
        texts, codes = out[name]
        for i in range(table.num_rows):
            if i not in handed:
                assert texts[codes[i]] == cell(expected[i][name]), (name, i)
