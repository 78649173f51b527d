"""The Cohorts sheet: CLV by acquisition cohort and cumulative revenue curves."""

from __future__ import annotations

from typing import Any

import pandas as pd
from xlsxwriter.worksheet import Worksheet

from xlclv.report.writer.cells import Formats, apply_widths, header_text, page_setup
from xlclv.report.writer.tables import TABLE_NAMES, write_table


def write_cohorts(ws: Worksheet, report: Any, fmts: Formats) -> None:
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
    curves = cohort_curves_frame(report)
    row = last_row + 3
    if curves is not None:
        ws.write_string(
            row, 0, "Cumulative net revenue per customer, by months since acquisition", fmts.heading
        )
        money = {header_text(c): fmts.money for c in curves.columns if str(c) != "Month"}
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
    apply_widths(ws, widths)
    ws.freeze_panes(4, 1)
    page_setup(ws)


def cohort_curves_frame(report: Any) -> pd.DataFrame | None:
    """The cohort curves with ``Month`` as a column, or None when there are none."""
    curves = getattr(report, "cohort_curves", None)
    if curves is None or not len(curves.columns):
        return None
    return curves.reset_index() if "Month" not in map(str, curves.columns) else curves
