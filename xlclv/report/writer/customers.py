"""The Customers sheet: one row per customer."""

from __future__ import annotations

from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlclv.report.writer.cells import Formats, apply_widths, page_setup
from xlclv.report.writer.tables import TABLE_NAMES, write_table


def write_customers(ws: Worksheet, report: Any, fmts: Formats) -> None:
    widths: dict[int, float] = {}
    df = report.customers
    write_table(ws, 0, 0, df, TABLE_NAMES["customers"], fmts, widths=widths, allow_bulk=True)
    apply_widths(ws, widths)
    note = (getattr(report, "summary", None) or {}).get("customers_note")
    if note:  # the sheet holds only the top customers (xlclv.report.bigdata)
        ws.set_column(len(df.columns) + 1, len(df.columns) + 1, 60)
        ws.write_string(0, len(df.columns) + 1, str(note), fmts.note)
    ws.freeze_panes(1, 1)
    page_setup(ws)
    ws.repeat_rows(0)
