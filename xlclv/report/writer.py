"""Write a :class:`xlclv.report.pipeline.Report` to a new .xlsx workbook (XlsxWriter).

The workbook has the output sheets in :data:`OUTPUT_SHEETS`: a Dashboard with KPI tiles and
native Excel charts, then Customers, Segments, Cohorts, Model (with the settings used) and
Data issues, each as Excel Tables with stable names, number formats and frozen headers. The
Dashboard's charts read only its own "Chart data" tables (right of the print area), so the
sheet can be copied into another workbook on its own without links back to this file.

Safety rules, all tested:

- Every cell is written with an explicitly typed call (``write_string``, ``write_number``...),
  and the workbook is created with ``strings_to_formulas=False``, ``strings_to_numbers=False``
  and ``strings_to_urls=False``. A customer id or segment value such as ``=HYPERLINK(...)`` or
  ``@SUM(A1)`` stays text: user data never becomes a formula.
- The file is written to a temporary file in the target folder and renamed into place with
  :func:`os.replace`, so a crash never leaves a half-written report, and an existing file is
  only replaced when ``force=True``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xlclv._errors import WorkbookError

__all__ = [
    "OUTPUT_SHEETS",
    "TABLE_NAMES",
    "add_report_sheets",
    "close_workbook",
    "new_workbook",
    "segment_table_name",
    "write_report",
]

#: The sheets a report consists of, in workbook order. The Excel button replaces exactly these.
OUTPUT_SHEETS: tuple[str, ...] = (
    "Dashboard",
    "Customers",
    "Segments",
    "Cohorts",
    "Model",
    "Data issues",
)

#: Stable table names (segment tables are ``tblSeg_<dimension>``, see segment_table_name).
TABLE_NAMES: dict[str, str] = {
    "customers": "tblCustomers",
    "cohorts": "tblCohorts",
    "cohort_curves": "tblCohortCurves",
    "model_params": "tblModel",
    "model_fit": "tblModelFit",
    "holdout": "tblHoldout",
    "settings": "tblSettingsUsed",
    "issues": "tblIssues",
    # chart data on the Dashboard
    "chart_segments_1": "tblChartSeg1",
    "chart_segments_2": "tblChartSeg2",
    "chart_cohorts": "tblChartCohorts",
    "concentration": "tblConcentration",
    "palive": "tblPAlive",
    "chart_curves": "tblChartCurves",
}

#: Options that make XlsxWriter write strings as strings, whatever they look like.
SAFE_OPTIONS: dict[str, Any] = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}

_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
_CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹"}
_DATE_FMT = "yyyy-mm-dd"

# Column classes by header (exact names from the Report contract, then patterns).
_COUNT_HEADERS = {
    "Customers",
    "Orders",
    "New customers",
    "NPS responses",
    "Row",
    "Month",
    "Responses",
    "Promoters",
    "Detractors",
}
_RATIO_HEADERS = {"LTV:CAC"}
_PLAIN_HEADERS = {"Expected purchases", "Frequency", "NPS", "Estimate", "Std. error"}


def new_workbook(path: str | os.PathLike[str], **options: Any) -> Workbook:
    """An XlsxWriter workbook that never turns text into formulas, numbers or links."""
    return xlsxwriter.Workbook(os.fspath(path), {**SAFE_OPTIONS, **options})


def segment_table_name(dimension: str, taken: set[str] | None = None) -> str:
    """The Excel Table name for one segment dimension: ``tblSeg_<dimension>`` (sanitised)."""
    stem = re.sub(r"[^0-9A-Za-z_]", "_", str(dimension)).strip("_") or "dim"
    name = f"tblSeg_{stem}"[:250]
    if taken is not None:
        base, k = name, 2
        while name.lower() in {t.lower() for t in taken}:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
    return name


def write_report(report: Any, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write ``report`` to a new workbook at ``path``, atomically.

    Parameters
    ----------
    report : xlclv.report.pipeline.Report
        The report built by :func:`xlclv.report.pipeline.build_report`.
    path : path-like
        The .xlsx file to write. Its folder must exist.
    force : bool
        Replace ``path`` if it already exists. Without it an existing file is never touched.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise WorkbookError(f"The report must be an .xlsx file, got '{target.name}'")
    if target.exists() and not force:
        raise WorkbookError(
            f"'{target}' already exists; xlclv does not overwrite files unless asked. "
            "Use --force (force=True) to replace it, or choose another output name."
        )
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise WorkbookError(f"The output folder '{folder}' does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".~{target.stem}-", suffix=".xlsx", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp makes the file private (0600); give the report the permissions any new file gets.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        workbook = new_workbook(tmp, use_zip64=True)
        add_report_sheets(workbook, report)
        close_workbook(workbook)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


# ---------------------------------------------------------------------------------------------
# formats


class _Formats:
    """The workbook's cell formats, created once and shared by every sheet."""

    def __init__(self, workbook: Workbook, currency: str) -> None:
        self.wb = workbook
        cur = str(currency or "USD").strip().upper()
        symbol = _CURRENCY_SYMBOLS.get(cur)
        if symbol is not None:
            money, money0 = f'"{symbol}"#,##0.00', f'"{symbol}"#,##0'
        else:
            safe = re.sub(r'["\\]', "", cur)
            money, money0 = f'#,##0.00 "{safe}"', f'#,##0 "{safe}"'
        self.cache: dict[str, Any] = {}
        self.money = self.add(num_format=money)
        self.money0 = self.add(num_format=money0)
        self.pct = self.add(num_format="0.0%")
        self.count = self.add(num_format="#,##0")
        self.row_number = self.add(num_format="0")
        self.num2 = self.add(num_format="#,##0.00")
        self.num4 = self.add(num_format="0.0000")
        self.ratio = self.add(num_format='0.0"x"')
        self.date = self.add(num_format=_DATE_FMT)
        self.text = self.add()
        self.auto_int = self.add(num_format="#,##0", align="left")
        self.auto_big = self.add(num_format="#,##0.00", align="left")
        self.auto_small = self.add(num_format="0.0000", align="left")
        self.wrap = self.add(text_wrap=True, valign="top")
        # header of a numeric column: right-aligned like its numbers, so in a wide column the
        # value stands under its own header
        self.header_right = self.add(bold=True, align="right")
        self.title = self.add(bold=True, font_size=16, font_color="#1F3864")
        self.subtitle = self.add(italic=True, font_color="#595959")
        self.heading = self.add(bold=True, font_size=12, font_color="#1F3864", bottom=1)
        self.note = self.add(font_color="#595959", text_wrap=True, valign="top")
        tile = {"bg_color": "#DEEAF6", "align": "center", "valign": "vcenter", "border": 1}
        tile["border_color"] = "#9DC3E6"
        self.tile_label = self.add(**tile, bold=True, font_color="#1F3864")
        self.tile_count = self.add(**tile, font_size=20, bold=True, num_format="#,##0")
        self.tile_money = self.add(**tile, font_size=20, bold=True, num_format=money0)
        self.tile_money2 = self.add(**tile, font_size=20, bold=True, num_format=money)

    def auto(self, x: float) -> Any:
        """A readable format for a number in a mixed (text and numbers) column."""
        if x == int(x) and abs(x) < 1e15:
            return self.auto_int
        return self.auto_big if abs(x) >= 100 else self.auto_small

    def add(self, **props: Any) -> Any:
        return self.wb.add_format(props)

    def for_column(self, header: str, values: pd.Series) -> Any:
        """The number format a column gets, from its header (and dtype for dates)."""
        h = str(header)
        low = h.lower()
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            return self.date
        if h in _RATIO_HEADERS:
            return self.ratio
        if h in _COUNT_HEADERS:
            return self.count
        if low.startswith("share") or "p(alive)" in low or low.endswith("rate") or "%" in h:
            return self.pct
        if h in _PLAIN_HEADERS:
            return self.num2 if h != "Estimate" and h != "Std. error" else self.num4
        if any(k in low for k in ("clv", "revenue", "spend", "cac", "value", "monetary")):
            return self.money
        if pd.api.types.is_integer_dtype(values.dtype):
            return self.count
        if pd.api.types.is_numeric_dtype(values.dtype):
            return self.num2
        return self.text


