"""The CLV report: transactions and settings in, plain DataFrames out (nothing Excel-specific).

:func:`build_report` cleans the transactions (:func:`xlclv.report.inputs.clean_transactions`), builds
the RFM summary, fits the purchase model (BG/NBD or Pareto/NBD) and the Gamma-Gamma spend
model, values every customer over the horizon, and summarises customers by segment and by
acquisition cohort. A writer (:mod:`xlclv.report.writer`, or the Excel button) puts the
:class:`Report` into a workbook.

Returns policy
--------------
Negative amounts are returns, handled on purpose:

- they reduce the customer's ``Revenue`` (net revenue = purchases - returns) and so the
  ``Historical CLV`` (= net revenue x gross margin);
- they are not purchase occasions: ``Orders``, the RFM summary and the model fits use the
  positive amounts only (:func:`xlclv.transactions.rfm_summary`);
- ``Predicted CLV`` is the model CLV of the gross purchases times (1 - return rate), where the
  return rate is the customer base's |returns| / gross sales (shown on the Model sheet). A
  single base-wide rate is used because individual return histories are too sparse to predict
  a customer's future returns.

Amounts of exactly 0 (free orders) are purchase occasions by default, as in the published
CDNOW analysis; the setting include_zero_amounts=False leaves them out (listed in Data issues).

Settings
--------
:class:`Settings` holds the validated settings; :meth:`Settings.from_values` reads raw cell
values (the Settings sheet) plus overrides (CLI flags). Percentages are fractions: a gross
margin of 40 % is 0.4 (an Excel cell formatted as % holds 0.4) or the text "40%"; a value
above 1 is rejected with that hint rather than silently divided by 100.

Holdout check and model choice
------------------------------
The purchase model is refitted on the data before the holdout (the last ``holdout_weeks``
weeks, default the last 25 % of the period from first purchase to observation end) and predicts
the holdout (:mod:`xlclv.report.holdout`): each early customer's repeat purchases against what
they did, the weekly tracking of repeat purchases over calibration and holdout, and the holdout
purchases by calibration frequency, with the holdout's mean absolute error and bias in one
sentence. With ``model = AUTO`` (the default) the fit stage fits every available purchase model,
runs each one's holdout check and picks one (:func:`xlclv.report.fit.choose_model`: lowest
holdout error, a tie within 5 % going to the lowest AIC); the Model sheet shows the comparison.
The reported predictions always use all the data.

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting Your Customers' the Easy Way:
An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284 (BG/NBD, and the
calibration/holdout validation used here).
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis", Journal of Marketing Research 42(4), 415-430 (Gamma-Gamma spend, CLV).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from xlclv._errors import InputError, WorkbookError, XlclvError
from xlclv._timeunits import DAYS_PER_UNIT, months_to_units
from xlclv.report.fit import compare_models, fit_purchase, fit_spend, params_table
from xlclv.report.holdout import Holdout, holdout_check, opportunity_holdout_check
from xlclv.report.settings import (
    AUTO,
    MAX_SEGMENTS,
    MODELS,
    PERIOD_MONTHS,
    PERIOD_NAMES,
    Settings,
)
from xlclv.transactions import rfm_summary
from xlclv.valuation import customer_lifetime_value

__all__ = ["MAX_SEGMENTS", "MODELS", "STAGES", "Report", "Settings", "build_report"]


@dataclass
class Report:
    """The report as plain DataFrames (column headers are what the workbook shows).

    See docs/contracts.md for every table's columns.
    """

    settings: Settings
    customers: pd.DataFrame
    segments: dict[str, pd.DataFrame]
    cohorts: pd.DataFrame
    cohort_curves: pd.DataFrame
    model_params: pd.DataFrame
    model_fit: pd.DataFrame
    holdout: pd.DataFrame
    holdout_text: str
    concentration: pd.DataFrame
    palive_distribution: pd.DataFrame
    issues: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    #: model = AUTO: Model, Log-likelihood, Parameters, AIC, Holdout error, Chosen (else None)
    model_comparison: pd.DataFrame | None = None
    #: why the purchase model was chosen (AUTO) or that the user set it
    model_choice: str = ""
    #: weekly repeat purchases, actual against predicted (xlclv.report.holdout.tracking_table)
    tracking: pd.DataFrame | None = None
    #: holdout purchases by calibration frequency 0..7+ (xlclv.report.holdout.conditional_table)
    conditional: pd.DataFrame | None = None
    #: mean absolute error and bias of the holdout tracking, in one sentence
    holdout_accuracy: str = ""
    #: the calibration end on the tracking table's Week axis (NaN without tracking)
    tracking_split_week: float = float("nan")


#: The stages, in order, by the names the CLI's progress lines and Excel's status bar show.
STAGES = ("clean", "summarise", "fit", "value", "validate", "segment", "assemble")


def build_report(
    inputs: Any, settings: Settings | None = None, *, progress: Callable[[str], None] | None = None
) -> Report:
    """Build the CLV report from raw inputs: a pipeline of named stages.

    clean -> summarise (RFM) -> fit -> value -> validate (holdout) -> segment (and cohorts)
    -> assemble. Each stage is a function of this module with a small typed input and output.

    Parameters
    ----------
    inputs : xlclv.report.inputs.WorkbookInputs
        Raw transactions (and optional NPS / Marketing tables).
    settings : Settings, optional
        Default: ``Settings.from_values(inputs.settings)``.
    progress : callable, optional
        Called with each stage's name (:data:`STAGES`) as it starts (a CLI progress line,
        Excel's status bar).

    Returns
    -------
    Report

    Raises
    ------
    WorkbookError
        A required column is missing (from :func:`xlclv.report.inputs.clean_transactions`), or a
        ``segment_by`` column is not in the data.
    InputError
        No usable purchase is left after cleaning, or nobody made a repeat purchase (the
        purchase model cannot be estimated); the message says what to do.
    """
    settings = settings if settings is not None else Settings.from_values(inputs.settings)
    step = progress or (lambda stage: None)
    step("clean")
    data = clean(inputs, settings)
    settings = with_data_currency(settings, data)
    step("summarise")
    base = summarise(data, settings)
    step("fit")
    fits = fit(base, data, settings)
    step("value")
    values = value(base, fits, data, settings)
    step("validate")
    check = validate(data, settings, fits)
    step("segment")
    groups = segment(inputs, data, base, values, settings)
    step("assemble")
    return assemble(data, base, fits, values, check, groups, settings)


# -- clean ---------------------------------------------------------------------------------------


@dataclass
class Cleaned:
    """Typed transactions with one integer code per customer, and what was rejected."""

    tx: pd.DataFrame  # customer_id, date, amount and the segment columns
    issues: pd.DataFrame
    sheet: str
    dims: list[str]  # segment columns used
    notes: list[str]
    end: pd.Timestamp  # observation end
    codes: np.ndarray  # customer code of each row of tx
    n_codes: int
    uniques: np.ndarray  # customer id of each code
    amount: np.ndarray
    only_returns: int  # customers left out: no purchase (only returns)
    purchase_rows: np.ndarray  # purchase occasions (amount > 0, or >= 0 with zero amounts)
    returned_all: float = 0.0  # |returns| of every customer, also the returns-only ones
    loss: Any = None  # checks.Loss: rows and amounts not used
    skipped_segments: list[tuple[str, str]] = field(default_factory=list)
    include_zero: bool = True
    reading: dict[str, Any] = field(default_factory=dict)  # columns, date order, separator
    undone: Any = None  # checks.Undone: purchases a status column calls refunded


#: Hidden column that carries each raw row's Excel row number through the cleaning.
_ROW_KEY = "__xlclv_row__"


def today() -> pd.Timestamp:
    """The run date (dates after it are data issues unless observation_end is set)."""
    return pd.Timestamp.today().normalize()


def clean(inputs: Any, settings: Settings) -> Cleaned:
    """Clean the transactions, choose the segment columns and the observation end.

    On the typed rows, the guards of :mod:`xlclv.report.checks` then move to Data issues:
    dates after the run date (unless observation_end is set beyond them), text longer than
    an Excel cell holds, a totals row, and repeated order ids (counted once). Customers with
    only returns are listed there too (their returns still count in the return rate).
    """
    from xlclv.report import checks
    from xlclv.report.inputs import clean_transactions, find_column, normalise_header

    raw = inputs.transactions
    sheet = inputs.transactions_sheet
    first_row = inputs.transactions_first_row
    marked = _with_row_numbers(raw, first_row)
    tx, issues = clean_transactions(
        marked,
        sheet=sheet,
        first_row=first_row,
        observation_end=settings.observation_end,
        # the Settings sheet's reading cells and flags (the Excel button has no other way in)
        columns=settings.columns,
        date_order=settings.date_order,
        decimal_separator=settings.decimal_separator,
    )
    raw.attrs.update(marked.attrs)  # what reading chose (the CLI prints it from the raw table)
    rows = _row_numbers(tx.pop(_ROW_KEY))
    names = _raw_names(raw, tx, find_column)
    tx, rows, issues, handled, notes = _guards(tx, rows, issues, settings, sheet, names)
    extra = [c for c in tx.columns if c not in ("customer_id", "date", "amount")]
    order_col = checks.order_id_column(tx, extra)
    tx["customer_id"], case_note = checks.case_variants(tx["customer_id"])
    notes += [case_note] if case_note else []
    undone, undone_issues = checks.refunded_rows(
        tx, rows, [c for c in extra if c != order_col], sheet
    )
    issues = _concat_issues(issues, undone_issues)
    if undone is not None and undone.share <= settings.max_rejected_share:
        notes.append(undone.message())  # above the limit: a loud warning (see _warnings)
    skipped: list[tuple[str, str]] = []
    if settings.segment_by is None:
        dims, skipped = checks.choose_segments(tx, extra, MAX_SEGMENTS, order_col)
    else:
        dims = segment_dimensions(tx, settings.segment_by, sheet, normalise_header)
    amount = tx["amount"].to_numpy(dtype=float)
    purchase = (amount > 0) | ((amount == 0) & settings.include_zero_amounts)
    if not purchase.any():
        raise InputError(_nothing_usable(tx, issues, sheet))
    zero_rows = issues["Problem"].astype(str).str.startswith("zero amount").to_numpy()
    if settings.include_zero_amounts:  # counted as purchases, so not an issue
        issues = issues[~zero_rows]
    else:
        issues = checks.relabel(
            issues,
            zero_rows,
            lambda p: (
                "zero amount: kept, but not counted as a purchase (include_zero_amounts is off)"
            ),
        )
    loss, issues = _loss(raw, first_row, issues, sheet, amount, handled, names)
    end = (
        pd.Timestamp(settings.observation_end)
        if settings.observation_end is not None
        else tx["date"].max()
    )
    # customers as integer codes: every per-customer sum below is a bincount
    codes, uniques = pd.factorize(tx["customer_id"])
    returned_all = abs(float(amount[amount < 0].sum()))
    bought = np.bincount(codes[purchase], minlength=len(uniques)) > 0
    only_returns = int((~bought).sum())
    if only_returns:
        issues = _concat_issues(
            issues, _returns_only(tx, rows, codes, bought, sheet, names["customer_id"])
        )
        keep = bought[codes]
        tx, codes, amount, purchase = tx[keep], codes[keep], amount[keep], purchase[keep]
    if len(issues):
        issues = issues.sort_values(["Sheet", "Row"], kind="stable").reset_index(drop=True)
    from xlclv.report.clean import CHOSEN_ATTR

    reading = dict(marked.attrs.get(CHOSEN_ATTR) or {})
    reading["written_in"] = _written_in(tx, rows, extra, reading.get("written_in"), sheet)
    notes = [*reading.get("notes", []), *notes]
    return Cleaned(
        tx, issues, sheet, dims, notes, end, codes, len(uniques), np.asarray(uniques), amount,
        only_returns, purchase, returned_all, loss, skipped, settings.include_zero_amounts,
        reading, undone,
    )  # fmt: skip


def _written_in(tx, rows, extra, marks, sheet: str):
    """The one currency of the used rows: their amounts' marks and a ``Currency`` column."""
    from xlclv.report import currency

    column = next((c for c in extra if currency.is_currency_header(c)), None)
    if column is None:
        return marks
    text = tx[column].astype(str).str.strip().reset_index(drop=True)
    given = (text != "(blank)").to_numpy()
    code = text.str.fullmatch(r"[A-Za-z]{3}") | text.map(currency.normal_mark).isin(currency.MARKS)
    if not code.to_numpy()[given].all():
        return marks  # not currency codes: an ordinary segment column
    first = np.flatnonzero(~text.duplicated().to_numpy() & given)
    listed = [(text.iloc[i], text.iloc[i], int(rows[i])) for i in first]
    fix = "Convert the amounts to one currency, or report on each currency's rows separately"
    where = f"The values of column '{column}' of sheet '{sheet}'"
    said = currency.one_currency(listed, what=where, how_to_fix=fix)
    if said is None or marks is None:
        return said or marks
    if not said.codes & marks.codes:
        raise WorkbookError(
            f"Amounts in sheet '{sheet}' are written in {marks.shown()}, but column "
            f"'{column}' says {said.shown()}. Fix the amounts or the currency column"
        )
    return currency.Written(said.codes & marks.codes, marks.example, marks.row)


