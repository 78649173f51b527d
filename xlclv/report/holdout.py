"""The validate stage: refit on the calibration period, predict the holdout, compare.

The holdout is the last ``holdout_weeks`` weeks, or by default the last 25 % of the period from
the first purchase to the observation end. The purchase model is refitted on the calibration
period (the customers acquired by then) and compared with what those customers did:

- the total of each customer's conditional expectation in the holdout against the actual
  repeat purchases (the table and sentence);
- the tracking of repeat purchases week by week over calibration and holdout, actual against
  predicted, incremental and cumulative; predicted cumulative repeat purchases at time t are
  sum_i E[X(t - t_i)], E[X(.)] the expected repeat purchases of a new customer and t_i the
  customer's first purchase (Fader, Hardie & Lee 2005, fig. 2);
- the conditional expectation in the holdout by calibration frequency 0, 1, ..., 7+ (ibid.,
  fig. 4), whose customer-weighted mean absolute error is the holdout error the automatic
  model choice uses.

Purchases are counted per purchase day, as in the RFM summary. A purchase on day d is at time
d - t_i (days, in the model's unit), so the calibration period (t_i, calibration end] matches
the fitted T_cal.

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting Your Customers' the Easy Way:
An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xlclv._errors import FitError, InputError
from xlclv._timeunits import DAYS_PER_UNIT
from xlclv.report.fit import purchase_model
from xlclv.transactions import rfm_summary

__all__ = [
    "MAX_POINTS",
    "TOP_FREQUENCY",
    "Holdout",
    "conditional_table",
    "holdout_check",
    "predicted_cumulative",
    "tracking_table",
]

#: The conditional expectation groups customers by calibration frequency 0, 1, ..., 7+.
TOP_FREQUENCY = 7
#: At most this many periods on the tracking chart (longer data: periods of several weeks).
MAX_POINTS = 260
TRACKING_COLUMNS = [
    "Week",
    "Period end",
    "Period",
    "Actual",
    "Predicted",
    "Actual (cumulative)",
    "Predicted (cumulative)",
]
CONDITIONAL_COLUMNS = [
    "Purchases in calibration",
    "Customers",
    "Actual (average)",
    "Predicted (average)",
]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(columns=columns)


@dataclass
class Holdout:
    """The holdout check of one purchase model.

    Attributes
    ----------
    table : DataFrame
        Measure, Predicted, Actual, Difference, Difference % (conditional expectations).
    text : str
        The comparison in one sentence (or why the check did not run).
    items : list of (str, object)
        Lines for the Model sheet's fit table.
    tracking : DataFrame
        :data:`TRACKING_COLUMNS`, one row per week (see :func:`tracking_table`).
    conditional : DataFrame
        :data:`CONDITIONAL_COLUMNS`, one row per calibration frequency (:func:`conditional_table`).
    accuracy : str
        Mean absolute error and bias of the weekly tracking in the holdout, in one sentence.
    error : float
        Holdout error: the mean, over customers, of the absolute difference between predicted
        and actual average holdout purchases of their calibration-frequency group (the
        customer-weighted MAE of :attr:`conditional`). NaN when the check did not run.
    split_week : float
        The calibration end on the tracking table's ``Week`` axis.
    fitted : purchase model or None
        The model fitted on the calibration period.
    """

    table: pd.DataFrame
    text: str
    items: list[tuple[str, object]]
    tracking: pd.DataFrame = field(default_factory=lambda: _empty(TRACKING_COLUMNS))
    conditional: pd.DataFrame = field(default_factory=lambda: _empty(CONDITIONAL_COLUMNS))
    accuracy: str = ""
    error: float = math.nan
    split_week: float = math.nan
    fitted: Any = None


def holdout_check(
    model: str,
    tx: pd.DataFrame,
    end: pd.Timestamp,
    unit: str,
    holdout_weeks: int | None = None,
    include_zero_amounts: bool = False,
) -> Holdout:
    """Refit ``model`` on the calibration period, predict the holdout, compare with actual.

    Parameters
    ----------
    model : str
        Purchase model key (:data:`xlclv.report.settings.PURCHASE_MODELS`).
    tx : DataFrame
        Cleaned transactions (customer_id, date, amount); amounts above 0 are purchases.
    end : Timestamp
        Observation end (last day of the holdout).
    unit : {"D", "W", "M"}
        The model's time unit.
    holdout_weeks : int, optional
        Holdout length; None = the last 25 % of the period (first purchase to ``end``).
    include_zero_amounts : bool, default False
        Count $0.00 rows as purchase occasions, as :func:`xlclv.transactions.rfm_summary`
        does with the same flag (the report passes its include_zero_amounts setting).

    Returns
    -------
    Holdout
    """
    columns = ["Measure", "Predicted", "Actual", "Difference", "Difference %"]
    empty = pd.DataFrame(columns=columns)
    bought = (tx["amount"] >= 0) if include_zero_amounts else (tx["amount"] > 0)
    start = tx.loc[bought, "date"].min()
    period = (end - start).days
    if holdout_weeks is None:
        hold_days = int(round(0.25 * period))
        if period < 28 or hold_days < 7:
            text = (
                "The holdout check needs at least four weeks of data; this data covers "
                f"{period} days, so it was skipped."
            )
            return Holdout(empty, text, [("Holdout check", "skipped")])
    else:
        hold_days = 7 * int(holdout_weeks)
        if period - hold_days < 28:
            text = (
                f"The holdout check was skipped: a holdout of {holdout_weeks} weeks leaves "
                f"{max(period - hold_days, 0)} days before it (the data covers {period} days "
                "from the first purchase), and the model needs at least four weeks to be "
                "fitted on. Set a smaller holdout_weeks, or leave it blank for the last 25 %."
            )
            return Holdout(empty, text, [("Holdout check", "skipped")])
    cal_end = end - pd.Timedelta(days=hold_days)
    try:
        split = rfm_summary(
            tx,
            time_unit=unit,
            observation_end=end,
            calibration_end=cal_end,
            include_zero_amounts=include_zero_amounts,
        )
        if not (split["frequency_cal"] > 0).any():
            raise FitError("no repeat purchase in the calibration period")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = purchase_model(model).fit(
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
        return Holdout(empty, text, [("Holdout check", "not run")])
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
    text = holdout_sentence(hold_days, cal_end, pred, actual, n)
    items = [
        ("Holdout calibration end", cal_end.date().isoformat()),
        ("Holdout length (days)", hold_days),
        ("Holdout customers", n),
        ("Holdout fit converged", "yes" if fitted.converged_ else "NO"),
    ]
    conditional, error = conditional_table(
        split["frequency_cal"].to_numpy(), split["frequency_holdout"].to_numpy(), predicted
    )
    result = Holdout(table, text, items, conditional=conditional, error=error, fitted=fitted)
    if hasattr(fitted, "expected_purchases_new_customer"):
        purchases = tx.loc[bought & (tx["date"] <= end), ["customer_id", "date"]]
        result.tracking = tracking_table(fitted, purchases, cal_end, end, unit)
        result.split_week = (cal_end - start).days / 7.0
        result.accuracy = _accuracy(result.tracking)
    return result


def holdout_sentence(
    hold_days: int, cal_end: pd.Timestamp, pred: float, actual: float, n: int
) -> str:
    """The holdout check in one sentence: predicted against actual repeat purchases."""
    length = _duration_text(hold_days)
    if actual > 0:
        pct = f" ({(pred - actual) / actual:+.1%})".replace("%", " %")
    else:
        pct = ""
    return (
        f"Holding out the last {length} (after {cal_end.date().isoformat()}), the model fitted "
        f"on the earlier data predicted {pred:,.0f} repeat purchases by the {n:,} customers "
        f"acquired before then (from each one's purchase history); they actually made "
        f"{actual:,.0f}{pct}."
    )


# -- tracking ------------------------------------------------------------------------------------


def _days(dates) -> np.ndarray:
    return np.asarray(pd.to_datetime(dates).to_numpy(dtype="datetime64[D]"), dtype=np.int64)


def predicted_cumulative(
    fitted, first_days: np.ndarray, at_days: np.ndarray, unit: str
) -> np.ndarray:
    """Expected cumulative repeat purchases of a customer base at given days.

    sum_i E[X(max(at - t_i, 0))], with E[X(t)] ``fitted.expected_purchases_new_customer`` and
    t_i the day of customer i's first purchase (Fader, Hardie & Lee 2005, fig. 2).

    Parameters
    ----------
    fitted : fitted purchase model
    first_days, at_days : array of int
        Day numbers (any common origin) of each customer's first purchase, and of the times
        to evaluate at.
    unit : {"D", "W", "M"}
        The fitted model's time unit.

    Returns
    -------
    numpy.ndarray, one value per ``at_days``.
    """
    cohorts, sizes = np.unique(np.asarray(first_days, dtype=np.int64), return_counts=True)
    at = np.asarray(at_days, dtype=np.int64)
    age = np.maximum(at[:, None] - cohorts[None, :], 0) / DAYS_PER_UNIT[unit]
    ages, inverse = np.unique(age, return_inverse=True)
    ex = np.asarray(fitted.expected_purchases_new_customer(ages), dtype=float)
    return ex[inverse.reshape(age.shape)] @ sizes.astype(float)


def tracking_table(
    fitted, purchases: pd.DataFrame, cal_end: pd.Timestamp, end: pd.Timestamp, unit: str
) -> pd.DataFrame:
    """Repeat purchases per week, actual against predicted, over calibration and holdout.

    Only the customers acquired by ``cal_end`` count (those ``fitted`` was fitted on). A
    period ends on a day ``e`` and covers the days after the previous end up to and including
    ``e``; periods are aligned so one ends on ``cal_end``, so the first (and the last) period
    may be shorter than a week. Data spanning more than :data:`MAX_POINTS` weeks is tracked in
    periods of several weeks.

    Parameters
    ----------
    fitted : purchase model fitted on the calibration period
    purchases : DataFrame
        ``customer_id`` and ``date`` of every purchase (amount above 0) up to ``end``.
    cal_end, end : Timestamp
        Calibration end and observation end.
    unit : {"D", "W", "M"}
        The fitted model's time unit.

    Returns
    -------
    DataFrame
        :data:`TRACKING_COLUMNS`: ``Week`` (weeks from the first purchase to the period end),
        ``Period end`` (date), ``Period`` (Calibration / Holdout), ``Actual`` and
        ``Predicted`` repeat purchases in the period, and both cumulated.
    """
    day = _days(purchases["date"])
    codes, _ = pd.factorize(purchases["customer_id"])
    lo, span = int(day.min()), int(day.max() - day.min()) + 1
    keys = np.unique(codes.astype(np.int64) * span + (day - lo))  # distinct purchase days
    pairs = np.stack([keys // span, keys % span + lo])
    first_all = np.full(codes.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first_all, pairs[0], pairs[1])
    cal_day, end_day = _days([cal_end, end])
    cohort = first_all <= cal_day
    if not cohort.any():  # nobody acquired by the calibration end: nothing to track
        return _empty(TRACKING_COLUMNS)
    first = first_all[cohort]
    is_repeat = cohort[pairs[0]] & (pairs[1] > first_all[pairs[0]])
    repeat_days = pairs[1][is_repeat]
    start_day = int(first.min())
    step = 7 * max(1, math.ceil((end_day - start_day) / 7 / MAX_POINTS))
    back = math.ceil((cal_day - start_day) / step)
    ahead = math.ceil((end_day - cal_day) / step)
    edges = np.clip(cal_day + step * np.arange(-back, ahead + 1), start_day, end_day)
    edges = np.unique(edges)
    # a repeat day d is in the period (edges[k-1], edges[k]]
    where = np.searchsorted(edges, repeat_days, side="left")
    actual = np.bincount(where, minlength=len(edges))[1:].astype(float)
    cum_pred = predicted_cumulative(fitted, first, edges, unit)
    ends = edges[1:]
    table = pd.DataFrame(
        {
            "Week": (ends - start_day) / 7.0,
            "Period end": pd.to_datetime(ends.astype("datetime64[D]")).astype("datetime64[ns]"),
            "Period": np.where(ends <= cal_day, "Calibration", "Holdout"),
            "Actual": actual,
            "Predicted": np.diff(cum_pred),
            "Actual (cumulative)": np.cumsum(actual),
            "Predicted (cumulative)": cum_pred[1:] - cum_pred[0],
        }
    )
    return table[TRACKING_COLUMNS]


def _accuracy(tracking: pd.DataFrame) -> str:
    """Mean absolute error and bias of the holdout's weekly tracking, in one sentence."""
    hold = tracking[tracking["Period"] == "Holdout"]
    if hold.empty:
        return ""
    act, pred = hold["Actual"].to_numpy(), hold["Predicted"].to_numpy()
    mae, mean = float(np.mean(np.abs(pred - act))), float(np.mean(act))
    total_act, total_pred = float(act.sum()), float(pred.sum())
    longest = float(np.max(np.diff(np.r_[0.0, tracking["Week"].to_numpy()])))
    per = "week" if longest <= 1.0 + 1e-9 else f"{round(longest)}-week period"
    span = f"{len(hold)} holdout {per}s"
    if total_act > 0:
        bias = (total_pred - total_act) / total_act
        word = "above" if bias >= 0 else "below"
        tail = (
            f"its total of {total_pred:,.0f} was {abs(bias):.1%} {word} the {total_act:,.0f} "
            "actually made (bias)"
        ).replace("%", " %")
    else:
        tail = f"it predicted {total_pred:,.0f} in total where customers made none (bias)"
    return (
        "The charts forecast these customers' repeat purchases from their first purchase dates "
        f"alone: over the {span} that forecast was off by {mae:,.1f} a {per} on average (mean "
        f"absolute error; an average {per} had {mean:,.1f}), and {tail}."
    )


