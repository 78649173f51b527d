"""``xlclv sql``: print the RFM summary query for a warehouse.

``xlclv sql --dialect {duckdb,spark,snowflake,bigquery,postgres} --table T
[--customer-id COL] [--date COL] [--amount COL] [--time-unit W] [--observation-end DATE]
[--calibration-end DATE] [--include-zero-amounts]`` prints the query of :func:`xlclv.engines.sql.rfm_sql` to stdout,
ready to run in the warehouse (or to save as a view).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def _cmd_sql(args: argparse.Namespace, console: Any) -> int:
    from .engines.sql import rfm_sql

    print(
        rfm_sql(
            args.table,
            dialect=args.dialect,
            customer_id=args.customer_id,
            date=args.date,
            amount=args.amount,
            time_unit=args.time_unit,
            observation_end=args.observation_end,
            include_zero_amounts=args.include_zero_amounts,
            calibration_end=args.calibration_end,
        )
    )
    return 0


def register(subparsers: Any) -> None:
    """Add ``sql`` to the ``xlclv`` command's subparsers."""
    from .engines.sql import SQL_DIALECTS

    p = subparsers.add_parser(
        "sql",
        help="print the RFM summary query for DuckDB, Spark, Snowflake, BigQuery or PostgreSQL",
        description=(
            "Print the SQL that computes the RFM summary (frequency, recency, T, "
            "monetary_value per customer) from a transactions table, in the warehouse's "
            "dialect. The same numbers as xlclv's rfm_summary; rows with a missing id, date or "
            "amount are left out."
        ),
    )
    p.add_argument("--dialect", required=True, choices=SQL_DIALECTS, help="SQL dialect to write")
    p.add_argument("--table", required=True, help="transactions table, e.g. sales.transactions")
    p.add_argument("--customer-id", default="customer_id", help="default: customer_id")
    p.add_argument("--date", default="date", help="default: date")
    p.add_argument("--amount", default="amount", help="default: amount")
    p.add_argument(
        "--time-unit",
        default="W",
        choices=("D", "W", "M"),
        help="unit of recency and T: D days, W weeks (default), M months of 365.25/12 days",
    )
    p.add_argument(
        "--observation-end",
        default=None,
        metavar="DATE",
        help="last day observed (yyyy-mm-dd), inclusive; default: the last date in the table",
    )
    p.add_argument(
        "--calibration-end",
        default=None,
        metavar="DATE",
        help="split here (yyyy-mm-dd, inclusive) and print the calibration/holdout query",
    )
    p.add_argument(
        "--include-zero-amounts",
        action="store_true",
        help="count amounts of exactly 0 as purchases",
    )
    p.set_defaults(handler=_cmd_sql)
