"""The simulator's two journeys, computed by the rules: what a physician could sign, and where a
running contract stands. Independent of the web framework (engine/server.py serves them).

- « Je compte signer » (`options_json`): eligibility and every option open on the date of
  signature, the maximum aid of each contract year and their five-year total, the patients to
  add; each figure with what it rests on (`reliance`: the declarations graded secondary or
  hypothesis that its computation used) and, on request, its explanation.
- « J'ai un contrat » (`contract_view`): the contract year on the evaluation date, the amount
  of each year, the targets and their achievement, the aid due, the payment calendar (what is
  due by the evaluation date and what is still to come), the five-year total and what changes
  at the next anniversary. The amounts of contract year N are those of the ruleset in force
  on the anniversary that opens it (rule `contract_year_amount`): each year is evaluated on
  that anniversary — nothing is computed here by hand but sums.

Where a figure is a range because the texts read admit several readings of a rule or a parameter
(`combined_rate`: how a GP's two achievement rates combine), `readings_to_choose` lists them for
the page, which lets the physician pick one: the page then sends it back as a hypothesis
(`assume`), and the figures that rest on it say so (`reliance`, grade `hypothesis`).

Figures are given as the page shows them (`shown`): the JSON value, its French display and,
for a value not established, what is known of it (« entre 13 200,00 € et 17 050,00 € ») and
what decides it. Sums over years are exact (Decimal); a sum of ranges is the range of the
sums of their bounds (`total`).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from dsl import types as T

from . import explain, uncertain as U, values as V
from .interpreter import Result
from .questions import Discovery, evaluate_partial
from .registry import NoRulesetError, Registry
from .values import NotEstablished

MONEY = T.MONEY
RATE = T.PERCENT  # an achievement rate is a fraction (0.775): shown as a percentage (77,5 %)
OPTIONS_OUTPUTS = ["eligible", "ineligibility_reasons", "options"]
PAYMENT_KINDS = {"single": "versement unique", "advance": "acompte", "balance": "solde"}
YEAR_OUTPUTS = ["contract_year", "annual_aid", "aid_due", "achievement_rate"]
CONTRACT_EXTRAS = ("contract_start", "contract_duration", "first_checked_year")  # values the view needs


# ---------------------------------------------------------------- figures as the page shows them

def known_text(value: NotEstablished, t: T.Type | None = None, labels: dict | None = None) -> str:
    """What is known of a value not established, without what decides it: « entre A et B »,
    « au moins A », « au plus B », « l'une des valeurs … », or « non établi »."""
    if value.shape == "range":
        low = None if value.low is None else V.display(value.low, t, labels)
        high = None if value.high is None else V.display(value.high, t, labels)
        if low is not None and high is not None:
            return f"entre {low} et {high}"
        return f"au moins {low}" if low is not None else f"au plus {high}"
    if value.shape == "set":
        return "l'une des valeurs " + ", ".join(sorted(V.display(m, t, labels) for m in value.members))
    return "non établi"


def shown(value, t: T.Type | None = None, labels: dict | None = None, reliance: list | None = None) -> dict:
    """A figure for the page: `value` (the API's JSON), `display` (French); when not established,
    `open`, what decides it (`depends`, `decided_by`) and the reason; `reliance` when given."""
    out: dict[str, Any] = {"value": V.to_json(value, t)}
    if isinstance(value, NotEstablished):
        out["display"] = known_text(value, t, labels)
        out["open"] = True
        out["depends"] = V.dependence(value) or value.reason
        out["reason"] = value.reason
        out["decided_by"] = [u.as_json() for u in sorted(value.decided_by, key=lambda u: (u.name, u.key))]
    else:
        out["display"] = V.display(value, t, labels)
    if reliance is not None:
        out["reliance"] = reliance
    return out


def total(values: list) -> object:
    """The exact sum of amounts, some of them ranges: the sum of the low bounds and of the high
    bounds (a side unbounded in one is unbounded in the sum), decided by all their unknowns.
    None when an amount is None (to be determined) or cannot be bounded."""
    low, high, low_open, high_open = Decimal(0), Decimal(0), False, False
    deciders: frozenset = frozenset()
    for value in values:
        if value is None:
            return None
        span = U.interval(value)
        if span is None:
            return None
        lo, hi, lo_open, hi_open = span
        low = None if low is None or lo is None else low + lo
        high = None if high is None or hi is None else high + hi
        low_open, high_open = low_open or lo_open, high_open or hi_open
        deciders |= U.decided_by(value)
    if not deciders:
        return low
    return U.make_range(low, high, deciders, U.describe(deciders), low_open, high_open)


