"""BG/BB in the report (the ``periods`` setting): the holdout check and the CLV ranges.

Oracles: lifetimes' BetaGeoBetaBinomFitter (fit and conditional expectation) on a calibration
summary built here by brute force, one customer at a time, from simulated yearly purchases;
and the holdout's actual counts by the same brute force. The ranges: a naive loop over the
same parameter draws through the public model API (``set_params`` + ``expected_purchases``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlclv.report import pipeline as P
from xlclv.report.holdout import opportunity_holdout_check
from xlclv.report.inputs import WorkbookInputs
from xlclv.report.settings import Settings


def _simulated(n: int = 3000, seed: int = 5) -> pd.DataFrame:
    """BG/BB customers (Fader, Hardie & Shang 2010): first purchase in a year from 2012 to
    2016; at each later year she first drops out with probability theta, else buys with
    probability p; observed up to the end of 2023. Amounts vary by customer and year."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        first = int(rng.integers(2012, 2017))
        p, theta = rng.beta(1.2, 0.8), rng.beta(0.7, 2.8)
        month = int(rng.integers(1, 13))
        rows.append((f"C{i:05d}", pd.Timestamp(first, month, 1), 20.0 + i % 13))
        for year in range(first + 1, 2024):
            if rng.random() < theta:
                break
            if rng.random() < p:
                day = pd.Timestamp(year, int(rng.integers(1, 13)), int(rng.integers(1, 28)))
                rows.append((f"C{i:05d}", day, 20.0 + i % 13 + year % 5))
                if rng.random() < 0.2:  # a second purchase in the same year: one opportunity
                    rows.append((f"C{i:05d}", day + pd.Timedelta(days=1), 5.0))
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


@pytest.fixture(scope="module")
def tx():
    return _simulated()


def _by_hand(tx: pd.DataFrame, cal_year: int, end_year: int):
    """Calibration summary and holdout counts, one customer at a time."""
    out = []
    for _, g in tx.groupby("customer_id", sort=True):
        years = sorted(set(g["date"].dt.year))
        first = years[0]
        if first > cal_year:
            continue
        cal = [y - first for y in years if first < y <= cal_year]
        hold = [y for y in years if cal_year < y <= end_year]
        out.append((len(cal), max(cal, default=0), cal_year - first, len(hold)))
    return pd.DataFrame(out, columns=["x", "tx", "n", "hold"])


def test_bgbb_holdout_against_lifetimes(tx):
    from lifetimes import BetaGeoBetaBinomFitter

    check = opportunity_holdout_check(tx, pd.Timestamp("2023-12-31"), "Y")
    # 11 years after the earliest first purchase (2012): a quarter, rounded, is 3 years
    items = dict(check.items)
    assert items["Holdout calibration end"] == "2020-12-31"
    assert items["Holdout length (years)"] == 3
    ref = _by_hand(tx, 2020, 2023)
    assert items["Holdout customers"] == len(ref) == tx["customer_id"].nunique()
    lt = BetaGeoBetaBinomFitter().fit(ref["x"], ref["tx"], ref["n"])
    want = lt.conditional_expected_number_of_purchases_up_to_time(3, ref["x"], ref["tx"], ref["n"])
    table = check.table.set_index("Measure")
    got = table.loc["Years with a repeat purchase in the holdout"]
    assert got["Actual"] == ref["hold"].sum()
    assert got["Predicted"] == pytest.approx(float(np.sum(want)), rel=1e-4)
    for k in ("alpha", "beta", "gamma", "delta"):
        assert check.fitted.params_[k] == pytest.approx(lt.params_[k], rel=1e-3), k
    # by calibration frequency: the customers and their actual averages by hand
    cond = check.conditional.set_index("Purchases in calibration")
    groups = np.minimum(ref["x"], 7)
    for label, row in cond.iterrows():
        k = 7 if label == "7+" else int(label)
        mask = (groups == k).to_numpy()
        assert row["Customers"] == mask.sum()
        assert row["Actual (average)"] == pytest.approx(ref["hold"][mask].mean(), rel=1e-12)
        assert row["Predicted (average)"] == pytest.approx(
            np.mean(np.asarray(want)[mask]), rel=1e-4
        )
    assert "Holding out the last 3 years (after 2020-12-31)" in check.text
    assert f"{ref['hold'].sum():,.0f}" in check.text


def test_bgbb_holdout_length_from_holdout_weeks_and_too_short_data(tx):
    check = opportunity_holdout_check(tx, pd.Timestamp("2023-12-31"), "Y", holdout_weeks=104)
    assert dict(check.items)["Holdout length (years)"] == 2
    ref = _by_hand(tx, 2021, 2023)
    got = check.table.set_index("Measure").loc["Years with a repeat purchase in the holdout"]
    assert got["Actual"] == ref["hold"].sum()
    short = opportunity_holdout_check(tx, pd.Timestamp("2023-12-31"), "Y", holdout_weeks=10)
    assert dict(short.items)["Holdout check"] == "skipped" and "holdout_weeks = 10" in short.text
    one = tx[tx["date"].dt.year <= 2012]
    assert "skipped" in opportunity_holdout_check(one, pd.Timestamp("2012-12-31"), "Y").text


def test_the_report_with_periods_runs_the_bgbb_holdout(tx):
    inputs = WorkbookInputs(
        transactions=tx.astype(object),
        settings={"observation_end": pd.Timestamp("2023-12-31").date(), "periods": "Y"},
    )
    st = Settings.from_values(inputs.settings)
    data = P.clean(inputs, st)
    check = P.validate(data, st)
    alone = opportunity_holdout_check(tx, pd.Timestamp("2023-12-31"), "Y")
    pd.testing.assert_frame_equal(check.table, alone.table)
    assert check.text == alone.text and len(check.conditional) > 3
