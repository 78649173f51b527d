"""The report of a transaction log too big for pandas: the same stages, the data work in DuckDB.

:func:`build_report_big` takes a Parquet or CSV file, a folder or glob of Parquet files, or a
table of a DuckDB database and returns the same :class:`~xlclv.report.pipeline.Report` as
:func:`~xlclv.report.pipeline.build_report` does for the same rows, without ever holding the
transactions in Python:

- **clean** (SQL): the columns are found as the workbook path finds them (``Customer ID`` ~
  ``customer_id``); ids and segment values are text (``123.0`` -> ``"123"``, trimmed, blank
  segment = ``"(blank)"``); fully blank rows are ignored; rows with a blank id, a blank or
  unreadable date or amount, or a date after ``observation_end`` are not used; zero amounts
  are kept but are not purchases. Every such row is counted by kind (on the Model sheet) and
  the first :data:`MAX_ISSUE_ROWS` are listed on Data issues, with the workbook path's texts.
- **summarise** (SQL), pass by pass: a narrow aggregation per customer and day (rows,
  purchases and their sum, net amount), then from that day table each customer's first
  purchase day; per customer: the RFM summary, orders, net revenue and the calibration counts
  of the holdout check; per (first purchase day, month since it): the cohort revenue curves
  and the totals. After the passes, one more read of the rows, joined with the first purchase
  days, gives each segment column's value on the first purchase (earliest day, then input
  order: the workbook path's rule). Logs above :data:`ROWS_PER_PASS` rows are split into
  passes by a hash of the customer id, so each pass fits in DuckDB's memory. The customer
  table ``xl_cust`` stays in DuckDB, stored in customer-id order.
- **fit**: the models are fitted on the distinct (frequency, recency, T) rows with their counts
  as weights (the same likelihood as over all customers), Gamma-Gamma on the distinct
  (frequency, monetary_value) pairs of the repeat buyers.
- **value**: the purchase model once per distinct (frequency, recency, T) row, spread to the
  customers by index, with the same operations per customer as
  :func:`xlclv.valuation.customer_lifetime_value`; the spend model in chunks of
  :data:`CHUNK` customers; the churn column ``P(no purchase, next N days)`` likewise; the
  CLV ranges of the total and of every segment's total exactly from one weighted row per
  distinct (frequency, recency, T, segment) (:func:`_clv_ranges`), per customer only for
  the Customers sheet's customers.
- **segment**: segment, cohort, concentration and P(alive) tables over *all* customers.
- **assemble**: the workbook path's own :func:`~xlclv.report.pipeline.assemble`.

Outputs that fit Excel: the Customers sheet holds at most ``max_customer_rows`` customers
(default :data:`MAX_CUSTOMER_ROWS`); with more, it keeps the top ones by predicted CLV and
says so on the sheet and on the Model sheet, and every customer's scores go to a scores file
(:func:`write_scores`; the CLI writes ``<report>-scores.parquet`` beside the workbook unless
``--scores`` names another .parquet or .csv file).

Which path the CLI takes (:func:`use_big_path`): this one for Parquet files, folders, globs and
DuckDB tables, and for CSV files of :data:`BIG_CSV_BYTES` or more; the in-memory path for
workbooks and smaller CSV files.

The engine's source reader and typing rules are shared (``xlclv.engines.duckdb_engine``'s
``connect``, ``open_source`` and ``typed_sql``), so the report and ``rfm_summary_duckdb`` read
files alike.

Known differences from the workbook path, none of which changes a number on data both read:
``Row`` of a Data issue counts data rows as the workbook path does (first data row = 2, a CSV's
line number) but a CSV's completely empty lines are skipped by DuckDB's reader, so row numbers
after such a line are one lower; with ``segment_by`` blank, a column's distinct values are
counted over all usable rows (the workbook path leaves out customers who only returned).
Where the workbook path's guards would give another number (dates after today with no
observation_end, $0 purchases, text dates or amounts only it reads, ``periods``), this path
stops with an :class:`~xlclv._errors.InputError` (:func:`_stop_where_different`); model = AUTO
chooses by AIC only (no holdout refit of each candidate).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xlclv._errors import ConvergenceWarning, FitError, InputError, WorkbookError, XlclvError
from xlclv._timeunits import DAYS_PER_MONTH, DAYS_PER_UNIT, months_to_units
from xlclv.report import checks
from xlclv.report import pipeline as _mem
from xlclv.report import segments as seg
from xlclv.report.clean import blank_id_problem, problem_for_bad
from xlclv.report.fit import (
    MeanSpend,
    choose_model,
    comparison_table,
    fit_candidate,
    purchase_model,
)
from xlclv.report.holdout import holdout_sentence
from xlclv.report.pipeline import (
    STAGES,
    Cleaned,
    Fits,
    Groups,
    Holdout,
    Report,
    Summary,
    Values,
    assemble,
    segment_dimensions,
)
from xlclv.report.settings import AUTO, MAX_SEGMENTS, MODELS, Settings, available_models

__all__ = [
    "BIG_CSV_BYTES",
    "MAX_CUSTOMER_ROWS",
    "MAX_ISSUE_ROWS",
    "BigReport",
    "build_report_big",
    "limit_customers",
    "data_source_setting",
    "default_scores_path",
    "use_big_path",
    "write_scores",
]

#: Customers the Customers sheet holds at most by default (Excel's limit is 1,048,575).
MAX_CUSTOMER_ROWS = 100_000
#: Data issues listed at most (all are counted).
MAX_ISSUE_ROWS = 10_000
#: CSV files this big or bigger go through DuckDB (pandas needs ~10x the file size in memory).
BIG_CSV_BYTES = 256 * 2**20
#: Transactions summarised per pass: bigger logs are copied once, split by customer (a hash of
#: the id), into passes of about this many rows, each fitting in DuckDB's memory (measured: one
#: pass over 100M rows spilled to disk and took 7x the time of ten passes' worth at 10M rows).
#: At 100M rows the summarise stage took 37.0, 37.7, 38.0, 39.0, 39.4 and 42.5 s with passes of
#: 5, 10, 14.3, 20, 25 and 34M rows.
ROWS_PER_PASS = 10_000_000
#: Customers scored per step.
CHUNK = 1_000_000
_EXCEL_ROWS = 1_048_575
_PARQUET = {".parquet", ".pq"}
_DATABASE = {".duckdb", ".db", ".ddb"}
_CSV = {".csv", ".tsv", ".txt"}
_INTEGER = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT")
_INTEGER += ("UINTEGER", "UBIGINT", "UHUGEINT")
_FLOAT = ("FLOAT", "DOUBLE", "DECIMAL", "REAL")


@dataclass
class BigReport:
    """What :func:`build_report_big` returns besides the :class:`Report`.

    Attributes
    ----------
    report : Report
        For the normal writer (:func:`xlclv.report.writer.write_report`).
    customers_total : int
        Customers in the data (the Customers sheet may hold fewer).
    truncated : bool
        The Customers sheet holds only the top ``max_customer_rows`` by predicted CLV.
    scores_path : pathlib.Path or None
        Where every customer's scores were written, if anywhere.
    issue_counts : pandas.DataFrame
        Rows not used or caveated, by kind: ``Problem``, ``Column``, ``Rows``.
    times : dict
        Seconds per stage.
    """

    report: Report
    customers_total: int
    truncated: bool
    scores_path: Path | None
    issue_counts: pd.DataFrame
    times: dict[str, float] = field(default_factory=dict)


# -- which path ---------------------------------------------------------------------------------


def use_big_path(source: object, table: str | None = None) -> bool:
    """True if the CLI reports on ``source`` through DuckDB rather than pandas.

    Folders, globs and DuckDB databases (``table``) always; a Parquet or CSV file from
    :data:`BIG_CSV_BYTES` (256 MiB) on; workbooks never. Smaller files go through the
    workbook path, which applies every guard of :mod:`xlclv.report.checks`.
    """
    if table:
        return True
    text = str(source)
    if any(ch in text for ch in "*?["):
        return True
    path = Path(text)
    if path.is_dir():
        return True
    suffix = path.suffix.lower()
    if suffix in _DATABASE:
        return True
    if (suffix in _PARQUET or suffix in _CSV) and path.is_file():
        return path.stat().st_size >= BIG_CSV_BYTES
    return False


def default_scores_path(workbook: str | os.PathLike[str]) -> Path:
    """The scores file written beside a workbook: ``report.xlsx`` -> ``report-scores.parquet``."""
    p = Path(workbook)
    return p.with_name(f"{p.stem}-scores.parquet")


def data_source_setting(values: dict[str, Any] | None) -> str | None:
    """The ``data_source`` setting of a Settings sheet (a file path or glob), or None.

    Keys match as the other settings do (case, spaces, hyphens and underscores ignored).
    """
    for key, value in (values or {}).items():
        if str(key).strip().lower().replace(" ", "_").replace("-", "_") == "data_source":
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return None
            text = str(value).strip()
            return text or None
    return None


def max_customer_rows_setting(values: dict[str, Any] | None) -> int | None:
    """The ``max_customer_rows`` setting of a Settings sheet, validated, or None (blank)."""
    for key, value in (values or {}).items():
        if str(key).strip().lower().replace(" ", "_").replace("-", "_") == "max_customer_rows":
            if value is None or (isinstance(value, str) and not value.strip()):
                return None
            return _check_max_rows(value, sheet="Settings")
    return None


def _check_max_rows(value: object, sheet: str | None = None) -> int:
    try:
        n = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        n = float("nan")
    if isinstance(value, bool) or not math.isfinite(n) or n != int(n) or not 1 <= n <= _EXCEL_ROWS:
        raise InputError(
            f"Setting 'max_customer_rows' must be a whole number from 1 to {_EXCEL_ROWS:,} "
            f"(the rows of an Excel sheet), got {value!r}",
            sheet=sheet,
        )
    return int(n)


# -- DuckDB, through the engine -----------------------------------------------------------------


def _engine():
    # The engine's source reader and typing rules (shared with rfm_summary_duckdb), so both
    # read files the same way.
    from xlclv.engines import duckdb_engine

    return duckdb_engine


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _text_expr(col: str, dtype: str) -> str:
    """A column as the workbook path's text (ids, segment values); NULL for blank."""
    q, t = _q(col), dtype.upper()
    if t == "VARCHAR":
        return f"NULLIF(trim({q}), '')"
    if t.startswith(_INTEGER):
        return f"CAST({q} AS VARCHAR)"
    if t.startswith("DECIMAL"):  # exact: whole values as their digits (up to 38), never via float
        return (
            f"CASE WHEN {q} = trunc({q}) THEN CAST(CAST({q} AS HUGEINT) AS VARCHAR) "
            f"ELSE CAST(CAST({q} AS DOUBLE) AS VARCHAR) END"
        )
    if t.startswith(_FLOAT):
        return (
            f"CASE WHEN {q} IS NULL OR isnan({q}) THEN NULL "
            f"WHEN isfinite({q}) AND {q} = trunc({q}) AND abs({q}) < 4.0e18 "
            f"THEN CAST(CAST({q} AS BIGINT) AS VARCHAR) ELSE CAST(CAST({q} AS DOUBLE) AS VARCHAR) END"
        )
    return f"NULLIF(trim(CAST({q} AS VARCHAR)), '')"


def _blank_expr(col: str, dtype: str) -> str:
    q, t = _q(col), dtype.upper()
    if t == "VARCHAR":
        return f"({q} IS NULL OR trim({q}) = '')"
    if t.startswith(_FLOAT):
        return f"({q} IS NULL OR isnan({q}))"
    return f"({q} IS NULL)"


def _amount_pre(col: str, dtype: str) -> str:
    """NaN amounts are blank cells, as pandas reads them."""
    q, t = _q(col), dtype.upper()
    if t.startswith(_FLOAT):
        return f"CASE WHEN isnan({q}) THEN NULL ELSE {q} END"
    return q


@dataclass
class _Plan:
    src: Any
    names: dict[str, str]  # customer_id/date/amount -> the source's column
    types: dict[str, str]
    extras: list[str]  # segment candidates, source order
    typed: str  # SQL: xl_c, xl_d, xl_a, xl_p, xl_s0.. (no row numbers)
    typed_numbered: str  # the same with xl_row, xl_file
    name: str


