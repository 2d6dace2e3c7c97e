"""A value under each reading: the readings that decide an output, side by side.

An output that depends on competing readings is a range (engine/uncertain.py). A lawyer
also wants to read what each reading gives: this module evaluates the output again with each
combination of the readings it depends on picked (as a hypothesis file would pick them), the
other unknowns left open. The number of combinations is capped (`MAX_COMBINATIONS`): past it,
the answer says so and asks for hypotheses (`--assume`) that fix some of the readings.
"""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from dsl.errors import MillesimeError

from .interpreter import evaluate
from .registry import Registry
from .unknowns import Assumptions, load_assumptions
from .values import NotEstablished

MAX_COMBINATIONS = 16  # documented in docs/dsl.md


@dataclass
class Side:
    """One combination of readings and the output's value under it."""
    readings: list[tuple[str, str]]  # (the declaration's label, the reading's label)
    value: object


@dataclass
class SideBySide:
    sides: list[Side]
    refused: str | None = None  # why the readings are not shown side by side (too many)


def readings_of(value) -> list:
    """The declarations with readings that decide a value not established, by name."""
    if not isinstance(value, NotEstablished):
        return []
    return sorted((u for u in value.decided_by if u.kind == "readings"), key=lambda u: u.name)


def side_by_side(case: dict, on: dt.date, registry: Registry, output: str, value) -> SideBySide | None:
    """The output under each combination of the readings that decide it; None when none does."""
    unknowns = readings_of(value)
    if not unknowns:
        return None
    choices = []
    for u in unknowns:
        names = _reading_names(registry, u)
        if not names:
            return None
        choices.append([(u, name, label) for name, label in names])
    count = 1
    for c in choices:
        count *= len(c)
    if count > MAX_COMBINATIONS:
        return SideBySide([], f"{count} combinaisons de lectures, au-delà de {MAX_COMBINATIONS} : fixez-en "
                              "certaines par une hypothèse (--assume) pour les lire côte à côte")
    sides = []
    base = registry.assumptions
    for combination in itertools.product(*choices):
        lines = ['hypotheses "Lecture retenue pour comparaison"']
        for u, name, _ in combination:
            lines.append(f'assume {_target(u)} reading {name} because "comparaison des lectures"')
        try:
            pinned = registry.with_assumptions(Assumptions(base.official_only, base.hypotheses + (
                load_assumptions(texts=["\n".join(lines) + "\n"]).hypotheses)))
            result = evaluate(case, on, pinned, [output], explain=False)
        except MillesimeError:
            return None
        sides.append(Side([(u.label, label) for u, _, label in combination], result.values[output]))
    return SideBySide(sides)


def _target(u) -> str:
    return u.name


def _reading_names(registry: Registry, u) -> list[tuple[str, str]]:
    """(name, label) of the readings of the declaration an unknown stands for."""
    for entry in registry.entries.values():
        plan = entry.plan
        decisions = [r.decision for r in plan.rules.values()] + list(plan.parameter_decisions.values())
        decisions += [d for t in plan.tables.values() for row in t.decisions for d in row]
        for d in decisions:
            if d.kind == "readings" and d.unknown == u:
                return [(r.name, r.label) for r in d.readings]
    return []
