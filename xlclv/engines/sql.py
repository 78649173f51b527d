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
    calibration_end: object = None,
    order_by: bool = True,
) -> str:
    """The RFM summary query in DuckDB's dialect (the one source every dialect comes from).

    Parameters are those of :func:`rfm_sql` (without ``dialect``).

    Returns
    -------
    str
        A ``WITH ... SELECT`` query with one row per customer that has a purchase day by the
        end of observation: the customer id (under its own column name), ``frequency``,
        ``recency``, ``T``, ``monetary_value``, sorted by customer id (unless ``order_by`` is
        False: sorting a million rows is a noticeable share of the query's time). With
        ``calibration_end``, the columns of the calibration/holdout split instead (see
        :func:`rfm_sql`).

    Notes
    -----
    The first purchase day of each customer comes from a join of the day-level rows with
    their per-customer minimum (a window ``MIN(...) OVER (PARTITION BY ...)`` is about twice
    as slow in DuckDB); the repeat days' amounts are summed directly, never computed as the
    total minus the first day, which would lose digits to cancellation.
    """
    unit = check_time_unit(time_unit)
    per_unit = repr(DAYS_PER_UNIT[unit])  # 1.0, 7.0, 30.4375: exact doubles
    cid, day, amt = _column_identifiers(customer_id, date, amount)
    end_literal, cal_literal = _end_literals(observation_end, calibration_end)
    columns = f"{end_literal or 'MAX(xl_day)'} AS xl_end_day"
    if cal_literal:
        columns += f", {cal_literal} AS xl_cal_day"
    select, having = (
        _summary_columns(cid, per_unit) if cal_literal is None else _holdout_columns(cid, per_unit)
    )
    return _QUERY.format(
        what="frequency, recency, T" if cal_literal is None else "calibration/holdout split",
        unit=unit,
        cid=cid,
        day=day,
        amt=amt,
        table=_table(table),
        end=f"SELECT {columns}" + (" FROM xl_rows" if end_literal is None else ""),
        bought="s.xl_amount >= 0" if include_zero_amounts else "s.xl_amount > 0",
        select=select,
        having=having,
        order="\nORDER BY d.xl_customer" if order_by else "",
    )


#: The query of :func:`rfm_query`, to be filled in with ``str.format``.
_QUERY = """-- xlclv RFM summary ({what} in {unit}, monetary_value).
-- Rows with a missing customer id, date or amount are left out.
WITH xl_rows AS (
  SELECT {cid} AS xl_customer, CAST({day} AS DATE) AS xl_day, CAST({amt} AS DOUBLE) AS xl_amount
  FROM {table}
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
xl_first AS (
  SELECT xl_customer, MIN(xl_day) AS xl_first_day FROM xl_days GROUP BY xl_customer
)
SELECT
  d.xl_customer AS {cid},
{select}
FROM xl_days AS d
JOIN xl_first AS f ON d.xl_customer = f.xl_customer
CROSS JOIN xl_end AS e
GROUP BY d.xl_customer{having}{order}
"""


def _column_identifiers(customer_id: str, date: str, amount: str) -> tuple[str, str, str]:
    """The three column names as quoted identifiers, checked to be three different columns."""
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
    return cid, day, amt


def _end_literals(
    observation_end: object, calibration_end: object
) -> tuple[str | None, str | None]:
    """The observation and calibration ends as SQL date literals (None where not given).

    Raises
    ------
    InputError
        A value that is not a date, or a calibration end not before the observation end.
    """
    end_literal = (
        None if observation_end is None else _date_literal(observation_end, "observation_end")
    )
    cal_literal = (
        None if calibration_end is None else _date_literal(calibration_end, "calibration_end")
    )
    if end_literal and cal_literal and not cal_literal < end_literal:  # ISO dates sort as text
        raise InputError(
            f"calibration_end ({cal_literal[6:-1]}) must be before observation_end "
            f"({end_literal[6:-1]}); the holdout period between them is empty"
        )
    return end_literal, cal_literal


def _days(start: str, stop: str, per_unit: str) -> str:
    """(stop - start) in days, divided by the days per unit, as a DOUBLE."""
    return f"CAST(DATE_DIFF('day', {start}, {stop}) AS DOUBLE) / CAST({per_unit} AS DOUBLE)"


def _mean(total: str, count: str) -> str:
    """total / count, 0 where count is 0."""
    return f"COALESCE({total} / CAST(NULLIF({count}, 0) AS DOUBLE), CAST(0 AS DOUBLE))"


def _summary_columns(cid: str, per_unit: str) -> tuple[str, str]:
    repeat = "SUM(CASE WHEN d.xl_day > f.xl_first_day THEN d.xl_amount END)"
    return (
        f"""  CAST(COUNT(*) - 1 AS DOUBLE) AS "frequency",
  {_days("MIN(d.xl_day)", "MAX(d.xl_day)", per_unit)} AS "recency",
  {_days("MIN(d.xl_day)", "MAX(e.xl_end_day)", per_unit)} AS "T",
  {_mean(repeat, "COUNT(*) - 1")} AS "monetary_value\"""",
        "",
    )


def _holdout_columns(cid: str, per_unit: str) -> tuple[str, str]:
    in_cal = "d.xl_day <= e.xl_cal_day"
    days_cal = f"SUM(CASE WHEN {in_cal} THEN 1 ELSE 0 END)"
    days_holdout = f"SUM(CASE WHEN NOT {in_cal} THEN 1 ELSE 0 END)"
    repeat_cal = f"SUM(CASE WHEN d.xl_day > f.xl_first_day AND {in_cal} THEN d.xl_amount END)"
    holdout_spend = f"SUM(CASE WHEN NOT {in_cal} THEN d.xl_amount END)"
    last_cal = f"MAX(CASE WHEN {in_cal} THEN d.xl_day END)"
    return (
        f"""  CAST({days_cal} - 1 AS DOUBLE) AS "frequency_cal",
  {_days("MIN(d.xl_day)", last_cal, per_unit)} AS "recency_cal",
  {_days("MIN(d.xl_day)", "MAX(e.xl_cal_day)", per_unit)} AS "T_cal",
  {_mean(repeat_cal, days_cal + " - 1")} AS "monetary_value_cal",
  CAST({days_holdout} AS DOUBLE) AS "frequency_holdout",
  {_mean(holdout_spend, days_holdout)} AS "monetary_value_holdout",
  {_days("MAX(e.xl_cal_day)", "MAX(e.xl_end_day)", per_unit)} AS "duration_holdout\"""",
        "\nHAVING MIN(d.xl_day) <= MAX(e.xl_cal_day)",
    )


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
    calibration_end: object = None,
    order_by: bool = True,
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
    calibration_end : date-like, optional
        Split at this day (inclusive in the calibration period) and return, per customer whose
        first purchase is on or before it, the columns of ``rfm_summary(...,
        calibration_end=...)``: ``frequency_cal``, ``recency_cal``, ``T_cal``,
        ``monetary_value_cal``, ``frequency_holdout``, ``monetary_value_holdout`` (mean per
        holdout purchase day, 0 if none) and ``duration_holdout``. When both dates are given,
        calibration_end must be before observation_end.
    order_by : bool, default True
        Sort the result by customer id, as ``rfm_summary`` does (a global sort: leave it out
        when the result feeds another query).
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
    /* xlclv RFM summary (frequency, recency, T in D, monetary_value). */
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
        calibration_end=calibration_end,
        order_by=order_by,
    )
    (out,) = sqlglot.transpile(query, read="duckdb", write=dialect, pretty=pretty)
    return out