# ---------------------------------------------------------------------------------------------
# typed cell writing


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        return bool(pd.isna(v)) if not isinstance(v, str | bytes | list | tuple) else False
    except (TypeError, ValueError):
        return False


def write_value(ws: Worksheet, row: int, col: int, value: Any, fmt: Any, fmts: _Formats) -> None:
    """Write one Python value with the matching typed call. Text is always ``write_string``."""
    if _is_missing(value):
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, str):
        ws.write_string(row, col, value, fmts.text if fmt is fmts.date else fmt)
    elif isinstance(value, bool | np.bool_):
        ws.write_boolean(row, col, bool(value), fmt)
    elif isinstance(value, int | float | np.integer | np.floating):
        x = float(value)
        if math.isfinite(x):
            ws.write_number(row, col, x, fmts.auto(x) if fmt is fmts.text else fmt)
        else:
            ws.write_string(row, col, "∞" if x > 0 else "-∞", fmt)
    elif isinstance(value, pd.Timestamp | dt.datetime | dt.date | np.datetime64):
        ts = pd.Timestamp(value)
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        ws.write_datetime(row, col, ts.to_pydatetime(), fmts.date)
    else:
        ws.write_string(row, col, str(value), fmt)


def _column_writer(
    ws: Worksheet, series: pd.Series, fmt: Any, fmts: _Formats
) -> Callable[[int, int], None] | None:
    """A fast path for whole columns: (first_row, col) -> None, or None for the generic path."""
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        s = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) is not None else series
        days = (s.to_numpy(dtype="datetime64[ns]") - _EXCEL_EPOCH.astype("datetime64[ns]")) / (
            np.timedelta64(1, "D")
        )
        vals = [None if math.isnan(x) else x for x in days.tolist()]

        def write_dates(r0: int, c: int) -> None:
            wn, wb = ws.write_number, ws.write_blank
            for i, x in enumerate(vals):
                if x is None:
                    wb(r0 + i, c, None, fmts.date)
                else:
                    wn(r0 + i, c, x, fmts.date)

        return write_dates
    if pd.api.types.is_bool_dtype(dtype):
        bools = series.tolist()

        def write_bools(r0: int, c: int) -> None:
            for i, b in enumerate(bools):
                ws.write_boolean(r0 + i, c, bool(b), fmt)

        return write_bools
    if pd.api.types.is_numeric_dtype(dtype):
        nums = series.astype("float64").tolist()

        def write_numbers(r0: int, c: int) -> None:
            wn, wb = ws.write_number, ws.write_blank
            for i, x in enumerate(nums):
                if x == x and x not in (math.inf, -math.inf):
                    wn(r0 + i, c, x, fmt)
                elif x != x:
                    wb(r0 + i, c, None, fmt)
                else:
                    ws.write_string(r0 + i, c, "∞" if x > 0 else "-∞", fmt)

        return write_numbers
    values = series.tolist()
    if all(type(v) is str for v in values):

        def write_strings(r0: int, c: int) -> None:
            ws_ = ws.write_string
            for i, v in enumerate(values):
                ws_(r0 + i, c, v, fmt)

        return write_strings
    return None


