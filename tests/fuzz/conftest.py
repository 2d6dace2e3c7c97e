"""Shared settings of the fuzzers (issues 8 and 16).

Two regimes:

- CI (the default): a small number of examples per property, derandomized — every run replays
  the same examples, so a red CI is a change of the code, never of luck (the whole folder stays
  well under a minute on 2 cores);
- a campaign (tests/fuzz/campaign.py, `make fuzz-campaign`): `MILLESIME_FUZZ_EXAMPLES=N`
  multiplies every budget by N / 100 and `MILLESIME_FUZZ_FRESH=1` draws the examples from
  pytest's `--hypothesis-seed` instead of the test's name, so each campaign, given a fresh
  seed, tries examples no run tried before — and the same seed replays them.

`MILLESIME_FUZZ_REPORT=path.json` writes what was tried (`tried`: a counter per fuzzer and
outcome) and what failed (`failures`: each failing test with its falsifying example): the
figures of docs/fiabilite.md come from that file, through campaign.py.
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
FRESH = os.environ.get("MILLESIME_FUZZ_FRESH", "") == "1"
TRIED: collections.Counter = collections.Counter()
FAILURES: list[dict] = []


def fuzz(ci_examples: int, deadline_ms: int = 2000):
    """Hypothesis settings: `ci_examples` in CI, scaled up by MILLESIME_FUZZ_EXAMPLES."""
    examples = max(ci_examples, ci_examples * SCALE // 100) if SCALE else ci_examples
    return settings(max_examples=examples, deadline=deadline_ms, derandomize=not FRESH, database=None,
                    print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


def tried(name: str) -> None:
    TRIED[name] += 1


def pytest_runtest_logreport(report):
    if report.failed and os.environ.get("MILLESIME_FUZZ_REPORT"):
        text = report.longreprtext
        start = max(text.find("Falsifying example"), 0)
        FAILURES.append({"test": report.nodeid, "when": report.when, "example": text[start:][-4000:]})


def pytest_sessionfinish(session, exitstatus):
    report = os.environ.get("MILLESIME_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps({"tried": dict(sorted(TRIED.items())), "failures": FAILURES},
                                           indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
