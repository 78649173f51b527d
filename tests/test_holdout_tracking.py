"""Model-vs-actual tracking and the conditional expectation (issue 12, item 2).

References: lifetimes' ``expected_cumulative_transactions`` (test-only oracle) on CDNOW, the
published CDNOW totals (2,457 repeat purchases in the 39 calibration weeks: the sum of the
shipped summary's frequencies; 1,882 in the 39 holdout weeks: BTYD's ``cdnowSummary`` x.star),
direct pandas counts and hand calculations on tiny data.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlclv.datasets import CDNOW_CALIBRATION_END, CDNOW_END, load_cdnow_transactions
from xlclv.models import BetaGeoModel
from xlclv.report.holdout import (
    conditional_table,
    holdout_check,
    predicted_cumulative,
    tracking_table,
)

CDNOW_BGNBD = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}  # FHL 2005, weeks


def tiny():
    rows = [
        ("A", "2024-01-01"), ("A", "2024-01-05"), ("A", "2024-01-05"), ("A", "2024-01-20"),
        ("A", "2024-02-04"), ("A", "2024-02-10"),
        ("B", "2024-01-03"), ("B", "2024-01-10"), ("B", "2024-02-20"),
        ("C", "2024-02-14"), ("C", "2024-02-20"),  # acquired after the calibration end
        ("D", "2024-01-15"),
    ]  # fmt: skip
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "date": pd.to_datetime([r[1] for r in rows]),
            "amount": 10.0,
        }
    )


CAL_END, END = pd.Timestamp("2024-02-04"), pd.Timestamp("2024-03-03")


def test_tracking_counts_by_hand():
    model = BetaGeoModel().set_params(r=1.0, alpha=5.0, a=0.5, b=2.0)  # days
    table = tracking_table(model, tiny()[["customer_id", "date"]], CAL_END, END, "D")
    # periods end on day 6, 13, ..., 62 after 1 Jan (one ends on the calibration end, day 34);
    # repeat days of A, B, D (C is acquired after the calibration end): A on days 4 (twice in
    # one day = one purchase day), 19, 34 (the calibration end: in calibration) and 40; B on
    # days 9 and 50
    ends = [6, 13, 20, 27, 34, 41, 48, 55, 62]
    assert table["Week"].tolist() == pytest.approx([e / 7 for e in ends])
    assert table["Period end"].tolist() == [
        pd.Timestamp("2024-01-01") + pd.Timedelta(days=e) for e in ends
    ]
    assert table["Period"].tolist() == ["Calibration"] * 5 + ["Holdout"] * 4
    assert table["Actual"].tolist() == [1, 1, 1, 0, 1, 1, 0, 1, 0]
    assert table["Actual (cumulative)"].tolist() == [1, 2, 3, 3, 4, 5, 5, 6, 6]
    # predicted: per customer, E[X(age)] at each period end (A from day 0, B 2, D 14)
    by_hand = [
        sum(
            float(model.expected_purchases_new_customer(float(e - d))) if e > d else 0.0
            for d in (0, 2, 14)
        )
        for e in ends
    ]
    assert table["Predicted (cumulative)"].to_numpy() == pytest.approx(by_hand, rel=1e-12)
    assert table["Predicted"].to_numpy() == pytest.approx(np.diff([0.0, *by_hand]), rel=1e-9)


def test_tracking_in_weeks_is_the_same_as_in_days():
    # BG/NBD's alpha scales with the time unit: alpha = 35 days is 5 weeks
    days = BetaGeoModel().set_params(r=1.0, alpha=35.0, a=0.5, b=2.0)
    weeks = BetaGeoModel().set_params(r=1.0, alpha=5.0, a=0.5, b=2.0)
    purchases = tiny()[["customer_id", "date"]]
    a = tracking_table(days, purchases, CAL_END, END, "D")
    b = tracking_table(weeks, purchases, CAL_END, END, "W")
    assert a["Predicted (cumulative)"].to_numpy() == pytest.approx(
        b["Predicted (cumulative)"].to_numpy(), rel=1e-9
    )


def test_conditional_table_by_hand():
    table, error = conditional_table(
        np.array([0, 0, 1, 3, 9, 12]),
        np.array([1, 0, 2, 1, 4, 6]),
        np.array([0.2, 0.4, 1.0, 1.5, 3.0, 5.0]),
    )
    assert table["Purchases in calibration"].tolist() == ["0", "1", "3", "7+"]
    assert table["Customers"].tolist() == [2, 1, 1, 2]
    assert table["Actual (average)"].tolist() == pytest.approx([0.5, 2.0, 1.0, 5.0])
    assert table["Predicted (average)"].tolist() == pytest.approx([0.3, 1.0, 1.5, 4.0])
    # |0.6 - 1| + |1 - 2| + |1.5 - 1| + |8 - 10| over 6 customers
    assert error == pytest.approx((0.4 + 1.0 + 0.5 + 2.0) / 6)


def test_holdout_check_conditional_expectation_on_tiny_data():
    check = holdout_check("BGNBD", tiny(), END, "D", holdout_weeks=4)
    assert check.items[0] == ("Holdout calibration end", "2024-02-04")
    # by hand, days: A x=3 t_x=34 T=34, holdout 1; B x=1 t_x=7 T=32, holdout 1; D x=0 T=20
    table = check.conditional
    assert table["Purchases in calibration"].tolist() == ["0", "1", "3"]
    assert table["Customers"].tolist() == [1, 1, 1]
    assert table["Actual (average)"].tolist() == [0.0, 1.0, 1.0]
    expected = check.fitted.expected_purchases(
        28.0, np.array([0.0, 1.0, 3.0]), np.array([0.0, 7.0, 34.0]), np.array([20.0, 32.0, 34.0])
    )
    assert table["Predicted (average)"].to_numpy() == pytest.approx(expected, rel=1e-12)
    assert check.error == pytest.approx(np.abs(expected - [0.0, 1.0, 1.0]).sum() / 3)
    assert check.split_week == pytest.approx(34 / 7)


def test_holdout_weeks_too_long_is_skipped_with_the_fix():
    check = holdout_check("BGNBD", tiny(), END, "D", holdout_weeks=6)
    assert check.items == [("Holdout check", "skipped")]
    assert "holdout of 6 weeks leaves 20 days" in check.text
    assert "Set a smaller holdout_weeks" in check.text
    assert math.isnan(check.error) and check.tracking.empty


# -- CDNOW ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_transactions()


def test_predicted_cumulative_matches_lifetimes_on_cdnow(cdnow):
    from lifetimes import BetaGeoFitter
    from lifetimes.utils import expected_cumulative_transactions

    bgf = BetaGeoFitter()
    bgf.params_ = pd.Series(CDNOW_BGNBD)
    ref = expected_cumulative_transactions(
        bgf, cdnow, "date", "customer_id", t=78 * 7, freq="D", freq_multiplier=7
    )
    day = cdnow["date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    first = pd.Series(day).groupby(cdnow["customer_id"].to_numpy()).min().to_numpy()
    at = first.min() + 7 * np.arange(1, 79)
    model = BetaGeoModel().set_params(**CDNOW_BGNBD)
    ours = predicted_cumulative(model, first, at, "W")
    assert ours == pytest.approx(ref["predicted"].to_numpy(), rel=1e-9)
    # lifetimes' actual cumulative counts the days before each week's end; at the calibration
    # end (day 272 = 30 Sep 1997, the last day of week 39) and at day 545 they cover the same
    # days as ours
    table = tracking_table(model, cdnow[["customer_id", "date"]], CDNOW_CALIBRATION_END,
                           CDNOW_END, "W")  # fmt: skip
    cal = table[table["Period"] == "Calibration"]
    assert cal["Actual (cumulative)"].iloc[-1] == ref["actual"].iloc[38] == 2457
    assert table["Actual (cumulative)"].iloc[-1] == ref["actual"].iloc[77] == 2457 + 1882
    assert (table["Period"] == "Holdout").sum() == 39


def test_tracking_actuals_match_a_direct_count_on_cdnow(cdnow):
    model = BetaGeoModel().set_params(**CDNOW_BGNBD)
    table = tracking_table(model, cdnow[["customer_id", "date"]], CDNOW_CALIBRATION_END,
                           CDNOW_END, "W")  # fmt: skip
    days = cdnow.drop_duplicates(["customer_id", "date"])
    first = days.groupby("customer_id")["date"].transform("min")
    repeat = days.loc[days["date"] > first, "date"]
    previous = pd.Timestamp("1996-12-31")  # the day before the first purchase
    counts = []
    for end in table["Period end"]:
        counts.append(int(((repeat > previous) & (repeat <= end)).sum()))
        previous = end
    assert table["Actual"].tolist() == counts
    # predicted at the last period end: each customer's E[X(age)], summed
    first_day = cdnow.groupby("customer_id")["date"].min()
    ages = (table["Period end"].iloc[-1] - first_day).dt.days.to_numpy() / 7.0
    total = model.expected_purchases_new_customer(ages).sum()
    assert table["Predicted (cumulative)"].iloc[-1] == pytest.approx(total, rel=1e-12)


def test_report_tracks_cdnow_with_a_39_week_holdout():
    from xlclv.report.pipeline import Settings, build_report
    from xlclv.report.sample import cdnow_inputs

    report = build_report(cdnow_inputs(), Settings(model="BGNBD", holdout_weeks=39))
    fit = dict(zip(report.model_fit["Item"], report.model_fit["Value"], strict=False))
    assert fit["Holdout calibration end"] == "1997-09-30"
    hold = report.tracking[report.tracking["Period"] == "Holdout"]
    assert len(hold) == 39
    # the report drops CDNOW's zero-amount rows (not purchases), so its actuals are at most
    # the published 1,882
    assert 1800 < hold["Actual"].sum() <= 1882
    assert report.tracking_split_week == pytest.approx(272 / 7)
    assert re.search(
        r"^The charts forecast .* alone: over the 39 holdout weeks that forecast was off by "
        r"[\d.]+ a week on average \(mean absolute error; an average week had [\d.]+\), and its "
        r"total of [\d,]+ was [\d.]+ % (above|below) the [\d,]+ actually made \(bias\)\.$",
        report.holdout_accuracy,
    )
    mae = np.mean(np.abs(hold["Predicted"] - hold["Actual"]))
    assert f"off by {mae:,.1f} a week" in report.holdout_accuracy
    pred, act = hold["Predicted"].sum(), hold["Actual"].sum()
    bias = f"total of {pred:,.0f} was {abs(pred - act) / act * 100:.1f} %"
    assert bias in report.holdout_accuracy
    assert f"the {act:,.0f} actually made" in report.holdout_accuracy


@given(
    days=st.lists(st.lists(st.integers(0, 60), min_size=1, max_size=6), min_size=1, max_size=8),
    cal=st.integers(0, 59),
)
def test_tracking_totals_match_the_rfm_split(days, cal):
    """Calibration and holdout totals equal rfm_summary's frequency_cal / frequency_holdout."""
    from xlclv.transactions import rfm_summary

    start = pd.Timestamp("2024-01-01")
    tx = pd.DataFrame(
        [(f"c{i}", start + pd.Timedelta(days=d)) for i, ds in enumerate(days) for d in ds],
        columns=["customer_id", "date"],
    ).assign(amount=1.0)
    cal_end, end = start + pd.Timedelta(days=cal), start + pd.Timedelta(days=60)
    model = BetaGeoModel().set_params(r=1.0, alpha=5.0, a=0.5, b=2.0)
    table = tracking_table(model, tx[["customer_id", "date"]], cal_end, end, "D")
    if min(min(ds) for ds in days) > cal:
        assert table.empty
        return
    split = rfm_summary(tx, time_unit="D", observation_end=end, calibration_end=cal_end)
    by_period = table.groupby("Period")["Actual"].sum()
    assert by_period.get("Calibration", 0) == split["frequency_cal"].sum()
    assert by_period.get("Holdout", 0) == split["frequency_holdout"].sum()
    assert np.all(np.diff(table["Predicted (cumulative)"]) >= 0)
    assert table["Period end"].iloc[-1] == end
