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

Amounts of exactly 0 are rejected (listed in Data issues: not counted as a purchase).

Settings
--------
:class:`Settings` holds the validated settings; :meth:`Settings.from_values` reads raw cell
values (the Settings sheet) plus overrides (CLI flags). Percentages are fractions: a gross
margin of 40 % is 0.4 (an Excel cell formatted as % holds 0.4) or the text "40%"; a value
above 1 is rejected with that hint rather than silently divided by 100.

Holdout check
-------------
The purchase model is refitted on the data up to 75 % of the period (first purchase to
observation end) and predicts each early customer's repeat purchases in the last 25 %; the
Model sheet compares the total with what customers actually did, in a table and a sentence.
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

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xlclv._errors import FitError, InputError, WorkbookError
from xlclv._timeunits import months_to_units
from xlclv.report.settings import MAX_SEGMENTS, MODELS, Settings
from xlclv.transactions import rfm_summary
from xlclv.valuation import customer_lifetime_value

__all__ = ["MAX_SEGMENTS", "MODELS", "Report", "Settings", "build_report"]


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


def build_report(
    inputs: Any, settings: Settings | None = None, *, progress: Callable[[str], None] | None = None
) -> Report:
    """Build the CLV report from raw inputs.

    Parameters
    ----------
    inputs : xlclv.report.inputs.WorkbookInputs
        Raw transactions (and optional NPS / Marketing tables).
    settings : Settings, optional
        Default: ``Settings.from_values(inputs.settings)``.
    progress : callable, optional
        Called with the name of each phase as it starts (a CLI progress line, Excel's status
        bar).

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
    from xlclv.report import segments as seg
    from xlclv.report.inputs import (
        clean_marketing,
        clean_nps,
        clean_transactions,
        find_column,
        normalise_header,
    )

    settings = settings if settings is not None else Settings.from_values(inputs.settings)
    step = progress or (lambda phase: None)
    unit = settings.time_unit

    step("clean transactions")
    tx, issues = clean_transactions(
        inputs.transactions,
        sheet=inputs.transactions_sheet,
        first_row=inputs.transactions_first_row,
        observation_end=settings.observation_end,
    )
    sheet = inputs.transactions_sheet
    dims = _dimensions(tx, settings.segment_by, sheet, normalise_header)
    notes: list[str] = []
    if settings.segment_by is None:  # all extra columns: leave out ids, free text, amounts
        for d in list(dims):
            n = tx[d].nunique()
            if n > MAX_SEGMENTS:
                dims.remove(d)
                notes.append(
                    f"Column '{d}' has {n:,} different values, too many for a segment "
                    f"(at most {MAX_SEGMENTS}); it is not used. Name it in segment_by to "
                    "use it anyway."
                )
    amount = tx["amount"].to_numpy(dtype=float)
    if not (amount > 0).any():
        raise InputError(_nothing_usable(tx, issues, sheet))
    end = (
        pd.Timestamp(settings.observation_end)
        if settings.observation_end is not None
        else tx["date"].max()
    )
    # customers as integer codes: every per-customer sum below is a bincount
    codes, uniques = pd.factorize(tx["customer_id"])
    n_codes = len(uniques)
    bought = np.bincount(codes[amount > 0], minlength=n_codes) > 0
    only_returns = int((~bought).sum())
    if only_returns:
        keep = bought[codes]
        tx, codes, amount = tx[keep], codes[keep], amount[keep]
    purchase_rows = amount > 0
    purchases = tx[purchase_rows]

    step("RFM summary")
    rfm = rfm_summary(tx, time_unit=unit, observation_end=end)
    # position of each rfm customer among the codes
    where = pd.Index(uniques).get_indexer(rfm.index)
    # each customer's first purchase row (earliest date, then input order)
    p_idx = np.flatnonzero(purchase_rows)
    p_codes = codes[p_idx]
    day = tx["date"].to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((p_idx, day[p_idx], p_codes))
    firsts = np.full(n_codes, -1, dtype=np.int64)
    sorted_codes = p_codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    firsts[sorted_codes[starts]] = p_idx[order][starts]
    first_row = firsts[where]
    if not (rfm["frequency"] > 0).any():
        raise InputError(
            ("The only customer" if len(rfm) == 1 else f"Every one of the {len(rfm):,} customers")
            + f" bought only once (on one day) by "
            f"{end.date().isoformat()}, so the {MODELS[settings.model]} model cannot estimate "
            "how often customers buy again or when they stop. Add more history (a longer "
            f"period in sheet '{sheet}') or set a later observation_end."
        )

    step("fit purchase model")
    purchase_model, purchase_warnings = _fit_purchase(settings.model, rfm)
    step("fit spend model")
    spend_model, spend_note, spend_warnings = _fit_spend(rfm, purchases, end)
    if spend_note:
        notes.append(spend_note)

    step("value customers")
    x, tx_, T, m = (rfm[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    horizon_units = months_to_units(settings.horizon_months, unit)
    p_alive = np.asarray(purchase_model.probability_alive(x, tx_, T), dtype=float).reshape(-1)
    expected = np.asarray(
        purchase_model.expected_purchases(horizon_units, x, tx_, T), dtype=float
    ).reshape(-1)
    spend = np.asarray(spend_model.expected_spend(x, m), dtype=float).reshape(-1)
    gross = float(amount[purchase_rows].sum())
    returned = abs(float(amount[amount < 0].sum()))
    return_rate = min(returned / gross, 1.0) if gross > 0 else 0.0
    clv = customer_lifetime_value(
        purchase_model,
        spend_model,
        x,
        tx_,
        T,
        m,
        gross_margin=settings.gross_margin,
        horizon_months=settings.horizon_months,
        annual_discount_rate=settings.annual_discount_rate,
        time_unit=unit,
    )
    predicted = np.asarray(clv, dtype=float).reshape(-1) * (1.0 - return_rate)

    net = np.bincount(codes, weights=amount, minlength=n_codes)[where]
    orders = np.bincount(codes[purchase_rows], minlength=n_codes)[where]
    ids = rfm.index.to_numpy(dtype=object).astype(str).astype(object)
    customers = pd.DataFrame({"Customer ID": ids})
    for d in dims:
        customers[d] = tx[d].iloc[first_row].to_numpy(dtype=object)
    first_day = day[first_row]
    customers["First purchase"] = first_day
    customers["Orders"] = orders.astype(np.int64)
    customers["Revenue"] = np.round(net, 10)
    customers["Historical CLV"] = customers["Revenue"] * settings.gross_margin
    customers["P(alive)"] = p_alive
    customers["Expected purchases"] = expected
    customers["Expected spend"] = spend
    customers["Predicted CLV"] = predicted
    customers["Tier"] = seg.assign_tiers(predicted, ids)
    customers["Frequency"] = x
    customers[f"Recency ({unit})"] = tx_
    customers[f"T ({unit})"] = T

    step("holdout check")
    holdout, holdout_text, holdout_items = _holdout(settings.model, tx, end, unit)

    step("segments and cohorts")
    nps = marketing = None
    mk_dim = None
    if inputs.nps is not None and len(inputs.nps.columns):
        nps, nps_issues = clean_nps(
            inputs.nps,
            sheet=getattr(inputs, "nps_sheet", "NPS"),
            first_row=getattr(inputs, "nps_first_row", 2),
        )
        issues = _concat_issues(issues, nps_issues)
        unknown = ~nps["customer_id"].isin(customers["Customer ID"]).to_numpy()
        if unknown.any():
            nps_sheet = getattr(inputs, "nps_sheet", "NPS")
            cid_col = find_column(inputs.nps, "customer_id") or "customer_id"
            issues = _concat_issues(
                issues,
                pd.DataFrame(
                    {
                        "Sheet": nps_sheet,
                        "Row": nps["row"][unknown].to_numpy(),
                        "Column": cid_col,
                        "Value": nps["customer_id"][unknown].astype(str).to_numpy(),
                        "Problem": f"customer_id not found on sheet '{sheet}': response not "
                        "counted in segment NPS",
                    }
                ),
            )
    if inputs.marketing is not None and len(inputs.marketing.columns):
        mk_sheet = getattr(inputs, "marketing_sheet", "Marketing")
        marketing, mk_issues, mk_col = clean_marketing(
            inputs.marketing, sheet=mk_sheet, first_row=getattr(inputs, "marketing_first_row", 2)
        )
        issues = _concat_issues(issues, mk_issues)
        mk_dim = next((d for d in dims if normalise_header(d) == normalise_header(mk_col)), None)
        if mk_dim is None:
            notes.append(
                f"Sheet '{mk_sheet}' gives spend by '{mk_col}', which is not a segment column "
                f"of '{sheet}' ({', '.join(dims) or 'none'}): CAC and LTV:CAC are not shown."
            )
    segments = {
        d: seg.segment_table(customers, d, nps=nps, marketing=marketing if d == mk_dim else None)
        for d in dims
    }
    first_purchase = pd.Series(first_day, index=rfm.index)
    span_days = float((first_purchase.max() - first_purchase.min()).days)
    labels, cohort_kind = seg.cohort_labels(first_purchase, span_days)
    cohorts = seg.cohort_table(customers, labels)
    # per transaction: its customer's cohort and the months since their first purchase
    customer_of_code = np.full(n_codes, -1, dtype=np.int64)
    customer_of_code[where] = np.arange(len(rfm))
    row_customer = customer_of_code[codes]
    curves = seg.cohort_curves(
        row_customer,
        (day - first_day[row_customer]) / np.timedelta64(1, "D"),
        amount,
        labels,
        first_purchase,
        end,
    )
    concentration = seg.concentration_curve(predicted)
    palive = seg.palive_distribution(p_alive)

    model_params = _params_table(purchase_model, spend_model, settings.model)
    fit_rows: list[tuple[str, object]] = [
        ("Purchase model", MODELS[settings.model]),
        ("Spend model", "Gamma-Gamma" if not spend_note else "Mean spend (fallback)"),
        ("Time unit", {"D": "days", "W": "weeks", "M": "months"}[unit]),
        ("First purchase in the data", first_purchase.min().date().isoformat()),
        ("Observation end", end.date().isoformat()),
        ("Customers", len(rfm)),
        ("Repeat customers", int((rfm["frequency"] > 0).sum())),
        ("Transactions used", len(tx)),
        ("Purchase model log-likelihood", float(purchase_model.log_likelihood_)),
        ("Purchase model converged", "yes" if purchase_model.converged_ else "NO"),
        ("Purchase model message", str(purchase_model.fit_message_)),
    ]
    if not spend_note:
        fit_rows += [
            ("Spend model log-likelihood", float(spend_model.log_likelihood_)),
            ("Spend model converged", "yes" if spend_model.converged_ else "NO"),
            ("Spend model message", str(spend_model.fit_message_)),
        ]
    fit_rows += [
        ("Gross sales", gross),
        ("Returns", returned),
        ("Return rate", return_rate),
        (
            "Returns policy",
            "Returns (negative amounts) reduce Revenue and Historical CLV; Predicted CLV is "
            "the model value of future purchases x (1 - return rate).",
        ),
        ("Horizon (months)", float(settings.horizon_months)),
        ("Cohorts by", cohort_kind),
        *holdout_items,
    ]
    if only_returns:
        notes.append(
            f"{only_returns:,} customer(s) with no purchase above 0 in the data (only returns "
            "or zero amounts) are not in the customer table."
        )
    for w in [*purchase_warnings, *spend_warnings]:
        notes.append(w)
    if not purchase_model.converged_:
        notes.append(
            f"The {MODELS[settings.model]} fit did not fully converge "
            f"({purchase_model.fit_message_}); treat the predictions with care."
        )
    fit_rows += [("Note", n) for n in notes]
    model_fit = pd.DataFrame(fit_rows, columns=["Item", "Value"])

    issues = issues.reset_index(drop=True)
    top_segment = None
    if dims and len(segments[dims[0]]):
        best = segments[dims[0]].iloc[0]
        top_segment = f"{dims[0]}: {best[dims[0]]}"
    summary = {
        "customers": len(customers),
        "total_predicted_clv": float(np.nansum(predicted)),
        "top_segment": top_segment,
        "issues": len(issues),
        "currency": settings.currency,
        "time_unit": unit,
        "observation_end": end.date(),
        "return_rate": return_rate,
        "model": MODELS[settings.model],
        "holdout": holdout_text,
        "notes": notes,
    }
    return Report(
        settings=settings,
        customers=customers,
        segments=segments,
        cohorts=cohorts,
        cohort_curves=curves,
        model_params=model_params,
        model_fit=model_fit,
        holdout=holdout,
        holdout_text=holdout_text,
        concentration=concentration,
        palive_distribution=palive,
        issues=issues,
        summary=summary,
    )


def _dimensions(
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


def _purchase_model(model: str) -> Any:
    from xlclv.models import BetaGeoModel, ParetoNBDModel

    return BetaGeoModel() if model == "BGNBD" else ParetoNBDModel()


def _fit_purchase(model: str, rfm: pd.DataFrame) -> tuple[Any, list[str]]:
    fitted = _purchase_model(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted.fit(rfm["frequency"], rfm["recency"], rfm["T"])
    return fitted, [f"{MODELS[model]}: {w.message}" for w in caught]


class _MeanSpend:
    """Fallback spend model: every customer's expected spend is the mean purchase amount."""

    def __init__(self, mean: float) -> None:
        self.mean = float(mean)
        self.params_ = {"mean spend": self.mean}
        self.standard_errors_ = {"mean spend": float("nan")}

    def expected_spend(self, frequency, monetary_value) -> np.ndarray:
        return np.full(np.size(frequency), self.mean)


