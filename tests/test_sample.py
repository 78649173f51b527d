"""The embedded sample: deterministic, shaped like a user's paste, consistent across its tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from xlclv.report.inputs import clean_transactions
from xlclv.report.sample import CHANNELS, REGIONS, cdnow_inputs, sample_inputs


def test_same_seed_same_data_other_seed_other_data():
    a, b = sample_inputs(), sample_inputs()
    pd.testing.assert_frame_equal(a.transactions, b.transactions)
    pd.testing.assert_frame_equal(a.nps, b.nps)
    pd.testing.assert_frame_equal(a.marketing, b.marketing)
    c = sample_inputs(seed=7)
    assert not a.transactions["amount"].equals(c.transactions["amount"])


def test_looks_like_pasted_cells():
    s = sample_inputs()
    t = s.transactions
    assert list(t.columns) == ["customer_id", "date", "amount", "region", "channel"]
    assert all(t[c].dtype == object for c in t.columns)
    assert isinstance(t["date"].iloc[0], dt.datetime)
    assert isinstance(t["amount"].iloc[0], float)
    assert t["customer_id"].nunique() == 3000
    assert set(t["region"]) == set(REGIONS) and set(t["channel"]) == set(CHANNELS)
    dates = pd.to_datetime(t["date"])
    assert dates.min() >= pd.Timestamp("2024-01-01") and dates.max() <= pd.Timestamp("2025-12-31")
    clean, issues = clean_transactions(t)
    assert issues.empty and len(clean) == len(t)


def test_returns_are_a_few_percent_and_follow_a_purchase():
    t = sample_inputs().transactions
    amount = t["amount"].astype(float)
    share = (amount < 0).mean()
    assert 0.02 < share < 0.06
    returns = t[amount < 0]
    first = pd.to_datetime(t["date"]).groupby(t["customer_id"]).min()
    assert (
        pd.to_datetime(returns["date"]).to_numpy() > first[returns["customer_id"]].to_numpy()
    ).all()


def test_nps_and_marketing_match_the_transactions():
    s = sample_inputs()
    t = s.transactions
    first = t.sort_values("date", kind="stable").drop_duplicates("customer_id")
    new = first["channel"].value_counts()
    mk = s.marketing.set_index("channel")
    assert mk["new_customers"].astype(int).to_dict() == new.to_dict()
    assert (mk["spend"].astype(float) > 0).all()
    scores = s.nps["score"].astype(float)
    assert scores.between(0, 10).all() and (scores == np.round(scores)).all()
    assert set(s.nps["customer_id"]) <= set(t["customer_id"])
    assert 0.2 < len(s.nps) / 3000 < 0.4


def test_channels_differ_as_designed():
    # referral customers come back more than paid-social ones (lower dropout in CHANNELS)
    t = sample_inputs().transactions
    buys = t[t["amount"].astype(float) > 0]
    per_customer = buys.groupby(["channel", "customer_id"]).size().groupby("channel").mean()
    assert per_customer["Referral"] > 1.5 * per_customer["Paid social"]


def test_cdnow_inputs():
    s = cdnow_inputs()
    assert len(s.transactions) == 6919  # Fader, Hardie & Lee (2005): 6,919 records
    assert s.transactions["customer_id"].nunique() == 2357
    assert list(s.transactions.columns) == ["customer_id", "date", "amount"]
    assert s.nps is None and s.marketing is None
    assert s.settings["observation_end"] == dt.date(1998, 6, 30)
