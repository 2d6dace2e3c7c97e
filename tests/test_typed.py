"""Typed results (engine/typed.py): Parquet and the Arrow API hold exactly the row engine's values."""
import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from dsl import types as T  # noqa: E402
from engine import evaluate, shipped_registry  # noqa: E402
from engine import typed as TY  # noqa: E402
from engine.batch import Batch, evaluate_table, run_file  # noqa: E402
from engine.flat import FlatSchema  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import realistic as R  # noqa: E402

ON = R.ON


def names_only(value):
    """The JSON form with `decided_by` reduced to the unknowns' names (what a typed column keeps),
    and numbers compared as numbers: the row engine writes a whole number computed for a decimal
    output as 1, a typed decimal column reads back "1"."""
    if isinstance(value, dict):
        if "not_established" in value:
            out = {k: names_only(v) for k, v in value.items() if k != "decided_by"}
            out["decided_by"] = [d if isinstance(d, str) else d["name"] for d in value["decided_by"]]
            return out
        return {k: names_only(v) for k, v in value.items()}
    if isinstance(value, list):
        return [names_only(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


@pytest.fixture(scope="module")
def population():
    return pa.Table.from_pylist(R.rows(300, seed=13))


@pytest.mark.parametrize("engine", ["row", "auto"])
def test_typed_parquet_round_trips_the_row_engine_exactly(population, tmp_path, engine):
    registry = shipped_registry()
    out = evaluate_table(population, ON, registry, engine=engine)
    pq.write_table(out, tmp_path / "out.parquet")
    back = pq.read_table(tmp_path / "out.parquet")
    assert back.schema == out.schema
    batch = Batch.prepare(ON, registry)
    schema = FlatSchema.of(registry.in_force(ON).model)
    open_values = 0
    for flat, typed_row in zip(population.to_pylist(), back.to_pylist()):
        case, problems = schema.case(flat)
        assert not problems and typed_row["error"] is None
        expected = evaluate(case, ON, registry, explain=False).json_values()
        for name in batch.outputs:
            assert names_only(TY.to_json_form(typed_row, name, batch.types[name])) == names_only(expected[name]), name
            open_values += typed_row[name + TY.NE] is not None
    assert open_values > 50  # the population has many values not established, bounds and all


def test_the_types_of_the_columns(population):
    out = evaluate_table(population.slice(0, 20), ON)
    types = {f.name: f.type for f in out.schema}
    assert types["annual_aid"] == pa.decimal128(18, 2)
    assert types["annual_aid__between_low"] == pa.decimal128(18, 2)
    assert types["annual_aid__decided_by"] == pa.list_(pa.string())
    assert types["achievement_rate"] == pa.decimal128(38, 32)
    assert types["contract_year"] == pa.int64()
    assert types["eligible"] == pa.bool_()
    assert types["qualification_deadline"] == pa.date32()
    assert types["governing_ruleset"] == pa.string()
    payment = types["payments"].value_type
    assert [payment.field(n).type for n in ("year", "date", "kind", "amount")] == [
        pa.int64(), pa.date32(), pa.string(), pa.decimal128(18, 2)]
    offer = types["options"].value_type
    assert offer.field("option").type == pa.dictionary(pa.int32(), pa.string())
    assert offer.field("amounts").type.value_type.field("value").type == pa.decimal128(18, 2)


def test_an_enumeration_column_has_the_members_as_dictionary():
    columns = TY.Columns("option", T.Type("enum", name="option"), {"option": ["third", "half", "full"]})
    (array, *_rest) = columns.arrays(["full", None, "half"])
    assert array.dictionary.to_pylist() == ["third", "half", "full"]
    assert array.to_pylist() == ["full", None, "half"]


def test_a_value_not_established_is_null_beside_its_reason_and_bounds():
    columns = TY.Columns("annual_aid", T.optional(T.MONEY))
    value = {"not_established": "dépend de : seuils", "between": ["11000.00", None],
             "decided_by": [{"name": "gp_threshold[50]", "label": "…", "reason": "…"}]}
    arrays = dict(zip([f.name for f in columns.fields], columns.arrays([value, "22000.00"])))
    assert arrays["annual_aid"].to_pylist() == [None, Decimal("22000.00")]
    assert arrays["annual_aid__not_established"].to_pylist() == ["dépend de : seuils", None]
    assert arrays["annual_aid__between_low"].to_pylist() == [Decimal("11000.00"), None]
    assert arrays["annual_aid__between_high"].to_pylist() == [None, None]
    assert arrays["annual_aid__decided_by"].to_pylist() == [["gp_threshold[50]"], None]


def test_money_that_a_column_cannot_hold_exactly_is_refused_not_rounded():
    columns = TY.Columns("annual_aid", T.MONEY)
    with pytest.raises(TY.TypedError, match=r"résultat `annual_aid` : la valeur 1.234 ne tient pas exactement"):
        columns.arrays(["1.234"])


def test_parquet_of_millesime_batch_is_typed_and_csv_keeps_text(tmp_path, population):
    import csv
    path = tmp_path / "cases.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=R.COLUMNS)
        writer.writeheader()
        writer.writerows(population.slice(0, 40).to_pylist())
    run_file(path, ON, tmp_path / "out.parquet", outputs=["annual_aid", "payments"], progress=False)
    run_file(path, ON, tmp_path / "out.csv", outputs=["annual_aid", "payments"], progress=False)
    typed = pq.read_table(tmp_path / "out.parquet")
    assert typed.schema.field("row").type == pa.int64()
    assert typed.schema.field("annual_aid").type == pa.decimal128(18, 2)
    assert typed.schema.field("specialty").type == pa.string()  # the inputs as read
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        text = list(csv.DictReader(handle))
    assert len(text) == typed.num_rows == 40
    for t_row, c_row in zip(typed.to_pylist(), text):
        t = T.optional(T.MONEY)
        expected = TY.to_json_form(t_row, "annual_aid", t)
        assert (c_row["annual_aid"] or None) == (expected if not isinstance(expected, dict) else c_row["annual_aid"])
        if isinstance(expected, dict):
            assert c_row["annual_aid"].startswith('{"not_established"')
    dates = [p["date"] for r in typed.column("payments").to_pylist() if r for p in r]
    assert dates and all(isinstance(d, dt.date) and d >= dt.date(2019, 9, 1) for d in dates)


def test_enumerations_as_plain_strings_for_spark(population):
    from engine.batch import evaluate_batches, output_schema
    table = population.slice(0, 30)
    schema = output_schema(table.schema, ON, dictionaries=False)
    assert schema.field("options").type.value_type.field("option").type == pa.string()
    batches = list(evaluate_batches(table.to_batches(), ON, dictionaries=False))
    assert all(b.schema == schema for b in batches)
    plain = pa.Table.from_batches(batches)
    typed = evaluate_table(table, ON)
    assert plain.column("options").to_pylist() == typed.column("options").to_pylist()
