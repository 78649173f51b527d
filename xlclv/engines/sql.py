"""The RFM summary as one SQL query, written once and translated for each warehouse.

The query is written in DuckDB's dialect (:func:`rfm_query`) and translated with sqlglot to
Spark SQL, Snowflake, BigQuery and PostgreSQL (:func:`rfm_sql`). It computes exactly what
:func:`xlclv.transactions.rfm_summary` computes:

- a purchase is a row with an amount above 0 (0 or more with ``include_zero_amounts``) on or
  before the end of observation; rows after it are left out;
- purchases collapse per calendar day (the day of a timestamp), their amounts summed;
- ``frequency`` is the number of purchase days minus 1; ``recency`` the days from the first to
  the last purchase day and ``T`` the days from the first purchase day to the end of
  observation, each divided by the days per unit (1, 7 or 365.25/12 = 30.4375, all exact in
  binary floating point, so recency and T are the same doubles as in pandas);
- ``monetary_value`` is the mean amount of the repeat (non-first) purchase days, 0 if none.

One difference, stated in the query: rows whose customer id, date or amount is missing (NULL)
are left out, where :func:`~xlclv.transactions.rfm_summary` raises an error. Count them in the
warehouse first (``COUNT(*) - COUNT(col)``) if that matters; the DuckDB engine
(:func:`xlclv.engines.scan_transactions_duckdb`) counts and lists them for you. Values that do
not cast to a date or a number make the warehouse raise its own cast error.
"""

from __future__ import annotations

import datetime as _dt

import pandas as pd

from .._errors import InputError
from .._timeunits import DAYS_PER_UNIT, check_time_unit

__all__ = ["SQL_DIALECTS", "rfm_query", "rfm_sql"]

#: The dialects :func:`rfm_sql` writes (sqlglot's names).
SQL_DIALECTS: tuple[str, ...] = ("duckdb", "spark", "snowflake", "bigquery", "postgres")

#: The output columns after the customer id.
OUTPUT_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def _quote(name: str, what: str) -> str:
    """A double-quoted identifier (DuckDB syntax; sqlglot re-quotes for each dialect)."""
    if not isinstance(name, str) or not name:
        raise InputError(f"{what} must be a column name (text), got {name!r}")
    return '"' + name.replace('"', '""') + '"'


def _table(table: str) -> str:
    """A table name, optionally qualified (db.schema.table); each part is quoted."""
    if not isinstance(table, str) or not table.strip():
        raise InputError(f"table must be a table name such as sales.transactions, got {table!r}")
    parts = table.strip().split(".")
    if any(not p for p in parts):
        raise InputError(f"table {table!r} has an empty part; write it as db.schema.table")
    return ".".join(_quote(p, "table") for p in parts)


def _date_literal(value: object, name: str) -> str:
    if isinstance(value, (bool, int, float)):
        raise InputError(f"{name} must be a date such as 2024-12-31, got the number {value!r}")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{name} must be a date such as 2024-12-31, got {value!r}") from None
    if ts is pd.NaT:
        raise InputError(f"{name} must be a date such as 2024-12-31, got a missing value")
    return f"DATE '{_dt.date(ts.year, ts.month, ts.day).isoformat()}'"


