"""A real distributed run: `evaluate_table` and the compare core on a Dask `distributed` cluster of
two worker processes over a partitioned Parquet dataset give exactly the single-process results.
Spark's `mapInArrow` recipe runs where pyspark and Java are present, and is skipped otherwise."""
import os
import shutil
import sys
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from engine import shipped_registry  # noqa: E402
from engine.batch import evaluate_table  # noqa: E402
from engine.compare import Period, compare_rows, summarize  # noqa: E402
from engine.registry import Registry  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import realistic as R  # noqa: E402
from test_compare import REFORM  # noqa: E402

ON = R.ON
PARTS = 4


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """240 physicians of bench/realistic.py in four Parquet files (cells as text, as from a CSV), with
    a region and a weight for the comparison."""
    folder = tmp_path_factory.mktemp("population")
    rows = R.rows(240, seed=41)
    for i, row in enumerate(rows):
        row["region"] = ("nord", "sud", "est")[i % 3]
        row["weight"] = str(1 + i % 4)
    table = pa.Table.from_pylist(rows)
    size = table.num_rows // PARTS
    for part in range(PARTS):
        pq.write_table(table.slice(part * size, size), folder / f"part-{part}.parquet")
    reform = folder.parent / "reforme.mil"
    reform.write_text(REFORM, encoding="utf-8")
    return folder, table, reform


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("dask.dataframe", reason="the `distributed` extra (dask[distributed]) is not installed")
    distributed = pytest.importorskip("distributed", reason="the `distributed` extra is not installed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    client.wait_for_workers(2, timeout=60)
    yield client
    client.close()
    cluster.close()


def test_two_worker_processes(client):
    pids = client.run(os.getpid)
    assert len(pids) == 2 and len(set(pids.values())) == 2 and os.getpid() not in pids.values()


def test_evaluate_table_on_dask_equals_the_single_process_table(client, dataset):
    import dask.dataframe as dd

    from engine.distributed import evaluate_partition
    folder, table, _ = dataset
    ddf = dd.read_parquet(str(folder), dtype_backend="pyarrow").drop(columns=["region", "weight"])
    assert ddf.npartitions == PARTS
    meta = evaluate_partition(ddf._meta, ON)
    gathered = ddf.map_partitions(evaluate_partition, ON, meta=meta).compute()
    got = pa.Table.from_pandas(gathered, preserve_index=False)
    expected = evaluate_table(table.drop_columns(["region", "weight"]), ON, shipped_registry())
    outputs = expected.column_names[len(R.COLUMNS):]
    assert got.select(outputs).schema.remove_metadata() == expected.select(outputs).schema  # typed, as is
    assert got.select(outputs).equals(expected.select(outputs))
    # the input columns, read by Dask as large strings, hold the same texts
    assert got.cast(expected.schema).equals(expected)
    assert got.column("annual_aid").null_count < got.num_rows  # amounts computed, not only errors


def test_the_compare_core_on_dask_equals_the_single_process_summary(client, dataset):
    import dask.dataframe as dd

    from engine.distributed import compare_partition
    folder, table, reform = dataset
    period = Period.years(2026, 2028)
    ddf = dd.read_parquet(str(folder), dtype_backend="pyarrow")
    args = (period, str(reform), None, "weight", ("region",))
    meta = compare_partition(ddf._meta, *args)
    gathered = pa.Table.from_pandas(ddf.map_partitions(compare_partition, *args, meta=meta).compute(),
                                    preserve_index=False)
    baseline, reformed = Registry.load(), Registry.load(reform=reform)
    expected = compare_rows(table, baseline, reformed, period, "weight", by=("region",))
    gathered = gathered.cast(expected.schema)  # the input columns, read by Dask as large strings
    assert gathered.equals(expected)
    assert summarize(gathered, period, "weight", ["region"]) == summarize(expected, period, "weight", ["region"])
    assert summarize(expected, period)["winners"] > 0


@pytest.mark.skipif(shutil.which("java") is None, reason="Java is not installed (Spark needs it)")
def test_spark_map_in_arrow(dataset, monkeypatch):
    pytest.importorskip("pyspark", reason="pyspark is not installed")
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)  # the workers run this interpreter (Millésime installed)
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # on loopback only
    from pyspark.sql import SparkSession
    from pyspark.sql.pandas.types import from_arrow_schema

    from engine.batch import evaluate_batches, output_schema
    folder, table, _ = dataset
    outputs = ["eligible", "annual_aid", "contract_year", "options"]  # options: a list of structs with an enum
    spark = (SparkSession.builder.master("local[2]").appName("millesime")
             .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.ui.enabled", "false").getOrCreate())
    try:  # the recipe of docs/batch.md
        df = spark.read.parquet(str(folder)).drop("region", "weight")
        schema = output_schema(df.limit(0).toArrow().schema, ON, outputs=outputs, dictionaries=False)
        result = df.mapInArrow(lambda batches: evaluate_batches(batches, ON, outputs=outputs, dictionaries=False),
                               from_arrow_schema(schema))
        got = result.toArrow()
    finally:
        spark.stop()
    expected = evaluate_table(table.drop_columns(["region", "weight"]), ON, outputs=outputs)
    # Spark reads the files in its own order: the same rows, each with the same results
    assert got.num_rows == expected.num_rows
    assert sorted(map(repr, got.to_pylist())) == sorted(map(repr, expected.to_pylist()))
    assert got.schema.field("annual_aid").type == pa.decimal128(18, 2)
