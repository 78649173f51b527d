"""The Segments sheet: one table per segment dimension."""

from __future__ import annotations

from typing import Any

import pandas as pd
from xlsxwriter.worksheet import Worksheet

from xlclv.report.writer.cells import Formats, apply_widths, page_setup
from xlclv.report.writer.tables import segment_table_name, write_table


def write_segments(ws: Worksheet, report: Any, fmts: Formats) -> None:
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
    apply_widths(ws, widths)
    if widths:
        ws.set_column(0, 0, max(widths.get(0, 12), 16))
    page_setup(ws)
