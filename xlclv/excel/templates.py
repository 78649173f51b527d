"""Build the template workbooks in ``workbooks/`` from code, reproducibly.

- :func:`build_clv_report` — ``clv_report.xlsx``: README, Settings (named cells), Transactions
  (Excel Table ``tblTransactions`` filled with the sample), NPS and Marketing sample sheets, and
  the filled report the sample produces. The same builder makes the macro-enabled
  ``clv_report.xlsm`` when given a ``vba_project`` (see its docstring).
- :func:`build_saas_metrics` — ``saas_metrics.xlsx``: monthly SaaS inputs, native formulas for
  churn, retention, lifetime, ARPU, LTV, LTV:CAC and CAC payback, and an sBG projection.
- :func:`build_nps_survey` — ``nps_survey.xlsx``: responses in; NPS overall, by segment and by
  month with normal-approximation intervals, all native formulas.

Every file gets a fixed creation date so that two builds are byte-for-byte comparable part by
part; ``tests/test_templates.py`` rebuilds them and fails if the checked-in files drift.
Regenerate with ``python -m xlclv.excel.templates`` (writes into ``workbooks/``).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from xlclv._errors import WorkbookError
from xlclv.report.settings import AUTO, available_models
from xlclv.report.writer import (
    add_report_sheets,
    close_workbook,
    new_workbook,
    write_table,
    write_value,
)

__all__ = [
    "CREATED",
    "SETTINGS_ROWS",
    "TEMPLATES",
    "build_all",
    "build_clv_report",
    "build_nps_survey",
    "build_saas_metrics",
    "nps_sample",
    "saas_sample",
]

#: Creation date written into every template, so builds are reproducible.
CREATED = dt.datetime(2026, 1, 1, 0, 0, 0)

#: The Settings sheet: (key = defined name, default, note). Row 1 is the header
#: "Setting | Value | Note"; the key is in column A, its value in column B, a note in column C.
SETTINGS_ROWS: tuple[tuple[str, object, str], ...] = (
    (
        "gross_margin",
        0.30,
        "Share of revenue you keep after the cost of goods, as a fraction: 30% = 0.3.",
    ),
    (
        "annual_discount_rate",
        0.10,
        "Yearly rate used to discount future profit to today's money: 10% = 0.1.",
    ),
    ("horizon_months", 12, "How many months ahead to value each customer (1 to 600)."),
    (
        "time_unit",
        "W",
        "Unit the model counts time in: D (days), W (weeks) or M (months). W is usual.",
    ),
    (
        "observation_end",
        None,
        "Last day of the data (a date). Leave blank to use the last transaction date.",
    ),
    (
        "segment_by",
        None,
        "Comma-separated Transactions columns to segment by, e.g. region, channel. "
        "Leave blank to use every column besides customer_id, date and amount.",
    ),
    ("currency", "USD", "Three-letter currency code used in number formats, e.g. USD, EUR, GBP."),
    (
        "model",
        "AUTO",
        "Purchase model: AUTO fits each model, checks it on the holdout and picks one (the "
        "Model sheet says why); or force one: BGNBD (BG/NBD), PNBD (Pareto/NBD), MBGNBD "
        "(MBG/NBD, if this version has it).",
    ),
    (
        "holdout_weeks",
        None,
        "Weeks at the end of the data held out to check the model (refitted on the data before "
        "them). Leave blank to hold out the last 25 % of the period.",
    ),
)

_TITLE = {"bold": True, "font_size": 16, "font_color": "#1F3864"}
_HEAD = {"bold": True, "font_size": 12, "font_color": "#1F3864", "bottom": 1}


def _properties(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "author": "xlclv",
        "company": "xlclv",
        "comments": "Built by xlclv.excel.templates; regenerate with python -m xlclv.excel.templates",
        "created": CREATED,
    }


# ---------------------------------------------------------------------------------------------
# clv_report


def build_clv_report(
    path: str | os.PathLike[str],
    *,
    vba_project: str | os.PathLike[str] | bytes | None = None,
    button_macro: str | Mapping[str, Any] | None = None,
    conf_sheet: Mapping[str, str] | None = None,
    inputs: Any = None,
) -> Path:
    """Build the CLV report template (``clv_report.xlsx``, or ``.xlsm`` with VBA).

    Parameters
    ----------
    path : path-like
        The workbook to write (overwritten). Must end in ``.xlsm`` when ``vba_project`` is given.
    vba_project : path-like or bytes, optional
        A ``vbaProject.bin`` made by Excel (e.g. unzipped from xlwings' ``quickstart.xlsm``),
        embedded with XlsxWriter's ``add_vba_project``. The workbook's code name is set to
        ``ThisWorkbook`` and the sheets get ``Sheet1``, ``Sheet2``... in order, as in the .bin.
    button_macro : str or mapping, optional
        A macro in that VBA project for a "Build CLV report" form button on the README and
        Transactions sheets. A mapping is passed to ``insert_button`` as its options (its
        ``macro`` key is required), e.g. ``{"macro": "SampleCall", "caption": "Run"}``.
    conf_sheet : mapping, optional
        Key/value pairs for an ``xlwings.conf`` sheet (key in column A, value in column B),
        e.g. ``{"UDF Modules": "xlclv.udfs"}``. It is added as the last sheet.
    inputs : xlclv.report.inputs.WorkbookInputs, optional
        The sample to fill the template with; default :func:`xlclv.report.sample.sample_inputs`.

    Returns
    -------
    pathlib.Path
    """
    from xlclv.report import Settings, build_report

    target = Path(path)
    if vba_project is not None and target.suffix.lower() != ".xlsm":
        raise WorkbookError(f"A workbook with VBA must be an .xlsm file, got '{target.name}'")
    if vba_project is None and (button_macro is not None):
        raise WorkbookError("A button needs a macro, so pass vba_project as well")
    if inputs is None:
        from xlclv.report.sample import sample_inputs

        inputs = sample_inputs()

    settings_values = {key: default for key, default, _ in SETTINGS_ROWS}
    settings_values.update({k: v for k, v in (inputs.settings or {}).items() if v is not None})
    report = build_report(inputs, Settings.from_values(settings_values))

    wb = new_workbook(target)
    wb.set_properties(_properties("CLV report template"))
    wb.set_size(1400, 900)
    if vba_project is not None:
        if isinstance(vba_project, bytes):
            import io

            wb.add_vba_project(io.BytesIO(vba_project), is_stream=True)
        else:
            wb.add_vba_project(os.fspath(vba_project))
        wb.set_vba_name("ThisWorkbook")

    fmt = _TemplateFormats(wb)
    readme = wb.add_worksheet("README")
    settings_ws = wb.add_worksheet("Settings")
    tx = wb.add_worksheet("Transactions")
    _clv_readme(readme, fmt, has_button=button_macro is not None)
    _settings_sheet(wb, settings_ws, fmt, settings_values)
    _input_table(tx, fmt, inputs.transactions, "tblTransactions", fmt.writer)
    tx.freeze_panes(1, 0)
    if inputs.nps is not None:
        ws = wb.add_worksheet("NPS")
        _input_table(ws, fmt, inputs.nps, "tblNPS", fmt.writer)
        ws.freeze_panes(1, 0)
    if inputs.marketing is not None:
        ws = wb.add_worksheet("Marketing")
        _input_table(ws, fmt, inputs.marketing, "tblMarketing", fmt.writer)
        ws.freeze_panes(1, 0)
    add_report_sheets(wb, report)
    readme.activate()

    if button_macro is not None:
        opts: dict[str, Any] = (
            {"macro": button_macro} if isinstance(button_macro, str) else dict(button_macro)
        )
        if not opts.get("macro"):
            raise WorkbookError("button_macro needs a 'macro' name")
        opts.setdefault("caption", "Build CLV report")
        opts.setdefault("width", 160)
        opts.setdefault("height", 36)
        readme.insert_button("E3", dict(opts))
        ncols = len(inputs.transactions.columns)
        tx.insert_button(1, ncols + 1, dict(opts))
    if conf_sheet is not None:
        conf = wb.add_worksheet("xlwings.conf")
        for i, (key, value) in enumerate(conf_sheet.items()):
            conf.write_string(i, 0, str(key))
            conf.write_string(i, 1, str(value))
        conf.set_column(0, 1, 24)
    if vba_project is not None:
        for i, ws in enumerate(wb.worksheets(), start=1):
            ws.set_vba_name(f"Sheet{i}")
    close_workbook(wb)
    return target


class _TemplateFormats:
    def __init__(self, wb: Any) -> None:
        from xlclv.report.writer import Formats

        self.writer = Formats(wb, "USD")
        self.title = wb.add_format(_TITLE)
        self.head = wb.add_format(_HEAD)
        self.bold = wb.add_format({"bold": True, "valign": "top"})
        self.text = wb.add_format({"text_wrap": True, "valign": "top"})
        self.key = wb.add_format({"bold": True, "font_name": "Consolas", "valign": "top"})
        self.header = wb.add_format(
            {"bold": True, "bg_color": "#1F3864", "font_color": "#FFFFFF", "border": 1}
        )
        self.input = wb.add_format(
            {"bg_color": "#FFF2CC", "border": 1, "border_color": "#BF9000", "valign": "top"}
        )
        self.input_pct = wb.add_format(
            {"bg_color": "#FFF2CC", "border": 1, "border_color": "#BF9000", "num_format": "0.0%"}
        )
        self.input_date = wb.add_format(
            {
                "bg_color": "#FFF2CC",
                "border": 1,
                "border_color": "#BF9000",
                "num_format": "yyyy-mm-dd",
            }
        )
        self.note = wb.add_format({"text_wrap": True, "valign": "top", "font_color": "#595959"})
        self.hint = wb.add_format({"italic": True, "font_color": "#595959"})
        self.wrap_header = wb.add_format(
            {"bold": True, "text_wrap": True, "valign": "bottom", "align": "center"}
        )


def _clv_readme(ws: Any, fmt: _TemplateFormats, *, has_button: bool) -> None:
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 90)
    ws.write_string(0, 0, "xlclv — customer lifetime value report", fmt.title)
    run = (
        "Press the 'Build CLV report' button (needs the xlwings add-in and Python with xlclv), "
        "or run on the command line:  xlclv report clv_report.xlsx -o my-report.xlsx"
        if has_button
        else "On the command line:  xlclv report clv_report.xlsx -o my-report.xlsx  "
        "(the macro-enabled clv_report.xlsm adds a button that does the same inside Excel)."
    )
    rows: list[tuple[str, str]] = [
        ("", ""),
        ("HOW TO USE IT", ""),
        (
            "1. Transactions",
            "Paste your transaction export over the sample rows of the Transactions table: "
            "one row per purchase with customer_id, date and amount. Every other column "
            "(region, channel, ...) becomes a segment; a customer's segment is the value on "
            "their first purchase. Negative amounts are returns: they reduce revenue and "
            "historical CLV, and are not counted as purchases.",
        ),
        (
            "2. Settings",
            "Check the yellow cells on the Settings sheet: gross margin, discount rate, "
            "horizon, time unit, observation end, segment columns, currency, model. Each cell "
            "has a note and only accepts valid values.",
        ),
        (
            "3. NPS, Marketing",
            "Optional. NPS survey answers (customer_id, date, score 0-10) add NPS per segment; "
            "marketing spend and new customers per channel add CAC and LTV:CAC.",
        ),
        ("4. Run", run),
        ("", ""),
        ("WHAT YOU GET", ""),
        (
            "Dashboard",
            "Key numbers and charts: predicted CLV by segment, how concentrated value is, how "
            "likely customers are still active, and revenue curves per acquisition cohort.",
        ),
        (
            "Customers",
            "One row per customer: first purchase, orders, revenue, historical CLV (net revenue "
            "x gross margin), P(alive) (the chance the customer still buys), expected purchases "
            "and spend over the horizon, predicted CLV (discounted profit over the horizon) and "
            "tier (Top 10% / Next 20% / Rest by predicted CLV).",
        ),
        ("Segments", "One table per segment column: customers, revenue, predicted CLV, shares."),
        ("Cohorts", "Customers by acquisition period, and cumulative revenue per customer."),
        (
            "Model",
            "Which purchase model was chosen and why (BG/NBD, Pareto/NBD... compared on the "
            "holdout and AIC), the fitted parameters with standard errors, a holdout check (the "
            "model refitted on earlier data predicts the last weeks) with charts of predicted "
            "against actual repeat purchases week by week and by past purchases, fit quality "
            "and the settings used.",
        ),
        (
            "Data issues",
            "Every input row that was rejected or corrected, with its Excel row number and the "
            "reason. Fully blank rows are ignored.",
        ),
        ("", ""),
        (
            "About the sample",
            "The sample transactions are simulated with a fixed seed from the BG/NBD and "
            "Gamma-Gamma models (see xlclv.report.sample); the report sheets in this file were built "
            "from them, so you can see what to expect before you paste your own data.",
        ),
    ]
    for i, (label, text) in enumerate(rows, start=1):
        if label.isupper():
            ws.write_string(i, 0, label, fmt.head)
        elif label:
            ws.write_string(i, 0, label, fmt.bold)
            ws.write_string(i, 1, text, fmt.text)
            ws.set_row(i, _wrapped_height(text, 95))
    ws.hide_gridlines(2)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)


def _settings_sheet(wb: Any, ws: Any, fmt: _TemplateFormats, values: Mapping[str, object]) -> None:
    ws.write_string(0, 0, "Setting", fmt.header)
    ws.write_string(0, 1, "Value", fmt.header)
    ws.write_string(0, 2, "Note", fmt.header)
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 22)
    ws.set_column(2, 2, 90)
    for i, (key, _default, note) in enumerate(SETTINGS_ROWS, start=1):
        value = values.get(key)
        ws.write_string(i, 0, key, fmt.key)
        cell_fmt = {
            "gross_margin": fmt.input_pct,
            "annual_discount_rate": fmt.input_pct,
            "observation_end": fmt.input_date,
        }.get(key, fmt.input)
        if value is None:
            ws.write_blank(i, 1, None, cell_fmt)
        elif isinstance(value, list | tuple):
            ws.write_string(i, 1, ", ".join(map(str, value)), cell_fmt)
        else:
            write_value(ws, i, 1, value, cell_fmt, fmt.writer)
            if isinstance(value, dt.date):
                ws.write_datetime(i, 1, pd.Timestamp(value).to_pydatetime(), fmt.input_date)
        ws.write_string(i, 2, note, fmt.note)
        ws.set_row(i, _wrapped_height(note, 100))
        ws.write_comment(i, 1, f"{key}: {note}", {"x_scale": 2, "y_scale": 1.2})
        ws.data_validation(i, 1, i, 1, _validation(key, note))
        wb.define_name(key, f"=Settings!$B${i + 1}")
    ws.freeze_panes(1, 0)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)


def _wrapped_height(text: str, chars_per_line: int) -> float:
    """Row height (points) for wrapped text: XlsxWriter cannot autofit, so estimate it."""
    return 15.0 * max(1, math.ceil(len(text) / chars_per_line))


def _validation(key: str, note: str) -> dict[str, Any]:
    base: dict[str, Any] = {
        "input_title": key[:32],
        "input_message": note[:255],
        "error_title": f"Invalid {key}"[:32],
        "ignore_blank": True,
    }
    if key in ("gross_margin", "annual_discount_rate"):
        return {
            **base,
            "validate": "decimal",
            "criteria": "between",
            "minimum": 0,
            "maximum": 1,
            "error_message": f"{key} is a fraction between 0 and 1: enter 30% as 0.3 or 30%.",
        }
    if key == "horizon_months":
        return {
            **base,
            "validate": "decimal",
            "criteria": "between",
            "minimum": 1,
            "maximum": 600,
            "error_message": "horizon_months is a number of months between 1 and 600.",
        }
    if key == "time_unit":
        return {
            **base,
            "validate": "list",
            "source": ["D", "W", "M"],
            "error_message": "time_unit is D (days), W (weeks) or M (months).",
        }
    if key == "model":
        return {
            **base,
            "validate": "list",
            "source": [AUTO, *available_models()],
            "error_message": f"model is {', '.join([AUTO, *available_models()])}.",
        }
    if key == "holdout_weeks":
        return {
            **base,
            "validate": "integer",
            "criteria": ">=",
            "value": 1,
            "error_message": "holdout_weeks is a whole number of weeks (1 or more), or blank.",
        }
    if key == "observation_end":
        return {
            **base,
            "validate": "date",
            "criteria": "between",
            "minimum": dt.date(1900, 1, 1),
            "maximum": dt.date(2999, 12, 31),
            "error_message": "observation_end is a date, or blank for the last transaction date.",
        }
    if key == "currency":
        return {
            **base,
            "validate": "length",
            "criteria": "equal to",
            "value": 3,
            "error_message": "currency is a three-letter code such as USD, EUR or GBP.",
        }
    return {
        **base,
        "validate": "length",
        "criteria": "less than or equal to",
        "value": 255,
        "error_message": f"{key} is text of at most 255 characters.",
    }


def _input_table(ws: Any, fmt: _TemplateFormats, df: pd.DataFrame, name: str, wfmt: Any) -> None:
    """An input sheet: the frame as an Excel Table from A1, dates as dates, text as text."""
    df = df.reset_index(drop=True)
    formats: dict[str, Any] = {}
    for col in df.columns:
        s = df[col]
        if (
            s.dtype == object
            and len(s)
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in s.dropna())
        ):
            s = df[col] = s.astype("float64")
        if pd.api.types.is_datetime64_any_dtype(s.dtype) or _looks_like_dates(s):
            formats[str(col)] = wfmt.date
            df[col] = pd.to_datetime(s)
        elif pd.api.types.is_float_dtype(s.dtype) and str(col).lower() in ("amount", "spend"):
            formats[str(col)] = wfmt.num2
        elif pd.api.types.is_numeric_dtype(s.dtype):
            formats[str(col)] = wfmt.add(num_format="General")
        else:
            formats[str(col)] = wfmt.text
    widths: dict[int, float] = {}
    write_table(ws, 0, 0, df, name, wfmt, widths=widths, formats=formats)
    for c, w in widths.items():
        ws.set_column(c, c, max(w, 12))


def _looks_like_dates(s: pd.Series) -> bool:
    head = s.dropna().head(20).tolist()
    return bool(head) and all(isinstance(v, dt.date | pd.Timestamp) for v in head)


# ---------------------------------------------------------------------------------------------
# saas_metrics

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
    import numpy as np

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


def build_saas_metrics(path: str | os.PathLike[str]) -> Path:
    """Build ``saas_metrics.xlsx``: native SaaS formulas and an sBG retention projection."""
    import numpy as np

    from xlclv import metrics
    from xlclv.models import ShiftedBetaGeometricModel

    target = Path(path)
    data = saas_sample()
    monthly: pd.DataFrame = data["monthly"]
    cohort: list[int] = data["cohort"]
    margin, annual = 0.80, 0.10

    wb = new_workbook(target)
    wb.set_properties(_properties("SaaS metrics template"))
    fmt = _TemplateFormats(wb)
    w = fmt.writer
    money = w.money
    readme = wb.add_worksheet("README")
    ws = wb.add_worksheet("Monthly")
    rt = wb.add_worksheet("Retention")

    # -- README
    readme.set_column(0, 0, 22)
    readme.set_column(1, 1, 100)
    readme.write_string(
        0, 0, "SaaS metrics — churn, LTV and an sBG retention projection", fmt.title
    )
    notes = [
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
            "each month. The shifted-beta-geometric (sBG) model is fitted to it (alpha, beta) "
            "and projects survival month by month with S(t) = S(t-1) x (beta + t - 1) / "
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
    for i, (k, v) in enumerate(notes, start=2):
        readme.write_string(i, 0, k, fmt.bold)
        readme.write_string(i, 1, v, fmt.text)
        readme.set_row(i, _wrapped_height(v, 105))
    readme.hide_gridlines(2)
    readme.set_landscape()
    readme.fit_to_pages(1, 0)

    # -- Monthly: assumptions, then the table
    inp = fmt.input
    inp_pct = fmt.input_pct
    inp_money = wb.add_format(
        {"bg_color": "#FFF2CC", "border": 1, "border_color": "#BF9000", "num_format": "#,##0.00"}
    )
    inp_date = fmt.input_date
    udf = wb.add_format({"italic": True, "font_color": "#2E75B6", "num_format": "0.00"})
    udf_money = wb.add_format({"italic": True, "font_color": "#2E75B6", "num_format": "#,##0.00"})
    ws.write_string(0, 0, "Monthly SaaS metrics", fmt.title)
    ws.write_string(1, 0, "Gross margin", fmt.bold)
    ws.write_number(1, 1, margin, inp_pct)
    ws.write_string(2, 0, "Annual discount rate", fmt.bold)
    ws.write_number(2, 1, annual, inp_pct)
    wb.define_name("gross_margin", "=Monthly!$B$2")
    wb.define_name("annual_discount_rate", "=Monthly!$B$3")
    ws.write_string(1, 2, "Share of revenue kept after direct costs.", fmt.hint)
    ws.write_string(2, 2, "Used for the discounted lifetimes on the Retention sheet.", fmt.hint)

    header_row = 4
    first = header_row + 1  # 0-based row of the first month
    n = len(monthly)
    last = first + n - 1
    cols = [
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
    start = monthly["Customers at start"].to_numpy(float)
    lost = monthly["Churned"].to_numpy(float)
    new = monthly["New customers"].to_numpy(float)
    mrr = monthly["MRR"].to_numpy(float)
    cac = monthly["CAC"].to_numpy(float)
    end = start - lost + new
    churn = metrics.churn_rate(start, lost)
    retention = metrics.retention_rate(start, end, new)
    life = metrics.lifetime(churn)
    arpu = metrics.arpu(mrr, start)
    ltv = arpu * margin * life
    ratio = metrics.ltv_cac(ltv, cac)
    payback = metrics.cac_payback(cac, arpu, margin)
    for i in range(n):
        r = first + i
        x = r + 1  # Excel row number
        ws.write_datetime(r, 0, monthly["Month"].iloc[i].to_pydatetime(), inp_date)
        ws.write_number(r, 1, start[i], inp)
        ws.write_number(r, 2, lost[i], inp)
        ws.write_number(r, 3, new[i], inp)
        ws.write_number(r, 4, mrr[i], inp_money)
        ws.write_number(r, 5, cac[i], inp_money)
        ws.write_formula(r, 6, f"=B{x}-C{x}+D{x}", w.count, end[i])
        ws.write_formula(r, 7, f"=C{x}/B{x}", w.pct, churn[i])
        ws.write_formula(r, 8, f"=(G{x}-D{x})/B{x}", w.pct, retention[i])
        ws.write_formula(r, 9, f"=1/H{x}", w.num2, life[i])
        ws.write_formula(r, 10, f"=E{x}/B{x}", money, arpu[i])
        ws.write_formula(r, 11, f"=K{x}*gross_margin*J{x}", money, ltv[i])
        ws.write_formula(r, 12, f"=L{x}/F{x}", w.ratio, ratio[i])
        ws.write_formula(r, 13, f"=F{x}/(K{x}*gross_margin)", w.num2, payback[i])
    ws.add_table(
        header_row,
        0,
        last,
        len(cols) - 1,
        {
            "name": "tblMonthly",
            "columns": [{"header": c, "header_format": fmt.wrap_header} for c in cols],
            "style": "Table Style Light 9",
        },
    )
    ws.set_row(header_row, 32)
    ws.set_column(1, 13, 12)
    ws.freeze_panes(header_row + 1, 1)

    # last-12-months summary below the table
    s0 = last + 3
    f12, l12 = last - 11 + 1, last + 1  # Excel rows of the last 12 months
    c12 = float(lost[-12:].sum() / start[-12:].sum())
    arpu_last = float(arpu[-1])
    cac12 = float(cac[-12:].mean())
    summary = [
        ("Churn, last 12 months", f"=SUM(C{f12}:C{l12})/SUM(B{f12}:B{l12})", c12, w.pct),
        ("Lifetime = 1 / churn (months)", f"=1/B{s0 + 2}", 1 / c12, w.num2),
        ("ARPU, last month", f"=K{l12}", arpu_last, money),
        (
            "LTV = ARPU x margin x lifetime",
            f"=B{s0 + 4}*gross_margin*B{s0 + 3}",
            arpu_last * margin / c12,
            money,
        ),
        ("Average CAC, last 12 months", f"=AVERAGE(F{f12}:F{l12})", cac12, money),
        ("LTV:CAC", f"=B{s0 + 5}/B{s0 + 6}", arpu_last * margin / c12 / cac12, w.ratio),
    ]
    ws.write_string(s0, 0, "Last 12 months", fmt.head)
    for k, (label, formula, value, f) in enumerate(summary, start=1):
        ws.write_string(s0 + k, 0, label, fmt.bold)
        ws.write_formula(s0 + k, 1, formula, f, value)
    k = len(summary) + 1
    ws.write_string(s0 + k, 0, "Check with xlclv: =LIFETIME(churn)", fmt.bold)
    ws.write_formula(s0 + k, 1, f"=LIFETIME(B{s0 + 2})", udf, float(metrics.lifetime(c12)))
    wb.define_name("churn_12m", f"=Monthly!$B${s0 + 2}")
    wb.define_name("arpu_last", f"=Monthly!$B${s0 + 4}")
    ws.set_column(0, 0, 30)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)

    # -- Retention: cohort, sBG fit, projections
    model = ShiftedBetaGeometricModel().fit(np.asarray(cohort, dtype=float))
    alpha, beta = float(model.params_["alpha"]), float(model.params_["beta"])
    rt.write_string(0, 0, "Cohort retention: sBG projection vs constant churn", fmt.title)
    rt.write_string(
        1,
        0,
        "Yellow: one cohort's active customers at the start of each month (month 0 = cohort "
        "size). The sBG model is fitted to them; both curves are projected 60 months.",
        fmt.hint,
    )
    hdr = 3
    t0 = hdr + 1  # 0-based row of month 0
    heads = ["Month", "Active customers", "Observed survival", "sBG survival", "Constant churn"]
    for j, h in enumerate(heads):
        rt.write_string(hdr, j, h, fmt.header)
    # parameters block (column H/I), fitted in Python, plain numbers so native formulas work
    pr = t0
    rt.write_string(pr - 1, 7, "Model", fmt.head)
    rt.write_string(pr - 1, 8, "", fmt.head)
    labels = [
        ("sBG alpha (fitted by xlclv)", alpha, w.num4),
        ("sBG beta (fitted by xlclv)", beta, w.num4),
    ]
    for k, (label, value, f) in enumerate(labels):
        rt.write_string(pr + k, 7, label, fmt.bold)
        rt.write_number(pr + k, 8, value, f)
    wb.define_name("sbg_alpha", f"=Retention!$I${pr + 1}")
    wb.define_name("sbg_beta", f"=Retention!$I${pr + 2}")
    n_obs = len(cohort) - 1
    obs_first, obs_last = t0 + 1, t0 + n_obs + 1  # Excel rows of months 0 and n_obs
    c_naive = 1 - (cohort[-1] / cohort[0]) ** (1 / n_obs)
    monthly_rate = (1 + annual) ** (1 / 12) - 1
    surv = np.asarray(model.survival(SAAS_PROJECTION_MONTHS), dtype=float)
    naive = (1 - c_naive) ** np.arange(SAAS_PROJECTION_MONTHS + 1)
    for t in range(SAAS_PROJECTION_MONTHS + 1):
        r = t0 + t
        x = r + 1
        rt.write_number(r, 0, t, w.count)
        if t <= n_obs:
            rt.write_number(r, 1, cohort[t], inp)
            rt.write_formula(r, 2, f"=B{x}/B${obs_first}", w.pct, cohort[t] / cohort[0])
        if t == 0:
            rt.write_number(r, 3, 1.0, w.pct)
        else:
            rt.write_formula(
                r,
                3,
                f"=D{x - 1}*(sbg_beta+A{x}-1)/(sbg_alpha+sbg_beta+A{x}-1)",
                w.pct,
                float(surv[t]),
            )
        rt.write_formula(r, 4, f"=(1-naive_churn)^A{x}", w.pct, float(naive[t]))
    p_last = t0 + SAAS_PROJECTION_MONTHS + 1
    # comparison block
    q = pr + 3
    sbg_life = (alpha + beta - 1) / (alpha - 1) if alpha > 1 else float("inf")
    sbg_disc = float(model.discounted_expected_lifetime(monthly_rate))
    naive_disc = float(metrics.lifetime_discounted(c_naive, monthly_rate))
    rows = [
        (
            "Constant churn c (geometric mean)",
            f"=1-(B{obs_last}/B{obs_first})^(1/{n_obs})",
            c_naive,
            w.pct,
        ),
        ("Monthly discount rate", "=(1+annual_discount_rate)^(1/12)-1", monthly_rate, w.pct),
        ("Lifetime, constant churn: 1 / c", f"=1/I{q + 1}", 1 / c_naive, w.num2),
        (
            "Lifetime, sBG: (alpha + beta - 1) / (alpha - 1)",
            '=IF(sbg_alpha>1,(sbg_alpha+sbg_beta-1)/(sbg_alpha-1),"infinite")',
            sbg_life if math.isfinite(sbg_life) else "infinite",
            w.num2,
        ),
        (
            f"Months alive in the next {SAAS_PROJECTION_MONTHS}, constant churn",
            f"=SUM(E{t0 + 1}:E{p_last})",
            float(naive.sum()),
            w.num2,
        ),
        (
            f"Months alive in the next {SAAS_PROJECTION_MONTHS}, sBG",
            f"=SUM(D{t0 + 1}:D{p_last})",
            float(surv.sum()),
            w.num2,
        ),
        (
            "Discounted lifetime, constant churn: (1 + d) / (d + c)",
            f"=(1+I{q + 2})/(I{q + 2}+I{q + 1})",
            naive_disc,
            w.num2,
        ),
        (
            "LTV, constant churn (ARPU x margin x discounted lifetime)",
            f"=arpu_last*gross_margin*I{q + 7}",
            0.0,
            money,
        ),
    ]
    arpu_last_v = arpu_last
    rows[-1] = (*rows[-1][:2], arpu_last_v * margin * naive_disc, money)
    rt.write_string(q - 1, 7, "Lifetime (months)", fmt.head)
    rt.write_string(q - 1, 8, "", fmt.head)
    for k, (label, formula, value, f) in enumerate(rows):
        rt.write_string(q + k, 7, label, fmt.bold)
        if isinstance(value, str):
            rt.write_formula(q + k, 8, formula, f, value)
        else:
            rt.write_formula(q + k, 8, formula, f, float(value))
    wb.define_name("naive_churn", f"=Retention!$I${q + 1}")
    u = q + len(rows) + 1
    rt.write_string(u - 1, 7, "xlclv functions (need Excel + xlwings)", fmt.head)
    rt.write_string(u - 1, 8, "", fmt.head)
    rt.write_string(u, 7, "Discounted lifetime, sBG: =SBG_LIFETIME(alpha, beta, d)", fmt.bold)
    rt.write_formula(u, 8, f"=SBG_LIFETIME(sbg_alpha,sbg_beta,I{q + 2})", udf, sbg_disc)
    rt.write_string(u + 1, 7, "LTV, sBG (ARPU x margin x discounted lifetime)", fmt.bold)
    rt.write_formula(
        u + 1,
        8,
        f"=arpu_last*gross_margin*SBG_LIFETIME(sbg_alpha,sbg_beta,I{q + 2})",
        udf_money,
        arpu_last * margin * sbg_disc,
    )
    rt.write_string(u + 2, 7, "Refit in Excel: =SBG_FIT(active customers)", fmt.bold)
    fit_rows = [["parameter", "value"], ["alpha", alpha], ["beta", beta]]
    fit_rows.append(["log_likelihood", float(model.log_likelihood_)])
    fr = u + 3
    rt.write_dynamic_array_formula(
        fr, 7, fr + 3, 8, f"=SBG_FIT(B{obs_first}:B{obs_last})", udf, fit_rows[0][0]
    )
    for k, (a_, b_) in enumerate(fit_rows):
        if k:
            rt.write_string(fr + k, 7, a_, udf)
        rt.write_number(fr + k, 8, b_, udf) if k else rt.write_string(fr, 8, b_, udf)
    rt.write_string(
        fr + 5,
        7,
        "The sBG lifetime is longer: customers who survive the first months churn less and less "
        "(Fader & Hardie 2007). A constant churn rate understates it.",
        fmt.note,
    )
    rt.set_column(0, 0, 8)
    rt.set_column(1, 4, 16)
    rt.set_column(5, 6, 3)
    rt.set_column(7, 7, 58)
    rt.set_column(8, 8, 14)
    rt.freeze_panes(hdr + 1, 0)

    chart = wb.add_chart({"type": "scatter", "subtype": "straight"})
    chart.add_series(
        {
            "name": "Observed",
            "categories": ["Retention", t0, 0, t0 + n_obs, 0],
            "values": ["Retention", t0, 2, t0 + n_obs, 2],
            "line": {"none": True},
            "marker": {"type": "circle", "size": 6, "fill": {"color": "#1F3864"}},
        }
    )
    chart.add_series(
        {
            "name": "sBG projection",
            "categories": ["Retention", t0, 0, p_last - 1, 0],
            "values": ["Retention", t0, 3, p_last - 1, 3],
            "line": {"color": "#2E75B6", "width": 2.25},
        }
    )
    chart.add_series(
        {
            "name": "Constant churn",
            "categories": ["Retention", t0, 0, p_last - 1, 0],
            "values": ["Retention", t0, 4, p_last - 1, 4],
            "line": {"color": "#ED7D31", "width": 2, "dash_type": "dash"},
        }
    )
    chart.set_title({"name": "Share of the cohort still active"})
    chart.set_x_axis({"name": "Months since acquisition", "min": 0, "max": SAAS_PROJECTION_MONTHS})
    chart.set_y_axis({"min": 0, "max": 1, "num_format": "0%", "major_gridlines": _GRID})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 620, "height": 320})
    rt.insert_chart(fr + 8, 7, chart)
    rt.set_landscape()
    rt.fit_to_pages(1, 0)
    readme.activate()
    close_workbook(wb)
    return target


_GRID = {"visible": True, "line": {"color": "#E7E6E6"}}


# ---------------------------------------------------------------------------------------------
# nps_survey

NPS_SEGMENTS = ("Enterprise", "Mid-market", "Self-serve")


def nps_sample(seed: int = 11) -> pd.DataFrame:
    """The deterministic survey behind ``nps_survey.xlsx``: 720 answers over 2025.

    Columns customer_id, date, score (0-10), segment; score distributions differ by segment
    (Enterprise the happiest) and improve slowly over the year. ``numpy.random.default_rng``.
    """
    import numpy as np

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
    import numpy as np

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


def build_nps_survey(path: str | os.PathLike[str]) -> Path:
    """Build ``nps_survey.xlsx``: NPS overall, by segment and by month, native formulas."""
    from statistics import NormalDist

    from xlclv import metrics

    target = Path(path)
    df = nps_sample()
    confidence = 0.95
    z = NormalDist().inv_cdf(0.5 + confidence / 2)

    wb = new_workbook(target)
    wb.set_properties(_properties("NPS survey template"))
    fmt = _TemplateFormats(wb)
    w = fmt.writer
    readme = wb.add_worksheet("README")
    resp = wb.add_worksheet("Responses")
    out = wb.add_worksheet("NPS")

    readme.set_column(0, 0, 18)
    readme.set_column(1, 1, 100)
    readme.write_string(0, 0, "Net Promoter Score with confidence intervals", fmt.title)
    notes = [
        (
            "Responses",
            "Paste your survey answers into the table: customer_id, date, score (0-10) and "
            "segment. Keep the header row; the table grows as you paste.",
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
    for i, (k, v) in enumerate(notes, start=2):
        readme.write_string(i, 0, k, fmt.bold)
        readme.write_string(i, 1, v, fmt.text)
        readme.set_row(i, _wrapped_height(v, 105))
    readme.hide_gridlines(2)
    readme.set_landscape()
    readme.fit_to_pages(1, 0)

    _input_table(resp, fmt, df, "tblResponses", w)
    resp.freeze_panes(1, 0)
    n_rows = len(df)
    last = n_rows + 1
    rng_score = f"Responses!$C$2:$C${last}"
    rng_seg = f"Responses!$D$2:$D${last}"
    rng_date = f"Responses!$B$2:$B${last}"

    out.write_string(0, 0, "Net Promoter Score", fmt.title)
    out.write_string(1, 0, "Confidence level", fmt.bold)
    out.write_number(1, 1, confidence, fmt.input_pct)
    out.write_string(2, 0, "z", fmt.bold)
    out.write_formula(2, 1, "=NORMSINV(0.5+B2/2)", w.num4, z)
    wb.define_name("confidence", "=NPS!$B$2")
    wb.define_name("z_value", "=NPS!$B$3")
    heads = [
        "Responses",
        "Promoters",
        "Passives",
        "Detractors",
        "NPS",
        "Std. error",
        "Low",
        "High",
    ]

    def block(row: int, label: str, keys: list[Any], crit: Any, subsets: list[Any]) -> int:
        out.write_string(row, 0, label, fmt.head)
        hdr = row + 1
        first_head = {"Overall": "Group", "By segment": "Segment", "By month": "Month"}[label]
        out.write_string(hdr, 0, first_head, fmt.header)
        for j, h in enumerate(heads, start=1):
            out.write_string(hdr, j, h, fmt.header)
        for i, (key, sub) in enumerate(zip(keys, subsets, strict=True)):
            r = hdr + 1 + i
            x = r + 1
            if isinstance(key, pd.Timestamp):
                out.write_datetime(r, 0, key.to_pydatetime(), wb_month)
            else:
                out.write_string(r, 0, str(key), fmt.bold)
            cond = crit(x)
            n, p, pas, d, score, se, lo, hi = _nps_stats(sub, z)
            out.write_formula(r, 1, f'=COUNTIFS({rng_score},">=0"{cond})', w.count, n)
            out.write_formula(r, 2, f'=COUNTIFS({rng_score},">=9"{cond})', w.count, p)
            out.write_formula(r, 3, f"=B{x}-C{x}-E{x}", w.count, pas)
            out.write_formula(r, 4, f'=COUNTIFS({rng_score},"<=6"{cond})', w.count, d)
            out.write_formula(r, 5, f'=IF(B{x}=0,"",100*(C{x}-E{x})/B{x})', nps_fmt, score)
            se_f = f'=IF(B{x}=0,"",SQRT(MAX(0,(C{x}+E{x})/B{x}-((C{x}-E{x})/B{x})^2)/B{x}))'
            out.write_formula(r, 6, se_f, w.num4, se)
            out.write_formula(r, 7, f'=IF(B{x}=0,"",MAX(-100,F{x}-100*z_value*G{x}))', nps_fmt, lo)
            out.write_formula(r, 8, f'=IF(B{x}=0,"",MIN(100,F{x}+100*z_value*G{x}))', nps_fmt, hi)
        return hdr + len(keys)

    nps_fmt = wb.add_format({"num_format": "0.0"})
    wb_month = wb.add_format({"num_format": "mmm yyyy", "bold": True, "align": "left"})
    row = 4
    check = float(metrics.nps(df["score"]))
    end = block(row, "Overall", ["All responses"], lambda x: "", [df["score"]])
    segs = list(NPS_SEGMENTS)
    end = block(
        end + 2,
        "By segment",
        segs,
        lambda x: f",{rng_seg},$A{x}",
        [df.loc[df["segment"] == s, "score"] for s in segs],
    )
    months = pd.date_range("2025-01-01", periods=12, freq="MS")
    m_first = end + 4
    end = block(
        end + 2,
        "By month",
        list(months),
        lambda x: f',{rng_date},">="&$A{x},{rng_date},"<"&EDATE($A{x},1)',
        [
            df.loc[(df["date"] >= m) & (df["date"] < m + pd.DateOffset(months=1)), "score"]
            for m in months
        ],
    )
    m_last = end + 1
    udf = wb.add_format({"italic": True, "font_color": "#2E75B6", "num_format": "0.0"})
    out.write_string(end + 2, 0, "Check with xlclv: =NPS(scores)", fmt.bold)
    out.write_formula(end + 2, 5, f"=NPS({rng_score})", udf, check)
    out.set_column(0, 0, 16)
    out.set_column(1, 8, 11)

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
    chart.set_title({"name": f"NPS by month, with {confidence:.0%} interval"})
    chart.set_x_axis({"num_format": "mmm yy", "date_axis": True, "label_position": "low"})
    chart.set_y_axis({"name": "NPS", "major_gridlines": _GRID})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 620, "height": 320})
    out.insert_chart(4, 10, chart)
    out.set_landscape()
    out.fit_to_pages(1, 0)
    readme.activate()
    close_workbook(wb)
    return target


# ---------------------------------------------------------------------------------------------
# all templates

TEMPLATES: dict[str, Any] = {
    "clv_report.xlsx": build_clv_report,
    "saas_metrics.xlsx": build_saas_metrics,
    "nps_survey.xlsx": build_nps_survey,
}


def build_all(folder: str | os.PathLike[str]) -> list[Path]:
    """Build every template into ``folder``; returns the paths written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    return [builder(out / name) for name, builder in TEMPLATES.items()]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "workbooks"
    for p in build_all(folder):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
