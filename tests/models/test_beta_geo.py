"""BG/NBD: the published CDNOW fit, lifetimes side by side, properties and degenerate data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlclv import simulate as sim
from xlclv._errors import ConvergenceWarning, FitError, InputError, NotFittedError
from xlclv.datasets import load_cdnow_summary
from xlclv.models import BetaGeoModel

# Fader, Hardie & Lee (2005), CDNOW calibration period (published.md).
PUBLISHED = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
PUBLISHED_LL = -9582.43


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def cdnow_fit(cdnow):
    return BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def synthetic():
    """Day-resolution synthetic customers from the BG/NBD's own process."""
    rng = np.random.default_rng(20260101)
    T = np.round(rng.uniform(4, 52, 5000) * 7) / 7
    df = sim.bgnbd_summary(5000, 0.5, 6.0, 0.8, 3.0, T, rng)
    df["recency"] = np.round(df["recency"] * 7) / 7
    return df


def lifetimes_fitter(params):
    from lifetimes import BetaGeoFitter

    f = BetaGeoFitter()
    f.params_ = pd.Series(params)
    return f


def test_reproduces_published_cdnow_fit(cdnow_fit):
    for k, v in PUBLISHED.items():
        assert cdnow_fit.params_[k] == pytest.approx(v, rel=5e-4), k
    assert cdnow_fit.log_likelihood_ == pytest.approx(PUBLISHED_LL, abs=0.01)
    assert cdnow_fit.converged_
    assert cdnow_fit.fit_message_ == "converged"


def test_standard_errors_match_lifetimes_on_cdnow(cdnow, cdnow_fit):
    from lifetimes import BetaGeoFitter

    lt = BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    for k in PUBLISHED:
        assert cdnow_fit.standard_errors_[k] == pytest.approx(lt.standard_errors_[k], rel=1e-2)
    s = cdnow_fit.summary()
    assert list(s.columns) == ["estimate", "standard_error", "lower_95", "upper_95"]
    assert (s["lower_95"] < s["estimate"]).all()


def test_weights_give_the_same_fit_as_repeated_rows(cdnow, cdnow_fit):
    grouped = cdnow.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    m = BetaGeoModel().fit(grouped["frequency"], grouped["recency"], grouped["T"], grouped["n"])
    for k in PUBLISHED:
        assert m.params_[k] == pytest.approx(cdnow_fit.params_[k], rel=1e-6)
    assert m.log_likelihood_ == pytest.approx(cdnow_fit.log_likelihood_, abs=1e-6)


def test_fit_agrees_with_lifetimes_on_synthetic_data(synthetic):
    from lifetimes import BetaGeoFitter

    d = synthetic
    ours = BetaGeoModel().fit(d["frequency"], d["recency"], d["T"])
    lt = BetaGeoFitter().fit(d["frequency"], d["recency"], d["T"])
    for k in PUBLISHED:
        assert ours.params_[k] == pytest.approx(lt.params_[k], rel=1e-3), k


def test_predictions_agree_with_lifetimes(synthetic, cdnow_fit):
    d = synthetic.iloc[:500]
    lt = lifetimes_fitter(cdnow_fit.params_)
    x, tx, T = d["frequency"], d["recency"], d["T"]
    np.testing.assert_allclose(
        cdnow_fit.probability_alive(x, tx, T),
        lt.conditional_probability_alive(x, tx, T),
        rtol=1e-9,
    )
    for t in (1.0, 10.0, 52.0):
        np.testing.assert_allclose(
            cdnow_fit.expected_purchases(t, x, tx, T),
            lt.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T),
            rtol=1e-8,
        )
    ts = np.array([0.5, 5.0, 39.0, 78.0, 520.0])
    np.testing.assert_allclose(
        cdnow_fit.expected_purchases_new_customer(ts),
        lt.expected_number_of_purchases_up_to_time(ts),
        rtol=1e-8,
    )
    for n in (0, 1, 2, 7, 20):
        assert cdnow_fit.probability_of_purchases(39.0, n) == pytest.approx(
            float(lt.probability_of_n_purchases_up_to_time(39.0, n)), rel=1e-8
        )


