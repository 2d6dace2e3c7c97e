"""The vector back-end (engine/vector/) gives the row engine's results, row by row.

Property tests draw small populations full of edges — percentiles on band limits, dates on
anniversaries and around the agreements' start dates, missing optional inputs, 2019 contracts
evaluated years later, second-assistant options, impossible values — and compare every
scalar output of every row the vector back-end computes with what the row engine gives for
that row alone (`Batch.row`, i.e. `evaluate(..., explain=False)`), and the whole
`evaluate_table` result of both engines. The hand-worked values below are read off the
tables of rulesets/*.mil.
"""
import contextlib
import datetime as dt
import json
from decimal import Decimal as D_

import pytest

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")
pc = pytest.importorskip("pyarrow.compute")

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from engine import shipped_registry, vector  # noqa: E402
from engine.batch import Batch, cell, evaluate_table, run_file  # noqa: E402
from engine.unknowns import load_assumptions  # noqa: E402

D = dt.date
REGISTRY = shipped_registry()
SCALAR_OUTPUTS = ["eligible", "governing_ruleset", "contract_year", "annual_aid", "additional_patients_mt",
                  "additional_file_active", "target_patients_mt", "target_file_active", "achievement_rate",
                  "aid_due", "qualification_deadline"]
LIST_OUTPUTS = ["payments", "options", "ineligibility_reasons"]  # lists of records, computed as columns too
SPECIALTIES = [m.name for m in REGISTRY.get("avenant7_2019").model.enums["specialty"].members]
ON_DATES = [D(2025, 9, 1), D(2024, 6, 21), D(2024, 6, 22), D(2023, 5, 1), D(2023, 4, 30), D(2021, 3, 1),
            D(2026, 1, 15), D(2025, 8, 31)]
EDGE_DATES = [D(2019, 8, 20), D(2019, 8, 21), D(2019, 10, 1), D(2023, 4, 30), D(2023, 5, 1), D(2024, 6, 21),
              D(2024, 6, 22), D(2024, 2, 29), D(2020, 2, 29)]


def anniversaries(on: dt.date) -> list[dt.date]:
    out = []
    for k in range(0, 7):
        try:
            day = on.replace(year=on.year - k)
        except ValueError:
            continue
        out += [day, day - dt.timedelta(days=1), day + dt.timedelta(days=1)]
    return out


INTS = [0, 639, 640, 641, 774, 775, 776, 1044, 1045, 1046, 2600]
OPTIONAL_BOOLS = [True, False, True, False, None]  # avenant 7 requires the exercise fields
PERCENTILES = [0, 29, 30, 31, 49, 50, 51, 89, 90, 94, 95, 96, 100]
DECIMAL_PERCENTILES = ["30.5", "89.99", "90.0", "94.999", "95.00", "29.9", "100", "101"]


BAD_OBSERVED = ['{"3": {"patients_mt": 900}}', '{"x": {"patients_mt": 1, "file_active": 2}}', '[1, 2]', '{"3": 4}',
                '{"3": {"patients_mt": 900, "file_active": 1500, "extra": 1}}', '{', '{}',
                '{"3": {"patients_mt": -1, "file_active": 1500}}', '{"03": {"patients_mt": 1, "file_active": 2}}']


@st.composite
def observed(draw):
    """The patientèle observed in some contract years, as a JSON text (keys in any order)."""
    years = draw(st.lists(st.integers(0, 8), max_size=6, unique=True))
    counts = st.one_of(st.sampled_from(INTS), st.integers(0, 4000))
    return json.dumps({str(y): {"patients_mt": draw(counts), "file_active": draw(counts)} for y in years})


