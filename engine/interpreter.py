"""Evaluation of a case on a date: lazy, each rule at most once, every value explained.

`evaluate(case, on=date)` picks the ruleset in force on that date, validates the case
against it, computes the requested outputs and returns them with their explanation.
`evaluate(..., explain=False)` computes the same values through `FastEvaluation`, which
builds no explanation node: the path for batches and simulators that only need figures.
An `as of` expression evaluates under the ruleset in force on another date, within
the same session, so a decision that spans agreements stays one traceable result.
"""
from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from dsl import ast, types as T

from . import explain, fastcase, french, uncertain as U, values as V
from .case import validate
from .compiler import Unexplained
from .expressions import either
from .plan import NO_LOCALS, UNSET, CompiledRequirement, CompiledRule, Plan
from .explain import Node
from .registry import Entry, NoRulesetError, Registry
from .values import EvaluationError, NotEstablished


@dataclass
class Result:
    date: dt.date
    entry: Entry
    values: dict[str, object]
    types: dict[str, T.Type]
    explanation: dict[str, Node]
    used: dict[str, Entry]  # every ruleset consulted, by id

    @property
    def ruleset(self):
        return self.entry.model

    def not_established(self) -> dict[str, str]:
        return {k: v.reason for k, v in self.values.items() if isinstance(v, NotEstablished)}

    def reliance(self) -> dict[str, list[dict]]:
        """Per output, the declarations not graded official its value used (from the explanation)."""
        refs = self.references()
        memo: dict = {}  # the outputs share most of their nodes: each graded once
        return {name: explain.reliance(node, refs, memo) for name, node in self.explanation.items()}

    @property
    def fingerprint(self) -> str:
        """The rulesets consulted and the assumptions of the run: the same fingerprint, the same figures."""
        if len(self.used) == 1 and not self.entry.assumptions.active:
            return self.entry.model.fingerprint
        import hashlib
        digest = hashlib.sha256()
        for ruleset_id in sorted(self.used):
            digest.update(self.used[ruleset_id].model.fingerprint.encode() + b"\0")
        digest.update(self.entry.assumptions.fingerprint().encode() if self.entry.assumptions.active else b"")
        return "sha256:" + digest.hexdigest()[:16]

    def json_values(self) -> dict[str, object]:
        return {name: V.to_json(value, self.types.get(name)) for name, value in self.values.items()}

    def to_json(self, with_explanation: bool = True) -> dict:
        m = self.ruleset
        out = {
            "date": self.date.isoformat(),
            "ruleset": {
                "id": m.id,
                "title": m.header.title,
                "effective_from": m.effective_from.isoformat() if m.effective_from else None,
                "effective_until": m.effective_until.isoformat() if m.effective_until else None,
                "fingerprint": m.fingerprint,
            },
            "fingerprint": self.fingerprint,
            "results": self.json_values(),
        }
        if self.entry.assumptions.active:
            out["assumptions"] = self.entry.assumptions.as_json()
        others = {k: e for k, e in self.used.items() if k != m.id}
        if others:
            out["ruleset"]["also_consulted"] = [{"id": k, "fingerprint": e.model.fingerprint}
                                                for k, e in sorted(others.items())]
        if self.not_established():
            out["not_established"] = self.not_established()
        if self.explanation:
            out["reliance"] = self.reliance()
        if with_explanation:
            refs = self.references()
            seen: set = set()
            out["explanation"] = {name: explain.to_json(node, refs, seen) for name, node in self.explanation.items()}
        return out

    def references(self) -> dict[str, dict]:
        return {k: e.model.references for k, e in self.used.items()}

    def labels(self) -> dict[str, str]:
        labels = {}
        for e in self.used.values():
            labels.update(e.labels)
        return labels

    def render(self, name: str) -> str:
        return "\n".join(explain.render(self.explanation[name], self.references(), self.labels()))


