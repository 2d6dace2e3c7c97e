"""Grammar fuzzing: whatever the text, a ruleset or a `file:line:col` error — never a Python
exception, never a hang.

Inputs are mutations of the shipped agreements and of the demo pair (truncation, deleted
and duplicated spans, inserted keywords and odd characters, CRLF, huge literals, deep
nesting), token soup, and arbitrary Unicode. Texts that still parse go through the whole
pipeline: the registry (model, checker, compiler, timeline) with the other agreements,
then an evaluation of an example case, then `millesime check` through the CLI.
"""
from __future__ import annotations

import datetime as dt
import re
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner
from hypothesis import given, strategies as st

from dsl.errors import MillesimeError, RulesetError
from dsl.parser import parse_text
from engine.cli import main
from engine.files import load_data
from engine.interpreter import evaluate
from engine.registry import Registry

from .conftest import ROOT, RULESETS, fuzz, tried

SOURCES = sorted(RULESETS.glob("*.mil")) + sorted((ROOT / "tests/fixtures/demo").glob("*.mil"))
TEXTS = {p.name: p.read_text(encoding="utf-8") for p in SOURCES}
NAMES = sorted(TEXTS)
EXAMPLE_CASE = load_data(ROOT / "examples/generaliste-2024.yaml")
SECONDS_PER_INPUT = 3.0  # generous on a loaded CI core; a parse takes milliseconds
DIAGNOSTIC = re.compile(r"^.+:\d+:\d+: (erreur|avertissement) : ")

KEYWORDS = ["ruleset", "effective", "from", "until", "amends", "rule", "table", "rows", "columns", "input",
            "parameter", "condition", "require", "unless", "exception", "when", "then", "if", "else", "output",
            "replace", "remove", "add", "requirement", "extend", "enum", "source", "quote", "note", "because",
            "as", "of", "round", "to", "cent", "euro", "unit", "not", "established", "is", "set", "in", "and",
            "or", "none", "true", "false", "optional", "list", "map", "group", "for", "on", "ruleset_id"]
PUNCTUATION = ["(", ")", "[", "]", "{", "}", ":", ",", ".", "..", "=", "!=", "≠", "<", "<=", "≤", ">=", "+",
               "-", "*", "×", "/", "%", "€", "|", "| 1 | 2 |", "|---|---|", "—", "?", "#", '"', '"x"', "\\"]
ODD = ["\r\n", "\r", "\n", "\t", "\ufeff", "\u00a0", "\u202f", "\u200b", "\u202e", "é", "É", "ß", "𝔘", "🙂",
       "\x00", "\x0b", "\x1b", "\u2028", "\ufffd", "ﬁ", "Ⅻ", "٣", "۳"]
LITERALS = ["0", "1", "36 000", "1.5", "2019-08-21", "2024-02-30", "0000-00-00", "9999-12-31", "1e5", "-0",
            "9" * 30, "9" * 5000, "1." + "0" * 40, "20 %", "18 000 €"]
TOKENS = KEYWORDS + PUNCTUATION + ODD + LITERALS + ["x", "physician.specialty", "contract", "annual_aid"]


def _nest(depth: int, kind: int) -> str:
    return [("(" * depth) + "1" + (")" * depth), "not " * depth + "true", "-" * depth + "1",
            "+".join(["1"] * depth), "if true then " * depth + "1" + " else 2" * depth][kind]


@st.composite
def mutated(draw) -> tuple[str, str]:
    name = draw(st.sampled_from(NAMES))
    text = TEXTS[name]
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "delete", "insert", "duplicate", "crlf", "literal", "nest", "swap"]))
        i = draw(st.integers(0, len(text)))
        if op == "truncate":
            text = text[:i]
        elif op == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 80)):]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        elif op == "duplicate":
            j = min(len(text), i + draw(st.integers(1, 400)))
            text = text[:j] + text[i:j] + text[j:]
        elif op == "crlf":
            text = text.replace("\n", draw(st.sampled_from(["\r\n", "\r"])))
        elif op == "literal":  # replace the first number after i by something odd
            m = re.compile(r"\d[\d ]*").search(text, i)
            if m:
                text = text[:m.start()] + draw(st.sampled_from(LITERALS)) + text[m.end():]
        elif op == "nest":  # deep nesting, just within and beyond what the parser accepts
            m = re.compile(r"= ").search(text, i)
            if m:
                text = text[:m.end()] + _nest(draw(st.sampled_from([10, 90, 199, 201, 600, 3000])),
                                              draw(st.integers(0, 4))) + " " + text[m.end():]
        else:
            j = draw(st.integers(0, len(text)))
            a, b = sorted((i, j))
            text = text[:a] + text[b:] + text[a:b]
    return name, text