def _fit_spend(
    rfm: pd.DataFrame, purchases: pd.DataFrame, end: pd.Timestamp
) -> tuple[Any, str, list[str]]:
    from xlclv.models import GammaGammaModel

    repeat = rfm["frequency"] > 0
    model = GammaGammaModel()
    caught: list[warnings.WarningMessage] = []
    problem = ""
    if int(repeat.sum()) < 2:
        problem = f"only {int(repeat.sum())} customer(s) bought more than once"
    else:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(rfm["frequency"], rfm["monetary_value"])
            if model.params_["q"] <= 1:
                problem = "the fitted spend distribution has no finite mean (q <= 1)"
        except FitError as exc:
            problem = str(exc)
    if problem:
        days = purchases[purchases["date"] <= end].groupby(["customer_id", "date"])["amount"]
        mean = float(days.sum().mean())
        note = (
            f"The Gamma-Gamma spend model could not be used ({problem}); every customer's "
            f"expected spend per purchase is the mean purchase amount, {mean:,.2f}."
        )
        return _MeanSpend(mean), note, []
    return model, "", [f"Gamma-Gamma: {w.message}" for w in caught]


def _params_table(purchase_model: Any, spend_model: Any, model: str) -> pd.DataFrame:
    rows = []
    for name, fitted in ((MODELS[model], purchase_model), ("Gamma-Gamma", spend_model)):
        if isinstance(fitted, _MeanSpend):
            name = "Mean spend (fallback)"
        for key, value in fitted.params_.items():
            se = fitted.standard_errors_.get(key, float("nan"))
            rows.append((name, key, float(value), float(se)))
    return pd.DataFrame(rows, columns=["Model", "Parameter", "Estimate", "Std. error"])