def _display_width(header: str, series: pd.Series, fmt: Any, fmts: _Formats) -> float:
    width = len(str(header)) + 3  # room for the table's filter button
    if fmt is fmts.date:
        width = max(width, 12)
    elif pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    ):
        finite = series.replace([np.inf, -np.inf], np.nan).dropna().abs()
        biggest = float(finite.max()) if len(finite) else 0.0
        digits = len(f"{biggest:,.0f}") + (4 if fmt in (fmts.money, fmts.num2, fmts.num4) else 1)
        width = max(width, digits + 2)
    else:
        sample = series.head(500).map(lambda v: "" if _is_missing(v) else str(v))
        longest = sample.str.len().max() if len(sample) else 0
        width = max(width, int(longest if longest == longest else 0) + 2)
    return float(min(max(width, 9), 60))


def write_table(
    ws: Worksheet,
    first_row: int,
    first_col: int,
    df: pd.DataFrame,
    name: str,
    fmts: _Formats,
    *,
    style: str = "Table Style Medium 2",
    widths: dict[int, float] | None = None,
    formats: dict[str, Any] | None = None,
    allow_bulk: bool = False,
) -> tuple[int, int]:
    """Write ``df`` as an Excel Table; returns (last_row, last_col) of the table.

    ``allow_bulk``: the table is the last thing on its sheet, so more than BULK_ROWS rows may
    be streamed into the XML at close time (see close_workbook).

    An empty frame still gets a table (header plus one empty row), so the name always exists.
    ``widths`` collects the widest display width per column across several tables.
    """
    df = df.reset_index(drop=True)
    headers = [_header_text(h) for h in df.columns]
    headers = _unique(headers)
    n = len(df)
    ncols = max(len(headers), 1)
    columns = []
    # Big tables: XlsxWriter writes the first data row (registering the formats), and the
    # rest is streamed straight into the sheet's XML when the workbook closes (close_workbook).
    bulk = allow_bulk and n > BULK_ROWS
    deferred: list[tuple[pd.Series, Any]] = []
    for j, h in enumerate(headers):
        series = df.iloc[:, j]
        fmt = (formats or {}).get(h) or fmts.for_column(h, series)
        column = {"header": h, "format": fmt}
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
            series.dtype
        ):
            column["header_format"] = fmts.header_right
        columns.append(column)
        head = series.iloc[:1] if bulk else series
        fast = _column_writer(ws, head, fmt, fmts)
        if fast is not None:
            fast(first_row + 1, first_col + j)
        else:
            for i, v in enumerate(head.tolist()):
                write_value(ws, first_row + 1 + i, first_col + j, v, fmt, fmts)
        if bulk:
            deferred.append((series.iloc[1:], fmt))
        if widths is not None:
            w = _display_width(h, series, fmt, fmts)
            widths[first_col + j] = max(widths.get(first_col + j, 0.0), w)
    last_row = first_row + max(n, 1)
    last_col = first_col + ncols - 1
    ws.add_table(
        first_row,
        first_col,
        first_row + 1 if bulk else last_row,  # bulk: the ref is widened when closing
        last_col,
        {"name": name, "columns": columns or [{"header": "Empty"}], "style": style},
    )
    if bulk:
        pending = _pending(ws)
        pending.append((first_row + 2, first_col, deferred, name))
        ref = f"{_col_letters(first_col)}{first_row + 1}:{_col_letters(last_col)}{last_row + 1}"
        _bulk_tables(ws)[name] = ref
    return last_row, last_col


# ---------------------------------------------------------------------------------------------
# bulk rows: XlsxWriter costs ~20 us a cell; a 125,000-customer table is 1.5 M cells. Rows after
# the first are rendered to XML with vectorised string operations and spliced into the sheet
# part after XlsxWriter has closed the file. Text is an inline string (t="inlineStr"), never a
# formula; number formats are the xf indexes XlsxWriter gave the same Format objects.

#: Tables with more data rows than this use the bulk path.
BULK_ROWS = 5000
_PENDING_ATTR = "_xlclv_bulk_rows"


def _bulk_tables(ws: Worksheet) -> dict[str, str]:
    if not hasattr(ws, "_xlclv_bulk_tables"):
        ws._xlclv_bulk_tables = {}
    return ws._xlclv_bulk_tables


def _pending(ws: Worksheet) -> list[Any]:
    if not hasattr(ws, _PENDING_ATTR):
        setattr(ws, _PENDING_ATTR, [])
    return getattr(ws, _PENDING_ATTR)


def close_workbook(workbook: Workbook) -> None:
    """Close an XlsxWriter workbook made with this module, then write any bulk rows."""
    workbook.close()
    jobs = []
    tables: dict[str, str] = {}
    for index, ws in enumerate(workbook.worksheets(), start=1):
        pending = getattr(ws, _PENDING_ATTR, None)
        if pending:
            jobs.append((f"xl/worksheets/sheet{index}.xml", pending))
            tables.update(_bulk_tables(ws))
    if jobs:
        _splice_rows(Path(workbook.filename), dict(jobs), tables)