token_soup = st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join)
headed_soup = token_soup.map(lambda s: 'ruleset fuzz "Fuzz"\n  effective from 2020-01-01\n' + s)
unicode_text = st.text(max_size=300)


def assert_parses_or_located_error(text: str, filename: str = "fuzz.mil"):
    """The contract of parse_text: a RulesetFile, or RulesetError with located diagnostics."""
    start = time.perf_counter()
    try:
        parsed = parse_text(text, filename)
    except RulesetError as exc:
        assert exc.diagnostics, "a RulesetError must carry at least one diagnostic"
        for d in exc.diagnostics:
            assert d.loc.file == filename and d.loc.line >= 1 and d.loc.column >= 1, d
            assert DIAGNOSTIC.match(d.render().splitlines()[0]), d.render()
        parsed = None
    elapsed = time.perf_counter() - start
    assert elapsed < SECONDS_PER_INPUT, f"parsing took {elapsed:.1f} s"
    return parsed


def assert_pipeline_holds(name: str, text: str):
    """A text that parses, with the other rulesets: a registry or located diagnostics; then an
    evaluation gives a result or a MillesimeError; `millesime check` exits 0 or 1, cleanly."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        mutated_path = Path(tmp) / name
        mutated_path.write_text(text, encoding="utf-8")
        others = [p for p in SOURCES if p.name != name and p.parent == next(s.parent for s in SOURCES if s.name == name)]
        try:
            registry = Registry.from_paths(others + [mutated_path])
        except RulesetError as exc:
            for d in exc.diagnostics:
                assert DIAGNOSTIC.match(d.render().splitlines()[0]), d.render()
            registry = None
        if registry is not None:
            for day in (dt.date(2019, 9, 1), dt.date(2023, 6, 1), dt.date(2025, 9, 1)):
                try:
                    result = evaluate(EXAMPLE_CASE, day, registry)
                    result.to_json()
                except MillesimeError as exc:
                    assert exc.render().strip()
        outcome = CliRunner().invoke(main, ["check", "--lenient-sources", str(mutated_path)])
        assert outcome.exit_code in (0, 1), outcome.output
        assert not isinstance(outcome.exception, Exception) or isinstance(outcome.exception, SystemExit)
        assert "Traceback" not in outcome.output
        if outcome.exit_code == 1:
            assert DIAGNOSTIC.match(outcome.stderr.splitlines()[0]), outcome.stderr
    assert time.perf_counter() - start < 5 * SECONDS_PER_INPUT


@fuzz(150)
@given(mutated())
def test_mutated_rulesets_parse_or_fail_at_a_place(sample):
    tried("grammar: mutated agreements (parse)")
    assert_parses_or_located_error(sample[1], sample[0])


@fuzz(40, deadline_ms=15000)
@given(mutated())
def test_mutated_rulesets_through_the_whole_pipeline(sample):
    tried("grammar: mutated agreements (registry, evaluation, CLI)")
    name, text = sample
    if assert_parses_or_located_error(text, name) is not None:
        assert_pipeline_holds(name, text)


@fuzz(150)
@given(st.one_of(token_soup, headed_soup))
def test_token_soup_parses_or_fails_at_a_place(text):
    tried("grammar: token soup")
    assert_parses_or_located_error(text)


@fuzz(100)
@given(unicode_text)
def test_arbitrary_unicode_parses_or_fails_at_a_place(text):
    tried("grammar: arbitrary Unicode")
    assert_parses_or_located_error(text)


@fuzz(20)
@given(st.sampled_from(NAMES), st.binary(min_size=1, max_size=8), st.integers(0, 10_000))
def test_invalid_utf8_is_a_located_error(name, junk, at):
    tried("grammar: invalid UTF-8 files")
    raw = TEXTS[name].encode("utf-8")
    at = min(at, len(raw))
    data = raw[:at] + b"\xff" + junk + raw[at:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            Registry.from_paths([path])
        except RulesetError as exc:
            assert DIAGNOSTIC.match(exc.diagnostics[0].render().splitlines()[0])


def test_the_shipped_agreements_survive_crlf_and_a_bom():
    for name in NAMES:
        text = TEXTS[name]
        expected = parse_text(text, name)
        for variant in ("\ufeff" + text.replace("\n", "\r\n"), text.replace("\n", "\r")):
            assert parse_text(variant, name).header == expected.header
