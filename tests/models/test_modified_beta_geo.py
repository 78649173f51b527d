"""MBG/NBD: the published CDNOW fit, lifetimes side by side, independent identities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlclv._errors import InputError, NotFittedError
from xlclv.datasets import load_cdnow_summary, load_cdnow_summary_with_monetary
from xlclv.models import GammaGammaModel, ModifiedBetaGeoModel
from xlclv.valuation import customer_lifetime_value

# Batislam, Denizel & Filiztekin (2007) form on CDNOW (published.md), 3 significant digits.
PUBLISHED = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
NAMES = ("r", "alpha", "a", "b")


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def fit(cdnow):
    return ModifiedBetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def lifetimes_fitter(params):
    from lifetimes import ModifiedBetaGeoFitter

    f = ModifiedBetaGeoFitter()
    f.params_ = pd.Series(params)[list(NAMES)]
    return f


def lifetimes_log_likelihood(params, x, tx, T):
    """Per-customer log-likelihood from lifetimes' own implementation (one row at a time)."""
    from lifetimes import ModifiedBetaGeoFitter

    logp = np.log([params[k] for k in NAMES])
    return np.array(
        [
            -ModifiedBetaGeoFitter._negative_log_likelihood(
                logp, np.array([xi]), np.array([ti]), np.array([Ti]), np.array([1.0]), 0.0
            )
            for xi, ti, Ti in zip(
                np.atleast_1d(x), np.atleast_1d(tx), np.atleast_1d(T), strict=True
            )
        ]
    )


def test_reproduces_the_published_cdnow_fit_within_its_rounding(fit):
    for k, v in PUBLISHED.items():  # half a unit of the published third decimal
        assert fit.params_[k] == pytest.approx(v, abs=5e-4), k
    assert fit.converged_ and fit.fit_message_ == "converged"


def test_fit_and_standard_errors_match_lifetimes(cdnow, fit):
    from lifetimes import ModifiedBetaGeoFitter

    lt = ModifiedBetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    for k in NAMES:
        assert fit.params_[k] == pytest.approx(lt.params_[k], rel=1e-4), k
        assert fit.standard_errors_[k] == pytest.approx(lt.standard_errors_[k], rel=1e-2), k
    ll = lifetimes_log_likelihood(fit.params_, cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert fit.log_likelihood_ == pytest.approx(ll.sum(), abs=1e-6)
    s = fit.summary()
    assert list(s.index) == list(NAMES)
    assert (s["lower_95"] < s["estimate"]).all() and (s["estimate"] < s["upper_95"]).all()


def test_weights_give_the_same_fit_as_repeated_rows(cdnow, fit):
    g = cdnow.groupby(["frequency", "recency", "T"]).size().reset_index(name="n")
    m = ModifiedBetaGeoModel().fit(g["frequency"], g["recency"], g["T"], weights=g["n"])
    assert m.params_ == pytest.approx(fit.params_, rel=1e-6)


def test_predictions_agree_with_lifetimes(cdnow, fit):
    lt = lifetimes_fitter(fit.params_)
    x, tx, T = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T"))
    np.testing.assert_allclose(
        fit.probability_alive(x, tx, T), lt.conditional_probability_alive(x, tx, T), rtol=1e-9
    )
    for t in (1.0, 10.0, 52.0):
        np.testing.assert_allclose(
            fit.expected_purchases(t, x, tx, T),
            lt.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T),
            rtol=1e-8,
        )
    ts = np.array([0.5, 5.0, 39.0, 78.0, 520.0])
    np.testing.assert_allclose(
        fit.expected_purchases_new_customer(ts), lt.expected_number_of_purchases_up_to_time(ts),
        rtol=1e-8,
    )  # fmt: skip
    for n in (0, 1, 2, 7, 20):
        assert fit.probability_of_purchases(39.0, n) == pytest.approx(
            float(lt.probability_of_n_purchases_up_to_time(39.0, n)), rel=1e-7
        )


