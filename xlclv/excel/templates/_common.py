"""What every template builder shares: creation date, document properties, formats, helpers."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from xlclv.report.writer import write_table

#: Creation date written into every template, so builds are reproducible.
CREATED = dt.datetime(2026, 1, 1, 0, 0, 0)

_TITLE = {"bold": True, "font_size": 16, "font_color": "#1F3864"}
_HEAD = {"bold": True, "font_size": 12, "font_color": "#1F3864", "bottom": 1}
_GRID = {"visible": True, "line": {"color": "#E7E6E6"}}
_INPUT = {"bg_color": "#FFF2CC", "border": 1, "border_color": "#BF9000"}


def _properties(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "author": "xlclv",
        "company": "xlclv",
        "comments": "Built by xlclv.excel.templates; regenerate with python -m xlclv.excel.templates",
        "created": CREATED,
    }


class _TemplateFormats:
    """The cell formats of a template, created in a fixed order (the order is in the file)."""

    def __init__(self, wb: Any) -> None:
        from xlclv.report.writer import Formats

        self.writer = Formats(wb, "USD")
        self.title = wb.add_format(_TITLE)
        self.head = wb.add_format(_HEAD)
        self.bold = wb.add_format({"bold": True, "valign": "top"})
        self.text = wb.add_format({"text_wrap": True, "valign": "top"})
        self.key = wb.add_format({"bold": True, "font_name": "Consolas", "valign": "top"})
        self.header = wb.add_format(
            {"bold": True, "bg_color": "#1F3864", "font_color": "#FFFFFF", "border": 1}
        )
        self.input = wb.add_format({**_INPUT, "valign": "top"})
        self.input_pct = wb.add_format({**_INPUT, "num_format": "0.0%"})
        self.input_date = wb.add_format({**_INPUT, "num_format": "yyyy-mm-dd"})
        self.note = wb.add_format({"text_wrap": True, "valign": "top", "font_color": "#595959"})
        self.hint = wb.add_format({"italic": True, "font_color": "#595959"})
        self.wrap_header = wb.add_format(
            {"bold": True, "text_wrap": True, "valign": "bottom", "align": "center"}
        )
        #: a note right of a right-aligned value ("30.0%Share of revenue" without the indent)
        self.side_note = wb.add_format(
            {
                "text_wrap": True,
                "valign": "top",
                "font_color": "#595959",
                "indent": 1,
                "align": "left",
            }
        )
        #: the header of a number column: right-aligned over its right-aligned numbers
        self.header_right = wb.add_format(
            {"bold": True, "bg_color": "#1F3864", "font_color": "#FFFFFF", "border": 1}
            | {"align": "right"}
        )


def _wrapped_height(text: str, chars_per_line: int) -> float:
    """Row height (points) for wrapped text: XlsxWriter cannot autofit, so estimate it."""
    return 15.0 * max(1, math.ceil(len(text) / chars_per_line))


def _notes_sheet(
    ws: Any, fmt: _TemplateFormats, title: str, notes: list[tuple[str, str]], key_width: float
) -> None:
    """A README sheet: a title, then one (topic, wrapped text) row per note from row 3."""
    ws.set_column(0, 0, key_width)
    ws.set_column(1, 1, 100)
    ws.write_string(0, 0, title, fmt.title)
    for i, (k, v) in enumerate(notes, start=2):
        ws.write_string(i, 0, k, fmt.bold)
        ws.write_string(i, 1, v, fmt.text)
        ws.set_row(i, _wrapped_height(v, 105))
    ws.hide_gridlines(2)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)


def _input_table(ws: Any, fmt: _TemplateFormats, df: pd.DataFrame, name: str, wfmt: Any) -> None:
    """An input sheet: the frame as an Excel Table from A1, dates as dates, text as text."""
    df = df.reset_index(drop=True)
    formats = {str(col): _column_format(df, col, wfmt) for col in df.columns}
    widths: dict[int, float] = {}
    write_table(ws, 0, 0, df, name, wfmt, widths=widths, formats=formats)
    for c, w in widths.items():
        ws.set_column(c, c, max(w, 12))


def _column_format(df: pd.DataFrame, col: Any, wfmt: Any) -> Any:
    """The format of one input column; converts ``df[col]`` in place to floats or dates."""
    s = df[col]
    if (
        s.dtype == object
        and len(s)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in s.dropna())
    ):
        s = df[col] = s.astype("float64")
    if pd.api.types.is_datetime64_any_dtype(s.dtype) or _looks_like_dates(s):
        df[col] = pd.to_datetime(s)
        return wfmt.date
    if pd.api.types.is_float_dtype(s.dtype) and str(col).lower() in ("amount", "spend"):
        return wfmt.num2
    if pd.api.types.is_numeric_dtype(s.dtype):
        return wfmt.add(num_format="General")
    return wfmt.text


def _looks_like_dates(s: pd.Series) -> bool:
    head = s.dropna().head(20).tolist()
    return bool(head) and all(isinstance(v, dt.date | pd.Timestamp) for v in head)
