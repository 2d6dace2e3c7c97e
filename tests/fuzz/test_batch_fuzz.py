"""Batch fuzzing (issue 8): `millesime batch` loses no good row and hides no bad one, and an
interrupted run leaves the previous files as they were.

Files (CSV or JSON Lines) mix rows of valid cases — among them contracts in their 3rd to 5th
year whose target is partly reached, so that the aid due has cents — with broken rows — a cell of the wrong type,
a required cell left empty, an unknown specialty or option, a negative count, a bad date,
broken JSON in a map column, a row with fewer or more cells than the header, a line that is
not a JSON object — and sometimes lack a whole column. The oracle is the row engine: each row is also built as a nested case by
the generator itself (not by engine/batch.py) and given to `engine.evaluate`. Then:

- every row the engine computes is in the output exactly once, under its number, with the
  engine's values cell for cell;
- every other row is in the errors file under its number, naming each broken column;
- the counts of the summary add up.
"""
from __future__ import annotations

import csv
import datetime as dt
import errno
import json
import tempfile
from decimal import Decimal
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, strategies as st

from engine import batch
from engine.batch import BatchError, FlatSchema, run_file
from engine.case import CaseError
from engine.interpreter import evaluate
from engine.registry import NoRulesetError, Registry
from engine.values import EvaluationError

from .conftest import fuzz, tried

REGISTRY = Registry.load()
FIRST_DAY, RA_2023 = dt.date(2019, 8, 21), dt.date(2023, 5, 1)
ON_DATES = [dt.date(2021, 6, 1), dt.date(2023, 9, 1), dt.date(2025, 3, 1),  # one per ruleset, and the
            dt.date(2026, 9, 1)]  # 3rd year of a 2023 contract: its aid is prorated to its target, to the cent
LATE = dt.date(2025, 5, 1)  # from then on, a contract under the 2023 rules can be in its 3rd year
CENTS_SPECIALTIES = ["cardiologie", "dermatologie", "psychiatrie", "rhumatologie", "neurologie", "chirurgie_generale"]
SCHEMAS = {on: FlatSchema.of(REGISTRY.in_force(on).model) for on in ON_DATES}
SPECIALTIES = {on: [m.name for m in REGISTRY.in_force(on).model.enums["specialty"].members] for on in ON_DATES}
OUTPUTS = {on: list(REGISTRY.in_force(on).model.outputs) for on in ON_DATES}

# Cells no column of its kind may hold (checked by hand against the rulesets' declarations).
BAD_CELLS = {
    "specialty": ["cardio", "généraliste", "a,b\nc", "12"],
    "sector": ["3", "0", "abc", "1.5", "-1"],
    "optam": ["maybe", "2", "vrai"],
    "patients_mt": ["-1", "abc", "12.5"],
    "file_active": ["-5", "x", "1 000"],
    "percentile": ["101", "-0.5", "abc"],
    "priority_zone": ["peut-être"],
    "contract_signed_on": ["2024-02-30", "01/07/2024", "yesterday"],
    "contract_option": ["quarter", "ETP"],
    "contract_initial_patients_mt": ["-3", "many"],
    "contract_observed": ["{not json", '{"3": {"patients_mt": "x", "file_active": 1}}', "[1, 2]"],
    "ccam_fee_share": ["1.5", "abc", "-0.1"],
}
REQUIRED = ["specialty", "sector", "optam", "patients_mt", "file_active"]  # a blank one is "missing"
BOOL_TEXT = [("true", "false"), ("1", "0"), ("oui", "non"), ("TRUE", "False"), ("yes", "no")]


