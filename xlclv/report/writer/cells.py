"""Typed cell writing and the shared cell formats: text is always written as text."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xlclv._errors import WorkbookError

EXCEL_EPOCH = np.datetime64("1899-12-30", "D")

#: Excel's limit on the text of one cell, in UTF-16 code units.
EXCEL_MAX_TEXT = 32767

# The escaping rule of every write path (XlsxWriter's, which Excel reads back exactly):
# literal "_xHHHH_" text gets its underscore escaped, control characters become _xHHHH_, and
# the non-characters U+FFFE/U+FFFF too. Lone surrogates cannot be written as UTF-8 at all:
# they become U+FFFD (the visible replacement character).
_ESCAPED_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL_CHARS = re.compile(r"([\x00-\x08\x0b-\x1f])")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def utf16_len(text: str) -> int:
    """Length of ``text`` as Excel counts it (UTF-16 code units)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def writable_text(text: str) -> str:
    """``text`` with lone surrogates (unencodable) replaced by U+FFFD; everything else kept."""
    return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text


def writable_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with :func:`writable_text` applied to the text of its object columns (only a
    column holding a lone surrogate is copied)."""
    out = df
    for j in range(df.shape[1]):
        s = df.iloc[:, j]
        if s.dtype != object:
            continue
        bad = s.map(lambda v: isinstance(v, str) and _SURROGATES.search(v) is not None)
        if bad.any():
            if out is df:
                out = df.copy()
            out.iloc[:, j] = s.map(lambda v: writable_text(v) if isinstance(v, str) else v)
    return out


def escape_cell_text(text: str) -> str:
    """The one escaping rule for cell text in the sheet XML (both write paths).

    The same as XlsxWriter's shared strings: ``_xHHHH_`` -> ``_x005F_xHHHH_``, control
    characters -> ``_xHHHH_``, U+FFFE/U+FFFF -> ``_xFFFE_``/``_xFFFF_``, lone surrogates ->
    U+FFFD, then ``&``, ``<``, ``>`` as XML entities.
    """
    text = _ESCAPED_ESCAPE.sub(r"_x005F\1", writable_text(text))
    text = _CONTROL_CHARS.sub(lambda m: f"_x{ord(m.group(1)):04X}_", text)
    text = text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_cell_texts(texts: pd.Series) -> pd.Series:
    """:func:`escape_cell_text` for a Series of str, vectorised."""
    t = texts.str.replace(_SURROGATES.pattern, "\ufffd", regex=True)
    t = t.str.replace(_ESCAPED_ESCAPE.pattern, r"_x005F\1", regex=True)
    if t.str.contains(r"[\x00-\x08\x0b-\x1f]", regex=True).any():
        t = t.str.replace(_CONTROL_CHARS.pattern, lambda m: f"_x{ord(m.group(1)):04X}_", regex=True)
    t = t.str.replace("\ufffe", "_xFFFE_", regex=False).str.replace(
        "\uffff", "_xFFFF_", regex=False
    )
    t = t.str.replace("&", "&amp;", regex=False)
    return t.str.replace("<", "&lt;", regex=False).str.replace(">", "&gt;", regex=False)


class TextTooLong(WorkbookError):
    """A text longer than Excel's cell limit reached the writer (the pipeline lists such
    values as data issues first, so this is a bug, never a silent cut)."""


def check_text_length(text: str, where: str = "") -> None:
    if len(text) > EXCEL_MAX_TEXT // 2 and utf16_len(text) > EXCEL_MAX_TEXT:
        raise TextTooLong(
            f"A text of {utf16_len(text):,} characters{where} is longer than Excel's cell "
            f"limit of {EXCEL_MAX_TEXT:,}; it was not cut silently"
        )


class SafeWorksheet(Worksheet):
    """A worksheet whose every string write follows the one rule: lone surrogates become
    U+FFFD (XlsxWriter then escapes as :func:`escape_cell_text` does), and text over Excel's
    limit stops the write instead of being cut (XlsxWriter truncates it silently)."""

    def _write_string(self, row, col, string, cell_format=None):  # type: ignore[override]
        string = writable_text(str(string))
        check_text_length(string, f" (sheet '{self.name}', row {row + 1})")
        return super()._write_string(row, col, string, cell_format)


CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹"}


_DATE_FMT = "yyyy-mm-dd"


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


class Formats:
    """The workbook's cell formats, created once and shared by every sheet."""

    def __init__(self, workbook: Workbook, currency: str) -> None:
        self.wb = workbook
        cur = str(currency or "USD").strip().upper()
        symbol = CURRENCY_SYMBOLS.get(cur)
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
        self.banner = self.add(
            bold=True,
            font_color="#FFFFFF",
            bg_color="#C00000",
            text_wrap=True,
            valign="vcenter",
            border=1,
            border_color="#7F0000",
        )
        self.caution = self.add(
            bold=True, font_color="#9C0006", bg_color="#FFEB9C", text_wrap=True, valign="top"
        )
        self.caution_small = self.add(
            italic=True, bold=True, font_color="#9C0006", align="center", shrink=True
        )
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


def is_missing(v: Any) -> bool:
    if v is None or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        return bool(pd.isna(v)) if not isinstance(v, str | bytes | list | tuple) else False
    except (TypeError, ValueError):
        return False


def write_value(ws: Worksheet, row: int, col: int, value: Any, fmt: Any, fmts: Formats) -> None:
    """Write one Python value with the matching typed call. Text is always ``write_string``."""
    if is_missing(value):
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
    ws: Worksheet, series: pd.Series, fmt: Any, fmts: Formats
) -> Callable[[int, int], None] | None:
    """A fast path for whole columns: (first_row, col) -> None, or None for the generic path."""
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        s = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) is not None else series
        days = (s.to_numpy(dtype="datetime64[ns]") - EXCEL_EPOCH.astype("datetime64[ns]")) / (
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


def _display_width(header: str, series: pd.Series, fmt: Any, fmts: Formats) -> float:
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
        sample = series.head(500).map(lambda v: "" if is_missing(v) else str(v))
        longest = sample.str.len().max() if len(sample) else 0
        width = max(width, int(longest if longest == longest else 0) + 2)
    return float(min(max(width, 9), 60))


def header_text(h: Any) -> str:
    text = "" if is_missing(h) else str(h)
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


def apply_widths(ws: Worksheet, widths: dict[int, float]) -> None:
    for col, w in sorted(widths.items()):
        ws.set_column(col, col, w)


def page_setup(ws: Worksheet, *, one_page: bool = False) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4; Letter users get it scaled by the driver
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.fit_to_pages(1, 1 if one_page else 0)


def fmts_money_code(currency: str) -> str:
    """The whole-unit currency number format used on chart axes."""
    cur = str(currency or "USD").strip().upper()
    symbol = CURRENCY_SYMBOLS.get(cur)
    if symbol is not None:
        return f'"{symbol}"#,##0'
    safe = re.sub(r'["\\]', "", cur)
    return f'#,##0 "{safe}"'


def col_letters(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