# -- conditional expectation ---------------------------------------------------------------------


def conditional_table(
    frequency_cal: np.ndarray, frequency_holdout: np.ndarray, predicted: np.ndarray
) -> tuple[pd.DataFrame, float]:
    """Average holdout purchases by calibration frequency 0, 1, ..., 7+: actual and predicted.

    Fader, Hardie & Lee (2005), fig. 4. Only frequencies some customer has are listed.

    Parameters
    ----------
    frequency_cal : array
        Each customer's repeat purchases in the calibration period.
    frequency_holdout : array
        Each customer's repeat purchases in the holdout.
    predicted : array
        Each customer's conditional expectation of holdout purchases.

    Returns
    -------
    (DataFrame, float)
        :data:`CONDITIONAL_COLUMNS`, and the holdout error: sum over groups of
        |predicted total - actual total| / number of customers (the customer-weighted mean
        absolute error of the group averages).
    """
    group = np.minimum(np.asarray(frequency_cal, dtype=float), TOP_FREQUENCY).astype(np.int64)
    n = np.bincount(group, minlength=TOP_FREQUENCY + 1)
    act = np.bincount(group, weights=np.asarray(frequency_holdout, dtype=float), minlength=len(n))
    pred = np.bincount(group, weights=np.asarray(predicted, dtype=float), minlength=len(n))
    keep = n > 0
    labels = [str(k) for k in range(TOP_FREQUENCY)] + [f"{TOP_FREQUENCY}+"]
    table = pd.DataFrame(
        {
            "Purchases in calibration": np.array(labels, dtype=object)[keep],
            "Customers": n[keep].astype(np.int64),
            "Actual (average)": act[keep] / n[keep],
            "Predicted (average)": pred[keep] / n[keep],
        }
    )
    error = float(np.abs(pred - act).sum() / n.sum()) if n.sum() else math.nan
    return table, error


def _duration_text(days: int) -> str:
    if days >= 70:
        return f"{days / 7:.0f} weeks"
    return f"{days} days"
