"""Pareto/NBD: the published CDNOW fit, lifetimes side by side, numerics, degenerate data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from xlclv import simulate as sim
from xlclv._errors import ConvergenceWarning, FitError, InputError, NotFittedError
from xlclv.datasets import load_cdnow_summary
from xlclv.models import ParetoNBDModel
from xlclv.models.pareto_nbd import _log_integral, _quadrature

# Fader & Hardie's CDNOW fit (published.md): beta sits on a flat ridge (s.e. ~6.2).
PUBLISHED = {"r": 0.5532, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}
PUBLISHED_LL = -9594.98
NAMES = ("r", "alpha", "s", "beta")


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def cdnow_fit(cdnow):
    return ParetoNBDModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(20260102)
    T = np.round(rng.uniform(4, 52, 2000) * 7) / 7
    df = sim.pnbd_summary(2000, 0.7, 8.0, 0.5, 9.0, T, rng)
    df["recency"] = np.round(df["recency"] * 7) / 7
    return df


def lifetimes_fitter(params):
    from lifetimes import ParetoNBDFitter

    f = ParetoNBDFitter()
    f.params_ = pd.Series(params)
    return f


def test_reproduces_published_cdnow_fit(cdnow_fit):
    p = cdnow_fit.params_
    for k in ("r", "alpha", "s"):
        assert p[k] == pytest.approx(PUBLISHED[k], rel=1e-3), k
    assert p["beta"] == pytest.approx(PUBLISHED["beta"], rel=5e-3)
    assert cdnow_fit.log_likelihood_ == pytest.approx(PUBLISHED_LL, abs=0.01)
    assert cdnow_fit.converged_
    # published.md: "beta has a large standard error (~6.2)".
    assert cdnow_fit.standard_errors_["beta"] == pytest.approx(6.2, abs=0.1)


def test_fit_agrees_with_lifetimes_on_synthetic_data(synthetic):
    from lifetimes import ParetoNBDFitter

    d = synthetic
    ours = ParetoNBDModel().fit(d["frequency"], d["recency"], d["T"])
    # lifetimes' default is Nelder-Mead from a random start with tol 1e-4, which can stop far
    # from the optimum on this flat surface: give it a fixed start and a tight tolerance.
    with warnings.catch_warnings():  # its likelihood emits NaN warnings on the way
        warnings.simplefilter("ignore", RuntimeWarning)
        lt = ParetoNBDFitter().fit(
            d["frequency"], d["recency"], d["T"], initial_params=np.zeros(4), tol=1e-9
        )
    for k in NAMES:
        assert ours.params_[k] == pytest.approx(lt.params_[k], rel=1e-3), k


def test_predictions_agree_with_lifetimes(synthetic, cdnow_fit):
    d = synthetic.iloc[:500]
    lt = lifetimes_fitter(cdnow_fit.params_)
    x, tx, T = d["frequency"], d["recency"], d["T"]
    np.testing.assert_allclose(
        cdnow_fit.probability_alive(x, tx, T), lt.conditional_probability_alive(x, tx, T), rtol=1e-8
    )
    for t in (1.0, 10.0, 52.0):
        np.testing.assert_allclose(
            cdnow_fit.expected_purchases(t, x, tx, T),
            lt.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T),
            rtol=1e-8,
        )
    ts = np.array([0.5, 5.0, 39.0, 520.0])
    np.testing.assert_allclose(
        cdnow_fit.expected_purchases_new_customer(ts),
        lt.expected_number_of_purchases_up_to_time(ts),
        rtol=1e-10,
    )


CASES = [
    # r, alpha, s, beta, x, t_x, T
    (0.55, 10.6, 0.6, 11.7, 2, 30.0, 38.86),
    (0.55, 10.6, 0.6, 11.7, 0, 0.0, 38.86),
    (0.55, 3.0, 0.6, 50.0, 500, 30.0, 38.86),  # alpha < beta, many purchases
    (2.0, 50.0, 3.0, 1.0, 500, 1.0, 100.0),  # alpha > beta, many purchases
    (0.3, 1.0, 0.2, 1000.0, 0, 0.0, 5.0),
    (1.0, 5.0, 1.0, 5.0, 7, 12.0, 40.0),  # alpha = beta
]


@pytest.mark.parametrize("case", CASES)
def test_likelihood_integral_against_scipy_quad(case):
    """Both the 2F1 form and the fit's quadrature agree with adaptive quadrature of I."""
    r, alpha, s, beta, x, tx, T = case

    def f(u):  # the integrand scaled by its value at t_x (no underflow at x = 500)
        return np.exp(
            -(r + x) * np.log((alpha + u) / (alpha + tx))
            - (s + 1) * np.log((beta + u) / (beta + tx))
        )

    def quad(g):
        return integrate.quad(g, tx, T, epsrel=1e-13, limit=400, points=[tx + 1e-3])[0]

    scale = -(r + x) * np.log(alpha + tx) - (s + 1) * np.log(beta + tx)
    ref = quad(f)
    arr = [np.array([v], dtype=float) for v in (x, tx, T)]
    assert _log_integral(r, alpha, s, beta, *arr)[0] - scale == pytest.approx(np.log(ref), abs=1e-9)
    log_i, grad = _quadrature(r, alpha, s, beta, *arr)
    assert log_i[0] - scale == pytest.approx(np.log(ref), abs=1e-9)
    # d log I / d alpha = -(r+x) int f / (alpha+u) / I; d log I / d r = -int log(alpha+u) f / I
    d_alpha = -(r + x) * quad(lambda u: f(u) / (alpha + u))
    assert grad[1, 0] == pytest.approx(d_alpha / ref, rel=1e-8)
    d_r = -quad(lambda u: np.log(alpha + u) * f(u))
    assert grad[0, 0] == pytest.approx(d_r / ref, rel=1e-8)
    d_beta = -(s + 1) * quad(lambda u: f(u) / (beta + u))
    assert grad[3, 0] == pytest.approx(d_beta / ref, rel=1e-8)