def with_data_currency(settings: Settings, data: Cleaned) -> Settings:
    """``settings`` with the report's currency: the one set, else the data's, else USD."""
    from xlclv.report.currency import report_currency

    written = data.reading.get("written_in")
    chosen = report_currency(
        settings.currency, written, where=f"the amounts in sheet '{data.sheet}'"
    )
    if written is not None and not settings.currency:
        data.notes.append(
            f"Currency {chosen}, as the data are written: {written.shown()}. Set --currency "
            "(Settings: currency) to override"
        )
    return replace(settings, currency=chosen)


def no_purchase_problem(returns: int, total: float, zeros: int) -> str:
    what = []
    if returns:
        what.append(f"{returns:,} return(s), {total:,.2f}")
    if zeros:
        what.append(f"{zeros:,} zero amount(s), not counted with include_zero_amounts off")
    tail = "; the returns count in the return rate" if returns else ""
    return (
        f"customer has no purchase in the data (only {' and '.join(what)}): not in the "
        f"Customers sheet (nothing to predict){tail}"
    )


def _with_row_numbers(raw: pd.DataFrame, first_row: int) -> pd.DataFrame:
    """``raw`` (a shallow copy) plus a text column with each row's Excel row number (blank on
    blank rows, so the cleaning still skips those; text, because ids are read as text)."""
    marked = raw.copy(deep=False)
    blank = np.ones(len(raw), dtype=bool)
    for col in raw.columns:  # later columns are only looked at where all before were blank
        rows = np.flatnonzero(blank)
        if rows.size == 0:
            break
        s = raw[col].iloc[rows] if rows.size < len(raw) else raw[col]
        cell_blank = np.asarray(s.isna(), dtype=bool)
        if pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype):
            spaces = s.astype(str).str.strip() == ""
            cell_blank = cell_blank | np.asarray(spaces, dtype=bool)
        blank[rows] = cell_blank
    numbers = pd.array(np.arange(first_row, first_row + len(raw)).astype(str), dtype="string")
    numbers[blank] = pd.NA
    marked[_ROW_KEY] = numbers
    return marked


