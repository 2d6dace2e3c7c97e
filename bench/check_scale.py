"""`millesime check` at scale (issue 16): many declarations, a huge string, a flat sum.

    .venv/bin/python bench/check_scale.py [--params N ...] [--string-mb M] [--sum-terms K]

Each scenario writes one generated ruleset to a temporary folder and times what `millesime
check` runs on it (parse, resolve, check, timeline), in this process, with the peak memory the
run allocated (tracemalloc is off for the timings: it is measured in a second run). Timings
belong here and in bench/RESULTS.md, never in the tests (tests/test_check_scale.py asserts the
behaviour: the flat sum parses, an empty cell is named as such).
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dsl.errors import RulesetError  # noqa: E402
from engine.registry import Registry  # noqa: E402

HEADER = '''ruleset scale "Ruleset généré"
  effective from 2024-01-01
reference R "Référence" grade official
input physician : group "Médecin"
input physician.patients_mt : int "Patientèle"
'''


def many_parameters(n: int, unused: bool = False) -> str:
    """n parameters, each used by the output rule (or not: n warnings)."""
    lines = [HEADER]
    for i in range(n):
        lines.append(f'parameter p{i} "Paramètre {i}" : int = {i}\n  source R quote "{i}"\n')
    used = "sum([" + ", ".join(f"p{i}" for i in range(n)) + "])" if not unused else "0"
    lines.append(f'rule total "Total" : int = physician.patients_mt + {used}\n  source R quote "total"\n')
    lines.append("output total\n")
    return "".join(lines)


def huge_string(megabytes: int) -> str:
    text = "x" * (megabytes * 1_000_000)
    return (HEADER + f'parameter big "{text}" : int = 1\n  source R quote "q"\n'
            'rule total "Total" : int = physician.patients_mt + big\n  source R quote "total"\noutput total\n')


def flat_sum(terms: int) -> str:
    body = " + ".join("1" for _ in range(terms))
    return (HEADER + f'rule total "Total" : int = physician.patients_mt + {body}\n  source R quote "total"\n'
            "output total\n")


def run(name: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.mil"
        path.write_text(text, encoding="utf-8")
        t0 = time.perf_counter()
        try:
            diagnostics = Registry.from_paths([path], require_sources=True).diagnostics
        except RulesetError as exc:
            diagnostics = exc.diagnostics
        rendered = "\n".join(d.render() for d in diagnostics)  # what the command prints
        seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    errors = sum(d.severity == "error" for d in diagnostics)
    first = diagnostics[0].message if diagnostics else "—"
    print(f"{name}: {len(text) / 1e6:.1f} MB of text, {seconds:.2f} s, {errors} error(s), "
          f"{len(diagnostics) - errors} warning(s), {len(rendered) / 1e6:.1f} MB printed, "
          f"process peak RSS {peak:.0f} MB; first: {first}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=int, nargs="*", default=[1000, 16000])
    parser.add_argument("--unused", type=int, nargs="*", default=[16000])
    parser.add_argument("--string-mb", type=int, default=50)
    parser.add_argument("--sum-terms", type=int, default=200_000)
    args = parser.parse_args(argv)
    for n in args.params:
        run(f"{n} parameters", many_parameters(n))
    for n in args.unused:
        run(f"{n} unused parameters (one warning each)", many_parameters(n, unused=True))
    if args.sum_terms:
        run(f"a flat sum of {args.sum_terms} terms", flat_sum(args.sum_terms))
    if args.string_mb:
        run(f"one string of {args.string_mb} MB", huge_string(args.string_mb))


if __name__ == "__main__":
    main()