def test_gradient_matches_finite_differences(cdnow):
    from xlclv.models._base import unique_rows

    (x, tx, T), c = unique_rows(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    data = ParetoNBDModel._prepare(x, tx, T, c)
    m = ParetoNBDModel()
    p = np.array([0.5, 10.0, 0.7, 12.0])
    nll, grad = m._negative_log_likelihood_and_gradient(p, data)
    assert nll == pytest.approx(m._negative_log_likelihood(p, data), rel=1e-11)
    for i in range(4):
        h = np.zeros(4)
        h[i] = 1e-5 * p[i]
        fd = (
            m._negative_log_likelihood_and_gradient(p + h, data)[0]
            - m._negative_log_likelihood_and_gradient(p - h, data)[0]
        ) / (2 * h[i])
        assert grad[i] == pytest.approx(fd, rel=1e-6, abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 300),
    st.floats(0, 1),
    st.floats(0.01, 400),
    st.tuples(st.floats(0.05, 5), st.floats(0.5, 50), st.floats(0.05, 5), st.floats(0.5, 50)),
    st.floats(0.1, 100),
)
def test_properties(x, frac, T, params, t):
    m = ParetoNBDModel().set_params(**dict(zip(NAMES, params, strict=True)))
    tx = 0.0 if x == 0 else frac * T
    p = m.probability_alive(x, tx, T)
    assert 0.0 <= p <= 1.0
    e1, e2 = m.expected_purchases([t, 2 * t], x, tx, T)
    assert np.isfinite(e1) and 0 <= e1 <= e2 * (1 + 1e-9)
    n1, n2 = m.expected_purchases_new_customer([t, 2 * t])
    assert 0 <= n1 <= n2 * (1 + 1e-9)


