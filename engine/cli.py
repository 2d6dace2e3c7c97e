"""`millesime`: evaluate, explain, list and check rulesets, run regression cases.

Exit codes: 0 success, 1 invalid input or ruleset (the message is on stderr), 2 usage error.
"""
from __future__ import annotations

import datetime as dt
import json
import signal
import sys
from pathlib import Path

import click

from dsl.errors import MillesimeError, RulesetError

from . import report, testing
from .files import load_data
from .interpreter import evaluate
from .registry import Registry
from .values import EvaluationError, display

rulesets_option = click.option(
    "--rulesets", "rulesets_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Folder of rulesets to use instead of the shipped agreements.")
reform_option = click.option(
    "--reform", "reform", type=click.Path(path_type=Path), default=None,
    help="A reform: a ruleset file (or folder of them) laid over the timeline, amending the rulesets in "
         "force from its own date (docs/dsl.md).")
on_option = click.option(
    "--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
    help="Effective date (YYYY-MM-DD); today when left out.")


# The pip extra that provides each optional library (pyproject.toml).
OPTIONAL_LIBRARIES = {"pyarrow": "batch", "polars": "batch", "numpy": "vector", "fastapi": "serve",
                      "dask": "distributed", "distributed": "distributed", "pandas": "distributed",
                      "starlette": "serve", "uvicorn": "serve", "h11": "serve", "httpx": "serve",
                      "mkdocs": "docs"}


class CliError(MillesimeError):
    """A refusal of the command line itself, written in French: printed after « erreur : »."""


def assumption_options(fn):
    """`--official-only` and `--assume FILE` (repeatable): what the run assumes beyond the rulesets."""
    fn = click.option("--assume", "assume", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                      help="Hypothesis file: picks a reading or fixes an unknown value, with its "
                           "justification (repeatable; see docs/dsl.md).")(fn)
    return click.option("--official-only", is_flag=True,
                        help="Treat every figure resting on a secondary source as unknown.")(fn)


def jobs_option(fn):
    """`--jobs N`: worker processes for the chunks of a file (engine/parallel.py)."""
    return click.option("--jobs", "jobs", type=click.IntRange(1, 64), default=None,
                        help="Worker processes evaluating the file's chunks (same results, same order); "
                             "default: one per core for a file of 8 MiB or more, else 1.")(fn)


def _registry(rulesets_dir, official_only: bool = False, assume=(), reform: Path | None = None) -> Registry:
    from .unknowns import load_assumptions
    for path in assume:
        if not path.is_file():
            raise CliError(f"{path} : ce fichier d’hypothèses n’existe pas")
    _check_reform_path(reform)
    assumptions = load_assumptions(assume, official_only)
    return Registry.load(rulesets_dir, reform=reform).with_assumptions(assumptions)


def _check_reform_path(reform: Path | None) -> None:
    if reform is not None and not reform.exists():
        raise CliError(f"{reform} : ce fichier de réforme (ou ce dossier) n’existe pas")


