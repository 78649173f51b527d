"""A report-level oracle (issue 10): from shuffled rows, with a segment that changes after the
first purchase and an observation_end before the last rows, every customer's first purchase,
segment, frequency, recency, T, revenue, P(alive) and expected purchases are recomputed
independently (plain pandas for the summary, lifetimes' BG/NBD formulas at the reported
parameters) and compared with the report, customer by customer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlclv.report import Settings, build_report
from xlclv.report.inputs import WorkbookInputs
from xlclv.simulate import bgnbd_purchase_times

END = pd.Timestamp("2024-10-31")  # rows run to the end of 2024: the last two months are cut
HORIZON_MONTHS = 12


def _transactions(seed: int = 11, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 240, size=n)  # first purchases in 2024's first eight months
    T = (366 - start) / 7.0
    times = bgnbd_purchase_times(n, 0.6, 5.0, 0.9, 2.5, T, rng)
    nu = rng.gamma(4.0, 1 / 60.0, size=n)
    rows = []
    for c in range(n):
        first_seg = ["Gold", "Silver", "Bronze"][c % 3]
        days = [int(start[c])] + sorted({int(start[c] + 7 * t + 1) for t in times[c]})
        for k, d in enumerate(days):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=d)
            # the segment changes after the first purchase: the report must use the first one
            seg = first_seg if k == 0 else "Changed"
            rows.append(
                (f"K{c:04d}", day.date().isoformat(), round(rng.gamma(6, 1 / nu[c]), 2), seg)
            )
            if k > 0 and rng.random() < 0.1:  # a return on the same day
                rows.append((f"K{c:04d}", day.date().isoformat(), -5.0, seg))
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount", "tier_group"])
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True).astype(object)


@pytest.fixture(scope="module")
def case():
    frame = _transactions()
    settings = Settings(
        observation_end=END.date(),
        horizon_months=HORIZON_MONTHS,
        time_unit="W",
        gross_margin=1,
        model="BGNBD",
    )
    report = build_report(WorkbookInputs(transactions=frame), settings)
    return frame, report


def _oracle_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Frequency, recency, T (weeks), first purchase, segment and revenue by hand."""
    df = frame.copy()
    df["date"] = pd.to_datetime(df["date"])
    df["amount"] = df["amount"].astype(float)
    df = df[df["date"] <= END]
    buys = df[df["amount"] > 0]
    days = buys.groupby("customer_id")["date"].agg(["min", "max", "nunique"])
    first_rows = buys.sort_values("date", kind="stable").groupby("customer_id").head(1)
    out = pd.DataFrame(
        {
            "first": days["min"],
            "frequency": days["nunique"] - 1,
            "recency": (days["max"] - days["min"]).dt.days / 7.0,
            "T": (END - days["min"]).dt.days / 7.0,
            "segment": first_rows.set_index("customer_id")["tier_group"],
            "revenue": df.groupby("customer_id")["amount"].sum(),
            "orders": buys.groupby("customer_id").size(),
        }
    )
    return out.dropna(subset=["first"])


def _lifetimes_at(report) -> object:
    from lifetimes import BetaGeoFitter

    params = report.model_params
    bg = params[params["Model"] == "BG/NBD"].set_index("Parameter")["Estimate"]
    fitter = BetaGeoFitter()
    fitter.params_ = pd.Series({k: float(bg[k]) for k in ("r", "alpha", "a", "b")})
    return fitter


def test_first_purchase_segment_and_rfm_match_a_hand_computation(case):
    frame, report = case
    oracle = _oracle_summary(frame)
    c = report.customers.set_index("Customer ID").sort_index()
    oracle = oracle.sort_index()
    assert list(c.index) == list(oracle.index)  # same customers, none lost or added
    assert (pd.to_datetime(c["First purchase"]) == oracle["first"]).all()
    assert (c["tier_group"] == oracle["segment"]).all()
    assert "Changed" not in set(c["tier_group"])
    np.testing.assert_allclose(c["Frequency"], oracle["frequency"], rtol=0, atol=0)
    np.testing.assert_allclose(c["Recency (W)"], oracle["recency"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c["T (W)"], oracle["T"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c["Revenue"], oracle["revenue"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(c["Orders"], oracle["orders"], rtol=0, atol=0)
    # rows after observation_end are listed, not used
    late = pd.to_datetime(frame["date"]) > END
    assert late.sum() > 0
    listed = report.issues["Problem"].str.startswith("date after observation_end")
    assert listed.sum() == late.sum()


def test_p_alive_and_expected_purchases_match_lifetimes_at_the_reported_parameters(case):
    frame, report = case
    oracle = _oracle_summary(frame).sort_index()
    c = report.customers.set_index("Customer ID").sort_index()
    lt = _lifetimes_at(report)
    x, t_x, T = oracle["frequency"], oracle["recency"], oracle["T"]
    p_alive = lt.conditional_probability_alive(x, t_x, T)
    horizon_weeks = HORIZON_MONTHS * (365.25 / 12) / 7  # 52.18 weeks
    expected = lt.conditional_expected_number_of_purchases_up_to_time(horizon_weeks, x, t_x, T)
    np.testing.assert_allclose(c["P(alive)"], p_alive, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(c["Expected purchases"], expected, rtol=1e-7, atol=1e-10)
    assert report.summary["observation_end"] == END.date()
    assert report.summary["warnings"] == []  # a converged fit: the comparison means something
