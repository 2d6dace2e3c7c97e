"""Shared settings of the fuzzers (issue 8).

CI runs a small, derandomized number of examples per property (the whole folder stays
well under a minute on 2 cores). `MILLESIME_FUZZ_EXAMPLES=N` multiplies every budget by
N / 100 for a long run; `MILLESIME_FUZZ_REPORT=path.json` writes how many examples each
fuzzer tried (the figures of docs/fiabilite.md).
"""
from __future__ import annotations

import collections
import json
import os
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[2]
RULESETS = ROOT / "rulesets"
SCALE = int(os.environ.get("MILLESIME_FUZZ_EXAMPLES", "0") or 0)
TRIED: collections.Counter = collections.Counter()


def fuzz(ci_examples: int, deadline_ms: int = 2000):
    """Hypothesis settings: `ci_examples` in CI, scaled up by MILLESIME_FUZZ_EXAMPLES."""
    examples = max(ci_examples, ci_examples * SCALE // 100) if SCALE else ci_examples
    return settings(max_examples=examples, deadline=deadline_ms, derandomize=True, database=None,
                    print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def tried(name: str) -> None:
    TRIED[name] += 1


def pytest_sessionfinish(session, exitstatus):
    report = os.environ.get("MILLESIME_FUZZ_REPORT")
    if report and TRIED:
        Path(report).write_text(json.dumps(dict(sorted(TRIED.items())), indent=2) + "\n", encoding="utf-8")