class _Group(click.Group):
    """Turns every MillesimeError into a clean message and exit code 1, printed once, and a missing
    optional library into one line naming the extra that installs it."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (RulesetError, EvaluationError) as exc:  # these say `file:line:col: error:` themselves
            click.echo(exc.render(), err=True)
            ctx.exit(1)
        except CliError as exc:
            click.echo(f"erreur : {exc}", err=True)
            ctx.exit(1)
        except MillesimeError as exc:  # a refusal written in French (`french`) says « erreur : »
            click.echo(f"erreur : {exc}" if getattr(exc, "french", False) else f"error: {exc.render()}", err=True)
            ctx.exit(1)
        except ModuleNotFoundError as exc:
            library = (exc.name or "").partition(".")[0]
            extra = OPTIONAL_LIBRARIES.get(library)
            if extra is None:
                raise
            click.echo(f"erreur : cette commande a besoin de {library}, qui n'est pas installé ; il fait partie "
                       f"de l'option « {extra} » de Millésime : pip install 'millesime[{extra}]'", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="millesime")
def main():
    """Millésime — dated rules-as-code for the medical-assistant employment aid."""


def _day(on) -> dt.date:
    return on.date() if on is not None else dt.date.today()


def _case(path: Path) -> dict:
    data = load_data(path)
    if not isinstance(data, dict):
        raise MillesimeError(f"{path}: a case is a mapping (physician:, contract:), not {type(data).__name__}")
    return data


@main.command("eval")
@click.argument("case_file", type=click.Path(dir_okay=False, path_type=Path))
@on_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the explanation with --explain).")
@click.option("--explain", "with_tree", is_flag=True,
              help="With --json: include the explanation tree of every output (large).")
@click.option("--ids", is_flag=True, help="Show identifiers and codes instead of French labels.")
@click.option("--output", "outputs", multiple=True, help="Compute only this output (repeatable).")
@assumption_options
@reform_option
@rulesets_option
def eval_command(case_file, on, as_json, with_tree, ids, outputs, official_only, assume, reform, rulesets_dir):
    """Evaluate CASE_FILE (YAML or JSON) on a date."""
    case = _case(case_file)
    registry = _registry(rulesets_dir, official_only, assume, reform)
    if as_json:
        result = evaluate(case, _day(on), registry, list(outputs) or None)  # reliance needs the tree
        click.echo(json.dumps(result.to_json(with_explanation=with_tree), ensure_ascii=False, indent=2))
        return
    result = evaluate(case, _day(on), registry, list(outputs) or None)
    titles = {m.id: m.header.title for m in registry.timeline()}
    click.echo("\n".join(report.results(result, ids=ids, titles=titles)))


@main.command("explain")
@click.argument("case_file", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("outputs", nargs=-1)
@on_option
@click.option("--depth", type=click.IntRange(0), default=None,
              help="Show only this many levels of calculation under each output.")
@click.option("--short", is_flag=True, help="Figures and sources only: no formulas, notes or quotations.")
@click.option("--ids", is_flag=True, help="With --short: also show the identifiers.")
@assumption_options
@reform_option
@rulesets_option
def explain_command(case_file, outputs, on, depth, short, ids, official_only, assume, reform, rulesets_dir):
    """Show why each output of CASE_FILE has its value, with legal sources."""
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


@main.command("rulesets")
@click.option("--json", "as_json", is_flag=True)
@reform_option
@rulesets_option
def rulesets_command(as_json, reform, rulesets_dir):
    """The timeline: every ruleset, its dates and what it amends."""
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


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Diagnostics as JSON, for editors.")
@click.option("--strict-sources/--lenient-sources", default=True,
              help="A rule, table or parameter without a legal source is an error (default) or a warning.")
@reform_option
def check_command(paths, as_json, strict_sources, reform):
    """Check rulesets (files or folders; the shipped ones by default), with --reform laid over them."""
    from .registry import reform_files
    files = _ruleset_files(paths)  # a file named twice (alone and in its folder) is one ruleset
    _check_reform_path(reform)
    reforms = reform_files(reform) if reform is not None else []
    try:
        diagnostics = Registry.from_paths(files, require_sources=strict_sources, reform_paths=reforms).diagnostics
    except RulesetError as exc:
        diagnostics = exc.diagnostics
    # Stable order for editors and CI logs: by place, then message (schema: docs/check.md).
    diagnostics = sorted(diagnostics, key=lambda d: (d.loc.file, d.loc.line, d.loc.column, d.message))
    errors = [d for d in diagnostics if d.severity == "error"]
    if as_json:
        click.echo(json.dumps([d.as_json() for d in diagnostics], ensure_ascii=False, indent=2))
    else:
        for d in diagnostics:
            click.echo(d.render(), err=True)
        click.echo(f"{len(files) + len(reforms)} ruleset file(s) checked: {len(errors)} error(s), "
                   f"{len(diagnostics) - len(errors)} warning(s)", err=True)
    sys.exit(1 if errors else 0)


def _ruleset_files(paths) -> list[Path]:
    """The `.mil` files named, or found in the folders named (the shipped rulesets by default)."""
    from .registry import RULESET_SUFFIX, shipped_rulesets_dir
    files: list[Path] = []
    for p in paths or [shipped_rulesets_dir()]:
        files.extend(sorted(p.glob(f"*{RULESET_SUFFIX}")) if p.is_dir() else [p])
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise MillesimeError(", ".join(missing) + ": no such ruleset file")
    return list(dict.fromkeys(files))


@main.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a file is not laid out canonically.")
def fmt_command(paths, check):
    """Lay out ruleset files canonically (files or folders; the shipped rulesets by default)."""
    from dsl.format import FormatError, format_text
    files = _ruleset_files(paths)
    changed, broken = [], 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            click.echo(f"{path}:1:1: error: the file is not valid UTF-8 ({exc.reason} at byte {exc.start})", err=True)
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


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--coverage", is_flag=True,
              help="Also say which rules, exceptions, requirements, waivers, table cells and readings "
                   "the cases exercise, and what none reaches.")
@click.option("--json", "as_json", is_flag=True, help="With --coverage: the coverage as JSON on stdout.")
@rulesets_option
def test_command(paths, coverage, as_json, rulesets_dir):
    """Run regression cases (YAML files or folders; tests/agreements by default)."""
    if as_json and not coverage:
        raise click.UsageError("--json goes with --coverage")
    registry = Registry.load(rulesets_dir)
    files = testing.collect(list(paths) or [Path("tests/agreements")])
    if not files:
        raise MillesimeError("no regression file found")
    passed = failed = 0
    for f in files:
        for case in testing.load_cases(f):
            outcome = testing.run_case(case, registry)
            if outcome.passed:
                passed += 1
            else:
                failed += 1
                click.echo(f"FAIL {case.id}", err=True)
                for line in outcome.failures:
                    click.echo(f"     {line}", err=True)
    click.echo(f"{passed} passed, {failed} failed", err=as_json)
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


@main.command("docs")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("docs"),
              show_default=True, help="The mkdocs docs folder to write the pages into.")
@click.option("--cases", "cases_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("tests/agreements"), show_default=True,
              help="Folder of regression cases, one sub-folder per ruleset id.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the pages in --out are not up to date.")
@rulesets_option
def docs_command(out_dir, cases_dir, check, rulesets_dir):
    """Generate the legal-review site's pages (Markdown for mkdocs) from the rulesets."""
    from . import docs
    pages = docs.generate(rulesets_dir, cases_dir)
    if check:
        stale = docs.stale(pages, out_dir)
        for rel in stale:
            click.echo(f"stale: {out_dir / rel}", err=True)
        if stale:
            click.echo("run `millesime docs` (or `make docs`) and commit the pages", err=True)
        sys.exit(1 if stale else 0)
    written = docs.write(pages, out_dir)
    click.echo(f"{len(written)} page(s) generated in {out_dir}")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes sharing the port.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="A Host name the server answers besides localhost's (repeatable; '*': any, only behind "
                   "a proxy that checks it).")
