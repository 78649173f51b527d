"""``nps_survey.xlsx``: responses in; NPS overall, by segment and by month with intervals."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xlclv.excel.templates._common import (
    _GRID,
    _input_table,
    _notes_sheet,
    _properties,
    _TemplateFormats,
)
from xlclv.report.writer import close_workbook, new_workbook

NPS_SEGMENTS = ("Enterprise", "Mid-market", "Self-serve")
#: The Excel Table of answers on the Responses sheet; every formula reads its columns by name.
RESPONSES_TABLE = "tblResponses"


def nps_sample(seed: int = 11) -> pd.DataFrame:
    """The deterministic survey behind ``nps_survey.xlsx``: 720 answers over 2025.

    Columns customer_id, date, score (0-10), segment; score distributions differ by segment
    (Enterprise the happiest) and improve slowly over the year. ``numpy.random.default_rng``.
    """
    rng = np.random.default_rng(seed)
    n = 720
    seg = rng.choice(NPS_SEGMENTS, n, p=[0.25, 0.35, 0.40])
    day = np.sort(rng.integers(0, 365, n))
    date = pd.Timestamp("2025-01-01") + pd.to_timedelta(day, unit="D")
    base = {"Enterprise": 8.2, "Mid-market": 7.4, "Self-serve": 6.6}
    mean = np.array([base[s] for s in seg]) + day / 365 * 0.6
    score = np.clip(np.rint(rng.normal(mean, 1.9)), 0, 10).astype(int)
    ids = [f"S{k:05d}" for k in rng.permutation(n) + 1]
    return pd.DataFrame({"customer_id": ids, "date": date, "score": score, "segment": seg})


def _nps_stats(scores: Any, z: float) -> tuple[int, int, int, int, float, float, float, float]:
    s = np.asarray(scores, dtype=float)
    n = s.size
    p = int((s >= 9).sum())
    d = int((s <= 6).sum())
    pas = n - p - d
    pp, pd_ = p / n, d / n
    score = 100 * (pp - pd_)
    se = math.sqrt(max(pp + pd_ - (pp - pd_) ** 2, 0.0) / n)
    return (
        n,
        p,
        pas,
        d,
        score,
        se,
        max(-100.0, score - 100 * z * se),
        min(100.0, score + 100 * z * se),
    )


_CONFIDENCE = 0.95


def build_nps_survey(path: str | os.PathLike[str]) -> Path:
    """Build ``nps_survey.xlsx``: NPS overall, by segment and by month, native formulas."""
    from statistics import NormalDist

    from xlclv import metrics

    target = Path(path)
    df = nps_sample()
    z = NormalDist().inv_cdf(0.5 + _CONFIDENCE / 2)

    wb = new_workbook(target)
    wb.set_properties(_properties("NPS survey template"))
    fmt = _TemplateFormats(wb)
    readme = wb.add_worksheet("README")
    resp = wb.add_worksheet("Responses")
    out = wb.add_worksheet("NPS")
    title = "Net Promoter Score with confidence intervals"
    _notes_sheet(readme, fmt, title, _README_NOTES, 18)
    _input_table(resp, fmt, df, RESPONSES_TABLE, fmt.writer)
    resp.freeze_panes(1, 0)
    sheet = _NpsSheet(wb, out, fmt, z)
    sheet.top(_CONFIDENCE)
    m_first, m_last, end = sheet.blocks(df)
    udf = wb.add_format({"italic": True, "font_color": "#2E75B6", "num_format": "0.0"})
    out.write_string(end + 2, 0, "Check with xlclv: =NPS(scores)", fmt.bold)
    out.write_formula(end + 2, 5, f"=NPS({sheet.rng_score})", udf, float(metrics.nps(df["score"])))
    out.set_column(0, 0, 16)
    out.set_column(1, 8, 11)
    out.insert_chart(4, 10, _nps_chart(wb, m_first, m_last))
    out.set_landscape()
    out.fit_to_pages(1, 0)
    readme.activate()
    close_workbook(wb)
    return target


_README_NOTES = [
    (
        "Responses",
        "Paste your survey answers into the table: customer_id, date, score (0-10) and "
        "segment. Keep the header row. Paste directly below the last row: the Excel Table "
        "(tblResponses) grows, and every formula reads its columns by name "
        "(tblResponses[score]), so new answers are counted.",
    ),
    (
        "NPS",
        "NPS = % promoters (9-10) - % detractors (0-6), from -100 to 100, overall, by "
        "segment and by month. All cells are Excel formulas (COUNTIFS), so they update as "
        "you paste. Add a row to the segment table for a new segment.",
    ),
    (
        "Interval",
        "Normal approximation: with shares pP and pD of n answers, the standard error of "
        "NPS/100 is SQRT((pP + pD - (pP - pD)^2) / n); the interval is NPS +/- z x 100 x SE "
        "(z = NORMSINV(0.5 + confidence / 2)), clipped to [-100, 100]. Wide intervals mean "
        "too few answers to compare groups.",
    ),
    (
        "Sample data",
        "720 simulated answers over 2025 (xlclv.excel.templates.nps_sample, fixed seed).",
    ),
]

_HEADS = ["Responses", "Promoters", "Passives", "Detractors", "NPS", "Std. error", "Low", "High"]
_FIRST_HEAD = {"Overall": "Group", "By segment": "Segment", "By month": "Month"}


@dataclass
class _NpsSheet:
    """The NPS sheet: confidence and z on top, then one block of rows per grouping."""

    wb: Any
    out: Any
    fmt: _TemplateFormats
    z: float

    def __post_init__(self) -> None:
        # structured references: they cover the whole table and grow with it
        self.rng_score = f"{RESPONSES_TABLE}[score]"
        self.rng_seg = f"{RESPONSES_TABLE}[segment]"
        self.rng_date = f"{RESPONSES_TABLE}[date]"
        self.nps_fmt = self.wb.add_format({"num_format": "0.0"})
        self.month_fmt = self.wb.add_format(
            {"num_format": "mmm yyyy", "bold": True, "align": "left"}
        )

    def top(self, confidence: float) -> None:
        out, fmt = self.out, self.fmt
        out.write_string(0, 0, "Net Promoter Score", fmt.title)
        out.write_string(1, 0, "Confidence level", fmt.bold)
        out.write_number(1, 1, confidence, fmt.input_pct)
        out.write_string(2, 0, "z", fmt.bold)
        out.write_formula(2, 1, "=NORMSINV(0.5+B2/2)", fmt.writer.num4, self.z)
        self.wb.define_name("confidence", "=NPS!$B$2")
        self.wb.define_name("z_value", "=NPS!$B$3")

    def blocks(self, df: pd.DataFrame) -> tuple[int, int, int]:
        """Overall, by segment, by month; returns the Excel rows of the first and last month
        and the 0-based last row written."""
        end = self.block(4, "Overall", ["All responses"], lambda x: "", [df["score"]])
        segs = list(NPS_SEGMENTS)
        by_seg = [df.loc[df["segment"] == s, "score"] for s in segs]
        end = self.block(end + 2, "By segment", segs, lambda x: f",{self.rng_seg},$A{x}", by_seg)
        months = pd.date_range("2025-01-01", periods=12, freq="MS")
        by_month = [
            df.loc[(df["date"] >= m) & (df["date"] < m + pd.DateOffset(months=1)), "score"]
            for m in months
        ]
        d = self.rng_date
        m_first = end + 5  # Excel row of the first month: heading end+2, header end+3 (0-based)
        end = self.block(
            end + 2,
            "By month",
            list(months),
            lambda x: f',{d},">="&$A{x},{d},"<"&EDATE($A{x},1)',
            by_month,
        )
        return m_first, end + 1, end

    def block(
        self, row: int, label: str, keys: list[Any], crit: Callable[..., str], subsets: list[Any]
    ) -> int:
        """A heading, a header row and one row per key; returns the 0-based last row."""
        out, fmt = self.out, self.fmt
        out.write_string(row, 0, label, fmt.head)
        hdr = row + 1
        out.write_string(hdr, 0, _FIRST_HEAD[label], fmt.header)
        for j, h in enumerate(_HEADS, start=1):
            out.write_string(hdr, j, h, fmt.header_right)
        for i, (key, sub) in enumerate(zip(keys, subsets, strict=True)):
            r = hdr + 1 + i
            if isinstance(key, pd.Timestamp):
                out.write_datetime(r, 0, key.to_pydatetime(), self.month_fmt)
            else:
                out.write_string(r, 0, str(key), fmt.bold)
            self.stats_row(r, crit(r + 1), sub)
        return hdr + len(keys)

    def stats_row(self, r: int, cond: str, scores: Any) -> None:
        """Counts, NPS, standard error and interval of one group, as COUNTIFS formulas."""
        out, w, x, rng = self.out, self.fmt.writer, r + 1, self.rng_score
        n, p, pas, d, score, se, lo, hi = _nps_stats(scores, self.z)
        out.write_formula(r, 1, f'=COUNTIFS({rng},">=0"{cond})', w.count, n)
        out.write_formula(r, 2, f'=COUNTIFS({rng},">=9"{cond})', w.count, p)
        out.write_formula(r, 3, f"=B{x}-C{x}-E{x}", w.count, pas)
        out.write_formula(r, 4, f'=COUNTIFS({rng},"<=6"{cond})', w.count, d)
        out.write_formula(r, 5, f'=IF(B{x}=0,"",100*(C{x}-E{x})/B{x})', self.nps_fmt, score)
        se_f = f'=IF(B{x}=0,"",SQRT(MAX(0,(C{x}+E{x})/B{x}-((C{x}-E{x})/B{x})^2)/B{x}))'
        out.write_formula(r, 6, se_f, w.num4, se)
        lo_f = f'=IF(B{x}=0,"",MAX(-100,F{x}-100*z_value*G{x}))'
        out.write_formula(r, 7, lo_f, self.nps_fmt, lo)
        hi_f = f'=IF(B{x}=0,"",MIN(100,F{x}+100*z_value*G{x}))'
        out.write_formula(r, 8, hi_f, self.nps_fmt, hi)


def _nps_chart(wb: Any, m_first: int, m_last: int) -> Any:
    """NPS by month with the interval's low and high as dashed lines."""
    chart = wb.add_chart({"type": "line"})
    for col, name, style in (
        (5, "NPS", {"color": "#2E75B6", "width": 2.5}),
        (7, "Low", {"color": "#9DC3E6", "width": 1.25, "dash_type": "dash"}),
        (8, "High", {"color": "#9DC3E6", "width": 1.25, "dash_type": "dash"}),
    ):
        chart.add_series(
            {
                "name": name,
                "categories": ["NPS", m_first - 1, 0, m_last - 1, 0],
                "values": ["NPS", m_first - 1, col, m_last - 1, col],
                "line": style,
                "marker": {"type": "circle", "size": 5} if name == "NPS" else {"type": "none"},
            }
        )
    chart.set_title({"name": f"NPS by month, with {_CONFIDENCE:.0%} interval"})
    chart.set_x_axis({"num_format": "mmm yy", "date_axis": True, "label_position": "low"})
    chart.set_y_axis({"name": "NPS", "major_gridlines": _GRID})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 620, "height": 320})
    return chart
