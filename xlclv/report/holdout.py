"""The validate stage: refit on the first 75 % of the period, predict the last 25 %, compare.

Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way", Marketing Science 24(2):
the calibration/holdout validation of BG/NBD.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from xlclv._errors import FitError, InputError
from xlclv.report.fit import purchase_model
from xlclv.transactions import rfm_summary

__all__ = ["holdout_check"]


def holdout_check(
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