@click.option("--max-connections", default=100, show_default=True, type=click.IntRange(1, 100_000),
              help="Open connections per process beyond which requests get a 503.")
@click.option("--timeout", "request_timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds a client has to send a whole request (head and body).")
@rulesets_option
def serve_command(host, port, workers, allowed_hosts, max_connections, request_timeout, rulesets_dir):
    """Serve the HTTP API and the simulator page (needs the `serve` extra). See docs/serveur.md."""
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


@main.command("lsp")
def lsp_command():
    """Language server for .mil files, on stdin/stdout (needs the `lsp` extra; see docs/editeur.md)."""
    try:
        from .lsp.server import serve
    except ImportError as exc:
        raise MillesimeError(f"`millesime lsp` needs {exc.name}: pip install 'millesime[lsp]'") from None
    serve()


@main.command("batch")
@click.argument("input_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), required=True,
              help="Effective date (YYYY-MM-DD) of every case.")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Result file (.csv, .jsonl or .parquet); INPUT.results.<ext> when left out. "
                   "Bad rows go to <out>.errors.csv.")
@click.option("--output", "outputs", multiple=True, help="Compute only this output (repeatable).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("--engine", type=click.Choice(["auto", "vector", "row"]), default="auto", show_default=True,
              help="vector: whole columns at once (numpy), rows it does not reproduce handed to the row engine; "
                   "row: one case at a time; auto: vector when every output is a scalar. Same results.")