def evaluate(case: dict, on: dt.date, registry: Registry, outputs: list[str] | None = None,
             explain: bool = True) -> Result:
    """With `explain=False` the values are the same but `Result.explanation` is empty."""
    session = _Session(registry, case, explain)
    try:
        ev = session.evaluation(on)
        outputs = ev.plan.output_slots(tuple(outputs or ev.model.outputs))
        values, nodes, types = {}, {}, {}
        if not explain:
            for name, slot, t in outputs:
                values[name], types[name] = ev.value(slot), t
        else:
            for name, slot, _ in outputs:
                node = ev.node_at(slot, ())
                values[name], nodes[name], types[name] = node.value, node, node.type
        return Result(on, ev.entry, values, types, nodes, dict(session.entries))
    finally:
        session.close()


class _Session:
    """One case, possibly evaluated under several rulesets (through `as of`)."""

    def __init__(self, registry: Registry, case: dict, explain: bool = True):
        self.registry = registry
        self.case = case
        self.explain = explain
        self.validated: dict[str, dict] = {}
        self.groups: dict[int, list] = {}  # id(validated case) → its groups, by number, for FastEvaluation
        self.evaluations: dict[dt.date, Evaluation] = {}
        self.entries: dict[str, Entry] = {}
        self.stack: list[tuple] = []  # (ruleset, date, kind, name, args) being computed, for cycles

    def close(self):
        """The evaluations refer to their session and it to them: dropping them frees the case's
        values at once, rather than when the cycle collector runs."""
        self.evaluations.clear()

    def evaluation(self, on: dt.date) -> "Evaluation":
        ev = self.evaluations.get(on)
        if ev is None:
            entry = self.registry.in_force(on)
            ruleset_id = entry.model.id
            first = not self.entries  # the ruleset in force checks the case whole
            self.entries[ruleset_id] = entry
            inputs = self.validated.get(ruleset_id)
            if inputs is None:
                inputs = self.validated[ruleset_id] = self._validate(entry, first)
            ev = self.evaluations[on] = (Evaluation if self.explain else FastEvaluation)(self, entry, on, inputs)
        return ev

    def _validate(self, entry: Entry, first: bool) -> dict:
        """The ruleset in force checks the case whole (strict schema); one consulted through `as of`
        checks it leniently — unless a ruleset already consulted declares the same inputs (paths, types,
        bounds; enums may differ if the case's values are members of both): the case it accepted
        is then the very case this one would accept, reused (`fastcase.reusable`)."""
        if not first:
            for other_id, inputs in self.validated.items():
                if fastcase.reusable(self.entries[other_id].model, entry.model, inputs):
                    return inputs
        return validate(entry.model, entry.schema if first else entry.lenient_schema, self.case)