def reliance_of(node: explain.Node | None, result: Result, context: list | None = None,
                memo: dict | None = None) -> list[dict]:
    """What a figure rests on: its node's declarations not graded official, and those of the
    `context` nodes (the values computed before it and handed to it as arguments). `memo`: as
    explain.reliance's, shared by the figures of one result."""
    if node is None:
        return []
    refs = result.references()
    memo = {} if memo is None else memo
    return merged(*(explain.reliance(n, refs, memo) for n in [node, *(context or [])]))


def merged(*lists: list[dict]) -> list[dict]:
    """Several figures' reliance as one (a total rests on what each of its terms rests on)."""
    found = {}
    for entries in lists:
        for entry in entries:
            found.setdefault((entry["name"], entry["ruleset"]), entry)
    return sorted(found.values(), key=lambda e: (e["grade"] != "hypothesis", e["name"], e["ruleset"]))


# ---------------------------------------------------------------- « Je compte signer »

def options_json(result: Result, with_explanation: bool = True) -> dict:
    """Eligibility and the options, each figure displayed, totalled over the contract, with what
    it rests on and, `with_explanation`, a self-contained explanation tree (`why`)."""
    labels = result.labels()
    refs = result.references()
    base = result.to_json(with_explanation=False)
    values = result.values
    out: dict[str, Any] = {
        "date": base["date"],
        "ruleset": base["ruleset"],
        "fingerprint": base["fingerprint"],
        "eligible": base["results"]["eligible"],
        "ineligibility_reasons": base["results"]["ineligibility_reasons"],
        "options": base["results"]["options"],
    }
    for key in ("assumptions", "not_established", "reliance"):
        if key in base:
            out[key] = base[key]
    if with_explanation:
        out["why"] = {"eligible": why(result.explanation["eligible"], refs, labels)}
    memo: dict = {}  # what each node rests on, shared by the figures
    out["figures"] = {"eligible": shown(values["eligible"], T.BOOL, labels,
                                        reliance_of(result.explanation.get("eligible"), result, memo=memo))}
    offers = values["options"]
    if not isinstance(offers, list):
        return out
    offer_nodes = [c for c in result.explanation["options"].children if c.kind == "rule"]
    for item, offer in zip(out["options"], offers):
        item["label"] = labels.get(offer["option"], offer["option"])
        item["display"] = {
            "amounts": [V.display(a, MONEY, labels) for a in offer["amounts"]],
            "additional_patients_mt": V.display(offer.get("additional_patients_mt"), None, labels),
            "additional_file_active": V.display(offer.get("additional_file_active"), None, labels),
        }
        node = next((n for n in offer_nodes if isinstance(n.value, dict) and n.value.get("option") ==
                     offer["option"] and n.value == offer), None)
        nodes = _offer_nodes(offer, node)
        context = _arguments(node, nodes)
        figures = {
            "amounts": [shown(a, MONEY, labels, reliance_of(n, result, context.get(id(n)), memo))
                        for a, n in zip(offer["amounts"], nodes["amounts"])],
        }
        figures["total"] = shown(total(offer["amounts"]), MONEY, labels,
                                 merged(*(f["reliance"] for f in figures["amounts"])))
        for key in ("additional_patients_mt", "additional_file_active"):
            if offer.get(key) is not None:
                figures[key] = shown(offer[key], T.INT, labels, reliance_of(nodes[key], result,
                                                                             context.get(id(nodes[key])), memo))
        item["figures"] = figures
        item["total"] = figures["total"]["value"]
        if with_explanation:
            item["why"] = {"amounts": [why(n, refs, labels) if n is not None else {} for n in nodes["amounts"]],
                           **{k: (None if offer.get(k) is None or nodes[k] is None else why(nodes[k], refs, labels))
                              for k in ("additional_patients_mt", "additional_file_active")}}
    return out


