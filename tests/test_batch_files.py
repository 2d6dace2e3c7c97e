"""Batch files lose nothing and hide nothing (issue 16).

Expected values are worked out by hand: the 2024 convention's year-1 amount for a full-time
GP contract is 38 000 € (rulesets/convention_2024.mil, `aid_amount`), the `texts` ruleset below
is small enough to read at a glance.
"""
import csv
import datetime as dt
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine import batch
from engine.batch import BatchError, evaluate_table, run_file
from engine.registry import Registry

ON = dt.date(2025, 3, 1)  # convention_2024 in force
HEADER = "specialty,sector,optam,patients_mt,file_active,contract_signed_on,contract_option," \
         "contract_initial_patients_mt,contract_initial_file_active"
GOOD = "medecine_generale,1,false,1200,2000,2024-09-01,full,1200,2000"  # year 1, full → 38 000 €
NO_CONTRACT = "medecine_generale,1,false,1200,2000"                      # fewer cells: 5 of 9
ROOT = Path(__file__).resolve().parents[1]

TEXTS = '''ruleset texts "Textes et parts"
  effective from 2020-01-01

input physician : group "Médecin"
input physician.name : text "Nom"
input physician.share : optional decimal "Part" between 0 and 1

rule label "Nom retenu" : text = physician.name
rule is_bob "Le médecin s'appelle Bob" : bool = physician.name = "Bob"
rule above "Part supérieure à 0,1" : optional bool = if physician.share is set then physician.share > 0.1 else none
rule share_read "Part lue" : optional decimal = physician.share

output label, is_bob, above, share_read
'''
TEXTS_ON = dt.date(2024, 1, 1)


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> Registry:
    folder = tmp_path_factory.mktemp("texts")
    (folder / "texts.mil").write_text(TEXTS, encoding="utf-8")
    return Registry.load(folder)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run(tmp_path, text: str, name="cases.csv", **kw):
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.csv"
    summary = run_file(source, kw.pop("on", ON), out, kw.pop("registry", None), kw.pop("outputs", ["annual_aid"]),
                       progress=False, **kw)
    return summary, read_csv(out), read_csv(batch.errors_path(out))


def test_evaluate_table_keeps_no_text_of_a_finished_run(texts):
    pa = pytest.importorskip("pyarrow")
    vector = pytest.importorskip("engine.vector")
    evaluate_table(pa.table({"name": ["Bob", "warm-up"]}), TEXTS_ON, texts, ["label", "is_bob"], engine="vector")
    before = len(vector._NAMES.codes)
    names = [f"physician {i}" for i in range(2000)] + ["Bob"]
    out = evaluate_table(pa.table({"name": names}), TEXTS_ON, texts, ["label", "is_bob"], engine="vector")
    assert out.column("label").to_pylist() == names
    assert out.column("is_bob").to_pylist() == ["false"] * 2000 + ["true"]
    assert len(vector._NAMES.codes) == before  # was before + 2000: every text ever seen, for good
    again = [f"other {i}" for i in range(2000)]
    evaluate_table(pa.table({"name": again}), TEXTS_ON, texts, ["label"], engine="vector")
    assert len(vector._NAMES.items) <= before + 2001  # the codes of the first run are reused
