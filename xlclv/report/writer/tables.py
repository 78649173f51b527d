"""Excel Tables: stable names, typed cells, widths; big tables through the bulk path."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from xlsxwriter.worksheet import Worksheet

from xlclv.report.writer.bulk import BULK_ROWS, bulk_tables, pending_rows
from xlclv.report.writer.cells import (
    Formats,
    _column_writer,
    _display_width,
    _unique,
    col_letters,
    header_text,
    writable_frame,
    write_value,
)

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
    "model_comparison": "tblModelComparison",
    "tracking": "tblTracking",
    "tracking_split": "tblTrackingSplit",
    "conditional": "tblHoldoutByFrequency",
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


def write_table(
    ws: Worksheet,
    first_row: int,
    first_col: int,
    df: pd.DataFrame,
    name: str,
    fmts: Formats,
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
    df = writable_frame(df.reset_index(drop=True))
    headers = [header_text(h) for h in df.columns]
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
        pending = pending_rows(ws)
        pending.append((first_row + 2, first_col, deferred, name))
        ref = f"{col_letters(first_col)}{first_row + 1}:{col_letters(last_col)}{last_row + 1}"
        bulk_tables(ws)[name] = ref
    return last_row, last_col
