"""`millesime`: evaluate, explain, list and check rulesets, run regression cases.

Exit codes: 0 success, 1 invalid input or ruleset (the message is on stderr) or a defect of Millésime
(one line says so; MILLESIME_TRACEBACK=1 lets the trace through), 2 usage error.
Everything the command prints is in French: its help, its reports and its errors. Click's own
messages about the command line itself (« No such option », « Missing argument », a value its
types refuse) go through the French catalogue of engine/cli_click.py; the help page's frame
(usage line, headings, --help) is put in French here.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import signal
import sys
from pathlib import Path

import click

from dsl.errors import Diagnostic, MillesimeError, RulesetError

from . import cli_click, french, report, testing
from .files import load_data
from .interpreter import evaluate
from .registry import Registry
from .values import EvaluationError, display

cli_click.install()

rulesets_option = click.option(
    "--rulesets", "rulesets_dir", type=click.Path(file_okay=False, path_type=Path), default=None, metavar="DOSSIER",
    help="Dossier de textes de règles à employer à la place des accords livrés.")
reform_option = click.option(
    "--reform", "reform", type=click.Path(path_type=Path), default=None, metavar="CHEMIN",
    help="Une réforme : un fichier de règles (ou un dossier de fichiers) posé sur la chronologie, qui modifie "
         "les textes en vigueur à partir de sa propre date (docs/dsl.md).")
DATE = click.DateTime(formats=["%Y-%m-%d"])
on_option = click.option(
    "--on", "on", type=DATE, default=None, metavar="AAAA-MM-JJ",
    help="Date d'effet ; aujourd'hui si elle est omise.")


# The pip extra that provides each optional library (pyproject.toml).
OPTIONAL_LIBRARIES = {"pyarrow": "batch", "polars": "batch", "numpy": "vector", "fastapi": "serve",
                      "dask": "distributed", "distributed": "distributed", "pandas": "distributed",
                      "starlette": "serve", "uvicorn": "serve", "h11": "serve", "httpx": "serve",
                      "mkdocs": "docs", "pygls": "lsp", "lsprotocol": "lsp"}


def missing_extra(library: str, extra: str) -> str:
    """The refusal of a command whose optional library is not installed: which extra installs it."""
    return (f"cette commande a besoin de {library}, qui n'est pas installé ; il fait partie de l'option "
            f"« {extra} » de Millésime : pip install 'millesime[{extra}]'")


class CliError(MillesimeError):
    """A refusal of the command line itself: printed after « erreur : »."""


class _UsageError(click.UsageError):
    """A usage error of ours (exit code 2), shown in French: the usage line, then « erreur : »."""

    def show(self, file=None) -> None:
        if self.ctx is not None:
            click.echo(f"{self.ctx.get_usage()}\nEssayez « {self.ctx.command_path} --help » pour l'aide.\n",
                       file=file, err=file is None)
        click.echo(f"erreur : {self.format_message()}", file=file, err=file is None)


class _Formatter(click.HelpFormatter):
    """Click's help page, framed in French (the texts themselves are the commands' own). The space
    before « : ; ? ! » and inside « » is a no-break space there, so that wrapping never starts a
    line with them."""
    HEADINGS = {"Commands": "Commandes", "Positional arguments": "Arguments", "Options": "Options"}
    _NO_BREAK = re.compile(r" (?=[:;?!»])|(?<=«) ")

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "Utilisation : " if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{self.HEADINGS.get(heading, heading)} :\n")

    def write_text(self, text: str) -> None:
        super().write_text(self._NO_BREAK.sub("\u00a0", text))

    def write_dl(self, rows, *args, **kwargs) -> None:
        rows = [(term, self._NO_BREAK.sub("\u00a0", re.sub(r"\brequired\]", "obligatoire]", text)))
                for term, text in rows]
        super().write_dl(rows, *args, **kwargs)


class _Context(click.Context):
    formatter_class = _Formatter


class _French:
    """A command whose help page is framed in French, --help included."""
    context_class = _Context

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = "Afficher cette aide et quitter."
        return option


class _Command(_French, click.Command):
    pass


def assumption_options(fn):
    """`--official-only` and `--assume FILE` (repeatable): what the run assumes beyond the rulesets."""
    fn = click.option("--assume", "assume", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                      metavar="FICHIER",
                      help="Fichier d'hypothèses : retient une lecture ou fixe une valeur inconnue, avec sa "
                           "justification (répétable ; voir docs/dsl.md).")(fn)
    return click.option("--official-only", is_flag=True,
                        help="Tenir pour inconnu tout chiffre qui repose sur une source secondaire.")(fn)


def jobs_option(fn):
    """`--jobs N`: worker processes for the chunks of a file (engine/parallel.py)."""
    return click.option("--jobs", "jobs", type=click.IntRange(1, 64), default=None, metavar="N",
                        help="Processus de calcul des paquets du fichier (mêmes résultats, même ordre) ; par "
                             "défaut : un par cœur pour un fichier de 8 Mio ou plus, sinon 1.")(fn)


def _registry(rulesets_dir, official_only: bool = False, assume=(), reform: Path | None = None) -> Registry:
    from .unknowns import load_assumptions
    for path in assume:
        if not path.is_file():
            raise CliError(f"{path} : ce fichier d'hypothèses n'existe pas")
    _check_reform_path(reform)
    assumptions = load_assumptions(assume, official_only)
    return Registry.load(rulesets_dir, reform=reform).with_assumptions(assumptions)


def _check_reform_path(reform: Path | None) -> None:
    if reform is not None and not reform.exists():
        raise CliError(f"{reform} : ce fichier de réforme (ou ce dossier) n'existe pas")


class _Group(_French, click.Group):
    """Turns every MillesimeError into a clean message and exit code 1, printed once, and a missing
    optional library into one line naming the extra that installs it."""
    command_class = _Command

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("subcommand_metavar", "COMMANDE [ARGUMENTS]...")
        super().__init__(*args, **kwargs)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (RulesetError, EvaluationError) as exc:  # these say `file:line:col: erreur :` themselves
            click.echo(exc.render(), err=True)
            ctx.exit(1)
        except MillesimeError as exc:
            click.echo(f"erreur : {exc.render()}", err=True)
            ctx.exit(1)
        except ModuleNotFoundError as exc:
            library = (exc.name or "").partition(".")[0]
            extra = OPTIONAL_LIBRARIES.get(library)
            if extra is None:
                _internal(ctx, exc)
            click.echo(f"erreur : {missing_extra(library, extra)}", err=True)
            ctx.exit(1)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 — a defect of Millésime, not of what it was given
            _internal(ctx, exc)


def _internal(ctx, exc: BaseException):
    """A defect of Millésime itself: one French line that says so (exit code 1), not a trace —
    unless MILLESIME_TRACEBACK is set, for whoever reports or fixes it."""
    import os
    if os.environ.get("MILLESIME_TRACEBACK"):
        raise exc
    click.echo(f"erreur interne de Millésime ({type(exc).__name__} : {exc}) ; ce n'est pas ce que la commande a "
               "reçu qui est en cause : relancez-la avec MILLESIME_TRACEBACK=1 pour le détail, et signalez-le",
               err=True)
    ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="millesime", message="%(prog)s, version %(version)s",
                      help="Afficher la version et quitter.")
def main():
    """Millésime — les règles datées de l'aide à l'emploi d'un assistant médical, en code."""