@st.composite
def good_case(draw, on: dt.date) -> dict:
    """A valid nested case under the ruleset in force on `on` (typed values: ints, Decimals, dates)."""
    columns = SCHEMAS[on].columns
    physician = {
        "specialty": draw(st.sampled_from(SPECIALTIES[on])),
        "sector": draw(st.sampled_from([1, 2])),
        "optam": draw(st.booleans()),
        "patients_mt": draw(st.integers(0, 3000)),
        "file_active": draw(st.integers(0, 6000)),
    }
    if draw(st.booleans()):
        physician["percentile"] = draw(st.decimals(0, 100, places=1))
    for name in ("priority_zone", "coordinated_practice", "group_practice"):
        if on < RA_2023 or draw(st.booleans()):  # required by avenant 7 only
            physician[name] = draw(st.booleans())
    if "ccam_fee_share" in columns and draw(st.booleans()):
        physician["ccam_fee_share"] = draw(st.decimals(0, 1, places=2))
    case = {"physician": physician}
    if draw(st.booleans()):
        cents = on >= LATE and draw(st.integers(0, 3)) > 0  # a contract of 2023 or 2024 in its 3rd year or later
        signed_on = draw(st.dates(RA_2023, on.replace(year=on.year - 2)) if cents else st.dates(FIRST_DAY, on))
        initial_mt, initial_fa = draw(st.integers(0, 2500)), draw(st.integers(0, 5000))
        contract = {"signed_on": signed_on,
                    "option": draw(st.sampled_from(["third", "half", "full"] if signed_on < RA_2023 else ["half", "full"])),
                    "initial_patients_mt": initial_mt, "initial_file_active": initial_fa}
        if draw(st.booleans()):
            contract["target_patients_mt"] = initial_mt + draw(st.integers(0, 800))
            contract["target_file_active"] = initial_fa + draw(st.integers(0, 1500))
        if draw(st.booleans()):
            contract["observed"] = {y: {"patients_mt": draw(st.integers(0, 3500)), "file_active": draw(st.integers(0, 7000))}
                                    for y in draw(st.sets(st.integers(1, 6), max_size=3))}
        if cents:  # eligible, with a target partly reached this year: an aid due with cents
            year = on.year - signed_on.year - ((on.month, on.day) < (signed_on.month, signed_on.day)) + 1
            physician.update(specialty=draw(st.sampled_from(CENTS_SPECIALTIES)), sector=1,
                             percentile=draw(st.decimals(31, 94, places=1)), coordinated_practice=True,
                             group_practice=True)
            if "ccam_fee_share" in columns:
                physician["ccam_fee_share"] = Decimal("0.05")
            asked = draw(st.integers(1, 1500))
            contract.pop("target_patients_mt", None)
            contract["target_file_active"] = initial_fa + asked
            contract.setdefault("observed", {})[year] = {"patients_mt": draw(st.integers(0, 3500)),
                                                         "file_active": initial_fa + draw(st.integers(0, asked))}
        case["contract"] = contract
    return case


def flat(case: dict) -> dict:
    """The generator's own flattening: physician.x → x, contract.x → contract_x (typed values)."""
    row = dict(case["physician"])
    row.update({f"contract_{k}": v for k, v in case.get("contract", {}).items()})
    return row


def nested(row: dict) -> dict:
    case: dict = {"physician": {}}
    for name, value in row.items():
        if name.startswith("contract_"):
            case.setdefault("contract", {})[name[len("contract_"):]] = value
        else:
            case["physician"][name] = value
    return case


@st.composite
def batch_files(draw):
    """(on, format, columns, rows): each row {typed, cells, broken} — `broken` the columns made bad."""
    on = draw(st.sampled_from(ON_DATES))
    fmt = draw(st.sampled_from(["csv", "jsonl"]))
    columns = list(SCHEMAS[on].columns)
    if draw(st.integers(0, 5)) == 0:  # a whole column missing from the file
        columns.remove(draw(st.sampled_from(columns)))
    true_false = draw(st.sampled_from(BOOL_TEXT))
    rows = []
    for _ in range(draw(st.integers(1, 14))):
        typed = {k: v for k, v in flat(draw(good_case(on))).items() if k in columns}
        cells = {k: text_cell(v, true_false) if fmt == "csv" else json_cell(draw, v, true_false) for k, v in typed.items()}
        broken: set = set()
        kind = draw(st.sampled_from(["good"] * 5 + ["bad cell", "blank", "short", "raw"]))
        if kind == "bad cell":
            for name in draw(st.sets(st.sampled_from([c for c in BAD_CELLS if c in columns]), min_size=1, max_size=3)):
                cells[name] = draw(st.sampled_from(BAD_CELLS[name]))
                broken.add(name)
        elif kind == "blank":
            name = draw(st.sampled_from([c for c in REQUIRED if c in columns]))
            cells.pop(name, None)
            typed.pop(name, None)
            broken.add(name)
        elif kind == "short" and fmt == "csv":  # a row cut short, or one cell too many: an error row
            cut = draw(st.integers(1, len(columns) + 2).filter(lambda k: k != len(columns)))  # 0 is a blank line
            rows.append({"typed": typed, "cells": cells, "broken": {""}, "kind": "cut", "cut": cut})
            continue
        elif kind == "raw" and fmt == "jsonl" and rows:  # not a case at all (never the first line)
            rows.append({"raw": draw(st.sampled_from(["{broken", "[1, 2]", '"a case"', "42", '{"sector": 1,}'])),
                         "typed": None, "cells": {}, "broken": {""}, "kind": "raw"})
            continue
        rows.append({"typed": typed, "cells": cells, "broken": broken, "kind": kind})
    return on, fmt, columns, rows