def _offer_nodes(offer: dict, node) -> dict:
    """The node that computed each figure of an offer, found among the offer's dependencies (same
    value, expected rule), else the whole offer; None without the offer's node."""
    amounts = offer["amounts"]
    if node is None:
        return {"amounts": [None] * len(amounts), "additional_patients_mt": None, "additional_file_active": None}
    amount_nodes = [c for c in node.children if c.kind == "rule" and c.name == "amount"]
    if len(amount_nodes) == len(amounts):
        by_year = [n if n.value == a else node for n, a in zip(amount_nodes, amounts)]
    else:
        by_year = [node] * len(amounts)
    additional = [c for c in node.children if c.kind == "rule" and c.name == "additional_for"]

    def pick(candidates, value):
        return next((c for c in candidates if c.value == value), node)
    mt, fa = offer.get("additional_patients_mt"), offer.get("additional_file_active")
    return {"amounts": by_year,
            "additional_patients_mt": None if mt is None else pick(additional[:1] or additional, mt),
            "additional_file_active": None if fa is None else pick(list(reversed(additional)), fa)}


def _arguments(offer_node, nodes: dict) -> dict[int, list]:
    """For each figure's node, the offer's other dependencies computed before it: what was handed
    to it as arguments (the percentile `amount(o, y, percentile)` receives is computed by the
    offer, not under `amount`). Sound, a little wide: a value computed earlier for another figure
    counts too."""
    if offer_node is None:
        return {}
    figures = {id(n) for n in [*nodes["amounts"], nodes["additional_patients_mt"], nodes["additional_file_active"]]
               if n is not None and n is not offer_node}
    out, before = {}, []
    for child in offer_node.children:
        if id(child) in figures:
            out[id(child)] = list(before)
        else:
            before.append(child)
    return out


def why(node: explain.Node, refs: dict, labels: dict, seen: set | None = None) -> dict:
    """A node as explain.to_json gives it, with its French display, its grade and without server paths."""
    seen = set() if seen is None else seen
    out = {"kind": node.kind, "name": node.name, "label": node.label,
           "value": V.to_json(node.value, node.type), "display": V.display(node.value, node.type, labels),
           "ruleset": node.ruleset}
    if id(node) in seen:
        out["see_above"] = True
        return out
    seen.add(id(node))
    if node.expr is not None and node.kind not in ("input", "table"):
        out["expression"] = " ".join(node.expr.split())
    if node.sources:
        out["sources"] = [explain.source_json(s, refs.get(node.ruleset, {})) for s in node.sources]
    grade = explain.node_grade(node, refs)
    if grade is not None:
        out["grade"] = grade
    if node.note:
        out["note"] = node.note
    if node.children:
        out["inputs"] = [why(c, refs, labels, seen) for c in node.children]
    return out


# ---------------------------------------------------------------- « J'ai un contrat »

class NoContract(Exception):
    """The case has no contract to follow."""


def contract_view(registry: Registry, case: dict, on: dt.date, strict: bool = True,
                  main: Discovery | None = None) -> dict:
    """Where a running contract stands on `on`, and its five years (module docstring). `main`:
    the evaluation of `case` on `on` already made (with CONTRACT_EXTRAS among its extras). Raises
    NoContract when the case has none."""
    if main is None:
        main = evaluate_partial(registry, case, on, strict=strict, stop_on_error=True,
                                extras=CONTRACT_EXTRAS)
    result = main.result
    start, duration = main.extras.get("contract_start"), main.extras.get("contract_duration")
    checked = main.extras.get("first_checked_year")
    if not isinstance(start, dt.date) or not isinstance(duration, int):
        raise NoContract()
    labels = result.labels()
    values, types = result.values, result.types
    model = result.ruleset

    memo: dict = {}

    def figure(name: str) -> dict:
        t = RATE if name == "achievement_rate" else types.get(name)
        out = shown(values.get(name), t, labels, reliance_of(result.explanation.get(name), result, memo=memo))
        out["label"] = _label(model, name)
        return out

    year_now = values.get("contract_year")
    years, calendar, results = [], [], [result]
    for n in range(1, duration + 1):
        day = V.add_years(start, n - 1)
        row, year_result, payments = _year(registry, case, n, day, duration, labels, checked)
        years.append(row)
        if year_result is not None:
            results.append(year_result)
        if payments is not None:
            calendar = payments
    for p in calendar:
        p["status"] = "paid" if p["date"] <= on.isoformat() else "to_come"
    paid = [p["_amount"] for p in calendar if p["status"] == "paid"]
    to_come = [p["_amount"] for p in calendar if p["status"] == "to_come"]
    for p in calendar:
        del p["_amount"]
    out: dict[str, Any] = {
        "date": on.isoformat(),
        "ruleset": result.to_json(with_explanation=False)["ruleset"],
        "fingerprint": _fingerprint(results),
        "contract_start": start.isoformat(),
        "contract_end": (V.add_years(start, duration) - dt.timedelta(days=1)).isoformat(),
        "contract_year": year_now,
        "contract_duration": duration,
        "first_checked_year": checked if isinstance(checked, int) else None,
        "status": ("not_started" if not isinstance(year_now, int) or year_now < 1 else
                   "ended" if year_now > duration else "running"),
        "governing_ruleset": _ruleset_ref(registry, values.get("governing_ruleset")),
        "eligible": figure("eligible"),
        "ineligibility_reasons": V.to_json(values.get("ineligibility_reasons"), types.get("ineligibility_reasons")),
        "current": {name: figure(name) for name in ("annual_aid", "aid_due", "achievement_rate")},
        "targets": {name: figure(name) for name in ("target_patients_mt", "target_file_active",
                                                    "additional_patients_mt", "additional_file_active")},
        "qualification_deadline": figure("qualification_deadline"),
        "years": years,
        "total": shown(total([y["_amount"] for y in years]), MONEY, labels,
                       merged(*(y["amount"].get("reliance", []) for y in years))),
        "payments": calendar,
        "paid": _sum_payments(paid, labels),
        "to_come": _sum_payments(to_come, labels),
        "next_anniversary": _next_anniversary(years, calendar, year_now, duration, start, labels),
    }
    for y in years:
        del y["_amount"]
    if result.entry.assumptions.active:
        out["assumptions"] = result.entry.assumptions.as_json()
    return out