def _day(on) -> dt.date:
    return on.date() if on is not None else dt.date.today()


def _case(path: Path) -> dict:
    data = load_data(path)
    if data is None:
        raise CliError(f"{path} : ce fichier est vide ; un cas est un objet de champs (physician:, contract:)")
    if not isinstance(data, dict):
        raise CliError(f"{path} : un cas est un objet de champs (physician:, contract:), pas {french.kind(data)}")
    return data


output_option = click.option("--output", "outputs", multiple=True, metavar="NOM",
                             help="Ne calculer que ce résultat (répétable).")


@main.command("eval", short_help="Évaluer un cas à une date.")
@click.argument("case_file", type=click.Path(dir_okay=False, path_type=Path), metavar="CAS")
@on_option
@click.option("--json", "as_json", is_flag=True, help="Écrire un objet JSON (avec l'explication si --explain).")
@click.option("--explain", "with_tree", is_flag=True,
              help="Avec --json : inclure l'arbre d'explication de chaque résultat (volumineux).")
@click.option("--ids", is_flag=True, help="Montrer les identifiants et les codes au lieu des libellés français.")
@output_option
@assumption_options
@reform_option
@rulesets_option
def eval_command(case_file, on, as_json, with_tree, ids, outputs, official_only, assume, reform, rulesets_dir):
    """Évaluer le cas CAS (fichier YAML ou JSON) à une date."""
    case = _case(case_file)
    registry = _registry(rulesets_dir, official_only, assume, reform)
    if as_json:
        result = evaluate(case, _day(on), registry, list(outputs) or None)  # reliance needs the tree
        click.echo(json.dumps(result.to_json(with_explanation=with_tree), ensure_ascii=False, indent=2))
        return
    result = evaluate(case, _day(on), registry, list(outputs) or None)
    titles = {m.id: m.header.title for m in registry.timeline()}
    click.echo("\n".join(report.results(result, ids=ids, titles=titles)))


