"""The RFM summary of files too big for pandas, streamed through DuckDB under a memory limit.

:func:`rfm_summary_duckdb` returns the same table as :func:`xlclv.transactions.rfm_summary`
for a Parquet file, a folder or glob of Parquet files, a CSV file, a table of a DuckDB
database or a pandas DataFrame, without loading the transactions into Python: DuckDB reads
the columns it needs in a streaming scan, aggregates per customer and day, and spills to a
temporary folder when it reaches ``memory_limit``. The SQL is :func:`xlclv.engines.sql.rfm_query`,
the one query every engine and warehouse dialect shares.

The cleaning rules match the in-memory path (:func:`xlclv.inputs.clean_transactions` and
:func:`~xlclv.transactions.rfm_summary`), in SQL:

- a missing required column is an :class:`~xlclv.InputError` naming it and the columns found;
- rows with a missing customer id, a missing or unreadable date or a missing, unreadable or
  infinite amount are not used; they are counted by kind and the first 10,000 are listed
  (:func:`scan_transactions_duckdb`). :func:`rfm_summary_duckdb` raises on them instead, as
  ``rfm_summary`` does;
- negative amounts are returns: never purchase occasions, but totalled (``returns``) and
  netted in ``revenue``; zero amounts are not purchases unless ``include_zero_amounts``;
- rows dated after ``observation_end`` are excluded and counted.

Dates are DATE or TIMESTAMP columns (the day is used) or text in ISO form (``2024-01-31``,
optionally followed by a time without a time zone). Text in any other form is counted as an
unreadable date rather than guessed; time-zone-aware timestamps in files are refused unless
``time_zone`` names the zone whose calendar days count, since their day depends on it.
"""

from __future__ import annotations

import glob as _glob
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._errors import InputError
from .._timeunits import check_time_unit
from .scoring import score_chunks
from .sql import rfm_query

__all__ = [
    "ISSUE_COLUMNS",
    "MAX_ISSUE_ROWS",
    "CompressedRFM",
    "TransactionScan",
    "compressed_rfm",
    "rfm_summary_duckdb",
    "scan_transactions_duckdb",
    "score_chunks",
]

#: How many offending rows a scan lists (all are counted).
MAX_ISSUE_ROWS = 10_000
#: Columns of :attr:`TransactionScan.issue_rows` (those of the report's Data issues table).
ISSUE_COLUMNS = ["Sheet", "Row", "Column", "Value", "Problem"]

_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
_PARQUET = {".parquet", ".pq"}
_CSV = {".csv", ".tsv", ".txt"}
_DATABASE = {".duckdb", ".db", ".ddb"}
_ISO_DATE = r"^(\d{4}-\d{1,2}-\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
)


@dataclass
class TransactionScan:
    """What a DuckDB scan of a transactions source found.

    Attributes
    ----------
    rfm : pandas.DataFrame
        The RFM summary, as :func:`xlclv.transactions.rfm_summary` returns it (indexed by
        customer id, sorted; float columns ``frequency``, ``recency``, ``T``,
        ``monetary_value``), of the rows that could be used. Empty with ``compressed``.
    issues : pandas.DataFrame
        Rows not used, counted by kind: columns ``Problem``, ``Column``, ``Rows``; one row per
        kind that occurred (missing customer id, missing date, unreadable date, missing
        amount, unreadable amount, date after observation_end).
    issue_rows : pandas.DataFrame
        The first :data:`MAX_ISSUE_ROWS` rows not used, in source order, with the columns of
        :data:`ISSUE_COLUMNS`: ``Sheet`` (the file, or "DataFrame" / the table name), ``Row``
        (1-based position of the data row in its file or table; a CSV's header is not
        counted, so data row 1 is line 2), ``Column``, ``Value`` (as text), ``Problem``.
    totals : dict
        ``rows`` (read), ``rows_used`` (valid and on or before observation_end),
        ``rows_not_used``, ``purchase_rows``, ``return_rows`` (amount < 0), ``zero_rows``
        (amount = 0), ``gross_sales`` (sum of amounts above 0), ``returns`` (sum of the
        negative amounts, as a positive number), ``revenue`` (gross_sales - returns),
        ``customers`` (with a purchase day), ``first_date``, ``observation_end``
        (``datetime.date``), ``time_unit``. Sums over the rows used.
    """

    rfm: pd.DataFrame
    issues: pd.DataFrame
    issue_rows: pd.DataFrame
    totals: dict[str, Any]


