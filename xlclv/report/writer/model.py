"""The Model sheet: parameters, fit, holdout check and the settings used."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, is_dataclass
from typing import Any

import pandas as pd
from xlsxwriter.worksheet import Worksheet

from xlclv.report.writer.cells import Formats, apply_widths, header_text, page_setup
from xlclv.report.writer.tables import TABLE_NAMES, write_table


def _settings_rows(settings: Any) -> pd.DataFrame:
    labels = {
        "gross_margin": "Gross margin",
        "annual_discount_rate": "Annual discount rate",
        "horizon_months": "Horizon (months)",
        "time_unit": "Time unit",
        "observation_end": "Observation end",
        "segment_by": "Segment by",
        "currency": "Currency",
        "model": "Model",
    }
    values = asdict(settings) if is_dataclass(settings) else dict(vars(settings))
    rows = []
    for key, value in values.items():
        if isinstance(value, list | tuple):
            value = ", ".join(map(str, value))
        if value is None:
            value = {
                "observation_end": "last date in the data",
                "segment_by": "all extra columns",
            }.get(key, "")
        if key in ("gross_margin", "annual_discount_rate") and isinstance(value, int | float):
            value = f"{value:.1%}"
        elif isinstance(value, dt.date):
            value = value.isoformat()[:10]
        rows.append({"Setting": labels.get(key, key), "Key": key, "Value": str(value)})
    return pd.DataFrame(rows, columns=["Setting", "Key", "Value"])


def write_model(ws: Worksheet, report: Any, fmts: Formats) -> None:
    ws.write_string(0, 0, "Model", fmts.title)
    widths: dict[int, float] = {}
    row = 2
    ws.write_string(row, 0, "Fitted parameters", fmts.heading)
    last, _ = write_table(
        ws, row + 1, 0, report.model_params, TABLE_NAMES["model_params"], fmts, widths=widths
    )
    row = last + 3
    ws.write_string(row, 0, "Fit", fmts.heading)
    last, _ = write_table(
        ws,
        row + 1,
        0,
        report.model_fit,
        TABLE_NAMES["model_fit"],
        fmts,
        widths=widths,
        formats={"Value": fmts.text},
    )
    row = last + 3
    ws.write_string(row, 0, "Holdout check", fmts.heading)
    holdout = getattr(report, "holdout", None)
    if holdout is None:
        holdout = pd.DataFrame(columns=["Measure", "Predicted", "Actual"])
    hold_formats = {
        h: fmts.num2 for h in map(header_text, holdout.columns) if h in ("Predicted", "Actual")
    }
    last, last_col = write_table(
        ws,
        row + 1,
        0,
        holdout,
        TABLE_NAMES["holdout"],
        fmts,
        widths=widths,
        formats=hold_formats,
    )
    text = str(getattr(report, "holdout_text", "") or "")
    row = last + 2
    if text:
        ws.merge_range(row, 0, row + 2, max(last_col, 5), "", fmts.note)
        ws.write_string(row, 0, text, fmts.note)
        row += 3
    row += 2
    ws.write_string(row, 0, "Settings used", fmts.heading)
    write_table(
        ws,
        row + 1,
        0,
        _settings_rows(report.settings),
        TABLE_NAMES["settings"],
        fmts,
        widths=widths,
        formats={"Value": fmts.text},
    )
    for col in widths:
        widths[col] = max(widths[col], 16)
    widths[0] = max(widths.get(0, 0), 24)
    apply_widths(ws, widths)
    page_setup(ws)