@main.command("explain", short_help="Expliquer les résultats d'un cas, sources à l'appui.")
@click.argument("case_file", type=click.Path(dir_okay=False, path_type=Path), metavar="CAS")
@click.argument("outputs", nargs=-1, metavar="[RÉSULTAT]...")
@on_option
@click.option("--depth", type=click.IntRange(0), default=None, metavar="N",
              help="N'afficher que N niveaux de calcul sous chaque résultat.")
@click.option("--short", is_flag=True, help="Les chiffres et les sources seulement : ni formules, ni notes, "
                                            "ni citations.")
@click.option("--ids", is_flag=True, help="Avec --short : montrer aussi les identifiants.")
@assumption_options
@reform_option
@rulesets_option
def explain_command(case_file, outputs, on, depth, short, ids, official_only, assume, reform, rulesets_dir):
    """Montrer pourquoi chaque résultat du cas CAS (tous, ou ceux nommés) a sa valeur, avec ses sources
    juridiques."""
    case = _case(case_file)
    registry = _registry(rulesets_dir, official_only, assume, reform)
    result = evaluate(case, _day(on), registry, list(outputs) or None)
    click.echo(report.heading(result))
    refs, labels = result.references(), result.labels()
    for node in result.explanation.values():
        click.echo()
        click.echo("\n".join(report.tree(node, refs, labels, depth=depth, short=short, ids=ids or not short)))
        _echo_side_by_side(case, _day(on), registry, node.name, result)


def _echo_side_by_side(case, on, registry, name, result):
    """What an output gives under each reading that decides it (engine/worlds.py)."""
    from .worlds import side_by_side
    sides = side_by_side(case, on, registry, name, result.values[name])
    if sides is None:
        return
    click.echo()
    if sides.refused:
        click.echo(f"Lectures côte à côte : {sides.refused}.")
        return
    click.echo("Selon chaque lecture (les autres inconnues restant ouvertes) :")
    labels = result.labels()
    for side in sides.sides:
        which = " ; ".join(f"{decl} : « {reading} »" for decl, reading in side.readings)
        click.echo(f"  - {which} → {display(side.value, result.types.get(name), labels)}")


@main.command("rulesets", short_help="La chronologie des textes de règles.")
@click.option("--json", "as_json", is_flag=True, help="Écrire la chronologie en JSON.")
@reform_option
@rulesets_option
def rulesets_command(as_json, reform, rulesets_dir):
    """La chronologie : chaque texte de règles, ses dates et ce qu'il modifie."""
    _check_reform_path(reform)
    registry = Registry.load(rulesets_dir, reform=reform)
    rows = [{"id": m.id, "title": m.header.title, "effective_from": _iso(m.effective_from),
             "effective_until": _iso(m.effective_until), "amends": m.header.amends,
             "fingerprint": m.fingerprint} for m in registry.timeline()]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        amends = f"  (modifie {row['amends']})" if row["amends"] else ""
        click.echo(f"{row['effective_from']} → {row['effective_until'] or '…':<10}  {row['id']:<28} "
                   f"{row['title']}{amends}")