def _year(registry: Registry, case: dict, n: int, day: dt.date, duration: int, labels: dict, checked=None):
    """Contract year `n`, evaluated on the anniversary `day` that opens it: its row, the result,
    and for the last year the whole payment calendar (the payments of years 1 to 5)."""
    outputs = YEAR_OUTPUTS + (["payments"] if n == duration else [])
    row: dict[str, Any] = {"year": n, "starts_on": day.isoformat()}
    try:
        found = evaluate_partial(registry, case, day, outputs, strict=False, stop_on_error=True)
    except NoRulesetError:
        reason = f"aucun texte n'est en vigueur le {V.display(day)}"
        row.update(ruleset=None, amount=shown(U.top(reason), MONEY), due=shown(U.top(reason), MONEY),
                   achievement_rate=shown(None), _amount=U.top(reason))
        return row, None, None
    result = found.result
    values, types = result.values, result.types
    amount = values.get("annual_aid")
    if values.get("contract_year") != n:  # the rules count years otherwise: say so rather than guess
        amount = U.top(f"l'année de contrat au {V.display(day)} n'est pas l'année {n}")
    m = result.ruleset
    memo: dict = {}
    row.update(
        ruleset={"id": m.id, "title": m.header.title},
        amount=shown(amount, MONEY, labels, reliance_of(result.explanation.get("annual_aid"), result, memo=memo)),
        due=shown(values.get("aid_due"), MONEY, labels, reliance_of(result.explanation.get("aid_due"), result,
                                                                     memo=memo))
        if values.get("aid_due") is not None else _pending("à déterminer"),
        achievement_rate=shown(values.get("achievement_rate"), RATE, labels)
        if values.get("achievement_rate") is not None else
        _pending("objectifs non vérifiés cette année" if isinstance(checked, int) and n < checked
                 else "à déterminer", pending=not (isinstance(checked, int) and n < checked)),
        _amount=amount,
    )
    payments = None
    if "payments" in values:
        raw = values["payments"]
        if isinstance(raw, list):
            payments = [_payment(p, labels) for p in raw]
        else:
            row["payments_open"] = shown(raw, types.get("payments"), labels)
    return row, result, payments


def _payment(p: dict, labels: dict) -> dict:
    amount = p.get("amount")
    return {"year": p["year"], "date": p["date"].isoformat(), "kind": p["kind"],
            "kind_label": PAYMENT_KINDS.get(p["kind"], p["kind"]),
            "amount": shown(amount, MONEY, labels) if amount is not None else _pending("à déterminer"),
            "_amount": amount}


def _pending(text: str, pending: bool = True) -> dict:
    """A figure the rules leave empty (`none`) for now: said in words, never a blank."""
    return {"value": None, "display": text, "pending": pending}


