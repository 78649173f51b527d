"""The Dashboard: KPI tiles, a headline line, and native charts.

Every chart reads only cells of this sheet: its data sits right of the print area (column T
on), in small tables under "Chart data". So the Dashboard is self-contained, and copying it
into another workbook (the Excel button) brings no links to other files along.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xlclv.report.writer import charts
from xlclv.report.writer.cells import (
    Formats,
    apply_widths,
    fmts_money_code,
    header_text,
    is_missing,
    page_setup,
)
from xlclv.report.writer.cohorts import cohort_curves_frame
from xlclv.report.writer.tables import TABLE_NAMES, write_table

__all__ = ["write_dashboard"]

_COL_W = 10.71  # characters; about 80 px, so 8 columns hold a chart
_CHART_COLS = 8
_CHART_ROWS = 16
_TOP_ROW = 11  # first row of the chart grid


class ChartData:
    """The "Chart data" area right of the print area: tables stacked under headings."""

    def __init__(self, ws: Worksheet, fmts: Formats) -> None:
        self.ws, self.fmts = ws, fmts
        self.col = 2 * _CHART_COLS + 3
        self.next_row = 3
        self.widths: dict[int, float] = {}
        ws.write_string(0, self.col, "Chart data", fmts.heading)
        ws.write_string(1, self.col, "The charts read these tables (not printed).", fmts.subtitle)

    def block(self, heading: str, df: pd.DataFrame, name: str, **options: Any) -> tuple[int, int]:
        """Write ``df`` as table ``name`` under ``heading``; its first and last data rows."""
        ws, row = self.ws, self.next_row
        ws.write_string(row, self.col, heading, self.fmts.heading)
        last, _ = write_table(
            ws, row + 1, self.col, df, name, self.fmts, widths=self.widths, **options
        )
        self.next_row = last + 3
        return row + 2, last

    def cells(self, first: int, last: int, col: int) -> list[Any]:
        """A column of the data area (``col`` counts from its first column)."""
        return [self.ws.name, first, self.col + col, last, self.col + col]


def write_dashboard(workbook: Workbook, ws: Worksheet, report: Any, fmts: Formats) -> None:
    """The whole Dashboard sheet."""
    summary = dict(getattr(report, "summary", {}) or {})
    ws.set_column(0, 2 * _CHART_COLS - 1, _COL_W)
    ws.write_string(0, 0, "Customer lifetime value report", fmts.title)
    ws.write_string(1, 0, _settings_line(report.settings, summary), fmts.subtitle)
    _banner(ws, summary, fmts)
    _kpis(ws, report, summary, fmts)
    _headline(ws, report, summary, fmts)
    _read_this(ws, summary, fmts)
    data = ChartData(ws, fmts)
    money = fmts_money_code(getattr(report.settings, "currency", "USD"))
    made = _segment_charts(workbook, data, report, money) or _cohort_chart(
        workbook, data, report, money
    )
    made += _concentration_chart(workbook, data, report)
    made += _palive_chart(workbook, data, report)
    made += _curves_chart(workbook, data, report, money)
    _place(ws, made)
    apply_widths(ws, {c: max(w, 12) for c, w in data.widths.items()})
    page_setup(ws, one_page=True)
    rows_used = _TOP_ROW + ((len(made) + 1) // 2) * (_CHART_ROWS + 1)
    ws.print_area(0, 0, max(rows_used, 12), 2 * _CHART_COLS - 1)
    ws.hide_gridlines(2)


def _kpis(ws: Worksheet, report: Any, summary: dict[str, Any], fmts: Formats) -> None:
    customers = summary.get("customers", len(report.customers))
    total = summary.get("total_predicted_clv", np.nan)
    avg = total / customers if customers else np.nan
    horizon = getattr(report.settings, "horizon_months", None)
    horizon_note = f"next {horizon:g} months, discounted" if horizon is not None else ""
    if summary.get("total_clv_range"):  # P10-P90 from parameter uncertainty (Model sheet)
        lo, hi = summary["total_clv_range"]
        horizon_note += f"; P10-P90 {lo:,.0f} to {hi:,.0f}"
    issues = summary.get("issues", len(report.issues) if report.issues is not None else 0)
    _kpi(ws, 0, "Customers", customers, fmts.tile_count, fmts, "in the data")
    if summary.get("margin_note"):  # no margin given: the value is revenue, say so loudly
        _kpi(ws, 4, "Total predicted CLV = REVENUE", total, fmts.tile_money, fmts)
        _kpi(ws, 8, "Avg predicted CLV = REVENUE", avg, fmts.tile_money2, fmts)
        for col in (4, 8):
            ws.merge_range(6, col, 6, col + 3, "", fmts.caution_small)
            ws.write_string(6, col, "at 100% margin: revenue, NOT profit", fmts.caution_small)
    else:
        _kpi(ws, 4, "Total predicted CLV", total, fmts.tile_money, fmts, horizon_note)
        _kpi(ws, 8, "Avg predicted CLV", avg, fmts.tile_money2, fmts, "per customer")
    _kpi(ws, 12, "Data issues", issues, fmts.tile_count, fmts, "rows rejected or corrected")


def _kpi(
    ws: Worksheet, col: int, label: str, value: float, fmt: Any, fmts: Formats, note: str = ""
) -> None:
    ws.merge_range(3, col, 3, col + 3, label, fmts.tile_label)
    ws.merge_range(4, col, 5, col + 3, "", fmt)
    if is_missing(value):
        ws.write_string(4, col, "–", fmt)
    else:
        ws.write_number(4, col, float(value), fmt)
    if note:
        ws.merge_range(6, col, 6, col + 3, "", fmts.subtitle)
        ws.write_string(6, col, note, fmts.subtitle)


def _banner(ws: Worksheet, summary: dict[str, Any], fmts: Formats) -> None:
    """A red banner above the tiles when the report was written with warnings (rows not used
    beyond max_rejected_share, a model that did not converge)."""
    warnings = [str(w) for w in summary.get("warnings") or []]
    if not warnings:
        return
    text = "WARNING: " + "  ".join(warnings)
    lines = sum(1 + len(w) // 150 for w in warnings) + 1
    ws.set_row(2, 15 * max(lines, 2))
    ws.merge_range(2, 0, 2, 2 * _CHART_COLS - 1, "", fmts.banner)
    ws.write_string(2, 0, text, fmts.banner)


def _read_this(ws: Worksheet, summary: dict[str, Any], fmts: Formats) -> None:
    """The notes a reader must not miss: no margin (revenue, not profit), and why BG/NBD
    shows one-time buyers as certainly alive."""
    notes = [str(n) for n in (summary.get("margin_note"), summary.get("one_time_note")) if n]
    if not notes:
        return
    text = "  ".join(notes)
    ws.set_row(10, 15 * (2 + len(text) // 160))
    ws.merge_range(10, 0, 10, 2 * _CHART_COLS - 1, "", fmts.caution)
    ws.write_string(10, 0, text, fmts.caution)


def _headline(ws: Worksheet, report: Any, summary: dict[str, Any], fmts: Formats) -> None:
    top = summary.get("top_segment")
    text = str(getattr(report, "holdout_text", "") or "")
    palive = str(summary.get("palive_note", "") or "")
    line = " ".join(t for t in (f"Top segment: {top}." if top else "", text, palive) if t)
    if line:
        # two rows, tall enough for the text (about 190 characters a line across A:P)
        height = 15 * max(1, -(-len(line) // 190))
        ws.set_row(8, height / 2 + 1)
        ws.set_row(9, height / 2 + 1)
        ws.merge_range(8, 0, 9, 2 * _CHART_COLS - 1, "", fmts.note)
        ws.write_string(8, 0, line, fmts.note)


def _segment_charts(workbook: Workbook, data: ChartData, report: Any, money: str) -> list[Any]:
    """Predicted CLV by segment, for the first two dimensions."""
    segments: dict[str, pd.DataFrame] = dict(getattr(report, "segments", {}) or {})
    charted = [
        (str(dim), df)
        for dim, df in segments.items()
        if len(df) and "Predicted CLV" in [header_text(h) for h in df.columns]
    ][:2]
    made = []
    for k, (dim, df) in enumerate(charted, start=1):
        value_col = [header_text(h) for h in df.columns].index("Predicted CLV")
        title = f"Predicted CLV by {dim}"
        sub = df.iloc[:, [0, value_col]]
        first, last = data.block(title, sub, TABLE_NAMES[f"chart_segments_{k}"])
        cats, vals = data.cells(first, last, 0), data.cells(first, last, 1)
        # The title holds user text (the column name): XlsxWriter would parse a text such as
        # "... Promo!A1" as a cell reference, so the chart takes its title from the heading
        # cell above the table instead, always literal.
        title_cell = [data.ws.name, first - 2, data.col]
        made.append(charts.bar_by_segment(workbook, title_cell, cats, vals, money, len(df) <= 12))
    return made


def _cohort_chart(workbook: Workbook, data: ChartData, report: Any, money: str) -> list[Any]:
    """Predicted CLV by acquisition cohort (when there is no segment to chart)."""
    cohorts = report.cohorts
    headers = [header_text(h) for h in cohorts.columns]
    if "Predicted CLV" not in headers or not len(cohorts):
        return []
    title = "Predicted CLV by acquisition cohort"
    sub = cohorts.iloc[:, [0, headers.index("Predicted CLV")]]
    first, last = data.block(title, sub, TABLE_NAMES["chart_cohorts"])
    cats, vals = data.cells(first, last, 0), data.cells(first, last, 1)
    return [charts.column_by_cohort(workbook, title, cats, vals, money)]


def _concentration_chart(workbook: Workbook, data: ChartData, report: Any) -> list[Any]:
    """The concentration (Lorenz) curve with the diagonal."""
    conc = getattr(report, "concentration", None)
    if conc is None or not len(conc):
        return []
    first, last = data.block("Concentration", conc, TABLE_NAMES["concentration"])
    diag = len(conc.columns) + 1
    ws, fmts = data.ws, data.fmts
    ws.write_string(first - 1, data.col + diag, "Diagonal x", fmts.text)
    ws.write_string(first - 1, data.col + diag + 1, "Diagonal y", fmts.text)
    for i, v in enumerate((0.0, 1.0)):
        ws.write_number(first + i, data.col + diag, v, fmts.pct)
        ws.write_number(first + i, data.col + diag + 1, v, fmts.pct)
    return [
        charts.concentration(
            workbook,
            data.cells(first, last, 0),
            data.cells(first, last, 1),
            data.cells(first, first + 1, diag),
            data.cells(first, first + 1, diag + 1),
        )
    ]


def _palive_chart(workbook: Workbook, data: ChartData, report: Any) -> list[Any]:
    palive = getattr(report, "palive_distribution", None)
    if palive is None or not len(palive):
        return []
    first, last = data.block(
        "P(alive) distribution",
        palive,
        TABLE_NAMES["palive"],
        formats={header_text(palive.columns[0]): data.fmts.text},
    )
    cats, vals = data.cells(first, last, 0), data.cells(first, last, 1)
    return [charts.palive_histogram(workbook, cats, vals)]


def _curves_chart(workbook: Workbook, data: ChartData, report: Any, money: str) -> list[Any]:
    """Cumulative revenue per customer by cohort, at most 12 lines."""
    curves = cohort_curves_frame(report)
    if curves is None:
        return []
    names = [header_text(c) for c in curves.columns]
    shown = [j for j, h in enumerate(names) if h != "Month"][:12]
    month = [names.index("Month")] if "Month" in names else []
    sub = curves.iloc[:, month + shown]
    formats = {header_text(c): data.fmts.money for c in sub.columns if str(c) != "Month"}
    formats["Month"] = data.fmts.count
    title = "Cumulative revenue per customer by cohort"
    first, last = data.block(title, sub, TABLE_NAMES["chart_curves"], formats=formats)
    series = []
    for k in range(len(shown)):
        col = len(month) + k
        line = {
            "name": [data.ws.name, first - 1, data.col + col],
            "values": data.cells(first, last, col),
        }
        if month:
            line["categories"] = data.cells(first, last, 0)
        series.append(line)
    return [charts.cohort_lines(workbook, series, money)]


def _place(ws: Worksheet, made: list[Any]) -> None:
    """Two charts a row, under the KPI tiles."""
    for k, chart in enumerate(made):
        r = _TOP_ROW + (k // 2) * (_CHART_ROWS + 1)
        c = (k % 2) * _CHART_COLS
        ws.insert_chart(r, c, chart, {"x_offset": 4, "y_offset": 2, "object_position": 2})


def _settings_line(settings: Any, summary: dict[str, Any]) -> str:
    parts: list[str] = []
    model = str(getattr(settings, "model", "BGNBD")).upper()
    model = summary.get("model") or {"BGNBD": "BG/NBD", "PNBD": "Pareto/NBD"}.get(model, model)
    parts.append(f"{model} + Gamma-Gamma")  # the purchase model used (chosen under AUTO)
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