def _holdout(
    model: str, tx: pd.DataFrame, end: pd.Timestamp, unit: str
) -> tuple[pd.DataFrame, str, list[tuple[str, object]]]:
    """Refit on the first 75 % of the period, predict the last 25 %, compare with actual."""
    columns = ["Measure", "Predicted", "Actual", "Difference", "Difference %"]
    empty = pd.DataFrame(columns=columns)
    start = tx.loc[tx["amount"] > 0, "date"].min()
    period = (end - start).days
    hold_days = int(round(0.25 * period))
    if period < 28 or hold_days < 7:
        text = (
            "The holdout check needs at least four weeks of data; this data covers "
            f"{period} days, so it was skipped."
        )
        return empty, text, [("Holdout check", "skipped")]
    cal_end = end - pd.Timedelta(days=hold_days)
    try:
        split = rfm_summary(tx, time_unit=unit, observation_end=end, calibration_end=cal_end)
        if not (split["frequency_cal"] > 0).any():
            raise FitError("no repeat purchase in the calibration period")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = _purchase_model(model).fit(
                split["frequency_cal"], split["recency_cal"], split["T_cal"]
            )
        predicted = np.asarray(
            fitted.expected_purchases(
                split["duration_holdout"].to_numpy(),
                split["frequency_cal"].to_numpy(),
                split["recency_cal"].to_numpy(),
                split["T_cal"].to_numpy(),
            ),
            dtype=float,
        )
    except (FitError, InputError) as exc:
        text = f"The holdout check could not be run ({exc})."
        return empty, text, [("Holdout check", "not run")]
    pred = float(predicted.sum())
    actual = float(split["frequency_holdout"].sum())
    n = len(split)
    rows = [
        ("Repeat purchases in the holdout", pred, actual),
        ("Repeat purchases per customer", pred / n, actual / n),
    ]
    table = pd.DataFrame(rows, columns=["Measure", "Predicted", "Actual"])
    table["Difference"] = table["Predicted"] - table["Actual"]
    table["Difference %"] = table["Difference"] / table["Actual"].where(table["Actual"] > 0)
    length = _duration_text(hold_days)
    if actual > 0:
        pct = f" ({(pred - actual) / actual:+.1%})".replace("%", " %")
    else:
        pct = ""
    text = (
        f"Holding out the last {length} (after {cal_end.date().isoformat()}), the model fitted "
        f"on the earlier data predicted {pred:,.0f} repeat purchases by the {n:,} customers "
        f"acquired before then; they actually made {actual:,.0f}{pct}."
    )
    items = [
        ("Holdout calibration end", cal_end.date().isoformat()),
        ("Holdout length (days)", hold_days),
        ("Holdout customers", n),
        ("Holdout fit converged", "yes" if fitted.converged_ else "NO"),
    ]
    return table, text, items


def _duration_text(days: int) -> str:
    if days >= 70:
        return f"{days / 7:.0f} weeks"
    return f"{days} days"