def _iso(day):
    return day.isoformat() if day else None


@main.command("check", short_help="Vérifier des textes de règles.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[CHEMIN]...")
@click.option("--json", "as_json", is_flag=True, help="Les diagnostics en JSON, pour les éditeurs.")
@click.option("--strict-sources/--lenient-sources", default=True,
              help="Une règle, un barème ou un paramètre sans source juridique est une erreur (par défaut) ou "
                   "un avertissement.")
@reform_option
def check_command(paths, as_json, strict_sources, reform):
    """Vérifier des textes de règles (fichiers ou dossiers ; par défaut, ceux livrés), avec --reform posé
    par-dessus."""
    from .registry import reform_files
    files = _ruleset_files(paths)  # a file named twice (alone and in its folder) is one ruleset
    _check_reform_path(reform)
    reforms = reform_files(reform) if reform is not None else []
    try:
        registry = Registry.from_paths(files, require_sources=strict_sources, reform_paths=reforms)
        # a ruleset the registry added after a temporary reform: said, not hidden — at the reform's header
        diagnostics = registry.diagnostics + [_resumption(registry.get(r).model) for r in registry.resumptions]
    except RulesetError as exc:
        diagnostics = exc.diagnostics
    # Stable order for editors and CI logs: by place, then message (schema: docs/check.md).
    diagnostics = sorted(diagnostics, key=lambda d: (d.loc.file, d.loc.line, d.loc.column, d.message))
    errors = [d for d in diagnostics if d.severity == "error"]
    warnings = [d for d in diagnostics if d.severity == "warning"]
    if as_json:
        click.echo(json.dumps([d.as_json() for d in diagnostics], ensure_ascii=False, indent=2))
    else:
        for d in diagnostics:
            click.echo(d.render(), err=True)
        click.echo(f"{len(files) + len(reforms)} fichier(s) de règles vérifié(s) : {len(errors)} erreur(s), "
                   f"{len(warnings)} avertissement(s)", err=True)
    sys.exit(1 if errors else 0)


def _resumption(model) -> Diagnostic:
    return Diagnostic(model.header.loc, f"« {model.resumes} » s'applique de nouveau à partir du "
                      f"{french.date(model.effective_from)} (texte ajouté : « {model.id} »)", severity="info", code="time")


def _ruleset_files(paths) -> list[Path]:
    """The `.mil` files named, or found in the folders named (the shipped rulesets by default)."""
    from .registry import RULESET_SUFFIX, shipped_rulesets_dir
    files: list[Path] = []
    for p in paths or [shipped_rulesets_dir()]:
        files.extend(sorted(p.glob(f"*{RULESET_SUFFIX}")) if p.is_dir() else [p])
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise CliError(", ".join(missing) + (" : ces fichiers de règles n'existent pas" if len(missing) > 1 else
                                             " : ce fichier de règles n'existe pas"))
    return list(dict.fromkeys(files))


@main.command("fmt", short_help="Remettre des fichiers de règles en forme canonique.")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path), metavar="[CHEMIN]...")
@click.option("--check", is_flag=True, help="Ne rien écrire ; code de sortie 1 si un fichier n'est pas en "
                                            "forme canonique.")
def fmt_command(paths, check):
    """Remettre des fichiers de règles en forme canonique (fichiers ou dossiers ; par défaut, ceux livrés)."""
    from dsl.format import FormatError, format_text
    files = _ruleset_files(paths)
    changed, broken = [], 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            click.echo(f"{path}:1:1: erreur : le fichier n'est pas du texte UTF-8 (octet {exc.object[exc.start]:#04x} "
                       f"à la position {exc.start})", err=True)
            broken += 1
            continue
        try:
            formatted = format_text(text, str(path))
        except RulesetError as exc:
            click.echo(exc.render(), err=True)
            broken += 1
            continue
        except FormatError as exc:
            raise MillesimeError(str(exc)) from None
        if formatted != text:
            changed.append(path)
            if check:
                click.echo(f"à remettre en forme : {path}", err=True)
            else:
                path.write_text(formatted, encoding="utf-8", newline="\n")
                click.echo(f"remis en forme : {path}", err=True)
    verb = "à remettre en forme" if check else "remis en forme"
    click.echo(f"{len(files)} fichier(s) de règles : {len(changed)} {verb}"
               + (f", {broken} illisible(s)" if broken else ""), err=True)
    if check and changed:
        click.echo("lancez `millesime fmt` pour les remettre en forme", err=True)
    sys.exit(1 if broken or (check and changed) else 0)


