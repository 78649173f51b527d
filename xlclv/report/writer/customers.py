"""The Customers sheet: one row per customer."""

from __future__ import annotations

from typing import Any

import pandas as pd
from xlsxwriter.worksheet import Worksheet

from xlclv.report.writer.cells import Formats, apply_widths, header_text, page_setup
from xlclv.report.writer.tables import TABLE_NAMES, write_table


def write_customers(ws: Worksheet, report: Any, fmts: Formats) -> None:
    widths: dict[int, float] = {}
    df = report.customers
    # churn risk is a probability, shown as a percentage like P(alive)
    pct = {h: fmts.pct for h in map(str, df.columns) if h.startswith("P(no purchase")}
    indented = indented_text(df, fmts)
    write_table(
        ws,
        0,
        0,
        df,
        TABLE_NAMES["customers"],
        fmts,
        widths=widths,
        formats={**indented, **pct},
        allow_bulk=True,
    )
    indent_headers(ws, 0, df, indented)
    apply_widths(ws, widths)
    note = (getattr(report, "summary", None) or {}).get("customers_note")
    if note:  # the sheet holds only the top customers (xlclv.report.bigdata)
        ws.set_column(len(df.columns) + 1, len(df.columns) + 1, 60)
        ws.write_string(0, len(df.columns) + 1, str(note), fmts.note)
    ws.freeze_panes(1, 1)
    page_setup(ws)
    ws.repeat_rows(0)


def indent_headers(ws: Worksheet, row: int, df: pd.DataFrame, indented: dict[str, Any]) -> None:
    """Rewrite the headers of the indented columns with the indent ("Predicted CLVTier");
    the text stays the table's column name."""
    for j, h in enumerate(header_text(c) for c in df.columns):
        if h in indented:
            ws.write_string(row, j, h, indented[h])


def indented_text(df: pd.DataFrame, fmts: Formats) -> dict[str, Any]:
    """Text columns right of a number column, indented: a right-aligned amount otherwise runs
    straight into the next column's text ("$11.09Rest": Predicted CLV into Tier)."""
    indented = fmts.add(indent=1)
    out: dict[str, Any] = {}
    numeric = [
        pd.api.types.is_numeric_dtype(df[c].dtype) or pd.api.types.is_datetime64_any_dtype(df[c])
        for c in df.columns
    ]
    for j in range(1, len(df.columns)):
        col = df.columns[j]
        if numeric[j - 1] and not numeric[j] and not pd.api.types.is_bool_dtype(df[col].dtype):
            out[header_text(col)] = indented
    return out
