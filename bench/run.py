"""Millésime vs OpenFisca-Core vs Publicodes on the same generated population.

    bench/run.sh [--n 120000] [--single 2000]   # installs OpenFisca and Publicodes, then runs this
    python bench/run.py --smoke                   # 50 cases; engines not installed are skipped

Measures, for each engine: batch throughput (cases/s) and the single-case latency (µs per
case, one case evaluated alone as a simulator does; Millésime with and without explanation).
Every engine's eligibility and annual aid are cross-checked against Millésime's, to the cent;
Millésime runs twice in batch, row by row and through the vector back-end (engine/vector/).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import population as P  # noqa: E402

OUTPUTS = ["eligible", "annual_aid"]


def cents(value) -> int:
    return int((Decimal(str(value)) * 100).to_integral_value())


# ---------------------------------------------------------------- Millésime

def millesime(cases: list[dict], single: int) -> dict:
    import pyarrow as pa

    from engine import shipped_registry
    from engine.batch import evaluate_table
    from engine.interpreter import evaluate
    registry = shipped_registry()
    table = pa.Table.from_pylist([P.flat(c) for c in cases])
    evaluate_table(table.slice(0, 50), P.ON, registry, OUTPUTS, engine="row", typed=False)  # warm-up
    t = time.perf_counter()
    out = evaluate_table(table, P.ON, registry, OUTPUTS, engine="row", typed=False)
    batch_s = time.perf_counter() - t
    errors = [e for e in out.column("error").to_pylist() if e]
    assert not errors, errors[:3]
    results = [(e == "true", cents(a)) for e, a in zip(out.column("eligible").to_pylist(),
                                                         out.column("annual_aid").to_pylist())]
    timings = {}
    for label, explain in (("single_explained_us", True), ("single_us", False)):
        sample = cases[:single]
        t = time.perf_counter()
        for case in sample:
            evaluate(case, P.ON, registry, OUTPUTS, explain=explain)
        timings[label] = (time.perf_counter() - t) / len(sample) * 1e6
    return {"results": results, "batch_cases_per_s": len(cases) / batch_s, **timings}


def millesime_vector(cases: list[dict], runs: int = 3) -> dict | None:
    """The vector back-end (engine/vector/) through the same `evaluate_table`, Arrow in, Arrow
    out: input conversion, evaluation, output strings and the rows handed back to the row engine
    all included. Best of `runs` after a warm-up on 50 rows (which compiles the plans)."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        print("  numpy not installed: vectorised Millésime skipped", file=sys.stderr)
        return None
    import pyarrow as pa

    from engine import shipped_registry, vector
    from engine.batch import Batch, evaluate_table
    import pyarrow.compute as pc
    registry = shipped_registry()
    table = pa.Table.from_pylist([P.flat(c) for c in cases])
    evaluate_table(table.slice(0, 50), P.ON, registry, OUTPUTS, engine="vector", typed=False)  # warm-up

    def end_to_end(source):
        best = None
        for _ in range(runs):
            t = time.perf_counter()
            result = evaluate_table(source, P.ON, registry, OUTPUTS, engine="vector", typed=False)
            elapsed = time.perf_counter() - t
            best = elapsed if best is None else min(best, elapsed)
        return best, result
    best, out = end_to_end(table)
    # the same table with its text columns categorical, as Parquet files and Polars usually hold them
    categorical = pa.table({name: pc.dictionary_encode(column) if pa.types.is_string(column.type) else column
                            for name, column in zip(table.column_names, table.columns)})
    best_categorical, out_categorical = end_to_end(categorical)
    assert out_categorical.select(OUTPUTS).equals(out.select(OUTPUTS))
    errors = [e for e in out.column("error").to_pylist() if e]
    assert not errors, errors[:3]
    results = [(e == "true", cents(a)) for e, a in zip(out.column("eligible").to_pylist(),
                                                         out.column("annual_aid").to_pylist())]
    batch = Batch.prepare(P.ON, registry, OUTPUTS)
    _, back = vector.run_columns(batch, {n: table.column(n) for n in table.column_names}, table.num_rows)
    # the evaluation proper, as OpenFisca's figure: inputs already numpy columns (converted and
    # validated once, kept by the run), outputs left as columns (no strings)
    run = vector.Run(vector.engine_for(registry), batch.schema, {n: table.column(n) for n in table.column_names},
                     table.num_rows, P.ON)
    run.evaluate(OUTPUTS)
    evaluation = None
    for _ in range(runs):
        t = time.perf_counter()
        run.evaluate(OUTPUTS)
        elapsed = time.perf_counter() - t
        evaluation = elapsed if evaluation is None else min(evaluation, elapsed)
    return {"results": results, "batch_cases_per_s": len(cases) / best, "handed_back": int(len(back)),
            "evaluation_cases_per_s": len(cases) / evaluation,
            "categorical_cases_per_s": len(cases) / best_categorical,
            "batch_includes": f"evaluate_table end to end, best of {runs}"}


