"""The regression suite of each agreement: tests/agreements/<ruleset>/*.yaml, run on the shipped rulesets.

Each case's expected values are worked by hand from the legal tables (see the comments in
the YAML files). A change to one ruleset that moves another agreement's result fails here.
"""
from pathlib import Path

import pytest

from engine import shipped_registry
from engine.testing import collect, load_cases, run_case

AGREEMENTS = Path(__file__).parent / "agreements"
CASES = [c for f in (collect([AGREEMENTS]) if AGREEMENTS.is_dir() else []) for c in load_cases(f)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_agreement_case(case):
    outcome = run_case(case, shipped_registry())
    assert outcome.passed, "\n".join(outcome.failures)


def test_every_agreement_has_its_regression_suite():
    counts = {}
    for c in CASES:
        counts[c.file.parent.name] = counts.get(c.file.parent.name, 0) + 1
    ids = {m.id for m in shipped_registry().timeline()}
    assert set(counts) == ids
    assert all(n >= 15 for n in counts.values()), counts


def test_each_file_guards_the_agreement_of_its_folder():
    for c in CASES:
        assert c.ruleset == c.file.parent.name, c.id