def text_cell(value, true_false) -> str:
    if isinstance(value, bool):
        return true_false[0] if value else true_false[1]
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps({str(k): v for k, v in value.items()})
    return str(value)


def json_cell(draw, value, true_false):
    """A JSON Lines cell: the JSON value itself, or sometimes its text."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()} if draw(st.booleans()) else text_cell(value, true_false)
    if isinstance(value, (bool, int, Decimal)) and draw(st.booleans()):
        return value
    return text_cell(value, true_false)


def json_line(cells: dict) -> str:
    def enc(v):
        if isinstance(v, Decimal):
            return str(v)  # a JSON number, exactly as written
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)}: {enc(x)}" for k, x in v.items()) + "}"
        return json.dumps(v, ensure_ascii=False)
    return enc(cells)


def write_input(path: Path, fmt: str, columns: list[str], rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        if fmt == "csv":
            writer = csv.writer(f)
            writer.writerow(columns)
            for row in rows:
                cells = [row["cells"].get(c, "") for c in columns]
                if "cut" in row:
                    cells = (cells + ["x", "y"])[:row["cut"]]
                writer.writerow(cells)
        else:
            for i, row in enumerate(rows):
                if "raw" in row:
                    f.write(row["raw"] + "\n")
                elif i == 0:  # the first line names the columns of the file: all of them
                    f.write(json_line({c: row["cells"].get(c) for c in columns}) + "\n")
                else:
                    f.write(json_line(row["cells"]) + "\n")


def expected_cell(value):
    """The engine's JSON-form value as one text cell (None: empty)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def engine_row(row: dict, on: dt.date):
    """The row engine's verdict on the generator's nested case: its values, or None."""
    if row["typed"] is None or row["broken"]:
        return None
    try:
        return evaluate(nested(row["typed"]), on, REGISTRY, explain=False).json_values()
    except (CaseError, NoRulesetError, EvaluationError):
        return None


def read_out(path: Path) -> list[dict]:
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@fuzz(60, deadline_ms=10000)
@given(batch_files(), st.sampled_from(["csv", "jsonl"]), st.integers(1, 6))
def test_every_good_row_once_with_the_engine_values_every_bad_row_reported(sample, out_fmt, chunk):
    on, fmt, columns, rows = sample
    tried("batch: files")
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(batch, "CHUNK", chunk):
        source, out = Path(tmp) / f"cases.{fmt}", Path(tmp) / f"out.{out_fmt}"
        write_input(source, fmt, columns, rows)
        summary = run_file(source, on, out, REGISTRY, progress=False)
        results, errors = read_out(out), read_out(batch.errors_path(out))
        assert sorted(p.name for p in Path(tmp).iterdir()) == sorted([source.name, out.name, out.name + ".errors.csv"])

    expected = {number: engine_row(row, on) for number, row in enumerate(rows, start=1)}
    good = {n for n, values in expected.items() if values is not None}
    for number, values in expected.items():
        tried("batch: rows → " + ("computed" if number in good else "in error"))
        if values is not None and isinstance(values.get("aid_due"), str) and Decimal(values["aid_due"]) % 1:
            tried("batch: rows → computed (aid with cents)")
    assert (summary.rows, summary.computed, summary.failed) == (len(rows), len(good), len(rows) - len(good))

    numbers = [int(r["row"]) for r in results]
    assert sorted(numbers) == sorted(good) and len(set(numbers)) == len(numbers)  # each good row, once
    for record in results:
        values = expected[int(record["row"])]
        for name in OUTPUTS[on]:
            want = expected_cell(values[name])
            assert record[name] == (want if out_fmt == "jsonl" else want or ""), (record["row"], name)
        if fmt == "csv":  # the input cells, echoed as read (a cell a short row lacks: empty, or null in JSON)
            row = rows[int(record["row"]) - 1]
            assert {c: record[c] or "" for c in columns} == {c: row["cells"].get(c, "") for c in columns}

    reported: dict[int, set] = {}
    for error in errors:
        assert error["reason"].strip() and "Traceback" not in error["reason"], error
        reported.setdefault(int(error["row"]), set()).add(error["field"])
    assert set(reported) == set(expected) - good
    for number, fields in reported.items():
        row = rows[number - 1]
        assert row["broken"] <= fields, (number, row["kind"], row["broken"], fields)