def _row_numbers(column: pd.Series) -> np.ndarray:
    """The hidden column back as integers (-1 where the cleaning saw a row as blank-ish)."""
    text = np.asarray(column.astype(str), dtype=str)
    digits = np.char.isdigit(text)
    out = np.full(len(text), -1, dtype=np.int64)
    out[digits] = text[digits].astype(np.int64)
    return out


def _raw_names(raw: pd.DataFrame, tx: pd.DataFrame, find: Callable) -> dict[str, str]:
    """The raw headers of customer_id, date and amount (for Data issues' Column)."""
    chosen = dict((tx.attrs.get("xlclv_reading") or {}).get("columns") or {})
    out = {}
    for name in ("customer_id", "date", "amount"):
        out[name] = str(chosen.get(name) or find(raw, name) or name)
    return out


def _guards(tx, rows, issues, settings, sheet, names):
    """Future dates, over-long text, totals rows and repeated orders out of ``tx``."""
    from xlclv.report import checks

    frames, notes = [issues], []
    early, early_issues = checks.before_1900(tx, rows, sheet, names["date"])
    drop = np.array(early, dtype=bool)
    frames.append(early_issues)
    if settings.observation_end is None:
        late, late_issues = checks.future_dates(tx, rows, today(), sheet, names["date"])
        drop |= late
        frames.append(late_issues)
    text_cols = [c for c in tx.columns if c not in ("date", "amount")]
    long, long_issues = checks.too_long_text(tx, rows, text_cols, sheet, names)
    drop |= long
    frames.append(long_issues)
    tx, rows = tx[~drop].reset_index(drop=True), rows[~drop]
    extra = [c for c in tx.columns if c not in ("customer_id", "date", "amount")]
    order_col = checks.order_id_column(tx, extra)
    label_cols = ["customer_id"] + ([order_col] if order_col else [])
    totals, total_issues = checks.totals_rows(tx, rows, label_cols, sheet, names["customer_id"])
    frames.append(total_issues)
    handled = int(totals.sum())
    tx, rows = tx[~totals].reset_index(drop=True), rows[~totals]
    if order_col is not None:
        dup = checks.duplicate_orders(tx, rows, order_col, sheet)
        frames.append(dup.issues)
        handled += int(dup.dropped.sum())
        out = dup.dropped | dup.conflicting
        tx, rows = tx[~out].reset_index(drop=True), rows[~out]
        if dup.line_items:
            notes.append(
                f"{dup.line_items:,} row(s) are further lines of an order already in the data "
                f"(same '{order_col}', customer and day): their amounts are added to the order."
            )
    frames = [f for f in frames if len(f)]
    if frames:
        issues = pd.concat(frames, ignore_index=True)
    return tx, rows, issues, handled, notes


def _loss(raw, first_row, issues, sheet, used_amounts, handled, names):
    """Rows of the transactions sheet not used, and their share of the amounts."""
    from xlclv.report import checks

    column = names["amount"] if names["amount"] in raw.columns else None
    amounts = raw[column] if column is not None else pd.Series(np.nan, index=raw.index)
    if not len(issues):
        none = np.zeros(0, dtype=np.int64)
        return checks.material_loss(amounts, none, used_amounts, handled), issues
    mine = (issues["Sheet"] == sheet).to_numpy()
    text = issues["Problem"].astype(str)
    not_used = mine & text.str.contains("not used", regex=False).to_numpy()
    # left out on purpose: repeats counted once, rows after an observation_end the user set
    not_used &= ~text.str.startswith("duplicate of row").to_numpy()
    not_used &= ~text.str.startswith("date after observation_end").to_numpy()
    positions = issues["Row"][not_used].to_numpy(dtype=np.int64) - first_row
    positions = np.unique(positions[(positions >= 0) & (positions < len(raw))])
    totals = checks.rejected_totals(raw, positions, amounts, float(used_amounts.sum()))
    if totals.size:  # a totals row without a date: the cleaning rejected it; it is no loss
        rows = set((totals + first_row).tolist())
        hit = mine & issues["Row"].isin(rows).to_numpy()
        issues = checks.relabel(
            issues,
            hit,
            lambda p: "totals row (its amount is the sum of the other rows): left out",
        )
        positions = np.setdiff1d(positions, totals)
        handled += int(totals.size)
    return checks.material_loss(amounts, positions, used_amounts, handled), issues


def _returns_only(tx, rows, codes, bought, sheet, cid_name) -> pd.DataFrame:
    """One Data issues row per customer with only returns (at their first row)."""
    lost = ~bought[codes]
    df = pd.DataFrame(
        {
            "code": codes[lost],
            "row": rows[lost],
            "amount": tx["amount"].to_numpy()[lost],
            "id": tx["customer_id"].to_numpy(dtype=object)[lost],
        }
    )
    df["ret"] = df["amount"] < 0
    g = df.groupby("code", sort=False)
    first, n, total, ids = g["row"].min(), g["ret"].sum(), g["amount"].sum(), g["id"].first()
    zeros = g.size() - n
    return pd.DataFrame(
        {
            "Sheet": sheet,
            "Row": first.to_numpy(dtype=np.int64),
            "Column": cid_name,
            "Value": ids.astype(str).to_numpy(dtype=object),
            "Problem": [
                no_purchase_problem(int(k), float(t), int(z))
                for k, t, z in zip(n.tolist(), total.tolist(), zeros.tolist(), strict=True)
            ],
        }
    )


# -- summarise -----------------------------------------------------------------------------------


@dataclass
class Summary:
    """The RFM summary and where each customer sits in the cleaned rows."""

    rfm: pd.DataFrame  # frequency, recency, T, monetary_value by customer id
    where: np.ndarray  # code of each rfm customer
    first_row: np.ndarray  # row of tx with each rfm customer's first purchase
    first_day: np.ndarray  # datetime64[ns] of that purchase
    day: np.ndarray  # datetime64[ns] of every row of tx


def summarise(data: Cleaned, settings: Settings) -> Summary:
    """The RFM summary (with ``periods``: the opportunity summary of :func:`opportunity_summary`);
    stops if nobody bought twice (no model can be estimated)."""
    if settings.periods:
        rfm = opportunity_summary(data, settings.periods)
    else:
        rfm = rfm_summary(
            data.tx,
            time_unit=settings.time_unit,
            observation_end=data.end,
            include_zero_amounts=data.include_zero,
        )
    where = pd.Index(data.uniques).get_indexer(rfm.index)
    day = data.tx["date"].to_numpy(dtype="datetime64[ns]")
    first_row = _first_purchase_rows(data, day)[where]
    if not (rfm["frequency"] > 0).any():
        raise InputError(
            ("The only customer" if len(rfm) == 1 else f"Every one of the {len(rfm):,} customers")
            + f" bought only once (on one day) by "
            f"{data.end.date().isoformat()}, so the {MODELS.get(settings.model, 'purchase')} "
            "model cannot "
            "estimate how often customers buy again or when they stop. Add more history (a "
            f"longer period in sheet '{data.sheet}') or set a later observation_end."
        )
    return Summary(rfm, where, first_row, day[first_row], day)


