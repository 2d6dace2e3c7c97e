"""The rulesets of a folder, checked and compiled once, and which one is in force on a date."""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from dsl import ast, checks, model as M
from dsl.errors import Diagnostic, MillesimeError, RulesetError
from dsl.parser import gc_paused, parse_file

from . import french
from .case import case_model
from .compiler import compile_ruleset
from .plan import Plan
from .unknowns import NO_ASSUMPTIONS, Assumptions, check_assumptions, raise_if_wrong

RULESET_SUFFIX = ".mil"
# Dates whose ruleset in force is remembered: a server lives long and is asked about any date.
IN_FORCE_CACHE_SIZE = 4096


class NoRulesetError(MillesimeError):
    """No ruleset in force on `day`; `coverage` says which dates the rulesets cover."""

    def __init__(self, day: dt.date, coverage: str):
        self.day, self.coverage = day, coverage
        super().__init__(f"aucun texte n'est en vigueur le {french.date(day)} ; les textes couvrent : {coverage}")


def coverage(timeline) -> str:
    """The dates the rulesets cover: « avenant7_2019 (du 21/08/2019 au 30/04/2023), … »."""
    return ", ".join(f"{m.id} (du {french.date(m.effective_from)}"
                     + (f" au {french.date(m.effective_until)})" if m.effective_until else ", sans date de fin)")
                     for m in timeline)


def shipped_rulesets_dir() -> Path:
    """The agreements packaged with Millésime (works from a wheel as from a checkout)."""
    return Path(str(resources.files("rulesets")))


@dataclass
class Entry:
    model: M.Ruleset
    plan: Plan
    warnings: list[Diagnostic]
    assumptions: Assumptions = NO_ASSUMPTIONS

    @cached_property
    def fingerprint(self) -> str:
        """The ruleset's fingerprint, combined with the run's assumptions when there are any: the
        same fingerprint, the same decisions."""
        if not self.assumptions.active:
            return self.model.fingerprint
        import hashlib
        digest = hashlib.sha256((self.model.fingerprint + self.assumptions.fingerprint()).encode())
        return "sha256:" + digest.hexdigest()[:16]

    @cached_property
    def schema(self):
        return case_model(self.model)

    @cached_property
    def lenient_schema(self):
        return case_model(self.model, extra="ignore")

    @cached_property
    def labels(self) -> dict[str, str]:
        """French labels of enum members, for display."""
        return {m.name: m.label for e in self.model.enums.values() for m in e.members}


