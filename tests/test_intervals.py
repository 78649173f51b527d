"""CLV ranges from parameter uncertainty: against a naive loop over the public API, the draws'
distribution, groups, errors, and (slow) the frequentist coverage of the total's range."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlclv import intervals
from xlclv import simulate as sim
from xlclv._errors import FitError, InputError
from xlclv.datasets import load_cdnow_summary_with_monetary
from xlclv.intervals import clv_group_interval, clv_interval
from xlclv.models import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeometricModel,
)
from xlclv.valuation import customer_lifetime_value

SETTINGS = {"gross_margin": 0.3, "horizon_months": 14.5, "annual_discount_rate": 0.12}
MODELS = [BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel]


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary_with_monetary()


@pytest.fixture(scope="module")
def spend(cdnow):
    return GammaGammaModel().fit(cdnow["frequency"], cdnow["monetary_value"])


@pytest.fixture(scope="module")
def fitted(cdnow):
    return {M: M().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"]) for M in MODELS}


def cols(d):
    return d["frequency"], d["recency"], d["T"], d["monetary_value"]


def naive(model_cls, result, d):
    """customer_lifetime_value for each draw, through set_params (the public API)."""
    out = np.empty((result.n_draws, len(d)))
    for k in range(result.n_draws):
        pm = model_cls().set_params(**result.purchase_draws.iloc[k].to_dict())
        sm = GammaGammaModel().set_params(**result.spend_draws.iloc[k].to_dict())
        out[k] = customer_lifetime_value(pm, sm, *cols(d), **SETTINGS)
    return out


@pytest.mark.parametrize("model_cls", MODELS, ids=lambda m: m.__name__)
def test_point_estimate_is_customer_lifetime_value(cdnow, spend, fitted, model_cls):
    pm = fitted[model_cls]
    r = clv_interval(pm, spend, *cols(cdnow), **SETTINGS, n_draws=20, seed=1)
    expected = customer_lifetime_value(pm, spend, *cols(cdnow), **SETTINGS)
    np.testing.assert_allclose(r.customers["clv"], expected, rtol=1e-12, atol=1e-12)
    assert r.total["clv"] == pytest.approx(expected.sum(), rel=1e-12)
    assert list(r.customers.index) == list(cdnow.index)


@pytest.mark.parametrize("model_cls", MODELS, ids=lambda m: m.__name__)
def test_quantiles_match_a_naive_loop_over_the_same_draws(cdnow, spend, fitted, model_cls):
    d = cdnow.iloc[::20]  # 118 customers, all kinds of histories
    r = clv_interval(fitted[model_cls], spend, *cols(d), **SETTINGS, n_draws=150, seed=7)
    values = naive(model_cls, r, d)
    expected = np.quantile(values, [0.1, 0.5, 0.9], axis=0).T
    np.testing.assert_allclose(r.customers[["p10", "p50", "p90"]], expected, rtol=1e-10, atol=1e-10)
    # The total's range is the range of the per-draw totals ...
    np.testing.assert_allclose(r.total_draws, values.sum(axis=1), rtol=1e-10)
    tot = np.quantile(values.sum(axis=1), [0.1, 0.5, 0.9])
    np.testing.assert_allclose(r.total[["p10", "p50", "p90"]], tot, rtol=1e-10)
    # ... which is narrower than the sum of the customers' ranges would claim.
    assert r.total["p90"] - r.total["p10"] < (r.customers["p90"] - r.customers["p10"]).sum()


def test_draws_follow_the_asymptotic_normal_of_the_log_parameters(fitted, spend, cdnow):
    bg = fitted[BetaGeoModel]
    cov = bg.log_covariance_
    se = np.sqrt(np.diag(cov)) * np.array(list(bg.params_.values()))
    np.testing.assert_allclose(se, list(bg.standard_errors_.values()), rtol=1e-10)
    d = cdnow.iloc[:5]
    r = clv_interval(bg, spend, *cols(d), n_draws=8000, seed=3, horizon_months=1)
    logs = np.log(r.purchase_draws.to_numpy())
    mean_se = np.sqrt(np.diag(cov) / 8000)
    assert np.all(np.abs(logs.mean(axis=0) - np.log(list(bg.params_.values()))) < 4 * mean_se)
    # Whitened by the model's covariance, the draws have identity covariance (sampling error
    # of each entry at 8,000 draws: ~0.011 off the diagonal, ~0.016 on it; 5 of them allowed).
    for draws, model in ((logs, bg), (np.log(r.spend_draws.to_numpy()), spend)):
        chol = np.linalg.cholesky(model.log_covariance_.to_numpy())
        white = np.linalg.solve(chol, (draws - np.log(model._param_array())).T)
        np.testing.assert_allclose(np.cov(white), np.eye(len(chol)), atol=0.08)


def test_groups_add_up_and_the_group_function_agrees(cdnow, spend, fitted):
    bg = fitted[BetaGeoModel]
    cdnow = cdnow.iloc[::4]
    seg = np.where(cdnow["frequency"] >= 2, "repeat", "light")
    r = clv_interval(bg, spend, *cols(cdnow), **SETTINGS, n_draws=100, seed=11, groups=seg)
    g = r.groups
    assert set(g.index) == {"repeat", "light"}
    assert g["customers"].sum() == len(cdnow)
    point = customer_lifetime_value(bg, spend, *cols(cdnow), **SETTINGS)
    for label in g.index:
        assert g.loc[label, "clv"] == pytest.approx(point[seg == label].sum(), rel=1e-12)
        # a group's range: quantiles of the per-draw sums of its customers' values
    values = naive(BetaGeoModel, r, cdnow)
    for label in g.index:
        expected = np.quantile(values[:, seg == label].sum(axis=1), [0.1, 0.5, 0.9])
        np.testing.assert_allclose(g.loc[label, ["p10", "p50", "p90"]], expected, rtol=1e-10)
    only = clv_group_interval(bg, spend, *cols(cdnow), seg, **SETTINGS, n_draws=100, seed=11)
    pd.testing.assert_frame_equal(only, g)


@pytest.mark.parametrize("model_cls", MODELS, ids=lambda m: m.__name__)
def test_rows_grouped_with_counts_and_mean_spends_give_the_customers_totals(
    cdnow, spend, fitted, model_cls
):
    """The big-data report's computation: one row per distinct (x, t_x, T, segment) with its
    customer count as weight and the average of its customers' mean spends. The per-draw
    totals and each segment's range must be the per-customer computation's (and the naive
    loop's, one customer_lifetime_value per draw) to 1e-9: CLV is linear in the mean spend."""
    d = cdnow.iloc[::3].copy()
    d["seg"] = np.where(np.arange(len(d)) % 3 == 0, "a", "b")
    # coarse recency and T, so that many customers share a history but not a mean spend
    d["recency"] = np.floor(d["recency"] / 4) * 4
    d["T"] = np.ceil(d["T"] / 4) * 4
    g = (
        d.assign(m=np.where(d["frequency"] > 0, d["monetary_value"], 0.0))
        .groupby(["frequency", "recency", "T", "seg"], as_index=False)
        .agg(n=("m", "size"), m=("m", "mean"))
    )
    assert len(g) < len(d) / 2 and (g["n"] > 1).any()
    pm, kw = fitted[model_cls], dict(**SETTINGS, n_draws=120, seed=3)
    each = clv_interval(pm, spend, *cols(d), groups=d["seg"], **kw)
    grouped = clv_interval(
        pm, spend, g["frequency"], g["recency"], g["T"], g["m"], groups=g["seg"],
        weights=g["n"], per_customer=False, **kw,
    )  # fmt: skip
    assert grouped.customers is None
    np.testing.assert_allclose(grouped.total_draws, each.total_draws, rtol=1e-9)
    np.testing.assert_allclose(grouped.total, each.total, rtol=1e-9)
    pd.testing.assert_frame_equal(grouped.groups, each.groups, check_exact=False, rtol=1e-9)
    values = naive(model_cls, each, d)  # independent of both: the public per-customer API
    np.testing.assert_allclose(grouped.total_draws, values.sum(axis=1), rtol=1e-9)
    for label in ("a", "b"):
        want = np.quantile(values[:, (d["seg"] == label).to_numpy()].sum(axis=1), [0.1, 0.9])
        got = grouped.groups.loc[label, ["p10", "p90"]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, want, rtol=1e-9)
    assert grouped.groups["customers"].tolist() == [
        int((d["seg"] == label).sum()) for label in grouped.groups.index
    ]


def test_per_customer_quantiles_for_flagged_rows_only(cdnow, spend, fitted):
    """The flagged customers' quantiles are those of the full computation; the others are
    left out; totals do not change."""
    bg = fitted[BetaGeoModel]
    d = cdnow.iloc[::5]
    flag = np.arange(len(d)) % 7 == 3
    full = clv_interval(bg, spend, *cols(d), **SETTINGS, n_draws=60, seed=8)
    some = clv_interval(bg, spend, *cols(d), **SETTINGS, n_draws=60, seed=8, per_customer=flag)
    pd.testing.assert_frame_equal(some.customers, full.customers[flag], rtol=1e-12)
    np.testing.assert_allclose(some.total_draws, full.total_draws, rtol=1e-12)
    none = clv_interval(bg, spend, *cols(d), n_draws=10, seed=8, per_customer=flag & False)
    assert none.customers is None
    with pytest.raises(InputError, match="per_customer must be"):
        clv_interval(bg, spend, *cols(d), n_draws=10, per_customer=flag[:-1])


def test_weights_are_checked(cdnow, spend, fitted):
    c = cols(cdnow.iloc[:3])
    for bad in ([1, 2], [1, -1, 1], [1, np.nan, 1]):
        with pytest.raises(InputError, match="weights must"):
            clv_interval(fitted[BetaGeoModel], spend, *c, weights=bad, n_draws=10)


def test_seed_makes_it_reproducible_and_chunking_does_not_matter(cdnow, spend, fitted, monkeypatch):
    bg = fitted[BetaGeoModel]
    a = clv_interval(bg, spend, *cols(cdnow), n_draws=100, seed=5)
    b = clv_interval(bg, spend, *cols(cdnow), n_draws=100, seed=np.random.default_rng(5))
    c = clv_interval(bg, spend, *cols(cdnow), n_draws=100, seed=6)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    assert not np.allclose(a.total_draws, c.total_draws)
    monkeypatch.setattr(intervals, "_CHUNK_CELLS", 5000)
    monkeypatch.setattr(intervals, "_THREADS", 1)
    d = clv_interval(bg, spend, *cols(cdnow), n_draws=100, seed=5)
    pd.testing.assert_frame_equal(a.customers, d.customers, rtol=1e-12)
    np.testing.assert_allclose(a.total_draws, d.total_draws, rtol=1e-12)


def test_other_quantiles_and_zero_horizon(cdnow, spend, fitted):
    bg = fitted[BetaGeoModel]
    d = cdnow.iloc[:100]
    r = clv_interval(bg, spend, *cols(d), n_draws=101, seed=1, quantiles=[0.025, 0.975])
    assert list(r.customers.columns) == ["clv", "p2.5", "p97.5"]
    assert (r.customers["p2.5"] <= r.customers["p97.5"]).all()
    z = clv_interval(bg, spend, *cols(d), n_draws=50, seed=1, horizon_months=0)
    assert (z.customers.to_numpy() == 0).all() and (z.total == 0).all()


def test_errors_are_clear(cdnow, spend, fitted):
    bg = fitted[BetaGeoModel]
    c = cols(cdnow)
    by_hand = BetaGeoModel().set_params(**bg.params_)
    with pytest.raises(FitError, match="no parameter covariance"):
        clv_interval(by_hand, spend, *c)
    # a fitted model whose parameters are then overwritten has no covariance either
    refit = BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    refit.set_params(r=1.0, alpha=1.0, a=1.0, b=1.0)
    with pytest.raises(FitError, match="no parameter covariance"):
        clv_interval(refit, spend, *c)
    with pytest.raises(InputError, match="supports BetaGeoModel"):
        clv_interval(ShiftedBetaGeometricModel().set_params(alpha=1.0, beta=1.0), spend, *c)
    with pytest.raises(InputError, match="GammaGammaModel"):
        clv_interval(bg, bg, *c)
    with pytest.raises(InputError, match="quantiles must be numbers strictly between 0 and 1"):
        clv_interval(bg, spend, *c, quantiles=(0.1, 1.0))
    with pytest.raises(InputError, match="n_draws"):
        clv_interval(bg, spend, *c, n_draws=1.5)
    with pytest.raises(InputError, match="one label per customer"):
        clv_interval(bg, spend, *c, groups=["a", "b"])
    with pytest.raises(InputError, match="gross_margin"):
        clv_interval(bg, spend, *c, gross_margin=30)
    with pytest.raises(InputError, match="recency cannot exceed T"):
        clv_interval(bg, spend, [1], [5], [4], [10.0])


def test_unconverged_fit_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad = BetaGeoModel().fit([2] * 50, [5.0] * 50, [30.0] * 50)
    assert not bad.converged_
    gg = GammaGammaModel().set_params(p=6.25, q=3.74, v=15.44)
    gg._log_hessian_ = np.eye(3) * 1e4  # a usable spend covariance
    with pytest.raises(FitError, match="purchase model"):
        clv_interval(bad, gg, [1], [1.0], [2.0], [10.0])


def test_an_uncertain_spend_model_with_infinite_mean_draws_is_refused(fitted):
    gg = GammaGammaModel().set_params(p=2.0, q=1.2, v=10.0)
    gg._log_hessian_ = np.diag([100.0, 4.0, 100.0])  # q's log-sd 0.5: many draws below 1
    with pytest.raises(FitError, match="infinite"):
        clv_interval(fitted[BetaGeoModel], gg, [0, 2], [0.0, 5.0], [30.0, 30.0], [0.0, 20.0])


@settings(max_examples=100, deadline=None)
@given(
    st.integers(2, 400),
    st.lists(st.floats(0.001, 0.999), min_size=1, max_size=5),
    st.integers(0, 2**32 - 1),
)
def test_order_statistics_match_a_full_sort(n, qs, seed):
    a = np.random.default_rng(seed).random((7, n))
    a[:, : n // 3] = a[:, :1]  # ties too
    pos = np.array(qs) * (n - 1)
    lo, hi = np.floor(pos).astype(int), np.ceil(pos).astype(int)
    got = intervals._order_statistics(a.copy(), np.unique(lo).tolist(), set(lo[hi > lo].tolist()))
    ref = np.sort(a, axis=1)
    for k in set(lo.tolist()) | set(hi.tolist()):
        np.testing.assert_array_equal(got[k], ref[:, k])


# -- coverage (slow) -----------------------------------------------------------------------------
TRUE_BG = {"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}
TRUE_GG = {"p": 6.25, "q": 3.74, "v": 15.44}
REPLICATIONS = 200


@pytest.mark.slow
def test_total_range_covers_the_true_total_about_80_percent_of_200_replications():
    """Simulate BG/NBD + Gamma-Gamma customers from known parameters, fit both models, and
    check how often the 80 % range (P10-P90) of the total CLV covers the total CLV at the true
    parameters (same customers). Expected 80 %; binomial tolerance 3 standard errors."""
    rng = np.random.default_rng(20261129)
    true_bg = BetaGeoModel().set_params(**TRUE_BG)
    true_gg = GammaGammaModel().set_params(**TRUE_GG)
    hits = 0
    for rep in range(REPLICATIONS):
        T = rng.choice([26.0, 32.0, 39.0, 45.0], 3000)
        d = sim.bgnbd_summary(3000, **TRUE_BG, T=T, rng=rng)
        d["monetary_value"] = sim.gamma_gamma_spend(d["frequency"], **TRUE_GG, rng=rng)
        bg = BetaGeoModel().fit(d["frequency"], d["recency"], d["T"])
        gg = GammaGammaModel().fit(d["frequency"], d["monetary_value"])
        assert bg.converged_ and gg.converged_
        r = clv_interval(bg, gg, *cols(d), **SETTINGS, n_draws=1000, seed=rep, per_customer=False)
        truth = customer_lifetime_value(true_bg, true_gg, *cols(d), **SETTINGS).sum()
        hits += bool(r.total["p10"] <= truth <= r.total["p90"])
    coverage = hits / REPLICATIONS
    tolerance = 3 * np.sqrt(0.8 * 0.2 / REPLICATIONS)
    print(f"coverage of the 80 % range over {REPLICATIONS} replications: {coverage:.3f}")
    assert abs(coverage - 0.8) <= tolerance, (
        f"observed coverage {coverage:.3f} over {REPLICATIONS} replications, expected 0.80 "
        f"+- {tolerance:.3f}"
    )


def test_margin_scales_and_longer_horizons_add_value(cdnow, spend, fitted):
    bg = fitted[BetaGeoModel]
    d = cdnow.iloc[::7]
    kw = {"n_draws": 200, "seed": 4, "annual_discount_rate": 0.1}
    a = clv_interval(bg, spend, *cols(d), gross_margin=0.3, horizon_months=12, **kw)
    b = clv_interval(bg, spend, *cols(d), gross_margin=0.6, horizon_months=12, **kw)
    c = clv_interval(bg, spend, *cols(d), gross_margin=0.3, horizon_months=24, **kw)
    np.testing.assert_allclose(b.customers, 2 * a.customers, rtol=1e-12)
    np.testing.assert_allclose(b.total, 2 * a.total, rtol=1e-12)
    assert (c.total_draws > a.total_draws).all()
    assert (c.customers.to_numpy() >= a.customers.to_numpy()).all()


def test_days_instead_of_weeks_give_the_same_ranges(cdnow, spend, fitted):
    """A fit in days has alpha x 7 and the same log-covariance otherwise, so with the same
    seed the draws are the weekly ones rescaled and the CLV ranges agree (to fit tolerance)."""
    bg = fitted[BetaGeoModel]
    days = BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"] * 7, cdnow["T"] * 7)
    d = cdnow.iloc[::5]
    kw = {**SETTINGS, "n_draws": 300, "seed": 9}
    w = clv_interval(bg, spend, *cols(d), time_unit="W", **kw)
    dd = clv_interval(
        days, spend, d["frequency"], d["recency"] * 7, d["T"] * 7, d["monetary_value"],
        time_unit="D", **kw,
    )  # fmt: skip
    np.testing.assert_allclose(dd.total, w.total, rtol=1e-4)
    np.testing.assert_allclose(dd.customers, w.customers, rtol=1e-4, atol=1e-8)