@st.composite
def rows(draw, on: dt.date):
    dates = st.one_of(st.sampled_from(EDGE_DATES + anniversaries(on)),
                      st.dates(D(2019, 1, 1), D(2026, 12, 31)))
    counts = st.one_of(st.sampled_from(INTS), st.integers(0, 3000))
    row = {
        "specialty": draw(st.sampled_from(SPECIALTIES + ["medecine_generale"] * 20 + ["dentiste"])),
        "sector": draw(st.sampled_from([1] * 6 + [2] * 3 + [3])),
        "optam": draw(st.booleans()),
        "patients_mt": draw(counts),
        "file_active": draw(st.integers(0, 4000)),
        "percentile": draw(st.one_of(st.none(), st.sampled_from(PERCENTILES), st.sampled_from(DECIMAL_PERCENTILES),
                                     st.integers(0, 100))),
        "priority_zone": draw(st.sampled_from(OPTIONAL_BOOLS)),
        "coordinated_practice": draw(st.sampled_from(OPTIONAL_BOOLS)),
        "group_practice": draw(st.sampled_from(OPTIONAL_BOOLS)),
        "ccam_fee_share": draw(st.one_of(st.none(), st.sampled_from(["0.19", "0.2", "0.20", "0.21", "0", "0.4",
                                                                      "1", "0.199", "0.05", "0.1", "1.5"]))),
    }
    if draw(st.integers(0, 5)):  # most physicians have a contract
        row.update({
            "contract_signed_on": draw(dates),
            "contract_option": draw(st.sampled_from(["half", "full", "full", "third", "one_and_half", "double"])),
            "contract_initial_patients_mt": None if draw(st.integers(0, 19)) == 0 else draw(counts),
            "contract_initial_file_active": draw(st.integers(0, 4000)),
            "contract_switched_on": draw(st.one_of(st.none(), st.none(), st.none(), dates)),
            "contract_target_patients_mt": draw(st.one_of(st.none(), st.integers(0, 3000))),
            "contract_target_file_active": draw(st.one_of(st.none(), st.integers(0, 4000))),
            "contract_renewal": draw(st.sampled_from(OPTIONAL_BOOLS)),
            "contract_observed": draw(st.one_of(st.none(), st.none(), st.none(), observed(), st.just(
                '{"3": {"patients_mt": 900, "file_active": 1500}}'), st.sampled_from(BAD_OBSERVED))),
        })
    return row


COLUMN_TYPES = {"specialty": pa.string(), "sector": pa.int64(), "optam": pa.bool_(), "patients_mt": pa.int64(),
                "file_active": pa.int64(), "priority_zone": pa.bool_(), "coordinated_practice": pa.bool_(),
                "group_practice": pa.bool_(), "ccam_fee_share": pa.string(), "contract_signed_on": pa.date32(),
                "contract_option": pa.string(), "contract_initial_patients_mt": pa.int64(),
                "contract_initial_file_active": pa.int64(), "contract_switched_on": pa.date32(),
                "contract_target_patients_mt": pa.int64(), "contract_target_file_active": pa.int64(),
                "contract_renewal": pa.bool_(), "contract_observed": pa.string()}


def text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def table_of(population: list[dict], as_text: bool):
    """Typed Arrow columns (percentile an int column when it can be), or CSV-like text columns."""
    columns = {}
    for name in ["specialty", "sector", "optam", "patients_mt", "file_active", "percentile", "priority_zone",
                 "coordinated_practice", "group_practice", "ccam_fee_share"] + [
            n for n in COLUMN_TYPES if n.startswith("contract_")]:
        values = [row.get(name) for row in population]
        if as_text:
            columns[name] = pa.array([text(v) for v in values], pa.string())
        elif name == "percentile":
            ints = all(v is None or isinstance(v, int) for v in values)
            columns[name] = pa.array(values if ints else [text(v) for v in values],
                                     pa.int64() if ints else pa.string())
        else:
            columns[name] = pa.array(values, COLUMN_TYPES[name])
    return pa.table(columns)


def known_columns(table, on: dt.date):
    """Only the columns of the ruleset in force (before 2023 there is no CCAM share nor renewal)."""
    columns = Batch.prepare(on, REGISTRY, ["eligible"]).schema.columns
    return table.select([n for n in table.column_names if n in columns])


def compare(table, on: dt.date, outputs=SCALAR_OUTPUTS + LIST_OUTPUTS, registry=REGISTRY) -> tuple[int, int]:
    """Every row the vector back-end computes equals the row engine's; returns (computed, handed back)."""
    batch = Batch.prepare(on, registry, outputs)
    columns = {name: table.column(name) for name in table.column_names}
    out, back = vector.run_columns(batch, columns, table.num_rows)
    handed = set(back.tolist())
    for i, row in enumerate(table.to_pylist()):
        if i in handed:
            continue
        values, problems = batch.row(row)
        assert values is not None, (i, row, problems)
        for name in outputs:
            texts, codes = out[name]
            expected = cell(values[name])
            assert texts[codes[i]] == expected, (name, i, row, texts[codes[i]], expected)
    return table.num_rows - len(handed), len(handed)


@contextlib.contextmanager
def _setting(module, name: str, value, on: bool):
    """`module.name` set to `value` while in the block, when `on`."""
    saved = getattr(module, name)
    setattr(module, name, value if on else saved)
    try:
        yield
    finally:
        setattr(module, name, saved)