def test_s_equal_to_one_is_the_logarithmic_limit():
    m = ParetoNBDModel().set_params(r=1.0, alpha=2.0, s=1.0, beta=3.0)
    near = ParetoNBDModel().set_params(r=1.0, alpha=2.0, s=1.0 + 1e-7, beta=3.0)
    assert m.expected_purchases_new_customer(10.0) == pytest.approx(
        near.expected_purchases_new_customer(10.0), rel=1e-6
    )
    assert m.expected_purchases_new_customer(10.0) == pytest.approx(1.5 * np.log(13 / 3))


@pytest.mark.slow
def test_recovers_known_parameters_from_a_large_simulation():
    truth = {"r": 0.6, "alpha": 8.0, "s": 0.8, "beta": 12.0}
    rng = np.random.default_rng(11)
    d = sim.pnbd_summary(
        300_000, **truth, T=np.round(rng.uniform(20, 80, 300_000) * 7) / 7, rng=rng
    )
    m = ParetoNBDModel().fit(d["frequency"], d["recency"], d["T"])
    for k, v in truth.items():
        assert abs(m.params_[k] - v) < 4 * m.standard_errors_[k], k


def test_inputs_and_degenerate_data():
    with pytest.raises(InputError, match="recency cannot exceed T"):
        ParetoNBDModel().fit([1], [5], [3])
    with pytest.raises(FitError, match="no customer made a repeat purchase"):
        ParetoNBDModel().fit([0, 0], [0, 0], [5, 6])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = ParetoNBDModel().fit([2] * 30, [5.0] * 30, [30.0] * 30)
    assert not m.converged_ and "did not converge" in m.fit_message_
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


def test_a_customer_with_500_purchases(cdnow_fit):
    p = cdnow_fit.probability_alive(500, 38.85, 38.86)
    e = cdnow_fit.expected_purchases(10, 500, 38.85, 38.86)
    assert 0 < p <= 1 and np.isfinite(e) and e > 10


def test_unfitted_model_raises_not_fitted_error():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        ParetoNBDModel().probability_alive(1, 1, 2)
    with pytest.raises(NotFittedError):
        ParetoNBDModel().expected_purchases_new_customer(1)


@pytest.mark.parametrize("factor", [7.0, 12 / (365.25 / 7)], ids=["days", "months"])
def test_time_unit_changes_only_rescale_alpha_and_beta(cdnow, cdnow_fit, factor):
    m = ParetoNBDModel().fit(cdnow["frequency"], cdnow["recency"] * factor, cdnow["T"] * factor)
    p = cdnow_fit.params_
    expected = dict(p, alpha=p["alpha"] * factor, beta=p["beta"] * factor)
    assert m.params_ == pytest.approx(expected, rel=1e-6)
    shift = -cdnow["frequency"].sum() * np.log(factor)
    assert m.log_likelihood_ == pytest.approx(cdnow_fit.log_likelihood_ + shift, abs=1e-6)


@pytest.mark.parametrize("t", [1.0, 39.0, 200.0])
def test_probability_of_purchases_sums_to_one_and_matches_the_mean(cdnow_fit, t):
    n = np.arange(0, 400)
    p = cdnow_fit.probability_of_purchases(t, n)
    assert np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0, abs=1e-8)
    assert (p * n).sum() == pytest.approx(cdnow_fit.expected_purchases_new_customer(t), rel=1e-7)


def test_probability_of_purchases_matches_simulated_shares():
    m = ParetoNBDModel().set_params(**PUBLISHED)
    d = sim.pnbd_summary(200_000, **PUBLISHED, T=39.0, rng=np.random.default_rng(8))
    p = m.probability_of_purchases(39.0, [0, 1, 2, 5])
    for k, pk in zip([0, 1, 2, 5], p, strict=True):
        share = float((d["frequency"] == k).mean())
        assert abs(share - pk) < 4 * np.sqrt(pk * (1 - pk) / len(d)), k
    assert isinstance(m.probability_of_purchases(10.0, 0), float)
    assert m.probability_of_purchases(0.0, 0) == 1.0
    with pytest.raises(InputError, match="n must be a whole number"):
        m.probability_of_purchases(1.0, -1)