@dataclass
class Evaluation:
    session: _Session
    entry: Entry
    on: dt.date
    inputs: dict
    memo: dict = field(default_factory=dict)
    frames: list[list[Node]] = field(default_factory=lambda: [[]])
    agreements: list[set] = field(default_factory=lambda: [set()])  # unknowns whose possibilities concurred

    @property
    def plan(self) -> Plan:
        return self.entry.plan

    def __post_init__(self):
        # what compiled closures read inputs through, `ev.groups[group][name]`: here each read is recorded
        me = weakref.ref(self)  # (a weak reference: no cycle between the evaluation and its groups)
        self.groups = [_RecordedGroup(me, path + "." if path else "") for path, *_ in self.plan.groups]

    @property
    def model(self):
        return self.entry.model

    # -- what compiled closures call
    def value(self, slot: int, args: tuple = ()):
        return self.node_at(slot, args).value

    def node(self, kind: str, name: str, args: tuple = ()) -> Node:
        return self.node_at(self.plan.slots[name], args)

    def node_at(self, slot: int, args: tuple) -> Node:
        key = (slot, args)
        node = self.memo.get(key)
        if node is None:
            kind, name, _ = self.plan.declarations[slot]
            stack_key = (self.model.id, self.on, kind, name, args)
            if stack_key in self.session.stack:
                cycle = [k[3] for k in self.session.stack[self.session.stack.index(stack_key):]] + [name]
                raise EvaluationError(_cycle(cycle), self._decl_loc(name))
            self.session.stack.append(stack_key)
            self.frames.append([])
            self.agreements.append(set())
            try:
                node = getattr(self, "_compute_" + kind)(name, args)
            except RecursionError:
                raise EvaluationError(_too_deep(name), self._decl_loc(name)) from None
            except ArithmeticError as exc:  # e.g. a case figure so large that rounding it overflows
                raise _arithmetic_error(name, exc, self._decl_loc(name)) from None
            finally:
                children = self.frames.pop()
                agreed = self.agreements.pop()
                self.session.stack.pop()
            node.children = _distinct(children + node.children)
            if agreed and not isinstance(node.value, NotEstablished):
                node.note = _join_notes(node.note, "les lectures concordent : même valeur quel que soit "
                                        + " ; ".join(sorted({u.label for u in agreed})))
            self.memo[key] = node
        self.frames[-1].append(node)
        return node

    def builtin(self, name: str):
        if name == "on":
            value, t, label = self.on, T.DATE, "Date d'évaluation"
        else:
            value, t, label = self.model.id, T.TEXT, "Texte en vigueur à cette date"
        self.frames[-1].append(Node("builtin", name, label, value, t, self.model.id))
        return value

    def input(self, path: str):
        key = ("input", path, ())
        value = self.inputs
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        node = self.memo.get(key)
        if node is None:
            decl = self.model.inputs[path]
            t = self.model.input_type(path)
            if t.kind == "group":  # a whole group is only ever tested for presence: show just that
                node = Node("input", path, f"{decl.label} (renseigné)", value is not None, T.BOOL, self.model.id,
                            loc=decl.loc, sources=list(decl.sources))
            else:
                node = Node("input", path, decl.label, value, t, self.model.id, loc=decl.loc,
                            sources=list(decl.sources))
            self.memo[key] = node
        self.frames[-1].append(node)
        return value

    def table(self, name: str, keys: list):
        row, col = self.plan.tables[name].locate(keys)
        return self.cell(name, row, col)

    def cell(self, name: str, row: int, col: int):
        """One cell of a table, as a node: its headings, its value, what it rests on."""
        table = self.plan.tables[name]
        key = ("table", name, (row, col))
        node = self.memo.get(key)
        if node is None:
            decl = table.decl
            cell = decl.cells[row][col]
            fn = table.cells[row][col]
            if fn is None:
                raise _empty_cell(table, row, col)
            heading = ", ".join(f"{d.name} {h.text}" for d, h in
                                zip(decl.dims, [decl.row_keys[row]] + ([decl.column_keys[col]] if decl.column_keys else [])))
            decision = table.decisions[row][col]
            self.frames.append([])
            try:
                value = fn(self, NO_LOCALS)
            finally:
                children = _distinct(self.frames.pop())
            clause = decl.clause(row, col)
            notes = list(clause.notes) if clause is not None else []
            node = Node("table", name, f"{decl.label} ({heading})", value, table.type,
                        self.model.id, expr=cell.text, loc=cell.loc,
                        sources=list(decl.cell_sources(row, col)) + decision.sources, children=children,
                        note=_join_notes(_decision_note(decision), *notes), cell=decl.cell_name(row, col),
                        **_decision_grade(decision))
            self.memo[key] = node
        self.frames[-1].append(node)
        return node.value

    # -- what the law leaves open
    def readings(self, decision, compiled, value_type, env):
        """Each reading as a node beside the others, then what they give together."""
        branches = [(self._reading(decision, reading, fn, value_type), env) for reading, fn in compiled]
        return either(self, frozenset([decision.unknown]), branches)

    def picked(self, decision, fn, value_type, env):
        return self._reading(decision, decision.reading, fn, value_type)(self, env)

    def _reading(self, decision, reading, fn, value_type):
        def evaluate_reading(ev, env):
            self.frames.append([])
            value = None
            try:
                value = fn(self, env)
            except EvaluationError as exc:
                value = NotEstablished(f"cette lecture ne donne pas de valeur : {exc.message}", exc.loc)
                raise
            finally:
                children = _distinct(self.frames.pop())
                note = _join_notes(*reading.notes, _decision_note(decision) if decision.kind == "picked" else None)
                sources = list(reading.sources) or list(decision.declaration_sources)
                self.frames[-1].append(Node("reading", f"{decision.unknown.name}.{reading.name}", reading.label,
                                            value, value_type, self.model.id, reading.expr.text, reading.loc,
                                            sources + decision.sources, children, note,
                                            **_decision_grade(decision)))
            return value
        return evaluate_reading

    def concord(self, deciding):
        self.agreements[-1] |= deciding

    def failed(self, condition: str) -> list[dict]:
        node = self.node("condition", condition)
        refs = self.model.references
        reasons = []
        for req_node in node.children:
            if req_node.kind == "requirement" and req_node.value is False:
                reasons.append({
                    "condition": condition,
                    "requirement": req_node.name,
                    "label": req_node.label,
                    "source": "; ".join(explain.source_text(s, refs) for s in req_node.sources),
                })
        return reasons

    def _evaluation_on(self, day: dt.date, expr: ast.AsOf) -> "Evaluation":
        try:
            return self.session.evaluation(day)
        except NoRulesetError as exc:
            raise EvaluationError(f"« {expr.text} » renvoie au {french.date(day)}, date à laquelle aucun texte "
                                  f"n'est en vigueur ; les textes couvrent : {exc.coverage}", expr.loc,
                                  hint="le cas renvoie à une date qu'aucun texte ne couvre (par exemple un contrat "
                                       "signé avant le premier accord)") from None

    def as_of(self, day: dt.date, expr: ast.AsOf, local_names: frozenset, env: dict):
        other = self._evaluation_on(day, expr)
        fn = other.plan.expression(expr.target, local_names)
        other.frames.append([])
        try:
            value = fn(other, env)
        finally:
            children = _distinct(other.frames.pop())
        title = other.model.header.title
        node = Node("as_of", other.model.id, f"{expr.target.text} selon « {title} », en vigueur le "
                    f"{day.strftime('%d/%m/%Y')}", value, self.plan.expression_types.get(id(expr)), other.model.id,
                    expr=expr.text, loc=expr.loc,
                    children=children)
        self.frames[-1].append(node)
        return value

    # -- computing each kind of declaration
    def _compute_rule(self, name: str, args: tuple) -> Node:
        rule = self.plan.rules[name]
        decl = rule.decl
        env = {p.name: a for p, a in zip(decl.params, args)}
        label = decl.label + (f" ({', '.join(V.display(a) if isinstance(a, NotEstablished) else str(a) for a in args)})"
                              if args else "")
        value, applied, maybe = rule_outcome(name, rule, self, env)
        sources = list(decl.sources) + rule.decision.sources
        note = _decision_note(rule.decision)
        if applied is not None:
            return Node("rule", name, label, value, rule.type, self.model.id, applied.decl.value.text, decl.loc,
                        sources + list(applied.decl.sources),
                        note=_join_notes(note, f"exception appliquée : « {applied.decl.label} »"))
        for exc in maybe:
            sources += list(exc.decl.sources)
            note = _join_notes(note, f"exception « {exc.decl.label} » : peut s'appliquer (condition non établie)")
        return Node("rule", name, label, value, rule.type, self.model.id, decl.expr.text, decl.loc, sources,
                    note=note, **_decision_grade(rule.decision))

    def _compute_condition(self, name: str, args: tuple) -> Node:
        decl = self.model.conditions[name]
        children = []
        for req in self.plan.conditions[name]:
            self.frames.append([])
            try:
                value, waiver = requirement_outcome(req, self)
            finally:
                grand_children = _distinct(self.frames.pop())
            note = f"ne s'applique pas : « {waiver.label} »" if waiver else None
            sources = list(req.decl.sources) + (list(waiver.sources) if waiver else [])
            children.append(Node("requirement", f"{name}.{req.decl.name}", req.decl.label, value, T.BOOL,
                                 self.model.id, req.decl.expr.text, req.decl.loc, sources, grand_children, note))
        return Node("condition", name, decl.label, all_hold(c.value for c in children), T.BOOL, self.model.id,
                    None, decl.loc, list(decl.sources), children)

    def _compute_parameter(self, name: str, args: tuple) -> Node:
        decl = self.model.parameters[name]
        decision = self.plan.parameter_decisions[name]
        value = self.plan.parameters[name](self, NO_LOCALS)
        return Node("parameter", name, decl.label, value, self.model.resolve_type(decl.type), self.model.id,
                    decl.value.text, decl.loc, list(decl.sources) + decision.sources, note=_decision_note(decision),
                    **_decision_grade(decision))

    def _decl_loc(self, name: str):
        _, decl = self.model.value_declaration(name)
        return decl.loc if decl is not None else None