def test_one_time_buyers_can_be_inactive_and_fade_with_time(fit):
    p = fit.probability_alive([0, 0, 0], [0, 0, 0], [1.0, 20.0, 80.0])
    assert np.all(p < 1) and p[0] > p[1] > p[2]
    # At T = 0 only the dropout at the first purchase counts: P(alive) = b / (a + b).
    a, b = fit.params_["a"], fit.params_["b"]
    assert fit.probability_alive(0, 0, 0) == pytest.approx(b / (a + b), rel=1e-12)


def test_probability_of_purchases_sums_to_one_and_matches_the_mean(fit):
    n = np.arange(0, 400)
    p = fit.probability_of_purchases(39.0, n)
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert (p * n).sum() == pytest.approx(fit.expected_purchases_new_customer(39.0), rel=1e-8)


@pytest.mark.parametrize(
    ("x", "tx", "T", "t"),
    [(0, 0.0, 38.86, 10.0), (2, 30.43, 38.86, 1.0), (5, 10.0, 38.86, 52.0), (40, 38.0, 39.0, 5.0)],
)
def test_probability_no_purchase_is_a_likelihood_ratio(fit, x, tx, T, t):
    """No purchase in (T, T+t] given the history = L(x, t_x, T+t) / L(x, t_x, T): the same
    purchases observed for longer. Likelihoods from lifetimes' implementation."""
    ll = lifetimes_log_likelihood(fit.params_, [x, x], [tx, tx], [T + t, T])
    assert fit.probability_no_purchase(t, x, tx, T) == pytest.approx(
        np.exp(ll[0] - ll[1]), rel=1e-9
    )


def test_probability_no_purchase_of_a_new_customer_is_p_x_equals_0(fit):
    ts = np.array([1.0, 10.0, 100.0])
    np.testing.assert_allclose(
        fit.probability_no_purchase(ts, 0, 0, 0), fit.probability_of_purchases(ts, 0), rtol=1e-12
    )


@pytest.mark.parametrize(
    ("params", "x", "tx", "T", "t"),
    [
        ((0.525, 6.183, 0.891, 1.614), 300, 38.0, 38.86, 2000.0),
        ((0.525, 6.183, 0.891, 1.614), 0, 0.0, 1.0, 520.0),
        ((0.5, 30.0, 1.0, 3.0), 4, 20.0, 200.0, 3650.0),  # a = 1 exactly
    ],
)
def test_expected_purchases_against_numerical_integration(params, x, tx, T, t):
    """Given alive, p ~ Beta(a, b+x+1) and lambda ~ Gamma(r+x, alpha+T), so
    E[Y(t) | alive] = E[(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p], integrated numerically."""
    from scipy import integrate, stats

    r, alpha, a, b = params
    m = ModifiedBetaGeoModel().set_params(r=r, alpha=alpha, a=a, b=b)
    beta = stats.beta(a, b + x + 1)

    def integrand(p):
        return -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p * beta.pdf(p)

    mean_alive = integrate.quad(integrand, 0, 1, limit=500, epsrel=1e-11, points=[1e-6, 1e-3])[0]
    expected = mean_alive * m.probability_alive(x, tx, T)
    assert m.expected_purchases(t, x, tx, T) == pytest.approx(expected, rel=1e-6)