@fuzz(40, deadline_ms=10000)
@given(st.sampled_from(ON_DATES).flatmap(lambda on: st.tuples(st.just(on), st.lists(good_case(on), min_size=1, max_size=12))),
       st.sampled_from(["csv", "jsonl"]), st.integers(1, 4), st.sampled_from(["row", "write"]), st.integers(1, 12),
       st.sampled_from([KeyboardInterrupt, RuntimeError, OSError]))
def test_an_interrupted_run_leaves_the_previous_files_whole(sample, out_fmt, chunk, where, at, error):
    """Stopped at any row or any write (Ctrl-C, a bug, a full disk): no half-written output, no
    temp file, and the results of the previous run untouched."""
    on, cases = sample
    tried("batch: interrupted runs")
    columns = list(SCHEMAS[on].columns)
    rows = [{"typed": flat(c), "cells": {k: text_cell(v, BOOL_TEXT[0]) for k, v in flat(c).items()},
             "broken": set(), "kind": "good"} for c in cases]
    real = {"row": batch.Batch.row, "write": batch._Writer.write}[where]
    calls = []

    def failing(self, *args):
        calls.append(1)
        if len(calls) == at:
            raise error(errno.ENOSPC, "No space left on device") if error is OSError else error("stop")
        return real(self, *args)

    target = batch.Batch if where == "row" else batch._Writer
    with tempfile.TemporaryDirectory() as tmp, mock.patch.object(batch, "CHUNK", chunk), \
            mock.patch.object(target, where, failing):
        folder = Path(tmp)
        source, out = folder / "cases.csv", folder / f"out.{out_fmt}"
        write_input(source, "csv", columns, rows)
        before = {source.name: source.read_bytes(), out.name: b"previous results\n",
                  out.name + ".errors.csv": b"row,field,reason\n7,sector,previous\n"}
        for name, content in before.items():
            (folder / name).write_bytes(content)
        try:
            run_file(source, on, out, REGISTRY, progress=False)
        except (KeyboardInterrupt, RuntimeError, OSError):
            tried("batch: interrupted runs → stopped")
            assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing else, all intact
        else:  # stopped after the last call: the run completed and replaced both files
            assert len(calls) < at and out.read_bytes() != before[out.name]
            assert sorted(p.name for p in folder.iterdir()) == sorted(before)


BYTES = [b"\xff", b"\xe9", b"\xc3", b"\x00", b"\r", b"\n", b",", b'"',
         b"{", b"}", b"\\ud800", b"\xef\xbb\xbf"]


@fuzz(60, deadline_ms=10000)
@given(batch_files(), st.lists(st.tuples(st.integers(0, 3000), st.sampled_from(BYTES)), min_size=1, max_size=3))
def test_a_damaged_file_is_computed_or_refused_whole_never_a_traceback(sample, edits):
    """Bytes inserted anywhere (a Latin-1 letter, a NUL, a stray quote or line break…): the run
    completes, or the file is refused whole with a BatchError; no other exception, no temp file."""
    on, fmt, columns, rows = sample
    tried("batch: damaged files")
    with tempfile.TemporaryDirectory() as tmp:
        source, out = Path(tmp) / f"cases.{fmt}", Path(tmp) / "out.csv"
        write_input(source, fmt, columns, rows)
        raw = source.read_bytes()
        for at, token in edits:
            at = min(at, len(raw))
            raw = raw[:at] + token + raw[at:]
        source.write_bytes(raw)
        try:
            summary = run_file(source, on, out, REGISTRY, progress=False)
        except BatchError as exc:
            tried("batch: damaged files → refused whole")
            # e.g. "… : ce n'est pas du texte UTF-8", "colonne inconnue"
            assert str(exc).strip() and "Traceback" not in str(exc)
            assert [p.name for p in Path(tmp).iterdir()] == [source.name]
        else:
            tried("batch: damaged files → computed")
            assert summary.computed + summary.failed == summary.rows
            assert len(read_out(out)) == summary.computed
            assert len({e["row"] for e in read_out(batch.errors_path(out))}) == summary.failed
            assert sorted(p.name for p in Path(tmp).iterdir()) == sorted([source.name, out.name, out.name + ".errors.csv"])
