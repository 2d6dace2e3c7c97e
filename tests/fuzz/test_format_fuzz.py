"""`millesime fmt` on mutated and random rulesets: whatever parses formats to a text that parses to
the same syntax tree (format_text checks it, raising FormatError otherwise), and formats to
itself; whatever does not parse is a located error, never a Python exception."""
from __future__ import annotations

from hypothesis import given, strategies as st

from dsl.errors import RulesetError
from dsl.format import format_text

from .conftest import fuzz, tried
from .test_grammar_fuzz import headed_soup, mutated, token_soup


def formats_or_fails_at_a_place(text: str) -> None:
    try:
        once = format_text(text, "x.mil")
    except RulesetError as exc:
        assert exc.diagnostics and exc.diagnostics[0].loc.line >= 1
        return
    assert format_text(once, "x.mil") == once


@fuzz(100, deadline_ms=5000)
@given(mutated())
def test_mutated_rulesets_format_to_the_same_meaning(sample):
    tried("format: mutated agreements")
    formats_or_fails_at_a_place(sample[1])


@fuzz(100)
@given(st.one_of(token_soup, headed_soup))
def test_token_soup_formats_or_fails_at_a_place(text):
    tried("format: token soup")
    formats_or_fails_at_a_place(text)