@dataclass
class Registry:
    entries: dict[str, Entry]
    folder: Path | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    _in_force_cache: dict = field(default_factory=dict, repr=False, compare=False)  # date → Entry, bounded
    _timeline: list | None = field(default=None, repr=False, compare=False)  # sorted once, for in_force
    assumptions: Assumptions = NO_ASSUMPTIONS
    _results: dict = field(default_factory=dict, repr=False, compare=False)  # checks, for with_assumptions
    _variants: dict = field(default_factory=dict, repr=False, compare=False)  # fingerprint → Registry
    reforms: tuple[str, ...] = ()  # ids of the rulesets laid over the timeline by `--reform`
    resumptions: tuple[str, ...] = ()  # ids of the rulesets that apply again after a temporary reform
    recipe: "Recipe | None" = field(default=None, repr=False, compare=False)  # how to build it again elsewhere

    @classmethod
    def load(cls, folder: str | Path | None = None, require_sources: bool = False,
             assumptions: Assumptions = NO_ASSUMPTIONS, reform: str | Path | None = None) -> "Registry":
        """The rulesets of `folder` (the shipped agreements by default); `reform`, a ruleset file or a
        folder of them, laid over that timeline (see `from_paths`)."""
        folder = Path(folder) if folder is not None else shipped_rulesets_dir()
        if not folder.is_dir():
            raise MillesimeError(f"{folder} : ce dossier de textes de règles n'existe pas")
        paths = sorted(folder.glob(f"*{RULESET_SUFFIX}"))
        if not paths:
            raise MillesimeError(f"{folder} : aucun texte de règles (*{RULESET_SUFFIX}) dans ce dossier")
        reform_paths = reform_files(reform) if reform is not None else []
        return cls.from_paths(paths, folder, require_sources, assumptions, reform_paths)

    def with_assumptions(self, assumptions: Assumptions) -> "Registry":
        """The same rulesets evaluated under other assumptions (`--official-only`, hypothesis files):
        compiled again, once per set of assumptions (a few are kept). Wrong hypotheses are a
        RulesetError naming their place."""
        if assumptions == self.assumptions or (not assumptions.active and not self.assumptions.active):
            return self
        key = assumptions.fingerprint()
        variant = self._variants.get(key)
        if variant is None:
            entries = {}
            for ruleset_id, entry in self.entries.items():
                result = self._results[ruleset_id]
                entries[ruleset_id] = Entry(entry.model, compile_ruleset(entry.model, result.rule_types,
                                                                         result.expression_types, assumptions),
                                            entry.warnings, assumptions)
            raise_if_wrong(check_assumptions(assumptions, [e.plan.openness for e in entries.values()]))
            variant = Registry(entries, self.folder, self.diagnostics, assumptions=assumptions,
                               _results=self._results, reforms=self.reforms, resumptions=self.resumptions,
                               recipe=self.recipe)
            if len(self._variants) >= 16:  # bounded: an API client sending many hypothesis files
                self._variants.pop(next(iter(self._variants)))
            self._variants[key] = variant
        return variant

    @classmethod
    def from_paths(cls, paths, folder: Path | None = None, require_sources: bool = False,
                   assumptions: Assumptions = NO_ASSUMPTIONS, reform_paths=()) -> "Registry":
        """The rulesets of `paths`, and those of `reform_paths` laid over them: a reform's rulesets
        amend the others from their own dates and close the timeline themselves — the ruleset in
        force on the day a reform takes effect ends the day before, in this registry only (no file
        is touched); a reform without an end stops the day before a later ruleset of `paths`."""
        with gc_paused():
            return cls._from_paths(paths, folder, require_sources, assumptions, reform_paths)

    @classmethod
    def _from_paths(cls, paths, folder, require_sources, assumptions, reform_paths) -> "Registry":
        diagnostics: list[Diagnostic] = []
        files = {}
        reform_ids = []
        paths = list(paths)
        reform_paths = [p for p in reform_paths if p not in paths]
        for path in paths + reform_paths:
            try:
                parsed = parse_file(path)
            except RulesetError as exc:
                diagnostics.extend(exc.diagnostics)
                continue
            previous = files.get(parsed.header.id)
            if previous is not None:
                diagnostics.append(duplicate_id(parsed.header, previous.path))
                continue
            files[parsed.header.id] = parsed
            if path in reform_paths:
                reform_ids.append(parsed.header.id)
        try:
            models = M.build(files)
        except RulesetError as exc:
            diagnostics.extend(exc.diagnostics)
            models = {}
        resumptions: list[str] = []
        diagnostics.extend(_close_timeline(models, reform_ids, files, resumptions))
        entries: dict[str, Entry] = {}
        results = {}
        for ruleset_id, model in models.items():
            result = checks.check(model, require_sources)
            diagnostics.extend(result.diagnostics)
            if not result.errors:
                results[ruleset_id] = result
                entries[ruleset_id] = Entry(model, compile_ruleset(model, result.rule_types, result.expression_types),
                                            [d for d in result.diagnostics if d.severity == "warning"])
        diagnostics.extend(_timeline_diagnostics(models))
        if any(d.severity == "error" for d in diagnostics):
            raise RulesetError(_unique(diagnostics))
        registry = cls(entries, folder, _unique(diagnostics), _results=results, reforms=tuple(reform_ids),
                       resumptions=tuple(resumptions), recipe=Recipe.of(paths, folder, require_sources, reform_paths))
        return registry.with_assumptions(assumptions)

    # -- time
    def timeline(self) -> list[M.Ruleset]:
        return sorted((e.model for e in self.entries.values()),
                      key=lambda m: (m.effective_from or dt.date.min, m.id))

    def in_force(self, day: dt.date) -> Entry:
        entry = self._in_force_cache.get(day)
        if entry is not None:
            return entry
        if self._timeline is None:
            self._timeline = self.timeline()
        for model in self._timeline:
            if model.in_force_on(day):
                if len(self._in_force_cache) >= IN_FORCE_CACHE_SIZE:
                    self._in_force_cache.clear()  # bounded; the dates in use come back at once
                entry = self._in_force_cache[day] = self.entries[model.id]
                return entry
        raise NoRulesetError(day, coverage(self.timeline()))

    def get(self, ruleset_id: str) -> Entry:
        if ruleset_id not in self.entries:
            hint = french.suggestion(ruleset_id, self.entries)
            raise MillesimeError(f"aucun texte « {ruleset_id} »" + (f" ; {hint}" if hint else ""))
        return self.entries[ruleset_id]


