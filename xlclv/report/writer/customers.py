"""The Customers sheet: one row per customer."""

from __future__ import annotations

from typing import Any

from xlsxwriter.worksheet import Worksheet

from xlclv.report.writer.cells import Formats, apply_widths, page_setup
from xlclv.report.writer.tables import TABLE_NAMES, write_table


def write_customers(ws: Worksheet, report: Any, fmts: Formats) -> None:
    widths: dict[int, float] = {}
    df = report.customers
    # churn risk is a probability, shown as a percentage like P(alive)
    pct = {h: fmts.pct for h in map(str, df.columns) if h.startswith("P(no purchase")}
    write_table(
        ws, 0, 0, df, TABLE_NAMES["customers"], fmts, widths=widths, formats=pct, allow_bulk=True
    )
    apply_widths(ws, widths)
    ws.freeze_panes(1, 1)
    page_setup(ws)
    ws.repeat_rows(0)