@main.command("test", short_help="Lancer les cas de non-régression.")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path), metavar="[CHEMIN]...")
@click.option("--coverage", is_flag=True,
              help="Dire aussi quelles règles, exceptions, exigences, dérogations, cases de barème et lectures "
                   "les cas exercent, et ce qu'aucun n'atteint.")
@click.option("--json", "as_json", is_flag=True, help="Avec --coverage : la couverture en JSON sur la sortie "
                                                      "standard.")
@rulesets_option
def test_command(paths, coverage, as_json, rulesets_dir):
    """Lancer les cas de non-régression (fichiers YAML ou dossiers ; par défaut, tests/agreements)."""
    if as_json and not coverage:
        raise _UsageError("--json ne s'emploie qu'avec --coverage")
    registry = Registry.load(rulesets_dir)
    files = testing.collect(list(paths) or [Path("tests/agreements")])
    if not files:
        raise CliError("aucun fichier de cas de non-régression trouvé")
    passed = failed = 0
    for f in files:
        for case in testing.load_cases(f):
            outcome = testing.run_case(case, registry)
            if outcome.passed:
                passed += 1
            else:
                failed += 1
                click.echo(f"ÉCHEC {case.id}", err=True)
                for line in outcome.failures:
                    click.echo(f"     {line}", err=True)
    click.echo(f"{passed} cas réussi(s), {failed} en échec", err=as_json)
    if coverage:
        from . import coverage as C
        measured = C.measure(registry, list(paths) or [Path("tests/agreements")])
        if as_json:
            click.echo(json.dumps(measured.as_json(), ensure_ascii=False, indent=2))
        else:
            click.echo()
            for line in C.summary(measured):
                click.echo(line)
    sys.exit(1 if failed else 0)


@main.command("docs", short_help="Produire les pages du site de relecture juridique.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("docs"),
              metavar="DOSSIER", help="Le dossier docs de mkdocs où écrire les pages (par défaut : docs).")
@click.option("--cases", "cases_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("tests/agreements"), metavar="DOSSIER",
              help="Dossier des cas de non-régression, un sous-dossier par identifiant de texte (par défaut : "
                   "tests/agreements).")
@click.option("--check", is_flag=True, help="Ne rien écrire ; code de sortie 1 si les pages de --out ne sont pas "
                                            "à jour.")
@rulesets_option
def docs_command(out_dir, cases_dir, check, rulesets_dir):
    """Produire les pages du site de relecture juridique (Markdown pour mkdocs) à partir des textes de règles."""
    from . import docs
    pages = docs.generate(rulesets_dir, cases_dir)
    if check:
        stale = docs.stale(pages, out_dir)
        for rel in stale:
            click.echo(f"pas à jour : {out_dir / rel}", err=True)
        if stale:
            click.echo("lancez `millesime docs` (ou `make docs`), puis enregistrez les pages dans git", err=True)
        sys.exit(1 if stale else 0)
    written = docs.write(pages, out_dir)
    click.echo(f"{len(written)} page(s) produite(s) dans {out_dir}")


@main.command("serve", short_help="Servir l'API HTTP et la page du simulateur.")
@click.option("--host", default="127.0.0.1", metavar="ADRESSE", help="Adresse d'écoute (par défaut : 127.0.0.1).")
@click.option("--port", default=8000, type=click.IntRange(0, 65535), metavar="PORT",
              help="Port d'écoute (0 : n'importe quel port libre ; par défaut : 8000).")
