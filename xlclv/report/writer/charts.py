"""Native Excel charts: one builder per chart. The Dashboard's read its own "Chart data" tables,
the Model sheet's (tracking, conditional expectation) the tables at the foot of the Model sheet
(``cats``/``vals`` are XlsxWriter ``[sheet, r1, c1, r2, c2]`` lists)."""

from __future__ import annotations

from typing import Any

from xlsxwriter.workbook import Workbook

__all__ = [
    "CHART_H",
    "CHART_W",
    "bar_by_segment",
    "cohort_lines",
    "column_by_cohort",
    "concentration",
    "conditional_columns",
    "grid",
    "new_chart",
    "palive_histogram",
    "tracking_lines",
]

CHART_W, CHART_H = 620, 300
BLUE, ORANGE, GREY = "#2E75B6", "#ED7D31", "#A5A5A5"
#: Line colours of the cohort curves (at most 12 lines are drawn).
PALETTE = [
    "#1F3864", "#2E75B6", "#9DC3E6", "#ED7D31", "#F4B183", "#70AD47",
    "#A9D18E", "#7030A0", "#BF9000", "#C00000", "#595959", "#00B0F0",
]  # fmt: skip


def new_chart(workbook: Workbook, kind: str, subtype: str | None = None) -> Any:
    opts = {"type": kind}
    if subtype:
        opts["subtype"] = subtype
    chart = workbook.add_chart(opts)
    chart.set_size({"width": CHART_W, "height": CHART_H})
    chart.set_chartarea({"border": {"color": "#BFBFBF"}})
    return chart


def grid() -> dict[str, Any]:
    return {"visible": True, "line": {"color": "#E7E6E6"}}


def bar_by_segment(workbook: Workbook, title, cats, vals, money: str, labels: bool) -> Any:
    """Horizontal bars of predicted CLV by segment, first row at the top.

    ``title`` is a ``[sheet, row, col]`` cell holding the title when it contains user text
    (a literal string would be parsed as a reference if it looked like ``Sheet!A1``).
    """
    chart = new_chart(workbook, "bar")
    chart.add_series(
        {
            "name": "Predicted CLV",
            "categories": cats,
            "values": vals,
            "fill": {"color": BLUE},
            "data_labels": {"value": True, "num_format": money} if labels else {},
        }
    )
    chart.set_title({"name": title})
    chart.set_legend({"none": True})
    chart.set_x_axis({"num_format": money, "min": 0, "major_gridlines": grid()})
    chart.set_y_axis({"reverse": True, "crossing": "max"})
    return chart


def column_by_cohort(workbook: Workbook, title: str, cats, vals, money: str) -> Any:
    chart = new_chart(workbook, "column")
    chart.add_series(
        {"name": "Predicted CLV", "categories": cats, "values": vals, "fill": {"color": BLUE}}
    )
    chart.set_title({"name": title})
    chart.set_legend({"none": True})
    chart.set_y_axis({"num_format": money, "min": 0, "major_gridlines": grid()})
    return chart


def concentration(workbook: Workbook, cats, vals, diag_x, diag_y) -> Any:
    """The Lorenz curve of predicted CLV with the equal-shares diagonal."""
    chart = new_chart(workbook, "scatter", "straight")
    chart.add_series(
        {
            "name": "Customers, best first",
            "categories": cats,
            "values": vals,
            "line": {"color": BLUE, "width": 2.25},
        }
    )
    chart.add_series(
        {
            "name": "Equal shares",
            "categories": diag_x,
            "values": diag_y,
            "line": {"color": GREY, "dash_type": "dash", "width": 1.25},
        }
    )
    chart.set_title({"name": "Concentration of predicted CLV"})
    axis = {"min": 0, "max": 1, "major_unit": 0.2, "num_format": "0%"}
    chart.set_x_axis({**axis, "name": "Share of customers"})
    chart.set_y_axis({**axis, "name": "Share of predicted CLV", "major_gridlines": grid()})
    chart.set_legend({"position": "bottom"})
    return chart


