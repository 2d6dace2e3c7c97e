"""Millésime on the partitions of a distributed engine (Dask, Spark): pure functions of one
partition, registries loaded once per worker process.

    evaluate_partition(pdf, on, outputs=None, reform=None)    # pandas → pandas (Dask map_partitions)
    compare_partition(pdf, period, reform, baseline=None, …)  # pandas → pandas, compare_rows' columns

A partition comes in as pandas (any dtype backend) and goes out with Arrow-backed columns
(`pd.ArrowDtype`): the typed results (decimal128 money, dates, lists of structs, dictionaries) go
through pandas unchanged, so the gathered partitions equal the single-process Arrow table exactly.
Each worker loads and compiles the rulesets once (a cache per process, keyed by the folder and
reform file). See docs/batch.md for the Dask and Spark recipes.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

from .registry import Registry


@lru_cache(maxsize=8)
def registry(rulesets: str | None = None, reform: str | None = None) -> Registry:
    """The registry of a folder (the shipped one by default) with a reform laid over it, once per process."""
    if rulesets is None and reform is None:
        from . import shipped_registry
        return shipped_registry()
    return Registry.load(rulesets, reform=reform)


def _arrow(pdf):
    import pyarrow as pa
    return pa.Table.from_pandas(pdf, preserve_index=False)


def _pandas(table, index=None):
    import pandas as pd
    out = table.to_pandas(types_mapper=pd.ArrowDtype)
    if index is not None:
        out.index = index
    return out


def evaluate_partition(pdf, on: dt.date, outputs: list[str] | None = None, reform: str | None = None,
                       rulesets: str | None = None, engine: str = "auto"):
    """`evaluate_table` on a pandas partition: the input columns, then the typed outputs and `error`."""
    from .batch import evaluate_table
    return _pandas(evaluate_table(_arrow(pdf), on, registry(rulesets, reform), outputs, engine), pdf.index)


def compare_partition(pdf, period, reform: str, baseline: str | None = None, weight: str | None = None,
                      by: tuple = (), rulesets: str | None = None, engine: str = "auto"):
    """`compare_rows` on a pandas partition (`period`: an engine.compare.Period)."""
    from .compare import compare_rows
    rows = compare_rows(_arrow(pdf), registry(rulesets, baseline), registry(rulesets, reform), period, weight,
                        engine, tuple(by))
    return _pandas(rows, pdf.index)