@dataclass
class CompressedRFM:
    """Distinct RFM rows with their counts: what the models need, in fewer rows.

    Fit with the counts as weights; the likelihood is the same as over all customers::

        BetaGeoModel().fit(c.rows["frequency"], c.rows["recency"], c.rows["T"],
                           weights=c.rows["count"])
        GammaGammaModel().fit(c.spend["frequency"], c.spend["monetary_value"],
                              weights=c.spend["count"])

    Attributes
    ----------
    rows : pandas.DataFrame
        Columns ``frequency``, ``recency``, ``T`` (float, in the time unit), ``count`` (int):
        one row per distinct (frequency, recency, T), sorted.
    spend : pandas.DataFrame
        Columns ``frequency``, ``monetary_value``, ``count``: the distinct pairs of the repeat
        buyers (frequency > 0), for the Gamma-Gamma spend model. Monetary values are rarely
        repeated, so this has about one row per repeat buyer.
    totals : dict
        As :attr:`TransactionScan.totals`.
    issues : pandas.DataFrame
        Rows not used, counted by kind, as :attr:`TransactionScan.issues`.
    """

    rows: pd.DataFrame
    spend: pd.DataFrame
    totals: dict[str, Any] = field(default_factory=dict)
    issues: pd.DataFrame = field(default_factory=pd.DataFrame)


def _import_duckdb():
    try:
        import duckdb
    except ImportError:  # pragma: no cover - duckdb is a dependency except in the browser
        raise ImportError(
            "the DuckDB engine needs the duckdb package: pip install duckdb "
            "(it is not available in the browser build of Python)"
        ) from None
    return duckdb


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


@contextmanager
def connect(memory_limit: str, threads: int | None) -> Iterator[Any]:
    """An in-memory DuckDB connection with a memory limit and its own spill folder."""
    duckdb = _import_duckdb()
    if not isinstance(memory_limit, str) or not _MEMORY.match(memory_limit):
        raise InputError(
            f"memory_limit must be a size such as '2GB' or '512MB', got {memory_limit!r}"
        )
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise InputError(f"threads must be a whole number of 1 or more, got {threads!r}")
    spill = tempfile.mkdtemp(prefix="xlclv-duckdb-")
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"SET memory_limit = {_literal(memory_limit.strip())}")
        con.execute(f"SET temp_directory = {_literal(spill)}")
        # Streaming aggregation does not need the rows in file order.
        con.execute("SET preserve_insertion_order = false")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        yield con
    except duckdb.OutOfMemoryException as exc:
        raise InputError(
            f"DuckDB needed more memory than memory_limit={memory_limit!r} allows "
            f"({str(exc).splitlines()[0]}); raise memory_limit (e.g. '4GB') or pass threads=1"
        ) from None
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


# -- sources ----------------------------------------------------------------------------------
@dataclass
class Source:
    relation: str  # SQL that can follow FROM
    numbered: str  # SQL with every column plus xl_row (1-based), xl_file and xl_key (input order)
    ordered_numbering: bool  # numbered needs one thread to number rows in source order
    name: str
    described: list[tuple[str, str]] | None = None  # (column, type), once read

    def columns(self, con: Any) -> list[tuple[str, str]]:
        """The source's (column, type) pairs, read once (a folder of Parquet files has every
        file's footer read for them)."""
        if self.described is None:
            rows = con.execute(f"DESCRIBE SELECT * FROM {self.relation}").fetchall()
            self.described = [(str(r[0]), str(r[1])) for r in rows]
        return self.described