def duplicate_id(header, previous_path) -> Diagnostic:
    """Two ruleset files with the same id (also said by the language server, engine/lsp/analysis.py)."""
    return Diagnostic(header.loc, f"l'identifiant de texte « {header.id} » est déjà pris par {previous_path}",
                      hint="donnez à chaque texte son propre identifiant", code="name")


def reform_files(path: str | Path) -> list[Path]:
    """The ruleset files of `--reform PATH`: the file itself, or every `*.mil` of the folder."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob(f"*{RULESET_SUFFIX}"))
        if not found:
            raise MillesimeError(f"{path} : aucun texte de règles (*{RULESET_SUFFIX}) dans ce dossier de réforme")
        return found
    if not path.is_file():
        raise MillesimeError(f"{path} : ce fichier de réforme (ou ce dossier) n'existe pas")
    return [path]


def _close_timeline(models: dict[str, M.Ruleset], reform_ids: list[str], files: dict,
                    resumptions: list[str]) -> list[Diagnostic]:
    """Lay the reform rulesets over the timeline: the ruleset in force on the day a reform takes
    effect ends the day before; a reform without an end of its own ends the day before the next
    ruleset that is not a reform (a warning: its changes do not carry over to that one). After a
    reform with an end (`until`), the ruleset it interrupted applies again (`_resume`, its id added
    to `resumptions`) — unless the ruleset that follows says a gap comes first (`after gap`)."""
    out = []
    day = dt.timedelta(days=1)
    reforms = sorted((models[r] for r in reform_ids if r in models and models[r].effective_from),
                     key=lambda m: (m.effective_from, m.id))
    spans = {m.id: (m.effective_from, m.effective_until) for m in models.values()}  # before any is cut
    for reform in reforms:
        start = reform.effective_from
        for other in models.values():
            if other is reform or not other.in_force_on(start):
                continue
            if other.effective_from is not None and other.effective_from >= start:
                continue  # starting the same day or later: the timeline checks say what is wrong
            other.header = dataclasses.replace(other.header, effective_until=start - day)
        if reform.effective_until is not None:
            continue
        later = [m for m in models.values() if m.id not in reform_ids and m.effective_from
                 and m.effective_from > start]
        if later:
            following = min(later, key=lambda m: (m.effective_from, m.id))
            reform.header = dataclasses.replace(reform.header, effective_until=following.effective_from - day)
            out.append(Diagnostic(reform.header.loc, f"« {following.id} » prend effet le "
                                  f"{french.date(following.effective_from)} : la réforme « {reform.id} » s'arrête la "
                                  "veille, et ses changements ne s'y reportent pas",
                                  severity="warning", hint=f"pour les garder ensuite, écrivez aussi la réforme sur "
                                  f"« {following.id} » (« amends {following.id} », à partir du "
                                  f"{french.date(following.effective_from)})", code="time"))
    for reform in reforms:
        if reform.effective_until is None:
            continue
        after = reform.effective_until + day
        if any(m.in_force_on(after) for m in models.values()):
            continue
        # what would have been in force that day but for the reforms: the latest to start (a reform
        # this one ends early, or the shipped ruleset the reforms interrupt)
        covering = [m for m in models.values() if m is not reform and m.id in spans and _spans(spans[m.id], after)]
        if not covering:
            continue
        base = max(covering, key=lambda m: (spans[m.id][0] or dt.date.min, m.id))
        following = min((m for m in models.values() if m.effective_from and m.effective_from > after),
                        key=lambda m: (m.effective_from, m.id), default=None)
        if following is not None and following.header.gap_reason is not None:
            continue  # the next ruleset says nothing is in force until it: as written
        last = None if following is None else following.effective_from - day  # the day before the next one
        ends = [d for d in (spans[base.id][1], last) if d is not None]
        resumed = _resume(reform, base, after, min(ends) if ends else None, files, models)
        if resumed is not None:
            models[resumed.id] = resumed
            resumptions.append(resumed.id)
            reforms.append(resumed)  # its own end, when it has one, is looked at in turn
            continue
        empty = (f"à partir du {french.date(after)}" if last is None
                 else f"du {french.date(after)} au {french.date(last)}")
        out.append(Diagnostic(reform.header.loc, f"la réforme « {reform.id} » prend fin le "
                              f"{french.date(reform.effective_until)} et « {base.id} », qu'elle interrompt, ne "
                              f"reprend pas après elle : aucun texte n'est en vigueur {empty}",
                              severity="warning", hint=f"pour que « {base.id} » s'applique de nouveau, ajoutez à la "
                              f"réforme un texte sans changement : « effective from {after.isoformat()} » et "
                              f"« amends {base.id} »", code="time"))
    return out


def _resume(reform: M.Ruleset, base: M.Ruleset, after: dt.date, until: dt.date | None, files: dict,
            models: dict):
    """The ruleset `base` again from `after`, the day after the reform that interrupted it ends:
    a ruleset of the reform that amends `base` without changing anything (what an analyst would
    write by hand), named after both so that results and explanations say which text applies; it
    `resumes` `base` (hypotheses written `in` base apply to it). None when its name is taken (the
    caller then warns that nothing is in force)."""
    ruleset_id = f"{base.id}_reprise_{after:%Y_%m_%d}"
    if ruleset_id in files or ruleset_id in models or base.id not in files:
        return None
    ended = reform.resumes or reform.id  # a resumption that ends: the ruleset it continued ends
    header = dataclasses.replace(
        files[base.id].header, id=ruleset_id, title=f"{base.header.title} (reprise après « {ended} »)",
        effective_from=after, effective_until=until, amends=base.id, amends_loc=None, gap_reason=None,
        loc=reform.header.loc, sources=[],
        description=f"« {base.id} » s'applique de nouveau à la fin de « {ended} » "
                    f"(le {french.date(reform.effective_until)}), sans changement.")
    files[ruleset_id] = ast.RulesetFile(header, [], [], files[ended].path, "")
    model = M.build_one(ruleset_id, files)
    model.resumes = base.resumes or base.id
    return model


def _spans(span: tuple, day: dt.date) -> bool:
    start, end = span
    return (start is None or start <= day) and (end is None or day <= end)


def _timeline_diagnostics(models: dict[str, M.Ruleset]) -> list[Diagnostic]:
    """The rulesets must follow one another: one in force on any day, gaps stated, bases earlier.

    - two rulesets in force on the same day make the choice ambiguous: an error;
    - days between two rulesets when no ruleset is in force: an error, unless the later one
      says so with `after gap "why"` in its header (then a stated gap that is no gap is a warning);
    - a ruleset amends one that takes effect before it: an error otherwise.
    """
    out = []
    day = dt.timedelta(days=1)
    dated = sorted((m for m in models.values() if m.effective_from),
                   key=lambda m: (m.effective_from, m.id))
    has_gap_before = set()
    for a, b in zip(dated, dated[1:]):
        if a.effective_until is None or a.effective_until >= b.effective_from:
            span = (f"du {french.date(a.effective_from)} au {french.date(a.effective_until)}" if a.effective_until
                    else f"du {french.date(a.effective_from)}, sans date de fin")
            out.append(Diagnostic(b.header.loc, f"« {b.id} » prend effet le {french.date(b.effective_from)}, alors "
                                  f"que « {a.id} » est encore en vigueur ({span})",
                                  hint=f"faites finir « {a.id} » la veille : « until {b.effective_from - day} »",
                                  code="time"))
        elif (b.effective_from - a.effective_until).days > 1:
            has_gap_before.add(b.id)
            if b.header.gap_reason is None:
                out.append(Diagnostic(b.header.loc, f"aucun texte n'est en vigueur du "
                                      f"{french.date(a.effective_until + day)} au "
                                      f"{french.date(b.effective_from - day)}, entre « {a.id} » et « {b.id} »",
                                      hint=f"si les textes laissent vraiment ce vide, dites-le dans l'en-tête de "
                                      f"« {b.id} » : « after gap \"pourquoi\" » ; sinon, faites finir « {a.id} » le "
                                      f"{french.date(b.effective_from - day)} (« until {b.effective_from - day} »)",
                                      code="time"))
    for m in dated:
        if m.header.gap_reason is not None and m.id not in has_gap_before:
            out.append(Diagnostic(m.header.loc, f"« {m.id} » dit venir après un vide, mais "
                                  + ("aucun texte ne le précède" if m is dated[0] else
                                     "il commence le lendemain de la fin du texte précédent"),
                                  severity="warning", hint="retirez « after gap … » de son en-tête", code="time"))
    for m in models.values():
        base = models.get(m.header.amends) if m.header.amends else None
        if base is None or not base.effective_from or not m.effective_from:
            continue
        if base.effective_from >= m.effective_from:
            out.append(Diagnostic(m.header.amends_loc or m.header.loc,
                                  f"« {m.id} » (à partir du {french.date(m.effective_from)}) modifie « {base.id} », "
                                  f"qui ne prend effet que le {french.date(base.effective_from)}",
                                  hint="un texte modifie un texte en vigueur avant lui : vérifiez les deux dates "
                                  "« effective from » et l'identifiant après « amends »", code="time"))
    return out


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    seen, out = set(), []
    for d in diagnostics:
        key = (str(d.loc), d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


class RulesetsChanged(MillesimeError):
    """A registry's files are no longer those it was read from."""