def opportunity_summary(data: Cleaned, periods: str) -> pd.DataFrame:
    """BG/BB's summary: whether each customer bought in each calendar period after her first.

    Opportunity 0 is the period of the first purchase; ``T`` (the opportunities observed,
    BG/BB's n) is the number of periods after it up to the observation end, ``frequency`` the
    number of those with a purchase, ``recency`` the last of them (0 if none), and
    ``monetary_value`` the mean amount per repeat period (Fader, Hardie & Shang 2010). The
    observation end must close a period, so that every counted period was fully observed.
    """
    name = PERIOD_NAMES[periods]
    last = pd.Period(data.end, freq=periods)
    if data.end.normalize() != last.end_time.normalize():
        raise InputError(
            f"With periods = {periods} the report counts whole {name}s, but the observation "
            f"end {data.end.date().isoformat()} is not the last day of a {name}: set "
            f"observation_end to {(last - 1).end_time.date().isoformat()} (the end of the last "
            f"whole {name}) or {last.end_time.date().isoformat()}."
        )
    buys = data.tx[data.purchase_rows]
    customer = buys["customer_id"].to_numpy()
    ords = pd.PeriodIndex(buys["date"], freq=periods).asi8
    frame = pd.DataFrame({"c": customer, "k": ords, "amount": buys["amount"].to_numpy()})
    first = frame.groupby("c", sort=False)["k"].min()
    frame["k"] -= frame["c"].map(first).to_numpy()
    repeat = frame[frame["k"] >= 1].groupby(["c", "k"], sort=False)["amount"].sum()
    by = repeat.groupby(level=0, sort=False)
    rfm = pd.DataFrame(index=first.index)
    rfm["frequency"] = by.size().reindex(first.index).fillna(0).astype(float)
    rfm["recency"] = (
        pd.Series(repeat.index.get_level_values(1), index=repeat.index.get_level_values(0))
        .groupby(level=0)
        .max()
        .reindex(first.index)
        .fillna(0)
        .astype(float)
    )
    rfm["T"] = (last.ordinal - first).astype(float)
    rfm["monetary_value"] = by.mean().reindex(first.index).fillna(0.0)
    rfm.index.name = "customer_id"
    return rfm


def _first_purchase_rows(data: Cleaned, day: np.ndarray) -> np.ndarray:
    """Each customer code's first purchase row (earliest date, then input order)."""
    p_idx = np.flatnonzero(data.purchase_rows)
    p_codes = data.codes[p_idx]
    order = np.lexsort((p_idx, day[p_idx], p_codes))
    firsts = np.full(data.n_codes, -1, dtype=np.int64)
    sorted_codes = p_codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    firsts[sorted_codes[starts]] = p_idx[order][starts]
    return firsts


# -- fit -----------------------------------------------------------------------------------------


@dataclass
class Fits:
    purchase: Any  # fitted BG/NBD or Pareto/NBD
    spend: Any  # fitted Gamma-Gamma, or MeanSpend
    spend_note: str  # why the spend fallback was used ("" if it was not)
    warnings: list[str]
    model: str = ""  # the purchase model's key ("" = settings.model)
    comparison: pd.DataFrame | None = None  # model = AUTO: the comparison table
    choice: str = ""  # why this purchase model
    holdout: Holdout | None = None  # model = AUTO: the chosen model's holdout check

    def model_key(self, settings: Settings) -> str:
        return self.model or settings.model


def fit(base: Summary, data: Cleaned, settings: Settings) -> Fits:
    """Fit the purchase model (model = AUTO: choose it) and the spend model on the RFM summary."""
    purchases = data.tx[data.purchase_rows]
    # Gamma-Gamma needs a positive mean spend: a repeat buyer whose repeat purchases were all
    # free ($0) is valued by the model but does not enter its fit.
    rfm = base.rfm
    spend_rfm = rfm[(rfm["frequency"] == 0) | (rfm["monetary_value"] > 0)]
    spend, spend_note, spend_warnings = fit_spend(spend_rfm, purchases, data.end)
    if settings.periods:
        return _fit_bgbb(base, settings, spend, spend_note, spend_warnings)
    if settings.model == AUTO:
        choice = compare_models(base.rfm, lambda key: _holdout(key, data, settings))
        chosen = choice.chosen
        return Fits(
            chosen.fitted, spend, spend_note, [*chosen.warnings, *spend_warnings],
            model=choice.key, comparison=choice.table, choice=choice.reason,
            holdout=chosen.holdout,
        )  # fmt: skip
    purchase, purchase_warnings = fit_purchase(settings.model, base.rfm)
    choice = f"{MODELS[settings.model]}, as set (model = {settings.model})."
    return Fits(
        purchase, spend, spend_note, [*purchase_warnings, *spend_warnings],
        model=settings.model, choice=choice,
    )  # fmt: skip


def _fit_bgbb(base: Summary, settings: Settings, spend, spend_note, spend_warnings) -> Fits:
    """BG/BB on the opportunity summary (``periods`` set)."""
    import warnings

    from xlclv.models import BetaGeoBetaBinomModel

    rfm = base.rfm
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = BetaGeoBetaBinomModel().fit(rfm["frequency"], rfm["recency"], rfm["T"])
    name = PERIOD_NAMES[settings.periods]
    choice = (
        f"BG/BB, because periods = {settings.periods}: each customer buys or not in each "
        f"{name} after her first (Fader, Hardie & Shang 2010)."
    )
    notes = [f"BG/BB: {w.message}" for w in caught]
    return Fits(model, spend, spend_note, [*notes, *spend_warnings], model="BGBB", choice=choice)


# -- value ---------------------------------------------------------------------------------------


@dataclass
class Values:
    """Per-customer predictions (in rfm order) and the base's return rate."""

    p_alive: np.ndarray
    expected: np.ndarray  # purchases over the horizon
    spend: np.ndarray  # expected spend per purchase
    predicted: np.ndarray  # predicted CLV, net of the return rate
    gross: float
    returned: float
    return_rate: float
    ranges: ClvRanges | None = None  # P10/P90 of predicted CLV (None: not computed, see notes)
    no_purchase: np.ndarray | None = None  # P(no purchase in the churn horizon)
    notes: list[str] = field(default_factory=list)  # why a range or churn risk is missing


@dataclass
class ClvRanges:
    """P10 and P90 of predicted CLV from parameter uncertainty (:mod:`xlclv.intervals`)."""

    p10: np.ndarray  # per customer, rfm order
    p90: np.ndarray
    total: tuple[float, float]  # of the total predicted CLV
    segments: dict[str, pd.DataFrame]  # per dimension: p10, p90 of each segment's total


#: Parameter draws behind the CLV ranges, and their fixed seed (the report is deterministic).
RANGE_DRAWS = 1000
RANGE_SEED = 20240101
#: Above this many distinct (frequency, recency, T) rows the Pareto/NBD ranges are skipped: its
#: P(alive) needs a hypergeometric function per row and draw (minutes on big data).
PNBD_RANGE_ROWS = 50_000
RANGE_MEANING = (
    "P10 to P90 of predicted CLV over 1,000 draws of the fitted model parameters: the range "
    "reflects uncertainty in the fitted parameters, not in one customer's future purchases "
    "(what a single customer will actually buy is far more uncertain). The range of a total "
    "is computed from the totals of the draws, not by adding the customers' ranges."
)