def rfm_query(
    table: str,
    *,
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    time_unit: str = "W",
    observation_end: object = None,
    include_zero_amounts: bool = False,
) -> str:
    """The RFM summary query in DuckDB's dialect (the one source every dialect comes from).

    Parameters are those of :func:`rfm_sql` (without ``dialect``).

    Returns
    -------
    str
        A ``WITH ... SELECT`` query with one row per customer that has a purchase day by the
        end of observation: the customer id (under its own column name), ``frequency``,
        ``recency``, ``T``, ``monetary_value``, sorted by customer id.
    """
    unit = check_time_unit(time_unit)
    per_unit = repr(DAYS_PER_UNIT[unit])  # 1.0, 7.0, 30.4375: exact doubles
    cid, day, amt = (
        _quote(customer_id, "customer_id"),
        _quote(date, "date"),
        _quote(amount, "amount"),
    )
    if len({customer_id, date, amount}) < 3:
        raise InputError(
            f"customer_id, date and amount must be three different columns, got "
            f"{customer_id!r}, {date!r}, {amount!r}"
        )
    end = (
        "SELECT MAX(xl_day) AS xl_end_day FROM xl_rows"
        if observation_end is None
        else f"SELECT {_date_literal(observation_end, 'observation_end')} AS xl_end_day"
    )
    bought = "s.xl_amount >= 0" if include_zero_amounts else "s.xl_amount > 0"
    return f"""-- xlclv RFM summary (frequency, recency, T in {unit}, monetary_value).
-- Rows with a missing customer id, date or amount are left out.
WITH xl_rows AS (
  SELECT {cid} AS xl_customer, CAST({day} AS DATE) AS xl_day, CAST({amt} AS DOUBLE) AS xl_amount
  FROM {_table(table)}
  WHERE {cid} IS NOT NULL AND {day} IS NOT NULL AND {amt} IS NOT NULL
),
xl_end AS (
  {end}
),
xl_days AS (
  SELECT s.xl_customer, s.xl_day, SUM(s.xl_amount) AS xl_amount
  FROM xl_rows AS s CROSS JOIN xl_end AS e
  WHERE {bought} AND s.xl_day <= e.xl_end_day
  GROUP BY s.xl_customer, s.xl_day
),
xl_marked AS (
  SELECT xl_customer, xl_day, xl_amount,
    MIN(xl_day) OVER (PARTITION BY xl_customer) AS xl_first_day
  FROM xl_days
)
SELECT
  m.xl_customer AS {cid},
  CAST(COUNT(*) - 1 AS DOUBLE) AS "frequency",
  CAST(DATE_DIFF('day', MIN(m.xl_day), MAX(m.xl_day)) AS DOUBLE) / CAST({per_unit} AS DOUBLE)
    AS "recency",
  CAST(DATE_DIFF('day', MIN(m.xl_day), MAX(e.xl_end_day)) AS DOUBLE) / CAST({per_unit} AS DOUBLE)
    AS "T",
  COALESCE(
    SUM(CASE WHEN m.xl_day > m.xl_first_day THEN m.xl_amount END)
      / CAST(NULLIF(COUNT(*) - 1, 0) AS DOUBLE),
    CAST(0 AS DOUBLE)
  ) AS "monetary_value"
FROM xl_marked AS m CROSS JOIN xl_end AS e
GROUP BY m.xl_customer
ORDER BY m.xl_customer
"""


def rfm_sql(
    table: str,
    *,
    dialect: str = "duckdb",
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    time_unit: str = "W",
    observation_end: object = None,
    include_zero_amounts: bool = False,
    pretty: bool = True,
) -> str:
    """The RFM summary as a SQL query for a warehouse, in the given dialect.

    The same numbers as :func:`xlclv.transactions.rfm_summary` (see the module docstring),
    computed where the data lives; run the query and fit the models on its result (or on the
    compressed rows: ``GROUP BY frequency, recency, "T"`` with ``COUNT(*)`` as weights).

    Parameters
    ----------
    table : str
        The transactions table, optionally qualified (``db.schema.table``); each part is quoted
        as an identifier, so it is never SQL text.
    dialect : {"duckdb", "spark", "snowflake", "bigquery", "postgres"}
        The SQL dialect to write (sqlglot's names; "spark" is Spark SQL / Databricks).
    customer_id, date, amount : str
        Column names of the customer id, the purchase date (a DATE or TIMESTAMP; the day is
        used) and the amount.
    time_unit : {"D", "W", "M"}
        Unit of recency and T: days, weeks (7 days) or months (365.25/12 days).
    observation_end : date-like, optional
        The last day observed, inclusive; later rows are left out. Defaults to the last date
        in the table (computed by the query).
    include_zero_amounts : bool, default False
        Count amounts of exactly 0 as purchases (see :func:`~xlclv.transactions.rfm_summary`).
    pretty : bool, default True
        Indent the query.

    Returns
    -------
    str
        The query. Its columns: the customer id (under its own name), ``frequency``,
        ``recency``, ``T``, ``monetary_value``; one row per customer, sorted by id.

    Raises
    ------
    InputError
        An unknown dialect or time unit, an empty name or an unreadable observation_end.

    Notes
    -----
    Rows with a missing (NULL) id, date or amount are left out; ``rfm_summary`` raises on them
    instead. Timestamps with a time zone are dated in the warehouse session's time zone.
    Written once in DuckDB's dialect and translated with sqlglot
    (https://github.com/tobymao/sqlglot).

    Examples
    --------
    >>> print(rfm_sql("sales.tx", dialect="snowflake", time_unit="D").splitlines()[0])
    -- xlclv RFM summary (frequency, recency, T in D, monetary_value).
    """
    import sqlglot

    if dialect not in SQL_DIALECTS:
        raise InputError(f"dialect must be one of {', '.join(SQL_DIALECTS)}, got {dialect!r}")
    query = rfm_query(
        table,
        customer_id=customer_id,
        date=date,
        amount=amount,
        time_unit=time_unit,
        observation_end=observation_end,
        include_zero_amounts=include_zero_amounts,
    )
    (out,) = sqlglot.transpile(query, read="duckdb", write=dialect, pretty=pretty)
    return out
