"""Time `millesime check` on the shipped rulesets: parse + resolve amends chains + check + timeline.

    .venv/bin/python bench/check_bench.py [RUNS]

Each run starts cold for the rulesets (files re-read and re-parsed, nothing cached but the
compiled grammar, as in a long-lived editor process); the first run, which also builds the
grammar, is reported apart. Prints ms per run: min, median, max.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.registry import RULESET_SUFFIX, Registry, shipped_rulesets_dir  # noqa: E402


def check_once(paths) -> int:
    registry = Registry.from_paths(paths, require_sources=True)  # what `millesime check` runs
    return len(registry.diagnostics)


def main(runs: int = 50) -> None:
    paths = sorted(shipped_rulesets_dir().glob(f"*{RULESET_SUFFIX}"))
    t0 = time.perf_counter()
    assert check_once(paths) == 0, "the shipped rulesets should check clean"
    first = (time.perf_counter() - t0) * 1000
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        check_once(paths)
        times.append((time.perf_counter() - t0) * 1000)
    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in paths)
    print(f"check of {len(paths)} shipped rulesets ({lines} lines), {runs} runs: "
          f"first {first:.0f} ms (grammar built), then min {min(times):.1f} ms, "
          f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
