"""The Data issues sheet: every rejected or caveated input row."""

from __future__ import annotations

from typing import Any

import pandas as pd
from xlsxwriter.worksheet import Worksheet

from xlclv.report.writer.cells import Formats, apply_widths, page_setup
from xlclv.report.writer.customers import indent_headers
from xlclv.report.writer.tables import TABLE_NAMES, write_table


def write_issues(ws: Worksheet, report: Any, fmts: Formats) -> None:
    issues = report.issues
    if issues is None or not len(issues.columns):
        issues = pd.DataFrame(columns=["Sheet", "Row", "Column", "Value", "Problem"])
    widths: dict[int, float] = {}
    column = fmts.add(indent=1)  # right of the right-aligned row numbers ("5date")
    write_table(
        ws,
        0,
        0,
        issues,
        TABLE_NAMES["issues"],
        fmts,
        widths=widths,
        formats={"Value": fmts.text, "Row": fmts.row_number, "Column": column},
        allow_bulk=True,
    )
    indent_headers(ws, 0, issues, {"Column": column})
    widths = {c: min(w, 70) for c, w in widths.items()}
    apply_widths(ws, widths)
    if issues.empty:
        # not wrapped: the sentence runs on over the empty cells to its right
        ws.write_string(0, 6, "No data issues: every input row was used.", fmts.subtitle)
    note = (getattr(report, "summary", None) or {}).get("issues_note")
    if note:  # only the first rows are listed (xlclv.report.bigdata)
        ws.write_string(0, 6, str(note), fmts.note)
    ws.freeze_panes(1, 0)
    page_setup(ws)
    ws.repeat_rows(0)