class FastEvaluation(Unexplained, Evaluation):
    """The same computation as `Evaluation`, each value computed once, without explanation nodes.

    Every method the compiled closures call is overridden to return the bare value; the
    semantics (exceptions, waivers, Kleene logic, `as of`, errors and their messages) are
    those of `Evaluation`, which remains the reference: tests compare the two.

    Values are kept by slot (`values`, which starts with the ruleset's constants) or by slot
    and arguments (`calls`). The cycle guard costs nothing while there is no cycle: a value
    being computed is marked `_PENDING`; meeting the mark raises `_Cycle`, which collects the
    names of the values it unwinds through until it reaches the one met twice, and becomes
    the error."""

    plan = None  # plain attributes here (properties in `Evaluation`): read on every rule
    model = None

    def __init__(self, session: _Session, entry: Entry, on: dt.date, inputs: dict):
        # the dataclass's fields that serve here, set directly (one is made per ruleset consulted, per
        # case); no `memo` of nodes nor `frames`: values are kept by slot, table cells are folded
        self.session, self.entry, self.on, self.inputs = session, entry, on, inputs
        self.plan = entry.plan
        self.model = entry.model
        self.steps = self.plan.fast_steps or _steps(self.plan)
        self.values = self.plan.constants.copy()  # slot → value; the ruleset's constants are known already
        self.calls: dict[tuple, object] = {}  # (slot, args) → value of a rule with parameters
        self.outcomes: dict[str, list] = {}  # condition → its requirements' values, for `failed`
        # found once per validated case (shared by the rulesets that share it)
        self.groups = session.groups.get(id(inputs))
        if self.groups is None:
            self.groups = session.groups[id(inputs)] = _case_groups(self.plan, inputs)

    def value(self, slot: int, args: tuple = ()):
        """The value of `slot` (for `args`), computed once: kept in `values` by slot, or in `calls` by
        (slot, args) for a rule with parameters. Met again while being computed: a cycle."""
        if args:
            memo, key = self.calls, (slot, args)
            state = memo.get(key, UNSET)
            if state is not UNSET and state is not _PENDING:
                return state
        else:
            state = self.values[slot]
            if state is not UNSET and state is not _PENDING:
                return state
            memo, key = self.values, slot
        name, params, step = self.steps[slot]
        if state is _PENDING:
            raise _Cycle(self, key, name)
        memo[key] = _PENDING
        try:
            value = step(self, dict(zip(params, args)) if args else NO_LOCALS)
        except _Cycle as cycle:
            memo[key] = UNSET
            cycle.names.append(name)
            if cycle.evaluation is self and cycle.key == key:
                raise EvaluationError(_cycle(reversed(cycle.names)), self._decl_loc(name)) from None
            raise
        except RecursionError:
            memo[key] = UNSET
            raise EvaluationError(_too_deep(name), self._decl_loc(name)) from None
        except ArithmeticError as exc:
            memo[key] = UNSET
            raise _arithmetic_error(name, exc, self._decl_loc(name)) from None
        except BaseException:
            memo[key] = UNSET
            raise
        memo[key] = value
        return value

    def node_at(self, slot: int, args: tuple) -> Node:
        raise TypeError("FastEvaluation builds no explanation: evaluate with explain=True")

    def builtin(self, name: str):
        return self.on if name == "on" else self.model.id

    def input(self, path: str):
        group, name = self.plan.fields[path]
        return self.groups[group][name]

    def table(self, name: str, keys: list):
        table = self.plan.tables[name]
        row, col = table.locate(keys)
        value = table.constants[row][col]
        if value is UNSET:  # a cell that needs the case: computed at each lookup
            return self.cell(name, row, col)
        return value

    def cell(self, name: str, row: int, col: int):
        table = self.plan.tables[name]
        value = table.constants[row][col]
        if value is UNSET:
            fn = table.cells[row][col]
            if fn is None:
                raise _empty_cell(table, row, col)
            value = fn(self, NO_LOCALS)
        return value

    def failed(self, condition: str) -> list[dict]:
        self.value(self.plan.slots[condition])
        refs = self.model.references
        return [{"condition": condition, "requirement": f"{condition}.{req.decl.name}", "label": req.decl.label,
                 "source": "; ".join(explain.source_text(s, refs) for s in req.decl.sources)}
                for req, value in zip(self.plan.conditions[condition], self.outcomes[condition]) if value is False]

    def as_of(self, day: dt.date, expr: ast.AsOf, local_names: frozenset, env: dict):
        other = self._evaluation_on(day, expr)
        return other.plan.expression(expr.target, local_names)(other, env)


