"""``clv_report.xlsx`` (and ``.xlsm``): README, Settings, input tables and the sample's report."""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from xlclv._errors import WorkbookError
from xlclv.excel.button import OUTPUT_MARKER
from xlclv.excel.templates._common import (
    _input_table,
    _properties,
    _TemplateFormats,
    _wrapped_height,
)
from xlclv.report.settings import AUTO, available_models
from xlclv.report.writer import add_report_sheets, close_workbook, new_workbook, write_value

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
    (
        "currency",
        None,
        "Three-letter currency code used in number formats, e.g. USD, EUR, GBP. Leave blank "
        "for the currency the amounts are written in ($, €, EUR 12.00, a Currency column), "
        "else USD. Amounts in two currencies stop the report.",
    ),
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
    report = _sample_report(inputs, settings_values)

    wb = new_workbook(target)
    wb.set_properties(_properties("CLV report template"))
    wb.set_size(1400, 900)
    if vba_project is not None:
        _add_vba_project(wb, vba_project)
    readme, tx = _input_sheets(wb, inputs, settings_values, has_button=button_macro is not None)
    for name in add_report_sheets(wb, report):
        # the Excel button replaces only sheets it marked as its own (xlclv.excel.button)
        wb.define_name(f"'{name}'!{OUTPUT_MARKER}", "=TRUE")
    readme.activate()
    if button_macro is not None:
        _insert_buttons(readme, tx, button_macro, ncols=len(inputs.transactions.columns))
    if conf_sheet is not None:
        _conf_sheet(wb, conf_sheet)
    if vba_project is not None:
        for i, ws in enumerate(wb.worksheets(), start=1):
            ws.set_vba_name(f"Sheet{i}")
    close_workbook(wb)
    return target


def _sample_report(inputs: Any, settings_values: dict[str, object]) -> Any:
    """The report the template's sample produces with the template's settings."""
    from xlclv.report import Settings, build_report

    return build_report(inputs, Settings.from_values(settings_values))


def _add_vba_project(wb: Any, vba_project: str | os.PathLike[str] | bytes) -> None:
    if isinstance(vba_project, bytes):
        wb.add_vba_project(io.BytesIO(vba_project), is_stream=True)
    else:
        wb.add_vba_project(os.fspath(vba_project))
    wb.set_vba_name("ThisWorkbook")


def _input_sheets(
    wb: Any, inputs: Any, settings_values: Mapping[str, object], *, has_button: bool
) -> tuple[Any, Any]:
    """README, Settings, Transactions and the optional NPS and Marketing sheets, in that order.

    Returns the README and Transactions worksheets (the buttons go on them).
    """
    fmt = _TemplateFormats(wb)
    readme = wb.add_worksheet("README")
    settings_ws = wb.add_worksheet("Settings")
    tx = wb.add_worksheet("Transactions")
    _clv_readme(readme, fmt, has_button=has_button)
    _settings_sheet(wb, settings_ws, fmt, settings_values)
    _input_table(tx, fmt, inputs.transactions, "tblTransactions", fmt.writer)
    tx.freeze_panes(1, 0)
    for sheet, frame, table in (
        ("NPS", inputs.nps, "tblNPS"),
        ("Marketing", inputs.marketing, "tblMarketing"),
    ):
        if frame is not None:
            ws = wb.add_worksheet(sheet)
            _input_table(ws, fmt, frame, table, fmt.writer)
            ws.freeze_panes(1, 0)
    return readme, tx


def _insert_buttons(
    readme: Any, tx: Any, button_macro: str | Mapping[str, Any], *, ncols: int
) -> None:
    """The "Build CLV report" button on README (E3) and right of the Transactions table."""
    opts: dict[str, Any] = (
        {"macro": button_macro} if isinstance(button_macro, str) else dict(button_macro)
    )
    if not opts.get("macro"):
        raise WorkbookError("button_macro needs a 'macro' name")
    opts.setdefault("caption", "Build CLV report")
    opts.setdefault("width", 160)
    opts.setdefault("height", 36)
    readme.insert_button("E3", dict(opts))
    tx.insert_button(1, ncols + 1, dict(opts))


