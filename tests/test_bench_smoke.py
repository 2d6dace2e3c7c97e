"""The benchmark's smoke run (50 cases, Millésime only): it runs, and what it measures is right.

Timings are not asserted (they belong to bench/RESULTS.md). OpenFisca and Publicodes are
installed by bench/run.sh only; their cross-check runs there.
"""
import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


def test_smoke_run_of_millesime():
    pytest.importorskip("pyarrow")
    report = load("run").main(["--smoke", "--only", "millesime"])
    m = report["millesime"]
    assert len(m["results"]) == 50
    # read as the bench reads them (text results): some physicians eligible, with an amount
    assert any(eligible and cents > 0 for eligible, cents in m["results"])
    assert m["batch_cases_per_s"] > 0 and m["single_us"] > 0 and m["single_explained_us"] > 0


def test_population_is_seeded_and_flattens_to_batch_columns():
    population = load("population")
    a, b = population.population(3, seed=7), population.population(3, seed=7)
    assert a == b
    row = population.flat(a[0])
    assert {"sector", "patients_mt", "contract_signed_on", "contract_option"} <= set(row)