_PENDING = object()  # in FastEvaluation's memo: this value is being computed


def _steps(plan: Plan) -> list[tuple[str, tuple[str, ...], Callable]]:
    """For each slot: (name, parameter names, how its value is computed from (evaluation, locals))."""
    steps = []
    for kind, name, compiled in plan.declarations:
        if kind == "rule":
            step = _with_exceptions(name, compiled) if compiled.exceptions else compiled.body
            steps.append((name, compiled.param_names, step))
        elif kind == "condition":
            steps.append((name, (), _condition(name, compiled)))
        else:
            steps.append((name, (), compiled))
    plan.fast_steps = steps
    return steps


def _with_exceptions(name: str, rule: CompiledRule) -> Callable:
    def step(ev, env):
        return rule_outcome(name, rule, ev, env)[0]
    return step


def _condition(name: str, requirements: list[CompiledRequirement]) -> Callable:
    def step(ev, env):
        outcomes = ev.outcomes[name] = []  # the requirements' values, for `failed`
        for req in requirements:
            outcomes.append(requirement_outcome(req, ev)[0])
        return all_hold(outcomes)
    return step


def _case_groups(plan: Plan, inputs: dict) -> list:
    """The validated case's groups by number: the case itself, then each group's dict — every field
    is there, `None` when absent (as validation gives them); an absent group reads as all absent."""
    groups = [inputs]
    for _, head, name, absent in plan.groups[1:]:
        values = groups[head].get(name)
        groups.append(values if isinstance(values, dict) else absent)
    return groups


