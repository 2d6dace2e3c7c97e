"""Which inputs a case still needs, as the rules read them: the questions of the simulator page.

Method. The explaining evaluator records every input it reads as an explanation node of kind
"input" (`Evaluation.input`). A partial case is evaluated by that evaluator after validation
against the ruleset's schema with *every* field optional (`case_model(every_optional=True)`):
the fields given are checked as usual (a wrong one is a CaseError naming it), the others are
absent. What an absent field reads as is the heart of the method:

- an absent **optional** field reads as absent (`None`), as in any evaluation: absence is one
  of its legal values, and the rules say what it means (`if physician.percentile is set …`);
- an absent **required** field reads as *what is known of it*: its declared domain as an open
  value of engine/uncertain.py — the members of its enum, the range of its bounds, or nothing
  (`top`) — decided by an unknown of its own (key `("input", path)`). The evaluator then
  follows every branch such a value may take (an `if` on an open condition joins both, an
  exception that may apply is computed beside the rule's body), so what it reads is what some
  completion of the case would read. A placeholder value would instead follow one branch and
  miss the inputs of the others (a missing specialty taken as « not a general practitioner »
  would never reach what only general practitioners are asked).

Every input read is collected from the explanation trees of the outputs, depth first in the
order each rule used its dependencies, then from what the evaluations memorised (an output
whose evaluation raised an error): the order in which the rules read them. Then:

- a required field read and absent is **asked** (`required: true`);
- an optional field read and absent is asked only when it can change a figure: a rule that
  read it has a value that is not established, and an output that is not established depends
  on some of the same unknowns of the law — what the field, given, would bypass. For a
  general practitioner without percentile, the rule `percentile` reads `physician.percentile`,
  then the P50/P70/P90 thresholds; when an output depends on a threshold not established, the
  percentile is asked. A surgeon's `ccam_fee_share`, read by `technical_acts_ok` whose value is
  « non renseigné », is asked because eligibility depends on it; a general practitioner's is
  never read, so never asked.
- `ready`: no required field is asked. Required fields the evaluation does not read (an OPTAM
  membership in sector 1) are not asked: `evaluate_partial` accepts a case without them, and
  the values computed are those of any completion, since no rule read them.

Where the engine stops computing on an open value, what lies beyond is discovered in a later
round: an `as of DATE` whose date is open (a contract whose signature date is not given) cannot
choose the ruleset to consult; a list filtered by an open condition (the options open to a
physician whose priority zone is not given) is not built element by element. The fields that
decide them are required and asked first. What makes the rounds end soundly is `ready`: when no
required field the evaluation reads is missing, no open value stood for the case anywhere, so the
evaluation *is* the exact one for every completion — the fields it did not read cannot change a
figure. tests/fuzz/test_questions_fuzz.py simulates the rounds on every regression case (required
fields removed, the asked ones given back, until `ready`) and finds the complete case's values.
"""
from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass, field

from dsl import types as T
from dsl.model import Ruleset

from . import uncertain as U, values as V
from .case import case_model, validate
from .explain import Node
from .interpreter import Evaluation, Result, _Session
from .registry import Entry, Registry
from .values import EvaluationError, NotEstablished, Unknown

INPUT_UNKNOWN = "input"  # the first item of the key of an Unknown standing for an absent required input


@dataclass
class Read:
    """One input the evaluation read: where, what the case gives, who read it."""
    path: str
    ruleset: str
    value: object
    required: bool
    missing: bool  # absent from the case (required: read as its domain; optional: as absent)
    readers: list[Node] = field(default_factory=list)


@dataclass
class Discovery:
    """A partial case evaluated: the result (its values may be open where required inputs are
    missing), the inputs read in order, the outputs whose evaluation failed."""
    result: Result
    reads: list[Read]
    errors: dict[str, EvaluationError]
    extras: dict[str, object] = field(default_factory=dict)  # other values asked for, not outputs

    def missing_required(self) -> list[Read]:
        return [r for r in self.reads if r.missing and r.required]

    def questions(self) -> list[Read]:
        """The inputs to ask for, in reading order (module docstring)."""
        deciding = _law_unknowns(_decided_by_all(self.result.values.values()))
        asked = []
        for read in self.reads:
            if not read.missing:
                continue
            if read.required or any(_law_unknowns(_decided_by_all([r.value])) & deciding for r in read.readers):
                asked.append(read)
        return asked