def palive_histogram(workbook: Workbook, cats, vals) -> Any:
    chart = new_chart(workbook, "column")
    chart.add_series(
        {
            "name": "Customers",
            "categories": cats,
            "values": vals,
            "fill": {"color": BLUE},
            "gap": 30,
        }
    )
    chart.set_title({"name": "How likely are customers still active? P(alive)"})
    chart.set_legend({"none": True})
    chart.set_x_axis({"name": "P(alive)", "num_font": {"rotation": -45}})
    chart.set_y_axis({"name": "Customers", "num_format": "#,##0", "major_gridlines": grid()})
    return chart


def cohort_lines(workbook: Workbook, series: list[dict[str, Any]], money: str) -> Any:
    """One line per cohort; ``series`` gives each line's name, values (and categories)."""
    chart = new_chart(workbook, "line")
    for k, s in enumerate(series):
        chart.add_series({**s, "line": {"color": PALETTE[k % len(PALETTE)], "width": 1.75}})
    chart.set_title({"name": "Cumulative revenue per customer by cohort"})
    chart.set_x_axis({"name": "Months since first purchase", "interval_unit": 3})
    chart.set_y_axis({"num_format": money, "major_gridlines": grid()})
    chart.set_legend({"position": "right"})
    return chart


def tracking_lines(
    workbook: Workbook,
    title: str,
    weeks,
    actual,
    predicted,
    split_x,
    split_y,
    *,
    y_name: str,
    y_format: str = "#,##0",
    x_max: float | None = None,
) -> Any:
    """Actual against predicted repeat purchases by week, with the holdout start as a
    vertical dashed line (a two-point series), in the style of Fader, Hardie & Lee (2005),
    fig. 2."""
    chart = new_chart(workbook, "scatter", "straight")
    chart.add_series(
        {"name": "Actual", "categories": weeks, "values": actual,
         "line": {"color": BLUE, "width": 2.0}}
    )  # fmt: skip
    chart.add_series(
        {"name": "Predicted", "categories": weeks,
         "values": predicted, "line": {"color": ORANGE, "width": 2.0, "dash_type": "dash"}}
    )  # fmt: skip
    chart.add_series(
        {"name": "Holdout starts", "categories": split_x, "values": split_y,
         "line": {"color": GREY, "width": 1.25, "dash_type": "square_dot"}}
    )  # fmt: skip
    chart.set_title({"name": title, "name_font": {"size": 12}})
    x_axis = {"name": "Weeks since the first purchase in the data", "min": 0}
    if x_max is not None:
        x_axis["max"] = x_max
    chart.set_x_axis(x_axis)
    chart.set_y_axis({"name": y_name, "min": 0, "num_format": y_format, "major_gridlines": grid()})
    chart.set_legend({"position": "bottom"})
    return chart


def conditional_columns(workbook: Workbook, cats, actual, predicted) -> Any:
    """Average holdout purchases by calibration purchases 0, 1, ..., 7+: actual against
    predicted (Fader, Hardie & Lee 2005, fig. 4)."""
    chart = new_chart(workbook, "column")
    chart.add_series(
        {"name": "Actual", "categories": cats, "values": actual, "fill": {"color": BLUE},
         "gap": 60}
    )  # fmt: skip
    chart.add_series(
        {"name": "Predicted", "categories": cats, "values": predicted,
         "fill": {"color": ORANGE}}
    )  # fmt: skip
    chart.set_title(
        {"name": "Holdout purchases by purchases before the holdout", "name_font": {"size": 12}}
    )
    chart.set_x_axis({"name": "Repeat purchases before the holdout (calibration)"})
    chart.set_y_axis(
        {"name": "Average in the holdout", "min": 0, "num_format": "0.0",
         "major_gridlines": grid()}
    )  # fmt: skip
    chart.set_legend({"position": "bottom"})
    return chart
