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
from .words import agreed, axis, the

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
            self._sources(decl.sources, decl.loc, the("input", decl.path), required=False)
        for decl in m.parameters.values():
            self._parameter(decl)
        for decl in m.tables.values():
            self._table(decl)
        for change in m.changes:
            if change.kind == "cell":  # a figure a reform states rests on its own source, never the table's
                self._sources(change.new.sources, change.loc, f"le remplacement de la case `{change.name}`")
        for name in m.rules:
            self.rule_type(name)
        for decl in m.conditions.values():
            self._condition(decl)
        for name, loc in self._output_locs():
            if m.value_declaration(name)[0] is None:
                self.error(loc, f"le résultat `{name}` n'est ni une règle ni une condition de ce texte",
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
                self.warning(ref.loc, f"la référence `{ref.name}` n'a pas de degré de fiabilité : elle compte "
                             "comme secondaire",
                             hint=f"terminez-la par `grade {grades}` : `official` pour les accords et avenants "
                             "eux-mêmes, le Journal officiel et les pages de l'Assurance Maladie", code="law")

    def _check_header(self):
        h = self.model.header
        if h.effective_from is None:
            self.error(h.loc, f"le texte `{h.id}` ne dit pas à quelle date il entre en vigueur",
                       hint="ajoutez `effective from AAAA-MM-JJ` à son en-tête", code="time")
        elif h.effective_until and h.effective_until < h.effective_from:
            self.error(h.loc, f"le texte `{h.id}` prend fin ({h.effective_until}) avant d'entrer en vigueur "
                       f"({h.effective_from})",
                       code="time")
        for src in h.sources:
            self._source_ref(src)

    def _input_bounds(self, decl: ast.InputDecl, t: T.Type):
        if not decl.bounds:
            return
        if t.base.kind not in T.NUMERIC | {"any"}:
            self.error(decl.loc, f"la donnée `{decl.path}` est de type `{t}` : `between`, `at least` et `at most` "
                       "bornent des nombres", hint="retirez la borne, ou déclarez la donnée comme un nombre")
            return
        low = max((b.value for b in decl.bounds if b.kind == "min"), default=None)
        high = min((b.value for b in decl.bounds if b.kind == "max"), default=None)
        if low is not None and high is not None and low > high:
            self.error(decl.loc, f"la donnée `{decl.path}` ne peut prendre aucune valeur : elle doit valoir au moins "
                       f"{low} et au plus {high}", hint="écrivez la plus petite borne en premier : `between MIN and MAX`")

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
            message = f"{what} n'a pas de source juridique"
            hint = "ajoutez `source REFERENCE article \"…\" quote \"…\"`, qui cite le texte juridique traduit ici"
            if self.require_sources:
                self.error(loc, message, hint, code="law")
            else:
                self.warning(loc, message, hint, code="law")

    def _source_ref(self, src: ast.Source):
        if not src.is_reference_name and src.grade is None and src.loc.file == self.model.file.path:
            self.warning(src.loc, "cette source est écrite en entier sans degré de fiabilité : elle compte comme "
                         "secondaire", hint="ajoutez `grade official` (ou `secondary`, `hypothesis`) après elle, ou "
                         "déclarez une `reference` graduée et nommez-la", code="law")
        if src.is_reference_name and src.reference not in self.model.references:
            self.error(src.loc, f"référence inconnue `{src.reference}`",
                       hint=did_you_mean(src.reference, self.model.references) or
                       f"déclarez-la : reference {src.reference} \"titre du texte\" url \"…\"", code="name")

    # -- declarations
    def _parameter(self, decl: ast.ParameterDecl):
        declared = self.model.resolve_type(decl.type, self.diagnostics)
        what = the("parameter", decl.name)
        if isinstance(decl.value, ast.Unknown):
            self._bounds(decl.value.low, decl.value.high, declared, what, decl.value.loc)
        elif isinstance(decl.value, ast.ReadingsValue):
            self._readings(decl.readings, declared, _Scope(), what, decl.value.loc)
        else:
            actual = self.expr(decl.value, _Scope())
            if not T.assignable(actual, declared):
                self.error(decl.value.loc, f"{what} est déclaré de type `{declared}` mais sa valeur est de type `{actual}`")
        if decl.readings and not isinstance(decl.value, ast.ReadingsValue):
            self.error(decl.readings[0].loc, f"{what} énumère des lectures mais sa valeur n'est pas `readings`",
                       hint=f"écrivez `parameter {decl.name} … = readings`, puis les lectures")
        for clause in decl.bounds:
            self._bounds(clause.low, clause.high, declared, what, clause.loc)
            for src in clause.sources:
                self._source_ref(src)
        self._sources(decl.sources, decl.loc, what)

    # -- what the law leaves open
    def _bounds(self, low, high, declared: T.Type, what: str, loc) -> None:
        """Bounds of an unknown (or of a figure): values of its type, from constants or declarations."""
        if not T.ordered(declared):
            self.error(loc, f"{what} est de type `{declared}` : seuls les nombres, montants, pourcentages et dates "
                       "ont des bornes", hint="donnez plutôt les valeurs en concurrence comme des lectures")
            return
        for bound in (low, high):
            if bound is None:
                continue
            t = self.expr(bound, _Scope())
            if declared.base.kind == "money" and t.kind in T.PLAIN_NUMBERS:
                continue  # a bare number bounding an amount is in euros, as in a money table
            if not T.assignable(t, declared.base) and not (t.kind == "int" and declared.base.kind == "decimal"):
                self.error(bound.loc, f"la borne `{bound.text}` est de type `{t}`, {what} de type `{declared}`")

    def _readings(self, readings: list[ast.Reading], declared: T.Type | None, scope, what: str, loc) -> T.Type:
        """Each reading is a value of the declaration's type, with a name of its own and a source."""
        if not readings:
            self.error(loc, f"{what} vaut `readings` mais ne donne aucune lecture",
                       hint='ajoutez des lignes `reading NOM "libellé" : expression`, une pour chaque lecture '
                       "qu'admettent les sources")
            return declared or T.ANY
        if len(readings) < 2:
            self.warning(readings[0].loc, f"{what} n'a qu'une seule lecture : c'est alors simplement sa valeur",
                         hint="écrivez la valeur elle-même, ou ajoutez les autres lectures qu'admettent les sources")
        seen: set[str] = set()
        actual: T.Type | None = None
        for r in readings:
            if r.name in seen:
                self.error(r.loc, f"{what} a deux lectures nommées `{r.name}`", code="name")
            seen.add(r.name)
            t = self.expr(r.expr, scope)
            if declared is not None and declared.kind == "money" and t.kind in T.PLAIN_NUMBERS:
                t = T.MONEY
            if declared is not None and not T.assignable(t, declared):
                self.error(r.expr.loc, f"la lecture `{r.name}` est de type `{t}`, {what} de type `{declared}`")
            merged = t if actual is None else T.unify(actual, t)
            if merged is None:
                self.error(r.expr.loc, f"la lecture `{r.name}` est de type `{t}`, les lectures précédentes de type "
                           f"`{actual}`")
            else:
                actual = merged
            for src in r.sources:
                self._source_ref(src)
        return declared or actual or T.ANY

    def _table(self, decl: ast.TableDecl):
        m = self.model
        value_type = m.resolve_type(decl.type, self.diagnostics)
        self._sources(decl.sources, decl.loc, the("table", decl.name))
        keys_by_dim = [decl.row_keys] + ([decl.column_keys] if len(decl.dims) > 1 else [])
        for dim, keys in zip(decl.dims, keys_by_dim):
            self._table_keys(decl, dim, keys)
        self._cell_clauses(decl, value_type)
        for row in decl.cells:
            for cell in row:
                if cell.kind == "unknown":
                    self._bounds(cell.expr.low, cell.expr.high, value_type, the("cell", cell.text), cell.loc)
                if cell.kind != "value":
                    continue
                cell_type = self.expr(cell.expr, _Scope())
                if value_type.kind == "money" and cell_type.kind in T.PLAIN_NUMBERS:
                    continue  # a bare number in a money table is an amount in euros
                if value_type.kind == "percent" and cell_type.kind in T.PLAIN_NUMBERS:
                    self.error(cell.loc, f"la case `{cell.text}` du barème de pourcentages `{decl.name}` doit "
                               "porter un `%`", hint=f"écrivez `{cell.text} %`")
                elif not T.assignable(cell_type, value_type):
                    self.error(cell.loc, f"la case `{cell.text}` est de type `{cell_type}`, le barème `{decl.name}` "
                               f"de type `{value_type}`")

    def _cell_clauses(self, decl: ast.TableDecl, value_type: T.Type):
        for clause in decl.cell_clauses:
            cell = decl.cells[clause.row][clause.column]
            name = decl.cell_name(clause.row, clause.column)
            for src in clause.sources:
                self._source_ref(src)
            if cell.kind == "readings":
                self._readings(clause.readings, value_type, _Scope(), the("cell", name), clause.loc)
            elif clause.readings:
                self.error(clause.readings[0].loc, f"la case `{name}` contient `{cell.text}`, pas `readings`",
                           hint="écrivez `readings` dans la case du barème, puis ses lectures sous `cell […]`")
            if cell.kind == "no_value" and (clause.bounds or clause.readings):
                self.error(clause.loc, f"la case `{name}` contient `—` : le texte n'y donne pas de valeur, il n'y a "
                           "rien à borner")
            for bound in clause.bounds:
                self._bounds(bound.low, bound.high, value_type, the("cell", name), bound.loc)
                for src in bound.sources:
                    self._source_ref(src)
        for r, row in enumerate(decl.cells):
            for c, cell in enumerate(row):
                clause = decl.clause(r, c)
                if cell.kind == "readings" and (clause is None or not clause.readings):
                    self.error(cell.loc, f"la case `{decl.cell_name(r, c)}` contient `readings` mais aucune lecture "
                               "n'est donnée",
                               hint=f"ajoutez `cell [{', '.join(decl.cell_name(r, c).partition('[')[2][:-1].split(', '))}]` "
                               "sous le barème, avec ses lignes `reading`")
        for order in decl.orders:
            self._order(decl, order, value_type)

    def _order(self, decl: ast.TableDecl, order: ast.TableOrder, value_type: T.Type):
        """`increasing along p`: the axis exists, the cells are ordered, and the figures given respect it."""
        names = [d.name for d in decl.dims]
        if order.axis not in names:
            self.error(order.loc, f"le barème `{decl.name}` n'a pas d'en-tête `{order.axis}`",
                       hint="ses en-têtes sont " + ", ".join(f"`{n}`" for n in names), code="table")
            return
        if not T.ordered(value_type):
            self.error(order.loc, f"le barème `{decl.name}` est de type `{value_type}` : seuls les nombres, montants, "
                       "pourcentages et dates sont ordonnés", code="table")
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
                        word = "inférieure" if order.direction == "increasing" else "supérieure"
                        direction = "croissant" if order.direction == "increasing" else "décroissant"
                        self.error(decl.cells[r][c].loc, f"la case `{decl.cell_name(r, c)}` ({decl.cells[r][c].text}) "
                                   f"est {word} à `{decl.cell_name(pr, pc)}` ({decl.cells[pr][pc].text}), alors que le "
                                   f"barème est {direction} le long de `{order.axis}`", code="table")
                previous = (value, (r, c))

    def _table_keys(self, decl: ast.TableDecl, dim: ast.TableDim, keys: list[ast.TableKey]):
        key_type = self.model.resolve_type(dim.type, self.diagnostics)
        if key_type.kind == "enum":
            members = [mm.name for mm in self.model.enums[key_type.name].members]
            for key in keys:
                if key.kind != "exact" or key.value not in members:
                    self.error(key.loc, f"`{key.text}` n'est pas une valeur de `{key_type.name}`",
                               hint=did_you_mean(str(key.value), members) or "valeurs possibles : " + ", ".join(members),
                               code="table")
            missing = [mm for mm in members if mm not in {k.value for k in keys}]
            if missing:
                # A lookup with a missing member stops evaluation: an amount nobody can compute.
                # An error when checking for shipping (`millesime check`, strict), a warning when a
                # folder is only loaded. When the members come from a later `extend enum`, the
                # slip is there: say it there.
                report = self.error if self.require_sources else self.warning
                extension = self._extension_after(key_type.name, missing, decl.loc.file)
                listed = ", ".join(f"`{mm}`" for mm in missing)
                what = f"le barème `{decl.name}` n'a pas de {axis(dim.axis)} pour " + listed
                cells = ("`?` dans chaque case dont le texte prévoit la valeur sans qu'elle soit établie ici, `—` là où "
                         "le texte n'en donne pas")
                if extension is not None:
                    added = "qu'ajoute" if len(missing) < 2 else "qu'ajoutent"
                    report(extension, what + f", {added} ici `extend enum {key_type.name}`",
                           hint=f"remplacez le barème `{decl.name}` dans ce texte, avec "
                           + (f"une {axis(dim.axis)} pour " if len(missing) < 2
                              else f"une {axis(dim.axis)} pour chacune des valeurs ")
                           + listed + f" ({cells})", code="table")
                else:
                    report(dim.loc, what, hint=f"ajoutez-{'la' if len(missing) < 2 else 'les'}, avec {cells}",
                           code="table")
            return
        numeric = key_type.kind in T.NUMERIC
        intervals = []
        for key in keys:
            if key.kind == "exact":
                ok = isinstance(key.value, (int, Decimal)) if numeric else isinstance(key.value, str)
                if not ok:
                    self.error(key.loc, f"`{key.text}` n'est pas un en-tête de type `{key_type}`", code="table")
                    continue
                if numeric:
                    intervals.append((Decimal(key.value), Decimal(key.value), True, key))
            elif not numeric:
                self.error(key.loc, f"un en-tête en intervalle demande des nombres, `{dim.name}` est de type `{key_type}`",
                           code="table")
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
                self.error(key.loc, f"la tranche `{key.text}` du barème `{decl.name}` est vide : elle va de {lo} "
                           f"jusqu'à {hi} non compris",
                           hint=f"écrivez la borne basse en premier, par exemple `{hi}..{lo}`" if lo > hi else
                           f"une valeur unique s'écrit seule : `{lo}`", code="table")
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
                side = "haut" if key.kind == "at_least" else "bas"
                self.error(key.loc, f"l'intervalle ouvert `{key.text}` du barème `{decl.name}` ne se referme jamais : "
                           f"il couvre aussi `{other.text}`",
                           hint=f"seul l'en-tête le plus {side} peut être ouvert : fermez `{key.text}` en tranche "
                           f"(`a..b`) ou retirez `{other.text}`", code="table")
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
                self.error(k2.loc, f"l'en-tête `{k2.text}` du barème `{decl.name}` chevauche `{k1.text}`",
                           hint="les tranches sont semi-ouvertes : `90..95` va de 90 jusqu'à 95 non compris",
                           code="table")
            elif not exact1 and not exact2 and hi1 < lo2:
                self.error(k2.loc, f"le barème `{decl.name}` n'a pas de ligne entre {hi1} et {lo2}",
                           hint=f"`{k1.text}` s'arrête à {hi1} et `{k2.text}` commence à {lo2} : comblez le trou, "
                           f"ou ajoutez une ligne `{hi1}..{lo2}` avec `—` si le texte n'y donne rien", code="table")
            elif key_type.kind == "int" and exact1 and not exact2 and lo2 > lo1 + 1:
                self.error(k2.loc, f"le barème `{decl.name}` n'a pas de ligne pour {lo1 + 1}",
                           hint=f"`{k2.text}` commence à {lo2} : ajoutez une ligne pour {lo1 + 1}, ou faites-le "
                           f"commencer à {lo1 + 1}",
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
                self.error(decl.loc, "des règles dépendent les unes des autres en boucle : " + " → ".join(cycle),
                           hint="une règle ne peut pas utiliser sa propre valeur, même par l'intermédiaire d'autres "
                           "règles", code="cycle")
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
                actual = self._readings(decl.readings, declared, scope, the("rule", name), decl.expr.loc)
            else:
                actual = self.expr(decl.expr, scope)
                if decl.readings:
                    self.error(decl.readings[0].loc, f"la règle `{name}` énumère des lectures mais sa valeur n'est "
                               "pas `readings`", hint=f"écrivez `rule {name} … = readings`, puis les lectures")
            for exc in decl.exceptions:
                self.condition_expr(exc.when, scope, f"la condition de l'exception « {exc.label} »")
                value = self.expr(exc.value, scope.with_proven(_proven(exc.when, self.model)))
                merged = T.unify(actual, value)
                if merged is None:
                    self.error(exc.value.loc, f"l'exception « {exc.label} » est de type `{value}`, la règle `{name}` "
                               f"de type `{actual}`")
                else:
                    actual = merged
                self._sources(exc.sources, exc.loc, f"l'exception « {exc.label} »")
            if declared is not None and not T.assignable(actual, declared):
                self.error(decl.expr.loc, f"la règle `{name}` est déclarée de type `{declared}` mais calcule une valeur "
                           f"de type `{actual}`")
            result = declared or actual
            self._sources(decl.sources, decl.loc, the("rule", name))
        finally:
            self._in_progress.pop()
        self.rule_types[name] = result
        return result

    def _condition(self, decl: ast.ConditionDecl):
        for req in decl.requirements:
            self.condition_expr(req.expr, _Scope(), the("requirement", f"{decl.name}.{req.name}"))
            self._sources(req.sources, req.loc, the("requirement", f"{decl.name}.{req.name}"))
            for waiver in req.waivers:
                self.condition_expr(waiver.when, _Scope(), f"la dérogation « {waiver.label} »")
                self._sources(waiver.sources, waiver.loc, f"la dérogation « {waiver.label} »")
        if not decl.requirements:
            self.warning(decl.loc, f"la condition `{decl.name}` n'a aucune exigence : elle est donc toujours remplie",
                         code="name")

    def condition_expr(self, expr: ast.Expr, scope: _Scope, what: str) -> T.Type:
        t = self.expr(expr, scope)
        if t.kind not in ("bool", "any"):
            self.error(expr.loc, f"{what} doit valoir vrai ou faux, mais `{expr.text}` est de type `{t}`")
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
                    self.warning(decl.loc, f"{the(decl.key[0], decl.name)} n'est {agreed('utilisé', decl.key[0])} par "
                                 "aucun résultat", code="unused")
            elif isinstance(decl, ast.InputDecl) and decl.type.kind != "group":
                if not any(u == decl.path or u.startswith(decl.path + ".") for u in self.used):
                    self.warning(decl.loc, f"la donnée `{decl.path}` n'est jamais utilisée", code="unused")


def _cell_constant(cell: ast.TableCell):
    """A cell's figure when written as a plain number, amount or percent (for order checks)."""
    expr = cell.expr
    if cell.kind == "value" and isinstance(expr, ast.Literal) and expr.kind in ("number", "money", "percent"):
        return expr.value
    return None