def _plan(
    con: Any, source: object, table: str | None, end_sql: str, columns: dict[str, str] | None
) -> _Plan:
    eng = _engine()
    from xlclv.report.inputs import normalise_header

    src = eng.open_source(con, source, "date", table)
    cols = src.columns(con)
    types = dict(cols)
    names, missing = {}, []
    for wanted in ("customer_id", "date", "amount"):
        header = (columns or {}).get(wanted, wanted)  # --columns: the user's header
        found = next((c for c, _ in cols if normalise_header(c) == normalise_header(header)), None)
        if found is None and header != wanted:
            have = ", ".join(c for c, _ in cols)
            raise WorkbookError(
                f"--columns names '{header}' for {wanted}, but sheet '{src.name}' has no such "
                f"column; found: {have}"
            )
        if found is None:
            missing.append(wanted)
        else:
            names[wanted] = found
    if missing:
        have = ", ".join(c for c, _ in cols) or "no columns at all"
        plural = "columns" if len(missing) > 1 else "column"
        raise WorkbookError(
            f"Sheet '{src.name}' has no {plural} {', '.join(repr(m) for m in missing)}; found: "
            f"{have}. Rename the header (case, spaces and underscores don't matter), e.g. "
            "'Customer ID' for customer_id"
        )
    used = set(names.values())
    extras = [c for c, _ in cols if c not in used and c.strip() and not c.startswith("xl_")]
    # the engine's dates and amounts rules (typed_sql), on ids and segments as the workbook has them
    not_blank = " OR ".join(f"NOT {_blank_expr(c, t)}" for c, t in cols) or "TRUE"
    segs = "".join(
        f", COALESCE({_text_expr(c, types[c])}, '(blank)') AS xl_s{i}" for i, c in enumerate(extras)
    )
    id_type = types[names["customer_id"]].upper()
    # whole-number ids are grouped as numbers (faster) and become text in the customer table;
    # 128-bit ones as text, since Parquet (the summarise stage's copy) stores them as doubles
    by_number = id_type.startswith(_INTEGER) and "HUGEINT" not in id_type
    id_expr = _q(names["customer_id"]) if by_number else _text_expr(names["customer_id"], id_type)
    select = (
        f"SELECT {id_expr} AS xl_cid, "
        f"{_q(names['date'])} AS xl_date, "
        f"{_amount_pre(names['amount'], types[names['amount']])} AS xl_amount{segs}"
    )
    base = f"({select} FROM {src.relation} WHERE {not_blank})"
    numbered = f"({select}, xl_row, xl_file, xl_key FROM ({src.numbered}) WHERE {not_blank})"
    inner = {"customer_id": "xl_cid", "date": "xl_date", "amount": "xl_amount"}
    inner_types = {
        "xl_cid": "BIGINT" if by_number else "VARCHAR",
        "xl_date": types[names["date"]],
        "xl_amount": "DOUBLE" if types[names["amount"]].upper().startswith(_FLOAT) else None,
    }
    if inner_types["xl_amount"] is None:
        inner_types["xl_amount"] = types[names["amount"]]
    seg_cols = "".join(f", xl_s{i}" for i in range(len(extras)))
    try:
        exprs = {
            "date": eng.date_expr(inner["date"], inner_types["xl_date"]),
            "amount": eng.amount_expr(inner["amount"], inner_types["xl_amount"]),
        }
        typed = eng.typed_sql(base, inner, exprs, end_sql, extra=seg_cols)
        typed_numbered = eng.typed_sql(
            numbered, inner, exprs, end_sql, extra=seg_cols + ", xl_row, xl_file, xl_key"
        )
    except InputError as exc:  # the engine names our inner columns: name the user's
        if "timestamps with a time zone" in str(exc):  # the engine's fix is an API argument
            raise InputError(
                f"Column '{names['date']}' of '{src.name}' holds timestamps with a time zone "
                "(as Spark and many exports write them), and the calendar day of a purchase "
                "depends on the zone. Export the dates as local dates (for example "
                "CAST(ts AT TIME ZONE 'Europe/Paris' AS DATE) in the query that writes the "
                "file) and run again."
            ) from None
        text = str(exc).replace("'xl_date'", repr(names["date"]))
        text = text.replace("'xl_amount'", repr(names["amount"]))
        raise InputError(text) from None
    return _Plan(src, names, types, extras, typed, typed_numbered, src.name)


# -- profile and issues -------------------------------------------------------------------------

_KIND_NAMES = {
    1: ("customer id is blank", "customer_id"),
    2: ("date is blank", "date"),
    3: ("date is not a date", "date"),
    4: ("amount is blank", "amount"),
    5: ("amount is not a number", "amount"),
    6: ("date after observation_end", "date"),
    7: ("zero amount (kept, not a purchase)", "amount"),
}


def _profile(con: Any, plan: _Plan, dims_all: list[int]) -> dict[str, Any]:
    """What the clean stage needs to know of the rows: counts by problem kind, dates, amounts
    used and lost, and each segment candidate's count of distinct values among the usable
    rows (``n_s0``...).

    One scan with grouping sets: the few kinds of row (problem code, sign and finiteness of
    the amount), folded in Python (:func:`_fold_profile`), and (problem code, value) of each
    candidate, counted. Measured at 100M rows with one candidate: 1.6 s, against 2.4 s for a
    scan per part and 6.0 s for one ungrouped scan with COUNT(DISTINCT), which DuckDB ran on
    one thread."""
    sets = ["(xl_p, sg, fin)", *(f"(xl_p, xl_s{i})" for i in dims_all)]
    which = " ".join(f"WHEN GROUPING(xl_s{i}) = 0 THEN {i}" for i in dims_all)
    segs = "".join(f", xl_s{i}" for i in dims_all)
    found = con.execute(
        f"""SELECT which, xl_p, sg, fin, SUM(n), MIN(lo), MAX(hi), SUM(ab), SUM(total),
          COUNT(*) AS distinct_values
        FROM (
          SELECT CASE WHEN GROUPING(sg) = 0 THEN -1 {which} END AS which, xl_p, sg, fin,
            COUNT(*) AS n, MIN(xl_d) AS lo, MAX(xl_d) AS hi, SUM(abs(xl_a)) AS ab,
            SUM(xl_a) AS total
          FROM (SELECT xl_p, sign(xl_a) AS sg, isfinite(xl_a) AS fin, xl_d, xl_a{segs}
            FROM ({plan.typed}))
          GROUP BY GROUPING SETS ({", ".join(sets)})
        ) GROUP BY ALL"""
    ).fetchall()
    profile = _fold_profile([r[1:9] for r in found if r[0] == -1])
    for i in dims_all:
        profile[f"n_s{i}"] = next((r[9] for r in found if r[0] == i and r[1] == 0), 0)
    return profile


def _fold_profile(kinds: list[tuple]) -> dict[str, Any]:
    """The profile from rows (problem code, sign of the amount, amount finite, rows, first
    and last date, sum of absolute amounts, sum of amounts), one per kind of row. Usable rows
    (code 0) always have a finite amount; rows lost to problems 1-5 may have none."""
    cols = ["p", "sign", "finite", "n", "lo", "hi", "abs", "sum"]
    k = pd.DataFrame(kinds, columns=cols).astype({"p": "int64", "n": "int64"})
    used = k[k["p"] == 0]
    bought = used[used["sign"] > 0]
    lost = k[k["p"].between(1, 5)]
    readable = lost["finite"].eq(True)

    def day(values: pd.Series, pick: str):
        values = values.dropna()
        return getattr(values, pick)() if len(values) else None

    return {
        "rows": int(k["n"].sum()),
        **{f"k{c}": int(k.loc[k["p"] == c, "n"].sum()) for c in range(1, 7)},
        "k7": int(used.loc[used["sign"] == 0, "n"].sum()),
        "rows_used": int(used["n"].sum()),
        "purchase_rows": int(bought["n"].sum()),
        "first_date": day(used["lo"], "min"),
        "last_date": day(used["hi"], "max"),
        "first_purchase": day(bought["lo"], "min"),
        "lost_rows": int(lost["n"].sum()),
        "lost_amount": float(lost.loc[readable, "abs"].sum()),
        "lost_unreadable": int(lost.loc[~readable, "n"].sum()),
        "used_amount": float(used["abs"].sum()),
        "returned": float(used.loc[used["sign"] < 0, "sum"].sum()),
    }


def _issue_counts(profile: dict[str, Any], plan: _Plan) -> pd.DataFrame:
    rows = [
        (kind, plan.names[arg], int(profile[f"k{k}"]))
        for k, (kind, arg) in _KIND_NAMES.items()
        if profile[f"k{k}"]
    ]
    return pd.DataFrame(rows, columns=["Problem", "Column", "Rows"]).astype({"Rows": "int64"})


#: The Data issues count of customers with returns (or $0 rows) but no purchase.
NO_PURCHASE = "customer has no purchase (only returns)"


def _with_no_purchase(counts: pd.DataFrame, plan: _Plan, n: int) -> pd.DataFrame:
    row = pd.DataFrame({"Problem": [NO_PURCHASE], "Column": [plan.names["customer_id"]]})
    row["Rows"] = np.int64(n)
    return pd.concat([counts, row], ignore_index=True).astype({"Rows": "int64"})


def _no_purchase_rows(con: Any, plan: _Plan) -> list[tuple]:
    """One Data issues row per customer with used rows but no purchase, at their first row,
    as the workbook path lists them (:func:`xlclv.report.pipeline.no_purchase_problem`)."""
    from xlclv.report.pipeline import no_purchase_problem

    # only the rows of those customers (xl_no_purchase, found by the summarise stage) are
    # grouped, not every customer's
    found = con.execute(
        f"""SELECT m.f, m.r, c, k, t, z FROM (
          SELECT MIN(struct_pack(f := xl_file, r := xl_row)) AS m, CAST(xl_c AS VARCHAR) AS c,
            COUNT_IF(xl_a < 0) AS k, SUM(xl_a) AS t, COUNT_IF(xl_a = 0) AS z
          FROM ({plan.typed_numbered})
          WHERE xl_p = 0 AND xl_c IN (SELECT xl_c FROM xl_no_purchase)
          GROUP BY xl_c HAVING COUNT_IF(xl_a > 0) = 0
        ) ORDER BY m.f, m.r LIMIT {MAX_ISSUE_ROWS}"""
    ).fetchall()
    cid = plan.names["customer_id"]
    return [
        (
            Path(str(file)).name, int(row) + 1, cid, str(c),
            no_purchase_problem(int(k), float(t), int(z)),
        )
        for file, row, c, k, t, z in found
    ]  # fmt: skip


def _bad_text(value: str | None, what: str) -> str:
    """The workbook path's text for an unusable date or amount cell."""
    return problem_for_bad(value or "", what)


def _issue_rows(
    con: Any, plan: _Plan, end: pd.Timestamp | None, no_purchase: bool = False
) -> pd.DataFrame:
    """The first MAX_ISSUE_ROWS problem rows in source order, as the Data issues sheet lists."""
    with _in_input_order(con, plan):  # every query here reads row numbers
        found = con.execute(
            f"""SELECT xl_file, xl_row, xl_p, CAST(xl_d_raw AS VARCHAR),
              CAST(xl_a_raw AS VARCHAR), CAST(xl_d AS VARCHAR)
            FROM ({plan.typed_numbered}) WHERE xl_p > 0 OR xl_a = 0
            ORDER BY xl_file, xl_row LIMIT {MAX_ISSUE_ROWS}"""
        ).fetchall()
        blanks = [(f, r) for f, r, code, *_ in found if code == 1]
        above = _ids_above(con, plan, blanks) if blanks else {}
        no_purchase_rows = _no_purchase_rows(con, plan) if no_purchase else []
    out = []
    cid, date, amount = (plan.names[k] for k in ("customer_id", "date", "amount"))
    for file, row, code, day, amt, iso in found:
        # the workbook path numbers data rows from 2 (row 1 is the header)
        where = (Path(str(file)).name, int(row) + 1)
        if code == 1:
            problem = blank_id_problem(above.get((str(file), int(row))), False)
            out.append((*where, cid, "", problem))
        elif code in (2, 3):
            out.append((*where, date, day or "", _bad_text(day, "date")))
        elif code in (4, 5):
            out.append((*where, amount, amt or "", _bad_text(amt, "amount")))
        elif code == 6:
            problem = f"date after observation_end ({end:%Y-%m-%d}): row not used"
            out.append((*where, date, iso, problem))
        else:
            problem = (
                "zero amount: kept, but not counted as a purchase (include_zero_amounts is off)"
            )
            out.append((*where, amount, "0", problem))
    if no_purchase:
        out = sorted([*out, *no_purchase_rows], key=lambda r: (r[0], r[1]))
        out = out[:MAX_ISSUE_ROWS]
    frame = pd.DataFrame(out, columns=["Sheet", "Row", "Column", "Value", "Problem"])
    return frame.astype({"Row": "int64"})


