"""Static checks of a resolved ruleset: names, types, sources, tables and cycles.

Every problem is a `Diagnostic` at the place it was written. The checker here goes through the
declarations (header, sources, parameters, tables, rules, conditions); the types of their
expressions are worked out by dsl/expr_types.py, mixed into it, with the name resolution of
dsl/names.py — the one the engine's compilers use, so what the checker accepts is exactly what
the interpreter evaluates.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from . import ast, crosschecks, types as T
from .errors import Diagnostic, did_you_mean
from .expr_types import ExpressionTypes
from .model import Ruleset
from .names import _AS_OF, _proven, _Scope

# ---------------------------------------------------------------- the checker

@dataclass
class CheckResult:
    diagnostics: list[Diagnostic]
    rule_types: dict[str, T.Type]
    expression_types: dict[int, T.Type]  # by id() of `as of` expressions, for explanations

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]



def expression_type(model: Ruleset, expr: ast.Expr) -> tuple[T.Type, list[Diagnostic]]:
    """The type of an expression written outside the ruleset (a hypothesis's value), and what is
    wrong with it (unknown names…)."""
    checker = _Checker(model, False)
    return checker.expr(expr, _Scope()), [d for d in checker.diagnostics if d.severity == "error"]



def check(model: Ruleset, require_sources: bool = False) -> CheckResult:
    checker = _Checker(model, require_sources)
    checker.run()
    return CheckResult(checker.diagnostics, checker.rule_types, checker.expression_types)


class _Checker(ExpressionTypes):
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


def _cell_constant(cell: ast.TableCell):
    """A cell's figure when written as a plain number, amount or percent (for order checks)."""
    expr = cell.expr
    if cell.kind == "value" and isinstance(expr, ast.Literal) and expr.kind in ("number", "money", "percent"):
        return expr.value
    return None
