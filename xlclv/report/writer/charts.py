"""Native Excel charts for the Dashboard: one builder per chart, each reading ranges of the
Dashboard's own "Chart data" tables (``cats``/``vals`` are XlsxWriter ``[sheet, r1, c1, r2,
c2]`` lists)."""

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
    "grid",
    "new_chart",
    "palive_histogram",
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