def branches_on_their_rows(on: bool):
    """With `on`, every costly branch is evaluated in a context of the rows that take it
    (Ctx.on_rows), whatever the batch's size: the batches drawn here are far below
    BRANCH_MIN_ROWS, where a run evaluates each branch on all its rows."""
    from engine.vector import context
    return _setting(context, "BRANCH_MIN_ROWS", 0, on)


def stacked_in_groups(on: bool):
    """A comprehension's positions stacked a few at a time (lists._stacked_groups' memory bound hit
    on every list), not all at once."""
    from engine.vector import lists
    return _setting(lists, "STACK_ROWS", 1, on)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_vector_equals_row_engine_row_by_row(data):
    on = data.draw(st.sampled_from(ON_DATES))
    population = data.draw(st.lists(rows(on), min_size=1, max_size=25))
    as_text = data.draw(st.booleans())
    table = known_columns(table_of(population, as_text), on)
    if data.draw(st.booleans()):  # text columns as categoricals (Parquet, Polars): read off their dictionary
        table = pa.table({name: pc.dictionary_encode(col) if pa.types.is_string(col.type) else col
                          for name, col in zip(table.column_names, table.columns)})
    with branches_on_their_rows(data.draw(st.booleans())), stacked_in_groups(data.draw(st.booleans())):
        compare(table, on)
        outputs = ["eligible", "annual_aid", "contract_year"]
        assert evaluate_table(table, on, REGISTRY, outputs, engine="vector").equals(
            evaluate_table(table, on, REGISTRY, outputs, engine="row"))


# What the law leaves open, under the run's assumptions: the same values and ranges on both engines.
OFFICIAL = REGISTRY.with_assumptions(load_assumptions(official_only=True))
PICKED = REGISTRY.with_assumptions(load_assumptions(texts=[
    'hypotheses "Lectures retenues"\n'
    'assume combined_rate reading mean because "comparaison"\n'
    'assume gp_threshold[70] in reglement_arbitral_2023 = 1 250 because "comparaison"\n'
    'assume target_table[50..70, full] in reglement_arbitral_2023 = 12.5 % because "comparaison"\n']))
OFFICIAL_PICKED = OFFICIAL.with_assumptions(load_assumptions(official_only=True, texts=[
    'hypotheses "Seuils"\nassume gp_threshold[90] in convention_2024 = 1 400 because "comparaison"\n']))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_vector_equals_row_engine_under_assumptions(data):
    on = data.draw(st.sampled_from(ON_DATES))
    population = data.draw(st.lists(rows(on), min_size=1, max_size=25))
    table = known_columns(table_of(population, data.draw(st.booleans())), on)
    registry = data.draw(st.sampled_from([OFFICIAL, PICKED, OFFICIAL_PICKED]))
    with branches_on_their_rows(data.draw(st.booleans())):
        compare(table, on, registry=registry)


def test_open_values_are_computed_as_columns():
    # GPs without percentile on 2025-09-01, 1/2 ETP contracts signed 2023-06-01 (year 3 under the 2024
    # table, 11 000 €; ≥ P95 fixed 19 000 €; P90–P95 13 000 €). Under --official-only only P30 (775) is
    # known: 1 200 patients may lie anywhere above P30 → between 11 000 and 19 000 €; 700 patients lie
    # below P30 → not eligible → 0 €. Every row is computed in columns, none handed back.
    rows_ = [{**physician(), **contract(D(2023, 6, 1), "half")},
             {**physician(patients_mt=700), **contract(D(2023, 6, 1), "half", initial=700)}]
    table = known_columns(table_of(rows_, as_text=False), D(2025, 9, 1))
    computed, handed = compare(table, D(2025, 9, 1), ["annual_aid", "eligible"], registry=OFFICIAL)
    assert (computed, handed) == (2, 0)
    out = evaluate_table(table, D(2025, 9, 1), OFFICIAL, ["annual_aid"], engine="vector", typed=False).column(
        "annual_aid").to_pylist()
    first = json.loads(out[0])
    assert first["between"] == ["11000.00", "19000.00"]
    assert [u["name"] for u in first["decided_by"]] == ["gp_threshold[50]", "gp_threshold[70]", "gp_threshold[90]",
                                                        "gp_threshold[95]"]
    assert out[1] == "0.00"