@click.option("--workers", default=1, type=click.IntRange(1, 64), metavar="N",
              help="Processus serveurs qui se partagent le port (par défaut : 1).")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NOM",
              help="Un nom d'hôte (en-tête Host) auquel le serveur répond en plus de ceux de localhost (répétable ; "
                   "'*' : n'importe lequel, seulement derrière un mandataire qui le vérifie).")
@click.option("--max-connections", default=100, type=click.IntRange(1, 100_000), metavar="N",
              help="Connexions ouvertes par processus au-delà desquelles les requêtes reçoivent une 503 (par "
                   "défaut : 100).")
@click.option("--timeout", "request_timeout", default=10.0, type=click.FloatRange(0.1, 3600), metavar="SECONDES",
              help="Secondes dont dispose un client pour envoyer une requête entière, en-tête et corps (par "
                   "défaut : 10).")
@rulesets_option
def serve_command(host, port, workers, allowed_hosts, max_connections, request_timeout, rulesets_dir):
    """Servir l'API HTTP et la page du simulateur (option `serve` requise). Voir docs/serveur.md."""
    from . import serving  # needs uvicorn and fastapi: a missing extra is reported by _Group
    registry = Registry.load(rulesets_dir)
    limits, note = serving.fit_to_descriptors(serving.Limits(max_connections, request_timeout))
    try:
        sock = serving.bind(host, port, limits.backlog)
    except serving.ServeError as exc:
        raise CliError(str(exc)) from None
    shown = f"[{host}]" if ":" in host else host
    actual = sock.getsockname()[1]
    if note:
        click.echo(f"attention : {note}", err=True)
    click.echo(f"simulateur : http://{shown}:{actual}/   API : http://{shown}:{actual}/openapi.json"
               + (f"   ({workers} processus)" if workers > 1 else ""), err=True)
    factory = serving.AppFactory(rulesets_dir, allowed_hosts, registry if workers == 1 else None)
    with sock:
        started = serving.run(sock, serving.config(factory, limits, workers))
    if not started:
        raise CliError("le serveur n'a pas pu démarrer (voir le message ci-dessus)")


@main.command("lsp", short_help="Serveur de langage pour les éditeurs.")
def lsp_command():
    """Serveur de langage pour les fichiers .mil, sur l'entrée et la sortie standard (option `lsp` requise ;
    voir docs/editeur.md)."""
    try:
        from .lsp.server import serve
    except ImportError as exc:
        raise CliError(missing_extra(exc.name or "pygls", "lsp")) from None
    serve()


@main.command("batch", short_help="Évaluer chaque ligne d'un fichier de cas.")
@click.argument("input_file", type=click.Path(dir_okay=False, path_type=Path), metavar="ENTRÉE")
@click.option("--on", "on", type=DATE, required=True, metavar="AAAA-MM-JJ", help="Date d'effet de tous les cas.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FICHIER",
              help="Fichier de résultats (.csv, .jsonl ou .parquet) ; ENTRÉE.results.<ext> s'il est omis. Les "
                   "lignes en erreur vont dans <FICHIER>.errors.csv.")
@output_option
@click.option("--progress/--no-progress", default=None,
              help="Barre de progression (par défaut : quand la sortie d'erreur est un terminal).")
@click.option("--engine", type=click.Choice(["auto", "vector", "row"]), default="auto",
              help="vector : des colonnes entières à la fois (numpy), les lignes qu'il ne reproduit pas étant "
                   "confiées au moteur ligne à ligne ; row : un cas après l'autre ; auto (par défaut) : vector "
                   "quand chaque résultat est une valeur simple. Mêmes résultats.")