def _conf_sheet(wb: Any, conf_sheet: Mapping[str, str]) -> None:
    conf = wb.add_worksheet("xlwings.conf")
    for i, (key, value) in enumerate(conf_sheet.items()):
        conf.write_string(i, 0, str(key))
        conf.write_string(i, 1, str(value))
    conf.set_column(0, 1, 24)


def _readme_rows(has_button: bool) -> list[tuple[str, str]]:
    """(label, text) rows of the README from row 2; an upper-case label is a heading."""
    run = (
        "Press the 'Build CLV report' button (needs the xlwings add-in and Python with xlclv), "
        "or run on the command line:  xlclv report clv_report.xlsx -o my-report.xlsx"
        if has_button
        else "On the command line:  xlclv report clv_report.xlsx -o my-report.xlsx  "
        "(the macro-enabled clv_report.xlsm adds a button that does the same inside Excel)."
    )
    return [("", ""), ("HOW TO USE IT", ""), *_HOW_TO, ("4. Run", run), *_WHAT_YOU_GET]


_HOW_TO: tuple[tuple[str, str], ...] = (
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
)

_WHAT_YOU_GET: tuple[tuple[str, str], ...] = (
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
)


def _clv_readme(ws: Any, fmt: _TemplateFormats, *, has_button: bool) -> None:
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 90)
    ws.write_string(0, 0, "xlclv — customer lifetime value report", fmt.title)
    for i, (label, text) in enumerate(_readme_rows(has_button), start=1):
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
        ws.write_string(i, 0, key, fmt.key)
        _setting_value(ws, i, key, values.get(key), fmt)
        ws.write_string(i, 2, note, fmt.side_note)
        ws.set_row(i, _wrapped_height(note, 100))
        ws.write_comment(i, 1, f"{key}: {note}", {"x_scale": 2, "y_scale": 1.2})
        ws.data_validation(i, 1, i, 1, _validation(key, note))
        wb.define_name(key, f"=Settings!$B${i + 1}")
    ws.freeze_panes(1, 0)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)


def _setting_value(ws: Any, i: int, key: str, value: object, fmt: _TemplateFormats) -> None:
    """The yellow value cell of one setting (row ``i``, column B)."""
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


def _validation(key: str, note: str) -> dict[str, Any]:
    """XlsxWriter ``data_validation`` options for one setting's value cell."""
    base: dict[str, Any] = {
        "input_title": key[:32],
        "input_message": note[:255],
        "error_title": f"Invalid {key}"[:32],
        "ignore_blank": True,
    }
    return {**base, **_validation_rule(key)}


def _validation_rule(key: str) -> dict[str, Any]:
    if key in ("gross_margin", "annual_discount_rate"):
        return {
            "validate": "decimal",
            "criteria": "between",
            "minimum": 0,
            "maximum": 1,
            "error_message": f"{key} is a fraction between 0 and 1: enter 30% as 0.3 or 30%.",
        }
    if key in _RULES:
        return dict(_RULES[key])
    return {
        "validate": "length",
        "criteria": "less than or equal to",
        "value": 255,
        "error_message": f"{key} is text of at most 255 characters.",
    }


_RULES: dict[str, dict[str, Any]] = {
    "horizon_months": {
        "validate": "decimal",
        "criteria": "between",
        "minimum": 1,
        "maximum": 600,
        "error_message": "horizon_months is a number of months between 1 and 600.",
    },
    "time_unit": {
        "validate": "list",
        "source": ["D", "W", "M"],
        "error_message": "time_unit is D (days), W (weeks) or M (months).",
    },
    "model": {
        "validate": "list",
        "source": [AUTO, *available_models()],
        "error_message": f"model is {', '.join([AUTO, *available_models()])}.",
    },
    "holdout_weeks": {
        "validate": "integer",
        "criteria": ">=",
        "value": 1,
        "error_message": "holdout_weeks is a whole number of weeks (1 or more), or blank.",
    },
    "observation_end": {
        "validate": "date",
        "criteria": "between",
        "minimum": dt.date(1900, 1, 1),
        "maximum": dt.date(2999, 12, 31),
        "error_message": "observation_end is a date, or blank for the last transaction date.",
    },
    "currency": {
        "validate": "length",
        "criteria": "equal to",
        "value": 3,
        "error_message": "currency is a three-letter code such as USD, EUR or GBP.",
    },
}
