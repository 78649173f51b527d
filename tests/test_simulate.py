"""The simulators against moments known in closed form (formulas from the papers, written out
here independently of the models) and against lifetimes' predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import hyp2f1

from xlclv import simulate as sim
from xlclv._errors import InputError

BG = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
PNBD = {"r": 0.5532, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}


def bgnbd_mean(t, r, alpha, a, b):
    """E[X(t)], Fader, Hardie & Lee (2005) eq. (9)."""
    return (
        (a + b - 1)
        / (a - 1)
        * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    )


def pnbd_mean(t, r, alpha, s, beta):
    """E[X(t)], Schmittlein et al. (1987) eq. (17)."""
    return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))


def test_bgnbd_summary_mean_frequency_matches_closed_form():
    df = sim.bgnbd_summary(400_000, **BG, T=38.86, rng=np.random.default_rng(1))
    se = df["frequency"].std() / np.sqrt(len(df))
    assert abs(df["frequency"].mean() - bgnbd_mean(38.86, **BG)) < 4 * se
    assert list(df.columns) == ["frequency", "recency", "T"]
    assert (df["recency"] <= df["T"]).all()
    assert ((df["frequency"] == 0) == (df["recency"] == 0)).all()


def test_bgnbd_purchase_times_agree_with_summary_in_distribution():
    rng = np.random.default_rng(2)
    T = rng.uniform(5, 50, 40_000)
    times = sim.bgnbd_purchase_times(T.size, **BG, T=T, rng=rng)
    x = np.array([len(t) for t in times])
    rec = np.array([t[-1] if len(t) else 0.0 for t in times])
    assert all(
        np.all(np.diff(t) >= 0) and (len(t) == 0 or (t[0] > 0 and t[-1] <= tt))
        for t, tt in zip(times, T, strict=True)
    )
    expected = bgnbd_mean(T, **BG)
    se = x.std() / np.sqrt(x.size)
    assert abs(x.mean() - expected.mean()) < 4 * se
    df = sim.bgnbd_summary(T.size, **BG, T=T, rng=rng)
    assert abs(rec.mean() - df["recency"].mean()) < 4 * np.hypot(
        rec.std(), df["recency"].std()
    ) / np.sqrt(T.size)


def test_pnbd_summary_and_purchase_times_mean_frequency():
    rng = np.random.default_rng(3)
    df = sim.pnbd_summary(400_000, **PNBD, T=38.86, rng=rng)
    se = df["frequency"].std() / np.sqrt(len(df))
    assert abs(df["frequency"].mean() - pnbd_mean(38.86, **PNBD)) < 4 * se
    times = sim.pnbd_purchase_times(40_000, **PNBD, T=38.86, rng=rng)
    x = np.array([len(t) for t in times])
    rec = np.array([t[-1] if len(t) else 0.0 for t in times])
    assert abs(x.mean() - pnbd_mean(38.86, **PNBD)) < 4 * x.std() / np.sqrt(x.size)
    assert abs(rec.mean() - df["recency"].mean()) < 4 * rec.std() / np.sqrt(rec.size)


def test_bgnbd_probability_of_zero_repeat_purchases_matches_lifetimes():
    from lifetimes import BetaGeoFitter

    bg = BetaGeoFitter()
    bg.params_ = pd.Series(BG)
    df = sim.bgnbd_summary(200_000, **BG, T=20.0, rng=np.random.default_rng(4))
    for n in (0, 1, 3):
        p = float(bg.probability_of_n_purchases_up_to_time(20.0, n))
        share = float((df["frequency"] == n).mean())
        assert abs(share - p) < 4 * np.sqrt(p * (1 - p) / len(df))


def test_gamma_gamma_spend_mean_and_shapes():
    rng = np.random.default_rng(5)
    p, q, v = 6.25, 3.74, 15.44
    freq = rng.integers(0, 6, 200_000)
    means = sim.gamma_gamma_spend(freq, p, q, v, rng)
    assert np.all(means[freq == 0] == 0)
    # E[z-bar] = p v / (q - 1) whatever the number of transactions.
    assert abs(means[freq > 0].mean() / (p * v / (q - 1)) - 1) < 0.01
    per = sim.gamma_gamma_spend([0, 2, 5], p, q, v, rng, per_transaction=True)
    assert [len(s) for s in per] == [0, 2, 5]
    assert all(np.all(s > 0) for s in per)


def test_same_generator_seed_gives_same_data():
    a = sim.bgnbd_summary(100, **BG, T=30, rng=np.random.default_rng(7))
    b = sim.bgnbd_summary(100, **BG, T=30, rng=np.random.default_rng(7))
    assert a.equals(b)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": -1}, "non-negative integer"),
        ({"n": 2.5}, "non-negative integer"),
        ({"r": 0}, "r must be a positive number"),
        ({"T": [1, 2]}, "one value per customer"),
        ({"T": -1}, "T"),
        ({"rng": 42}, "numpy.random.Generator"),
    ],
)
def test_bad_arguments_raise_input_error(kwargs, match):
    args = {"n": 3, **BG, "T": 10.0, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(InputError, match=match):
        sim.bgnbd_summary(**args)


def test_gamma_gamma_spend_rejects_fractional_frequency():
    with pytest.raises(InputError, match="whole numbers"):
        sim.gamma_gamma_spend([1.5], 6.25, 3.74, 15.44, np.random.default_rng(0))


def test_zero_customers():
    assert len(sim.bgnbd_summary(0, **BG, T=10, rng=np.random.default_rng(0))) == 0
    assert sim.pnbd_purchase_times(0, **PNBD, T=10, rng=np.random.default_rng(0)) == []