@jobs_option
@assumption_options
@reform_option
@rulesets_option
def batch_command(input_file, on, out, outputs, progress, engine, jobs, official_only, assume, reform, rulesets_dir):
    """Évaluer chaque cas (un par ligne) du fichier ENTRÉE (.csv, .jsonl ou .parquet) à une date.

    Les colonnes sont le schéma du cas mis à plat : `sector`, `patients_mt`, …, `contract_signed_on`,
    `contract_option`, … ; `contract_observed` en texte JSON. Voir docs/batch.md."""
    from . import batch
    registry = _registry(rulesets_dir, official_only, assume, reform)
    try:
        summary = batch.run_file(input_file, on.date(), out, registry, list(outputs) or None, progress,
                                   engine, jobs)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM / SIGHUP (batch.Terminated)
        signum = getattr(exc, "signum", 2)
        click.echo(f"interrompu ({signal.Signals(signum).name}) : aucun fichier de résultats écrit", err=True)
        sys.exit(128 + signum)
    rate = round(summary.rows / summary.seconds) if summary.seconds else 0
    click.echo(f"{summary.rows} ligne(s) : {summary.computed} calculée(s), {summary.failed} en erreur "
               f"({french.number(rate)} lignes/s) → {summary.out}", err=True)
    if summary.failed:
        click.echo(f"erreurs (ligne, champ, motif) : {summary.errors_file}", err=True)
    sys.exit(1 if summary.failed else 0)


@main.command("compare", short_help="Chiffrer une réforme sur une population.")
@click.argument("population", type=click.Path(dir_okay=False, path_type=Path), metavar="POPULATION")
@click.option("--reform", "reform", type=click.Path(path_type=Path), required=True, metavar="CHEMIN",
              help="La réforme : un fichier de règles (ou un dossier) posé sur la chronologie de la référence.")
@click.option("--baseline", "baseline", type=click.Path(path_type=Path), default=None, metavar="CHEMIN",
              help="Une autre réforme comme référence (posée sur la chronologie livrée) ; par défaut, les textes "
                   "livrés.")
@click.option("--on", "on", type=DATE, default=None, metavar="AAAA-MM-JJ",
              help="Comparer à cette date : les versements alors prévus, par année civile.")
@click.option("--years", "years", default=None, metavar="PREMIÈRE..DERNIÈRE",
              help="Comparer les versements de ces années civiles (par exemple 2025..2030).")
@click.option("--weight", "weight", default=None, metavar="COLONNE", help="Pondérer chaque ligne par cette colonne.")
@click.option("--by", "by", default=None, metavar="COLONNES",
              help="Totaux par groupe de ces colonnes (séparées par des virgules).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True, metavar="DOSSIER",
              help="Dossier où écrire rows.parquet, summary.json et report.html.")
@click.option("--engine", type=click.Choice(["auto", "vector", "row"]), default="auto",
              help="Le moteur de calcul, comme pour `millesime batch` (par défaut : auto).")
@jobs_option
@assumption_options
@rulesets_option
def compare_command(population, reform, baseline, on, years, weight, by, out, engine, jobs, official_only, assume,
                    rulesets_dir):
    """Chiffrer une réforme sur une population (.csv, .jsonl ou .parquet) : la référence et la réforme sur les
    mêmes lignes.

    Écrit DOSSIER/rows.parquet (chaque ligne, ses deux valeurs et leur écart), DOSSIER/summary.json (totaux
    par année, gagnants et perdants, groupes) et DOSSIER/report.html (une page en français, avec graphiques).
    Voir docs/batch.md."""
    from . import compare_files
    if (on is None) == (years is None):
        raise CliError("donner soit --on DATE, soit --years PREMIÈRE..DERNIÈRE (l'un des deux, pas les deux)")
    if not population.is_file():
        raise CliError(f"{population} : cette population n'existe pas")
    base = _registry(rulesets_dir, official_only, assume, baseline)
    changed = _registry(rulesets_dir, official_only, assume, reform)
    groups = [c.strip() for c in by.split(",") if c.strip()] if by else []
    try:
        summary = compare_files.run(population, base, changed, on.date() if on else None, years, weight, groups,
                                    out, engine, jobs)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM / SIGHUP: the temporaries are already removed
        signum = getattr(exc, "signum", 2)
        click.echo(f"interrompu ({signal.Signals(signum).name}) : aucun fichier écrit", err=True)
        sys.exit(128 + signum)
    from .report_html import euros
    click.echo(f"{summary['rows']} ligne(s) comparée(s), {summary['errors']} en erreur ; écart total : "
               f"{euros(summary['total']['difference'])} ; {summary['winners']} gagnant(s), {summary['losers']} "
               f"perdant(s) → {out}", err=True)
    sys.exit(1 if summary["errors"] else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