def value(base: Summary, fits: Fits, data: Cleaned, settings: Settings) -> Values:
    """P(alive), expected purchases and spend, predicted CLV and its range, and churn risk."""
    if fits.model_key(settings) == "BGBB":
        return _value_bgbb(base, fits, data, settings)
    rfm, unit = base.rfm, settings.time_unit
    x, tx_, T, m = (rfm[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    horizon_units = months_to_units(settings.horizon_months, unit)
    p_alive = np.asarray(fits.purchase.probability_alive(x, tx_, T), dtype=float).reshape(-1)
    expected = fits.purchase.expected_purchases(horizon_units, x, tx_, T)
    spend = fits.spend.expected_spend(x, m)
    gross = float(data.amount[data.purchase_rows].sum())
    returned = data.returned_all  # also the returns of customers with no purchase
    return_rate = min(returned / gross, 1.0) if gross > 0 else 0.0
    clv = customer_lifetime_value(
        fits.purchase,
        fits.spend,
        x,
        tx_,
        T,
        m,
        gross_margin=settings.gross_margin,
        horizon_months=settings.horizon_months,
        annual_discount_rate=settings.annual_discount_rate,
        time_unit=unit,
    )
    notes: list[str] = []
    ranges = _clv_ranges(base, fits, data, settings, 1.0 - return_rate, notes)
    no_purchase = churn_risk(base, fits, settings, notes)
    return Values(
        p_alive=p_alive,
        expected=np.asarray(expected, dtype=float).reshape(-1),
        spend=np.asarray(spend, dtype=float).reshape(-1),
        predicted=np.asarray(clv, dtype=float).reshape(-1) * (1.0 - return_rate),
        gross=gross,
        returned=returned,
        return_rate=return_rate,
        ranges=ranges,
        no_purchase=no_purchase,
        notes=notes,
    )


def _value_bgbb(base: Summary, fits: Fits, data: Cleaned, settings: Settings) -> Values:
    """BG/BB values: expected purchases at each future opportunity within the horizon, times
    the expected spend and margin, each discounted to its period (opportunity j, j periods
    ahead, at the annual rate); net of the return rate as for the other models."""
    rfm, periods = base.rfm, settings.periods
    x, tx_, n, m = (rfm[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    months = PERIOD_MONTHS[periods]
    ahead = int(np.floor(settings.horizon_months / months + 1e-9))
    if ahead < 1:
        raise InputError(
            f"Setting 'horizon_months' is {settings.horizon_months:g}, shorter than one "
            f"{PERIOD_NAMES[periods]} (periods = {periods}): set it to at least {months}."
        )
    model = fits.purchase
    cumulative = np.column_stack(
        [model.expected_purchases(j, x, tx_, n) for j in range(1, ahead + 1)]
    )
    per_period = np.diff(cumulative, axis=1, prepend=0.0)
    discount = (1.0 + settings.annual_discount_rate) ** (-np.arange(1, ahead + 1) * months / 12)
    spend = np.asarray(fits.spend.expected_spend(x, m), dtype=float).reshape(-1)
    gross = float(data.amount[data.purchase_rows].sum())
    returned = abs(float(data.amount[data.amount < 0].sum()))
    return_rate = min(returned / gross, 1.0) if gross > 0 else 0.0
    clv = spend * settings.gross_margin * (per_period @ discount) * (1.0 - return_rate)
    notes: list[str] = []
    ranges = _clv_ranges(base, fits, data, settings, 1.0 - return_rate, notes)
    notes.append(f"{churn_header(settings)} is not shown for BG/BB (discrete opportunities).")
    return Values(
        p_alive=np.asarray(model.probability_alive(x, tx_, n), dtype=float).reshape(-1),
        expected=cumulative[:, -1],
        spend=spend,
        predicted=clv,
        gross=gross,
        returned=returned,
        return_rate=return_rate,
        ranges=ranges,
        notes=notes,
    )


def _clv_ranges(
    base: Summary, fits: Fits, data: Cleaned, settings: Settings, scale: float, notes: list[str]
) -> ClvRanges | None:
    """P10/P90 of every customer's, each segment's and the total predicted CLV, or None with a
    note saying why (fallback spend model, no covariance, Pareto/NBD on too many rows)."""
    from xlclv.intervals import clv_interval
    from xlclv.models import GammaGammaModel

    rfm, key = base.rfm, fits.model_key(settings)
    skip = "CLV ranges (P10/P90) are not shown: "
    if fits.spend_note or not isinstance(fits.spend, GammaGammaModel):
        notes.append(skip + "the spend model is the mean-spend fallback, which has no "
                     "parameter uncertainty to draw from.")  # fmt: skip
        return None
    if key == "PNBD":
        rows = len(rfm.drop_duplicates(["frequency", "recency", "T"]))
        if rows > PNBD_RANGE_ROWS:
            notes.append(
                skip + f"the Pareto/NBD ranges need {rows:,} distinct customer histories "
                f"x {RANGE_DRAWS:,} draws of a hypergeometric function (over "
                f"{PNBD_RANGE_ROWS:,} takes minutes); choose BG/NBD or MBG/NBD for ranges."
            )
            return None
    x, tx_, T, m = (rfm[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    common = dict(
        gross_margin=settings.gross_margin, horizon_months=settings.horizon_months,
        annual_discount_rate=settings.annual_discount_rate, time_unit=settings.time_unit,
        n_draws=RANGE_DRAWS, quantiles=(0.1, 0.9), seed=RANGE_SEED,
    )  # fmt: skip
    if key == "BGBB":  # opportunities: recency and T count periods (Fader, Hardie & Shang 2010)
        common["months_per_period"] = PERIOD_MONTHS[settings.periods]
    # One call for the customers, the total and every dimension's segments: the customers are
    # stacked once per dimension, labelled (dimension, segment). The draws' work is per distinct
    # history, so the copies cost little; each copy adds the same total to every draw, so the
    # quantiles of the stacked total are k times those of the total.
    k = max(len(data.dims), 1)
    labels = np.empty(len(rfm) * k, dtype=object)
    for i, d in enumerate(data.dims):
        seg = data.tx[d].iloc[base.first_row].to_numpy(dtype=object)
        labels[i * len(rfm) : (i + 1) * len(rfm)] = [(d, v) for v in seg]
    if not data.dims:
        labels[:] = [("", "")] * len(rfm)
    stack = [np.tile(c, k) for c in (x, tx_, T, m)]
    try:
        res = clv_interval(fits.purchase, fits.spend, *stack, groups=labels, **common)
    except XlclvError as exc:
        notes.append(skip + str(exc))
        return None
    segments: dict[str, pd.DataFrame] = {}
    for d in data.dims:
        rows = [g for g in res.groups.index if g[0] == d]
        part = res.groups.loc[rows, ["p10", "p90"]] * scale
        part.index = pd.Index([g[1] for g in rows], dtype=object)
        segments[d] = part
    first = res.customers.iloc[: len(rfm)]
    return ClvRanges(
        p10=first["p10"].to_numpy(dtype=float) * scale,
        p90=first["p90"].to_numpy(dtype=float) * scale,
        total=(float(res.total["p10"]) * scale / k, float(res.total["p90"]) * scale / k),
        segments=segments,
    )


def churn_header(settings: Settings) -> str:
    """The Customers column of churn risk, e.g. ``P(no purchase, next 90 days)``."""
    return f"P(no purchase, next {settings.churn_horizon_days:g} days)"


def churn_risk(
    base: Summary, fits: Fits, settings: Settings, notes: list[str]
) -> np.ndarray | None:
    """P(no purchase in the next churn_horizon_days) per customer under the chosen model."""
    name = MODELS.get(fits.model_key(settings), "purchase model")
    if not hasattr(fits.purchase, "probability_no_purchase"):
        notes.append(
            f"{churn_header(settings)} is not shown: this version's {name} has no "
            "probability_no_purchase."
        )
        return None
    rfm = base.rfm
    x, tx_, T = (rfm[c].to_numpy() for c in ("frequency", "recency", "T"))
    t = settings.churn_horizon_days / DAYS_PER_UNIT[settings.time_unit]
    p = np.asarray(fits.purchase.probability_no_purchase(t, x, tx_, T), dtype=float)
    return p.reshape(-1)


def palive_note(key: str, one_time_buyers: int, settings: Settings, churn: bool = True) -> str:
    """One sentence on what P(alive) means for one-time buyers under the chosen model
    (``churn``: the Customers sheet has the churn-risk column to point to)."""
    n = f"{one_time_buyers:,} one-time buyer" + ("" if one_time_buyers == 1 else "s")
    if key == "BGBB":
        name = PERIOD_NAMES.get(settings.periods or "Y", "period")
        return (
            f"P(alive) under BG/BB (the model used) is the chance of still being active at "
            f"the next {name}; for the {n} it falls with every {name} without a purchase."
        )
    if not churn:
        return (
            f"P(alive) under {MODELS.get(key, key)} (the model used) is 100 % for the {n}, "
            "because that model lets customers stop only after a repeat purchase; under "
            "MBG/NBD (model = MBGNBD) one-time buyers can be inactive too."
            if key == "BGNBD"
            else f"P(alive) under {MODELS.get(key, key)} (the model used) lets one-time "
            f"buyers be inactive too: for the {n} it falls the longer ago their only purchase "
            "was."
        )
    churn = churn_header(settings)
    if key == "MBGNBD":
        return (
            f"P(alive) under MBG/NBD (the model used) lets one-time buyers be inactive too: "
            f"for the {n} it falls the longer ago their only purchase was."
        )
    if key == "PNBD":
        return (
            f"P(alive) under Pareto/NBD (the model used) lets customers stop at any time, so "
            f"for the {n} it falls the longer ago their only purchase was (MBG/NBD would do "
            f"the same); see also {churn}."
        )
    return (
        f"P(alive) under {MODELS.get(key, key)} (the model used) is 100 % for the {n}, "
        "because that model lets customers stop only after a repeat purchase; read their "
        f"churn risk in {churn} instead, or set model = MBGNBD, under which one-time buyers "
        "can be inactive too."
    )


# -- validate ------------------------------------------------------------------------------------


def validate(data: Cleaned, settings: Settings, fits: Fits | None = None) -> Holdout:
    """The holdout check (:func:`xlclv.report.holdout.holdout_check`) of the purchase model
    (model = AUTO: the one the fit stage chose, whose check it already ran)."""
    if fits is not None and fits.holdout is not None:
        return fits.holdout
    if settings.periods:
        purchases = data.tx.loc[data.purchase_rows, ["customer_id", "date"]]
        return opportunity_holdout_check(
            purchases, data.end, settings.periods, settings.holdout_weeks
        )
    key = fits.model_key(settings) if fits is not None else settings.model
    if key == AUTO:  # no fit stage: the choice needs every model's check
        return compare_models(
            summarise(data, settings).rfm, lambda k: _holdout(k, data, settings)
        ).chosen.holdout
    return _holdout(key, data, settings)


def _holdout(key: str, data: Cleaned, settings: Settings) -> Holdout:
    return holdout_check(
        key,
        data.tx,
        data.end,
        settings.time_unit,
        settings.holdout_weeks,
        include_zero_amounts=data.include_zero,
    )


# -- segment -------------------------------------------------------------------------------------


@dataclass
class Groups:
    """The customer table and everything grouped from it."""

    customers: pd.DataFrame
    segments: dict[str, pd.DataFrame]
    cohorts: pd.DataFrame
    cohort_curves: pd.DataFrame
    cohort_kind: str
    concentration: pd.DataFrame
    palive_distribution: pd.DataFrame
    issues: pd.DataFrame  # the cleaning issues plus those of the NPS and Marketing sheets
    notes: list[str]


def segment(
    inputs: Any, data: Cleaned, base: Summary, values: Values, settings: Settings
) -> Groups:
    """The customer table, segment tables (with NPS, CAC), cohorts and distributions."""
    from xlclv.report import segments as seg

    core = _core_table(data, base, values, settings)
    customers = customer_table(data, base, values, settings, core)
    nps, issues = _nps(inputs, data, customers)
    marketing, mk_dim, mk_issues, notes = _marketing(inputs, data)
    issues = _concat_issues(issues, mk_issues)
    segments = {
        d: with_range(table, d, values)
        for d, table in _segment_tables(
            core, _segment_values(data, base), nps, marketing, mk_dim
        ).items()
    }
    first_purchase = pd.Series(base.first_day, index=base.rfm.index)
    span_days = float((first_purchase.max() - first_purchase.min()).days)
    labels, cohort_kind = seg.cohort_labels(first_purchase, span_days)
    # per transaction: its customer's cohort and the days since their first purchase
    customer_of_code = np.full(data.n_codes, -1, dtype=np.int64)
    customer_of_code[base.where] = np.arange(len(base.rfm))
    row_customer = customer_of_code[data.codes]
    curves = seg.cohort_curves(
        row_customer,
        (base.day - base.first_day[row_customer]) / np.timedelta64(1, "D"),
        data.amount,
        labels,
        first_purchase,
        data.end,
    )
    return Groups(
        customers=customers,
        segments=segments,
        cohorts=seg.cohort_table(core, labels),
        cohort_curves=curves,
        cohort_kind=cohort_kind,
        concentration=seg.concentration_curve(values.predicted),
        palive_distribution=seg.palive_distribution(values.p_alive),
        issues=issues,
        notes=notes,
    )


def with_range(table: pd.DataFrame, dim: str, values: Values) -> pd.DataFrame:
    """The segment table with the P10/P90 of each segment's total beside Predicted CLV."""
    if values.ranges is None or dim not in values.ranges.segments:
        return table
    ranges = values.ranges.segments[dim]
    predicted = [c for c in table.columns[1:] if str(c).startswith("Predicted CLV")]
    if not predicted:
        return table
    at = list(table.columns).index(predicted[0]) + 1
    for q in ("p10", "p90"):
        by_label = dict(zip(ranges.index, ranges[q].to_numpy(dtype=float), strict=True))
        column = [by_label.get(v, np.nan) for v in table[dim]]
        table.insert(at, f"Predicted CLV ({q.upper()})", column)
        at += 1
    return table


def customer_table(
    data: Cleaned, base: Summary, values: Values, settings: Settings, core=None
) -> pd.DataFrame:
    """One row per customer, with the headers the Customers sheet shows.

    The segment columns keep the user's names and values; a report column whose name a
    segment column already uses is renamed (``Tier`` -> ``CLV tier``, others get
    " (CLV report)"), so nothing is overwritten.
    """
    core = _core_table(data, base, values, settings) if core is None else core
    dims = _segment_values(data, base)
    customers = core[["Customer ID"]].copy()
    for d, v in dims.items():
        customers[d] = v
    taken = {str(c).casefold() for c in customers.columns}
    for col in core.columns[1:]:
        customers[_report_header(col, taken)] = core[col].to_numpy()
    return customers


def _core_table(data: Cleaned, base: Summary, values: Values, settings: Settings):
    """The report's own per-customer columns, under their standard names (no segments)."""
    from xlclv.report.segments import assign_tiers

    rfm, unit = base.rfm, settings.periods or settings.time_unit
    net = np.bincount(data.codes, weights=data.amount, minlength=data.n_codes)[base.where]
    orders = np.bincount(data.codes[data.purchase_rows], minlength=data.n_codes)[base.where]
    ids = rfm.index.to_numpy(dtype=object).astype(str).astype(object)
    customers = pd.DataFrame({"Customer ID": ids})
    customers["First purchase"] = base.first_day
    customers["Orders"] = orders.astype(np.int64)
    customers["Revenue"] = np.round(net, 10)
    customers["Historical CLV"] = customers["Revenue"] * settings.gross_margin
    customers["P(alive)"] = values.p_alive
    if values.no_purchase is not None:
        customers[churn_header(settings)] = values.no_purchase
    customers["Expected purchases"] = values.expected
    customers["Expected spend"] = values.spend
    customers["Predicted CLV"] = values.predicted
    if values.ranges is not None:
        customers["Predicted CLV (P10)"] = values.ranges.p10
        customers["Predicted CLV (P90)"] = values.ranges.p90
    customers["Tier"] = assign_tiers(values.predicted, ids)
    customers["Frequency"] = rfm["frequency"].to_numpy()
    customers[f"Recency ({unit})"] = rfm["recency"].to_numpy()
    customers[f"T ({unit})"] = rfm["T"].to_numpy()
    return customers


def _segment_values(data: Cleaned, base: Summary) -> dict[str, np.ndarray]:
    """Each segment column's value per customer: the one on their first purchase."""
    return {d: data.tx[d].iloc[base.first_row].to_numpy(dtype=object) for d in data.dims}


_RENAMED = {"Tier": "CLV tier"}


def _report_header(name: str, taken: set[str]) -> str:
    """``name``, or a variant no column in ``taken`` (casefolded) uses yet; adds it."""
    out = name
    if out.casefold() in taken:
        out = _RENAMED.get(name, f"{name} (CLV report)")
        k = 2
        while out.casefold() in taken:
            out, k = f"{name} (CLV report {k})", k + 1
    taken.add(out.casefold())
    return out


_DIM_KEY = "\x00segment"


def _segment_tables(core, dims, nps, marketing, mk_dim) -> dict[str, pd.DataFrame]:
    """One table per segment column, computed under a private key so that a segment named
    like a report column (``Customers``, ``Revenue``...) cannot collide with it."""
    from xlclv.report import segments as seg

    out = {}
    for d, v in dims.items():
        table = seg.segment_table(
            core.assign(**{_DIM_KEY: v}),
            _DIM_KEY,
            nps=nps,
            marketing=marketing if d == mk_dim else None,
        )
        taken = {str(d).casefold()}
        names = {_DIM_KEY: d}
        for col in table.columns[1:]:
            names[col] = _report_header(col, taken)
        out[d] = table.rename(columns=names)
    return out


def _nps(inputs: Any, data: Cleaned, customers: pd.DataFrame):
    """(cleaned NPS answers or None, issues with the NPS sheet's added)."""
    from xlclv.report.inputs import clean_nps, find_column

    issues = data.issues
    if inputs.nps is None or not len(inputs.nps.columns):
        return None, issues
    nps_sheet = getattr(inputs, "nps_sheet", "NPS")
    nps, nps_issues = clean_nps(
        inputs.nps, sheet=nps_sheet, first_row=getattr(inputs, "nps_first_row", 2)
    )
    issues = _concat_issues(issues, nps_issues)
    unknown = ~nps["customer_id"].isin(customers["Customer ID"]).to_numpy()
    if unknown.any():
        cid_col = find_column(inputs.nps, "customer_id") or "customer_id"
        issues = _concat_issues(
            issues,
            pd.DataFrame(
                {
                    "Sheet": nps_sheet,
                    "Row": nps["row"][unknown].to_numpy(),
                    "Column": cid_col,
                    "Value": nps["customer_id"][unknown].astype(str).to_numpy(),
                    "Problem": f"customer_id not found on sheet '{data.sheet}': response not "
                    "counted in segment NPS",
                }
            ),
        )
    return nps, issues


def _marketing(inputs: Any, data: Cleaned):
    """(cleaned marketing spend or None, the segment column it is by, issues, notes)."""
    from xlclv.report.inputs import clean_marketing, normalise_header

    if inputs.marketing is None or not len(inputs.marketing.columns):
        return None, None, None, []
    mk_sheet = getattr(inputs, "marketing_sheet", "Marketing")
    marketing, mk_issues, mk_col = clean_marketing(
        inputs.marketing, sheet=mk_sheet, first_row=getattr(inputs, "marketing_first_row", 2)
    )
    key = normalise_header(mk_col)
    mk_dim = next((d for d in data.dims if normalise_header(d) == key), None)
    notes = []
    if mk_dim is None:
        notes.append(
            f"Sheet '{mk_sheet}' gives spend by '{mk_col}', which is not a segment column "
            f"of '{data.sheet}' ({', '.join(data.dims) or 'none'}): CAC and LTV:CAC are not "
            "shown."
        )
    return marketing, mk_dim, mk_issues, notes


# -- assemble ------------------------------------------------------------------------------------


def assemble(
    data: Cleaned,
    base: Summary,
    fits: Fits,
    values: Values,
    check: Holdout,
    groups: Groups,
    settings: Settings,
) -> Report:
    """The Model sheet's tables, the notes and the headline summary, into a :class:`Report`."""
    notes = [*data.notes, *groups.notes]
    if fits.spend_note:
        notes.insert(len(data.notes), fits.spend_note)
    if data.only_returns:
        notes.append(
            f"{data.only_returns:,} customer(s) with only returns and no purchase are not in "
            "the customer table (listed in Data issues); their returns count in the return "
            "rate."
        )
    notes += fits.warnings + values.notes
    warnings_ = _warnings(data, fits, settings)
    notes = [*warnings_, *notes, *_segment_notes(data)]
    first_purchase = base.first_day.min()
    model_fit = pd.DataFrame(
        _fit_rows(data, base, fits, values, check, groups, settings, first_purchase)
        + [("Note", n) for n in notes],
        columns=["Item", "Value"],
    )
    issues = groups.issues.reset_index(drop=True)
    dims, segments = data.dims, groups.segments
    top_segment = None
    if dims and len(segments[dims[0]]):
        best = segments[dims[0]].iloc[0]
        top_segment = f"{dims[0]}: {best[dims[0]]}"
    summary = {
        "customers": len(groups.customers),
        "total_predicted_clv": float(np.nansum(values.predicted)),
        "top_segment": top_segment,
        "issues": len(issues),
        "currency": settings.currency,
        "time_unit": settings.time_unit,
        "observation_end": data.end.date(),
        "return_rate": values.return_rate,
        "model": MODELS[fits.model_key(settings)],
        "holdout": check.text,
        "notes": notes,
        # loud: a red banner on the Dashboard, printed by the CLI, exit status 3
        "warnings": warnings_,
        "margin_note": _margin_note(settings),
        "one_time_note": _one_time_note(base, fits.model_key(settings)),
        "segments_chosen": list(data.dims),
        "segments_skipped": list(data.skipped_segments),
        "rows_not_used": data.loss.rows if data.loss is not None else 0,
        "total_clv_range": None if values.ranges is None else values.ranges.total,
        "palive_note": palive_note(
            fits.model_key(settings),
            int((base.rfm["frequency"] == 0).sum()),
            settings,
            churn=values.no_purchase is not None,
        ),
    }
    return Report(
        settings=settings,
        customers=groups.customers,
        segments=segments,
        cohorts=groups.cohorts,
        cohort_curves=groups.cohort_curves,
        model_params=params_table(fits.purchase, fits.spend, fits.model_key(settings)),
        model_fit=model_fit,
        holdout=check.table,
        holdout_text=check.text,
        concentration=groups.concentration,
        palive_distribution=groups.palive_distribution,
        issues=issues,
        summary=summary,
        model_comparison=fits.comparison,
        model_choice=fits.choice,
        tracking=check.tracking,
        conditional=check.conditional,
        holdout_accuracy=check.accuracy,
        tracking_split_week=check.split_week,
    )


def not_converged_message(name: str, fitted: Any) -> str:
    """The one message for a model that did not converge (Dashboard, console, Model sheet).

    Replaces the optimiser's own message, which may read "Optimization terminated
    successfully" next to "converged: NO".
    """
    reason = str(getattr(fitted, "fit_message_", "") or "")
    reason = re.sub(r"^did not converge:?\s*", "", reason)
    reason = re.sub(r";?\s*optimiser:.*$", "", reason).strip(" ;") or "no clear optimum"
    fix = (
        "Add more data (more customers or a longer period)."
        if "spend" in name
        else "Try the other purchase model (--model), another time unit, or more data."
    )
    return f"The {name} model did not converge ({reason}): its predictions are not reliable. {fix}"


def _warnings(data: Cleaned, fits: Fits, settings: Settings) -> list[str]:
    """The loud warnings: material data loss and a model that did not converge."""
    out = []
    loss = data.loss
    if loss is not None and loss.material(settings.max_rejected_share):
        out.append(
            loss.message() + f" (warning above {settings.max_rejected_share:.1%}: "
            "max_rejected_share)"
        )
    if data.undone is not None and data.undone.share > settings.max_rejected_share:
        out.append(data.undone.message())
    if not fits.purchase.converged_:
        out.append(not_converged_message(MODELS[fits.model_key(settings)], fits.purchase))
    if not fits.spend_note and not getattr(fits.spend, "converged_", True):
        out.append(not_converged_message("Gamma-Gamma spend", fits.spend))
    return out


def _margin_note(settings: Settings) -> str:
    if settings.gross_margin < 1:
        return ""
    return (
        "No gross margin was given: every CLV figure is REVENUE at 100% margin, not profit. "
        "Set gross_margin (e.g. --gross-margin 0.3 for 30%) to see profit."
    )


def _one_time_note(base: Summary, model: str) -> str:
    once = int((base.rfm["frequency"] == 0).sum())
    if model != "BGNBD" or once == 0:
        return ""
    return (
        f"Why P(alive) = 100% for the {once:,} one-time buyers: BG/NBD lets a customer drop out "
        "only right after a repeat purchase, so someone who bought once is never counted as "
        "gone (their expected purchases still fall the longer they stay silent). For a "
        "drop-out chance after the first purchase too, use MBG/NBD (--model MBGNBD, "
        "xlclv.models.ModifiedBetaGeoModel) or Pareto/NBD (--model PNBD)."
    )


def _segment_notes(data: Cleaned) -> list[str]:
    if not data.dims and not data.skipped_segments:
        return []
    chosen = ", ".join(f"'{d}'" for d in data.dims) or "none"
    out = [f"Segments: {chosen}."]
    if data.skipped_segments:
        out.append(
            "Not used as segments: "
            + "; ".join(f"'{c}' ({why})" for c, why in data.skipped_segments)
            + ". Name a column in segment_by to use it anyway."
        )
    return out


def _loss_rows(data: Cleaned) -> list[tuple[str, object]]:
    loss = data.loss
    if loss is None:
        return []
    return [
        ("Transaction rows not used", loss.rows),
        ("Share of rows not used", f"{loss.row_share:.2%}"),
        ("Share of amounts not used", f"{loss.amount_share:.2%}"),
    ]


def _reading_rows(reading: dict[str, Any]) -> list[tuple[str, object]]:
    """Which input columns were used, and how text dates and amounts were read."""
    rows: list[tuple[str, object]] = []
    columns = reading.get("columns") or {}
    if columns:
        used = ", ".join(f"{field} = '{header}'" for field, header in columns.items())
        rows.append(("Columns used", used))
    if reading.get("date_order"):
        rows.append(("Text dates read as", reading["date_order"]))
    if reading.get("decimal_separator"):
        rows.append(("Decimal separator of text amounts", reading["decimal_separator"]))
    return rows


def _fit_rows(data, base, fits, values, check, groups, settings, first_purchase):
    """The Model sheet's fit table, item by item."""
    purchase, spend = fits.purchase, fits.spend
    rows: list[tuple[str, object]] = [
        ("Purchase model", MODELS[fits.model_key(settings)]),
        ("Spend model", "Gamma-Gamma" if not fits.spend_note else "Mean spend (fallback)"),
        (
            ("Opportunities", f"calendar {PERIOD_NAMES[settings.periods]}s (periods)")
            if settings.periods
            else ("Time unit", {"D": "days", "W": "weeks", "M": "months"}[settings.time_unit])
        ),
        ("First purchase in the data", pd.Timestamp(first_purchase).date().isoformat()),
        ("Observation end", data.end.date().isoformat()),
        *_reading_rows(data.reading),
        ("Customers", len(base.rfm)),
        ("Repeat customers", int((base.rfm["frequency"] > 0).sum())),
        ("Transactions used", len(data.tx)),
        *_loss_rows(data),
        ("Purchase model log-likelihood", float(purchase.log_likelihood_)),
        ("Purchase model converged", "yes" if purchase.converged_ else "NO"),
        (
            "Purchase model message",
            str(purchase.fit_message_)
            if purchase.converged_
            else not_converged_message(MODELS[fits.model_key(settings)], purchase),
        ),
    ]
    if not fits.spend_note:
        rows += [
            ("Spend model log-likelihood", float(spend.log_likelihood_)),
            ("Spend model converged", "yes" if spend.converged_ else "NO"),
            (
                "Spend model message",
                str(spend.fit_message_)
                if spend.converged_
                else not_converged_message("Gamma-Gamma spend", spend),
            ),
        ]
    return rows + [
        ("Gross sales", values.gross),
        ("Returns", values.returned),
        ("Return rate", values.return_rate),
        (
            "Returns policy",
            "Returns (negative amounts) reduce Revenue and Historical CLV; Predicted CLV is "
            "the model value of future purchases x (1 - return rate).",
        ),
        ("Horizon (months)", float(settings.horizon_months)),
        *([("CLV range (P10 to P90)", RANGE_MEANING)] if values.ranges is not None else []),
        *(
            [
                (
                    "Churn risk",
                    f"{churn_header(settings)}: the probability that a customer makes no "
                    f"purchase in the next {settings.churn_horizon_days:g} days under the "
                    f"{MODELS[fits.model_key(settings)]} model (inactive, or active but not "
                    "buying).",
                )
            ]
            if values.no_purchase is not None
            else []
        ),
        ("Cohorts by", groups.cohort_kind),
        *check.items,
    ]


def segment_dimensions(
    tx: pd.DataFrame, segment_by: list[str] | None, sheet: str, key: Callable[[object], str]
) -> list[str]:
    extra = [c for c in tx.columns if c not in ("customer_id", "date", "amount")]
    if segment_by is None:
        return extra
    by_key = {key(c): c for c in extra}
    dims, missing = [], []
    for name in segment_by:
        col = by_key.get(key(name))
        if col is None:
            missing.append(name)
        elif col not in dims:
            dims.append(col)
    if missing:
        raise WorkbookError(
            f"Setting 'segment_by' names {', '.join(repr(m) for m in missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not a column of sheet '{sheet}'; "
            f"segment columns found: {', '.join(map(str, extra)) or 'none'}. Leave "
            "segment_by blank to use all of them."
        )
    return dims


def _nothing_usable(tx: pd.DataFrame, issues: pd.DataFrame, sheet: str) -> str:
    if len(tx):
        return (
            f"Sheet '{sheet}' has no purchases (amounts above 0), only returns or zero amounts; "
            "a CLV report needs purchases."
        )
    if len(issues) == 0:
        return f"Sheet '{sheet}' has no transactions: paste customer_id, date and amount rows."
    first = issues.iloc[0]
    return (
        f"No usable transaction in sheet '{sheet}': all {len(issues):,} rows were rejected, "
        f"e.g. row {first['Row']}: {first['Problem']}."
    )


def _concat_issues(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    if b is None or b.empty:
        return a
    if a.empty:
        return b.reset_index(drop=True)
    return pd.concat([a, b], ignore_index=True)
