"""The holdout check counts $0.00 purchases exactly as the main path does (issue 10).

References: an independent pandas recount of each customer's distinct purchase days before
and after the calibration end, and the published CDNOW totals (2,357 customers, all
acquired in the 39 calibration weeks; 1,882 repeat purchases in the 39 holdout weeks,
BTYD's ``cdnowSummary``), which count the 8 customers whose only purchase was $0.00.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlclv.datasets import CDNOW_CALIBRATION_END, CDNOW_END, load_cdnow_transactions
from xlclv.report import pipeline as p
from xlclv.report.inputs import WorkbookInputs
from xlclv.report.settings import Settings


def _recount(tx: pd.DataFrame, cal_end, end, include_zero: bool):
    """Calibration frequency and holdout purchases per customer, by pandas alone."""
    keep = (tx["amount"] >= 0) if include_zero else (tx["amount"] > 0)
    days = tx.loc[keep & (tx["date"] <= end), ["customer_id", "date"]].drop_duplicates()
    first = days.groupby("customer_id")["date"].min()
    cohort = first[first <= cal_end].index
    days = days[days["customer_id"].isin(cohort)]
    cal = (days["date"] <= cal_end).groupby(days["customer_id"]).sum() - 1
    hold = (days["date"] > cal_end).groupby(days["customer_id"]).sum()
    return cal, hold


def _with_zero_repeats(tx: pd.DataFrame) -> pd.DataFrame:
    """CDNOW plus $0.00 repeat purchases by 300 customers, in calibration and in holdout."""
    ids = [str(i) for i in range(1, 301)]
    extra = pd.DataFrame(
        {
            "customer_id": ids * 2,
            "date": [pd.Timestamp("1997-06-17")] * 300 + [pd.Timestamp("1998-02-11")] * 300,
            "amount": 0.0,
        }
    )
    return pd.concat([tx, extra], ignore_index=True)


@pytest.mark.parametrize("extra_zeros", [False, True])
@pytest.mark.parametrize("include_zero", [True, False])
def test_holdout_calibration_counts_follow_the_zero_amount_setting(include_zero, extra_zeros):
    tx = load_cdnow_transactions()[["customer_id", "date", "amount"]]
    if extra_zeros:
        tx = _with_zero_repeats(tx)
    assert (tx["amount"] == 0).sum() > 0  # the data has $0.00 purchases
    settings = Settings(
        model="BGNBD",
        holdout_weeks=39,
        observation_end=CDNOW_END.date(),
        include_zero_amounts=include_zero,
    )
    data = p.clean(WorkbookInputs(transactions=tx.astype(object)), settings)
    check = p.validate(data, settings)
    cal_end = CDNOW_END - pd.Timedelta(days=7 * 39)
    assert cal_end == CDNOW_CALIBRATION_END
    cal, hold = _recount(tx, cal_end, CDNOW_END, include_zero)
    items = dict(check.items)
    assert items["Holdout customers"] == len(cal)
    group = np.minimum(cal.to_numpy(), 7)
    expected = np.bincount(group, minlength=8)
    table = check.conditional
    got = dict(zip(table["Purchases in calibration"], table["Customers"], strict=True))
    labels = [str(k) for k in range(7)] + ["7+"]
    assert {k: int(v) for k, v in zip(labels, expected, strict=True) if v} == got
    actual = check.table.set_index("Measure").loc["Repeat purchases in the holdout", "Actual"]
    assert actual == hold.sum()
    tracked = check.tracking["Actual (cumulative)"].iloc[-1]
    assert tracked == cal.sum() + hold.sum()  # the weekly tracking counts the same purchases
    if include_zero and not extra_zeros:  # the published CDNOW counts
        assert len(cal) == 2357
        assert hold.sum() == 1882
