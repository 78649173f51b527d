"""The Model sheet: the model choice, parameters, holdout check with the model-vs-actual
tracking charts, fit details and the settings used. The charts read only this sheet: their data
are the tables at its foot ("Chart data")."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, is_dataclass
from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.worksheet import Worksheet

from xlclv.report.writer import charts
from xlclv.report.writer.cells import Formats, apply_widths, header_text, page_setup
from xlclv.report.writer.customers import indent_headers
from xlclv.report.writer.tables import TABLE_NAMES, write_table

#: Rows a chart takes (CHART_H px at 20 px a row, plus a gap).
_CHART_ROWS = 17
#: How the holdout error and the choice rule read on the sheet.
CHOICE_RULE = (
    "Holdout error: customers are grouped by their repeat purchases before the holdout (0, 1, "
    "..., 7+); for each group the model's average prediction for the holdout is compared with "
    "what the group actually bought, and the differences are averaged over customers (repeat "
    "purchases per customer; lower is better). Rule: the lowest holdout error wins; when "
    "models are within 5 % of the lowest, the lowest AIC (2 x parameters - 2 x "
    "log-likelihood, on all the data) decides."
)


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
        "holdout_weeks": "Holdout (weeks)",
        "churn_horizon_days": "Churn risk horizon (days)",
        "periods": "Opportunities (BG/BB)",
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
                "holdout_weeks": "last 25 % of the period",
                "periods": "continuous time",
            }.get(key, "")
        if key in ("gross_margin", "annual_discount_rate") and isinstance(value, int | float):
            value = f"{value:.1%}"
        elif isinstance(value, dt.date):
            value = value.isoformat()[:10]
        elif isinstance(value, float) and value.is_integer():
            value = int(value)  # "12", not "12.0"
        rows.append({"Setting": labels.get(key, key), "Key": key, "Value": str(value)})
    return pd.DataFrame(rows, columns=["Setting", "Key", "Value"])


def write_model(ws: Worksheet, report: Any, fmts: Formats) -> None:
    ws.write_string(0, 0, "Model", fmts.title)
    widths: dict[int, float] = {}
    row = _choice(ws, 2, report, fmts, widths)
    ws.write_string(row, 0, "Fitted parameters", fmts.heading)
    last, _ = write_table(
        ws, row + 1, 0, report.model_params, TABLE_NAMES["model_params"], fmts, widths=widths
    )
    row = _holdout(ws, last + 3, report, fmts, widths)
    chart_row = row
    tracking = _frame(getattr(report, "tracking", None))
    conditional = _frame(getattr(report, "conditional", None))
    has_charts = len(tracking) > 0 or len(conditional) > 0
    if has_charts:
        ws.write_string(row, 0, "Model against actual", fmts.heading)
        n_charts = (2 if len(tracking) else 0) + (1 if len(conditional) else 0)
        row += 1 + (n_charts + 1) // 2 * _CHART_ROWS + 1
        ws.set_h_pagebreaks([chart_row, row])  # the charts on a printed page of their own
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
    _fit_numbers(ws, row + 2, report.model_fit, fmts)
    row = last + 3
    ws.write_string(row, 0, "Settings used", fmts.heading)
    last, _ = write_table(
        ws,
        row + 1,
        0,
        _settings_rows(report.settings),
        TABLE_NAMES["settings"],
        fmts,
        widths=widths,
        formats={"Value": fmts.text},
    )
    made = _chart_data(ws, last + 3, report, tracking, conditional, fmts, widths)
    for k, chart in enumerate(made):  # two a row
        x = 4 + (k % 2) * (charts.CHART_W + 16)
        ws.insert_chart(
            chart_row + 1 + k // 2 * _CHART_ROWS, 0, chart, {"x_offset": x, "y_offset": 4}
        )
    for col in widths:
        widths[col] = max(widths[col], 16)
    widths[0] = max(widths.get(0, 0), 24)
    apply_widths(ws, widths)
    page_setup(ws)


def fit_value_format(item: str, value: float) -> str:
    """How a number of the Fit table reads: "money", "pct", "count" or "num2"."""
    low = item.lower()
    if "log-likelihood" in low:
        return "num2"
    if "rate" in low or "share" in low:
        return "pct"
    if low in ("gross sales", "returns", "revenue") or "clv" in low or "spend" in low:
        return "money"
    if float(value).is_integer():
        return "count"
    return "num2"


def _fit_numbers(ws: Worksheet, first: int, table: pd.DataFrame, fmts: Formats) -> None:
    """Rewrite the numbers of the Fit table's Value column (written as text-format cells) as
    numbers in a readable format: money as money, rates as %, counts as whole numbers.
    Left-aligned, like the text around them."""
    if not isinstance(table, pd.DataFrame) or table.shape[1] < 2:
        return
    codes = {
        "money": fmts.money.num_format,
        "pct": fmts.pct.num_format,
        "count": fmts.count.num_format,
        "num2": fmts.num2.num_format,
    }
    made: dict[str, Any] = {}
    for i, (item, value) in enumerate(zip(table.iloc[:, 0], table.iloc[:, 1], strict=True)):
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
            continue
        if not math.isfinite(float(value)):
            continue
        kind = fit_value_format(str(item), float(value))
        if kind not in made:
            made[kind] = fmts.add(num_format=codes[kind], align="left")
        ws.write_number(first + i, 1, float(value), made[kind])


def _frame(df: Any) -> pd.DataFrame:
    return df if isinstance(df, pd.DataFrame) else pd.DataFrame()


def _note(ws: Worksheet, row: int, text: str, fmts: Formats, *, lines: int = 2, last_col: int = 5):
    """A grey note merged over ``lines`` rows; returns the next free row."""
    ws.merge_range(row, 0, row + lines - 1, last_col, "", fmts.note)
    ws.write_string(row, 0, text, fmts.note)
    return row + lines


def _choice(ws: Worksheet, row: int, report: Any, fmts: Formats, widths) -> int:
    """How the purchase model was chosen: the sentence and (model = AUTO) the comparison."""
    reason = str(getattr(report, "model_choice", "") or "")
    table = getattr(report, "model_comparison", None)
    if not reason and table is None:
        return row
    ws.write_string(row, 0, "Model choice", fmts.heading)
    row += 1
    if reason:
        row = _note(ws, row, reason, fmts) + 1
    if isinstance(table, pd.DataFrame):
        formats = {
            "Log-likelihood": fmts.num2,
            "Parameters": fmts.count,
            "AIC": fmts.num2,
            "Holdout error": fmts.num4,
            "Chosen": fmts.add(indent=1),  # right of the numbers ("0.0711yes" without it)
        }
        last, _ = write_table(
            ws, row, 0, table, TABLE_NAMES["model_comparison"], fmts, widths=widths,
            formats=formats,
        )  # fmt: skip
        indent_headers(ws, row, table, {"Chosen": formats["Chosen"]})
        row = _note(ws, last + 2, CHOICE_RULE, fmts, lines=4) + 1
    return row + 1


def _holdout(ws: Worksheet, row: int, report: Any, fmts: Formats, widths) -> int:
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
    row = last + 2
    for text in (getattr(report, "holdout_text", ""), getattr(report, "holdout_accuracy", "")):
        if text:
            row = _note(ws, row, str(text), fmts, lines=3, last_col=max(last_col, 5))
    return row + 2


def _chart_data(ws, row, report, tracking, conditional, fmts, widths) -> list[Any]:
    """The charts' data tables at the foot of the sheet, and the charts reading them."""
    wb = fmts.wb
    name = ws.name
    made: list[Any] = []
    ws.write_string(row, 0, "Chart data", fmts.heading)
    row += 1
    ws.write_string(
        row, 0, "Repeat purchases per week, actual and predicted (the two tracking charts)",
        fmts.subtitle,
    )  # fmt: skip
    num = {
        "Week": fmts.num2,
        "Actual": fmts.count,
        "Predicted": fmts.num2,
        "Actual (cumulative)": fmts.count,
        "Predicted (cumulative)": fmts.num2,
        "Period": fmts.add(indent=1),  # right of the dates ("2024-01-03Calibration")
    }
    first = row + 2
    last, _ = write_table(
        ws, row + 1, 0, tracking, TABLE_NAMES["tracking"], fmts, widths=widths, formats=num
    )
    indent_headers(ws, row + 1, tracking, {"Period": num["Period"]})
    row = last + 3
    split = float(getattr(report, "tracking_split_week", math.nan))
    if len(tracking):
        cols = {h: j for j, h in enumerate(map(header_text, tracking.columns))}

        def col(h: str) -> list:
            return [name, first, cols[h], last, cols[h]]

        x_max = float(math.ceil(tracking["Week"].max()))
        top_cum = float(tracking[["Actual (cumulative)", "Predicted (cumulative)"]].max().max())
        top_week = float(tracking[["Actual", "Predicted"]].max().max())
        marker = pd.DataFrame(
            {
                "Week": [split, split],
                "Cumulative": [0.0, top_cum * 1.05],
                "Weekly": [0.0, top_week * 1.05],
            }
        )
        ws.write_string(row, 0, "Holdout start (the dashed vertical line)", fmts.subtitle)
        m_last, _ = write_table(
            ws, row + 1, 0, marker, TABLE_NAMES["tracking_split"], fmts, widths=widths,
            formats={"Week": fmts.num2, "Cumulative": fmts.num2, "Weekly": fmts.num2},
        )  # fmt: skip
        m_first = row + 2
        row = m_last + 3

        def mcol(j: int) -> list:
            return [name, m_first, j, m_last, j]

        made.append(
            charts.tracking_lines(
                wb, "Cumulative repeat purchases: actual and predicted", col("Week"),
                col("Actual (cumulative)"), col("Predicted (cumulative)"), mcol(0), mcol(1),
                y_name="Cumulative repeat purchases", x_max=x_max,
            )
        )  # fmt: skip
        made.append(
            charts.tracking_lines(
                wb, "Repeat purchases per week: actual and predicted", col("Week"),
                col("Actual"), col("Predicted"), mcol(0), mcol(2),
                y_name="Repeat purchases per week", x_max=x_max,
            )
        )  # fmt: skip
    ws.write_string(
        row, 0, "Average holdout purchases by purchases before the holdout (the column chart)",
        fmts.subtitle,
    )  # fmt: skip
    first = row + 2
    last, _ = write_table(
        ws, row + 1, 0, conditional, TABLE_NAMES["conditional"], fmts, widths=widths,
        formats={"Purchases in calibration": fmts.text, "Customers": fmts.count,
                 "Actual (average)": fmts.num2, "Predicted (average)": fmts.num2},
    )  # fmt: skip
    if len(conditional):
        made.append(
            charts.conditional_columns(
                wb, [name, first, 0, last, 0], [name, first, 2, last, 2],
                [name, first, 3, last, 3],
            )
        )  # fmt: skip
    return made