def _col_letters(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _xml_text(v: str) -> str:
    v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    v = _CONTROL.sub("", v)
    if v[:1].isspace() or v[-1:].isspace():
        return f'<t xml:space="preserve">{v}</t>'
    return f"<t>{v}</t>"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _text_cells(texts: pd.Series, prefix: pd.Series, s_attr: str) -> pd.Series:
    """Inline-string cells for a Series of str (vectorised)."""
    t = texts.str.replace("&", "&amp;", regex=False)
    t = t.str.replace("<", "&lt;", regex=False).str.replace(">", "&gt;", regex=False)
    t = t.str.replace(_CONTROL.pattern, "", regex=True)
    spaced = t.str.match(r"^\s|.*\s$")
    open_t = pd.Series("<t>", index=t.index).where(~spaced, '<t xml:space="preserve">')
    return prefix + f'"{s_attr} t="inlineStr"><is>' + open_t + t + "</t></is></c>"


def _cells(series: pd.Series, ref: str, first_row: int, style: int) -> list[str]:
    """The <c> elements of one column ('' for an empty cell), built with vectorised strings."""
    series = series.reset_index(drop=True)
    n = len(series)
    rownums = pd.Series(np.arange(first_row + 1, first_row + 1 + n)).astype(str)
    prefix = f'<c r="{ref}' + rownums
    s_attr = f' s="{style}"' if style else ""
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        s = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) is not None else series
        days = (s.to_numpy(dtype="datetime64[ns]") - _EXCEL_EPOCH.astype("datetime64[ns]")) / (
            np.timedelta64(1, "D")
        )
        series = pd.Series(days)
        dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        bits = series.astype(int).astype(str)
        return (prefix + f'"{s_attr} t="b"><v>' + bits + "</v></c>").tolist()
    if pd.api.types.is_numeric_dtype(dtype):
        x = series.astype("float64").to_numpy()
        finite = np.isfinite(x)
        inf = np.isinf(x)
        nums = pd.Series([f"{v:.16G}" for v in x.tolist()])  # as XlsxWriter writes numbers
        out = prefix + f'"{s_attr}><v>' + nums + "</v></c>"
        if inf.any():
            signs = pd.Series(np.where(x > 0, "∞", "-∞"))
            out = out.where(~inf, _text_cells(signs, prefix, s_attr))
        return out.where(finite | inf, "").tolist()
    values = series.tolist()
    if all(type(v) is str for v in values):
        return _text_cells(series.astype(str), prefix, s_attr).tolist()
    out = []
    for r, v in zip(rownums.tolist(), values, strict=True):
        head = f'<c r="{ref}{r}"{s_attr}'
        if _is_missing(v):
            out.append("")
        elif isinstance(v, bool | np.bool_):
            out.append(f'{head} t="b"><v>{int(bool(v))}</v></c>')
        elif isinstance(v, int | float | np.integer | np.floating) and math.isfinite(float(v)):
            out.append(f"{head}><v>{float(v):.16G}</v></c>")
        else:
            out.append(f'{head} t="inlineStr"><is>{_xml_text(str(v))}</is></c>')
    return out


def _splice_rows(path: Path, jobs: dict[str, list[Any]], tables: dict[str, str]) -> None:
    import shutil
    import zipfile

    tmp = path.with_name(path.name + ".bulk")
    with (
        zipfile.ZipFile(path) as zin,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zout,
    ):
        for item in zin.infolist():
            data = zin.read(item.filename)
            level = None
            if item.filename in jobs:
                data = _sheet_with_rows(data.decode("utf-8"), jobs[item.filename]).encode("utf-8")
                level = 1  # fast deflate for the big part
            elif item.filename.startswith("xl/tables/table"):
                data = _widen_table(data.decode("utf-8"), tables).encode("utf-8")
            zout.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=level)
    shutil.move(tmp, path)


def _widen_table(xml: str, tables: dict[str, str]) -> str:
    m = re.search(r'<table [^>]*\bname="([^"]+)"', xml)
    if not m or m.group(1) not in tables:
        return xml
    ref = tables[m.group(1)]
    xml = re.sub(r'(<table [^>]*\bref=")[^"]+"', rf'\g<1>{ref}"', xml, count=1)
    return re.sub(r'(<autoFilter ref=")[^"]+"', rf'\g<1>{ref}"', xml, count=1)


def _sheet_with_rows(xml: str, pending: list[Any]) -> str:
    blocks = []
    max_row, max_col = 0, 0
    for first_row, first_col, columns, _fmts in pending:
        if not columns or not len(columns[0][0]):
            continue
        col_cells = []
        for j, (series, fmt) in enumerate(columns):
            style = getattr(fmt, "xf_index", None) or 0
            col_cells.append(_cells(series, _col_letters(first_col + j), first_row, style))
        n = len(columns[0][0])
        span = f"{first_col + 1}:{first_col + len(columns)}"
        blocks.append(
            "".join(
                f'<row r="{first_row + 1 + i}" spans="{span}">{"".join(cells)}</row>'
                for i, cells in enumerate(zip(*col_cells, strict=True))
            )
        )
        max_row = max(max_row, first_row + n)
        max_col = max(max_col, first_col + len(columns) - 1)
    body = "".join(blocks)
    rows_after = re.findall(r'<row r="(\d+)"', xml)
    if rows_after and max(map(int, rows_after)) >= min(p[0] for p in pending) + 1:
        raise RuntimeError("bulk rows overlap rows XlsxWriter wrote")  # a bug, not user input
    if "<sheetData/>" in xml:
        xml = xml.replace("<sheetData/>", f"<sheetData>{body}</sheetData>", 1)
    else:
        xml = xml.replace("</sheetData>", body + "</sheetData>", 1)
    last = f"{_col_letters(max_col)}{max_row}"
    return re.sub(
        r'<dimension ref="([A-Z]+\d+)(?::[A-Z]+\d+)?"/>',
        rf'<dimension ref="\1:{last}"/>',
        xml,
        count=1,
    )