# ---------------------------------------------------------------- OpenFisca-Core

def openfisca(cases: list[dict], single: int, runs: int = 3) -> dict | None:
    try:
        import openfisca_model as OF
    except ImportError as exc:
        print(f"  OpenFisca-Core not installed ({exc}): skipped — bench/run.sh installs it", file=sys.stderr)
        return None
    system = OF.AssistantAid()
    period = P.ON.strftime("%Y-%m")
    columns = OF.arrays(cases)
    OF.simulate(system, {k: v[:50] for k, v in columns.items()}, period)  # warm-up
    batch_s = None
    for _ in range(runs):  # best of `runs`, as Millésime's vector figures
        t = time.perf_counter()
        eligible, aid = OF.simulate(system, columns, period)
        elapsed = time.perf_counter() - t
        batch_s = elapsed if batch_s is None else min(batch_s, elapsed)
    results = [(bool(e), cents(float(a))) for e, a in zip(eligible, aid)]
    # end to end from the Arrow table Millésime's evaluate_table reads (outputs left as arrays)
    import pyarrow as pa
    table = pa.Table.from_pylist([P.flat(c) for c in cases])
    end_to_end = None
    for _ in range(runs):
        t = time.perf_counter()
        eligible_e2e, aid_e2e = OF.simulate(system, OF.arrays_from_arrow(table), period)
        elapsed = time.perf_counter() - t
        end_to_end = elapsed if end_to_end is None else min(end_to_end, elapsed)
    assert (eligible_e2e == eligible).all() and (aid_e2e == aid).all()
    sample = cases[:single]
    t = time.perf_counter()
    for case in sample:  # a simulator: one physician, one simulation
        OF.simulate(system, OF.arrays([case]), period)
    single_us = (time.perf_counter() - t) / len(sample) * 1e6
    return {"results": results, "batch_cases_per_s": len(cases) / batch_s, "single_us": single_us,
            "end_to_end_cases_per_s": len(cases) / end_to_end,
            "batch_includes": f"input conversion excluded, simulation build + calculate included, best of {runs}"}


# ---------------------------------------------------------------- Publicodes

def publicodes(cases: list[dict], single: int) -> dict | None:
    node = shutil.which("node")
    if node is None or not (HERE / "publicodes" / "node_modules" / "publicodes").is_dir():
        print("  Publicodes not installed (node + bench/publicodes/node_modules): skipped — bench/run.sh installs it",
              file=sys.stderr)
        return None

    def key(d: dt.date) -> int:
        return d.year * 10000 + d.month * 100 + d.day
    situations = [{"specialty": f"'{c['physician']['specialty']}'", "sector": c["physician"]["sector"],
                   "optam": "oui" if c["physician"]["optam"] else "non",
                   "patients_mt": c["physician"]["patients_mt"], "percentile": c["physician"]["percentile"],
                   "ccam_fee_share": float(c["physician"]["ccam_fee_share"]),
                   "option": f"'{c['contract']['option']}'", "signed_key": key(c["contract"]["signed_on"]),
                   "on_key": key(P.ON)} for c in cases]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(situations, f)
    try:
        out = subprocess.run([node, str(HERE / "publicodes" / "run.mjs"), f.name], capture_output=True, text=True,
                             check=True)
    finally:
        os.unlink(f.name)
    data = json.loads(out.stdout)
    results = [(bool(e), cents(a)) for e, a in data["results"]]
    per_case = data["seconds"] / len(cases)
    return {"results": results, "batch_cases_per_s": 1 / per_case, "single_us": per_case * 1e6,
            "batch_includes": "no vectorised mode: the single-case loop (setSituation + evaluate)"}