@dataclass(frozen=True)
class Recipe:
    """How a registry was read — its files and the digest of each one's bytes — so that another
    process builds the same one (engine/parallel.py): picklable, a few paths and digests."""
    paths: tuple[str, ...]
    folder: str | None
    require_sources: bool
    reform_paths: tuple[str, ...]
    digests: tuple[str, ...]  # of paths + reform_paths, in that order

    @classmethod
    def of(cls, paths, folder, require_sources: bool, reform_paths) -> "Recipe":
        paths, reform_paths = tuple(map(str, paths)), tuple(map(str, reform_paths))
        return cls(paths, str(folder) if folder is not None else None, require_sources, reform_paths,
                   tuple(map(_digest, paths + reform_paths)))

    def build(self) -> Registry:
        for path, digest in zip(self.paths + self.reform_paths, self.digests):
            if _digest(path) != digest:
                raise RulesetsChanged(f"{path} : ce fichier de règles a changé pendant le démarrage du calcul ; "
                                      "relancez-le")
        return Registry.from_paths([Path(p) for p in self.paths], Path(self.folder) if self.folder else None,
                                   self.require_sources, NO_ASSUMPTIONS, [Path(p) for p in self.reform_paths])


def _digest(path: str) -> str:
    """The SHA-256 of a file's bytes (of nothing, for a file that cannot be read)."""
    import hashlib
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "missing"