class _RecordedGroup:
    """A group of the case as the explaining evaluation reads it: each read is recorded as a node."""

    def __init__(self, evaluation: "weakref.ref[Evaluation]", prefix: str):
        self.evaluation, self.prefix = evaluation, prefix

    def __getitem__(self, name: str):
        return self.evaluation().input(self.prefix + name)


class _Cycle(Exception):
    """FastEvaluation met a value it is computing: unwinds to it, collecting the names between."""

    def __init__(self, evaluation: "FastEvaluation", key, name: str):
        super().__init__(key)
        self.evaluation, self.key, self.names = evaluation, key, [name]


def rule_outcome(name: str, rule: CompiledRule, ev, env: dict):
    """(value, the exception applied or None, the exceptions that may apply) — Catala-style: at most
    one exception may apply. One whose condition is not established may or may not: the value is
    then what its body and each such exception give together (engine/uncertain.py)."""
    applicable, maybe = [], []
    for exc in rule.exceptions:
        holds = exc.when(ev, env)
        if holds is True:
            applicable.append(exc)
        elif isinstance(holds, NotEstablished):
            maybe.append((exc, holds))
    if len(applicable) > 1:
        a, b = applicable[0].decl, applicable[1].decl
        raise EvaluationError(f"deux exceptions de la règle « {name} » s'appliquent à la fois : « {a.label} » "
                              f"({a.loc}) et « {b.label} » ({b.loc})", b.loc,
                              hint="le texte doit dire laquelle prévaut : rendez leurs conditions exclusives")
    if applicable:  # an exception that may also apply would conflict with it: not a world that gives a value
        exc = applicable[0]
        return exc.value(ev, env), exc, []
    if not maybe:
        return rule.body(ev, env), None, []
    deciding = frozenset().union(*(holds.decided_by for _, holds in maybe))
    branches = [(exc.value, exc.narrowing.narrow(ev, env, True) if exc.narrowing else env) for exc, _ in maybe]
    body_env = env
    for exc, _ in maybe:  # the body is taken where no exception applies
        if body_env is not None and exc.narrowing:
            body_env = exc.narrowing.narrow(ev, body_env, False)
    branches.append((rule.body, body_env))
    return either(ev, deciding, branches), None, [exc for exc, _ in maybe]


