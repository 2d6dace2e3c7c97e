"""Regression cases: YAML files of cases with the outputs the law gives for them.

A file holds the agreement it guards and a list of cases:

    ruleset: reglement_arbitral_2023
    cases:
      - name: généraliste, 1 ETP, année 1
        on: 2023-09-01
        case: {physician: {...}, contract: {...}}
        expect:
          annual_aid: "36000.00"

Only the outputs named under `expect` are compared; numbers compare by value, so
"36000.00", 36000 and 36000.0 are the same amount. A value not established is expected as
"not established" (whatever is known of it), or by what is known of it — any of
`between: [low, high]`, `one_of: [...]`, `not_established: REASON`, `decided_by: [names]`:

        aid_due: {between: ["13200.00", "17050.00"], decided_by: [combined_rate]}

A case may run under assumptions — `official_only: true`, `assume: [FILE, …]` (hypothesis files,
relative to the regression file) — and say what its outputs rest on: `reliance:` maps an output
to the names of the declarations not graded official its value used (all of them, any order).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from dsl.errors import MillesimeError

from . import french
from .files import FileError, load_data
from .interpreter import evaluate
from .registry import Registry
from .unknowns import load_assumptions


@dataclass
class RegressionCase:
    file: Path
    index: int
    name: str
    on: dt.date
    case: dict
    expect: dict
    ruleset: str | None
    expect_error: str | None = None
    official_only: bool = False
    assume: tuple[Path, ...] = ()
    reliance: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.file.parent.name}/{self.file.stem}#{self.index + 1}: {self.name}"


@dataclass
class Outcome:
    case: RegressionCase
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def load_cases(path: Path) -> list[RegressionCase]:
    data = load_data(path)
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise FileError(f"{path} : un fichier de cas de non-régression contient « ruleset: » et une liste « cases: »")
    out = []
    for i, item in enumerate(data["cases"]):
        where = f"{path}, cas {i + 1}"
        if not isinstance(item, dict):
            raise FileError(f"{where} : chaque cas est un objet avec name, on, case et expect")
        missing = [k for k in ("name", "on", "case") if k not in item]
        if missing or ("expect" not in item and "error" not in item):
            raise FileError(f"{where} : il manque " + french.listed(missing or ["expect"]))
        on = item["on"]
        if not isinstance(on, dt.date):
            raise FileError(f"{where} : « on » doit être une date comme 2024-06-22, pas {on!r}")
        assume = item.get("assume") or []
        if not isinstance(assume, list) or not all(isinstance(a, str) for a in assume):
            raise FileError(f"{where} : « assume » est une liste de fichiers d'hypothèses")
        reliance = item.get("reliance") or {}
        if not isinstance(reliance, dict) or not all(isinstance(v, list) for v in reliance.values()):
            raise FileError(f"{where} : « reliance » associe à un résultat une liste de noms de déclarations")
        out.append(RegressionCase(path, i, str(item["name"]), on, item["case"], item.get("expect") or {},
                                  item.get("ruleset", data.get("ruleset")), item.get("error"),
                                  item.get("official_only") is True, tuple(path.parent / a for a in assume),
                                  reliance))
    return out


def collect(paths: list[Path]) -> list[Path]:
    files = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(p.rglob("*.yaml")) + sorted(p.rglob("*.yml")))
        else:
            files.append(p)
    return files


def evaluate_case(c: RegressionCase, registry: Registry):
    """The case evaluated as its regression test evaluates it: its outputs, under its assumptions."""
    if c.official_only or c.assume:
        registry = registry.with_assumptions(load_assumptions(c.assume, c.official_only))
    outputs = list(dict.fromkeys([*c.expect, *c.reliance])) or None
    return evaluate(c.case, c.on, registry, outputs=outputs)


def run_case(c: RegressionCase, registry: Registry) -> Outcome:
    outcome = Outcome(c)
    try:
        result = evaluate_case(c, registry)
    except MillesimeError as exc:
        if c.expect_error and c.expect_error in str(exc):
            return outcome
        outcome.failures.append(f"le calcul a échoué : {exc}")
        return outcome
    if c.expect_error:
        outcome.failures.append(f"une erreur contenant {c.expect_error!r} était attendue, le calcul a donné des "
                                "résultats")
        return outcome
    if c.ruleset and result.ruleset.id != c.ruleset:
        outcome.failures.append(f"le texte en vigueur le {french.date(c.on)} est {result.ruleset.id}, le fichier "
                                f"porte sur {c.ruleset}")
    actual = result.json_values()
    not_established = result.not_established()
    for name, expected in c.expect.items():
        got = actual.get(name)
        if expected == "not established":
            if name not in not_established:
                outcome.failures.append(f"{name} : « not established » attendu, obtenu {got!r}")
            continue
        if not same(expected, got):
            outcome.failures.append(f"{name} : attendu {expected!r}, obtenu {got!r}")
    if c.reliance:
        rests_on = result.reliance()
        for name, expected in c.reliance.items():
            got = sorted({entry["name"] for entry in rests_on.get(name, [])})
            if sorted(str(e) for e in expected) != got:
                outcome.failures.append(f"ce sur quoi repose {name} : attendu {sorted(map(str, expected))}, "
                                        f"obtenu {got}")
    return outcome


_OPEN_KEYS = {"not_established", "between", "one_of", "decided_by"}


def same(expected, actual) -> bool:
    if isinstance(expected, dict) and isinstance(actual, dict) and "not_established" in actual \
            and expected and set(expected) <= _OPEN_KEYS:
        return all(_same_open(k, expected[k], actual.get(k)) for k in expected)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(same(expected[k], actual[k]) for k in expected)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(same(e, a) for e, a in zip(expected, actual))
    if isinstance(expected, bool) or isinstance(actual, bool) or expected is None or actual is None:
        return expected is actual
    if isinstance(expected, dt.date):
        return expected.isoformat() == actual
    e, a = _number(expected), _number(actual)
    if e is not None and a is not None:
        return e == a
    return expected == actual


def _same_open(key: str, expected, actual) -> bool:
    """One key of a value not established: its unknowns by name, in any order."""
    if key == "decided_by":
        names = sorted(u["name"] for u in actual or [])
        return isinstance(expected, list) and sorted(str(e) for e in expected) == names
    return same(expected, actual)


def _number(value) -> Decimal | None:
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None