def _sum_payments(amounts: list, labels: dict) -> dict:
    """The sum of the payments known, and how many are still to be determined."""
    known = [a for a in amounts if a is not None]
    out = shown(total(known), MONEY, labels)
    out["count"] = len(amounts)
    out["pending"] = len(amounts) - len(known)
    return out


def _next_anniversary(years, calendar, year_now, duration, start, labels) -> dict | None:
    """What the next anniversary brings: the year it opens, its amount (evaluated on that day), the
    ruleset whose amounts then apply, that year's payments; None once the contract has ended."""
    if not isinstance(year_now, int) or year_now >= duration:
        return None
    nxt = years[max(year_now, 0)]  # the year the next anniversary opens (year 1 before the start)
    now = years[year_now - 1] if year_now >= 1 else None
    changes = []
    if now is not None:
        changes.append(f"L'année {nxt['year']} s'ouvre le {V.display(dt.date.fromisoformat(nxt['starts_on']))} : "
                       f"aide maximale {nxt['amount']['display']}, contre {now['amount']['display']} pour l'année "
                       f"{now['year']}.")
        if nxt["ruleset"] and now["ruleset"] and nxt["ruleset"]["id"] != now["ruleset"]["id"]:
            changes.append(f"Revalorisation : les montants de l'année {nxt['year']} sont ceux de « "
                           f"{nxt['ruleset']['title']} », en vigueur à cette date anniversaire (ceux de l'année "
                           f"{now['year']} venaient de « {now['ruleset']['title']} »).")
    else:
        changes.append(f"Le contrat prend effet le {V.display(start)} : aide maximale de la 1re année "
                       f"{nxt['amount']['display']}.")
    these = [p for p in calendar if p["year"] == nxt["year"]]
    if these:
        changes.append("Versements de cette année : " + " ; ".join(
            f"{p['kind_label']} de {p['amount']['display']} le {V.display(dt.date.fromisoformat(p['date']))}"
            if not p["amount"].get("pending") else
            f"{p['kind_label']} le {V.display(dt.date.fromisoformat(p['date']))} (montant à déterminer)"
            for p in these) + ".")
    return {"date": nxt["starts_on"], "year": nxt["year"], "amount": nxt["amount"], "ruleset": nxt["ruleset"],
            "changes": changes}


def readings_to_choose(registry: Registry, data: dict) -> list[dict]:
    """The rules and parameters with readings that a figure of `data` depends on — named in its
    `decided_by` (every reading at once: a range), or in its `reliance` as a hypothesis (the run's
    hypotheses picked one) — : per name its label, its readings (name, label) and the reading
    picked (None: none). A reading picked that no figure rests on is not listed."""
    names: set[str] = set()

    def walk(o) -> None:
        if isinstance(o, dict):
            for key in ("decided_by", "reliance"):
                entries = o.get(key)
                if isinstance(entries, list):
                    names.update(d["name"] for d in entries if isinstance(d, dict) and isinstance(d.get("name"), str)
                                 and (key == "decided_by" or d.get("grade") == "hypothesis"))
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(data)
    picked = {a.name: a.reading for h in registry.assumptions.hypotheses for a in h.assumptions
              if a.reading is not None and not a.keys}
    out = []
    for name in sorted(names):
        decl = next((d for e in registry.entries.values()
                     for d in (e.model.rules.get(name), e.model.parameters.get(name))
                     if d is not None and d.readings), None)
        if decl is not None:
            out.append({"name": name, "label": decl.label, "chosen": picked.get(name),
                        "readings": [{"name": r.name, "label": r.label} for r in decl.readings]})
    return out


def _ruleset_ref(registry: Registry, ruleset_id) -> dict | None:
    if not isinstance(ruleset_id, str) or ruleset_id not in registry.entries:
        return None
    m = registry.entries[ruleset_id].model
    return {"id": m.id, "title": m.header.title}


def _label(model, name: str) -> str:
    _, decl = model.value_declaration(name)
    return decl.label if decl is not None else name


def _fingerprint(results: list[Result]) -> str:
    """Every ruleset the view's evaluations consulted, and the assumptions (as Result.fingerprint)."""
    used = {}
    for r in results:
        used.update(r.used)
    first = results[0]
    return Result(first.date, first.entry, {}, {}, {}, used).fingerprint