def _ids_above(con: Any, plan: _Plan, blanks: list[tuple[Any, int]]) -> dict[tuple, str]:
    """The last customer id above each blank-id row of its file (one ASOF join), for the
    workbook path's hint about merged cells."""
    con.execute("CREATE OR REPLACE TEMP TABLE xl_blank (xl_file VARCHAR, xl_row BIGINT)")
    con.executemany("INSERT INTO xl_blank VALUES (?, ?)", [(str(f), int(r)) for f, r in blanks])
    rows = con.execute(
        f"""SELECT b.xl_file, b.xl_row, CAST(a.xl_c AS VARCHAR)
        FROM xl_blank b ASOF JOIN (
          SELECT CAST(xl_file AS VARCHAR) AS xl_file, xl_row, xl_c
          FROM ({plan.typed_numbered}) WHERE xl_c IS NOT NULL
        ) a ON b.xl_file = a.xl_file AND b.xl_row > a.xl_row"""
    ).fetchall()
    con.execute("DROP TABLE xl_blank")
    return {(f, r): c for f, r, c in rows}


# -- the per-customer table ---------------------------------------------------------------------


def _day_sql(rows: str) -> str:
    """The narrow per-(customer, day) aggregation, the one pass over the usable rows ``rows``
    (a relation with xl_c, xl_d, xl_a): rows, purchases (amount above 0) and their sum, and
    the net amount (returns netted)."""
    return f"""SELECT xl_c, xl_d, COUNT(*) AS nrows, COUNT_IF(xl_a > 0) AS nbuy,
      SUM(xl_a) FILTER (WHERE xl_a > 0) AS buy, SUM(xl_a) AS net
    FROM {rows} GROUP BY xl_c, xl_d"""


#: Each customer's first purchase day (NULL for a customer with returns only), from xl_day.
_FIRST_SQL = """SELECT xl_c, MIN(xl_d) FILTER (WHERE nbuy > 0) AS xl_first
    FROM xl_day GROUP BY xl_c"""


def _customer_sql(cal: str | None) -> str:
    """Per customer with a purchase, from the day table and the first purchase days: the RFM
    counts (repeat purchase days, last purchase day, the repeat days' spend summed directly,
    never as a total minus the first day), orders, net revenue and the holdout's calibration
    counts. ``buy`` is NULL exactly on days without a purchase."""
    cal_cols = (
        f"""COUNT(CASE WHEN xl_d <= {cal} THEN buy END) AS n_cal,
      MAX(CASE WHEN nbuy > 0 AND xl_d <= {cal} THEN xl_d END) AS last_cal"""
        if cal
        else "0 AS n_cal, NULL::DATE AS last_cal"
    )
    return f"""SELECT xl_c, MIN(xl_first) AS xl_first, COUNT(buy) AS n_days,
      MAX(CASE WHEN nbuy > 0 THEN xl_d END) AS last_day,
      SUM(CASE WHEN xl_d > xl_first THEN buy END) AS repeat_spend,
      SUM(nbuy) AS orders, SUM(net) AS revenue, {cal_cols}
    FROM xl_day JOIN xl_first_day USING (xl_c) WHERE xl_first IS NOT NULL GROUP BY xl_c"""


#: Net revenue, purchases' sum and rows per (first purchase day, month since it), over the
#: customers with a purchase: the cohort curves and the totals (a few thousand rows).
_CURVES_SQL = f"""SELECT xl_first,
      CAST(floor(greatest(date_diff('day', xl_first, xl_d), 0) / {DAYS_PER_MONTH!r}) AS BIGINT)
        AS month,
      SUM(net) AS revenue, SUM(buy) AS gross, SUM(nrows) AS nrows
    FROM xl_day JOIN xl_first_day USING (xl_c) WHERE xl_first IS NOT NULL GROUP BY ALL"""


def _segments_sql(plan: _Plan, dims: list[int]) -> str:
    """Each customer's segment values on their first purchase: among the purchase rows
    (amount above 0) of the first purchase day, the first in input order (``xl_key``: file,
    then row). The first days are the join's build side (the right side, with DuckDB's
    build_side_probe_side optimizer off)."""
    firsts = ", ".join(f"arg_min(r.xl_s{i}, r.xl_key) AS xl_s{i}" for i in dims)
    return (
        f"SELECT r.xl_c, {firsts} FROM (SELECT * FROM ({plan.typed_numbered}) "
        "WHERE xl_p = 0 AND xl_a > 0) AS r "
        "JOIN (SELECT xl_c, xl_first FROM xl_groups) AS f "
        "ON r.xl_c = f.xl_c AND r.xl_d = f.xl_first GROUP BY r.xl_c"
    )


def _passes(con: Any, plan: _Plan, rows: int) -> tuple[list[str], Path | None]:
    """The usable rows (xl_c, xl_d, xl_a) in groups of customers of about
    :data:`ROWS_PER_PASS` rows, each summarised in its own pass, which fits in DuckDB's memory
    instead of spilling.

    Above one pass, the source is read once into a narrow copy split by a hash of the
    customer id (Parquet files in DuckDB's temporary folder, one folder per pass, about 9
    bytes a row), so each pass reads only its own customers' rows. Re-reading the whole
    source in every pass made the time grow with the square of the rows (a billion rows: 50
    passes, 857 s); at 100M rows the copy is also faster (42.6 s against 46.6 s)."""
    usable = f"(SELECT xl_c, xl_d, xl_a FROM ({plan.typed}) WHERE xl_p = 0)"
    k = max(1, math.ceil(rows / ROWS_PER_PASS))
    if k == 1:
        return [usable], None
    spill = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    folder = Path(tempfile.mkdtemp(prefix="xlclv-passes-", dir=spill or None))
    try:
        con.execute(
            f"COPY (SELECT *, hash(xl_c) % {k} AS xl_b FROM {usable}) "
            f"TO {_lit(str(folder))} (FORMAT parquet, PARTITION_BY (xl_b))"
        )
    except Exception as exc:  # duckdb.IOException; anything else is raised as it is
        # POSIX says "No space left on device", Windows "There is not enough space on the disk"
        said = str(exc).lower()
        if "no space left" not in said and "not enough space" not in said:
            raise
        shutil.rmtree(folder, ignore_errors=True)
        raise InputError(
            f"The disk of DuckDB's temporary folder ({folder.parent}) is full: the summarise "
            f"stage copies the {rows:,} usable rows there (about 9 bytes a row, "
            f"{rows * 9 / 1e9:,.1f} GB). Free space there, or set the TMPDIR environment "
            "variable to a folder on a bigger disk and run again."
        ) from None
    # a pass with no customers has no folder (only with very few customers); its files are
    # listed here, not as a pattern, which would read '[' or '?' in the folder's path
    reads = []
    for j in range(k):
        part = folder / f"xl_b={j}"
        files = sorted(str(f) for f in part.glob("*.parquet")) if part.is_dir() else []
        if files:
            listed = ", ".join(_lit(f) for f in files)
            reads.append(f"read_parquet([{listed}], hive_partitioning = false)")
    return reads, folder


@contextlib.contextmanager
def _in_input_order(con: Any, plan: _Plan) -> Iterator[None]:
    """For queries that read ``plan.typed_numbered``'s row numbers: CSV files, tables and
    data frames are numbered by ``row_number() OVER ()``, which numbers the rows in input
    order only on one thread that keeps the order, so DuckDB runs so meanwhile (Parquet
    files carry their own row numbers and keep every thread)."""
    if not plan.src.ordered_numbering:
        yield
        return
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute("SET threads = 1")
    con.execute("SET preserve_insertion_order = true")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(threads)}")
        con.execute("SET preserve_insertion_order = false")


def _into(con: Any, table: str, sql: str, first: bool) -> None:
    con.execute(
        f"{'CREATE TEMP TABLE' if first else 'INSERT INTO'} {table} {'AS ' if first else ''}{sql}"
    )


@dataclass
class _Summarised:
    """What the summarise stage leaves besides the customer table ``xl_cust`` in DuckDB."""

    n: int  # customers with a purchase
    only_returns: int  # customers with used rows but no purchase
    curves: pd.DataFrame  # xl_first, month, revenue
    gross: float  # purchases' total, customers with a purchase
    nrows: int  # used rows of the customers with a purchase


def _build_customers(
    con: Any, plan: _Plan, dims: list[int], unit: str, end: str, cal: str | None, rows: int
) -> _Summarised:
    """The customer table ``xl_cust`` (in customer-id order, ``xl_i``), pass by pass: the day
    table, the first purchase days, then from those two narrow tables the customers and the
    cohort curves; after the passes, the segment values from one more read of the rows."""
    parts, folder = _passes(con, plan, rows)
    for j, part in enumerate(parts):
        first = j == 0
        con.execute("CREATE OR REPLACE TEMP TABLE xl_day AS " + _day_sql(part))
        con.execute("CREATE OR REPLACE TEMP TABLE xl_first_day AS " + _FIRST_SQL)
        _into(con, "xl_groups", _customer_sql(cal), first)
        _into(con, "xl_curve_rows", _CURVES_SQL, first)
        con.execute("DROP TABLE xl_day")
        _into(con, "xl_no_purchase", "SELECT xl_c FROM xl_first_day WHERE xl_first IS NULL", first)
        con.execute("DROP TABLE xl_first_day")
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
    if dims:
        # one more read of the rows for all passes, joined with every customer's first day;
        # the join's hash table is built on the first days (one row per customer), never on
        # the rows: DuckDB's estimate of the filtered scan is far too low (measured at 10M
        # rows: 2.6x slower and 2.5x the memory with the sides swapped)
        con.execute("SET disabled_optimizers = 'build_side_probe_side'")
        with _in_input_order(con, plan):
            con.execute("CREATE TEMP TABLE xl_segs AS " + _segments_sql(plan, dims))
        con.execute("RESET disabled_optimizers")
    _customer_table(con, dims, unit, end)
    totals = con.execute(
        "SELECT COALESCE(SUM(gross), 0), COALESCE(SUM(nrows), 0) FROM xl_curve_rows"
    ).fetchone()
    curves = con.execute(
        "SELECT xl_first, month, SUM(revenue) AS revenue FROM xl_curve_rows GROUP BY ALL"
    ).df()
    n = con.execute("SELECT COUNT(*) FROM xl_cust").fetchone()[0]
    only_returns = con.execute("SELECT COUNT(*) FROM xl_no_purchase").fetchone()[0]
    con.execute("DROP TABLE xl_curve_rows")
    return _Summarised(int(n), int(only_returns), curves, float(totals[0]), int(totals[1]))


def _customer_table(con: Any, dims: list[int], unit: str, end: str) -> None:
    """The customer table ``xl_cust`` from ``xl_groups`` and ``xl_segs``: a view of
    ``xl_sorted``, stored in customer-id order, with that order's position ``xl_i`` (its
    rowid), so the scores file can be written without a sort (write_scores checks the order
    and sorts if it is not). At 100M rows 3.1 s, against 6.4 s with a window
    ``row_number()`` over the id order and a copy to hold it."""
    per = repr(DAYS_PER_UNIT[unit])
    segs = "".join(f", s.xl_s{i}" for i in dims)
    join = "LEFT JOIN xl_segs AS s USING (xl_c)" if dims else ""
    con.execute("SET preserve_insertion_order = true")  # rowids follow the ORDER BY
    con.execute(
        f"""CREATE TEMP TABLE xl_sorted AS
        SELECT CAST(g.xl_c AS VARCHAR) AS xl_c, g.xl_first,
          CAST(g.n_days - 1 AS DOUBLE) AS frequency,
          CAST(date_diff('day', g.xl_first, g.last_day) AS DOUBLE) / {per} AS recency,
          CAST(date_diff('day', g.xl_first, DATE {_lit(end)}) AS DOUBLE) / {per} AS "T",
          COALESCE(g.repeat_spend / CAST(NULLIF(g.n_days - 1, 0) AS DOUBLE), 0.0)
            AS monetary_value,
          CAST(g.orders AS BIGINT) AS orders, g.revenue,
          CAST(g.n_cal AS INTEGER) AS n_cal, g.last_cal {segs}
        FROM xl_groups AS g {join} ORDER BY 1"""
    )
    for table in ("xl_groups", *(("xl_segs",) if dims else ())):
        con.execute(f"DROP TABLE {table}")
    con.execute("SET preserve_insertion_order = false")
    con.execute("CREATE TEMP VIEW xl_cust AS SELECT rowid AS xl_i, * FROM xl_sorted")


def _fetch(con: Any, sql: str) -> dict[str, np.ndarray]:
    return con.execute(sql).fetchnumpy()


# -- the stages ---------------------------------------------------------------------------------