def evaluate_partial(registry: Registry, case: dict, on: dt.date, outputs: list[str] | None = None,
                     strict: bool = True, stop_on_error: bool = False, extras: tuple[str, ...] = ()) -> Discovery:
    """Evaluate `case`, in which any field may be absent, with explanations (module docstring).
    `strict`: fields the ruleset in force does not declare are an error (CaseError) rather than
    ignored. `stop_on_error`: raise the first EvaluationError, as `interpreter.evaluate` does.
    `extras`: other values of the ruleset (`contract_start`), kept apart from the result."""
    session = _PartialSession(registry, case, strict)
    try:
        ev = session.evaluation(on)
        names = tuple(outputs or ev.model.outputs)
        values, nodes, types, errors, extra = {}, {}, {}, {}, {}
        for name, slot, _ in ev.plan.output_slots(names + tuple(extras)):
            try:
                node = ev.node_at(slot, ())
            except (EvaluationError, U.Empty) as exc:
                if isinstance(exc, U.Empty):  # every possibility errs or cannot happen: say so as an error
                    exc = EvaluationError(f"« {name} » n'a aucune valeur admissible pour ce cas")
                if stop_on_error:
                    raise exc from None
                errors[name] = exc
                continue
            if name in names:
                values[name], nodes[name], types[name] = node.value, node, node.type
            else:
                extra[name] = node.value
        result = Result(on, ev.entry, values, types, nodes, dict(session.entries))
        reads = _reads(session, nodes)
        return Discovery(result, reads, errors, extra)
    finally:
        session.close()


# ---------------------------------------------------------------- the session

class _PartialSession(_Session):
    """A session whose case may lack any field: each ruleset validates it with every field
    optional, then gives each absent required field its domain as an open value."""

    def __init__(self, registry: Registry, case: dict, strict: bool):
        super().__init__(registry, case, explain=True)
        self.strict = strict

    def _validate(self, entry: Entry, first: bool) -> dict:
        model = entry.model
        schema = _partial_schema(model, "forbid" if first and self.strict else "ignore")
        inputs = validate(model, schema, self.case)
        _fill_required(model, inputs)
        return inputs


_SCHEMAS: dict[tuple[int, str], tuple] = {}  # (id(model), extra) → (weak reference to the model, schema)


def _partial_schema(model: Ruleset, extra: str):
    key = (id(model), extra)
    known = _SCHEMAS.get(key)
    if known is None or known[0]() is not model:
        known = _SCHEMAS[key] = (weakref.ref(model), case_model(model, extra, every_optional=True))
    return known[1]


def input_unknown(model: Ruleset, path: str) -> Unknown:
    """The unknown an absent required input stands for: the same in every ruleset."""
    label = model.inputs[path].label
    return Unknown((INPUT_UNKNOWN, path), path, label, f"donnée non renseignée : « {label} »", "unknown")


def domain(model: Ruleset, path: str) -> object:
    """What is known of a required input the case does not give: its declared domain."""
    decl = model.inputs[path]
    t = model.input_type(path).base
    u = input_unknown(model, path)
    deciders = frozenset([u])
    if t.kind == "enum":
        return U.make_set([m.name for m in model.enums[t.name].members], deciders, u.reason)
    if t.kind in T.NUMERIC:
        bounds = {b.kind: b.value for b in decl.bounds}
        low, high = bounds.get("min"), bounds.get("max")
        if t.kind == "int":
            low, high = (None if low is None else int(low)), (None if high is None else int(high))
        return U.make_range(low, high, deciders, u.reason)
    return U.top(u.reason, deciders)


def _fill_required(model: Ruleset, inputs: dict) -> None:
    """Give each absent required field of a present group its domain (in place). A required
    group that is absent (no `physician` at all) is present with every field absent."""
    for path, decl in model.inputs.items():
        head, _, name = path.rpartition(".")
        parent = _group_at(inputs, head)
        if not isinstance(parent, dict) or parent.get(name) is not None or decl.type.kind == "optional":
            continue
        if model.input_type(path).kind == "group":
            parent[name] = {}
        else:
            parent[name] = domain(model, path)


