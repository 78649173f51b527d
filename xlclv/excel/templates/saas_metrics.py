"""``saas_metrics.xlsx``: monthly SaaS inputs and formulas, and an sBG retention projection."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xlclv import metrics
from xlclv.excel.templates._common import (
    _GRID,
    _INPUT,
    _notes_sheet,
    _properties,
    _TemplateFormats,
)
from xlclv.report.writer import close_workbook, new_workbook

#: True parameters of the simulated monthly cohort on the Retention sheet (sBG; Fader & Hardie
#: 2007). Heterogeneous churn: the riskiest customers leave first, so retention rises with
#: tenure, and a constant-churn projection undervalues the survivors.
SAAS_COHORT_TRUE = {"alpha": 1.2, "beta": 4.0, "size": 1000, "months": 12}
SAAS_PROJECTION_MONTHS = 60


def saas_sample(seed: int = 7) -> dict[str, Any]:
    """The deterministic sample behind ``saas_metrics.xlsx``.

    ``monthly``: 24 months of customers at start, churned, new, MRR and CAC (simulated with
    ``numpy.random.default_rng(seed)``: churn around 4-6 % a month, 40-70 new customers, ARPU
    drifting up from about 110). ``cohort``: one acquisition cohort of 1,000 customers, the
    number still active at the start of months 0..12, drawn from a shifted-beta-geometric
    process with :data:`SAAS_COHORT_TRUE` parameters.
    """
    rng = np.random.default_rng(seed)
    months = pd.date_range("2024-01-01", periods=24, freq="MS")
    start, rows = 400, []
    arpu = 110.0
    for m in months:
        churned = int(rng.binomial(start, rng.uniform(0.035, 0.06)))
        new = int(rng.integers(40, 71))
        arpu *= 1 + rng.uniform(-0.005, 0.015)
        mrr = round(start * arpu, 2)
        cac = round(float(rng.uniform(850, 1150)), 2)
        rows.append((m, start, churned, new, mrr, cac))
        start = start - churned + new
    monthly = pd.DataFrame(
        rows, columns=["Month", "Customers at start", "Churned", "New customers", "MRR", "CAC"]
    )
    a, b = SAAS_COHORT_TRUE["alpha"], SAAS_COHORT_TRUE["beta"]
    theta = rng.beta(a, b, SAAS_COHORT_TRUE["size"])
    life = rng.geometric(theta)  # periods until churn, 1 = churned during month 1
    active = [int((life > t).sum()) for t in range(SAAS_COHORT_TRUE["months"] + 1)]
    return {"monthly": monthly, "cohort": active}


_MARGIN, _ANNUAL = 0.80, 0.10


def build_saas_metrics(path: str | os.PathLike[str]) -> Path:
    """Build ``saas_metrics.xlsx``: native SaaS formulas and an sBG retention projection."""
    target = Path(path)
    data = saas_sample()

    wb = new_workbook(target)
    wb.set_properties(_properties("SaaS metrics template"))
    fmt = _SaasFormats(wb)
    readme = wb.add_worksheet("README")
    ws = wb.add_worksheet("Monthly")
    rt = wb.add_worksheet("Retention")
    title = "SaaS metrics — churn, LTV and an sBG retention projection"
    _notes_sheet(readme, fmt, title, _README_NOTES, 22)
    arpu_last = _monthly_sheet(wb, ws, fmt, data["monthly"])
    _retention_sheet(wb, rt, fmt, _fit_cohort(data["cohort"], arpu_last))
    readme.activate()
    close_workbook(wb)
    return target


_README_NOTES = [
    (
        "Monthly",
        "Type your months over the yellow cells: customers at the start of the month, "
        "customers churned, new customers, MRR and CAC (acquisition cost per new customer). "
        "The white columns are Excel formulas: churn = churned / start, retention = "
        "(end - new) / start, lifetime = 1 / churn, ARPU = MRR / customers at start, "
        "LTV = ARPU x gross margin x lifetime, LTV:CAC, CAC payback = CAC / (ARPU x margin).",
    ),
    (
        "Retention",
        "One acquisition cohort: how many of its customers are still active at the start of "
        "each month. The shifted-beta-geometric (sBG) model is fitted to it by =SBG_FIT "
        "(alpha, beta; the sBG cells link to that result, so your cohort changes the "
        "projection; without the xlclv add-in they show an error and say so) and projects survival month by month with S(t) = S(t-1) x (beta + t - 1) / "
        "(alpha + beta + t - 1), next to the naive constant-churn projection (1 - c)^t.",
    ),
    (
        "Why heterogeneity",
        "Customers differ in how likely they are to churn. The risky ones leave early, so "
        "the survivors are increasingly loyal and the churn rate falls with tenure. A single "
        "churn rate (lifetime = 1 / churn) ignores that and understates long-run retention "
        "and lifetime value. Fader, P. S. and Hardie, B. G. S. (2007), 'How to project "
        "customer retention', Journal of Interactive Marketing 21(1), 76-90.",
    ),
    (
        "xlclv functions",
        "Cells in blue italics call xlclv Excel functions (=LIFETIME, =SBG_FIT, "
        "=SBG_LIFETIME). They need the xlwings add-in with xlclv; until Excel recalculates "
        "they show the values xlclv computed when the file was built.",
    ),
    (
        "Sample data",
        "Simulated with a fixed seed (xlclv.excel.templates.saas_sample): 24 months of a "
        "subscription business, and one cohort of 1,000 customers drawn from an sBG process "
        "with alpha = 1.2, beta = 4.",
    ),
]


class _SaasFormats(_TemplateFormats):
    """The shared formats, then money inputs and the blue italics of xlclv functions."""

    def __init__(self, wb: Any) -> None:
        super().__init__(wb)
        self.input_money = wb.add_format({**_INPUT, "num_format": "#,##0.00"})
        self.udf = wb.add_format({"italic": True, "font_color": "#2E75B6", "num_format": "0.00"})
        self.udf_money = wb.add_format(
            {"italic": True, "font_color": "#2E75B6", "num_format": "#,##0.00"}
        )
        self.warn = wb.add_format({"bold": True, "font_color": "#C00000"})


# ---------------------------------------------------------------------------------------------
# Monthly sheet: assumptions, the table of months, a last-12-months summary

_MONTHLY_HEADER_ROW = 4
_MONTHLY_COLUMNS = [
    "Month",
    "Customers at start",
    "Churned",
    "New customers",
    "MRR",
    "CAC",
    "Customers at end",
    "Churn",
    "Retention",
    "Lifetime (months)",
    "ARPU",
    "LTV",
    "LTV:CAC",
    "CAC payback (months)",
]


def _monthly_sheet(wb: Any, ws: Any, fmt: _SaasFormats, monthly: pd.DataFrame) -> float:
    """Fill the Monthly sheet; returns the last month's ARPU (for the Retention sheet)."""
    ws.write_string(0, 0, "Monthly SaaS metrics", fmt.title)
    ws.write_string(1, 0, "Gross margin", fmt.bold)
    ws.write_number(1, 1, _MARGIN, fmt.input_pct)
    ws.write_string(2, 0, "Annual discount rate", fmt.bold)
    ws.write_number(2, 1, _ANNUAL, fmt.input_pct)
    wb.define_name("gross_margin", "=Monthly!$B$2")
    wb.define_name("annual_discount_rate", "=Monthly!$B$3")
    ws.write_string(1, 2, "Share of revenue kept after direct costs.", fmt.hint)
    ws.write_string(2, 2, "Used for the discounted lifetimes on the Retention sheet.", fmt.hint)
    values = _monthly_values(monthly)
    last = _monthly_table(ws, fmt, monthly["Month"], values)
    arpu_last = _monthly_summary(wb, ws, fmt, values, last)
    ws.set_column(0, 0, 36)  # "Check with xlclv: =LIFETIME(churn)" in bold
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    return arpu_last


