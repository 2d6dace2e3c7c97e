"""Millésime's engine: dated ruleset selection, evaluation, explanation, CLI.

    >>> from engine import evaluate
    >>> result = evaluate({"physician": {...}}, on=datetime.date(2024, 7, 1))
    >>> result.json_values()["annual_aid"]
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from .interpreter import Result
from .interpreter import evaluate as _evaluate
from .registry import Registry

__all__ = ["Registry", "Result", "evaluate", "shipped_registry"]


@lru_cache(maxsize=1)
def shipped_registry() -> Registry:
    """The agreements packaged with Millésime, parsed, checked and compiled once."""
    return Registry.load()


def evaluate(case: dict, on: dt.date, rulesets: Registry | str | Path | None = None,
             outputs: list[str] | None = None, explain: bool = True) -> Result:
    """Evaluate `case` on date `on` under the ruleset in force that day.

    `explain=False` skips building the explanation tree (same values, faster)."""
    if rulesets is None:
        registry = shipped_registry()
    elif isinstance(rulesets, Registry):
        registry = rulesets
    else:
        registry = Registry.load(rulesets)
    return _evaluate(case, on, registry, outputs, explain=explain)
