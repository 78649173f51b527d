"""The Segments sheet: one table per segment dimension, each with a Total line below it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.worksheet import Worksheet

from xlclv.report.writer.cells import Formats, apply_widths, header_text, page_setup
from xlclv.report.writer.tables import segment_table_name, write_table

#: NPS reads as a score from -100 to 100: one decimal is plenty.
NPS_FORMAT = "0.0"

#: Columns whose total is the sum of the segments.
_SUMMED = (
    "Customers",
    "Revenue",
    "Historical CLV",
    "Predicted CLV",
    "Share of predicted CLV",
    "NPS responses",
    "Marketing spend",
    "New customers",
)


def write_segments(ws: Worksheet, report: Any, fmts: Formats) -> None:
    """One table per dimension, stacked with a heading each, and a Total line under each."""
    ws.write_string(0, 0, "Segments", fmts.title)
    ws.write_string(
        1,
        0,
        "One table per segment dimension. A customer's segment is the value on their first "
        "purchase (the acquisition segment). Total: sums, and customer-weighted averages "
        "(NPS weighted by responses).",
        fmts.subtitle,
    )
    widths: dict[int, float] = {}
    taken: set[str] = set()
    row = 3
    nps_fmt = fmts.add(num_format=NPS_FORMAT)
    segments: dict[str, pd.DataFrame] = dict(getattr(report, "segments", {}) or {})
    if not segments:
        # not wrapped: the sentence runs on over the empty cells to its right
        ws.write_string(row, 0, "No segment columns in the data.", fmts.subtitle)
    for dim, df in segments.items():
        ws.write_string(row, 0, f"By {dim}", fmts.heading)
        table = segment_table_name(dim, taken)
        last_row, _ = write_table(
            ws, row + 1, 0, df, table, fmts, widths=widths, formats={"NPS": nps_fmt}
        )
        if len(df):
            _total_line(ws, last_row + 1, df, fmts)
        row = last_row + 4
    apply_widths(ws, widths)
    if widths:
        ws.set_column(0, 0, max(widths.get(0, 12), 16))
    page_setup(ws)


def segment_totals(df: pd.DataFrame) -> dict[str, float]:
    """The Total line of one segment table, by column: sums of counts, revenue, CLV and
    shares; averages weighted by customers (NPS by its responses); CAC = total spend / total
    new customers. Columns without a meaningful total are left out."""
    out: dict[str, float] = {}
    cols = {header_text(c): df[c] for c in df.columns[1:]}

    def num(h: str) -> np.ndarray:
        return pd.to_numeric(cols[h], errors="coerce").to_numpy(dtype=float)

    for h in cols:
        if h in _SUMMED:
            out[h] = float(np.nansum(num(h)))
    n = out.get("Customers", math.nan)
    if "Avg predicted CLV" in cols and "Predicted CLV" in out:
        out["Avg predicted CLV"] = out["Predicted CLV"] / n if n > 0 else math.nan
    if "Avg P(alive)" in cols and "Customers" in cols:
        out["Avg P(alive)"] = _weighted(num("Avg P(alive)"), num("Customers"))
    if "NPS" in cols and "NPS responses" in cols:
        out["NPS"] = _weighted(num("NPS"), num("NPS responses"))
    if "CAC" in cols and {"Marketing spend", "New customers"} <= set(cols):
        new = out["New customers"]
        out["CAC"] = out["Marketing spend"] / new if new > 0 else math.nan
        if "LTV:CAC" in cols and "Avg predicted CLV" in out:
            cac = out["CAC"]
            out["LTV:CAC"] = out["Avg predicted CLV"] / cac if cac > 0 else math.nan
    return out


def _weighted(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted average; a missing value (a segment without NPS answers) has weight 0."""
    weights = np.nan_to_num(weights)
    w = float(weights.sum())
    return float((np.nan_to_num(values) * weights).sum() / w) if w > 0 else math.nan


def _total_line(ws: Worksheet, r: int, df: pd.DataFrame, fmts: Formats) -> None:
    """The Total row ``r`` (0-based) under a segment table: values from
    :func:`segment_totals` (the report holds no formulas, so nothing in it can be injected)."""
    headers = [header_text(c) for c in df.columns]
    totals = segment_totals(df)
    cache = getattr(fmts, "_segment_totals", None)
    if cache is None:
        cache = {}
        fmts._segment_totals = cache  # type: ignore[attr-defined]
    ws.write_string(r, 0, "Total", _total_format(fmts, None, cache))
    for j, h in enumerate(headers[1:], start=1):
        value = totals.get(h, math.nan)
        code = NPS_FORMAT if h == "NPS" else fmts.for_column(h, df.iloc[:, j]).num_format
        fmt = _total_format(fmts, code, cache)
        if math.isfinite(value):
            ws.write_number(r, j, value, fmt)
        else:
            ws.write_blank(r, j, None, fmt)


def _total_format(fmts: Formats, code: Any, cache: dict[Any, Any]) -> Any:
    """Bold with a rule above, in the column's number format (one format per code)."""
    if code not in cache:
        cache[code] = fmts.add(bold=True, num_format=code or "General", top=1)
    return cache[code]