def open_source(con: Any, source: object, date: str, table: str | None) -> Source:
    if isinstance(source, pd.DataFrame):
        frame = source
        if date in frame.columns and isinstance(frame[date].dtype, pd.DatetimeTZDtype):
            # rfm_summary dates a time-zone-aware timestamp by its local wall-clock day.
            frame = frame.assign(**{date: frame[date].dt.tz_localize(None)})
        con.register("xl_source_frame", frame)
        return Source(
            "xl_source_frame",
            _keyed(
                "SELECT *, row_number() OVER () AS xl_row, 'DataFrame' AS xl_file "
                "FROM xl_source_frame"
            ),
            True,
            "DataFrame",
        )
    if not isinstance(source, (str, Path)):
        raise InputError(
            "source must be a Parquet or CSV file, a folder or glob of Parquet files, a DuckDB "
            f"database file (with table=) or a pandas DataFrame, got {type(source).__name__}"
        )
    text = str(source)
    path = Path(text)
    if any(ch in text for ch in "*?["):
        matches = sorted(_glob.glob(text, recursive=True))
        if not matches:
            raise InputError(f"no file matches {text!r}; check the folder and the pattern")
        if not all(Path(m).suffix.lower() in _PARQUET for m in matches):
            raise InputError(
                f"the pattern {text!r} must match Parquet files only (.parquet), got e.g. "
                f"{next(m for m in matches if Path(m).suffix.lower() not in _PARQUET)!r}"
            )
        return _parquet(con, matches, path.name)
    if path.is_dir():
        found = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in _PARQUET)
        if not found:
            raise InputError(f"the folder {text!r} has no .parquet file")
        return _parquet(con, found, path.name)
    if not path.exists():
        raise InputError(f"file not found: {text!r}")
    suffixes = [s.lower() for s in path.suffixes]
    suffix = suffixes[-1] if suffixes else ""
    if suffix in {".gz", ".zst"} and len(suffixes) > 1:
        suffix = suffixes[-2]
    if suffix in _PARQUET:
        return _parquet(con, [text], path.name)
    if suffix in _CSV:
        read = f"read_csv({_literal(text)}, all_varchar = true, header = true)"
        return Source(
            read,
            _keyed(
                f"SELECT *, row_number() OVER () AS xl_row, {_literal(path.name)} AS xl_file "
                f"FROM {read}"
            ),
            True,
            path.name,
        )
    if suffix in _DATABASE:
        return _database(con, text, path.name, table)
    raise InputError(
        f"cannot read {path.name!r}: use a .parquet or .csv file, a folder of Parquet files or "
        "a DuckDB database (.duckdb, with table=)"
    )


def _keyed(numbered: str) -> str:
    """A source numbered by row_number() with its order key ``xl_key`` (the row number)."""
    return f"SELECT *, xl_row AS xl_key FROM ({numbered})"


def _parquet(con: Any, files: list[str], name: str) -> Source:
    listed = "[" + ", ".join(_literal(f) for f in files) + "]"
    src = Source(f"read_parquet({listed}, union_by_name = true)", "", False, name)
    key = f"CAST(file_index AS BIGINT) * {2**40} + file_row_number"
    if any(c.lower() == "file_index" for c, _ in src.columns(con)):
        # the files' own column hides DuckDB's virtual file_index: order by the file's name
        # (the files are listed in name order), then the row
        key = "{'f': filename, 'r': file_row_number}"
    src.numbered = (
        f"SELECT *, file_row_number + 1 AS xl_row, filename AS xl_file, {key} AS xl_key "
        f"FROM read_parquet({listed}, union_by_name = true, filename = true, "
        "file_row_number = true)"
    )
    return src


def _database(con: Any, path: str, name: str, table: str | None) -> Source:
    if not table:
        raise InputError(
            f"{name!r} is a DuckDB database: pass table= with the transactions table's name"
        )
    con.execute(f"ATTACH {_literal(path)} AS xl_db (READ_ONLY)")
    parts = [p for p in str(table).split(".") if p]
    qualified = "xl_db." + ".".join(_ident(p) for p in parts)
    try:
        con.execute(f"DESCRIBE SELECT * FROM {qualified}")
    except Exception:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'xl_db'"
            ).fetchall()
        ]
        raise InputError(
            f"the database {name!r} has no table {table!r}; tables found: "
            f"{', '.join(repr(t) for t in tables) or 'none'}"
        ) from None
    return Source(
        qualified,
        _keyed(
            f"SELECT *, row_number() OVER () AS xl_row, {_literal(str(table))} AS xl_file "
            f"FROM {qualified}"
        ),
        True,
        str(table),
    )


# -- typing and cleaning ----------------------------------------------------------------------
_KINDS = {  # code: (kind, which column)
    1: ("missing customer id", "customer_id"),
    2: ("missing date", "date"),
    3: ("unreadable date", "date"),
    4: ("missing amount", "amount"),
    5: ("unreadable or infinite amount", "amount"),
    6: ("date after observation_end", "date"),
}


def _describe(con: Any, src: Source, names: dict[str, str]) -> dict[str, str]:
    """The source's column types; an InputError for a missing required column."""
    types = dict(src.columns(con))
    missing = [(arg, col) for arg, col in names.items() if col not in types]
    if missing:
        found = ", ".join(repr(c) for c in types) or "none"
        arg, col = missing[0]
        raise InputError(
            f"{src.name} has no column {', '.join(repr(c) for _, c in missing)}; columns "
            f"found: {found}. Rename the column, or pass its name as {arg}='<column>'"
        )
    return types


