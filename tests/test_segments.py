"""Tiers, NPS, segment tables, concentration and P(alive) bands, against hand calculations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlclv.report.segments import (
    assign_tiers,
    cohort_labels,
    concentration_curve,
    nps_score,
    palive_distribution,
    segment_table,
)


def test_tiers_top_10_next_20_rest():
    values = np.arange(1.0, 11.0)  # 10 customers: top 1 (ceil 1.0), next up to ceil(3.0) = 3
    tiers = assign_tiers(values, [f"c{i}" for i in range(10)])
    assert tiers[9] == "Top 10%"
    assert list(tiers[7:9]) == ["Next 20%", "Next 20%"]
    assert set(tiers[:7]) == {"Rest"}
    # 4 customers: top ceil(0.4) = 1, next up to ceil(1.2) = 2
    assert list(assign_tiers([5.0, 1.0, 3.0, 2.0])) == ["Top 10%", "Rest", "Next 20%", "Rest"]
    # ties are broken by id, so the result does not depend on row order; 3 customers: top
    # ceil(0.3) = 1, next up to ceil(0.9) = 1 (none)
    assert list(assign_tiers([1.0, 1.0, 1.0], ["b", "a", "c"])) == ["Rest", "Top 10%", "Rest"]
    assert assign_tiers([]).size == 0


def test_nps_score_by_hand():
    # 3 promoters (9, 10, 9), 2 passives (7, 8), 1 detractor (6) of 6: (3 - 1) / 6 = 33.3
    assert nps_score([9, 10, 9, 7, 8, 6]) == pytest.approx(100 * 2 / 6)
    assert np.isnan(nps_score([]))


def test_segment_table_sums_shares_nps_and_cac():
    customers = pd.DataFrame(
        {
            "Customer ID": ["a", "b", "c"],
            "channel": ["Email", "Email", "Paid"],
            "Revenue": [100.0, 50.0, 30.0],
            "Historical CLV": [50.0, 25.0, 15.0],
            "Predicted CLV": [60.0, 20.0, 20.0],
            "P(alive)": [0.9, 0.5, 0.4],
        }
    )
    nps = pd.DataFrame({"customer_id": ["a", "b", "c", "zz"], "score": [10.0, 3.0, 9.0, 0.0]})
    marketing = pd.DataFrame({"segment": ["Email"], "spend": [80.0], "new_customers": [2.0]})
    table = segment_table(customers, "channel", nps=nps, marketing=marketing)
    assert table["channel"].tolist() == ["Email", "Paid"]
    email = table.iloc[0]
    assert email["Customers"] == 2
    assert email["Revenue"] == 150.0
    assert email["Predicted CLV"] == 80.0
    assert email["Avg predicted CLV"] == 40.0
    assert email["Share of predicted CLV"] == pytest.approx(0.8)
    assert email["Avg P(alive)"] == pytest.approx(0.7)
    assert email["NPS"] == 0.0 and email["NPS responses"] == 2  # one promoter, one detractor
    assert table.iloc[1]["NPS"] == 100.0  # the unknown customer "zz" is not counted
    assert email["CAC"] == 40.0 and email["LTV:CAC"] == pytest.approx(1.0)
    assert np.isnan(table.iloc[1]["CAC"])  # no marketing row for Paid: blank, not 0


def test_cohort_labels_quarter_or_month():
    days = pd.Series(pd.to_datetime(["2024-01-31", "2024-04-01", "2025-02-10"]))
    labels, kind = cohort_labels(days, span_days=376)
    assert kind == "quarter" and labels.tolist() == ["2024-Q1", "2024-Q2", "2025-Q1"]
    labels, kind = cohort_labels(days, span_days=365)
    assert kind == "month" and labels.tolist() == ["2024-01", "2024-04", "2025-02"]


def test_concentration_curve_by_hand():
    curve = concentration_curve([1.0, 4.0, 2.0, 3.0])
    assert curve["Share of customers"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert curve["Share of predicted CLV"].tolist() == pytest.approx([0, 0.4, 0.7, 0.9, 1.0])
    many = concentration_curve(np.ones(1000))
    assert len(many) == 101 and many["Share of predicted CLV"].iloc[50] == pytest.approx(0.5)


def test_palive_bands():
    dist = palive_distribution([0.0, 0.05, 0.1, 0.95, 1.0, np.nan])
    assert dist["P(alive)"].iloc[0] == "0-10%" and dist["P(alive)"].iloc[9] == "90-100%"
    assert dist["Customers"].tolist() == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]


# -- properties -----------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

values = arrays(
    np.float64, st.integers(1, 300), elements=st.floats(0, 1e6, allow_nan=False, width=32)
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(values)
def test_tier_sizes_and_order(v):
    import math

    tiers = assign_tiers(v)
    n = v.size
    assert (tiers == "Top 10%").sum() == math.ceil(0.1 * n)
    assert (tiers == "Next 20%").sum() == math.ceil(0.3 * n) - math.ceil(0.1 * n)
    # every top customer is worth at least every customer below the top tier
    if (tiers != "Top 10%").any():
        assert v[tiers == "Top 10%"].min() >= v[tiers != "Top 10%"].max()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(values)
def test_concentration_curve_is_a_lorenz_curve(v):
    curve = concentration_curve(v)
    x = curve["Share of customers"].to_numpy()
    y = curve["Share of predicted CLV"].to_numpy()
    assert x[0] == 0 and y[0] == 0 and x[-1] == 1 and y[-1] == pytest.approx(1)
    assert np.all(np.diff(x) > 0) and np.all(np.diff(y) >= -1e-12)
    assert np.all(y >= x - 1e-9)  # best customers first: never below the diagonal