def test_probability_of_purchases_sums_to_one_and_matches_the_mean(cdnow_fit):
    n = np.arange(0, 400)
    p = cdnow_fit.probability_of_purchases(39.0, n)
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert (p * n).sum() == pytest.approx(cdnow_fit.expected_purchases_new_customer(39.0), rel=1e-8)


def test_scalar_inputs_give_floats_and_arrays_keep_their_shape(cdnow_fit):
    assert isinstance(cdnow_fit.probability_alive(2, 30.43, 38.86), float)
    assert isinstance(cdnow_fit.expected_purchases(10, 2, 30.43, 38.86), float)
    assert cdnow_fit.expected_purchases([1, 2, 3], 2, 30.43, 38.86).shape == (3,)
    assert isinstance(cdnow_fit.expected_purchases_new_customer(10), float)
    assert cdnow_fit.probability_of_purchases([10, 20], 1).shape == (2,)


def test_a_customer_with_500_purchases(cdnow_fit):
    p = cdnow_fit.probability_alive(500, 38.85, 38.86)
    e = cdnow_fit.expected_purchases(10, 500, 38.85, 38.86)
    assert 0 < p <= 1 and np.isfinite(e) and e > 100
    # and in a fit
    d = load_cdnow_summary()
    freq = d["frequency"].to_numpy().copy()
    freq[0] = 500
    rec = d["recency"].to_numpy().copy()
    rec[0] = 38.0
    m = BetaGeoModel().fit(freq, rec, d["T"])
    assert m.converged_ and np.isfinite(m.log_likelihood_)


# -- properties ----------------------------------------------------------------------------
customers = st.tuples(
    st.integers(0, 300),
    st.floats(0, 1),
    st.floats(0.01, 400),
).map(lambda v: (v[0], 0.0 if v[0] == 0 else v[1] * v[2], v[2]))
model_params = st.tuples(
    st.floats(0.05, 5), st.floats(0.5, 50), st.floats(0.1, 5), st.floats(0.1, 8)
)


@settings(max_examples=150, deadline=None)
@given(customers, model_params)
def test_probability_alive_is_a_probability_and_1_without_repeat_purchase(cust, params):
    m = BetaGeoModel().set_params(**dict(zip(("r", "alpha", "a", "b"), params, strict=True)))
    x, tx, T = cust
    p = m.probability_alive(x, tx, T)
    assert 0.0 <= p <= 1.0
    if x == 0:
        assert p == 1.0


@settings(max_examples=150, deadline=None)
@given(customers, model_params, st.floats(0.1, 100))
def test_expected_purchases_increase_with_the_horizon(cust, params, t):
    m = BetaGeoModel().set_params(**dict(zip(("r", "alpha", "a", "b"), params, strict=True)))
    x, tx, T = cust
    e1, e2 = m.expected_purchases([t, 2 * t], x, tx, T)
    assert np.isfinite(e1) and np.isfinite(e2)
    assert 0 <= e1 <= e2 * (1 + 1e-9)
    n1, n2 = m.expected_purchases_new_customer([t, 2 * t])
    assert 0 <= n1 <= n2 * (1 + 1e-9)


# -- parameter recovery (slow) ---------------------------------------------------------------
@pytest.mark.slow
def test_recovers_known_parameters_from_a_large_simulation():
    truth = {"r": 0.6, "alpha": 8.0, "a": 1.2, "b": 3.5}
    rng = np.random.default_rng(7)
    d = sim.bgnbd_summary(400_000, **truth, T=rng.uniform(20, 80, 400_000), rng=rng)
    m = BetaGeoModel().fit(d["frequency"], d["recency"], d["T"])
    for k, v in truth.items():
        assert abs(m.params_[k] - v) < 4 * m.standard_errors_[k], k
        assert m.params_[k] == pytest.approx(v, rel=0.05), k


# -- inputs and degenerate data --------------------------------------------------------------
@pytest.mark.parametrize(
    ("frequency", "recency", "T", "match"),
    [
        ([1, -1], [1, 0], [2, 2], "frequency must not be negative"),
        ([1, 1.5], [1, 1], [2, 2], "frequency must be whole numbers"),
        ([1, 2], [1, 3], [2, 2], "recency cannot exceed T"),
        ([1, 2], [1, 1], [2, 2, 2], "same length"),
        ([], [], [], "no customers"),
        ([1, np.nan], [1, 1], [2, 2], "frequency has missing"),
        ([0, 1], [1, 1], [2, 2], "recency must be 0 for customers with no repeat purchase"),
        (["a", 1], [1, 1], [2, 2], "frequency must hold numbers"),
        ([1, 1], [1, -1], [2, 2], "recency must not be negative"),
    ],
)
def test_bad_inputs_raise_clear_input_errors(frequency, recency, T, match):
    with pytest.raises(InputError, match=match):
        BetaGeoModel().fit(frequency, recency, T)