def _monthly_values(monthly: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every column of the Monthly table as xlclv computes it (the formulas' cached values)."""
    start = monthly["Customers at start"].to_numpy(float)
    lost = monthly["Churned"].to_numpy(float)
    new = monthly["New customers"].to_numpy(float)
    mrr = monthly["MRR"].to_numpy(float)
    cac = monthly["CAC"].to_numpy(float)
    end = start - lost + new
    churn = metrics.churn_rate(start, lost)
    arpu = metrics.arpu(mrr, start)
    life = metrics.lifetime(churn)
    ltv = arpu * _MARGIN * life
    return {
        "start": start,
        "lost": lost,
        "new": new,
        "mrr": mrr,
        "cac": cac,
        "end": end,
        "churn": churn,
        "retention": metrics.retention_rate(start, end, new),
        "life": life,
        "arpu": arpu,
        "ltv": ltv,
        "ratio": metrics.ltv_cac(ltv, cac),
        "payback": metrics.cac_payback(cac, arpu, _MARGIN),
    }


def _monthly_table(ws: Any, fmt: _SaasFormats, month: pd.Series, v: dict[str, np.ndarray]) -> int:
    """The Excel Table ``tblMonthly``: yellow inputs, formula columns. Returns its last row."""
    w = fmt.writer
    first = _MONTHLY_HEADER_ROW + 1  # 0-based row of the first month
    for i in range(len(month)):
        r = first + i
        x = r + 1  # Excel row number
        ws.write_datetime(r, 0, month.iloc[i].to_pydatetime(), fmt.input_date)
        ws.write_number(r, 1, v["start"][i], fmt.input)
        ws.write_number(r, 2, v["lost"][i], fmt.input)
        ws.write_number(r, 3, v["new"][i], fmt.input)
        ws.write_number(r, 4, v["mrr"][i], fmt.input_money)
        ws.write_number(r, 5, v["cac"][i], fmt.input_money)
        ws.write_formula(r, 6, f"=B{x}-C{x}+D{x}", w.count, v["end"][i])
        ws.write_formula(r, 7, f"=C{x}/B{x}", w.pct, v["churn"][i])
        ws.write_formula(r, 8, f"=(G{x}-D{x})/B{x}", w.pct, v["retention"][i])
        ws.write_formula(r, 9, f"=1/H{x}", w.num2, v["life"][i])
        ws.write_formula(r, 10, f"=E{x}/B{x}", w.money, v["arpu"][i])
        ws.write_formula(r, 11, f"=K{x}*gross_margin*J{x}", w.money, v["ltv"][i])
        ws.write_formula(r, 12, f"=L{x}/F{x}", w.ratio, v["ratio"][i])
        ws.write_formula(r, 13, f"=F{x}/(K{x}*gross_margin)", w.num2, v["payback"][i])
    last = first + len(month) - 1
    columns = [{"header": c, "header_format": fmt.wrap_header} for c in _MONTHLY_COLUMNS]
    options = {"name": "tblMonthly", "columns": columns, "style": "Table Style Light 9"}
    ws.add_table(_MONTHLY_HEADER_ROW, 0, last, len(_MONTHLY_COLUMNS) - 1, options)
    ws.set_row(_MONTHLY_HEADER_ROW, 32)
    ws.set_column(1, 13, 12)
    ws.freeze_panes(_MONTHLY_HEADER_ROW + 1, 1)
    return last


def _monthly_summary(
    wb: Any, ws: Any, fmt: _SaasFormats, v: dict[str, np.ndarray], last: int
) -> float:
    """Last-12-months churn, lifetime, ARPU, LTV and LTV:CAC below the table."""
    w = fmt.writer
    s0 = last + 3
    f12, l12 = last - 11 + 1, last + 1  # Excel rows of the last 12 months
    c12 = float(v["lost"][-12:].sum() / v["start"][-12:].sum())
    arpu_last = float(v["arpu"][-1])
    cac12 = float(v["cac"][-12:].mean())
    ltv12 = arpu_last * _MARGIN / c12
    summary = [
        ("Churn, last 12 months", f"=SUM(C{f12}:C{l12})/SUM(B{f12}:B{l12})", c12, w.pct),
        ("Lifetime = 1 / churn (months)", f"=1/B{s0 + 2}", 1 / c12, w.num2),
        ("ARPU, last month", f"=K{l12}", arpu_last, w.money),
        ("LTV = ARPU x margin x lifetime", f"=B{s0 + 4}*gross_margin*B{s0 + 3}", ltv12, w.money),
        ("Average CAC, last 12 months", f"=AVERAGE(F{f12}:F{l12})", cac12, w.money),
        ("LTV:CAC", f"=B{s0 + 5}/B{s0 + 6}", ltv12 / cac12, w.ratio),
    ]
    ws.write_string(s0, 0, "Last 12 months", fmt.head)
    for k, (label, formula, value, f) in enumerate(summary, start=1):
        ws.write_string(s0 + k, 0, label, fmt.bold)
        ws.write_formula(s0 + k, 1, formula, f, value)
    k = len(summary) + 1
    ws.write_string(s0 + k, 0, "Check with xlclv: =LIFETIME(churn)", fmt.bold)
    ws.write_formula(s0 + k, 1, f"=LIFETIME(B{s0 + 2})", fmt.udf, float(metrics.lifetime(c12)))
    wb.define_name("churn_12m", f"=Monthly!$B${s0 + 2}")
    wb.define_name("arpu_last", f"=Monthly!$B${s0 + 4}")
    return arpu_last


# ---------------------------------------------------------------------------------------------
# Retention sheet: one cohort, its sBG fit, sBG and constant-churn projections, a chart

_HDR = 3  # 0-based header row of the cohort table
_T0 = _HDR + 1  # 0-based row of month 0; also the first row of the Model block (columns H:I)
_Q = _T0 + 3  # 0-based first row of the Lifetime block (columns H:I)
_P_LAST = _T0 + SAAS_PROJECTION_MONTHS + 1  # Excel row of the last projected month


@dataclass(frozen=True)
class _Cohort:
    """The cohort, its fitted sBG model and the numbers the Retention sheet caches."""

    active: list[int]
    model: Any
    alpha: float
    beta: float
    c_naive: float  # constant monthly churn: geometric mean over the observed months
    monthly_rate: float  # monthly discount rate from the annual one
    surv: np.ndarray  # sBG survival, months 0..SAAS_PROJECTION_MONTHS
    naive: np.ndarray  # constant-churn survival, same months
    arpu_last: float

    @property
    def n_obs(self) -> int:
        return len(self.active) - 1

    @property
    def obs_rows(self) -> tuple[int, int]:
        """Excel rows of months 0 and ``n_obs``."""
        return _T0 + 1, _T0 + self.n_obs + 1


def _fit_cohort(cohort: list[int], arpu_last: float) -> _Cohort:
    from xlclv.models import ShiftedBetaGeometricModel

    model = ShiftedBetaGeometricModel().fit(np.asarray(cohort, dtype=float))
    n_obs = len(cohort) - 1
    c_naive = 1 - (cohort[-1] / cohort[0]) ** (1 / n_obs)
    return _Cohort(
        active=cohort,
        model=model,
        alpha=float(model.params_["alpha"]),
        beta=float(model.params_["beta"]),
        c_naive=c_naive,
        monthly_rate=(1 + _ANNUAL) ** (1 / 12) - 1,
        surv=np.asarray(model.survival(SAAS_PROJECTION_MONTHS), dtype=float),
        naive=(1 - c_naive) ** np.arange(SAAS_PROJECTION_MONTHS + 1),
        arpu_last=arpu_last,
    )


def _retention_sheet(wb: Any, rt: Any, fmt: _SaasFormats, c: _Cohort) -> None:
    rt.write_string(0, 0, "Cohort retention: sBG projection vs constant churn", fmt.title)
    rt.write_string(
        1,
        0,
        "Yellow: one cohort's active customers at the start of each month (month 0 = cohort "
        "size). The sBG model is fitted to them; both curves are projected 60 months.",
        fmt.hint,
    )
    heads = ["Month", "Active customers", "Observed survival", "sBG survival", "Constant churn"]
    for j, h in enumerate(heads):
        rt.write_string(_HDR, j, h, fmt.header_right)
    _model_block(wb, rt, fmt, c, _fit_row(c))
    _survival_rows(rt, fmt, c)
    fr = _lifetime_block(wb, rt, fmt, c)
    assert fr == _fit_row(c), "the sBG cells must point at the =SBG_FIT spill"
    rt.set_column(0, 0, 8)
    rt.set_column(1, 4, 16)
    rt.set_column(5, 6, 3)
    rt.set_column(7, 7, 58)
    rt.set_column(8, 8, 14)
    rt.freeze_panes(_HDR + 1, 0)
    rt.insert_chart(fr + 8, 7, _retention_chart(wb, c.n_obs))
    _base_value_block(rt, fmt, c, fr + 26)
    rt.set_landscape()
    rt.fit_to_pages(1, 0)


def _fit_row(c: _Cohort) -> int:
    """0-based first row of the =SBG_FIT spill (its header row; alpha and beta follow)."""
    return _Q + len(_lifetime_rows(c)) + 4


#: Shown (row 3) when the sBG cells are errors, i.e. =SBG_FIT could not run.
SBG_NEEDS_ADDIN = (
    "sBG alpha and beta come from =SBG_FIT (column I, below), which needs the xlclv add-in: "
    "install it (see README) and recalculate. The constant-churn column works without it."
)


def _model_block(wb: Any, rt: Any, fmt: _SaasFormats, c: _Cohort, fit_row: int) -> None:
    """sBG alpha and beta (columns H:I): links to the =SBG_FIT result, so the projection follows
    the cohort in column B. Cached values: xlclv's fit of the sample cohort."""
    pr = _T0
    rt.write_string(pr - 1, 7, "Model", fmt.head)
    rt.write_string(pr - 1, 8, "", fmt.head)
    labels = [
        ("sBG alpha (from =SBG_FIT below)", c.alpha),
        ("sBG beta (from =SBG_FIT below)", c.beta),
    ]
    for k, (label, value) in enumerate(labels):
        rt.write_string(pr + k, 7, label, fmt.bold)
        rt.write_formula(pr + k, 8, f"=I{fit_row + 2 + k}", fmt.writer.num4, value)
    wb.define_name("sbg_alpha", f"=Retention!$I${pr + 1}")
    wb.define_name("sbg_beta", f"=Retention!$I${pr + 2}")
    check = f'=IF(OR(ISERROR(sbg_alpha),ISERROR(sbg_beta)),"{SBG_NEEDS_ADDIN}","")'
    rt.write_formula(2, 0, check, fmt.warn, "")


def _survival_rows(rt: Any, fmt: _SaasFormats, c: _Cohort) -> None:
    """Months 0..60: observed actives and survival, sBG recursion, constant churn."""
    w = fmt.writer
    obs_first = c.obs_rows[0]
    for t in range(SAAS_PROJECTION_MONTHS + 1):
        r = _T0 + t
        x = r + 1
        rt.write_number(r, 0, t, w.count)
        if t <= c.n_obs:
            rt.write_number(r, 1, c.active[t], fmt.input)
            rt.write_formula(r, 2, f"=B{x}/B${obs_first}", w.pct, c.active[t] / c.active[0])
        if t == 0:
            rt.write_number(r, 3, 1.0, w.pct)
        else:
            sbg = f"=D{x - 1}*(sbg_beta+A{x}-1)/(sbg_alpha+sbg_beta+A{x}-1)"
            rt.write_formula(r, 3, sbg, w.pct, float(c.surv[t]))
        rt.write_formula(r, 4, f"=(1-naive_churn)^A{x}", w.pct, float(c.naive[t]))


def _lifetime_rows(c: _Cohort) -> list[tuple[str, str, float | str, Any]]:
    """(label, formula, cached value, format name) of the Lifetime block, from row ``_Q``."""
    q, (obs_first, obs_last) = _Q, c.obs_rows
    sbg_life = (c.alpha + c.beta - 1) / (c.alpha - 1) if c.alpha > 1 else float("inf")
    naive_disc = float(metrics.lifetime_discounted(c.c_naive, c.monthly_rate))
    months = SAAS_PROJECTION_MONTHS
    return [
        (
            "Constant churn c (geometric mean)",
            f"=1-(B{obs_last}/B{obs_first})^(1/{c.n_obs})",
            c.c_naive,
            "pct",
        ),
        ("Monthly discount rate", "=(1+annual_discount_rate)^(1/12)-1", c.monthly_rate, "pct"),
        ("Lifetime, constant churn: 1 / c", f"=1/I{q + 1}", 1 / c.c_naive, "num2"),
        (
            "Lifetime, sBG: (alpha + beta - 1) / (alpha - 1)",
            '=IF(sbg_alpha>1,(sbg_alpha+sbg_beta-1)/(sbg_alpha-1),"infinite")',
            sbg_life if math.isfinite(sbg_life) else "infinite",
            "num2",
        ),
        (
            f"Months alive in the next {months}, constant churn",
            f"=SUM(E{_T0 + 1}:E{_P_LAST})",
            float(c.naive.sum()),
            "num2",
        ),
        (
            f"Months alive in the next {months}, sBG",
            f"=SUM(D{_T0 + 1}:D{_P_LAST})",
            float(c.surv.sum()),
            "num2",
        ),
        (
            "Discounted lifetime, constant churn: (1 + d) / (d + c)",
            f"=(1+I{q + 2})/(I{q + 2}+I{q + 1})",
            naive_disc,
            "num2",
        ),
        (
            "LTV, constant churn (ARPU x margin x discounted lifetime)",
            f"=arpu_last*gross_margin*I{q + 7}",
            c.arpu_last * _MARGIN * naive_disc,
            "money",
        ),
    ]


def _lifetime_block(wb: Any, rt: Any, fmt: _SaasFormats, c: _Cohort) -> int:
    """Lifetimes under both models, then the xlclv-function block; returns the =SBG_FIT row."""
    q = _Q
    rows = _lifetime_rows(c)
    rt.write_string(q - 1, 7, "Lifetime (months)", fmt.head)
    rt.write_string(q - 1, 8, "", fmt.head)
    for k, (label, formula, value, f) in enumerate(rows):
        rt.write_string(q + k, 7, label, fmt.bold)
        cached = value if isinstance(value, str) else float(value)
        rt.write_formula(q + k, 8, formula, getattr(fmt.writer, f), cached)
    wb.define_name("naive_churn", f"=Retention!$I${q + 1}")
    return _xlclv_functions_block(rt, fmt, c, q + len(rows) + 1)


def _xlclv_functions_block(rt: Any, fmt: _SaasFormats, c: _Cohort, u: int) -> int:
    """=SBG_LIFETIME and =SBG_FIT from row ``u`` (need the add-in); returns the =SBG_FIT row."""
    udf, q = fmt.udf, _Q
    sbg_disc = float(c.model.discounted_expected_lifetime(c.monthly_rate))
    rt.write_string(u - 1, 7, "xlclv functions (need Excel + xlwings)", fmt.head)
    rt.write_string(u - 1, 8, "", fmt.head)
    rt.write_string(u, 7, "Discounted lifetime, sBG: =SBG_LIFETIME(alpha, beta, d)", fmt.bold)
    rt.write_formula(u, 8, f"=SBG_LIFETIME(sbg_alpha,sbg_beta,I{q + 2})", udf, sbg_disc)
    rt.write_string(u + 1, 7, "LTV, sBG (ARPU x margin x discounted lifetime)", fmt.bold)
    ltv = f"=arpu_last*gross_margin*SBG_LIFETIME(sbg_alpha,sbg_beta,I{q + 2})"
    rt.write_formula(u + 1, 8, ltv, fmt.udf_money, c.arpu_last * _MARGIN * sbg_disc)
    rt.write_string(u + 2, 7, "Refit in Excel: =SBG_FIT(active customers)", fmt.bold)
    fit_rows = [["parameter", "value"], ["alpha", c.alpha], ["beta", c.beta]]
    fit_rows.append(["log_likelihood", float(c.model.log_likelihood_)])
    fr = u + 3
    obs_first, obs_last = c.obs_rows
    rt.write_dynamic_array_formula(
        fr, 7, fr + 3, 8, f"=SBG_FIT(B{obs_first}:B{obs_last})", udf, fit_rows[0][0]
    )
    rt.write_string(fr, 8, fit_rows[0][1], udf)
    for k, (name, value) in enumerate(fit_rows[1:], start=1):
        rt.write_string(fr + k, 7, name, udf)
        rt.write_number(fr + k, 8, value, udf)
    rt.write_string(
        fr + 5,
        7,
        "The sBG lifetime is longer: customers who survive the first months churn less and less "
        "(Fader & Hardie 2007). A constant churn rate understates it.",
        fmt.note,
    )
    return fr


def _base_value_block(rt: Any, fmt: _SaasFormats, c: _Cohort, u: int) -> None:
    """Customer-base value from the sBG DERL (Fader & Hardie 2010), from row ``u`` (H:I).

    The customers active at the start of the last observed month N have been active for
    n = N + 1 months by its end; each is worth ARPU x margin x DERL(d, n), valued just
    before her next renewal (the next payment, if she renews, undiscounted).
    """
    q, (_, obs_last) = _Q, c.obs_rows
    n = c.n_obs + 1
    derl = float(c.model.discounted_expected_residual_lifetime(c.monthly_rate, n))
    actives = float(c.active[-1])
    rt.write_string(u - 1, 7, "Customer-base value (sBG, Fader & Hardie 2010)", fmt.head)
    rt.write_string(u - 1, 8, "", fmt.head)
    rt.write_string(u, 7, f"Customers active at the start of month {c.n_obs}", fmt.bold)
    rt.write_formula(u, 8, f"=B{obs_last}", fmt.writer.count, actives)
    rt.write_string(
        u + 1, 7, f"Residual lifetime each (months): =SBG_DERL(alpha, beta, {n}, d)", fmt.bold
    )
    rt.write_formula(u + 1, 8, f"=SBG_DERL(sbg_alpha,sbg_beta,{n},I{q + 2})", fmt.udf, derl)
    rt.write_string(u + 2, 7, "Value of these customers (actives x ARPU x margin x DERL)", fmt.bold)
    # the function itself, not its cell: the value is an xlclv-function cell too
    value = f"=I{u + 1}*arpu_last*gross_margin*SBG_DERL(sbg_alpha,sbg_beta,{n},I{q + 2})"
    rt.write_formula(u + 2, 8, value, fmt.udf_money, actives * c.arpu_last * _MARGIN * derl)
    rt.write_string(
        u + 3,
        7,
        f"Each has paid {n} months by the end of month {c.n_obs}; DERL sums her discounted "
        "future months, the next one undiscounted, given her tenure: long-tenured customers "
        "are worth more than a new one.",
        fmt.note,
    )


def _retention_chart(wb: Any, n_obs: int) -> Any:
    """Observed survival (markers) against the sBG and constant-churn projections."""
    chart = wb.add_chart({"type": "scatter", "subtype": "straight"})
    first, last = _T0, _P_LAST - 1  # 0-based rows of months 0 and SAAS_PROJECTION_MONTHS
    chart.add_series(
        {
            "name": "Observed",
            "categories": ["Retention", _T0, 0, _T0 + n_obs, 0],
            "values": ["Retention", _T0, 2, _T0 + n_obs, 2],
            "line": {"none": True},
            "marker": {"type": "circle", "size": 6, "fill": {"color": "#1F3864"}},
        }
    )
    for col, name, line in (
        (3, "sBG projection", {"color": "#2E75B6", "width": 2.25}),
        (4, "Constant churn", {"color": "#ED7D31", "width": 2, "dash_type": "dash"}),
    ):
        chart.add_series(
            {
                "name": name,
                "categories": ["Retention", first, 0, last, 0],
                "values": ["Retention", first, col, last, col],
                "line": line,
            }
        )
    chart.set_title({"name": "Share of the cohort still active"})
    chart.set_x_axis({"name": "Months since acquisition", "min": 0, "max": SAAS_PROJECTION_MONTHS})
    chart.set_y_axis({"min": 0, "max": 1, "num_format": "0%", "major_gridlines": _GRID})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 620, "height": 320})
    return chart
