"""Reading and validating the report's inputs: transactions, settings, NPS and marketing.

Nothing here writes a file. A workbook is read with python-calamine (cached cell values; about
8x faster than openpyxl on a million rows), imported lazily so the rest of the core also runs
where it is not installed (xlwings Lite / Pyodide).

Validation never drops data silently: every input row that cannot be used, or is used
differently from what it says, becomes one row of the issues table (``Sheet``, ``Row`` = the
Excel row number, ``Column``, ``Value``, ``Problem``); fully blank rows are ignored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xlclv._errors import WorkbookError

__all__ = [
    "ISSUE_COLUMNS",
    "WorkbookInputs",
    "clean_marketing",
    "clean_nps",
    "clean_transactions",
    "find_column",
    "normalise_header",
    "read_table_file",
    "read_workbook",
]

ISSUE_COLUMNS = ["Sheet", "Row", "Column", "Value", "Problem"]
REQUIRED = ("customer_id", "date", "amount")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # Excel's 1900 date system, serial 1 = 1900-01-01
# Dates are datetime64[ns]: 1677-09-22 to 2262-04-11 (Excel serial curtailed to that).
_MAX_SERIAL = 2958465  # 9999-12-31; later days than 2262-04-11 are rejected by _as_ns
_NS_FIRST, _NS_LAST = np.datetime64("1677-09-22", "D"), np.datetime64("2262-04-11", "D")


def _as_ns(values: Any) -> np.ndarray:
    """Datetimes of any unit as datetime64[ns] days; NaT outside what [ns] can hold (a plain
    cast would silently wrap a year 2925 typo to 1755)."""
    arr = np.asarray(values)
    if arr.dtype == np.dtype("datetime64[ns]"):
        return arr
    outside = (arr < _NS_FIRST) | (arr > _NS_LAST)
    arr = np.where(outside, np.datetime64("NaT"), arr)
    return arr.astype("datetime64[ns]")


#: Excel's error values, as text (how some readers hand over error cells).
EXCEL_ERRORS = frozenset(
    "#N/A #DIV/0! #VALUE! #REF! #NAME? #NUM! #NULL! #GETTING_DATA #SPILL! #CALC! #FIELD! "
    "#BLOCKED! #CONNECT! #BUSY! #UNKNOWN!".split()
)


@dataclass
class WorkbookInputs:
    """Raw input tables as a user's workbook holds them (header row as column names).

    Cells are kept as read (text, numbers, dates, blanks): cleaning happens in
    :func:`clean_transactions` so every problem can be reported with its Excel row.
    """

    transactions: pd.DataFrame
    transactions_first_row: int = 2
    transactions_sheet: str = "Transactions"
    settings: dict[str, Any] = field(default_factory=dict)
    nps: pd.DataFrame | None = None
    marketing: pd.DataFrame | None = None
    source: str = ""
    nps_first_row: int = 2
    marketing_first_row: int = 2
    nps_sheet: str = "NPS"
    marketing_sheet: str = "Marketing"


def normalise_header(name: object) -> str:
    """Header as matched: lower case, spaces, underscores and hyphens removed."""
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def find_column(df: pd.DataFrame, wanted: str) -> str | None:
    """The column of ``df`` whose header matches ``wanted`` ("Customer ID" ~ customer_id)."""
    key = normalise_header(wanted)
    for col in df.columns:
        if normalise_header(col) == key:
            return col
    return None


def _issues(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=ISSUE_COLUMNS).astype({"Row": "int64"}, errors="ignore")


def _cell_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(v)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


_NUMBER_TYPES = (float, int, np.floating, np.integer)


def _kind(s: pd.Series) -> str:
    """pandas' inferred kind of an object column ("string", "floating", "datetime", "mixed"...)."""
    return pd.api.types.infer_dtype(s, skipna=True)