def _group_at(inputs: dict, path: str):
    value = inputs
    for part in path.split(".") if path else ():
        value = value.get(part) if isinstance(value, dict) else None
    return value


# ---------------------------------------------------------------- what was read

def _reads(session: _Session, outputs: dict[str, Node]) -> list[Read]:
    """Every input read, in the order the rules read them, with the nodes that read each."""
    order: list[Node] = []
    readers: dict[int, list[Node]] = {}
    seen: set[int] = set()

    def visit(root: Node) -> None:
        stack = [root]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            for child in node.children:
                if child.kind == "input":
                    readers.setdefault(id(child), []).append(node)
            if node.kind == "input":
                order.append(node)
            stack.extend(reversed(node.children))

    for node in outputs.values():
        visit(node)
    for ev in list(session.evaluations.values()):  # what an output that failed had read
        if isinstance(ev, Evaluation):
            for node in list(ev.memo.values()):
                visit(node)
    reads: list[Read] = []
    known: dict[str, Read] = {}
    for node in order:
        entry = session.entries.get(node.ruleset)
        if entry is None:
            continue
        model = entry.model
        if model.input_type(node.name).kind == "group":
            continue  # `contract is set`: the group's presence is the journey's choice, not a question
        head = node.name.rpartition(".")[0]
        if head and not isinstance(_group_at(session.validated.get(node.ruleset, {}), head), dict):
            continue  # a field of a group the case leaves out on purpose
        required = model.inputs[node.name].type.kind != "optional"
        missing = node.value is None or _stands_for_input(node.value, node.name)
        read = known.get(node.name)
        if read is None:
            read = known[node.name] = Read(node.name, node.ruleset, node.value, required, missing)
            reads.append(read)
        else:  # read again under another ruleset (`as of`): required if any ruleset requires it
            read.required = read.required or required
            read.missing = read.missing or missing
        read.readers.extend(readers.get(id(node), []))
    return reads


def _stands_for_input(value, path: str) -> bool:
    return isinstance(value, NotEstablished) and any(u.key == (INPUT_UNKNOWN, path) for u in value.decided_by)


def _decided_by_all(values) -> frozenset:
    """The unknowns deciding any open value among `values`, looked for inside lists and records."""
    out: set = set()
    stack = list(values)
    while stack:
        v = stack.pop()
        if isinstance(v, NotEstablished):
            out |= v.decided_by
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
    return frozenset(out)


def _law_unknowns(unknowns: frozenset) -> frozenset:
    """The unknowns of the law, without those standing for inputs the case does not give."""
    return frozenset(u for u in unknowns if u.key[0] != INPUT_UNKNOWN)


# ---------------------------------------------------------------- as JSON, for the API

def questions_json(discovery: Discovery, registry: Registry) -> dict:
    """`ready`, the inputs to ask for (`missing`) and every input read (`read`, each with `given`),
    in reading order, each described so that a form can ask for it (labels, bounds, members)."""
    asked = {id(r) for r in discovery.questions()}
    missing, read = [], []
    for r in discovery.reads:
        item = describe_input(registry.entries[r.ruleset].model, r.path, r.required)
        if id(r) in asked:
            missing.append(item)
        read.append({**item, "given": not r.missing, "asked": id(r) in asked})
    return {"ready": not any(m["required"] for m in missing) and not discovery.errors,
            "missing": missing, "read": read}


def describe_input(model: Ruleset, path: str, required: bool) -> dict:
    """An input as a form asks for it: label, type, bounds, an enum's members with their labels,
    a map's key and fields (a record's fields take the label of the case field of the same name)."""
    decl = model.inputs[path]
    t = model.input_type(path).base
    item: dict = {"path": path, "label": decl.label, "type": str(t), "required": required}
    for bound in decl.bounds:
        item[bound.kind] = V.to_json(bound.value)
    if t.kind == "enum":
        item["enum"] = t.name
        item["members"] = [{"name": m.name, "label": m.label} for m in model.enums[t.name].members]
    elif t.kind == "map":
        key, value = t.args
        item["key"] = str(key)
        if value.kind == "record":
            labels = {p.rpartition(".")[2]: d.label for p, d in model.inputs.items()}
            item["fields"] = [{"name": n, "type": str(ft), "label": labels.get(n, n)} for n, ft in value.fields]
    return item