def _zone(con: Any, time_zone: str | None) -> str | None:
    """The time zone name, checked by DuckDB (ICU); None stays None."""
    if time_zone is None:
        return None
    if not isinstance(time_zone, str) or not time_zone.strip():
        raise InputError(f"time_zone must be a zone name such as 'UTC', got {time_zone!r}")
    try:
        con.execute(f"SELECT timezone({_literal(time_zone)}, TIMESTAMPTZ '2000-01-01 00:00+00')")
    except Exception:
        raise InputError(
            f"time_zone {time_zone!r} is not a time zone name; use e.g. 'UTC' or 'Europe/Paris'"
        ) from None
    return time_zone


def date_expr(column: str, dtype: str, time_zone: str | None = None) -> str:
    q, t = _ident(column), dtype.upper()
    if t == "DATE":
        return q
    if t in ("TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE"):
        if time_zone is not None:
            return f"CAST(timezone({_literal(time_zone)}, {q}) AS DATE)"
        raise InputError(
            f"column '{column}' holds timestamps with a time zone (as Spark and many exports "
            "write them); their calendar day depends on the zone: pass time_zone='UTC' or "
            "your business's zone (e.g. 'Europe/Paris'), or convert them to local dates first",
            column=column,
        )
    if t.startswith("TIMESTAMP"):
        return f"CAST({q} AS DATE)"
    if t == "VARCHAR":
        return f"TRY_CAST(regexp_extract(trim({q}), {_literal(_ISO_DATE)}, 1) AS DATE)"
    if t.startswith(_NUMERIC_TYPES) or t == "BOOLEAN":
        raise InputError(
            f"column '{column}' holds numbers, not dates; convert it to dates first "
            "(Excel serial dates are converted by the report and the Excel functions)",
            column=column,
        )
    raise InputError(f"column '{column}' has the type {dtype}, not dates", column=column)


def amount_expr(column: str, dtype: str) -> str:
    q, t = _ident(column), dtype.upper()
    if t.startswith(_NUMERIC_TYPES):
        return f"CAST({q} AS DOUBLE)"
    if t == "VARCHAR":
        return f"TRY_CAST(trim({q}) AS DOUBLE)"
    raise InputError(
        f"column '{column}' has the type {dtype}; amounts must be numbers", column=column
    )


def _typed_columns(
    relation: str, names: dict[str, str], exprs: dict[str, str], extra: str = ""
) -> str:
    """SELECT the three columns raw (xl_c, xl_d_raw, xl_a_raw) and typed (xl_d, xl_a)."""
    cid, day, amt = names["customer_id"], names["date"], names["amount"]
    return f"""SELECT {_ident(cid)} AS xl_c, {_ident(day)} AS xl_d_raw, {_ident(amt)} AS xl_a_raw,
      {exprs["date"]} AS xl_d, {exprs["amount"]} AS xl_a{extra}
    FROM {relation}"""


def typed_sql(
    relation: str, names: dict[str, str], exprs: dict[str, str], end: str, extra: str = ""
) -> str:
    """The typed columns with the problem code ``xl_p`` of each row (0 = usable)."""
    return f"""SELECT *, CASE
    WHEN xl_c IS NULL THEN 1
    WHEN xl_d_raw IS NULL THEN 2
    WHEN xl_d IS NULL THEN 3
    WHEN xl_a_raw IS NULL THEN 4
    WHEN xl_a IS NULL OR NOT isfinite(xl_a) THEN 5
    WHEN xl_d > {end} THEN 6
    ELSE 0 END AS xl_p
  FROM ({_typed_columns(relation, names, exprs, extra)})"""


def _profile(con: Any, typed: str, bought: str) -> dict[str, Any]:
    counts = ", ".join(f"COUNT_IF(xl_p = {k}) AS k{k}" for k in _KINDS)
    ok = "xl_p = 0"
    row = con.execute(
        f"""SELECT COUNT(*) AS rows, {counts},
          MIN(xl_d) FILTER (WHERE {ok}) AS first_date,
          MAX(xl_d) FILTER (WHERE {ok}) AS last_date,
          COUNT_IF({ok}) AS rows_used,
          COUNT_IF({ok} AND {bought}) AS purchase_rows,
          COUNT_IF({ok} AND xl_a < 0) AS return_rows,
          COUNT_IF({ok} AND xl_a = 0) AS zero_rows,
          COALESCE(SUM(xl_a) FILTER (WHERE {ok} AND xl_a > 0), 0) AS gross_sales,
          COALESCE(-SUM(xl_a) FILTER (WHERE {ok} AND xl_a < 0), 0) AS returns,
          COUNT_IF(xl_p IN (0, 6) AND {bought}) AS purchase_rows_any,
          MIN(xl_d) FILTER (WHERE xl_p IN (0, 6) AND {bought}) AS first_purchase_any
        FROM ({typed})"""
    ).fetchone()
    names = [d[0] for d in con.description]
    return dict(zip(names, row, strict=True))


