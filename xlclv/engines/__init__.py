"""Engines for data past the workbook and past one machine: DuckDB, Spark and SQL.

Which path at which size (measured figures in docs/bigdata.md):

- up to ~10 million transactions: :func:`xlclv.rfm_summary` on a pandas DataFrame;
- files of any size on one machine: :func:`rfm_summary_duckdb` (streams Parquet/CSV through
  DuckDB under a memory limit), :func:`compressed_rfm` for fitting, :func:`score_chunks`;
- data in a warehouse: :func:`rfm_sql` writes the query for DuckDB, Spark SQL, Snowflake,
  BigQuery or PostgreSQL (also ``xlclv sql --dialect ...``);
- a Spark cluster: :mod:`xlclv.spark` (``rfm_summary``, ``fit``, ``score``).

Names load lazily, so importing this package needs neither duckdb nor pyspark.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "rfm_summary_duckdb": ".duckdb_engine",
    "scan_transactions_duckdb": ".duckdb_engine",
    "compressed_rfm": ".duckdb_engine",
    "TransactionScan": ".duckdb_engine",
    "CompressedRFM": ".duckdb_engine",
    "score_chunks": ".scoring",
    "iter_score_chunks": ".scoring",
    "score_frame": ".scoring",
    "SCORE_COLUMNS": ".scoring",
    "rfm_sql": ".sql",
    "rfm_query": ".sql",
    "SQL_DIALECTS": ".sql",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'xlclv.engines' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