def build_report_big(
    source: object,
    settings: Settings | None = None,
    *,
    table: str | None = None,
    scores: str | os.PathLike[str] | None = None,
    scores_if_truncated: str | os.PathLike[str] | None = None,
    max_customer_rows: int = MAX_CUSTOMER_ROWS,
    memory_limit: str = "2GB",
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
    columns: dict[str, str] | None = None,
) -> BigReport:
    """Build the CLV report of a big transaction log, with the data work in DuckDB.

    Parameters
    ----------
    source : str or pathlib.Path
        A Parquet file, a folder (read recursively) or glob of Parquet files, a CSV file, or
        a DuckDB database file with ``table``. Columns ``customer_id``, ``date``, ``amount``
        (headers match ignoring case, spaces, underscores and hyphens); every other column is
        a segment column.
    settings : Settings, optional
        As for :func:`~xlclv.report.pipeline.build_report` (default: the defaults).
    table : str, optional
        The transactions table when ``source`` is a DuckDB database.
    scores : path-like, optional
        Write every customer's scores there (.parquet or .csv; see :func:`write_scores`).
    scores_if_truncated : path-like, optional
        Where to write the scores when ``scores`` is None and the Customers sheet cannot hold
        every customer (the CLI passes :func:`default_scores_path` of the workbook).
    max_customer_rows : int, default 100,000
        The most customers the Customers sheet holds; with more, the top ones by predicted
        CLV (ties by customer id), highest first.
    memory_limit, threads
        DuckDB's memory limit (it spills to a temporary folder beyond it) and threads.
    progress : callable, optional
        Called with each stage's name (:data:`~xlclv.report.pipeline.STAGES`).
    columns : dict, optional
        ``{field: header}`` for customer_id, date and amount (the CLI's ``--columns``, parsed
        by :func:`xlclv.report.clean.parse_column_mapping`); default: the headers of those
        names (case, spaces and underscores don't matter).

    Returns
    -------
    BigReport
        The :class:`~xlclv.report.pipeline.Report` and what was truncated and written.

    Raises
    ------
    WorkbookError
        A required column is missing, or ``segment_by`` names a column that is not there.
    InputError
        The source cannot be read, no usable purchase is left, or nobody bought twice.
    """
    settings = settings if settings is not None else Settings()
    max_rows = _check_max_rows(max_customer_rows)
    step = progress or (lambda stage: None)
    with _engine().connect(memory_limit, threads) as con:
        step(STAGES[0])
        found = _clean(con, source, table, settings, columns)
        settings = _with_currency(settings, found)
        step(STAGES[1])
        summary = _summarise(con, found, settings)
        step(STAGES[2])
        rfm = _compress(con)
        _shrink_after_summarise(con, memory_limit)
        fits = _fit(con, settings, summary.gross)
        step(STAGES[3])
        # the returns of customers with no purchase count in the return rate too
        returned = abs(float(found.profile["returned"]))
        values = _value(con, rfm, fits, settings, summary.gross, returned)
        step(STAGES[4])
        check = _holdout(
            con, fits.model_key(settings), settings, found.end, found.cal, found.hold_days,
            found.period,
        )  # fmt: skip
        step(STAGES[5])
        shown = _segment(con, found, summary, settings, rfm, values, max_rows, fits)
        scores_path = None
        if scores is None and shown.truncated:
            scores = scores_if_truncated
        if scores is not None:
            scores_path = write_scores(
                con, Path(scores), settings, values, shown.revenue, shown.tiers,
                [name for _, name in found.dims],
            )  # fmt: skip
        step(STAGES[6])
        report = _assemble(
            found, summary, rfm, fits, values, check, shown.groups, settings, shown.first_day
        )
    n = summary.n
    total_issues = int(found.counts["Rows"].sum())
    _finish(report, n, max_rows, shown.truncated, scores_path, found.counts, total_issues)
    return BigReport(report, int(n), shown.truncated, scores_path, found.counts)


@dataclass
class _Found:
    """What the clean stage finds: the plan of the source, the segment columns, the profile
    and the counts of rows not used, and the observation period."""

    plan: _Plan
    dims: list[tuple[int, str]]
    notes: list[str]
    profile: dict[str, Any]
    counts: pd.DataFrame
    end: pd.Timestamp
    period: int
    hold_days: int
    cal: pd.Timestamp | None
    written: Any = None  # currency.Written: the one code of a Currency column
    undone: Any = None  # checks.Undone: purchases a status column calls refunded


def _clean(
    con: Any, source: object, table: str | None, settings: Settings,
    columns: dict[str, str] | None,
) -> _Found:  # fmt: skip
    """The clean stage: the source's columns and types (:func:`_plan`), one profiling pass
    (problem counts, dates, segment candidates), the stops where the workbook path would give
    another number, and the observation end and holdout split."""
    end_given = settings.observation_end
    end_sql = "NULL" if end_given is None else f"DATE {_lit(end_given.isoformat())}"
    plan = _plan(con, source, table, end_sql, columns)
    dims, notes, profile = _choose_dims(plan, settings, con)
    counts = _issue_counts(profile, plan)
    _stop_where_different(con, profile, settings, plan)
    _stop_on_float_ids(con, plan)
    written = _one_currency_column(con, plan)
    undone = _refunded(con, plan)
    if undone is not None and undone.share <= settings.max_rejected_share:
        notes.append(undone.message())  # above the limit: a loud warning (pipeline._warnings)
    if profile["purchase_rows"] == 0:
        raise InputError(_nothing_usable(profile, counts, plan.name))
    end = pd.Timestamp(end_given if end_given is not None else profile["last_date"])
    start = pd.Timestamp(profile["first_purchase"])
    period = (end - start).days
    hold_days = int(round(0.25 * period))
    cal = None
    if not (period < 28 or hold_days < 7):
        cal = end - pd.Timedelta(days=hold_days)
    return _Found(plan, dims, notes, profile, counts, end, period, hold_days, cal, written, undone)


def _summarise(con: Any, found: _Found, settings: Settings) -> _Summarised:
    """The summarise stage: the customer table ``xl_cust`` in DuckDB (:func:`_build_customers`),
    with the stops the workbook path makes there. Adds the count of customers without a
    purchase to ``found.counts``."""
    summary = _summary_tables(con, found, settings)
    if _merge_email_case(con, found):  # e-mail ids in two cases: once more, merged
        summary = _summary_tables(con, found, settings)
    if summary.only_returns:
        found.counts = _with_no_purchase(found.counts, found.plan, summary.only_returns)
    if not con.execute("SELECT bool_or(frequency > 0) FROM xl_cust").fetchone()[0]:
        n = summary.n
        raise InputError(
            ("The only customer" if n == 1 else f"Every one of the {n:,} customers")
            + f" bought only once (on one day) by {found.end.date().isoformat()}, so the "
            f"{MODELS.get(settings.model, 'purchase')} model cannot estimate how often customers "
            f"buy again or when they stop. Add more history (a longer period in sheet "
            f"'{found.plan.name}') or set a later observation_end."
        )
    return summary


def _summary_tables(con: Any, found: _Found, settings: Settings) -> _Summarised:
    cal = found.cal
    return _build_customers(
        con,
        found.plan,
        [i for i, _ in found.dims],
        settings.time_unit,
        found.end.date().isoformat(),
        None if cal is None else f"DATE {_lit(cal.date().isoformat())}",
        int(found.profile["rows_used"]),
    )


def _compress(con: Any) -> dict[str, np.ndarray]:
    """The first step of the fit stage: the distinct (frequency, recency, T) rows ``xl_u``
    that the models are fitted on, and each customer's frequency, monetary value and
    distinct-row index (``uid``) in customer-id order."""
    con.execute(
        "CREATE TEMP TABLE xl_u AS SELECT *, "
        'row_number() OVER (ORDER BY frequency, recency, "T") - 1 AS uid FROM ('
        'SELECT frequency, recency, "T", COUNT(*) AS n FROM xl_cust GROUP BY ALL)'
    )
    return _fetch(
        con,
        "SELECT c.frequency, c.monetary_value, CAST(u.uid AS INTEGER) AS uid "
        'FROM xl_cust c JOIN xl_u u USING (frequency, recency, "T") ORDER BY c.xl_i',
    )


def _shrink_after_summarise(con: Any, memory_limit: str) -> None:
    """Once the customer table and its distinct rows are built, DuckDB holds little more
    than them, while Python's per-customer arrays grow: the memory limit is halved from here
    on (DuckDB moves what does not fit to its temporary folder). Measured at 100M rows / 10M
    customers with the default 2GB: peak RSS 2.70 GB instead of about 3.5 GB, at the same
    speed."""
    lower = later_memory_limit(memory_limit)
    if lower is None:
        return
    try:
        con.execute(f"SET memory_limit = '{lower}'")
    except Exception:  # a limit DuckDB cannot meet now: keep the one given
        return


def later_memory_limit(limit: str) -> str | None:
    """Half of a DuckDB memory limit such as ``2GB`` (as ``1000MB``), but not below 256 MB or
    the limit itself; None for a limit this cannot read (then it is kept)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(i?)B?\s*", str(limit), flags=re.I)
    if m is None:
        return None
    base = 1024 if m.group(3) else 1000
    unit = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4}[m.group(2).upper()]
    given = float(m.group(1)) * base**unit
    lower = min(given, max(given / 2, 256e6))
    return f"{int(lower // 1e6)}MB"


def _merge_email_case(con: Any, found: _Found) -> bool:
    """Customer ids that differ only in upper/lower case, as :func:`checks.case_variants`:
    e-mail addresses (judged on a sample of 1,000 customers) are one customer, spelled as
    their first usable row in input order; the summary tables are dropped and ``found.plan``
    reads the merged ids, so the caller builds them again (True). Other ids stay apart, with
    the same note as the workbook path (False)."""
    if found.plan.types[found.plan.names["customer_id"]].upper().startswith(_INTEGER):
        return False
    rows = con.execute(
        "SELECT min(xl_c), max(xl_c), COUNT(*) OVER () FROM (SELECT xl_c FROM xl_cust "
        "UNION ALL SELECT CAST(xl_c AS VARCHAR) FROM xl_no_purchase) "
        "GROUP BY lower(xl_c) HAVING COUNT(*) > 1 LIMIT 1"
    ).fetchall()
    if not rows:
        return False
    first, other, groups = rows[0]
    sample = con.execute("SELECT xl_c FROM xl_cust USING SAMPLE 1000 ROWS").fetchall()
    emails = sum(bool(checks.EMAIL.match(str(r[0]))) for r in sample)
    if not (sample and emails >= 0.9 * len(sample)):
        found.notes.append(
            f"{groups:,} customer id(s) differ from another only in upper/lower case (e.g. "
            f"{first!r} and {other!r}): they are counted as different customers. If they are "
            "the same, make the ids identical."
        )
        return False
    found.notes.append(_email_spellings(con, found.plan))
    found.plan = _with_spellings(found.plan)
    con.execute("DROP VIEW xl_cust")
    for table in ("xl_sorted", "xl_no_purchase"):
        con.execute(f"DROP TABLE {table}")
    return True


def _email_spellings(con: Any, plan: _Plan) -> str:
    """The table ``xl_spelling`` (k: an address in lower case, spelling: that of its first
    usable row) for the addresses written in several cases, and the workbook path's note,
    naming the two first spellings (input order) of the first such address."""
    with _in_input_order(con, plan):
        con.execute(
            "CREATE TEMP TABLE xl_spelled AS SELECT lower(xl_c) AS k, xl_c, MIN(xl_key) AS "
            f"first FROM ({plan.typed_numbered}) WHERE xl_p = 0 GROUP BY ALL"
        )
    con.execute(
        "CREATE TEMP TABLE xl_spelling AS SELECT k, arg_min(xl_c, first) AS spelling, "
        "MIN(first) AS first FROM xl_spelled GROUP BY k HAVING COUNT(*) > 1"
    )
    groups = con.execute("SELECT COUNT(*) FROM xl_spelling").fetchone()[0]
    shown = con.execute(
        "SELECT xl_c FROM xl_spelled WHERE k = (SELECT arg_min(k, first) FROM xl_spelling) "
        "ORDER BY first LIMIT 2"
    ).fetchall()
    con.execute("DROP TABLE xl_spelled")
    return (
        f"{groups:,} e-mail address(es) appear in different upper/lower case (e.g. "
        f"{' and '.join(repr(r[0]) for r in shown)}): each is one customer, whatever its case."
    )


def _with_spellings(plan: _Plan) -> _Plan:
    """``plan`` with each id of ``xl_spelling`` replaced by its spelling."""

    def spelled(sql: str) -> str:
        return (
            "SELECT t.* REPLACE (COALESCE(m.spelling, t.xl_c) AS xl_c) "
            f"FROM ({sql}) AS t LEFT JOIN xl_spelling AS m ON lower(t.xl_c) = m.k"
        )

    return replace(plan, typed=spelled(plan.typed), typed_numbered=spelled(plan.typed_numbered))


@dataclass
class _Shown:
    """What the segment stage leaves: the groups, and the per-customer arrays the scores
    file needs."""

    groups: Groups
    revenue: np.ndarray
    tiers: np.ndarray
    first_day: np.ndarray
    truncated: bool


def _segment(
    con: Any, found: _Found, summary: _Summarised, settings: Settings,
    rfm: dict[str, np.ndarray], values: Values, max_rows: int, fits: Fits,
) -> _Shown:  # fmt: skip
    """The segment stage: segment, cohort, concentration and P(alive) tables over all
    customers, the Customers sheet's rows and the Data issues rows."""
    extra = _fetch(con, "SELECT xl_first, orders, revenue FROM xl_cust ORDER BY xl_i")
    first_day = extra["xl_first"].astype("datetime64[ns]")
    revenue = np.round(extra["revenue"].astype(float), 10)
    orders = extra["orders"].astype(np.int64)
    del extra
    seg_codes = {name: _segment_codes(con, i) for i, name in found.dims}
    ids_order = _tier_order(values.predicted)
    tiers = _tiers_from_order(ids_order)
    _clv_ranges(con, fits, settings, rfm, values, seg_codes, ids_order[:max_rows])
    del rfm["monetary_value"]  # only the spend model and the ranges needed it
    groups = _groups(
        con, settings, rfm, values, first_day, revenue, orders, seg_codes, tiers,
        ids_order, max_rows, summary.curves, found.end, found.counts, found.plan,
    )  # fmt: skip
    return _Shown(groups, revenue, tiers, first_day, summary.n > max_rows)


