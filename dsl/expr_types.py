"""The type of each expression (`ExpressionTypes`, mixed into the checker of dsl/checks.py): names
resolved and checked, calls, table lookups, comparisons, lists, records and `as of`. Each
problem is a `Diagnostic` at the place it was written (`self.error`); the checker provides the
ruleset (`self.model`), the names used (`self.used`), the types of rules (`rule_type`) and of
conditions (`condition_expr`), and where `as of` expressions are typed (`expression_types`).
"""
from __future__ import annotations

from . import ast, crosschecks, types as T
from .errors import did_you_mean
from .model import BUILTIN_NAMES
from .names import (_AS_OF, FUNCTIONS, _constant, _proven, _proven_false, _Scope, bare_member_enum, dotted,
                    input_children, resolve)
from .words import axis, count

# The hint for a value that may be missing, where it is used as if it were there.
_TEST_IS_SET = "testez d'abord sa présence avec `is set`"


class ExpressionTypes:
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
                self.error(e.loc, f"la règle `{ref.name}` prend {count(len(decl.params), 'argument')}",
                           hint=f"écrivez {ref.name}({', '.join(p.name for p in decl.params)})", code="name")
            # Absence is checked where it arises, at inputs; a rule that may give `none` is
            # trusted where it is used, and the interpreter stops with a clear error if not.
            return self.rule_type(ref.name).base
        if ref.kind == "parameter":
            return m.resolve_type(m.parameters[ref.name].type)
        if ref.kind == "table":
            self.error(e.loc, f"le barème `{ref.name}` se lit avec ses en-têtes",
                       hint=f"écrivez {ref.name}[{', '.join(d.name for d in m.tables[ref.name].dims)}]", code="name")
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
                self.error(e.loc, f"`{ref.name}` n'a pas de valeur `{ref.member}`",
                           hint=did_you_mean(ref.member, members) or "valeurs possibles : " + ", ".join(members),
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
                self.error(e.loc, f"`{e.target.text}` peut manquer", hint=_TEST_IS_SET)
            field_type = target.base.field(e.name)
            if field_type is None:
                self.error(e.loc, f"`{e.target.text}` n'a pas de champ `{e.name}`",
                           hint=did_you_mean(e.name, [f for f, _ in target.base.fields]), code="name")
                return T.ANY
            return field_type
        self.error(e.loc, f"`{e.target.text}` est de type `{target}`, qui n'a pas de champ `{e.name}`", code="name")
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
            self.error(e.loc, f"le groupe de données `{head}` n'a pas de champ `{last}`",
                       hint=did_you_mean(last, candidates) or "ses champs sont " + ", ".join(candidates), code="name")
        else:
            candidates = set(scope.locals) | m.value_names() | set(BUILTIN_NAMES) | set(m.inputs) | set(m.enums)
            self.error(e.loc, f"nom inconnu `{path}`",
                       hint=did_you_mean(path, candidates) or "déclarez-le comme règle, paramètre, barème ou donnée",
                       code="name")
        return T.ANY

    def _Call(self, e, scope):
        m = self.model
        if e.function in m.rules and e.function not in scope.locals:
            self.used.add(e.function)
            decl = m.rules[e.function]
            if len(e.args) != len(decl.params):
                self.error(e.loc, f"la règle `{e.function}` prend {count(len(decl.params), 'argument')}, "
                           f"{count(len(e.args), 'donné')}", code="name")
            for arg, param in zip(e.args, decl.params):
                t, want = self.expr(arg, scope), m.resolve_type(param.type)
                if not T.assignable(t, want):
                    self.error(arg.loc, f"l'argument `{param.name}` de `{e.function}` est de type `{want}`, `{arg.text}` "
                               f"de type `{t}`")
            return self.rule_type(e.function).base  # trusted like a rule name, see _reference_type
        if e.function not in FUNCTIONS:
            self.error(e.loc, f"fonction inconnue `{e.function}`",
                       hint=did_you_mean(e.function, list(FUNCTIONS) + list(m.rules)), code="name")
            for arg in e.args:
                self.expr(arg, scope)
            return T.ANY
        if e.function == "failed":
            if len(e.args) != 1 or not isinstance(e.args[0], ast.Name) or e.args[0].name not in m.conditions:
                self.error(e.loc, "failed(…) prend le nom d'une condition",
                           hint=did_you_mean(e.args[0].text if e.args else "", m.conditions), code="name")
            else:
                self.used.add(e.args[0].name)
            return T.list_of(T.REASON)
        arg_types = [self.expr(a, scope) for a in e.args]
        signature = FUNCTIONS[e.function]
        if signature is not None:
            params, result = signature
            if len(arg_types) != len(params):
                self.error(e.loc, f"{e.function}(…) prend {count(len(params), 'argument')}, "
                           f"{count(len(arg_types), 'donné')}")
                return result
            for arg, t, want in zip(e.args, arg_types, params):
                if not T.assignable(t, want):
                    self.error(arg.loc, f"{e.function}(…) attend ici une valeur de type `{want}`, `{arg.text}` est "
                               f"de type `{t}`", hint=_TEST_IS_SET if t.kind == "optional" else None)
            return result
        return self._generic_call(e, arg_types)

    def _generic_call(self, e, arg_types) -> T.Type:
        name = e.function
        if name == "flatten":
            if len(arg_types) != 1 or arg_types[0].kind not in ("list", "any") or \
                    (arg_types[0].kind == "list" and arg_types[0].args[0].kind not in ("list", "any")):
                self.error(e.loc, "flatten(…) prend une liste de listes")
                return T.ANY
            return arg_types[0].args[0] if arg_types[0].kind == "list" else T.ANY
        if name in ("count", "sum", "any", "all"):
            if len(arg_types) != 1 or arg_types[0].kind not in ("list", "set", "any"):
                self.error(e.loc, f"{name}(…) prend une liste")
                return T.ANY
            element = arg_types[0].args[0] if arg_types[0].kind != "any" else T.ANY
            if name == "count":
                return T.INT
            if name == "sum":
                if element.kind not in T.NUMERIC | {"any"}:
                    self.error(e.loc, f"sum(…) additionne des nombres ou des montants, pas des valeurs de type `{element}`")
                return element
            if element.kind not in ("bool", "any"):
                self.error(e.loc, f"{name}(…) prend une liste de valeurs vrai/faux, pas de valeurs de type `{element}`")
            return T.BOOL
        if name == "abs":
            if len(arg_types) != 1 or arg_types[0].kind not in T.NUMERIC | {"any"}:
                self.error(e.loc, "abs(…) prend un nombre")
                return T.ANY
            return arg_types[0]
        # min / max
        if not arg_types:
            self.error(e.loc, f"{name}(…) demande au moins une valeur")
            return T.ANY
        if len(arg_types) == 1 and arg_types[0].kind in ("list", "set"):
            arg_types = [arg_types[0].args[0]]
        result = arg_types[0]
        for arg, t in zip(e.args[1:], arg_types[1:]):
            merged = T.unify(result, t)
            if merged is None or merged.kind not in T.NUMERIC | {"date", "any"}:
                self.error(arg.loc, f"{name}(…) ne peut pas comparer `{result}` à `{t}`")
                return T.ANY
            result = merged
        if result.kind == "optional":
            self.error(e.loc, f"{name}(…) porte sur une valeur qui peut manquer", hint=_TEST_IS_SET)
        return result

    def _Index(self, e, scope):
        m = self.model
        if isinstance(e.target, ast.Name) and e.target.name in m.tables and e.target.name not in scope.locals:
            table = m.tables[e.target.name]
            self.used.add(table.name)
            if len(e.keys) != len(table.dims):
                self.error(e.loc, f"le barème `{table.name}` se lit avec {count(len(table.dims), 'en-tête')} : "
                           + ", ".join(d.name for d in table.dims), code="name")
            for key, dim in zip(e.keys, table.dims):
                t, want = self.expr(key, scope), m.resolve_type(dim.type)
                if not (T.assignable(t, want) or (want.kind in T.PLAIN_NUMBERS and t.kind in T.PLAIN_NUMBERS)):
                    self.error(key.loc, f"l'en-tête `{dim.name}` du barème `{table.name}` est de type `{want}`, "
                               f"`{key.text}` de type `{t}`",
                               hint=_TEST_IS_SET if t.kind == "optional" else None)
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
        self.error(e.loc, f"`{e.target.text}` est de type `{target}` : seuls les barèmes et les `map` se lisent "
                   "avec […]")
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
                    self.error(key.loc, f"le barème `{table.name}` n'a pas de {axis(dim.axis)} pour {dim.name} = "
                               f"{key.text}", hint=f"ses {axis(dim.axis, 2)} sont " + ", ".join(f"`{h.text}`" for h in keys),
                               code="table")
                return
            found.append(index)
        cell = table.cells[found[0]][found[1] if len(found) > 1 else 0]
        if cell.kind == "no_value":
            self.error(e.loc, f"`{e.text}` lit une case sans valeur (`{cell.text}` en {cell.loc})",
                       hint="le texte n'y donne pas de valeur : la règle ne doit pas la lire", code="table")

    def _If(self, e, scope):
        self.condition_expr(e.condition, scope, "la condition du `if`")
        then = self.expr(e.then, scope.with_proven(_proven(e.condition, self.model)))
        otherwise = self.expr(e.otherwise, scope.with_proven(_proven_false(e.condition, self.model)))
        merged = T.unify(then, otherwise)
        if merged is None:
            self.error(e.loc, f"les branches de ce `if` ne s'accordent pas : `{then}` après `then`, `{otherwise}` "
                       "après `else`")
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
            self.error(e.loc, f"impossible de prendre l'opposé d'une valeur de type `{t}`")
        return t

    def _Logic(self, e, scope):
        for operand in e.operands:
            self.condition_expr(operand, scope, f"chaque membre du `{e.op}`")
            if e.op == "and":
                scope = scope.with_proven(_proven(operand, self.model))
            else:
                scope = scope.with_proven(_proven_false(operand, self.model))
        return T.BOOL

    def _Not(self, e, scope):
        self.condition_expr(e.operand, scope, "l'opérande du `not`")
        return T.BOOL

    def _Compare(self, e, scope):
        left, right = self.expr(e.left, scope), self.expr(e.right, scope)
        if e.op in ("=", "!="):
            ok = T.comparable(left, right)
        else:
            ok = T.comparable(left, right) and T.ordered(left) and T.ordered(right)
            if ok and (left.kind == "optional" or right.kind == "optional"):
                self.error(e.loc, f"`{e.text}` compare une valeur qui peut manquer", hint=_TEST_IS_SET)
                return T.BOOL
        if not ok:
            self.error(e.loc, f"impossible de comparer `{left}` à `{right}` (`{e.text}`)")
        return T.BOOL

    def _Member(self, e, scope):
        item, coll = self.expr(e.item, scope), self.expr(e.collection, scope)
        if coll.kind == "any":
            return T.BOOL
        if coll.kind == "map":
            if not T.comparable(item, coll.args[0]):
                self.error(e.loc, f"`{e.item.text}` est de type `{item}`, les clés de `{e.collection.text}` de type "
                           f"`{coll.args[0]}`")
        elif coll.kind not in ("list", "set"):
            self.error(e.collection.loc, f"`{e.collection.text}` est de type `{coll}` : ni une liste, ni un ensemble, "
                       "ni une `map`")
        elif not T.comparable(item, coll.args[0]):
            self.error(e.loc, f"`{e.item.text}` est de type `{item}` et ne peut pas appartenir à une collection de "
                       f"`{coll.args[0]}`")
        return T.BOOL

    def _IsSet(self, e, scope):
        self.expr(e.operand, scope)  # checked for itself; any type may be tested
        return T.BOOL

    def _AsOf(self, e, scope):
        date = self.expr(e.date, scope)
        if date.kind not in ("date", "any"):
            self.error(e.date.loc, f"`as of` demande une date, `{e.date.text}` est de type `{date}`",
                       hint=_TEST_IS_SET if date.kind == "optional" else None)
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
            self.error(e.iterable.loc, f"impossible de parcourir `{e.iterable.text}` : sa valeur est de type "
                       f"`{iterable}`, pas une liste")
            element = T.ANY
        inner = scope.with_local(e.variable, element)
        if e.condition is not None:
            self.condition_expr(e.condition, inner, "le filtre de cette liste")
        return T.list_of(self.expr(e.element, inner))

    def _collection_element(self, items, scope, what) -> T.Type:
        element = T.ANY
        for item in items:
            t = self.expr(item, scope)
            merged = T.unify(element, t)
            if merged is None:
                self.error(item.loc, f"{what} contient des valeurs d'un seul type : `{item.text}` est de type `{t}`, "
                           f"pas `{element}`")
            else:
                element = merged
        return element

    def _ListLiteral(self, e, scope):
        return T.list_of(self._collection_element(e.items, scope, "une liste"))

    def _SetLiteral(self, e, scope):
        m = self.model
        # `{radiologie, anesthesie}`: bare names that are no value stand for members of an enum
        # the rest of the set (or its use) makes clear; resolve them by membership.
        enum = bare_member_enum(m, e.items, scope.locals)
        if enum:
            return T.set_of(T.Type("enum", name=enum))
        return T.set_of(self._collection_element(e.items, scope, "un ensemble"))

    def _RecordLiteral(self, e, scope):
        return T.record({name: self.expr(value, scope) for name, value in e.entries})

    def _Round(self, e, scope):
        t = self.expr(e.operand, scope)
        if t.kind not in ("money", "decimal", "int", "any"):
            self.error(e.loc, f"impossible d'arrondir une valeur de type `{t}`", hint="arrondissez des montants ou des nombres")
            return T.ANY
        if e.unit in ("euro", "cent") and t.kind not in ("money", "any"):
            self.error(e.loc, f"`to {e.unit}` arrondit des montants, `{e.operand.text}` est de type `{t}`",
                       hint="écrivez `to unit` pour arrondir un nombre")
        if e.unit == "unit":
            if t.kind == "money":
                self.error(e.loc, "`to unit` donne un nombre entier : arrondissez un montant avec `to euro`")
            return T.INT
        return t

    def _Range(self, e, scope):
        for bound in (e.low, e.high):
            t = self.expr(bound, scope)
            if t.kind not in ("int", "any"):
                self.error(bound.loc, f"un intervalle `a..b` parcourt des nombres entiers, `{bound.text}` est de type `{t}`")
        return T.list_of(T.INT)