@jobs_option
@assumption_options
@reform_option
@rulesets_option
def batch_command(input_file, on, out, outputs, progress, engine, jobs, official_only, assume, reform, rulesets_dir):
    """Evaluate every case (one per row) of INPUT_FILE (.csv, .jsonl or .parquet) on a date.

    Columns are the case schema flattened: `sector`, `patients_mt`, …, `contract_signed_on`,
    `contract_option`, …; `contract_observed` as JSON text. See docs/batch.md."""
    from . import batch
    registry = _registry(rulesets_dir, official_only, assume, reform)
    try:
        summary = batch.run_file(input_file, on.date(), out, registry, list(outputs) or None, progress,
                                   engine, jobs)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM / SIGHUP (batch.Terminated)
        signum = getattr(exc, "signum", 2)
        click.echo(f"interrupted ({signal.Signals(signum).name}): no result file written", err=True)
        sys.exit(128 + signum)
    rate = summary.rows / summary.seconds if summary.seconds else 0
    click.echo(f"{summary.rows} row(s): {summary.computed} computed, {summary.failed} in error "
               f"({rate:,.0f} rows/s) → {summary.out}", err=True)
    if summary.failed:
        click.echo(f"errors (row, field, reason): {summary.errors_file}", err=True)
    sys.exit(1 if summary.failed else 0)


@main.command("compare")
@click.argument("population", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reform", "reform", type=click.Path(path_type=Path), required=True,
              help="The reform: a ruleset file (or folder) laid over the baseline's timeline.")
@click.option("--baseline", "baseline", type=click.Path(path_type=Path), default=None,
              help="Another reform as baseline (laid over the shipped timeline); the shipped rulesets by default.")
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Compare on this date: the payments listed then, by calendar year.")
@click.option("--years", "years", default=None, metavar="FIRST..LAST",
              help="Compare the payments of these calendar years (e.g. 2025..2030).")
@click.option("--weight", "weight", default=None, metavar="COLUMN", help="Weight each row by this column.")
@click.option("--by", "by", default=None, metavar="COLUMNS", help="Totals by group of these columns (comma-separated).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for rows.parquet, summary.json and report.html.")
@click.option("--engine", type=click.Choice(["auto", "vector", "row"]), default="auto", show_default=True)
@jobs_option
@assumption_options
@rulesets_option
def compare_command(population, reform, baseline, on, years, weight, by, out, engine, jobs, official_only, assume,
                    rulesets_dir):
    """Cost a reform on a population (.csv, .jsonl or .parquet): baseline and reform on the same rows.

    Writes DIR/rows.parquet (each row, both values and their difference), DIR/summary.json (totals by
    year, winners and losers, groups) and DIR/report.html (a French page with charts). See docs/batch.md."""
    from . import compare_files
    if (on is None) == (years is None):
        raise CliError("donner soit --on DATE, soit --years PREMIÈRE..DERNIÈRE (l’un des deux, pas les deux)")
    if not population.is_file():
        raise CliError(f"{population} : cette population n’existe pas")
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