def test_bad_weights():
    with pytest.raises(InputError, match="weights must not be negative"):
        BetaGeoModel().fit([1, 2], [1, 1], [2, 2], weights=[1, -1])
    with pytest.raises(FitError, match="weights are zero"):
        BetaGeoModel().fit([1, 2], [1, 1], [2, 2], weights=[0, 0])


def test_all_one_time_buyers_is_a_fit_error():
    with pytest.raises(FitError, match="no customer made a repeat purchase"):
        BetaGeoModel().fit([0, 0, 0], [0, 0, 0], [10, 20, 30])


@pytest.mark.parametrize(
    "data",
    [
        ([3], [10.0], [20.0]),  # a single customer
        ([2] * 50, [5.0] * 50, [30.0] * 50),  # identical customers
    ],
    ids=["single customer", "identical customers"],
)
def test_unidentifiable_data_is_reported_not_silent(data):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = BetaGeoModel().fit(*data)
    assert not m.converged_
    assert "did not converge" in m.fit_message_
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)
    # Whatever it found, predictions are still numbers in range, not NaN.
    p = m.probability_alive(*data)
    assert np.all((p >= 0) & (p <= 1))


def test_unfitted_model_raises_not_fitted_error():
    m = BetaGeoModel()
    for call in (
        lambda: m.probability_alive(1, 1, 2),
        lambda: m.expected_purchases(1, 1, 1, 2),
        lambda: m.expected_purchases_new_customer(1),
        lambda: m.probability_of_purchases(1, 1),
        m.summary,
    ):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()
    assert "not fitted" in repr(m)


def test_bad_prediction_arguments(cdnow_fit):
    with pytest.raises(InputError, match="t must be a non-negative"):
        cdnow_fit.expected_purchases(-1, 1, 1, 2)
    with pytest.raises(InputError, match="n must be a whole number"):
        cdnow_fit.probability_of_purchases(1, 1.5)
    with pytest.raises(InputError, match="same length"):
        cdnow_fit.probability_alive([1, 2], [1, 1, 1], [2, 2, 2, 2])


def test_set_params_uses_published_values():
    m = BetaGeoModel().set_params(**PUBLISHED)
    assert m.converged_ and m.params_ == PUBLISHED
    with pytest.raises(InputError, match="missing"):
        BetaGeoModel().set_params(r=1.0)


@pytest.mark.parametrize(
    ("params", "x", "tx", "T", "t"),
    [
        ((1.0, 1.0, 2.0, 2.0), 98, 0.5, 1.0, 20.0),  # scipy's hyp2f1 returns inf here
        ((0.2426, 4.4136, 0.7929, 2.4259), 300, 38.0, 38.86, 2000.0),
        ((0.2426, 4.4136, 0.7929, 2.4259), 0, 0.0, 1.0, 520.0),
        ((0.5, 30.0, 1.0, 3.0), 4, 20.0, 200.0, 3650.0),  # a = 1 exactly
    ],
)
def test_long_horizons_and_many_purchases_against_numerical_integration(params, x, tx, T, t):
    """E[Y(t) | alive] = E[(1 - ((alpha+T) / (alpha+T+p t))^(r+x)) / p] over p ~ Beta(a, b+x)
    (the model's definition, integrated numerically), times P(alive)."""
    from scipy import integrate, stats

    r, alpha, a, b = params
    m = BetaGeoModel().set_params(r=r, alpha=alpha, a=a, b=b)
    beta = stats.beta(a, b + x)

    def integrand(p):
        return -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p * beta.pdf(p)

    mean_alive = integrate.quad(integrand, 0, 1, limit=500, epsrel=1e-11, points=[1e-6, 1e-3])[0]
    expected = mean_alive * m.probability_alive(x, tx, T)
    assert m.expected_purchases(t, x, tx, T) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("factor", [7.0, 12 / (365.25 / 7)], ids=["days", "months"])