def test_usable_by_customer_lifetime_value(fit):
    """Against a hand-written monthly sum on lifetimes' conditional expectation."""
    d = load_cdnow_summary_with_monetary().iloc[:300]
    gg = GammaGammaModel().set_params(p=6.25, q=3.74, v=15.44)
    clv = customer_lifetime_value(
        fit, gg, d["frequency"], d["recency"], d["T"], d["monetary_value"],
        gross_margin=0.3, horizon_months=6, annual_discount_rate=0.1, time_unit="W",
    )  # fmt: skip
    lt = lifetimes_fitter(fit.params_)
    u = 365.25 / 12 / 7  # weeks per month
    i = 1.1 ** (1 / 12) - 1
    x, tx, T = d["frequency"].to_numpy(), d["recency"].to_numpy(), d["T"].to_numpy()
    cum = [np.zeros(len(d))] + [
        lt.conditional_expected_number_of_purchases_up_to_time(m * u, x, tx, T) for m in range(1, 7)
    ]
    spend = (15.44 + x * d["monetary_value"].to_numpy()) * 6.25 / (6.25 * x + 3.74 - 1)
    expected = sum((cum[m] - cum[m - 1]) / (1 + i) ** m for m in range(1, 7)) * spend * 0.3
    np.testing.assert_allclose(clv, expected, rtol=1e-7)


customers = st.tuples(st.integers(0, 300), st.floats(0, 1), st.floats(0.01, 400)).map(
    lambda v: (v[0], 0.0 if v[0] == 0 else v[1] * v[2], v[2])
)
model_params = st.tuples(
    st.floats(0.05, 5), st.floats(0.5, 50), st.floats(0.1, 5), st.floats(0.1, 8)
)


@settings(max_examples=150, deadline=None)
@given(customers, model_params, st.floats(0.1, 100))
def test_predictions_are_in_range_and_monotone(cust, params, t):
    m = ModifiedBetaGeoModel().set_params(**dict(zip(NAMES, params, strict=True)))
    x, tx, T = cust
    p = m.probability_alive(x, tx, T)
    assert 0.0 <= p <= 1.0
    e1, e2 = m.expected_purchases([t, 2 * t], x, tx, T)
    assert np.isfinite(e2) and 0 <= e1 <= e2 * (1 + 1e-9)
    q1, q2 = m.probability_no_purchase([t, 2 * t], x, tx, T)
    assert 1.0 >= q1 >= q2 >= 1.0 - p - 1e-12


def test_bad_inputs_and_unfitted():
    with pytest.raises(InputError, match="recency cannot exceed T"):
        ModifiedBetaGeoModel().fit([1, 2], [1, 3], [2, 2])
    with pytest.raises(InputError, match="t must be a non-negative"):
        ModifiedBetaGeoModel().set_params(**PUBLISHED).probability_no_purchase(-1, 1, 1, 2)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        ModifiedBetaGeoModel().probability_no_purchase(1, 1, 1, 2)


def simulate_mbgnbd(n, params, T, rng):
    """The MBG/NBD process: lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b); a coin with
    dropout probability p at the first purchase and after each repeat purchase. With J the
    coins survived before the first dropout and N ~ Poisson(lambda T) arrivals, the repeat
    purchases are x = min(N, J), the last at the x-th of N uniform arrival times."""
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    survived = rng.geometric(p) - 1  # failures before the first "success" (dropout)
    arrivals = rng.poisson(lam * T)
    x = np.minimum(arrivals, survived)
    recency = np.zeros(n)
    some = x > 0
    recency[some] = T[some] * rng.beta(x[some], arrivals[some] - x[some] + 1)
    return pd.DataFrame({"frequency": x.astype(float), "recency": recency, "T": T})


def test_fit_agrees_with_lifetimes_and_recovers_parameters_on_simulated_data():
    from lifetimes import ModifiedBetaGeoFitter

    truth = {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 2.5}
    rng = np.random.default_rng(2007)
    T = np.round(rng.uniform(10, 60, 20_000) * 7) / 7
    d = simulate_mbgnbd(20_000, truth, T, rng)
    d["recency"] = np.round(d["recency"] * 7) / 7
    m = ModifiedBetaGeoModel().fit(d["frequency"], d["recency"], d["T"])
    lt = ModifiedBetaGeoFitter().fit(d["frequency"], d["recency"], d["T"])
    assert m.converged_
    for k in NAMES:
        assert m.params_[k] == pytest.approx(lt.params_[k], rel=1e-3), k
        assert abs(m.params_[k] - truth[k]) < 4 * m.standard_errors_[k], k