def _header_text(h: Any) -> str:
    text = "" if _is_missing(h) else str(h)
    return text.replace("\n", " ").strip() or "Column"


def _unique(headers: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        key = h.lower()
        if key in seen:
            seen[key] += 1
            h = f"{h} ({seen[key]})"
        else:
            seen[key] = 1
        out.append(h)
    return out


def _apply_widths(ws: Worksheet, widths: dict[int, float]) -> None:
    for col, w in sorted(widths.items()):
        ws.set_column(col, col, w)


def _page_setup(ws: Worksheet, *, one_page: bool = False) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4; Letter users get it scaled by the driver
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.fit_to_pages(1, 1 if one_page else 0)


# ---------------------------------------------------------------------------------------------
# the sheets


def add_report_sheets(workbook: Workbook, report: Any) -> dict[str, Worksheet]:
    """Add the output sheets (:data:`OUTPUT_SHEETS`) for ``report`` to an open workbook.

    The template builder uses this to put a filled report next to its input sheets; the
    headless path (:func:`write_report`) uses it on an empty workbook.
    """
    settings = report.settings
    fmts = _Formats(workbook, getattr(settings, "currency", "USD"))
    sheets = {name: workbook.add_worksheet(name) for name in OUTPUT_SHEETS}
    _customers_sheet(sheets["Customers"], report, fmts)
    _segments_sheet(sheets["Segments"], report, fmts)
    _cohorts_sheet(sheets["Cohorts"], report, fmts)
    _model_sheet(sheets["Model"], report, fmts)
    _issues_sheet(sheets["Data issues"], report, fmts)
    _dashboard_sheet(workbook, sheets["Dashboard"], report, fmts)
    sheets["Dashboard"].activate()
    return sheets


def _customers_sheet(ws: Worksheet, report: Any, fmts: _Formats) -> None:
    widths: dict[int, float] = {}
    df = report.customers
    write_table(ws, 0, 0, df, TABLE_NAMES["customers"], fmts, widths=widths, allow_bulk=True)
    _apply_widths(ws, widths)
    ws.freeze_panes(1, 1)
    _page_setup(ws)
    ws.repeat_rows(0)


def _segments_sheet(ws: Worksheet, report: Any, fmts: _Formats) -> None:
    """One table per dimension, stacked with a heading each."""
    ws.write_string(0, 0, "Segments", fmts.title)
    ws.write_string(
        1,
        0,
        "One table per segment dimension. A customer's segment is the value on their first "
        "purchase (the acquisition segment).",
        fmts.subtitle,
    )
    widths: dict[int, float] = {}
    taken: set[str] = set()
    row = 3
    segments: dict[str, pd.DataFrame] = dict(getattr(report, "segments", {}) or {})
    if not segments:
        ws.write_string(row, 0, "No segment columns in the data.", fmts.note)
    for dim, df in segments.items():
        ws.write_string(row, 0, f"By {dim}", fmts.heading)
        table = segment_table_name(dim, taken)
        last_row, _ = write_table(ws, row + 1, 0, df, table, fmts, widths=widths)
        row = last_row + 3
    _apply_widths(ws, widths)
    if widths:
        ws.set_column(0, 0, max(widths.get(0, 12), 16))
    _page_setup(ws)


def _cohorts_sheet(ws: Worksheet, report: Any, fmts: _Formats) -> None:
    ws.write_string(0, 0, "Cohorts", fmts.title)
    ws.write_string(
        1,
        0,
        "Customers grouped by when they first bought (acquisition cohort).",
        fmts.subtitle,
    )
    widths: dict[int, float] = {}
    cohorts = report.cohorts
    last_row, _ = write_table(ws, 3, 0, cohorts, TABLE_NAMES["cohorts"], fmts, widths=widths)
    curves = _cohort_curves(report)
    row = last_row + 3
    if curves is not None:
        ws.write_string(
            row, 0, "Cumulative net revenue per customer, by months since acquisition", fmts.heading
        )
        money = {_header_text(c): fmts.money for c in curves.columns if str(c) != "Month"}
        money["Month"] = fmts.count
        write_table(
            ws,
            row + 1,
            0,
            curves,
            TABLE_NAMES["cohort_curves"],
            fmts,
            widths=widths,
            formats=money,
            style="Table Style Light 9",
        )
    _apply_widths(ws, widths)
    ws.freeze_panes(4, 1)
    _page_setup(ws)


def _cohort_curves(report: Any) -> pd.DataFrame | None:
    """The cohort curves with ``Month`` as a column, or None when there are none."""
    curves = getattr(report, "cohort_curves", None)
    if curves is None or not len(curves.columns):
        return None
    return curves.reset_index() if "Month" not in map(str, curves.columns) else curves


def _settings_rows(settings: Any) -> pd.DataFrame:
    labels = {
        "gross_margin": "Gross margin",
        "annual_discount_rate": "Annual discount rate",
        "horizon_months": "Horizon (months)",
        "time_unit": "Time unit",
        "observation_end": "Observation end",
        "segment_by": "Segment by",
        "currency": "Currency",
        "model": "Model",
    }
    values = asdict(settings) if is_dataclass(settings) else dict(vars(settings))
    rows = []
    for key, value in values.items():
        if isinstance(value, list | tuple):
            value = ", ".join(map(str, value))
        if value is None:
            value = {
                "observation_end": "last date in the data",
                "segment_by": "all extra columns",
            }.get(key, "")
        if key in ("gross_margin", "annual_discount_rate") and isinstance(value, int | float):
            value = f"{value:.1%}"
        elif isinstance(value, dt.date):
            value = value.isoformat()[:10]
        rows.append({"Setting": labels.get(key, key), "Key": key, "Value": str(value)})
    return pd.DataFrame(rows, columns=["Setting", "Key", "Value"])


def _model_sheet(ws: Worksheet, report: Any, fmts: _Formats) -> None:
    ws.write_string(0, 0, "Model", fmts.title)
    widths: dict[int, float] = {}
    row = 2
    ws.write_string(row, 0, "Fitted parameters", fmts.heading)
    last, _ = write_table(
        ws, row + 1, 0, report.model_params, TABLE_NAMES["model_params"], fmts, widths=widths
    )
    row = last + 3
    ws.write_string(row, 0, "Fit", fmts.heading)
    last, _ = write_table(
        ws,
        row + 1,
        0,
        report.model_fit,
        TABLE_NAMES["model_fit"],
        fmts,
        widths=widths,
        formats={"Value": fmts.text},
    )
    row = last + 3
    ws.write_string(row, 0, "Holdout check", fmts.heading)
    holdout = getattr(report, "holdout", None)
    if holdout is None:
        holdout = pd.DataFrame(columns=["Measure", "Predicted", "Actual"])
    hold_formats = {
        h: fmts.num2 for h in map(_header_text, holdout.columns) if h in ("Predicted", "Actual")
    }
    last, last_col = write_table(
        ws,
        row + 1,
        0,
        holdout,
        TABLE_NAMES["holdout"],
        fmts,
        widths=widths,
        formats=hold_formats,
    )
    text = str(getattr(report, "holdout_text", "") or "")
    row = last + 2
    if text:
        ws.merge_range(row, 0, row + 2, max(last_col, 5), "", fmts.note)
        ws.write_string(row, 0, text, fmts.note)
        row += 3
    row += 2
    ws.write_string(row, 0, "Settings used", fmts.heading)
    write_table(
        ws,
        row + 1,
        0,
        _settings_rows(report.settings),
        TABLE_NAMES["settings"],
        fmts,
        widths=widths,
        formats={"Value": fmts.text},
    )
    for col in widths:
        widths[col] = max(widths[col], 16)
    widths[0] = max(widths.get(0, 0), 24)
    _apply_widths(ws, widths)
    _page_setup(ws)


def _issues_sheet(ws: Worksheet, report: Any, fmts: _Formats) -> None:
    issues = report.issues
    if issues is None or not len(issues.columns):
        issues = pd.DataFrame(columns=["Sheet", "Row", "Column", "Value", "Problem"])
    widths: dict[int, float] = {}
    write_table(
        ws,
        0,
        0,
        issues,
        TABLE_NAMES["issues"],
        fmts,
        widths=widths,
        formats={"Value": fmts.text, "Row": fmts.row_number},
        allow_bulk=True,
    )
    widths = {c: min(w, 70) for c, w in widths.items()}
    _apply_widths(ws, widths)
    if issues.empty:
        ws.write_string(0, 6, "No data issues: every input row was used.", fmts.note)
    ws.freeze_panes(1, 0)
    _page_setup(ws)
    ws.repeat_rows(0)


# ---------------------------------------------------------------------------------------------
# dashboard

_CHART_W, _CHART_H = 620, 300
_COL_W = 10.71  # characters; about 80 px, so 8 columns hold a chart
_CHART_COLS = 8
_CHART_ROWS = 16
_BLUE, _ORANGE, _GREY = "#2E75B6", "#ED7D31", "#A5A5A5"


def _kpi(
    ws: Worksheet, col: int, label: str, value: float, fmt: Any, fmts: _Formats, note: str = ""
) -> None:
    ws.merge_range(3, col, 3, col + 3, label, fmts.tile_label)
    ws.merge_range(4, col, 5, col + 3, "", fmt)
    if _is_missing(value):
        ws.write_string(4, col, "–", fmt)
    else:
        ws.write_number(4, col, float(value), fmt)
    if note:
        ws.merge_range(6, col, 6, col + 3, "", fmts.subtitle)
        ws.write_string(6, col, note, fmts.subtitle)


def _chart(workbook: Workbook, kind: str, subtype: str | None = None) -> Any:
    opts = {"type": kind}
    if subtype:
        opts["subtype"] = subtype
    chart = workbook.add_chart(opts)
    chart.set_size({"width": _CHART_W, "height": _CHART_H})
    chart.set_chartarea({"border": {"color": "#BFBFBF"}})
    return chart


def _dashboard_sheet(
    workbook: Workbook,
    ws: Worksheet,
    report: Any,
    fmts: _Formats,
) -> None:
    settings = report.settings
    summary = dict(getattr(report, "summary", {}) or {})
    ws.set_column(0, 2 * _CHART_COLS - 1, _COL_W)
    ws.write_string(0, 0, "Customer lifetime value report", fmts.title)
    ws.write_string(1, 0, _settings_line(settings, summary), fmts.subtitle)

    customers = summary.get("customers", len(report.customers))
    total = summary.get("total_predicted_clv", np.nan)
    avg = total / customers if customers else np.nan
    horizon = getattr(settings, "horizon_months", None)
    horizon_note = f"next {horizon:g} months, discounted" if horizon is not None else ""
    _kpi(ws, 0, "Customers", customers, fmts.tile_count, fmts, "in the data")
    _kpi(ws, 4, "Total predicted CLV", total, fmts.tile_money, fmts, horizon_note)
    _kpi(ws, 8, "Avg predicted CLV", avg, fmts.tile_money2, fmts, "per customer")
    issues = summary.get("issues", len(report.issues) if report.issues is not None else 0)
    _kpi(ws, 12, "Data issues", issues, fmts.tile_count, fmts, "rows rejected or corrected")

    top = summary.get("top_segment")
    text = str(getattr(report, "holdout_text", "") or "")
    line = " ".join(t for t in (f"Top segment: {top}." if top else "", text) if t)
    if line:
        ws.merge_range(8, 0, 9, 2 * _CHART_COLS - 1, "", fmts.note)
        ws.write_string(8, 0, line, fmts.note)

    # Every chart reads only cells of this sheet: its data sits right of the print area
    # (column T on), in small tables under "Chart data". So the Dashboard is self-contained and
    # copying it into another workbook (the Excel button) brings no links to other files along.
    data_col = 2 * _CHART_COLS + 3
    ws.write_string(0, data_col, "Chart data", fmts.heading)
    ws.write_string(1, data_col, "The charts read these tables (not printed).", fmts.subtitle)
    widths: dict[int, float] = {}
    next_row = 3

    def block(heading: str, df: pd.DataFrame, name: str, **options: Any) -> tuple[int, int]:
        """Write ``df`` as table ``name`` under ``heading``; returns its first and last data
        rows (0-based)."""
        nonlocal next_row
        ws.write_string(next_row, data_col, heading, fmts.heading)
        last, _ = write_table(ws, next_row + 1, data_col, df, name, fmts, widths=widths, **options)
        first = next_row + 2
        next_row = last + 3
        return first, last

    def cells(first: int, last: int, col: int) -> list[Any]:
        """A column of the data area (``col`` counts from its first column)."""
        return [ws.name, first, data_col + col, last, data_col + col]

    charts: list[Any] = []
    currency = getattr(settings, "currency", "USD")

    def money_axis() -> dict[str, Any]:
        return {"num_format": fmts_money_code(currency), "min": 0, "major_gridlines": _grid()}

    segments: dict[str, pd.DataFrame] = dict(getattr(report, "segments", {}) or {})
    charted = [
        (str(dim), df)
        for dim, df in segments.items()
        if len(df) and "Predicted CLV" in [_header_text(h) for h in df.columns]
    ][:2]
    for k, (dim, df) in enumerate(charted, start=1):
        value_col = [_header_text(h) for h in df.columns].index("Predicted CLV")
        title = f"Predicted CLV by {dim}"
        first, last = block(title, df.iloc[:, [0, value_col]], TABLE_NAMES[f"chart_segments_{k}"])
        chart = _chart(workbook, "bar")
        chart.add_series(
            {
                "name": "Predicted CLV",
                "categories": cells(first, last, 0),
                "values": cells(first, last, 1),
                "fill": {"color": _BLUE},
                "data_labels": {"value": True, "num_format": fmts_money_code(currency)}
                if len(df) <= 12
                else {},
            }
        )
        chart.set_title({"name": title})
        chart.set_legend({"none": True})
        chart.set_x_axis(money_axis())
        chart.set_y_axis({"reverse": True, "crossing": "max"})  # first row at the top
        charts.append(chart)
    cohorts = report.cohorts
    cohort_headers = [_header_text(h) for h in cohorts.columns]
    if not charted and "Predicted CLV" in cohort_headers and len(cohorts):
        title = "Predicted CLV by acquisition cohort"
        sub = cohorts.iloc[:, [0, cohort_headers.index("Predicted CLV")]]
        first, last = block(title, sub, TABLE_NAMES["chart_cohorts"])
        chart = _chart(workbook, "column")
        chart.add_series(
            {
                "name": "Predicted CLV",
                "categories": cells(first, last, 0),
                "values": cells(first, last, 1),
                "fill": {"color": _BLUE},
            }
        )
        chart.set_title({"name": title})
        chart.set_legend({"none": True})
        chart.set_y_axis(money_axis())
        charts.append(chart)

    # concentration (Lorenz) curve with the diagonal
    conc = getattr(report, "concentration", None)
    if conc is not None and len(conc):
        first, last = block("Concentration", conc, TABLE_NAMES["concentration"])
        diag = len(conc.columns) + 1
        ws.write_string(first - 1, data_col + diag, "Diagonal x", fmts.text)
        ws.write_string(first - 1, data_col + diag + 1, "Diagonal y", fmts.text)
        for i, v in enumerate((0.0, 1.0)):
            ws.write_number(first + i, data_col + diag, v, fmts.pct)
            ws.write_number(first + i, data_col + diag + 1, v, fmts.pct)
        chart = _chart(workbook, "scatter", "straight")
        chart.add_series(
            {
                "name": "Customers, best first",
                "categories": cells(first, last, 0),
                "values": cells(first, last, 1),
                "line": {"color": _BLUE, "width": 2.25},
            }
        )
        chart.add_series(
            {
                "name": "Equal shares",
                "categories": cells(first, first + 1, diag),
                "values": cells(first, first + 1, diag + 1),
                "line": {"color": _GREY, "dash_type": "dash", "width": 1.25},
            }
        )
        chart.set_title({"name": "Concentration of predicted CLV"})
        axis = {"min": 0, "max": 1, "major_unit": 0.2, "num_format": "0%"}
        chart.set_x_axis({**axis, "name": "Share of customers"})
        chart.set_y_axis({**axis, "name": "Share of predicted CLV", "major_gridlines": _grid()})
        chart.set_legend({"position": "bottom"})
        charts.append(chart)

    palive = getattr(report, "palive_distribution", None)
    if palive is not None and len(palive):
        first, last = block(
            "P(alive) distribution",
            palive,
            TABLE_NAMES["palive"],
            formats={_header_text(palive.columns[0]): fmts.text},
        )
        chart = _chart(workbook, "column")
        chart.add_series(
            {
                "name": "Customers",
                "categories": cells(first, last, 0),
                "values": cells(first, last, 1),
                "fill": {"color": _BLUE},
                "gap": 30,
            }
        )
        chart.set_title({"name": "How likely are customers still active? P(alive)"})
        chart.set_legend({"none": True})
        chart.set_x_axis({"name": "P(alive)", "num_font": {"rotation": -45}})
        chart.set_y_axis({"name": "Customers", "num_format": "#,##0", "major_gridlines": _grid()})
        charts.append(chart)

    curves = _cohort_curves(report)
    if curves is not None:
        names = [_header_text(c) for c in curves.columns]
        shown = [j for j, h in enumerate(names) if h != "Month"][:12]  # at most 12 lines
        month = [names.index("Month")] if "Month" in names else []
        sub = curves.iloc[:, month + shown]
        money = {_header_text(c): fmts.money for c in sub.columns if str(c) != "Month"}
        money["Month"] = fmts.count
        first, last = block(
            "Cumulative revenue per customer by cohort",
            sub,
            TABLE_NAMES["chart_curves"],
            formats=money,
        )
        chart = _chart(workbook, "line")
        palette = ["#1F3864", "#2E75B6", "#9DC3E6", "#ED7D31", "#F4B183", "#70AD47", "#A9D18E"]
        palette += ["#7030A0", "#BF9000", "#C00000", "#595959", "#00B0F0"]
        for k in range(len(shown)):
            col = len(month) + k
            series = {
                "name": [ws.name, first - 1, data_col + col],
                "values": cells(first, last, col),
                "line": {"color": palette[k % len(palette)], "width": 1.75},
            }
            if month:
                series["categories"] = cells(first, last, 0)
            chart.add_series(series)
        chart.set_title({"name": "Cumulative revenue per customer by cohort"})
        chart.set_x_axis({"name": "Months since first purchase", "interval_unit": 3})
        chart.set_y_axis({"num_format": fmts_money_code(currency), "major_gridlines": _grid()})
        chart.set_legend({"position": "right"})
        charts.append(chart)

    top_row = 11
    for k, chart in enumerate(charts):
        r = top_row + (k // 2) * (_CHART_ROWS + 1)
        c = (k % 2) * _CHART_COLS
        ws.insert_chart(r, c, chart, {"x_offset": 4, "y_offset": 2, "object_position": 2})
    rows_used = top_row + ((len(charts) + 1) // 2) * (_CHART_ROWS + 1)
    _apply_widths(ws, {c: max(w, 12) for c, w in widths.items()})
    _page_setup(ws, one_page=True)
    ws.print_area(0, 0, max(rows_used, 12), 2 * _CHART_COLS - 1)
    ws.hide_gridlines(2)


def _grid() -> dict[str, Any]:
    return {"visible": True, "line": {"color": "#E7E6E6"}}


def fmts_money_code(currency: str) -> str:
    """The whole-unit currency number format used on chart axes."""
    cur = str(currency or "USD").strip().upper()
    symbol = _CURRENCY_SYMBOLS.get(cur)
    if symbol is not None:
        return f'"{symbol}"#,##0'
    safe = re.sub(r'["\\]', "", cur)
    return f'#,##0 "{safe}"'


def _settings_line(settings: Any, summary: dict[str, Any]) -> str:
    parts: list[str] = []
    model = str(getattr(settings, "model", "BGNBD")).upper()
    parts.append({"BGNBD": "BG/NBD", "PNBD": "Pareto/NBD"}.get(model, model) + " + Gamma-Gamma")
    gm = getattr(settings, "gross_margin", None)
    if isinstance(gm, int | float):
        parts.append(f"gross margin {gm:.0%}")
    rate = getattr(settings, "annual_discount_rate", None)
    if isinstance(rate, int | float):
        parts.append(f"{rate:.0%} annual discount rate")
    horizon = getattr(settings, "horizon_months", None)
    if horizon is not None:
        parts.append(f"{horizon:g}-month horizon")
    unit = getattr(settings, "time_unit", None)
    if unit:
        parts.append(f"time unit {unit}")
    end = getattr(settings, "observation_end", None) or summary.get("observation_end")
    if end is not None:
        parts.append(f"data to {pd.Timestamp(end).date().isoformat()}")
    return "Settings: " + " · ".join(parts)


def _iter_sheets(workbook: Workbook) -> Iterable[Worksheet]:
    return workbook.worksheets()
