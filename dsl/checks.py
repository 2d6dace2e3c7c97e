"""Static checks of a resolved ruleset: names, types, sources, tables and cycles.

Every problem is a `Diagnostic` at the place it was written. The same name resolution
(`resolve`) is used by the engine's compiler, so what the checker accepts is exactly
what the interpreter evaluates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from . import ast, crosschecks, types as T
from .errors import Diagnostic, did_you_mean
from .model import BUILTIN_NAMES, Ruleset

# name → (argument types or None for "checked by hand", result type or None)
FUNCTIONS = {
    "min": None, "max": None, "abs": None, "sum": None, "count": None, "any": None, "all": None, "flatten": None,
    "years_between": ((T.DATE, T.DATE), T.INT),
    "months_between": ((T.DATE, T.DATE), T.INT),
    "days_between": ((T.DATE, T.DATE), T.INT),
    "add_years": ((T.DATE, T.INT), T.DATE),
    "add_months": ((T.DATE, T.INT), T.DATE),
    "add_days": ((T.DATE, T.INT), T.DATE),
    "first_day_of_next_month": ((T.DATE,), T.DATE),
    "date": ((T.INT, T.INT, T.INT), T.DATE),
    "year": ((T.DATE,), T.INT),
    "failed": None,
}


_AS_OF = "\0as of"  # marks an `as of` on the stack of rules being typed: no cycle through it

# ---------------------------------------------------------------- name resolution

@dataclass(frozen=True)
class Ref:
    kind: str  # local | rule | parameter | table | condition | builtin | input | enum_member | record_field | unknown
    name: str = ""
    member: str = ""


def dotted(expr: ast.Expr) -> str | None:
    if isinstance(expr, ast.Name):
        return expr.name
    if isinstance(expr, ast.Field):
        head = dotted(expr.target)
        return f"{head}.{expr.name}" if head else None
    return None


def resolve(model: Ruleset, expr: ast.Expr, local_names) -> Ref:
    """What a Name or Field refers to in `model`, given the local names in scope."""
    if isinstance(expr, ast.Name):
        name = expr.name
        if name in local_names:
            return Ref("local", name)
        kind, _ = model.value_declaration(name)
        if kind:
            return Ref(kind, name)
        if name in BUILTIN_NAMES:
            return Ref("builtin", name)
        if name in model.inputs:
            return Ref("input", name)
        return Ref("unknown", name)
    assert isinstance(expr, ast.Field)
    path = dotted(expr)
    if path and path.split(".")[0] not in local_names and model.value_declaration(path.split(".")[0])[0] is None:
        if path in model.inputs:
            return Ref("input", path)
        head = dotted(expr.target)
        if head in model.inputs:
            return Ref("unknown", path)
        if isinstance(expr.target, ast.Name) and head in model.enums:
            return Ref("enum_member", head, expr.name)
    return Ref("record_field", expr.name)


def input_children(model: Ruleset, path: str) -> list[str]:
    prefix = path + "."
    return [p[len(prefix):] for p in model.inputs if p.startswith(prefix) and "." not in p[len(prefix):]]


# ---------------------------------------------------------------- the checker

@dataclass
class CheckResult:
    diagnostics: list[Diagnostic]
    rule_types: dict[str, T.Type]
    expression_types: dict[int, T.Type]  # by id() of `as of` expressions, for explanations

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


@dataclass
class _Scope:
    locals: dict[str, T.Type] = field(default_factory=dict)
    proven_set: frozenset[str] = frozenset()  # input paths known to be present here

    def with_local(self, name: str, t: T.Type) -> "_Scope":
        return _Scope({**self.locals, name: t}, self.proven_set)

    def with_proven(self, paths) -> "_Scope":
        return _Scope(self.locals, self.proven_set | frozenset(paths))


def expression_type(model: Ruleset, expr: ast.Expr) -> tuple[T.Type, list[Diagnostic]]:
    """The type of an expression written outside the ruleset (a hypothesis's value), and what is
    wrong with it (unknown names…)."""
    checker = _Checker(model, False)
    return checker.expr(expr, _Scope()), [d for d in checker.diagnostics if d.severity == "error"]


def value_fits(actual: T.Type, declared: T.Type) -> bool:
    """A value of type `actual` may stand for a declaration of type `declared` (a bare number for an
    amount in euros, as in money tables)."""
    if declared.base.kind == "money" and actual.kind in T.PLAIN_NUMBERS:
        return True
    return T.assignable(actual, declared)


def check(model: Ruleset, require_sources: bool = False) -> CheckResult:
    checker = _Checker(model, require_sources)
    checker.run()
    return CheckResult(checker.diagnostics, checker.rule_types, checker.expression_types)


class _Checker:
    def __init__(self, model: Ruleset, require_sources: bool):
        self.model = model
        self.require_sources = require_sources
        self.diagnostics: list[Diagnostic] = []
        self.rule_types: dict[str, T.Type] = {}
        self.expression_types: dict[int, T.Type] = {}
        self._in_progress: list[str] = []
        self._reported_cycles: set[frozenset] = set()
        self.used: set[str] = set()  # value names and input paths referenced anywhere
        own = model.file
        self.own_locs = {id(d) for d in own.declarations}

    def error(self, loc, message, hint=None, code="type"):
        self.diagnostics.append(Diagnostic(loc, message, "error", hint, code))

    def warning(self, loc, message, hint=None, code="type"):
        self.diagnostics.append(Diagnostic(loc, message, "warning", hint, code))

    # -- driver
    def run(self):
        m = self.model
        self._check_header()
        self._references()
        for decl in m.inputs.values():
            t = m.resolve_type(decl.type, self.diagnostics)
            self._input_bounds(decl, t)
            self._sources(decl.sources, decl.loc, f"input `{decl.path}`", required=False)
        for decl in m.parameters.values():
            self._parameter(decl)
        for decl in m.tables.values():
            self._table(decl)
        for change in m.changes:
            if change.kind == "cell":  # a figure a reform states rests on its own source, never the table's
                self._sources(change.new.sources, change.loc, f"the replacement of cell `{change.name}`")
        for name in m.rules:
            self.rule_type(name)
        for decl in m.conditions.values():
            self._condition(decl)
        for name, loc in self._output_locs():
            if m.value_declaration(name)[0] is None:
                self.error(loc, f"output `{name}` is not a rule or condition of this ruleset",
                           hint=did_you_mean(name, m.value_names()), code="name")
            self.used.add(name)
        self._unused()
        crosschecks.run(self)

    def _references(self):
        """Every reference is graded; a source written in full carries its own grade (warnings: an
        ungraded source counts as secondary)."""
        grades = " | ".join(ast.GRADES)
        own = {id(r) for r in self.model.file.references}
        for ref in self.model.references.values():
            if ref.grade is None and id(ref) in own:
                self.warning(ref.loc, f"reference `{ref.name}` is not graded, so it counts as secondary",
                             hint=f"end it with `grade {grades}`: official for the instruments, the Journal "
                             "officiel and the Assurance Maladie's own pages", code="law")

    def _check_header(self):
        h = self.model.header
        if h.effective_from is None:
            self.error(h.loc, f"ruleset `{h.id}` does not say when it takes effect",
                       hint="add `effective from YYYY-MM-DD` to its header", code="time")
        elif h.effective_until and h.effective_until < h.effective_from:
            self.error(h.loc, f"ruleset `{h.id}` ends ({h.effective_until}) before it starts ({h.effective_from})",
                       code="time")
        for src in h.sources:
            self._source_ref(src)

    def _input_bounds(self, decl: ast.InputDecl, t: T.Type):
        if not decl.bounds:
            return
        if t.base.kind not in T.NUMERIC | {"any"}:
            self.error(decl.loc, f"input `{decl.path}` is {t}: `between`, `at least` and `at most` bound numbers",
                       hint="remove the bound, or declare the input as a number")
            return
        low = max((b.value for b in decl.bounds if b.kind == "min"), default=None)
        high = min((b.value for b in decl.bounds if b.kind == "max"), default=None)
        if low is not None and high is not None and low > high:
            self.error(decl.loc, f"input `{decl.path}` can hold no value: it must be at least {low} "
                       f"and at most {high}", hint="write the smaller bound first: `between low and high`")

    def _output_locs(self):
        seen = []
        for f in self.model.chain:
            for d in f.declarations:
                if isinstance(d, ast.OutputDecl):
                    seen.extend((n, loc) for n, loc in d.names if n in self.model.outputs)
        return seen

    # -- sources
    def _sources(self, sources, loc, what: str, required: bool = True):
        for src in sources:
            self._source_ref(src)
        if required and not sources:
            message = f"{what} has no legal source"
            hint = "add `source REFERENCE article \"…\" quote \"…\"` naming the text it encodes"
            if self.require_sources:
                self.error(loc, message, hint, code="law")
            else:
                self.warning(loc, message, hint, code="law")

    def _source_ref(self, src: ast.Source):
        if not src.is_reference_name and src.grade is None and src.loc.file == self.model.file.path:
            self.warning(src.loc, "this source is written in full without a grade, so it counts as secondary",
                         hint="add `grade official` (or secondary, hypothesis) after it, or declare a graded "
                         "`reference` and name it", code="law")
        if src.is_reference_name and src.reference not in self.model.references:
            self.error(src.loc, f"unknown reference `{src.reference}`",
                       hint=did_you_mean(src.reference, self.model.references) or
                       f"declare it: reference {src.reference} \"title of the instrument\" url \"…\"", code="name")

    # -- declarations
    def _parameter(self, decl: ast.ParameterDecl):
        declared = self.model.resolve_type(decl.type, self.diagnostics)
        what = f"parameter `{decl.name}`"
        if isinstance(decl.value, ast.Unknown):
            self._bounds(decl.value.low, decl.value.high, declared, what, decl.value.loc)
        elif isinstance(decl.value, ast.ReadingsValue):
            self._readings(decl.readings, declared, _Scope(), what, decl.value.loc)
        else:
            actual = self.expr(decl.value, _Scope())
            if not T.assignable(actual, declared):
                self.error(decl.value.loc, f"{what} is declared {declared} but its value is {actual}")
        if decl.readings and not isinstance(decl.value, ast.ReadingsValue):
            self.error(decl.readings[0].loc, f"{what} lists readings but its value is not `readings`",
                       hint=f"write `parameter {decl.name} … = readings`, then the readings")
        for clause in decl.bounds:
            self._bounds(clause.low, clause.high, declared, what, clause.loc)
            for src in clause.sources:
                self._source_ref(src)
        self._sources(decl.sources, decl.loc, what)

    # -- what the law leaves open
    def _bounds(self, low, high, declared: T.Type, what: str, loc) -> None:
        """Bounds of an unknown (or of a figure): values of its type, from constants or declarations."""
        if not T.ordered(declared):
            self.error(loc, f"{what} is {declared}: only numbers, amounts, percents and dates have bounds",
                       hint="state the competing values as readings instead")
            return
        for bound in (low, high):
            if bound is None:
                continue
            t = self.expr(bound, _Scope())
            if declared.base.kind == "money" and t.kind in T.PLAIN_NUMBERS:
                continue  # a bare number bounding an amount is in euros, as in a money table
            if not T.assignable(t, declared.base) and not (t.kind == "int" and declared.base.kind == "decimal"):
                self.error(bound.loc, f"bound `{bound.text}` is {t}, {what} is {declared}")

    def _readings(self, readings: list[ast.Reading], declared: T.Type | None, scope, what: str, loc) -> T.Type:
        """Each reading is a value of the declaration's type, with a name of its own and a source."""
        if not readings:
            self.error(loc, f"{what} is `readings` but lists none",
                       hint='add `reading NAME "label" : expression` lines, one for each reading the sources admit')
            return declared or T.ANY
        if len(readings) < 2:
            self.warning(readings[0].loc, f"{what} has a single reading: it is then simply its value",
                         hint="write the value itself, or add the other readings the sources admit")
        seen: set[str] = set()
        actual: T.Type | None = None
        for r in readings:
            if r.name in seen:
                self.error(r.loc, f"{what} has two readings named `{r.name}`", code="name")
            seen.add(r.name)
            t = self.expr(r.expr, scope)
            if declared is not None and declared.kind == "money" and t.kind in T.PLAIN_NUMBERS:
                t = T.MONEY
            if declared is not None and not T.assignable(t, declared):
                self.error(r.expr.loc, f"reading `{r.name}` is {t}, {what} is {declared}")
            merged = t if actual is None else T.unify(actual, t)
            if merged is None:
                self.error(r.expr.loc, f"reading `{r.name}` is {t}, the readings before it are {actual}")
            else:
                actual = merged
            for src in r.sources:
                self._source_ref(src)
        return declared or actual or T.ANY

    def _table(self, decl: ast.TableDecl):
        m = self.model
        value_type = m.resolve_type(decl.type, self.diagnostics)
        self._sources(decl.sources, decl.loc, f"table `{decl.name}`")
        keys_by_dim = [decl.row_keys] + ([decl.column_keys] if len(decl.dims) > 1 else [])
        for dim, keys in zip(decl.dims, keys_by_dim):
            self._table_keys(decl, dim, keys)
        self._cell_clauses(decl, value_type)
        for row in decl.cells:
            for cell in row:
                if cell.kind == "unknown":
                    self._bounds(cell.expr.low, cell.expr.high, value_type, f"cell `{cell.text}`", cell.loc)
                if cell.kind != "value":
                    continue
                cell_type = self.expr(cell.expr, _Scope())
                if value_type.kind == "money" and cell_type.kind in T.PLAIN_NUMBERS:
                    continue  # a bare number in a money table is an amount in euros
                if value_type.kind == "percent" and cell_type.kind in T.PLAIN_NUMBERS:
                    self.error(cell.loc, f"cell `{cell.text}` of percent table `{decl.name}` needs a `%`",
                               hint=f"write `{cell.text} %`")
                elif not T.assignable(cell_type, value_type):
                    self.error(cell.loc, f"cell `{cell.text}` is {cell_type}, table `{decl.name}` holds {value_type}")

    def _cell_clauses(self, decl: ast.TableDecl, value_type: T.Type):
        for clause in decl.cell_clauses:
            cell = decl.cells[clause.row][clause.column]
            name = decl.cell_name(clause.row, clause.column)
            for src in clause.sources:
                self._source_ref(src)
            if cell.kind == "readings":
                self._readings(clause.readings, value_type, _Scope(), f"cell `{name}`", clause.loc)
            elif clause.readings:
                self.error(clause.readings[0].loc, f"cell `{name}` reads `{cell.text}`, not `readings`",
                           hint="write `readings` in the cell of the table, then its readings under `cell […]`")
            if cell.kind == "no_value" and (clause.bounds or clause.readings):
                self.error(clause.loc, f"cell `{name}` reads `—`: the text gives no value there, nothing bounds it")
            for bound in clause.bounds:
                self._bounds(bound.low, bound.high, value_type, f"cell `{name}`", bound.loc)
                for src in bound.sources:
                    self._source_ref(src)
        for r, row in enumerate(decl.cells):
            for c, cell in enumerate(row):
                clause = decl.clause(r, c)
                if cell.kind == "readings" and (clause is None or not clause.readings):
                    self.error(cell.loc, f"cell `{decl.cell_name(r, c)}` reads `readings` but none is given",
                               hint=f"add `cell [{', '.join(decl.cell_name(r, c).partition('[')[2][:-1].split(', '))}]` "
                               "under the table, with its `reading` lines")
        for order in decl.orders:
            self._order(decl, order, value_type)

    def _order(self, decl: ast.TableDecl, order: ast.TableOrder, value_type: T.Type):
        """`increasing along p`: the axis exists, the cells are ordered, and the figures given respect it."""
        names = [d.name for d in decl.dims]
        if order.axis not in names:
            self.error(order.loc, f"table `{decl.name}` has no heading `{order.axis}`",
                       hint="its headings are " + ", ".join(f"`{n}`" for n in names), code="table")
            return
        if not T.ordered(value_type):
            self.error(order.loc, f"table `{decl.name}` holds {value_type}: only numbers, amounts, percents "
                       "and dates are ordered", code="table")
            return
        for src in order.sources:
            self._source_ref(src)
        axis = names.index(order.axis)
        rows, columns = len(decl.cells), len(decl.cells[0]) if decl.cells else 0
        lines = ([[(r, c) for r in range(rows)] for c in range(columns)] if axis == 0 else
                 [[(r, c) for c in range(columns)] for r in range(rows)])
        for line in lines:
            previous = None
            for r, c in line:
                value = _cell_constant(decl.cells[r][c])
                if value is None:
                    continue
                if previous is not None:
                    before, (pr, pc) = previous
                    wrong = value < before if order.direction == "increasing" else value > before
                    if wrong:
                        word = "below" if order.direction == "increasing" else "above"
                        self.error(decl.cells[r][c].loc, f"cell `{decl.cell_name(r, c)}` ({decl.cells[r][c].text}) "
                                   f"is {word} `{decl.cell_name(pr, pc)}` ({decl.cells[pr][pc].text}), but the table "
                                   f"is {order.direction} along `{order.axis}`", code="table")
                previous = (value, (r, c))

    def _table_keys(self, decl: ast.TableDecl, dim: ast.TableDim, keys: list[ast.TableKey]):
        key_type = self.model.resolve_type(dim.type, self.diagnostics)
        if key_type.kind == "enum":
            members = [mm.name for mm in self.model.enums[key_type.name].members]
            for key in keys:
                if key.kind != "exact" or key.value not in members:
                    self.error(key.loc, f"`{key.text}` is not a member of `{key_type.name}`",
                               hint=did_you_mean(str(key.value), members) or "members are " + ", ".join(members),
                               code="table")
            missing = [mm for mm in members if mm not in {k.value for k in keys}]
            if missing:
                # A lookup with a missing member stops evaluation: an amount nobody can compute.
                # An error when checking for shipping (`millesime check`, strict), a warning when a
                # folder is only loaded. When the members come from a later `extend enum`, the
                # slip is there: say it there.
                report = self.error if self.require_sources else self.warning
                extension = self._extension_after(key_type.name, missing, decl.loc.file)
                what = f"table `{decl.name}` has no {dim.axis[:-1]} for " + ", ".join(f"`{mm}`" for mm in missing)
                cells = "`?` in each cell the text sets but is not established here, `—` where the text gives none"
                if extension is not None:
                    report(extension, what + f", which `extend enum {key_type.name}` adds here",
                               hint=f"replace table `{decl.name}` in this ruleset with a {dim.axis[:-1]} for "
                               + ", ".join(f"`{mm}`" for mm in missing) + f" ({cells})", code="table")
                else:
                    report(dim.loc, what, hint=f"add it, with {cells}", code="table")
            return
        numeric = key_type.kind in T.NUMERIC
        intervals = []
        for key in keys:
            if key.kind == "exact":
                ok = isinstance(key.value, (int, Decimal)) if numeric else isinstance(key.value, str)
                if not ok:
                    self.error(key.loc, f"`{key.text}` is not a {key_type} heading", code="table")
                    continue
                if numeric:
                    intervals.append((Decimal(key.value), Decimal(key.value), True, key))
            elif not numeric:
                self.error(key.loc, f"a range heading needs numbers, `{dim.name}` is {key_type}", code="table")
            else:
                low = key.low if key.low is not None else Decimal("-Infinity")
                high = key.high if key.high is not None else Decimal("Infinity")
                intervals.append((low, high, False, key))
        self._bands(decl, intervals, key_type)

    def _extension_after(self, enum: str, members: list[str], table_file: str) -> ast.Loc | None:
        """Where a file after the table's own file extends `enum` with one of `members`."""
        files = [f.path for f in self.model.chain]
        for f in self.model.chain[files.index(table_file) + 1 if table_file in files else 0:]:
            for d in f.declarations:
                if isinstance(d, ast.ExtendEnum) and d.name == enum:
                    for member in d.members:
                        if member.name in members:
                            return member.loc
        return None

    def _bands(self, decl, intervals, key_type):
        """Headings must not overlap nor leave a hole; only the outermost heading may be open.

        A band `a..b` covers a up to, not including, b; `N+` covers N and above, so it must be
        the highest heading (and `< N` the lowest): an open range followed by other headings
        never closes, and swallows them.
        """
        intervals.sort(key=lambda i: (i[0], i[1]))
        reported = set()
        for lo, hi, exact, key in intervals:
            if not exact and lo >= hi:
                reported.add(id(key))
                self.error(key.loc, f"band `{key.text}` of table `{decl.name}` is empty: it runs from {lo} "
                           f"up to, not including, {hi}",
                           hint=f"write the lower bound first, e.g. `{hi}..{lo}`" if lo > hi else
                           f"a single value is written alone: `{lo}`", code="table")
        for lo, hi, exact, key in intervals:
            if id(key) in reported or key.kind not in ("at_least", "below"):
                continue
            if key.kind == "at_least":
                beyond = [k for l2, h2, e2, k in intervals if k is not key and (h2 > lo if not e2 else l2 >= lo)]
            else:
                beyond = [k for l2, h2, e2, k in intervals if k is not key and l2 < hi]
            if beyond:
                reported.add(id(key))
                other = beyond[-1] if key.kind == "at_least" else beyond[0]
                side = "highest" if key.kind == "at_least" else "lowest"
                self.error(key.loc, f"open range `{key.text}` of table `{decl.name}` never closes: "
                           f"it also covers `{other.text}`",
                           hint=f"only the {side} heading may be open-ended: close `{key.text}` as a band "
                           f"(`a..b`) or remove `{other.text}`", code="table")
        for (lo1, hi1, exact1, k1), (lo2, hi2, exact2, k2) in zip(intervals, intervals[1:]):
            if id(k1) in reported or id(k2) in reported:
                continue
            if exact1 and exact2:
                overlap = lo1 == lo2
            elif exact1:
                overlap = lo2 <= lo1
            else:
                overlap = lo2 < hi1
            if overlap:
                self.error(k2.loc, f"heading `{k2.text}` of table `{decl.name}` overlaps `{k1.text}`",
                           hint="bands are half-open: `90..95` covers 90 up to, not including, 95", code="table")
            elif not exact1 and not exact2 and hi1 < lo2:
                self.error(k2.loc, f"table `{decl.name}` has no row between {hi1} and {lo2}",
                           hint=f"`{k1.text}` stops at {hi1} and `{k2.text}` starts at {lo2}: close the hole, "
                           f"or add a row `{hi1}..{lo2}` with `—` if the text gives nothing there", code="table")
            elif key_type.kind == "int" and exact1 and not exact2 and lo2 > lo1 + 1:
                self.error(k2.loc, f"table `{decl.name}` has no row for {lo1 + 1}",
                           hint=f"`{k2.text}` starts at {lo2}: add a row for {lo1 + 1}, or start it at {lo1 + 1}",
                           code="table")

    def rule_type(self, name: str) -> T.Type:
        # A cycle is a rule reached again while its own value is being worked out, unless an
        # `as of` lies on the way (the value under another date's ruleset). Checked before the
        # cache: a rule with a declared type is in the cache while it is still in progress.
        last = len(self._in_progress) - 1 - self._in_progress[::-1].index(name) if name in self._in_progress else -1
        if last >= 0 and _AS_OF not in self._in_progress[last:]:
            cycle = self._in_progress[last:] + [name]
            key = frozenset(cycle)
            if key not in self._reported_cycles:
                self._reported_cycles.add(key)
                decl = self.model.rules[name]
                self.error(decl.loc, "rules depend on each other in a cycle: " + " → ".join(cycle),
                           hint="a rule cannot use its own value, even through other rules", code="cycle")
            return T.ANY
        if name in self.rule_types:
            return self.rule_types[name]
        decl = self.model.rules[name]
        self._in_progress.append(name)
        try:
            scope = _Scope({p.name: self.model.resolve_type(p.type, self.diagnostics) for p in decl.params})
            declared = self.model.resolve_type(decl.type, self.diagnostics) if decl.type else None
            if declared is not None:
                self.rule_types[name] = declared  # lets recursion through `as of` type-check
            if isinstance(decl.expr, ast.ReadingsValue):
                actual = self._readings(decl.readings, declared, scope, f"rule `{name}`", decl.expr.loc)
            else:
                actual = self.expr(decl.expr, scope)
                if decl.readings:
                    self.error(decl.readings[0].loc, f"rule `{name}` lists readings but its value is not `readings`",
                               hint=f"write `rule {name} … = readings`, then the readings")
            for exc in decl.exceptions:
                self.condition_expr(exc.when, scope, f"the condition of exception “{exc.label}”")
                value = self.expr(exc.value, scope.with_proven(_proven(exc.when, self.model)))
                merged = T.unify(actual, value)
                if merged is None:
                    self.error(exc.value.loc, f"exception “{exc.label}” gives {value} where rule `{name}` gives {actual}")
                else:
                    actual = merged
                self._sources(exc.sources, exc.loc, f"exception “{exc.label}”")
            if declared is not None and not T.assignable(actual, declared):
                self.error(decl.expr.loc, f"rule `{name}` is declared {declared} but computes {actual}")
            result = declared or actual
            self._sources(decl.sources, decl.loc, f"rule `{name}`")
        finally:
            self._in_progress.pop()
        self.rule_types[name] = result
        return result

    def _condition(self, decl: ast.ConditionDecl):
        for req in decl.requirements:
            self.condition_expr(req.expr, _Scope(), f"requirement `{decl.name}.{req.name}`")
            self._sources(req.sources, req.loc, f"requirement `{decl.name}.{req.name}`")
            for waiver in req.waivers:
                self.condition_expr(waiver.when, _Scope(), f"the waiver “{waiver.label}”")
                self._sources(waiver.sources, waiver.loc, f"waiver “{waiver.label}”")
        if not decl.requirements:
            self.warning(decl.loc, f"condition `{decl.name}` has no requirement, so it always holds", code="name")

    def condition_expr(self, expr: ast.Expr, scope: _Scope, what: str) -> T.Type:
        t = self.expr(expr, scope)
        if t.kind not in ("bool", "any"):
            self.error(expr.loc, f"{what} must be true or false, but `{expr.text}` is {t}")
        return t

    # -- unused declarations (own file only: a base's leftovers are the base's business)
    def _unused(self):
        own = self.model.file
        if not self.model.outputs:
            return
        values = self.model.value_names()  # once: rebuilt per declaration, it made the check quadratic
        for decl in own.declarations:
            if isinstance(decl, ast.Replace) and isinstance(decl.declaration, ast.InputDecl):
                continue  # relaxing an input the base needs (e.g. making it optional) is a use of its own
            decl = decl.declaration if isinstance(decl, ast.Replace) else decl
            if isinstance(decl, (ast.RuleDecl, ast.ParameterDecl, ast.TableDecl, ast.ConditionDecl)):
                if decl.name not in self.used and decl.name in values:
                    self.warning(decl.loc, f"{decl.key[0]} `{decl.name}` is never used by an output", code="unused")
            elif isinstance(decl, ast.InputDecl) and decl.type.kind != "group":
                if not any(u == decl.path or u.startswith(decl.path + ".") for u in self.used):
                    self.warning(decl.loc, f"input `{decl.path}` is never used", code="unused")

    # -- expressions
    def expr(self, e: ast.Expr, scope: _Scope) -> T.Type:
        method = getattr(self, "_" + type(e).__name__)
        return method(e, scope)

    def _Literal(self, e, scope):
        if e.kind == "number":
            return T.INT if isinstance(e.value, int) else T.DECIMAL
        return {"money": T.MONEY, "percent": T.PERCENT, "date": T.DATE, "string": T.TEXT,
                "bool": T.BOOL, "none": T.NONE}[e.kind]

    def _NotEstablished(self, e, scope):
        return T.ANY

    def _Unknown(self, e, scope):  # the parser puts `?` only where a whole value stands
        return T.ANY

    def _ReadingsValue(self, e, scope):
        return T.ANY

    def _reference_type(self, e, scope) -> T.Type:
        ref = resolve(self.model, e, scope.locals)
        m = self.model
        if ref.kind == "local":
            return scope.locals[ref.name]
        if ref.kind in ("rule", "parameter", "table", "condition"):
            self.used.add(ref.name)
        if ref.kind == "rule":
            decl = m.rules[ref.name]
            if decl.params:
                self.error(e.loc, f"rule `{ref.name}` takes {len(decl.params)} argument(s)",
                           hint=f"write {ref.name}({', '.join(p.name for p in decl.params)})", code="name")
            # Absence is checked where it arises, at inputs; a rule that may give `none` is
            # trusted where it is used, and the interpreter stops with a clear error if not.
            return self.rule_type(ref.name).base
        if ref.kind == "parameter":
            return m.resolve_type(m.parameters[ref.name].type)
        if ref.kind == "table":
            self.error(e.loc, f"table `{ref.name}` must be looked up with its headings",
                       hint=f"write {ref.name}[{', '.join(d.name for d in m.tables[ref.name].dims)}]", code="name")
            return T.ANY
        if ref.kind == "condition":
            return T.BOOL
        if ref.kind == "builtin":
            return BUILTIN_NAMES[ref.name]
        if ref.kind == "input":
            self.used.add(ref.name)
            t = m.input_type(ref.name).base
            if t.kind != "group" and m.input_is_optional(ref.name) and not self._is_proven(ref.name, scope):
                return T.optional(t)
            return t
        if ref.kind == "enum_member":
            members = [mm.name for mm in m.enums[ref.name].members]
            if ref.member not in members:
                self.error(e.loc, f"`{ref.name}` has no member `{ref.member}`",
                           hint=did_you_mean(ref.member, members) or "members are " + ", ".join(members),
                           code="name")
            return T.Type("enum", name=ref.name)
        if ref.kind == "unknown":
            return self._unknown_name(e, scope)
        # record field access
        target = self.expr(e.target, scope)
        if target.kind == "any":
            return T.ANY
        if target.base.kind in ("record", "reason"):
            if target.kind == "optional":
                self.error(e.loc, f"`{e.target.text}` may be missing", hint="test it with `is set` first")
            field_type = target.base.field(e.name)
            if field_type is None:
                self.error(e.loc, f"`{e.target.text}` has no field `{e.name}`",
                           hint=did_you_mean(e.name, [f for f, _ in target.base.fields]), code="name")
                return T.ANY
            return field_type
        self.error(e.loc, f"`{e.target.text}` is {target}, it has no field `{e.name}`", code="name")
        return T.ANY

    _Name = _reference_type
    _Field = _reference_type

    def _is_proven(self, path: str, scope: _Scope) -> bool:
        parts = path.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if self.model.inputs[prefix].type.kind == "optional" and prefix not in scope.proven_set:
                return False
        return True

    def _unknown_name(self, e, scope) -> T.Type:
        m = self.model
        path = dotted(e) or getattr(e, "name", "?")
        head, _, last = path.rpartition(".")
        if head and head in m.inputs:
            candidates = input_children(m, head)
            self.error(e.loc, f"input group `{head}` has no field `{last}`",
                       hint=did_you_mean(last, candidates) or "its fields are " + ", ".join(candidates), code="name")
        else:
            candidates = set(scope.locals) | m.value_names() | set(BUILTIN_NAMES) | set(m.inputs) | set(m.enums)
            self.error(e.loc, f"unknown name `{path}`",
                       hint=did_you_mean(path, candidates) or "declare it as a rule, parameter, table or input",
                       code="name")
        return T.ANY

    def _Call(self, e, scope):
        m = self.model
        if e.function in m.rules and e.function not in scope.locals:
            self.used.add(e.function)
            decl = m.rules[e.function]
            if len(e.args) != len(decl.params):
                self.error(e.loc, f"rule `{e.function}` takes {len(decl.params)} argument(s), "
                           f"{len(e.args)} given", code="name")
            for arg, param in zip(e.args, decl.params):
                t, want = self.expr(arg, scope), m.resolve_type(param.type)
                if not T.assignable(t, want):
                    self.error(arg.loc, f"argument `{param.name}` of `{e.function}` is {want}, `{arg.text}` is {t}")
            return self.rule_type(e.function).base  # trusted like a rule name, see _reference_type
        if e.function not in FUNCTIONS:
            self.error(e.loc, f"unknown function `{e.function}`",
                       hint=did_you_mean(e.function, list(FUNCTIONS) + list(m.rules)), code="name")
            for arg in e.args:
                self.expr(arg, scope)
            return T.ANY
        if e.function == "failed":
            if len(e.args) != 1 or not isinstance(e.args[0], ast.Name) or e.args[0].name not in m.conditions:
                self.error(e.loc, "failed(…) takes the name of a condition",
                           hint=did_you_mean(e.args[0].text if e.args else "", m.conditions), code="name")
            else:
                self.used.add(e.args[0].name)
            return T.list_of(T.REASON)
        arg_types = [self.expr(a, scope) for a in e.args]
        signature = FUNCTIONS[e.function]
        if signature is not None:
            params, result = signature
            if len(arg_types) != len(params):
                self.error(e.loc, f"{e.function}(…) takes {len(params)} argument(s), {len(arg_types)} given")
                return result
            for arg, t, want in zip(e.args, arg_types, params):
                if not T.assignable(t, want):
                    self.error(arg.loc, f"{e.function}(…) expects {want} here, `{arg.text}` is {t}",
                               hint="test it with `is set` first" if t.kind == "optional" else None)
            return result
        return self._generic_call(e, arg_types)

    def _generic_call(self, e, arg_types) -> T.Type:
        name = e.function
        if name == "flatten":
            if len(arg_types) != 1 or arg_types[0].kind not in ("list", "any") or \
                    (arg_types[0].kind == "list" and arg_types[0].args[0].kind not in ("list", "any")):
                self.error(e.loc, "flatten(…) takes a list of lists")
                return T.ANY
            return arg_types[0].args[0] if arg_types[0].kind == "list" else T.ANY
        if name in ("count", "sum", "any", "all"):
            if len(arg_types) != 1 or arg_types[0].kind not in ("list", "set", "any"):
                self.error(e.loc, f"{name}(…) takes one list")
                return T.ANY
            element = arg_types[0].args[0] if arg_types[0].kind != "any" else T.ANY
            if name == "count":
                return T.INT
            if name == "sum":
                if element.kind not in T.NUMERIC | {"any"}:
                    self.error(e.loc, f"sum(…) adds numbers or money, not {element}")
                return element
            if element.kind not in ("bool", "any"):
                self.error(e.loc, f"{name}(…) takes a list of true/false values, not of {element}")
            return T.BOOL
        if name == "abs":
            if len(arg_types) != 1 or arg_types[0].kind not in T.NUMERIC | {"any"}:
                self.error(e.loc, "abs(…) takes one number")
                return T.ANY
            return arg_types[0]
        # min / max
        if not arg_types:
            self.error(e.loc, f"{name}(…) needs at least one value")
            return T.ANY
        if len(arg_types) == 1 and arg_types[0].kind in ("list", "set"):
            arg_types = [arg_types[0].args[0]]
        result = arg_types[0]
        for arg, t in zip(e.args[1:], arg_types[1:]):
            merged = T.unify(result, t)
            if merged is None or merged.kind not in T.NUMERIC | {"date", "any"}:
                self.error(arg.loc, f"{name}(…) cannot compare {result} with {t}")
                return T.ANY
            result = merged
        if result.kind == "optional":
            self.error(e.loc, f"{name}(…) of a value that may be missing", hint="test it with `is set` first")
        return result

    def _Index(self, e, scope):
        m = self.model
        if isinstance(e.target, ast.Name) and e.target.name in m.tables and e.target.name not in scope.locals:
            table = m.tables[e.target.name]
            self.used.add(table.name)
            if len(e.keys) != len(table.dims):
                self.error(e.loc, f"table `{table.name}` is looked up with {len(table.dims)} heading(s): "
                           + ", ".join(d.name for d in table.dims), code="name")
            for key, dim in zip(e.keys, table.dims):
                t, want = self.expr(key, scope), m.resolve_type(dim.type)
                if not (T.assignable(t, want) or (want.kind in T.PLAIN_NUMBERS and t.kind in T.PLAIN_NUMBERS)):
                    self.error(key.loc, f"heading `{dim.name}` of table `{table.name}` is {want}, "
                               f"`{key.text}` is {t}",
                               hint="test it with `is set` first" if t.kind == "optional" else None)
            if len(e.keys) == len(table.dims):
                self._constant_lookup(e, table, scope)
            return m.resolve_type(table.type)
        target = self.expr(e.target, scope)
        for key in e.keys:
            self.expr(key, scope)
        if target.kind == "map":
            # A missing key stops evaluation with a clear error: test it with `key in map` first.
            return target.args[1]
        if target.kind == "any":
            return T.ANY
        self.error(e.loc, f"`{e.target.text}` is {target}: only tables and maps are looked up with […]")
        return T.ANY

    def _constant_lookup(self, e, table: ast.TableDecl, scope):
        """A lookup written with constant headings must land on a heading, and on a value."""
        headings = [table.row_keys] + ([table.column_keys] if len(table.dims) > 1 else [])
        found = []
        for key, dim, keys in zip(e.keys, table.dims, headings):
            value, is_member = _constant(key, self.model, scope.locals)
            if value is None:
                crosschecks.variable_lookup(self, e, table, scope.locals)
                return
            index = next((i for i, h in enumerate(keys) if h.matches(value)), None)
            if index is None:
                if not is_member:  # a missing enum member is reported once, at the table
                    self.error(key.loc, f"table `{table.name}` has no {dim.axis[:-1]} for {dim.name} = {key.text}",
                               hint=f"its {dim.axis} are " + ", ".join(f"`{h.text}`" for h in keys), code="table")
                return
            found.append(index)
        cell = table.cells[found[0]][found[1] if len(found) > 1 else 0]
        if cell.kind == "no_value":
            self.error(e.loc, f"`{e.text}` reads a cell with no value (`{cell.text}` at {cell.loc})",
                       hint="the text gives no value there: the rule must not look it up", code="table")

    def _If(self, e, scope):
        self.condition_expr(e.condition, scope, "the condition of `if`")
        then = self.expr(e.then, scope.with_proven(_proven(e.condition, self.model)))
        otherwise = self.expr(e.otherwise, scope.with_proven(_proven_false(e.condition, self.model)))
        merged = T.unify(then, otherwise)
        if merged is None:
            self.error(e.loc, f"the branches of this `if` disagree: {then} after `then`, {otherwise} after `else`")
            return T.ANY
        return merged

    def _Arith(self, e, scope):
        left = self.expr(e.left, scope)
        right = self.expr(e.right, scope)
        result = T.arithmetic(e.op, left, right)
        if isinstance(result, str):
            self.error(e.loc, result)
            return T.ANY
        return result

    def _Negate(self, e, scope):
        t = self.expr(e.operand, scope)
        if t.kind not in T.NUMERIC | {"any"}:
            self.error(e.loc, f"cannot negate {t}")
        return t

    def _Logic(self, e, scope):
        for operand in e.operands:
            self.condition_expr(operand, scope, f"each side of `{e.op}`")
            if e.op == "and":
                scope = scope.with_proven(_proven(operand, self.model))
            else:
                scope = scope.with_proven(_proven_false(operand, self.model))
        return T.BOOL

    def _Not(self, e, scope):
        self.condition_expr(e.operand, scope, "the operand of `not`")
        return T.BOOL

    def _Compare(self, e, scope):
        left, right = self.expr(e.left, scope), self.expr(e.right, scope)
        if e.op in ("=", "!="):
            ok = T.comparable(left, right)
        else:
            ok = T.comparable(left, right) and T.ordered(left) and T.ordered(right)
            if ok and (left.kind == "optional" or right.kind == "optional"):
                self.error(e.loc, f"`{e.text}` compares a value that may be missing",
                           hint="test it with `is set` first")
                return T.BOOL
        if not ok:
            self.error(e.loc, f"cannot compare {left} with {right} (`{e.text}`)")
        return T.BOOL

    def _Member(self, e, scope):
        item, coll = self.expr(e.item, scope), self.expr(e.collection, scope)
        if coll.kind == "any":
            return T.BOOL
        if coll.kind == "map":
            if not T.comparable(item, coll.args[0]):
                self.error(e.loc, f"`{e.item.text}` is {item}, the keys of `{e.collection.text}` are {coll.args[0]}")
        elif coll.kind not in ("list", "set"):
            self.error(e.collection.loc, f"`{e.collection.text}` is {coll}, not a list, a set or a map")
        elif not T.comparable(item, coll.args[0]):
            self.error(e.loc, f"`{e.item.text}` is {item} and cannot be in a collection of {coll.args[0]}")
        return T.BOOL

    def _IsSet(self, e, scope):
        self.expr(e.operand, scope)  # checked for itself; any type may be tested
        return T.BOOL

    def _AsOf(self, e, scope):
        date = self.expr(e.date, scope)
        if date.kind not in ("date", "any"):
            self.error(e.date.loc, f"`as of` needs a date, `{e.date.text}` is {date}",
                       hint="test it with `is set` first" if date.kind == "optional" else None)
        self._in_progress.append(_AS_OF)
        try:
            t = self.expression_types[id(e)] = self.expr(e.target, scope)
        finally:
            self._in_progress.pop()
        return t

    def _Comprehension(self, e, scope):
        iterable = self.expr(e.iterable, scope)
        if iterable.kind in ("list", "set"):
            element = iterable.args[0]
        elif iterable.kind == "any":
            element = T.ANY
        else:
            self.error(e.iterable.loc, f"cannot go through `{e.iterable.text}`: it is {iterable}, not a list")
            element = T.ANY
        inner = scope.with_local(e.variable, element)
        if e.condition is not None:
            self.condition_expr(e.condition, inner, "the filter of this list")
        return T.list_of(self.expr(e.element, inner))

    def _collection_element(self, items, scope, what) -> T.Type:
        element = T.ANY
        for item in items:
            t = self.expr(item, scope)
            merged = T.unify(element, t)
            if merged is None:
                self.error(item.loc, f"a {what} holds values of one type: `{item.text}` is {t}, not {element}")
            else:
                element = merged
        return element

    def _ListLiteral(self, e, scope):
        return T.list_of(self._collection_element(e.items, scope, "list"))

    def _SetLiteral(self, e, scope):
        m = self.model
        # `{radiologie, anesthesie}`: bare names that are no value stand for members of an enum
        # the rest of the set (or its use) makes clear; resolve them by membership.
        enum = bare_member_enum(m, e.items, scope.locals)
        if enum:
            return T.set_of(T.Type("enum", name=enum))
        return T.set_of(self._collection_element(e.items, scope, "set"))

    def _RecordLiteral(self, e, scope):
        return T.record({name: self.expr(value, scope) for name, value in e.entries})

    def _Round(self, e, scope):
        t = self.expr(e.operand, scope)
        if t.kind not in ("money", "decimal", "int", "any"):
            self.error(e.loc, f"cannot round {t}", hint="round money or numbers")
            return T.ANY
        if e.unit in ("euro", "cent") and t.kind not in ("money", "any"):
            self.error(e.loc, f"`to {e.unit}` rounds money, `{e.operand.text}` is {t}",
                       hint="write `to unit` to round a number")
        if e.unit == "unit":
            if t.kind == "money":
                self.error(e.loc, "`to unit` gives a whole number: round money `to euro`")
            return T.INT
        return t

    def _Range(self, e, scope):
        for bound in (e.low, e.high):
            t = self.expr(bound, scope)
            if t.kind not in ("int", "any"):
                self.error(bound.loc, f"a range `a..b` runs over whole numbers, `{bound.text}` is {t}")
        return T.list_of(T.INT)


def _cell_constant(cell: ast.TableCell):
    """A cell's figure when written as a plain number, amount or percent (for order checks)."""
    expr = cell.expr
    if cell.kind == "value" and isinstance(expr, ast.Literal) and expr.kind in ("number", "money", "percent"):
        return expr.value
    return None


def bare_member_enum(model: Ruleset, items, local_names) -> str | None:
    """The enum whose members a set of bare names are, e.g. {radiologie, anesthesie}."""
    names = [i.name for i in items if isinstance(i, ast.Name)]
    if len(names) != len(items):
        return None
    if any(n in local_names or model.value_declaration(n)[0] or n in model.inputs or n in BUILTIN_NAMES
           for n in names):
        return None
    for enum in model.enums.values():
        members = {m.name for m in enum.members}
        if all(n in members for n in names):
            return enum.name
    return None


def _constant(expr: ast.Expr, model: Ruleset, local_names) -> tuple[object, bool]:
    """The value of a constant table heading written in a lookup (a number or an enum member)."""
    if isinstance(expr, ast.Literal) and expr.kind == "number":
        return expr.value, False
    if isinstance(expr, ast.Negate):
        value, _ = _constant(expr.operand, model, local_names)
        return (-value if isinstance(value, (int, Decimal)) else None), False
    if isinstance(expr, ast.Field):
        ref = resolve(model, expr, local_names)
        if ref.kind == "enum_member":
            return ref.member, True
    return None, False


def _proven(condition: ast.Expr, model: Ruleset) -> set[str]:
    """Input paths that are surely present when `condition` is true."""
    if isinstance(condition, ast.IsSet) and not condition.negated:
        return _set_path(condition.operand, model)
    if isinstance(condition, ast.Logic) and condition.op == "and":
        return set().union(*(_proven(o, model) for o in condition.operands))
    if isinstance(condition, ast.Not):
        return _proven_false(condition.operand, model)
    return set()


def _proven_false(condition: ast.Expr, model: Ruleset) -> set[str]:
    """Input paths that are surely present when `condition` is false."""
    if isinstance(condition, ast.IsSet) and condition.negated:
        return _set_path(condition.operand, model)
    if isinstance(condition, ast.Logic) and condition.op == "or":
        return set().union(*(_proven_false(o, model) for o in condition.operands))
    if isinstance(condition, ast.Not):
        return _proven(condition.operand, model)
    return set()


def _set_path(expr: ast.Expr, model: Ruleset) -> set[str]:
    """The input path that an `is set` test proves present."""
    path = dotted(expr)
    return {path} if path in model.inputs else set()