def _issue_table(profile: dict[str, Any], names: dict[str, str]) -> pd.DataFrame:
    rows = [
        (kind, names[arg], int(profile[f"k{k}"]))
        for k, (kind, arg) in _KINDS.items()
        if profile[f"k{k}"]
    ]
    return pd.DataFrame(rows, columns=["Problem", "Column", "Rows"]).astype({"Rows": "int64"})


def _problem_text(code: int, value: str, end: str) -> str:
    if code == 1:
        return "customer_id is blank: row not used"
    if code in (2, 4):
        return f"{'date' if code == 2 else 'amount'} is blank: row not used"
    if code == 3:
        return f"date {value!r} is not a date: row not used (use a date or yyyy-mm-dd)"
    if code == 5:
        return (
            f"amount {value!r} is not a number: row not used (use a number with a plain "
            "decimal point, no currency symbols or thousands separators)"
        )
    return f"date after observation_end ({end}): row not used"


def _issue_rows(
    con: Any, src: Source, names: dict[str, str], exprs: dict[str, str], end: str, end_iso: str
) -> pd.DataFrame:
    """The first MAX_ISSUE_ROWS rows not used, in source order (a second, rare pass)."""
    typed = typed_sql(f"({src.numbered})", names, exprs, end, extra=", xl_row, xl_file")
    if src.ordered_numbering:  # number the rows in file order: one thread, order kept
        con.execute("SET threads = 1")
        con.execute("SET preserve_insertion_order = true")
    found = con.execute(
        f"""SELECT xl_file, xl_row, xl_p, CAST(xl_d_raw AS VARCHAR), CAST(xl_a_raw AS VARCHAR),
          CAST(xl_d AS VARCHAR)
        FROM ({typed}) WHERE xl_p > 0 ORDER BY xl_file, xl_row LIMIT {MAX_ISSUE_ROWS}"""
    ).fetchall()
    out = []
    for file, row, code, day, amt, iso in found:
        arg = _KINDS[code][1]
        value = {3: day, 5: amt, 6: iso}.get(code, "")
        out.append(
            (Path(str(file)).name, int(row), names[arg], value, _problem_text(code, value, end_iso))
        )
    return pd.DataFrame(out, columns=ISSUE_COLUMNS)