def _type_masks(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(is text, is a number, is something else) per cell of an object column; blanks are
    neither (one pass over the cells' types)."""
    kinds = s.map(type)
    is_str = np.array(kinds.map(lambda t: issubclass(t, str)), dtype=bool)
    is_num = np.array(
        kinds.map(lambda t: issubclass(t, _NUMBER_TYPES) and not issubclass(t, bool | np.bool_)),
        dtype=bool,
    )
    present = ~s.isna().to_numpy()
    is_num &= present
    return is_str, is_num, present & ~is_str & ~is_num


def _blank_mask(s: pd.Series) -> np.ndarray:
    """True where a cell is empty: None, NaN/NaT or text of spaces only."""
    blank = np.array(s.isna(), dtype=bool)
    if s.dtype != object and not pd.api.types.is_string_dtype(s.dtype):
        return blank
    kind = _kind(s)
    if kind in ("floating", "integer", "mixed-integer-float", "datetime", "date", "empty"):
        return blank
    if kind == "string":
        stripped = s.astype("str").str.strip()  # pyarrow-backed when available: fast
        return blank | (stripped == "").to_numpy(dtype=bool, na_value=True)
    is_str, _, _ = _type_masks(s)
    if is_str.any():
        blank[is_str] = (s[is_str].astype(str).str.strip() == "").to_numpy(dtype=bool)
    return blank


def _float_text(x: np.ndarray) -> np.ndarray:
    """Numbers as text: whole numbers without ".0" (123.0 -> "123"), others as repr."""
    out = np.empty(x.size, dtype=object)
    whole = np.isfinite(x) & (x == np.round(x)) & (np.abs(x) < 2**62)
    if whole.any():
        out[whole] = x[whole].astype(np.int64).astype(str).astype(object)
    if (~whole).any():
        out[~whole] = [repr(float(v)) for v in x[~whole]]
    return out


def _id_text(s: pd.Series) -> pd.Series:
    """Customer IDs or segment values as text: 123.0 (Excel number) -> "123"; text stripped;
    blank cells (and text of spaces only) become None.

    Converts each distinct value once (ids repeat across a customer's transactions).
    """
    obj = s.astype(object)
    kind = _kind(obj)
    if kind == "string":
        stripped = obj.astype("str").str.strip()  # pyarrow-backed when available: fast
        out = stripped.to_numpy(dtype=object, na_value=None)
        out[out == ""] = None
        return pd.Series(out, index=s.index, dtype=object)
    if kind in ("floating", "integer", "mixed-integer-float"):
        obj = pd.Series(obj.to_numpy(dtype=float), index=s.index)
    codes, uniques = pd.factorize(obj, use_na_sentinel=True)
    text = _texts(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
    text = np.append(text, None)  # code -1 (a missing value) -> None
    return pd.Series(text[codes], index=s.index, dtype=object)


def _texts(values: pd.Series) -> np.ndarray:
    """Distinct cell values (no NaN/None) as stripped text, None for blank text."""
    out = np.full(len(values), None, dtype=object)
    if len(values) == 0:
        return out
    is_str, is_num, other = _type_masks(values)
    if is_str.any():
        stripped = values[is_str].astype(str).str.strip()
        out[is_str] = stripped.where(stripped != "", None).to_numpy(dtype=object)
    if is_num.any():
        out[is_num] = _float_text(values[is_num].to_numpy(dtype=float))
    if other.any():
        out[other] = [_cell_text(v) for v in values[other].tolist()]
    return out


def _serial_dates(x: np.ndarray) -> np.ndarray:
    """Excel serial day numbers (1900 date system) as datetime64[ns]; NaT when out of range.

    Serial 1 is 1900-01-01. Excel counts a 29 Feb 1900 that never was (serial 60, rejected),
    so serials 1-59 are one day later than a plain count from 1899-12-30.
    """
    ok = np.isfinite(x) & (x >= 1) & (x < _MAX_SERIAL + 1) & (np.floor(x) != 60)
    day = np.floor(np.where(ok, x, 61)).astype(np.int64)
    day = np.where(day < 60, day + 1, day)
    vals = np.datetime64("1899-12-30", "D") + day.astype("timedelta64[D]")
    vals[~ok] = np.datetime64("NaT")
    return _as_ns(vals)


def _iso_dates(text: pd.Series) -> np.ndarray:
    """ISO text (YYYY-MM-DD, optionally with a time) as datetime64[ns]; NaT otherwise."""
    text = text.astype(str).str.strip()
    looks_iso = text.str.match(r"^\d{4}-\d{1,2}-\d{1,2}(?:[ T][\d:.]*)?$").to_numpy(dtype=bool)
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    if looks_iso.any():
        parsed = pd.to_datetime(text[looks_iso], format="ISO8601", errors="coerce")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        out[looks_iso] = _as_ns(parsed.to_numpy())
    return out


def _datetime_objects(values: pd.Series) -> np.ndarray:
    """Date/datetime/Timestamp objects as datetime64[ns] (time zones dropped)."""
    try:
        parsed = pd.to_datetime(values, errors="coerce")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        return _as_ns(parsed.to_numpy())
    except (TypeError, ValueError):  # mixed time zones, or objects pandas cannot read
        return _as_ns(pd.to_datetime(values.map(_to_timestamp), errors="coerce").to_numpy())


def _parse_dates(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates from cells: datetimes, dates, Excel serial numbers or ISO text. (values, bad)."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        out = pd.Series(_as_ns(out.to_numpy()), index=s.index).dt.normalize()
        return out, out.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        out = pd.Series(_serial_dates(s.to_numpy(dtype=float)), index=s.index)
        return out, out.isna().to_numpy()
    obj = s.astype(object)
    kind = _kind(obj)
    values = np.full(len(obj), np.datetime64("NaT"), dtype="datetime64[ns]")
    if kind in ("datetime", "datetime64", "date"):
        values = _datetime_objects(obj)
    elif kind in ("floating", "integer", "mixed-integer-float"):
        values = _serial_dates(obj.to_numpy(dtype=float))
    elif kind == "string":
        values = _iso_dates(obj)
    elif kind != "empty":
        is_str, is_num, other = _type_masks(obj)
        if is_num.any():
            values[is_num] = _serial_dates(obj[is_num].to_numpy(dtype=float))
        if is_str.any():
            values[is_str] = _iso_dates(obj[is_str])
        if other.any():
            sub = obj[other]
            dated = sub.map(lambda v: isinstance(v, dt.date | np.datetime64)).to_numpy(bool)
            idx = np.flatnonzero(other)[dated]
            if idx.size:
                values[idx] = _datetime_objects(sub[dated])
    out = pd.Series(values, index=s.index).dt.normalize()
    return out, out.isna().to_numpy()


def _to_timestamp(v: Any) -> Any:
    if isinstance(v, pd.Timestamp):
        return v.tz_localize(None) if v.tz is not None else v
    if isinstance(v, dt.datetime):
        return pd.Timestamp(v.replace(tzinfo=None))
    if isinstance(v, dt.date):
        return pd.Timestamp(v)
    if isinstance(v, np.datetime64):
        return pd.Timestamp(v)
    return pd.NaT


def _parse_numbers(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Numbers from cells: numbers, or numeric text with a plain decimal point. (values, bad)."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        out = s.astype(float)
        return out, ~np.isfinite(out.to_numpy())
    obj = s.astype(object)
    kind = _kind(obj)
    if kind in ("floating", "integer", "mixed-integer-float"):
        out = pd.Series(obj.to_numpy(dtype=float), index=s.index)
        return out, ~np.isfinite(out.to_numpy())
    values = np.full(len(obj), np.nan)
    if kind == "string":
        is_str, is_num = np.ones(len(obj), dtype=bool), np.zeros(len(obj), dtype=bool)
    else:
        is_str, is_num, _ = _type_masks(obj)
    if is_num.any():
        values[is_num] = obj[is_num].to_numpy(dtype=float)
    if is_str.any():
        text = obj[is_str].astype(str).str.strip()
        plain = text.str.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$").to_numpy(dtype=bool)
        sub = np.full(len(text), np.nan)
        if plain.any():
            sub[plain] = text[plain].astype(float).to_numpy()
        values[is_str] = sub
    out = pd.Series(values, index=s.index)
    return out, ~np.isfinite(values)


def _problem_for_bad(v: Any, what: str) -> str:
    text = _cell_text(v).strip()
    if text == "":
        return f"{what} is blank: row not used"
    if text.startswith("#"):
        return f"{what} is the Excel error {text}: row not used (fix the cell or its formula)"
    if what == "date":
        return (
            f"date {text!r} is not a date between 1900 and 2262: row not used (use a date "
            "cell, an Excel serial number or yyyy-mm-dd)"
        )
    return (
        f"{what} {text!r} is not a number: row not used (use a number with a plain decimal "
        "point, no currency symbols or thousands separators)"
    )


def _excel_rows(index_positions: np.ndarray, first_row: int) -> np.ndarray:
    return index_positions + first_row


def _drop_blank_rows(raw: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows with at least one non-blank cell, and their positions in ``raw``."""
    if raw.empty:
        return raw, np.arange(0)
    blank = np.ones(len(raw), dtype=bool)
    for col in raw.columns:  # later columns are only looked at where all before were blank
        rows = np.flatnonzero(blank)
        if rows.size == 0:
            break
        if rows.size == len(raw):
            blank = _blank_mask(raw[col])
        else:
            blank[rows] = _blank_mask(raw[col].iloc[rows])
    if not blank.any():
        return raw, np.arange(len(raw))
    keep = np.flatnonzero(~blank)
    return raw.iloc[keep], keep


def _require(raw: pd.DataFrame, names: tuple[str, ...], sheet: str) -> dict[str, str]:
    found = {}
    missing = []
    for name in names:
        col = find_column(raw, name)
        if col is None:
            missing.append(name)
        else:
            found[name] = col
    if missing:
        have = ", ".join(str(c) for c in raw.columns) or "no columns at all"
        plural = "columns" if len(missing) > 1 else "column"
        raise WorkbookError(
            f"Sheet '{sheet}' has no {plural} {', '.join(repr(m) for m in missing)}; found: {have}. "
            "Rename the header (case, spaces and underscores don't matter), e.g. 'Customer ID' "
            "for customer_id",
            sheet=None,
        )
    return found


def clean_transactions(
    raw: pd.DataFrame,
    *,
    sheet: str = "Transactions",
    first_row: int = 2,
    observation_end: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate a raw transaction table; return the usable rows and the issues table.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read: header row as column names, cells as the workbook holds them.
        Required columns ``customer_id``, ``date``, ``amount`` (headers match ignoring case,
        spaces, underscores and hyphens); every other column is a segment dimension.
    sheet : str
        Sheet (or file) name, for messages.
    first_row : int
        Excel row number of ``raw``'s first row (2 when the header is in row 1).
    observation_end : date-like, optional
        Rows dated after it are reported and not used.

    Returns
    -------
    clean : pandas.DataFrame
        ``customer_id`` (text), ``date`` (datetime64, day), ``amount`` (float), then the
        segment columns under their original headers (text; a blank segment is "(blank)").
        Negative amounts are returns and are kept; zero amounts are kept and reported.
    issues : pandas.DataFrame
        One row per input row not used or used with a caveat: ``Sheet``, ``Row``, ``Column``,
        ``Value``, ``Problem``.

    Raises
    ------
    WorkbookError
        A required column is missing; the message lists the columns found.
    """
    cols = _require(raw, REQUIRED, sheet)
    data, positions = _drop_blank_rows(raw)
    rows = _excel_rows(positions, first_row)

    cid_raw, date_raw, amt_raw = (data[cols[k]] for k in REQUIRED)
    cid_text = _id_text(cid_raw)
    cid_blank = cid_text.isna().to_numpy()
    cid_error = cid_text.isin(EXCEL_ERRORS).to_numpy(dtype=bool)
    dates, date_bad = _parse_dates(date_raw)
    amounts, amt_bad = _parse_numbers(amt_raw)

    end = None if observation_end is None else pd.Timestamp(observation_end).normalize()
    late = np.zeros(len(data), dtype=bool)
    if end is not None:
        late = ~date_bad & (dates.to_numpy() > end.to_datetime64())

    bad_id = cid_blank | cid_error
    rejected = bad_id | date_bad | amt_bad | late
    issues: list[tuple] = []
    if rejected.any():
        for i in np.flatnonzero(rejected):
            if bad_id[i]:
                v = cid_raw.iloc[i]
                text = _cell_text(v)
                problem = (
                    "customer_id is blank: row not used"
                    if cid_blank[i]
                    else f"customer_id is the Excel error {text}: row not used"
                )
                issues.append((sheet, int(rows[i]), cols["customer_id"], text, problem))
            elif date_bad[i]:
                v = date_raw.iloc[i]
                issues.append(
                    (sheet, int(rows[i]), cols["date"], _cell_text(v), _problem_for_bad(v, "date"))
                )
            elif amt_bad[i]:
                v = amt_raw.iloc[i]
                issues.append(
                    (
                        sheet,
                        int(rows[i]),
                        cols["amount"],
                        _cell_text(v),
                        _problem_for_bad(v, "amount"),
                    )
                )
            else:
                issues.append(
                    (
                        sheet,
                        int(rows[i]),
                        cols["date"],
                        dates.iloc[i].strftime("%Y-%m-%d"),
                        f"date after observation_end ({end:%Y-%m-%d}): row not used",
                    )
                )
    zero = ~rejected & (amounts.to_numpy() == 0)
    for i in np.flatnonzero(zero):
        issues.append(
            (
                sheet,
                int(rows[i]),
                cols["amount"],
                "0",
                "zero amount: kept, but not counted as a purchase",
            )
        )

    keep = ~rejected
    clean = pd.DataFrame(
        {
            "customer_id": cid_text[keep].to_numpy(dtype=object),
            "date": dates[keep].to_numpy(),
            "amount": amounts[keep].to_numpy(dtype=float),
        }
    )
    used = {c for c in cols.values()}
    for col in raw.columns:
        if col in used or str(col).strip() == "":
            continue
        seg = _id_text(data[col][keep])
        seg = seg.where(seg.notna(), "(blank)")
        clean[str(col)] = seg.to_numpy(dtype=object)
    issue_df = _issues(issues)
    if not issue_df.empty:
        issue_df = issue_df.sort_values(["Sheet", "Row"], kind="stable").reset_index(drop=True)
    return clean, issue_df


def clean_nps(
    raw: pd.DataFrame, *, sheet: str = "NPS", first_row: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """NPS responses (``customer_id``, ``score`` 0–10 whole numbers, ``row`` = Excel row);
    bad rows reported."""
    cols = _require(raw, ("customer_id", "score"), sheet)
    data, positions = _drop_blank_rows(raw)
    rows = _excel_rows(positions, first_row)
    cid_raw, score_raw = data[cols["customer_id"]], data[cols["score"]]
    cid_blank = _blank_mask(cid_raw)
    scores, bad = _parse_numbers(score_raw)
    sv = scores.to_numpy()
    out_of_range = ~bad & ((sv < 0) | (sv > 10) | (sv != np.round(sv)))
    issues = []
    for i in np.flatnonzero(cid_blank | bad | out_of_range):
        if cid_blank[i]:
            issues.append(
                (
                    sheet,
                    int(rows[i]),
                    cols["customer_id"],
                    "",
                    "customer_id is blank: response not used",
                )
            )
        elif bad[i]:
            v = score_raw.iloc[i]
            issues.append(
                (sheet, int(rows[i]), cols["score"], _cell_text(v), _problem_for_bad(v, "score"))
            )
        else:
            issues.append(
                (
                    sheet,
                    int(rows[i]),
                    cols["score"],
                    _cell_text(sv[i]),
                    "score must be a whole number from 0 to 10: response not used",
                )
            )
    keep = ~(cid_blank | bad | out_of_range)
    clean = pd.DataFrame(
        {
            "customer_id": _id_text(cid_raw)[keep].to_numpy(dtype=object),
            "score": sv[keep],
            "row": rows[keep].astype(np.int64),
        }
    )
    return clean, _issues(issues)


def clean_marketing(
    raw: pd.DataFrame, *, sheet: str = "Marketing", first_row: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Marketing spend per segment: (table with ``segment``, ``spend``, ``new_customers``,
    issues, the segment column's header).

    The first column that is not spend / new customers names the segment dimension it
    matches (e.g. ``channel``).
    """
    cols = _require(raw, ("spend", "new_customers"), sheet)
    others = [c for c in raw.columns if c not in cols.values() and str(c).strip()]
    if not others:
        raise WorkbookError(
            f"Sheet '{sheet}' needs a segment column (e.g. 'channel') next to 'spend' and "
            f"'new_customers'; found: {', '.join(map(str, raw.columns))}"
        )
    seg_col = others[0]
    data, positions = _drop_blank_rows(raw)
    rows = _excel_rows(positions, first_row)
    spend, bad_spend = _parse_numbers(data[cols["spend"]])
    new, bad_new = _parse_numbers(data[cols["new_customers"]])
    seg_blank = _blank_mask(data[seg_col])
    negative = ~bad_spend & ~bad_new & ((spend.to_numpy() < 0) | (new.to_numpy() < 0))
    issues = []
    for i in np.flatnonzero(seg_blank | bad_spend | bad_new | negative):
        if seg_blank[i]:
            issues.append(
                (sheet, int(rows[i]), str(seg_col), "", f"{seg_col} is blank: row not used")
            )
        elif bad_spend[i]:
            v = data[cols["spend"]].iloc[i]
            issues.append(
                (sheet, int(rows[i]), cols["spend"], _cell_text(v), _problem_for_bad(v, "spend"))
            )
        elif bad_new[i]:
            v = data[cols["new_customers"]].iloc[i]
            issues.append(
                (
                    sheet,
                    int(rows[i]),
                    cols["new_customers"],
                    _cell_text(v),
                    _problem_for_bad(v, "new_customers"),
                )
            )
        else:
            issues.append(
                (
                    sheet,
                    int(rows[i]),
                    cols["spend"],
                    "",
                    "spend and new_customers must not be negative: row not used",
                )
            )
    keep = ~(seg_blank | bad_spend | bad_new | negative)
    clean = pd.DataFrame(
        {
            "segment": _id_text(data[seg_col])[keep].to_numpy(dtype=object),
            "spend": spend[keep].to_numpy(),
            "new_customers": new[keep].to_numpy(),
        }
    )
    clean = clean.groupby("segment", as_index=False, sort=False).sum()
    return clean, _issues(issues), str(seg_col)


# -- reading ------------------------------------------------------------------------------------


def _grid_to_frame(grid: list[list[Any]]) -> tuple[pd.DataFrame, int]:
    """A sheet's cells (from A1) as a DataFrame under its header row, and the first data row."""
    header_idx = None
    for i, row in enumerate(grid):
        if any(not (c is None or (isinstance(c, str) and c.strip() == "")) for c in row):
            header_idx = i
            break
    if header_idx is None:
        return pd.DataFrame(), 2
    header = grid[header_idx]
    keep_cols = [j for j, h in enumerate(header) if not (h is None or str(h).strip() == "")]
    names: list[str] = []
    for j in keep_cols:
        name = _cell_text(header[j]).strip()
        base, k = name, 2
        while name in names:
            name, k = f"{base} ({k})", k + 1
        names.append(name)
    body = grid[header_idx + 1 :]
    if keep_cols == list(range(len(header))):
        frame = pd.DataFrame(body, columns=names, dtype=object)
    else:
        frame = pd.DataFrame([[r[j] for j in keep_cols] for r in body], columns=names, dtype=object)
    # Empty cells stay as calamine gives them (""): cleaning treats "" and None alike, and
    # replacing them would cost a second pass over every cell.
    # Trailing blank rows (calamine returns the whole used range) carry no information.
    return frame, header_idx + 2


def _sheet_lookup(names: list[str], wanted: str) -> str | None:
    for n in names:
        if normalise_header(n) == normalise_header(wanted):
            return n
    return None


def _read_settings(grid: list[list[Any]]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for row in grid:
        if len(row) < 2 or row[0] is None or str(row[0]).strip() == "":
            continue
        key = normalise_header(row[0])
        if key in ("setting", "settings", "key", "name"):
            continue
        value = row[1]
        settings[re.sub(r"[\s\-]+", "_", str(row[0]).strip()).lower()] = (
            None if value == "" else value
        )
    return settings


def read_workbook(path: str | Path) -> WorkbookInputs:
    """Read Transactions (required), Settings, NPS and Marketing (optional) from a workbook.

    The file is only read. Sheet names match ignoring case and spaces.

    Raises
    ------
    WorkbookError
        The file can't be opened, or it has no Transactions sheet (the message lists the
        sheets found).
    """
    from python_calamine import CalamineWorkbook

    p = Path(path)
    if not p.exists():
        raise WorkbookError(f"File '{p}' does not exist")
    try:
        wb = CalamineWorkbook.from_path(str(p))
    except Exception as exc:  # calamine raises its own error types
        raise WorkbookError(f"Could not open '{p.name}' as a workbook: {exc}") from None
    names = list(wb.sheet_names)
    tx_name = _sheet_lookup(names, "Transactions")
    if tx_name is None:
        raise WorkbookError(
            f"Workbook '{p.name}' has no sheet 'Transactions'; found: {', '.join(names)}. "
            "Paste your transactions into a sheet named Transactions (see the template)"
        )

    def grid(name: str) -> list[list[Any]]:
        return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)

    with _gc_paused():
        return _read_sheets(p, wb, names, tx_name, grid)


@contextlib.contextmanager
def _gc_paused():
    """Pause Python's cyclic garbage collector while millions of cell objects are created
    (none of them cyclic); it otherwise rescans them over and over and doubles the read time
    of a million-row sheet. The previous state is restored."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _read_sheets(p: Path, wb: Any, names: list[str], tx_name: str, grid: Any) -> WorkbookInputs:
    """The input sheets of an open workbook (see :func:`read_workbook`)."""
    tx, tx_first = _grid_to_frame(grid(tx_name))
    inputs = WorkbookInputs(
        transactions=tx, transactions_first_row=tx_first, transactions_sheet=tx_name, source=p.name
    )
    settings_name = _sheet_lookup(names, "Settings")
    if settings_name is not None:
        inputs.settings = _read_settings(grid(settings_name))
    nps_name = _sheet_lookup(names, "NPS")
    if nps_name is not None:
        inputs.nps, inputs.nps_first_row = _grid_to_frame(grid(nps_name))
        inputs.nps_sheet = nps_name
    mk_name = _sheet_lookup(names, "Marketing")
    if mk_name is not None:
        inputs.marketing, inputs.marketing_first_row = _grid_to_frame(grid(mk_name))
        inputs.marketing_sheet = mk_name
    return inputs


def read_table_file(path: str | Path) -> WorkbookInputs:
    """Transactions from a CSV (header in line 1) or Parquet file; no settings."""
    p = Path(path)
    if not p.exists():
        raise WorkbookError(f"File '{p}' does not exist")
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt"):
        frame = pd.read_csv(p, dtype=object, keep_default_na=False, skip_blank_lines=False)
        # Empty cells stay as calamine gives them (""): cleaning treats "" and None alike, and
    # replacing them would cost a second pass over every cell.
    elif suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(p)
        except ImportError:
            raise WorkbookError(
                "Reading Parquet needs pyarrow: pip install pyarrow (or save the data as CSV)"
            ) from None
    else:
        raise WorkbookError(
            f"'{p.name}': xlclv reads .xlsx/.xlsm workbooks, .csv and .parquet files"
        )
    return WorkbookInputs(
        transactions=frame, transactions_first_row=2, transactions_sheet=p.name, source=p.name
    )