def _assemble(
    found: _Found, summary: _Summarised, rfm: dict[str, np.ndarray], fits: Fits,
    values: Values, check: Holdout, groups: Groups, settings: Settings, first_day: np.ndarray,
) -> Report:  # fmt: skip
    """The assemble stage: the workbook path's own :func:`~xlclv.report.pipeline.assemble`,
    with the big path's counts standing in for the cleaned transactions."""
    only_returns = summary.only_returns
    data = Cleaned(
        tx=_Rows(summary.nrows),  # type: ignore[arg-type]
        issues=groups.issues,
        sheet=found.plan.name,
        dims=[name for _, name in found.dims],
        notes=found.notes,
        end=found.end,
        codes=np.empty(0, dtype=np.int64),
        n_codes=summary.n + only_returns,
        uniques=np.empty(0, dtype=object),
        amount=np.empty(0),
        only_returns=only_returns,
        returned_all=values.returned,
        purchase_rows=np.empty(0, dtype=bool),
        loss=_loss(found.profile),
        include_zero=settings.include_zero_amounts,
        reading={**_reading(found.plan), "written_in": found.written},
        undone=found.undone,
    )
    base = Summary(
        rfm=pd.DataFrame({"frequency": rfm["frequency"]}),
        where=np.empty(0, dtype=np.int64),
        first_row=np.empty(0, dtype=np.int64),
        first_day=first_day,
        day=np.empty(0, dtype="datetime64[ns]"),
    )
    return assemble(data, base, fits, values, check, groups, settings)


#: The 2^53 above which a float64 cannot hold every whole number (an id would round).
_EXACT_FLOAT = 2**53
#: Headers of a status column this path checks for refunded purchases (the workbook path
#: checks every extra column; here each checked column costs a read of the rows).
_STATUS_HEADER = re.compile(
    r"(?i)status|state|type|kind|refund|return|cancel|storn|typ$|^art$|belegart"
)


def _stop_on_float_ids(con: Any, plan: _Plan) -> None:
    """Stop where float ids of 2^53 or more would round into another customer's id, as the
    workbook path does (:func:`xlclv.report.clean` ``exact ids``)."""
    col = plan.names["customer_id"]
    if not plan.types[col].upper().startswith(("FLOAT", "DOUBLE", "REAL")):
        return
    row = con.execute(
        f"SELECT COUNT(*), MIN(xl_row) + 1 FROM ({plan.src.numbered}) "
        f"WHERE abs({_q(col)}) >= {_EXACT_FLOAT}"
    ).fetchone()
    if row[0]:
        raise InputError(
            f"Column '{col}' of '{plan.name}' holds customer ids as floating-point numbers, "
            f"and {row[0]:,} of them (first in row {row[1]}) are 2^53 or more, where nearby "
            "ids round to the same number and customers would merge. Store the ids as text or "
            "as whole numbers (BIGINT) and run again."
        )


def _with_currency(settings: Settings, found: _Found) -> Settings:
    """``settings`` with the report's currency: the one set, else the Currency column's."""
    from dataclasses import replace

    from xlclv.report.currency import report_currency

    where = f"the rows of '{found.plan.name}'"
    return replace(
        settings, currency=report_currency(settings.currency, found.written, where=where)
    )


def _one_currency_column(con: Any, plan: _Plan) -> Any:
    """The one currency of a ``Currency`` column (stop on two), as the workbook path."""
    from xlclv.report import currency

    found = [(i, c) for i, c in enumerate(plan.extras) if currency.is_currency_header(c)]
    if not found:
        return None
    i, col = found[0]
    rows = con.execute(
        f"SELECT xl_s{i}, MIN(xl_row) + 1 AS r FROM ({plan.typed_numbered}) "
        f"WHERE xl_p = 0 AND xl_s{i} <> '(blank)' GROUP BY 1 ORDER BY r LIMIT 50"
    ).fetchall()
    codes = [str(v).strip() for v, _ in rows]
    if not all(
        re.fullmatch(r"[A-Za-z]{3}", v) or currency.normal_mark(v) in currency.MARKS for v in codes
    ):
        return None  # not currency codes: an ordinary column
    listed = [(v, v, int(r)) for v, (_, r) in zip(codes, rows, strict=True)]
    return currency.one_currency(
        listed,
        what=f"The values of column '{col}' of '{plan.name}'",
        how_to_fix="Convert the amounts to one currency, or report on each currency's rows "
        "separately",
    )


def _refunded(con: Any, plan: _Plan) -> Any:
    """Purchases a status column calls refunded, returned or cancelled (checks.refunded_rows's
    rule, on the columns whose header names a status)."""
    from xlclv.report import checks

    for i, col in enumerate(plan.extras):
        if not _STATUS_HEADER.search(col):
            continue
        rows = con.execute(
            f"SELECT xl_s{i}, COUNT(*), SUM(xl_a), MIN(xl_row) + 1 FROM ({plan.typed_numbered}) "
            f"WHERE xl_p = 0 AND xl_a > 0 GROUP BY 1 LIMIT 51"
        ).fetchall()
        if len(rows) > 50:
            continue
        hit = [r for r in rows if checks.UNDONE.search(str(r[0]))]
        if not hit:
            continue
        hit.sort(key=lambda r: -r[1])
        return checks.Undone(
            col,
            [str(r[0]) for r in hit],
            np.array(sorted(int(r[3]) for r in hit)),
            float(sum(r[2] for r in hit)),
            float(sum(r[2] for r in rows)),
            count=int(sum(r[1] for r in hit)),
        )
    return None


def _stop_where_different(
    con: Any, profile: dict[str, Any], settings: Settings, plan: _Plan
) -> None:
    """Stop where the workbook path's guards (:mod:`xlclv.report.checks`) would give another
    number than this path: dates after the run date with no observation_end, and $0 amounts
    counted as purchases (include_zero_amounts), which this path does not implement."""
    from xlclv.report.pipeline import today

    if settings.periods:
        raise InputError(
            "The big-data path has no BG/BB model for discrete purchase opportunities "
            "(periods is set): report on a file below 256 MiB, or leave periods blank."
        )
    date_col, amount_col = plan.names["date"], plan.names["amount"]
    last = profile["last_date"]
    run_date = today()
    if settings.observation_end is None and last is not None and pd.Timestamp(last) > run_date:
        raise InputError(
            f"Column '{date_col}' has dates after today ({run_date.date().isoformat()}), up to "
            f"{pd.Timestamp(last).date().isoformat()}. Set the observation end explicitly "
            "(--observation-end YYYY-MM-DD, or observation_end on the Settings sheet) to the "
            "last day the data covers; the big-data path does not guess it."
        )
    _stop_on_other_formats(con, plan, profile)
    zeros = int(profile["k7"])
    if zeros and settings.include_zero_amounts:
        raise InputError(
            f"Column '{amount_col}' has {zeros:,} row(s) with amount 0. The big-data path "
            "cannot yet count $0 amounts as purchases (include_zero_amounts, the default): "
            "rerun with --exclude-zero-amounts (include_zero_amounts = no) to leave them out "
            "of the purchases, as listed on Data issues."
        )


#: How many distinct unreadable dates and amounts are tried with the workbook path's reader.
FORMAT_SAMPLE = 200


def _stop_on_other_formats(con: Any, plan: _Plan, profile: dict[str, Any]) -> None:
    """Stop if the workbook path would read text this path cannot: dates written as
    31/01/2024 or with month names, amounts such as $1,234.50 or 1.234,50. This path reads
    ISO dates (yyyy-mm-dd) and plain numbers only, so such rows would be left out here but
    used there. Up to :data:`FORMAT_SAMPLE` distinct unreadable values of each column are put
    through the workbook path's reader (:func:`xlclv.report.clean.clean_transactions`)."""
    from xlclv.report.clean import clean_transactions

    for code, field_, other in ((3, "date", "amount"), (5, "amount", "date")):
        if not profile[f"k{code}"]:  # no unreadable value: no extra pass over the data
            continue
        raw = "xl_d_raw" if field_ == "date" else "xl_a_raw"
        values = [
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT CAST({raw} AS VARCHAR) FROM ({plan.typed}) "
                f"WHERE xl_p = {code} LIMIT {FORMAT_SAMPLE}"
            ).fetchall()
        ]
        if not values:
            continue
        fill = "2024-01-01" if other == "date" else "1"
        trial = pd.DataFrame({"customer_id": "x", field_: values, other: fill})
        try:
            _, issues = clean_transactions(trial[["customer_id", "date", "amount"]])
            used = _kept_mask(issues, len(values))
            read = [v for v, ok in zip(values, used, strict=True) if ok]
        except (InputError, WorkbookError):
            read = values  # the workbook path reads them, or stops on them: not the same
        if read:
            col = plan.names[field_]
            how = (
                "dates as yyyy-mm-dd (ISO) only"
                if field_ == "date"
                else "amounts as plain numbers (1234.5) only"
            )
            raise InputError(
                f"Column '{col}' has values such as {read[0]!r} that the workbook path reads "
                f"but the big-data path cannot: it reads {how}, so those rows would be left "
                f"out here. Convert column '{col}' in the file (e.g. with DuckDB or pandas) "
                f"and run again."
            )


def _kept_mask(issues: pd.DataFrame, n: int) -> list[bool]:
    """Which trial rows (Excel rows 2..n+1) the workbook path's cleaning used."""
    unused = issues["Problem"].astype(str).str.contains("row not used")
    rejected = set(issues.loc[unused, "Row"].astype(int))
    return [(i + 2) not in rejected for i in range(n)]


def _loss(profile: dict[str, Any]) -> checks.Loss:
    """Rows not used and their absolute amounts, as :func:`xlclv.report.checks.material_loss`
    counts them: rows dated after a set observation_end are left out on purpose, not lost."""
    lost = float(profile["lost_amount"])
    return checks.Loss(
        rows=int(profile["lost_rows"]),
        of_rows=int(profile["rows"]),
        amount=lost,
        of_amount=lost + float(profile["used_amount"]),
        unreadable=int(profile["lost_unreadable"]),
    )


def _reading(plan: _Plan) -> dict[str, Any]:
    """The columns used and, for text amounts, their decimal separator (only "." here)."""
    reading: dict[str, Any] = {
        "columns": {k: plan.names[k] for k in ("customer_id", "date", "amount")}
    }
    if plan.types[plan.names["amount"]].upper() == "VARCHAR":
        reading["decimal_separator"] = "."
    return reading