# -- the scan ---------------------------------------------------------------------------------
def _scan(
    source: object,
    *,
    customer_id: str,
    date: str,
    amount: str,
    time_unit: str,
    observation_end: object,
    include_zero_amounts: bool,
    memory_limit: str,
    threads: int | None,
    table: str | None,
    mode: str,
    calibration_end: object = None,
    time_zone: str | None = None,
) -> TransactionScan | CompressedRFM:
    """Profile, clean and summarise ``source``; ``mode`` is "strict", "lenient" or "compressed"."""
    from ..transactions import _before_first_purchase, _day, _iso

    unit = check_time_unit(time_unit)
    names = {"customer_id": customer_id, "date": date, "amount": amount}
    for arg, col in names.items():
        if not isinstance(col, str) or not col:
            raise InputError(f"{arg} must be a column name (text), got {col!r}")
    end_day = None if observation_end is None else _day(observation_end, "observation_end")
    end_sql = "NULL" if end_day is None else f"DATE {_literal(_iso(end_day))}"
    cal_day = None if calibration_end is None else _day(calibration_end, "calibration_end")
    bought = "xl_a >= 0" if include_zero_amounts else "xl_a > 0"
    with connect(memory_limit, threads) as con:
        src = open_source(con, source, date, table)
        types = _describe(con, src, names)
        exprs = {
            "date": date_expr(date, types[date], _zone(con, time_zone)),
            "amount": amount_expr(amount, types[amount]),
        }
        typed = typed_sql(src.relation, names, exprs, end_sql)
        profile = _profile(con, typed, bought)
        if profile["rows"] == 0:
            raise InputError(f"{src.name} is empty: there are no purchases to summarise")
        issues = _issue_table(profile, names)
        bad = int(issues.loc[issues["Problem"] != _KINDS[6][0], "Rows"].sum())
        if profile["rows_used"] + profile["k6"] == 0:
            raise InputError(
                f"{src.name} has no usable row: all {profile['rows']:,} rows have a missing or "
                f"unreadable value ({_kind_list(issues)})"
            )
        end_iso = _iso(end_day) if end_day is not None else str(profile["last_date"])
        if cal_day is not None and _iso(cal_day) >= end_iso:
            raise InputError(
                f"calibration_end ({_iso(cal_day)}) must be before observation_end "
                f"({end_iso}); the holdout period between them is empty"
            )
        if mode == "strict" and bad:
            first = _issue_rows(con, src, names, exprs, end_sql, end_iso).iloc[0]
            raise InputError(
                f"{src.name} has {bad:,} row(s) that cannot be used ({_kind_list(issues)}); "
                "the first is "
                f"row {first.Row} of {first.Sheet} (column {first.Column!r}"
                + (f", value {first.Value!r}" if first.Value else "")
                + "). Fix them, or use scan_transactions_duckdb(), which leaves them out and "
                "lists them"
            )
        if profile["purchase_rows"] == 0:
            if profile["purchase_rows_any"] == 0:
                raise InputError(
                    f"{src.name} has no purchase: every usable amount is 0 or less (negative "
                    "amounts are returns and zero amounts empty orders, not purchases)"
                )
            first_any = (pd.Timestamp(profile["first_purchase_any"]) - pd.Timestamp(0)).days
            raise InputError(
                _before_first_purchase("observation_end", end_day, pd.Series([first_any]))
            )
        totals = _totals(profile, end_iso, unit)
        con.execute(
            f"""CREATE TEMP VIEW xl_clean AS
            SELECT xl_c AS {_ident(customer_id)}, xl_d AS {_ident(date)},
              xl_a AS {_ident(amount)}
            FROM ({_typed_columns(src.relation, names, exprs)})
            WHERE xl_c IS NOT NULL AND xl_d IS NOT NULL AND isfinite(xl_a)"""
        )
        query = rfm_query(
            "xl_clean",
            customer_id=customer_id,
            date=date,
            amount=amount,
            time_unit=unit,
            observation_end=end_iso,
            include_zero_amounts=include_zero_amounts,
            calibration_end=None if cal_day is None else _iso(cal_day),
            order_by=False,  # pandas sorts the result faster than DuckDB's global sort
        )
        if mode == "compressed":
            result = _compressed(con, query, totals, issues)
        else:
            rfm = _frame(con.sql(query), customer_id)
            if rfm.empty:  # only with calibration_end: nobody bought by then
                first_any = (pd.Timestamp(profile["first_purchase_any"]) - pd.Timestamp(0)).days
                raise InputError(
                    _before_first_purchase("calibration_end", cal_day, pd.Series([first_any]))
                )
            totals["customers"] = len(rfm)
            result = TransactionScan(rfm, issues, _empty_issue_rows(), totals)
            if len(issues):
                result.issue_rows = _issue_rows(con, src, names, exprs, end_sql, end_iso)
        return result


def _kind_list(issues: pd.DataFrame) -> str:
    """'2 with a missing date; 1 with an unreadable amount' (rows after the end left out)."""
    return "; ".join(
        f"{r.Rows:,} with {'a' if r.Problem.startswith('missing') else 'an'} {r.Problem}"
        for r in issues.itertuples()
        if r.Problem != _KINDS[6][0]
    )


def _totals(profile: dict[str, Any], end_iso: str, unit: str) -> dict[str, Any]:
    gross, returns = float(profile["gross_sales"]), float(profile["returns"])
    return {
        "rows": int(profile["rows"]),
        "rows_used": int(profile["rows_used"]),
        "rows_not_used": int(profile["rows"] - profile["rows_used"]),
        "purchase_rows": int(profile["purchase_rows"]),
        "return_rows": int(profile["return_rows"]),
        "zero_rows": int(profile["zero_rows"]),
        "gross_sales": gross,
        "returns": returns,
        "revenue": gross - returns,
        "customers": None,
        "first_date": profile["first_date"],
        "observation_end": pd.Timestamp(end_iso).date(),
        "time_unit": unit,
    }


def _empty_issue_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {"Sheet": [], "Row": pd.Series([], dtype="int64"), "Column": [], "Value": [], "Problem": []}
    )