def test_time_unit_changes_only_rescale_alpha(cdnow, cdnow_fit, factor):
    """Measuring time in days (or months) multiplies alpha by the factor and shifts the
    log-likelihood by -sum(x) log(factor) (the Jacobian of the purchase times)."""
    m = BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"] * factor, cdnow["T"] * factor)
    expected = dict(cdnow_fit.params_, alpha=cdnow_fit.params_["alpha"] * factor)
    assert m.params_ == pytest.approx(expected, rel=1e-7)
    shift = -cdnow["frequency"].sum() * np.log(factor)
    assert m.log_likelihood_ == pytest.approx(cdnow_fit.log_likelihood_ + shift, abs=1e-6)


def test_big_data_warm_start_finds_the_same_optimum(monkeypatch):
    """Above 20,000 distinct rows the fit starts from a subsample fit; same answer as without."""
    from xlclv.models import _base

    rng = np.random.default_rng(5)
    d = sim.bgnbd_summary(40_000, 0.5, 6.0, 0.8, 3.0, rng.uniform(10, 50, 40_000), rng)
    warm = BetaGeoModel().fit(d["frequency"], d["recency"], d["T"])
    monkeypatch.setattr(_base, "_SUBSAMPLE", 10**9)
    cold = BetaGeoModel().fit(d["frequency"], d["recency"], d["T"])
    assert warm.converged_ and cold.converged_
    assert warm.params_ == pytest.approx(cold.params_, rel=1e-6)
    assert warm.standard_errors_ == pytest.approx(cold.standard_errors_, rel=1e-3)


DEGENERATE = {
    "two customers": ([3, 0], [10.0, 0.0], [20.0, 20.0]),
    "one heavy buyer": ([500, 0, 1], [38.0, 0.0, 5.0], [39.0, 39.0, 39.0]),
    "tiny T": ([1, 0, 2], [1e-6, 0.0, 2e-6], [1e-5, 1e-5, 1e-5]),
    "all bought on the last day": ([1, 2, 3, 0], [20.0, 20.0, 20.0, 0.0], [20.0] * 4),
}


@pytest.mark.parametrize("model", ["BetaGeoModel", "ParetoNBDModel"])
@pytest.mark.parametrize("data", DEGENERATE.values(), ids=DEGENERATE.keys())
def test_degenerate_data_gives_numbers_and_an_honest_status(model, data):
    import xlclv.models

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = getattr(xlclv.models, model)().fit(*data)
    if not m.converged_:
        assert any(issubclass(w.category, ConvergenceWarning) for w in caught)
        assert m.fit_message_.startswith("did not converge")
    assert np.isfinite(m.log_likelihood_)
    p = m.probability_alive(*data)
    e = m.expected_purchases(10.0, *data)
    assert np.all(np.isfinite(p) & (p >= 0) & (p <= 1))
    assert np.all(np.isfinite(e) & (e >= 0))
    assert np.isfinite(m.expected_purchases_new_customer(52.0))


@pytest.mark.parametrize(
    ("a", "b", "r"),
    [(0.79, 2.43, 0.24), (2.0, 300.0, 1.0), (2.0, 200.0, 1.0), (1.0, 3.0, 0.5), (0.3, 0.9, 4.0)],
)
def test_fast_2f1_path_agrees_with_the_series_and_integral(a, b, r):
    """The MBG/NBD model and the CLV ranges use the Euler-transformed 2F1 where it can be
    trusted; it must agree with the defining series / Beta integral everywhere, including the
    large-b, long-horizon points where the old fallback was 14 % off."""
    from xlclv.models.beta_geo import _alive_means, _one_minus_scaled_2f1

    x = np.array([0.0, 1.0, 5.0, 40.0, 2000.0])[:, None]
    t = np.array([1e-12, 1e-7, 0.1, 4.3, 52.0, 1095.75, 1e4])[None, :]
    alpha, T = 5.0, np.array([10.0, 30.0, 50.0, 80.0, 1e4])[:, None]
    z = t / (alpha + T + t)
    fast = _one_minus_scaled_2f1(a, b, r, x, z)
    slow = _alive_means(r, a, b, *np.broadcast_arrays(x, t / (alpha + T)))
    np.testing.assert_allclose(fast, slow, rtol=1e-7)
