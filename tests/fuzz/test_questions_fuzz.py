"""Questions driven by the rules (engine/questions.py), checked on every regression case.

A complete case C (an example, or a case of tests/agreements that evaluates, with its contract or
its physician alone) loses some of its required fields; then the page is simulated: ask the questions, answer the required ones asked
from C, ask again, until the rules say `ready`. Checked:

- only fields the case lacks are asked as required, and each round answers at least one, so the
  rounds end (at most one per removed field);
- once `ready`, the partial evaluation gives the very values of `evaluate(C)` — the fields never
  asked were never read, so they cannot change a figure (which is why POST /evaluate with
  `partial: true` may do without them);
- a complete case is `ready` at once, asks no required field, and gives evaluate's values.
"""
from __future__ import annotations

import copy
import json

from hypothesis import given, strategies as st

from engine.interpreter import evaluate
from engine.questions import evaluate_partial

from .conftest import fuzz, tried
from .test_case_fuzz import REGISTRY, VALID_BASES


def required_paths(case: dict, on) -> list[str]:
    """The required fields the case gives, under the ruleset in force (fields of present groups)."""
    model = REGISTRY.in_force(on).model
    out = []
    for path, decl in model.inputs.items():
        if decl.type.kind == "optional" or model.input_type(path).kind == "group":
            continue
        group, _, name = path.rpartition(".")
        holder = case.get(group) if group else case
        if isinstance(holder, dict) and name in holder:
            out.append(path)
    return out


def without(case: dict, paths) -> dict:
    case = copy.deepcopy(case)
    for path in paths:
        group, _, name = path.rpartition(".")
        case[group].pop(name, None)
    return case


def given_back(partial: dict, complete: dict, paths) -> dict:
    partial = copy.deepcopy(partial)
    for path in paths:
        group, _, name = path.rpartition(".")
        partial.setdefault(group, {})[name] = complete[group][name]
    return partial


def as_json(values: dict) -> str:
    return json.dumps(values, sort_keys=True, default=str)


@st.composite
def cases_missing_fields(draw):
    case, on = draw(st.sampled_from(VALID_BASES))
    if draw(st.booleans()):  # the physician alone: the « Je compte signer » journey (options)
        case = {k: v for k, v in case.items() if k != "contract"}
    paths = required_paths(case, on)
    removed = draw(st.lists(st.sampled_from(paths), unique=True, max_size=len(paths))) if paths else []
    return case, on, removed


@fuzz(60, deadline_ms=20000)
@given(cases_missing_fields())
def test_answering_what_is_asked_reaches_the_complete_figures(sample):
    complete, on, removed = sample
    tried("questions: rounds until ready")
    expected = evaluate(complete, on, REGISTRY)
    case = without(complete, removed)
    for _ in range(len(removed) + 1):
        found = evaluate_partial(REGISTRY, case, on)
        asked = [r.path for r in found.questions() if r.required]
        assert set(asked) <= set(removed), (asked, removed)  # only what the case lacks is asked as required
        if not asked:
            break
        case = given_back(case, complete, asked)
    else:
        raise AssertionError(f"still asking after {len(removed) + 1} rounds: {removed}")
    assert not found.errors
    assert as_json(found.result.json_values()) == as_json(expected.json_values())
    assert found.result.reliance() == expected.reliance()


@fuzz(40, deadline_ms=20000)
@given(st.sampled_from(VALID_BASES))
def test_a_complete_case_is_ready_and_gives_evaluates_values(sample):
    case, on = sample
    tried("questions: complete cases")
    found = evaluate_partial(REGISTRY, case, on)
    assert not [r.path for r in found.questions() if r.required]
    assert as_json(found.result.json_values()) == as_json(evaluate(case, on, REGISTRY).json_values())