def _frame(relation: Any, customer_id: str) -> pd.DataFrame:
    """The query's result as rfm_summary's frame: indexed by customer id, float columns."""
    text_id = str(relation.types[0]).upper() == "VARCHAR"
    frame = relation.df()
    ids = frame.pop(customer_id)
    if text_id:
        ids = ids.astype(str)  # pandas' default text dtype, as read_parquet / read_csv give
    frame.index = pd.Index(ids, name=customer_id)
    return frame.astype(float).sort_index()


def _compressed(
    con: Any, query: str, totals: dict[str, Any], issues: pd.DataFrame
) -> CompressedRFM:
    con.execute(f"CREATE TEMP TABLE xl_rfm AS {query}")
    rows = con.execute(
        'SELECT frequency, recency, "T", COUNT(*) AS count FROM xl_rfm '
        'GROUP BY ALL ORDER BY frequency, recency, "T"'
    ).df()
    spend = con.execute(
        "SELECT frequency, monetary_value, COUNT(*) AS count FROM xl_rfm WHERE frequency > 0 "
        "GROUP BY ALL ORDER BY frequency, monetary_value"
    ).df()
    totals["customers"] = int(rows["count"].sum())
    return CompressedRFM(
        rows.astype({"count": "int64"}), spend.astype({"count": "int64"}), totals, issues
    )


_PARAMETERS = """    source : str, pathlib.Path or pandas.DataFrame
        A Parquet file, a folder of Parquet files (read recursively), a glob such as
        ``"sales/*.parquet"``, a CSV file (read as text and typed in SQL; ISO dates; customer
        ids stay text, so leading zeros are kept and ids sort as text), a DuckDB database
        file (.duckdb, with ``table``) or a DataFrame.
    customer_id, date, amount : str
        Names of the customer id, purchase date and amount columns (exact, case-sensitive).
    time_unit : {"D", "W", "M"}
        Unit of recency and T: days, weeks (7 days) or months (365.25/12 days).
    observation_end : date-like, optional
        The last day observed, inclusive; later rows are excluded and counted. Defaults to the
        last date of the usable rows.
    include_zero_amounts : bool, default False
        Count amounts of exactly 0 as purchase occasions (see
        :func:`~xlclv.transactions.rfm_summary`).
    memory_limit : str, default "2GB"
        DuckDB's memory limit; beyond it DuckDB spills to a temporary folder (removed after).
    threads : int, optional
        DuckDB's worker threads (default: one per CPU).
    table : str, optional
        The table (``schema.table`` allowed) when ``source`` is a DuckDB database.
    time_zone : str, optional
        For a file or table whose dates are timestamps *with* a time zone (Spark and many
        exports write them so): the zone whose calendar days count, e.g. ``"UTC"`` or
        ``"Europe/Paris"``. Without it such a column is refused, since its days depend on
        the zone. (A DataFrame's time-zone-aware timestamps are dated by their own wall
        clock, as :func:`~xlclv.transactions.rfm_summary` does.)
"""


def scan_transactions_duckdb(
    source: object,
    *,
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    time_unit: str = "W",
    observation_end: object = None,
    include_zero_amounts: bool = False,
    memory_limit: str = "2GB",
    threads: int | None = None,
    table: str | None = None,
    time_zone: str | None = None,
    calibration_end: object = None,
) -> TransactionScan:
    """Clean and summarise a transactions source in DuckDB, listing the rows not used.

    Like :func:`rfm_summary_duckdb`, but rows with a missing customer id, a missing or
    unreadable date or amount are left out, counted by kind and listed (the first
    10,000) instead of raising, as the report does with a workbook.

    Parameters
    ----------
    {parameters}
    calibration_end : date-like, optional
        Split at this day (inclusive in the calibration period) and return the calibration
        summary and holdout outcome per customer instead, exactly as
        :func:`~xlclv.transactions.rfm_summary` does with ``calibration_end`` (columns
        ``frequency_cal`` ... ``duration_holdout``).

    Returns
    -------
    TransactionScan
        ``rfm`` (the summary), ``issues`` (counts by kind), ``issue_rows`` (the first
        :data:`MAX_ISSUE_ROWS` rows not used) and ``totals`` (rows, gross sales, returns,
        revenue, customers, observation_end ...).

    Raises
    ------
    InputError
        The source cannot be read or lacks a column (named, with the columns found), a column
        has a type that cannot hold dates or amounts, or no purchase is left by
        observation_end.
    """
    return _scan(
        source,
        customer_id=customer_id,
        date=date,
        amount=amount,
        time_unit=time_unit,
        observation_end=observation_end,
        include_zero_amounts=include_zero_amounts,
        memory_limit=memory_limit,
        threads=threads,
        table=table,
        time_zone=time_zone,
        mode="lenient",
        calibration_end=calibration_end,
    )