# ---------------------------------------------------------------- report

def compare(reference: list, other: list) -> list[int]:
    return [i for i, (a, b) in enumerate(zip(reference, other)) if a != b]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=120000, help="population size for the batch run (the issue's: every liberal physician)")
    parser.add_argument("--single", type=int, default=2000, help="cases timed one by one")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--smoke", action="store_true", help="50 cases: a check that everything runs, not a timing")
    parser.add_argument("--only", choices=["millesime"], help="run Millésime alone")
    args = parser.parse_args(argv)
    n, single = (50, 50) if args.smoke else (args.n, min(args.single, args.n))
    cases = P.population(n, args.seed)
    print(f"population: {n} physicians (seed {args.seed}), evaluated on {P.ON}; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}")
    report = {"millesime": millesime(cases, single), "millesime-vec": millesime_vector(cases)}
    if report["millesime-vec"] is not None:
        v = report["millesime-vec"]
        print(f"vectorised Millésime: {v['handed_back']} of {n} rows handed back to the row engine; "
              f"evaluation alone (inputs already columns, outputs not formatted): "
              f"{v['evaluation_cases_per_s']:,.0f} cases/s; end to end with categorical text columns: "
              f"{v['categorical_cases_per_s']:,.0f} cases/s")
    if args.only is None:
        report["openfisca"] = openfisca(cases, single)
        report["publicodes"] = publicodes(cases, single)
    reference = report["millesime"]["results"]
    eligible = sum(e for e, _ in reference)
    print(f"Millésime: {eligible} eligible, total annual aid {sum(a for _, a in reference) / 100:,.2f} €")
    print(f"{'engine':<12} {'batch cases/s':>14} {'single µs':>10} {'single µs + explanation':>24}  cross-check")
    for name, r in report.items():
        if r is None:
            continue
        mismatches = compare(reference, r["results"]) if name != "millesime" else []
        r["mismatches"] = len(mismatches)
        check = "reference" if name == "millesime" else (
            "equal to the cent" if not mismatches else f"{len(mismatches)} DIFFERENT, e.g. case {mismatches[0]}: "
            f"{reference[mismatches[0]]} vs {r['results'][mismatches[0]]}")
        explained = f"{r['single_explained_us']:>24,.1f}" if "single_explained_us" in r else f"{'—':>24}"
        single_us = f"{r['single_us']:>10,.1f}" if "single_us" in r else f"{'—':>10}"
        print(f"{name:<12} {r['batch_cases_per_s']:>14,.0f} {single_us} {explained}  {check}")
    m = report["millesime"]
    for name in ("openfisca", "publicodes"):
        r = report.get(name)
        if r:
            print(f"ratio vs {name}: single case {r['single_us'] / m['single_us']:.1f}× faster "
                  f"({r['single_us'] / m['single_explained_us']:.1f}× with explanation), "
                  f"batch {m['batch_cases_per_s'] / r['batch_cases_per_s']:.2f}× the throughput")
            v = report.get("millesime-vec")
            if v:
                print(f"ratio vs {name}: vectorised batch {v['batch_cases_per_s'] / r['batch_cases_per_s']:.2f}× "
                      f"the throughput end to end (Arrow in, validation, text cells out), "
                      f"{v['evaluation_cases_per_s'] / r['batch_cases_per_s']:.2f}× on the evaluation alone")
    v, of = report.get("millesime-vec"), report.get("openfisca")
    if v and of:
        print(f"end to end from the same Arrow table: Millésime {v['batch_cases_per_s']:,.0f} cases/s "
              f"(text cells out), OpenFisca {of['end_to_end_cases_per_s']:,.0f} cases/s (arrays out): "
              f"{v['batch_cases_per_s'] / of['end_to_end_cases_per_s']:.2f}×")
        diff = compare(of["results"], v["results"])
        v["mismatches_openfisca"] = len(diff)
        print("vectorised Millésime vs OpenFisca: " + ("equal to the cent" if not diff else f"{len(diff)} DIFFERENT"))
    if any(r and (r.get("mismatches") or r.get("mismatches_openfisca")) for r in report.values()):
        print("CROSS-CHECK FAILED", file=sys.stderr)
        sys.exit(1)
    return report


if __name__ == "__main__":
    main()