class _Rows:
    """Stands in for the cleaned transactions where only their number is used."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


def _choose_dims(
    plan: _Plan, settings: Settings, con: Any
) -> tuple[list[tuple[int, str]], list[str], dict[str, Any]]:
    """The segment columns (index in plan.extras, name), notes, as the workbook path, and the
    profile of the source (one scan, which also counts each candidate's distinct values)."""
    from xlclv.report.inputs import normalise_header

    frame = pd.DataFrame(columns=["customer_id", "date", "amount", *plan.extras])
    names = segment_dimensions(frame, settings.segment_by, plan.name, normalise_header)
    dims = [(plan.extras.index(c), c) for c in names]
    notes: list[str] = []
    counts = _profile(con, plan, [i for i, _ in dims] if settings.segment_by is None else [])
    if settings.segment_by is None and dims:
        kept = []
        for i, c in dims:
            k = int(counts[f"n_s{i}"])
            if k > MAX_SEGMENTS:
                notes.append(
                    f"Column '{c}' has {k:,} different values, too many for a segment "
                    f"(at most {MAX_SEGMENTS}); it is not used. Name it in segment_by to "
                    "use it anyway."
                )
            else:
                kept.append((i, c))
        dims = kept
    return dims, notes, counts


def _nothing_usable(profile: dict[str, Any], counts: pd.DataFrame, sheet: str) -> str:
    if profile["rows_used"]:
        return (
            f"Sheet '{sheet}' has no purchases (amounts above 0), only returns or zero amounts; "
            "a CLV report needs purchases."
        )
    if profile["rows"] == 0:
        return f"Sheet '{sheet}' has no transactions: paste customer_id, date and amount rows."
    kinds = "; ".join(f"{r.Rows:,}: {r.Problem}" for r in counts.itertuples())
    return (
        f"No usable transaction in sheet '{sheet}': all {int(profile['rows']):,} rows were "
        f"rejected ({kinds})."
    )


def _fit(con: Any, settings: Settings, gross: float) -> Fits:
    """The purchase model on the distinct RFM rows with their counts as weights; model = AUTO
    fits every available model and chooses by AIC (:func:`xlclv.report.fit.choose_model`
    without holdout errors): unlike the workbook path, this path does not refit every
    candidate on the calibration period, and the reason says so."""
    rows = _distinct_rows(con)
    spend, note, spend_warnings = _fit_spend(con, gross)
    if settings.model != AUTO:
        model, purchase_warnings = _fit_one(settings.model, rows)
        choice = f"{MODELS[settings.model]}, as set (model = {settings.model})."
        return Fits(
            model, spend, note, [*purchase_warnings, *spend_warnings],
            model=settings.model, choice=choice,
        )  # fmt: skip
    candidates = [fit_candidate(k, lambda k: _fit_one(k, rows)) for k in available_models()]
    key, reason = choose_model(candidates)
    reason += (
        " On this big-data path the models are compared by AIC only: they are not refitted "
        "on the calibration period to compare their holdout errors."
    )
    chosen = next(c for c in candidates if c.key == key)
    return Fits(
        chosen.fitted, spend, note, [*chosen.warnings, *spend_warnings],
        model=key, comparison=comparison_table(candidates, key), choice=reason,
    )  # fmt: skip


def _fit_one(key: str, rows: dict[str, np.ndarray]) -> tuple[Any, list[str]]:
    """Model ``key`` fitted on the distinct rows weighted by their counts, and its warnings
    other than ConvergenceWarning (the report says "not converged" in words of its own)."""
    model = purchase_model(key)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(rows["frequency"], rows["recency"], rows["T"], weights=rows["n"].astype(float))
    texts = [
        f"{MODELS[key]}: {w.message}"
        for w in caught
        if not issubclass(w.category, ConvergenceWarning)
    ]
    return model, texts


def _fit_spend(con: Any, gross: float) -> tuple[Any, str, list[str]]:
    """Gamma-Gamma on the distinct (frequency, monetary_value) pairs, as fit.fit_spend."""
    from xlclv.models import GammaGammaModel

    pairs = _fetch(
        con,
        "SELECT frequency, monetary_value, COUNT(*) AS n FROM xl_cust WHERE frequency > 0 "
        "GROUP BY ALL ORDER BY frequency, monetary_value",
    )
    repeat = int(pairs["n"].sum())
    model = GammaGammaModel()
    caught: list[warnings.WarningMessage] = []
    problem = ""
    if repeat < 2:
        problem = f"only {repeat} customer(s) bought more than once"
    else:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(
                    pairs["frequency"], pairs["monetary_value"], weights=pairs["n"].astype(float)
                )
            if model.params_["q"] <= 1:
                problem = "the fitted spend distribution has no finite mean (q <= 1)"
        except FitError as exc:
            problem = str(exc)
    if problem:
        days = _fetch(con, "SELECT SUM(frequency + 1) AS d FROM xl_cust")["d"][0]
        mean = gross / float(days)
        note = (
            f"The Gamma-Gamma spend model could not be used ({problem}); every customer's "
            f"expected spend per purchase is the mean purchase amount, {mean:,.2f}."
        )
        return MeanSpend(mean), note, []
    return model, "", [f"Gamma-Gamma: {w.message}" for w in caught]


def _distinct_rows(con: Any) -> dict[str, np.ndarray]:
    """The distinct (frequency, recency, T) rows with their customer counts, by uid."""
    return _fetch(con, 'SELECT frequency, recency, "T", n FROM xl_u ORDER BY uid')


class _UnitSpend:
    """A spend model of 1 per purchase: customer_lifetime_value then gives the discounted
    expected purchases (times the margin) of each distinct RFM row."""

    def expected_spend(self, frequency, monetary_value) -> np.ndarray:
        return np.ones(np.size(frequency))


def _value(
    con: Any,
    rfm: dict[str, np.ndarray],
    fits: Fits,
    settings: Settings,
    gross: float,
    returned: float,
) -> Values:
    """Scores of every customer, as :func:`xlclv.engines.score_frame` computes them.

    The purchase model's outputs depend on (frequency, recency, T) only: they are evaluated
    once per distinct row and spread to the customers by index. CLV is
    :func:`~xlclv.valuation.customer_lifetime_value`'s ``discounted[row] * spend * margin``,
    with the discounted purchases of each distinct row from the same function (spend 1,
    margin 1), so each customer's value is computed by the same operations; the spend model
    runs on the customers in chunks of :data:`CHUNK`.
    """
    from xlclv.valuation import customer_lifetime_value

    return_rate = min(returned / gross, 1.0) if gross > 0 else 0.0
    u = _distinct_rows(con)
    ux, utx, uT = u["frequency"], u["recency"], u["T"]
    unit = settings.time_unit
    p_alive_u = np.asarray(fits.purchase.probability_alive(ux, utx, uT), float).reshape(-1)
    horizon = months_to_units(settings.horizon_months, unit)
    expected_u = np.asarray(fits.purchase.expected_purchases(horizon, ux, utx, uT), float).reshape(
        -1
    )
    discounted_u = customer_lifetime_value(
        fits.purchase,
        _UnitSpend(),
        ux,
        utx,
        uT,
        np.zeros(ux.size),
        gross_margin=1.0,
        horizon_months=settings.horizon_months,
        annual_discount_rate=settings.annual_discount_rate,
        time_unit=unit,
    )
    uid, x, m = rfm["uid"], rfm["frequency"], rfm["monetary_value"]
    spend = np.empty(x.size)
    for start in range(0, x.size, CHUNK):
        part = slice(start, start + CHUNK)
        spend[part] = np.asarray(fits.spend.expected_spend(x[part], m[part]), float).reshape(-1)
    clv = discounted_u[uid] * spend * settings.gross_margin
    # churn risk: the workbook path's own function on the distinct rows, spread by index
    notes: list[str] = []
    distinct = _mem.Summary(pd.DataFrame(u), *[np.empty(0)] * 4)
    no_purchase_u = _mem.churn_risk(distinct, fits, settings, notes)
    return Values(
        p_alive=p_alive_u[uid],
        expected=expected_u[uid],
        spend=spend,
        predicted=clv * (1.0 - return_rate),
        gross=gross,
        returned=returned,
        return_rate=return_rate,
        no_purchase=None if no_purchase_u is None else no_purchase_u[uid],
        notes=notes,
    )


@dataclass
class _ShownRanges(_mem.ClvRanges):
    """The big path's ranges: ``p10``/``p90`` only for the customers at positions ``rows``
    (those the Customers sheet keeps); ``total`` and ``segments`` over all customers."""

    rows: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def at(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """P10 and P90 of the customers at ``positions`` (NaN where not computed)."""
        where = pd.Index(self.rows).get_indexer(positions)
        p10, p90 = (np.where(where >= 0, q[where], np.nan) for q in (self.p10, self.p90))
        return p10, p90


def _clv_ranges(
    con: Any,
    fits: Fits,
    settings: Settings,
    rfm: dict[str, np.ndarray],
    values: Values,
    seg_codes: dict[str, tuple[np.ndarray, np.ndarray]],
    shown: np.ndarray,
) -> None:
    """The workbook path's CLV ranges (:func:`xlclv.report.pipeline._clv_ranges`: same draws,
    seed and meaning), set on ``values.ranges`` (or a note on ``values.notes`` saying why not).

    A customer's CLV is ``P(alive) (A + B mbar)`` with ``P(alive)``, ``A`` and ``B`` functions
    of her (frequency, recency, T) and the draw (Gamma-Gamma: Fader, Hardie & Lee 2005), so
    the per-draw total of any group of customers is exact from one row per distinct
    (frequency, recency, T) in the group, weighted by its customer count, with the average of
    their mean spends (:func:`xlclv.intervals.clv_interval` with ``weights``). The totals and
    every segment's total therefore cost (distinct rows x draws), not (customers x draws); the
    per-customer P10/P90 are computed only for the customers at ``shown`` (the Customers sheet).
    """
    from xlclv.models import GammaGammaModel

    skip = "CLV ranges (P10/P90) are not shown: "
    notes: list[str] = []
    u = _distinct_rows(con)
    if fits.spend_note or not isinstance(fits.spend, GammaGammaModel):
        notes.append(skip + "the spend model is the mean-spend fallback, which has no "
                     "parameter uncertainty to draw from.")  # fmt: skip
    elif fits.model_key(settings) == "PNBD" and u["frequency"].size > _mem.PNBD_RANGE_ROWS:
        rows = u["frequency"].size
        notes.append(
            skip + f"the Pareto/NBD ranges need {rows:,} distinct customer histories "
            f"x {_mem.RANGE_DRAWS:,} draws of a hypergeometric function (over "
            f"{_mem.PNBD_RANGE_ROWS:,} takes minutes); choose BG/NBD or MBG/NBD for ranges."
        )
    elif (evals := _range_evaluations(u, fits, settings)) > RANGE_EVALUATIONS:
        pairs = evals // (_mem.RANGE_DRAWS * _months(settings))
        notes.append(
            skip + f"the draws need {evals:,} hypergeometric "
            f"function evaluations ({pairs:,} distinct (frequency, T) pairs x "
            f"{_months(settings)} months x {_mem.RANGE_DRAWS:,} draws), above this path's "
            f"limit of {RANGE_EVALUATIONS:,} (about 15 s of CPU). The workbook path computes "
            "them without a limit for data it can read."
        )
    else:
        try:
            values.ranges = _grouped_ranges(
                fits, settings, rfm, u, seg_codes, shown, 1.0 - values.return_rate
            )
        except XlclvError as exc:
            notes.append(skip + str(exc))
        else:
            n = rfm["uid"].size
            if shown.size < n:
                notes.append(
                    f"Predicted CLV (P10) and (P90) are computed for the {shown.size:,} "
                    f"customers on the Customers sheet only (in the scores file they are blank "
                    f"for the other {n - shown.size:,}): each customer's range needs "
                    f"{_mem.RANGE_DRAWS:,} model evaluations. The ranges of the total and of "
                    "every segment's total cover all customers."
                )
    values.notes[:0] = notes  # before the churn note, as on the workbook path


#: The most hypergeometric function evaluations (distinct (frequency, T) pairs x months of
#: the horizon x draws) the BG/NBD and MBG/NBD ranges may take on this path: measured
#: 0.14 us each on 2 busy CPUs, so about 15 s of CPU. T counted to the day gives up to one pair per (frequency, day of first purchase):
#: 20,000 pairs for 100,000 customers over two years, 3.5 times the limit.
RANGE_EVALUATIONS = 100_000_000


def _months(settings: Settings) -> int:
    return max(1, math.ceil(settings.horizon_months - 1e-12))


def _range_evaluations(u: dict[str, np.ndarray], fits: Fits, settings: Settings) -> int:
    """The BG/NBD-family draws' hypergeometric evaluations (0 for other models)."""
    if fits.model_key(settings) not in ("BGNBD", "MBGNBD"):
        return 0
    pairs = len(pd.MultiIndex.from_arrays([u["frequency"], u["T"]]).unique())
    return pairs * _months(settings) * _mem.RANGE_DRAWS


def _grouped_ranges(fits, settings, rfm, u, seg_codes, shown, scale: float) -> _ShownRanges:
    """:func:`_clv_ranges`'s arithmetic; ``scale``: 1 - the return rate."""
    from xlclv.intervals import clv_interval

    common = dict(
        gross_margin=settings.gross_margin, horizon_months=settings.horizon_months,
        annual_discount_rate=settings.annual_discount_rate, time_unit=settings.time_unit,
        n_draws=_mem.RANGE_DRAWS, quantiles=(0.1, 0.9), seed=_mem.RANGE_SEED,
    )  # fmt: skip
    uid, x = rfm["uid"].astype(np.int64), rfm["frequency"]
    m = np.where(x > 0, rfm["monetary_value"], 0.0)  # clv_interval ignores it without repeats
    # one row per (dimension, segment, distinct history): customers and the sum of mean spends
    dims = list(seg_codes) or [""]
    parts, labels, offset = [], [], 0
    for d in dims:
        codes, texts = seg_codes[d] if d else (np.zeros(uid.size, np.int64), np.array([""]))
        key, first = pd.factorize(uid * len(texts) + codes.astype(np.int64))
        count = np.bincount(key, minlength=first.size).astype(float)
        total = np.bincount(key, weights=m, minlength=first.size)
        row, code = first // len(texts), first % len(texts)
        parts.append((row, total / count, count, code + offset))
        labels += [(d, t) for t in texts]
        offset += len(texts)
    # then the shown customers themselves, with weight 0 (nothing added to any total) in a
    # group of their own, flagged for per-customer quantiles: one call, so the draws' work
    # per distinct (frequency, T) is done once for both
    rows = np.asarray(shown, dtype=np.int64)
    parts.append((uid[rows], m[rows], np.zeros(rows.size), np.full(rows.size, offset)))
    row, mbar, count, group = (np.concatenate(c) for c in zip(*parts, strict=True))
    flag = np.zeros(row.size, dtype=bool)
    flag[row.size - rows.size :] = True
    res = clv_interval(
        fits.purchase, fits.spend, u["frequency"][row], u["recency"][row], u["T"][row], mbar,
        groups=group, weights=count, per_customer=flag, **common,
    )  # fmt: skip
    k = len(dims)
    segments: dict[str, pd.DataFrame] = {}
    for d in seg_codes:
        got = [(labels[g][1], g) for g in res.groups.index if g < offset and labels[g][0] == d]
        part = res.groups.loc[[g for _, g in got], ["p10", "p90"]] * scale
        part.index = pd.Index([t for t, _ in got], dtype=object)
        segments[d] = part
    one = res.customers
    return _ShownRanges(
        p10=one["p10"].to_numpy(dtype=float) * scale,
        p90=one["p90"].to_numpy(dtype=float) * scale,
        total=(float(res.total["p10"]) * scale / k, float(res.total["p90"]) * scale / k),
        segments=segments,
        rows=rows,
    )


def _holdout(
    con: Any, model: str, settings: Settings, end: pd.Timestamp, cal: pd.Timestamp | None, hold_days: int,
    period: int,
) -> Holdout:  # fmt: skip
    """The workbook path's holdout check (:func:`xlclv.report.holdout.holdout_check`), on the
    calibration counts of each customer, compressed to distinct rows with counts."""
    columns = ["Measure", "Predicted", "Actual", "Difference", "Difference %"]
    empty = pd.DataFrame(columns=columns)
    if cal is None:
        text = (
            "The holdout check needs at least four weeks of data; this data covers "
            f"{period} days, so it was skipped."
        )
        return Holdout(empty, text, [("Holdout check", "skipped")])
    per = repr(DAYS_PER_UNIT[settings.time_unit])
    cal_sql = f"DATE {_lit(cal.date().isoformat())}"
    rows = _fetch(
        con,
        f"""SELECT CAST(n_cal - 1 AS DOUBLE) AS f,
          CAST(date_diff('day', xl_first, last_cal) AS DOUBLE) / {per} AS r,
          CAST(date_diff('day', xl_first, {cal_sql}) AS DOUBLE) / {per} AS t,
          COUNT(*) AS n, SUM(frequency + 1 - n_cal) AS hold
        FROM xl_cust WHERE n_cal > 0 GROUP BY ALL ORDER BY f, r, t""",
    )
    duration = (end - cal).days / DAYS_PER_UNIT[settings.time_unit]
    try:
        if not (rows["f"] > 0).any():
            raise FitError("no repeat purchase in the calibration period")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = purchase_model(model).fit(
                rows["f"], rows["r"], rows["t"], weights=rows["n"].astype(float)
            )
        each = np.asarray(
            fitted.expected_purchases(duration, rows["f"], rows["r"], rows["t"]), dtype=float
        )
    except (FitError, InputError) as exc:
        text = f"The holdout check could not be run ({exc})."
        return Holdout(empty, text, [("Holdout check", "not run")])
    pred = float(np.sum(each * rows["n"]))
    actual = float(np.sum(rows["hold"]))
    n = int(np.sum(rows["n"]))
    table = pd.DataFrame(
        [
            ("Repeat purchases in the holdout", pred, actual),
            ("Repeat purchases per customer", pred / n, actual / n),
        ],
        columns=["Measure", "Predicted", "Actual"],
    )
    table["Difference"] = table["Predicted"] - table["Actual"]
    table["Difference %"] = table["Difference"] / table["Actual"].where(table["Actual"] > 0)
    text = holdout_sentence(hold_days, cal, pred, actual, n)
    items = [
        ("Holdout calibration end", cal.date().isoformat()),
        ("Holdout length (days)", hold_days),
        ("Holdout customers", n),
        ("Holdout fit converged", "yes" if fitted.converged_ else "NO"),
    ]
    return Holdout(table, text, items)


def _segment_codes(con: Any, i: int) -> tuple[np.ndarray, np.ndarray]:
    """(code of each customer in xl_i order, values by code in first-appearance order)."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE xl_vals AS
        SELECT xl_s{i} AS v, row_number() OVER (ORDER BY MIN(xl_i)) - 1 AS code
        FROM xl_cust GROUP BY xl_s{i}"""
    )
    values = con.execute("SELECT v FROM xl_vals ORDER BY code").fetchall()
    codes = _fetch(
        con,
        f"SELECT v.code FROM xl_cust c JOIN xl_vals v ON c.xl_s{i} = v.v ORDER BY c.xl_i",
    )["code"].astype(np.int32)
    return codes, np.array([v[0] for v in values], dtype=object)


def _tier_order(predicted: np.ndarray) -> np.ndarray:
    """Customers by predicted CLV, highest first, ties by customer id (= position: the rows are
    in customer-id order), NaN last: the order of :func:`xlclv.report.segments.assign_tiers`."""
    key = np.where(np.isnan(predicted), -np.inf, predicted)
    return np.argsort(-key, kind="stable")


def _tiers_from_order(order: np.ndarray) -> np.ndarray:
    n = order.size
    codes = np.full(n, 2, dtype=np.int8)
    top, next_ = math.ceil(0.10 * n), math.ceil(0.30 * n)
    codes[order[:top]] = 0
    codes[order[top:next_]] = 1
    return codes


def _groups(
    con, settings, rfm, values, first_day, revenue, orders, seg_codes, tiers, order, max_rows,
    curve_rows, end, counts, plan,
) -> Groups:  # fmt: skip
    unit = settings.time_unit
    n = first_day.size
    truncated = n > max_rows
    shown = np.sort(order[:max_rows]) if not truncated else order[:max_rows]
    dims = list(seg_codes)
    # light per-customer frame for the groupings (segment values share their text objects)
    hist = revenue * settings.gross_margin
    light = pd.DataFrame(
        {
            "Revenue": revenue,
            "Historical CLV": hist,
            "Predicted CLV": values.predicted,
            "P(alive)": values.p_alive,
        },
        copy=False,  # the arrays as they are: no second copy of 4 columns of every customer
    )
    segments = {}
    for d in dims:
        codes, texts = seg_codes[d]
        light[d] = texts[codes]
        segments[d] = _mem.with_range(seg.segment_table(light, d), d, values)
        del light[d]
    # cohorts: labels per distinct first day, then per customer
    days, day_code = np.unique(first_day, return_inverse=True)
    span_days = float((days.max() - days.min()) / np.timedelta64(1, "D"))
    labels, cohort_kind = seg.cohort_labels(pd.Series(days), span_days)
    label_of_day = labels.to_numpy(dtype=object)
    cohorts = _cohort_table(light, label_of_day, day_code)
    curves = _cohort_curves(curve_rows, days, day_code, label_of_day, end)
    # the Customers sheet: every customer in id order, or the top ones by predicted CLV
    ids = _fetch_ids(con, shown)
    customers = pd.DataFrame({"Customer ID": ids})
    for d in dims:
        codes, texts = seg_codes[d]
        customers[d] = texts[codes[shown]]
    customers["First purchase"] = first_day[shown]
    customers["Orders"] = orders[shown]
    customers["Revenue"] = revenue[shown]
    customers["Historical CLV"] = customers["Revenue"] * settings.gross_margin
    customers["P(alive)"] = values.p_alive[shown]
    if values.no_purchase is not None:
        customers[_mem.churn_header(settings)] = values.no_purchase[shown]
    customers["Expected purchases"] = values.expected[shown]
    customers["Expected spend"] = values.spend[shown]
    customers["Predicted CLV"] = values.predicted[shown]
    if values.ranges is not None:
        p10, p90 = values.ranges.at(shown)
        customers["Predicted CLV (P10)"], customers["Predicted CLV (P90)"] = p10, p90
    customers["Tier"] = np.asarray(seg.TIERS, dtype=object)[tiers[shown]]
    u = _distinct_rows(con)
    row = rfm["uid"][shown]
    customers["Frequency"] = u["frequency"][row]
    customers[f"Recency ({unit})"] = u["recency"][row]
    customers[f"T ({unit})"] = u["T"][row]
    no_purchase = bool((counts["Problem"] == NO_PURCHASE).any())
    issues = _issue_rows(con, plan, end, no_purchase) if len(counts) else _empty_issues()
    return Groups(
        customers=customers,
        segments=segments,
        cohorts=cohorts,
        cohort_curves=curves,
        cohort_kind=cohort_kind,
        concentration=seg.concentration_curve(values.predicted),
        palive_distribution=seg.palive_distribution(values.p_alive),
        issues=issues,
        notes=[],
    )


def _cohort_table(light: pd.DataFrame, label_of_day: np.ndarray, day_code: np.ndarray):
    """:func:`xlclv.report.segments.cohort_table`, grouped by codes into the sorted labels
    rather than by a text per customer: the same groups in the same (sorted) order and the
    same sums over the same rows in the same order, without a column of 10M texts and a copy
    of the frame (measured: the segment stage's peak memory at 10M customers)."""
    names, label_code = np.unique(label_of_day.astype(str), return_inverse=True)
    key = pd.Categorical.from_codes(
        label_code[day_code], categories=pd.Index(names.astype(object), dtype=object)
    )
    out = seg.cohort_sums(light.groupby(key, sort=True, observed=True))
    out.index = pd.Index(out.index.astype(object), dtype=object, name="Cohort")
    return out.reset_index()


def _empty_issues() -> pd.DataFrame:
    return pd.DataFrame(
        {"Sheet": [], "Row": pd.Series([], dtype="int64"), "Column": [], "Value": [], "Problem": []}
    )


def _fetch_ids(con: Any, positions: np.ndarray) -> np.ndarray:
    con.register("xl_shown", pd.DataFrame({"xl_i": positions, "xl_k": np.arange(positions.size)}))
    ids = con.execute(
        "SELECT c.xl_c FROM xl_shown s JOIN xl_cust c USING (xl_i) ORDER BY s.xl_k"
    ).fetchnumpy()["xl_c"]
    con.unregister("xl_shown")
    return np.asarray(ids, dtype=object)


def _cohort_curves(
    rows: pd.DataFrame, days: np.ndarray, day_code: np.ndarray, labels: np.ndarray,
    end: pd.Timestamp,
) -> pd.DataFrame:  # fmt: skip
    """:func:`xlclv.report.segments.cohort_curves` from net revenue summed per (first purchase
    day, month since it): each (day, month) row stands for its customers' transactions."""
    first = pd.Series(days)
    customers_per_day = np.bincount(day_code, minlength=days.size)
    day_index = pd.Index(days).get_indexer(rows["xl_first"].to_numpy(dtype="datetime64[ns]"))
    # one pseudo-customer per distinct first day, weighted by its customers in the sizes
    cohorts = pd.Series(labels, dtype=object)
    table = seg.cohort_curves(
        day_index,
        rows["month"].to_numpy(dtype=float) * DAYS_PER_MONTH,
        rows["revenue"].to_numpy(dtype=float),
        cohorts,
        first,
        end,
    )
    # cohort_curves divides by the number of (pseudo-)customers: rescale to real customers
    size_pseudo = cohorts.value_counts()
    size_real = pd.Series(customers_per_day, index=labels).groupby(level=0).sum()
    for label in table.columns[1:]:
        table[label] = table[label] * size_pseudo[label] / size_real[label]
    return table


# -- outputs ------------------------------------------------------------------------------------


def write_scores(
    con: Any,
    path: Path,
    settings: Settings,
    values: Values,
    revenue: np.ndarray,
    tiers: np.ndarray,
    dims: list[str],
) -> Path:
    """Every customer's row of the Customers sheet, in customer-id order, as Parquet or CSV.

    Written by DuckDB from the customer table and the scores (no per-customer Python objects).
    """
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InputError(f"The scores file must be .parquet or .csv, got '{path.name}'")
    if not path.parent.is_dir():
        raise WorkbookError(f"The folder of the scores file '{path.parent}' does not exist")
    unit = settings.time_unit
    scores = pd.DataFrame(
        {
            "xl_i": np.arange(revenue.size, dtype=np.int64),
            "p_alive": values.p_alive,
            "expected": values.expected,
            "spend": values.spend,
            "predicted": values.predicted,
            "revenue": revenue,
            "tier": tiers,
        },
        copy=False,
    )
    churn = ""
    if values.no_purchase is not None:
        scores["no_purchase"] = values.no_purchase
        churn = f", s.no_purchase AS {_q(_mem.churn_header(settings))}"
    ranges = ""
    if values.ranges is not None:  # only the Customers sheet's customers have them: NULL else
        at = getattr(values.ranges, "rows", np.arange(revenue.size))
        for name in ("p10", "p90"):
            column = np.full(revenue.size, np.nan)
            column[at] = getattr(values.ranges, name)
            scores[name] = pd.array(column, dtype="Float64")  # NaN: NULL (blank in a CSV)
        ranges = ', s.p10 AS "Predicted CLV (P10)", s.p90 AS "Predicted CLV (P90)"'
    con.register("xl_scores", scores)
    segs = "".join(f", c.xl_s{i} AS {_q(name)}" for i, name in _dim_columns(con, dims))
    tier_sql = " ".join(f"WHEN {k} THEN {_lit(t)}" for k, t in enumerate(seg.TIERS))
    fmt = "(FORMAT parquet, COMPRESSION zstd)" if suffix == ".parquet" else "(FORMAT csv, HEADER)"
    # Parquet: a timestamp, as pandas writes dates (they read back as datetime64)
    first = "CAST(c.xl_first AS TIMESTAMP)" if suffix == ".parquet" else "c.xl_first"
    tmp = path.with_name(f".~{path.name}")
    # xl_cust is stored in xl_i order, as the scores are: a positional join in that order
    # needs no sort of every customer's row (measured 1.9x faster at 10M customers); checked
    # first, with the join on xl_i and a sort if the stored order were ever different
    con.execute("SET preserve_insertion_order = true")
    misplaced = con.execute(
        "SELECT COUNT(*) FROM xl_cust c POSITIONAL JOIN xl_scores s "
        "WHERE c.xl_i IS DISTINCT FROM s.xl_i"
    ).fetchone()[0]
    rows = (
        "xl_cust c POSITIONAL JOIN xl_scores s"
        if misplaced == 0
        else "xl_cust c JOIN xl_scores s USING (xl_i) ORDER BY c.xl_i"
    )
    con.execute(
        f"""COPY (
          SELECT c.xl_c AS "Customer ID" {segs}, {first} AS "First purchase",
            c.orders AS "Orders", s.revenue AS "Revenue",
            s.revenue * {float(settings.gross_margin)!r} AS "Historical CLV",
            s.p_alive AS "P(alive)"{churn}, s.expected AS "Expected purchases",
            s.spend AS "Expected spend", s.predicted AS "Predicted CLV"{ranges},
            CASE s.tier {tier_sql} END AS "Tier", c.frequency AS "Frequency",
            c.recency AS "Recency ({unit})", c."T" AS "T ({unit})"
          FROM {rows}
        ) TO {_lit(str(tmp))} {fmt}"""
    )
    con.execute("SET preserve_insertion_order = false")
    con.unregister("xl_scores")
    os.replace(tmp, path)
    return path


def _dim_columns(con: Any, dims: list[str]) -> list[tuple[int, str]]:
    cols = [r[0] for r in con.execute("DESCRIBE xl_cust").fetchall()]
    seg_cols = [c for c in cols if c.startswith("xl_s")]
    return [(int(c[4:]), name) for c, name in zip(seg_cols, dims, strict=True)]


def _finish(
    report: Report,
    n: int,
    max_rows: int,
    truncated: bool,
    scores_path: Path | None,
    counts: pd.DataFrame,
    total_issues: int,
) -> None:
    """Counts by kind and the truncation on the Model sheet; the totals in the summary."""
    rows: list[tuple[str, object]] = [
        (f"Rows not used or caveated: {r.Problem}", int(r.Rows)) for r in counts.itertuples()
    ]
    notes = []
    if total_issues > len(report.issues):
        notes.append(
            f"{total_issues:,} input rows were not used or were used with a caveat; Data issues "
            f"lists the first {len(report.issues):,} and this sheet counts them by kind."
        )
    if truncated:
        where = f" All {n:,} customers' scores are in {scores_path}." if scores_path else ""
        notes.append(
            f"The Customers sheet shows the top {max_rows:,} of the {n:,} customers by "
            f"predicted CLV (setting max_customer_rows), highest first.{where} Segments, "
            "Cohorts, this sheet and the Dashboard cover all customers."
        )
    elif scores_path is not None:
        notes.append(f"Every customer's scores are also in {scores_path}.")
    if rows or notes:
        extra = pd.DataFrame(rows + [("Note", t) for t in notes], columns=["Item", "Value"])
        report.model_fit = pd.concat([report.model_fit, extra], ignore_index=True)
    report.summary["customers"] = n
    report.summary["issues"] = total_issues
    report.summary["notes"] = [*report.summary.get("notes", []), *notes]
    report.summary["customers_shown"] = len(report.customers)
    report.summary["customers_note"] = notes[-1] if truncated else ""
    report.summary["issues_note"] = notes[0] if total_issues > len(report.issues) else ""
    report.summary["scores_path"] = None if scores_path is None else str(scores_path)


def limit_customers(
    report: Report,
    max_customer_rows: int = MAX_CUSTOMER_ROWS,
    *,
    scores: str | os.PathLike[str] | None = None,
    scores_if_truncated: str | os.PathLike[str] | None = None,
) -> tuple[bool, Path | None]:
    """The same output rules for a report built in memory (:func:`build_report`).

    Writes every customer's row to ``scores`` (or, when the Customers sheet is truncated and
    ``scores`` is None, to ``scores_if_truncated``) and keeps the top ``max_customer_rows``
    customers by predicted CLV (ties by customer id), highest first, with the notes of
    :func:`build_report_big`. Segments, cohorts, Model and Dashboard are left as they are:
    they were computed from all customers.

    Returns
    -------
    (truncated, scores path or None)
    """
    max_rows = _check_max_rows(max_customer_rows)
    customers = report.customers
    n = len(customers)
    truncated = n > max_rows
    target = scores if scores is not None else (scores_if_truncated if truncated else None)
    if not truncated and target is None:
        return False, None
    path = None
    if target is not None:
        path = Path(target)
        suffix = path.suffix.lower()
        if suffix not in (".parquet", ".csv"):
            raise InputError(f"The scores file must be .parquet or .csv, got '{path.name}'")
        if not path.parent.is_dir():
            raise WorkbookError(f"The folder of the scores file '{path.parent}' does not exist")
        tmp = path.with_name(f".~{path.name}")
        if suffix == ".csv":
            customers.to_csv(tmp, index=False)
        else:
            try:
                customers.to_parquet(tmp, index=False)
            except ImportError:
                raise WorkbookError(
                    "Writing Parquet needs pyarrow: pip install pyarrow (or use --scores x.csv)"
                ) from None
        os.replace(tmp, path)
    if truncated:
        ids = customers["Customer ID"].to_numpy(dtype=object).astype(str)
        key = customers["Predicted CLV"].to_numpy(dtype=float)
        key = np.where(np.isnan(key), -np.inf, key)
        top = np.lexsort((ids, -key))[:max_rows]
        report.customers = customers.iloc[top].reset_index(drop=True)
    issues = int(report.summary.get("issues", len(report.issues)))
    _finish(report, n, max_rows, truncated, path, pd.DataFrame(columns=["Problem", "Rows"]), issues)
    return truncated, path


# -- the command line ---------------------------------------------------------------------------


def run_cli(
    args: Any, console: Any, overrides: dict[str, object], columns: dict[str, str] | None = None
) -> int:
    """``xlclv report`` on the big-data path (called by :mod:`xlclv.report.cli`; ``columns``
    is its parsed ``--columns``)."""
    import time

    from rich.console import Console

    from xlclv._errors import XlclvError
    from xlclv.report.cli import EXIT_WARNINGS, PhaseTimer, print_summary, stopped
    from xlclv.report.writer import write_report

    err = Console(stderr=True, soft_wrap=True)
    start = time.perf_counter()
    timer = PhaseTimer(err)
    try:
        import duckdb

        db_error: type[BaseException] = duckdb.Error
    except ImportError:  # pragma: no cover - duckdb is a dependency
        db_error = XlclvError
    try:
        output = Path(args.output)
        if output.exists() and not args.force:
            raise WorkbookError(
                f"'{output}' already exists; use --force to replace it, or choose another -o name"
            )
        if output.suffix.lower() != ".xlsx":
            raise WorkbookError(f"The report must be an .xlsx file, got '{output.name}'")
        if Path(args.input).exists() and output.resolve() == Path(args.input).resolve():
            raise WorkbookError("The output must be a new file: xlclv never writes into its input")
        settings = Settings.from_values({}, **overrides)
        rows = args.max_customer_rows if args.max_customer_rows is not None else MAX_CUSTOMER_ROWS
        big = build_report_big(
            args.input,
            settings,
            table=args.table,
            scores=args.scores,
            scores_if_truncated=default_scores_path(output),
            max_customer_rows=rows,
            memory_limit=args.memory_limit,
            progress=timer,
            columns=columns,
        )
        timer("write")
        written = write_report(big.report, output, force=args.force)
    except (XlclvError, OSError, db_error, KeyboardInterrupt) as exc:
        return stopped(exc, timer, err)
    except SystemExit:  # SIGTERM (see cli._stoppable)
        timer.abort()
        raise
    timer.done()
    print_summary(console, big.report, written, time.perf_counter() - start)
    if big.truncated:
        console.print(
            f"  Customers sheet      top {len(big.report.customers):,} of "
            f"{big.customers_total:,} by predicted CLV",
            highlight=False,
        )
    if big.scores_path is not None:
        console.print(f"  scores file          {big.scores_path}", highlight=False)
    return EXIT_WARNINGS if big.report.summary.get("warnings") else 0


# -- the Excel button ---------------------------------------------------------------------------


def report_for_workbook(
    inputs: Any,
    settings: Settings,
    *,
    workbook: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """The report the one-click button builds for a workbook's input sheets.

    With a ``data_source`` setting on the Settings sheet (a Parquet or CSV file, a folder or
    glob of Parquet files, or a DuckDB database with a ``data_table`` setting; a relative path
    is taken from the workbook's folder) the transactions are read from there through DuckDB
    (:func:`build_report_big`) and the Transactions sheet is not used. Otherwise the pasted
    Transactions sheet goes through :func:`~xlclv.report.pipeline.build_report`. Either way the
    Customers sheet holds at most the ``max_customer_rows`` setting (default 100,000) and,
    when it is truncated, every customer's scores are written beside the workbook as
    ``<workbook>-scores.parquet`` (the Model sheet and the Customers sheet say where).

    Parameters
    ----------
    inputs : xlclv.report.inputs.WorkbookInputs
    settings : Settings
    workbook : path-like, optional
        The workbook's full path (xlwings' ``book.fullname``): where relative data sources
        are found and the scores file is written. Without it, relative paths are taken from
        the current folder and a truncated report writes no scores file.
    progress : callable, optional
        Called with each stage's name.
    """
    from xlclv.report import build_report

    values = getattr(inputs, "settings", None) or {}
    rows = max_customer_rows_setting(values)
    rows = MAX_CUSTOMER_ROWS if rows is None else rows
    book = Path(workbook) if workbook and Path(workbook).parent.is_dir() else None
    scores = default_scores_path(book) if book is not None else None
    source = data_source_setting(values)
    if source is None:
        report = build_report(inputs, settings, progress=progress)
        limit_customers(report, rows, scores_if_truncated=scores)
        return report
    where = Path(source).expanduser()
    if not where.is_absolute() and book is not None:
        source = str(book.parent / where)
    table = None
    for key, value in values.items():
        if str(key).strip().lower().replace(" ", "_").replace("-", "_") == "data_table":
            table = str(value).strip() or None if value is not None else None
    big = build_report_big(
        source,
        settings,
        table=table,
        scores_if_truncated=scores,
        max_customer_rows=rows,
        progress=progress,
    )
    if len(getattr(inputs, "transactions", ())):
        big.report.model_fit.loc[len(big.report.model_fit)] = (
            "Note",
            f"The transactions were read from the data_source setting ({source}); the rows on "
            f"sheet '{inputs.transactions_sheet}' were not used.",
        )
    return big.report