def requirement_outcome(req, ev) -> tuple[object, ast.Waiver | None]:
    """A requirement's value, and the waiver (`unless`) that lifted it, if one did. A waiver whose
    condition is not established may lift it: unless it holds, the requirement is then not
    established."""
    value = req.test(ev, NO_LOCALS)
    if value is not True:
        pending = None
        for waiver, when in req.waivers:
            lifted = when(ev, NO_LOCALS)
            if lifted is True:
                return True, waiver
            if isinstance(lifted, NotEstablished) and pending is None:
                pending = lifted
        if pending is not None:
            return U.top(pending.reason, U.decided_by(value, pending), pending.loc), None
    return value, None


def all_hold(values) -> object:
    """A condition: false if a requirement fails, else not established if one is, else true."""
    result: object = True
    for value in values:
        if value is False:
            return False
        if isinstance(value, NotEstablished):
            result = value if result is True else U.top(result.reason, result.decided_by | value.decided_by,
                                                        result.loc)
    return result


def _empty_cell(table, row: int, col: int) -> EvaluationError:
    decl = table.decl
    headings = [decl.row_keys[row]] + ([decl.column_keys[col]] if decl.column_keys else [])
    where = ", ".join(f"{d.name} = {h.text}" for d, h in zip(decl.dims, headings))
    return EvaluationError(f"le barème « {decl.name} » ne donne pas de valeur pour {where} (la case indique « — »)",
                           decl.cells[row][col].loc,
                           hint="le texte ne prévoit pas de montant ici : la règle ne doit pas l'y chercher")


def _decision_note(decision) -> str | None:
    """What the explanation says of a declaration the law leaves open, or an assumption decides."""
    if decision is None or decision.kind == "known":
        return None
    if decision.kind in ("fixed", "picked"):
        a, h = decision.assumption, decision.hypothesis
        what = f"lecture « {decision.reading.label} » retenue" if decision.kind == "picked" else "valeur retenue"
        return f"{what} par hypothèse (« {h.title} ») : {a.because}"
    if decision.kind == "readings":
        return "plusieurs lectures : " + " ; ".join(f"« {r.label} »" for r in decision.readings)
    return decision.unknown.reason


def _decision_grade(decision) -> dict:
    """A value a hypothesis decides rests on the hypothesis; an unknown standing in rests on nothing."""
    if decision is None:
        return {}
    if decision.kind in ("fixed", "picked"):
        return {"grade": "hypothesis"}
    if decision.kind == "unknown":
        return {"graded": False}
    return {}


def _join_notes(*notes) -> str | None:
    kept = [n for n in notes if n]
    return " ; ".join(kept) if kept else None


def _distinct(nodes: list[Node]) -> list[Node]:
    """Each dependency once, in the order first used."""
    seen, out = set(), []
    for node in nodes:
        if id(node) not in seen:
            seen.add(id(node))
            out.append(node)
    return out


def _arithmetic_error(name: str, exc: ArithmeticError, loc) -> EvaluationError:
    return EvaluationError(f"« {name} » ne peut pas être calculé exactement ({type(exc).__name__}) : un chiffre du "
                           f"cas ou du texte est hors limites", loc,
                           hint="vérifiez les chiffres du cas (nombres de patients, percentiles, montants)")


def _cycle(names) -> str:
    return "des règles dépendent les unes des autres en boucle : " + " → ".join(names)


def _too_deep(name: str) -> str:
    return f"« {name} » est trop imbriqué pour être calculé"