def rfm_summary_duckdb(
    source: object,
    *,
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    time_unit: str = "W",
    observation_end: object = None,
    include_zero_amounts: bool = False,
    memory_limit: str = "2GB",
    threads: int | None = None,
    table: str | None = None,
    time_zone: str | None = None,
    calibration_end: object = None,
) -> pd.DataFrame:
    """The RFM summary of a file or table of any size, computed by DuckDB.

    The same table as :func:`xlclv.transactions.rfm_summary` (purchases are amounts above 0,
    collapsed per calendar day; frequency = purchase days - 1; recency and T in
    ``time_unit``; monetary_value = mean of the repeat purchase days; rows after
    ``observation_end`` excluded), streamed through DuckDB under ``memory_limit`` instead of
    loaded into pandas.

    Parameters
    ----------
    {parameters}
    calibration_end : date-like, optional
        Split at this day (inclusive in the calibration period) and return the calibration
        summary and holdout outcome per customer instead, exactly as
        :func:`~xlclv.transactions.rfm_summary` does with ``calibration_end`` (columns
        ``frequency_cal`` ... ``duration_holdout``).

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id (named after ``customer_id``), sorted; float columns
        ``frequency``, ``recency``, ``T``, ``monetary_value``. frequency, recency and T are
        the same numbers as ``rfm_summary``'s; monetary_value may differ in the last bits
        (sums are added in another order; well within 1e-12 relative). With
        ``calibration_end``, the calibration/holdout columns of ``rfm_summary``.

    Raises
    ------
    InputError
        As ``rfm_summary``: a missing column (named, with the columns found), a missing or
        unreadable value (counted by kind, with the first offending row), or no purchase by
        ``observation_end``. :func:`scan_transactions_duckdb` leaves bad rows out instead.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15",
    ...                                            "2024-01-08"]),
    ...                    "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> rfm_summary_duckdb(tx, time_unit="D", observation_end="2024-01-29")
    ... # doctest: +NORMALIZE_WHITESPACE
                 frequency  recency     T  monetary_value
    customer_id
    a                  1.0     14.0  28.0            20.0
    b                  0.0      0.0  21.0             0.0
    """
    return _scan(
        source,
        customer_id=customer_id,
        date=date,
        amount=amount,
        time_unit=time_unit,
        observation_end=observation_end,
        include_zero_amounts=include_zero_amounts,
        memory_limit=memory_limit,
        threads=threads,
        table=table,
        time_zone=time_zone,
        mode="strict",
        calibration_end=calibration_end,
    ).rfm


def compressed_rfm(
    source: object,
    *,
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    time_unit: str = "W",
    observation_end: object = None,
    include_zero_amounts: bool = False,
    memory_limit: str = "2GB",
    threads: int | None = None,
    table: str | None = None,
    time_zone: str | None = None,
) -> CompressedRFM:
    """The distinct (frequency, recency, T) rows with their counts, for fitting the models.

    Customers with the same number of purchase days, first purchase day and last purchase
    day share one row (recency and T are whole days): CDNOW's 2,357 customers make 1,016
    rows, 1,000,000 synthetic customers over two years 518,197. Fitting on the distinct rows
    with their counts as weights gives the same likelihood for less work, and the
    per-customer table never leaves DuckDB. Rows not used are left out and counted, as in
    :func:`scan_transactions_duckdb`.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    CompressedRFM
        ``rows`` (frequency, recency, T, count), ``spend`` (frequency, monetary_value, count
        of the repeat buyers), ``totals`` (rows, gross sales, returns, revenue, customers ...)
        and ``issues`` (rows not used, by kind).
    """
    return _scan(
        source,
        customer_id=customer_id,
        date=date,
        amount=amount,
        time_unit=time_unit,
        observation_end=observation_end,
        include_zero_amounts=include_zero_amounts,
        memory_limit=memory_limit,
        threads=threads,
        table=table,
        time_zone=time_zone,
        mode="compressed",
    )


for _f in (scan_transactions_duckdb, rfm_summary_duckdb, compressed_rfm):
    _f.__doc__ = _f.__doc__.replace("    {parameters}\n", _PARAMETERS)
del _f