def test_a_seeded_population_is_mostly_vectorised():
    """The bench's population (bench/population.py): every row computed as columns, equal to the row engine."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import population as P
    cases = P.population(400, seed=7)
    table = pa.Table.from_pylist([P.flat(c) for c in cases])
    computed, handed = compare(table, P.ON, ["eligible", "annual_aid", "contract_year", "governing_ruleset"])
    assert handed == 0 and computed == 400


# ---------------------------------------------------------------- hand-worked values

def physician(**over):
    row = {"specialty": "medecine_generale", "sector": 1, "optam": False, "patients_mt": 1200, "file_active": 2000,
           "percentile": None, "priority_zone": None, "coordinated_practice": None, "group_practice": None,
           "ccam_fee_share": None}
    row.update(over)
    return row


def contract(signed_on, option, initial=1200, **over):
    row = {"contract_signed_on": signed_on, "contract_option": option, "contract_initial_patients_mt": initial,
           "contract_initial_file_active": 2000, "contract_switched_on": None, "contract_target_patients_mt": None,
           "contract_target_file_active": None, "contract_renewal": None, "contract_observed": None}
    row.update(over)
    return row


def run(rows_, on, outputs=("eligible", "annual_aid", "contract_year")):
    table = known_columns(table_of(rows_, as_text=False), on)
    batch = Batch.prepare(on, REGISTRY, list(outputs))
    out, back = vector.run_columns(batch, {n: table.column(n) for n in table.column_names}, table.num_rows)
    result = evaluate_table(table, on, REGISTRY, list(outputs), engine="vector", typed=False)
    return {name: result.column(name).to_pylist() for name in outputs}, set(back.tolist())


def test_hand_worked_amounts():
    rows_ = [
        # 0. GP at P60, 1 ETP signed 2024-07-01 (convention 2024): on 2025-09-01 year 2, opened
        #    2025-07-01 → 28 000 € (without a stated percentile, a GP above P50 has none established)
        {**physician(percentile=60), **contract(D(2024, 7, 1), "full")},
        # 1. cardiologist at P90, 1 ETP signed 2023-09-01 (règlement arbitral): on 2025-09-01, its second
        #    anniversary, year 3 opens under the 2024 convention: P90–P95 from year 3 → 26 000 €
        {**physician(specialty="cardiologie", percentile=90), **contract(D(2023, 9, 1), "full")},
        # 2. same physician at exactly P30: not above P30 → not eligible, 0 € while the contract runs
        {**physician(specialty="cardiologie", percentile=30), **contract(D(2023, 9, 1), "full")},
        # 3. sector 2 without OPTAM: not eligible
        {**physician(sector=2), **contract(D(2024, 7, 1), "half")},
        # 4. GP at P60, 1/2 ETP signed 2023-06-01: year 3 since 2025-06-01, 2024 amounts: 11 000 €
        {**physician(percentile=60), **contract(D(2023, 6, 1), "half")},
        # 5. the same GP without a percentile: 1 200 patients lies above P50 (1 045) and below P90
        #    (1 503); P70 is unknown between them, so the band is P50–70 or P70–90 — below P90 either
        #    way: no majoration, year 3 (2024 table) 11 000 €, established
        {**physician(), **contract(D(2023, 6, 1), "half")},
    ]
    values, back = run(rows_, D(2025, 9, 1))
    assert back == set()
    assert values["annual_aid"] == ["28000.00", "26000.00", "0.00", "0.00", "11000.00", "11000.00"]
    assert values["eligible"] == ["true", "true", "false", "false", "true", "true"]
    assert values["contract_year"] == ["2", "3", "3", "2", "3", "3"]
    # the day before the anniversary, the cardiologist is still in year 2 (opened 2024-09-01): 28 000 €
    values, back = run(rows_[1:2], D(2025, 8, 31))
    assert (values["annual_aid"], values["contract_year"], back) == (["28000.00"], ["2"], set())


def test_lists_and_records_are_computed_as_columns():
    avenant7 = dict(priority_zone=False, coordinated_practice=True, group_practice=True)
    rows_ = [
        # 0. GP at P40, 1/2 ETP signed 2021-03-10 under avenant 7, on 2023-04-01 (still avenant 7): year 3.
        #    Year 1 paid within the month after signing (2021-04-10, 18 000 €), year 2 on its anniversary
        #    (2022-03-10, 13 500 €), year 3 an advance of 50 % of 10 500 € within two months of the
        #    anniversary (2023-05-10) and a balance a year later, unknown without the observed patientèle
        {**physician(percentile=40, **avenant7), **contract(D(2021, 3, 10), "half")},
        # 1. the same in sector 2 without OPTAM: no payment, one requirement failed
        {**physician(percentile=40, sector=2, **avenant7), **contract(D(2021, 3, 10), "half")},
        # 2. no contract: nothing paid; the options offered to this GP at P40 — 1/3 and 1/2 ETP, since
        #    avenant 7 opens 1 ETP (option 3) only in an under-served zone
        {**physician(percentile=40, **avenant7)},
    ]
    outputs = ("payments", "ineligibility_reasons", "options")
    values, back = run(rows_, D(2023, 4, 1), outputs)
    assert back == set()
    assert json.loads(values["payments"][0]) == [
        {"year": 1, "date": "2021-04-10", "kind": "single", "amount": "18000.00"},
        {"year": 2, "date": "2022-03-10", "kind": "single", "amount": "13500.00"},
        {"year": 3, "date": "2023-05-10", "kind": "advance", "amount": "5250.00"},
        {"year": 3, "date": "2024-05-10", "kind": "balance", "amount": None}]
    assert values["payments"][1:] == ["[]", "[]"]
    assert values["ineligibility_reasons"][0] == "[]"
    assert [r["requirement"] for r in json.loads(values["ineligibility_reasons"][1])] == ["eligibility.sector"]
    assert values["options"][:2] == ["[]", "[]"]  # a contract is running: nothing to sign
    offers = json.loads(values["options"][2])
    # P30–P50 targets of avenant 7: +20 % (1/3), +25 % (1/2) of 1 200 MT / 2 000 FA patients
    assert [(o["option"], o["amounts"], o["additional_patients_mt"], o["additional_file_active"])
            for o in offers] == [
        ("third", ["12000.00", "9000.00", "7000.00", "7000.00", "7000.00"], 240, 400),
        ("half", ["18000.00", "13500.00", "10500.00", "10500.00", "10500.00"], 300, 500)]
    # the row engine writes the same text, byte for byte
    batch = Batch.prepare(D(2023, 4, 1), REGISTRY, list(outputs))
    for i, row in enumerate(known_columns(table_of(rows_, as_text=False), D(2023, 4, 1)).to_pylist()):
        expected, _ = batch.row(row)
        assert [values[name][i] for name in outputs] == [cell(expected[name]) for name in outputs]


def test_quotients_are_the_row_engines_to_the_28th_digit():
    # GP under avenant 7 (signed 2019-10-01, year 3 on 2022-06-01), targets written in the contract:
    # +300 MT patients (1 200 → 1 500) and +300 file active (2 000 → 2 300); observed in year 3: 1 300 MT
    # (a third of the way) and 2 300 FA (reached). The two rates combine by one of three readings:
    # the lowest (1/3), the product (1/3 × 1) or the mean ((1/3 + 1) / 2, each step to 28 digits)
    avenant7 = dict(priority_zone=False, coordinated_practice=True, group_practice=True)
    observed = '{"3": {"patients_mt": 1300, "file_active": 2300}}'
    rows_ = [{**physician(percentile=40, **avenant7),
              **contract(D(2019, 10, 1), "half", contract_target_patients_mt=1500, contract_target_file_active=2300,
                         contract_observed=observed)}]
    values, back = run(rows_, D(2022, 6, 1), ("achievement_rate", "aid_due"))
    assert back == set()  # computed in columns, not handed back
    rate = json.loads(values["achievement_rate"][0])
    assert rate["between"] == ["0.3333333333333333333333333333", "0.6666666666666666666666666665"]
    assert [u["name"] for u in rate["decided_by"]] == ["combined_rate"]
    # 10 500 € (year 3, 1/2 ETP) times each bound, rounded to the cent: 3 499.999…97 → 3 500.00, 6 999.999…98 → 7 000.00
    assert json.loads(values["aid_due"][0])["between"] == ["3500.00", "7000.00"]
    batch = Batch.prepare(D(2022, 6, 1), REGISTRY, ["achievement_rate", "aid_due"])
    expected, _ = batch.row(known_columns(table_of(rows_, as_text=False), D(2022, 6, 1)).to_pylist()[0])
    assert [values["achievement_rate"][0], values["aid_due"][0]] == [cell(expected["achievement_rate"]),
                                                                     cell(expected["aid_due"])]


def test_agreements_switch_on_2024_06_22():
    # GP, 1/2 ETP signed on 2024-06-21 (last day of the règlement arbitral) or 2024-06-22 (first of
    # the 2024 convention): year 1 amounts 18 000 € and 19 000 €, on 2024-06-22
    rows_ = [{**physician(), **contract(D(2024, 6, 21), "half")}, {**physician(), **contract(D(2024, 6, 22), "half")}]
    values, back = run(rows_, D(2024, 6, 22), ("annual_aid", "governing_ruleset"))
    assert values == {"annual_aid": ["18000.00", "19000.00"],
                      "governing_ruleset": ["reglement_arbitral_2023", "convention_2024"]}
    assert back == set()


def test_2019_contract_evaluated_later_and_rows_handed_back():
    signed = D(2019, 10, 1)
    avenant7 = dict(priority_zone=False, coordinated_practice=True, group_practice=True)
    rows_ = [
        # 0. GP at P60, 1/2 ETP under avenant 7, on 2023-06-01 (règlement arbitral in force): year 4,
        #    opened 2022-10-01 under avenant 7 → 10 500 €
        {**physician(percentile=60, **avenant7), **contract(signed, "half")},
        # 1. the same without the exercise fields avenant 7 requires: its case schema rejects the
        #    case, so the row engine (and its error message) takes the row back
        {**physician(percentile=60), **contract(signed, "half")},
        # 2. a cardiologist under avenant 7, without percentile: the list of eligible specialties and
        #    the specialty's P30 are not established (the first requirement not established gives the
        #    reason; both decide it)
        {**physician(specialty="cardiologie", **avenant7), **contract(signed, "half")},
    ]
    values, back = run(rows_, D(2023, 6, 1), ("annual_aid", "eligible"))
    assert back == {1}
    assert values["annual_aid"][0] == "10500.00" and values["eligible"][0] == "true"
    assert values["annual_aid"][1] is None  # the row is an error, as with the row engine
    eligible = json.loads(values["eligible"][2])
    assert eligible["not_established"] == (
        "liste des spécialités éligibles (annexe 3 de l'avenant 7, deux groupes de spécialités) non établie")
    assert [u["name"] for u in eligible["decided_by"]] == ["above_p30", "specialty_eligible"]


def test_engine_option_of_the_batch_command(tmp_path):
    from click.testing import CliRunner

    from engine.cli import main
    source = tmp_path / "cases.csv"
    header = "specialty,sector,optam,patients_mt,file_active,percentile,contract_signed_on,contract_option," \
             "contract_initial_patients_mt,contract_initial_file_active\n"
    source.write_text(header + "medecine_generale,1,false,1200,2000,60,2024-07-01,full,1200,2000\n" * 100)
    for engine in ("vector", "row", "auto"):
        out = tmp_path / f"out-{engine}.csv"
        result = CliRunner().invoke(main, ["batch", str(source), "--on", "2025-09-01", "--out", str(out),
                                           "--output", "annual_aid", "--engine", engine])
        assert result.exit_code == 0, result.output
        assert out.read_text().splitlines()[1].endswith(",28000.00")
    assert len({(tmp_path / f"out-{e}.csv").read_text() for e in ("vector", "row", "auto")}) == 1
    summary = run_file(source, D(2025, 9, 1), tmp_path / "o.csv", REGISTRY, ["annual_aid"], False, engine="vector")
    assert summary.computed == 100


def test_unknown_engine_is_refused():
    from engine.batch import BatchError
    with pytest.raises(BatchError, match="^moteur inconnu « gpu » ; moteurs : auto, vector ou row$"):
        evaluate_table(table_of([physician()], False), D(2025, 9, 1), REGISTRY, ["eligible"], engine="gpu")


# ---------------------------------------------------------------- small rulesets, hand-worked

SMALL_RULESET = '''ruleset small "Petit barème"
  effective from 2020-01-01

input physician : group "Médecin"
input physician.patients : int "Patientèle" at least 0
input physician.share : optional decimal "Part" between 0 and 1

table bonus "Prime" : money
  rows patients : int
  | < 100      | 0       |
  | 100..250   | 1 000   |
  | 250        | 5 000   |
  | 251..500   | 1 500   |
  | 500+       | 2 000   |

table rate "Taux" : decimal
  rows share : decimal
  | 0..0.125   | 1     |
  | 0.125..0.5 | 2     |
  | 0.5+       | 3     |

rule tier "Tranche" : int = if physician.patients >= 500 then 2 else 1
rule tier_set "La tranche est connue" : bool = tier is set
rule tier_unset "La tranche est inconnue" : bool = tier is not set
rule amount "Montant" : money = bonus[physician.patients]
rule share_rate "Taux" : optional decimal = if physician.share is set then rate[physician.share] else none

output tier_set, tier_unset, amount, share_rate
'''


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from engine.registry import Registry
    folder = tmp_path_factory.mktemp("small")
    (folder / "small.mil").write_text(SMALL_RULESET, encoding="utf-8")
    return Registry.load(folder)


def small_results(registry, patients: list[int], shares: list):
    batch = Batch.prepare(D(2024, 1, 1), registry, ["tier_set", "tier_unset", "amount", "share_rate"])
    columns = {"patients": pa.array(patients, pa.int64()), "share": pa.array(shares, pa.string())}
    out, back = vector.run_columns(batch, columns, len(patients))
    assert back.tolist() == []
    return {name: [texts[c] for c in codes] for name, (texts, codes) in out.items()}


def test_is_set_on_a_value_that_is_never_none(small):
    got = small_results(small, [10, 600], [None, None])
    assert got["tier_set"] == ["true", "true"]
    assert got["tier_unset"] == ["false", "false"]


def test_table_headings_bands_and_exact_keys(small):
    # bands include their low bound and exclude their high one; an exact heading between two
    got = small_results(small, [0, 99, 100, 249, 250, 251, 499, 500, 10 ** 6],
                        ["0.125", "0.1250", "0.12", "0.5", "0.4999999", None, "1", "0", "0.124999999"])
    assert got["amount"] == ["0.00", "0.00", "1000.00", "1000.00", "5000.00", "1500.00", "1500.00", "2000.00",
                             "2000.00"]
    # 0.125 opens the second band whatever the scale it is written at (the column's scale is 9)
    assert got["share_rate"] == ["2", "2", "1", "3", "2", None, "3", "1", "1"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=st.lists(st.decimals(min_value=-5, max_value=5, places=3), min_size=1, max_size=40),
       scale=st.integers(min_value=3, max_value=6))
def test_axis_lookup_is_the_first_heading_that_matches(keys, scale):
    from dsl import ast
    headings = [ast.TableKey("below", high=D_("-1.5")), ast.TableKey("exact", value=D_("0.125")),
                ast.TableKey("band", low=D_("-1"), high=D_("1")), ast.TableKey("exact", value=2),
                ast.TableKey("at_least", low=D_("1.0005")), ast.TableKey("exact", value="texte")]
    axis = vector.Axis(headings)
    data = np.array([int(k.scaleb(scale)) for k in keys], np.int64)
    index, defer = axis.locate(vector.Vec("num", data, scale), len(keys))
    assert defer is None
    expected = [next((i for i, h in enumerate(headings) if h.matches(k)), len(headings)) for k in keys]
    assert np.broadcast_to(index, (len(keys),)).tolist() == expected


def test_categorical_text_columns_are_read_off_their_dictionary():
    # a categorical specialty column (as Parquet or Polars give it), with an empty category and a
    # null: the same results as plain text — the empty and null rows are refused as missing
    rows_ = [{**physician(percentile=60), **contract(D(2024, 7, 1), "full")},
             {**physician(specialty="cardiologie", percentile=90), **contract(D(2023, 9, 1), "full")},
             {**physician(specialty=""), **contract(D(2024, 7, 1), "full")},
             {**physician(specialty=None), **contract(D(2024, 7, 1), "full")}]
    table = known_columns(table_of(rows_, as_text=False), D(2025, 9, 1))
    categorical = table.set_column(table.column_names.index("specialty"), "specialty",
                                   pc.dictionary_encode(table.column("specialty")))
    assert pa.types.is_dictionary(categorical.schema.field("specialty").type)
    outputs = ["eligible", "annual_aid"]
    got = evaluate_table(categorical, D(2025, 9, 1), REGISTRY, outputs, engine="vector", typed=False)
    assert got.column("annual_aid").to_pylist() == ["28000.00", "26000.00", None, None]
    errors = [json.loads(e) if e else None for e in got.column("error").to_pylist()]
    assert errors[:2] == [None, None]
    assert [e[0]["field"] for e in errors[2:]] == ["specialty", "specialty"]  # the flat column
    plain = evaluate_table(table, D(2025, 9, 1), REGISTRY, outputs, engine="vector", typed=False)
    assert got.select(outputs + ["error"]).equals(plain.select(outputs + ["error"]))


def test_integer_texts_read_as_pydantic_reads_them():
    # a CSV's integers: plain ones are cast by Arrow, any other writing goes through pydantic
    # (per distinct text) — the row engine's reading, row by row, whichever way the column goes
    on = D(2025, 9, 1)
    plain = [{**physician(patients_mt=p), **contract(D(2024, 7, 1), "full", initial=max(p, 0))}
             for p in (0, 776, 1200, -3)]
    written = [{**physician(), **contract(D(2024, 7, 1), "full")} for _ in range(6)]
    for rows_, columns in ((plain, [str(r["patients_mt"]) for r in plain]),
                           (written, ["0012", "+776", " 1200", "1_000", "12.0", "-0"])):
        table = known_columns(table_of(rows_, as_text=True), on)
        table = table.set_column(table.column_names.index("patients_mt"), "patients_mt", pa.array(columns))
        computed, handed = compare(table, on, ["eligible", "annual_aid"])
        assert computed + handed == len(rows_)
    # the plain ones, by hand: 0 and 776 patients (at signature) against the 775 P30 of GPs; -3 is
    # refused (at least 0)
    out = evaluate_table(table_of(plain, as_text=True).select(known_columns(table_of(plain, True), on).column_names),
                         on, REGISTRY, ["eligible"], engine="vector", typed=False)
    assert out.column("eligible").to_pylist() == ["false", "true", "true", None]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-10**12, 10**12), st.integers(-10**6, 10**6)), min_size=1, max_size=20),
       st.integers(0, 4), st.integers(0, 4))
def test_quotients_in_columns_are_exactly_the_decimal_quotients(pairs, sx, sy):
    from decimal import Decimal
    from fractions import Fraction
    from engine.values import divide
    from engine.vector.quotients import KMAX, exact
    xs = np.array([x for x, _ in pairs], np.int64)
    ys = np.array([y for _, y in pairs], np.int64)
    q, scale, ok = exact(xs, sx, ys, sy, len(pairs))
    for (x, y), qi, oki in zip(pairs, q.tolist(), ok.tolist()):
        if y == 0:
            assert not oki
            continue
        expected = divide(Decimal(x).scaleb(-sx), Decimal(y).scaleb(-sy))
        if oki:  # the very value the row engine computes (its sign of zero included)
            assert Decimal(qi).scaleb(-scale) == expected and not (expected.is_zero() and expected.is_signed())
        else:  # left out only when it does not terminate within KMAX places, is -0, or is too large
            f = Fraction(x, 10 ** sx) / Fraction(y, 10 ** sy)
            if 10 ** KMAX % f.denominator == 0 and not (x == 0 and y < 0):
                assert abs(f) * 10 ** scale >= 2 ** 59 or abs(x) * 10 ** sy >= 2 ** 59 or abs(y) * 10 ** sx >= 2 ** 59


def test_a_product_of_bounds_beyond_int64_is_handed_back_not_unbounded():
    from engine.vector import open as open_
    # a rate within [0, 1] held at scale 16, times 38 000: the upper corner, 3.8·10²⁰, leaves the
    # int64 range — the row must go back (or be computed otherwise), never read as unbounded
    rate = open_.Interval(1, np.array([0]), np.array([10 ** 16]))
    amount = open_.Interval(1, np.array([38000]), np.array([38000]))
    _, over = open_.mul(rate, amount, 1)
    assert over is not None and bool(over[0])


def test_lists_of_different_lengths_joined_are_not_established_with_what_decides():
    # a 2023 contract of a gynaecologist without percentile: eligibility depends on the P30 and the
    # technical-acts share, so the payments are either none ([]) or a calendar — not established,
    # « dépend de » both, computed in columns
    rows_ = [{**physician(specialty="gynecologie", patients_mt=324, file_active=1035, priority_zone=True,
                          coordinated_practice=True, group_practice=True),
              **contract(D(2025, 3, 14), "half", initial=70, contract_renewal=True)}]
    values, back = run(rows_, D(2026, 9, 1), ("payments",))
    assert back == set()
    payments = json.loads(values["payments"][0])
    assert payments["not_established"].startswith("dépend de : ")
    assert "between" not in payments and "one_of" not in payments
    batch = Batch.prepare(D(2026, 9, 1), REGISTRY, ["payments"])
    expected, _ = batch.row(known_columns(table_of(rows_, as_text=False), D(2026, 9, 1)).to_pylist()[0])
    assert values["payments"][0] == cell(expected["payments"])
