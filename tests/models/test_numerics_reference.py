"""The model numerics against high-precision references (issue 12): mpmath closed forms at
50-250 digits (``_references``), brute-force sums and quadrature of the defining integrals.

The fast tests cover every prediction on a grid that includes the known trouble spots (large
b, long horizons, tiny t, a = 1, up to 2,000 purchases, T up to 1e7); the slow test runs the
full cross product. Tolerance: 1e-6 relative (values below 1e-290 underflow to 0 and are
compared absolutely).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from xlclv._errors import InputError
from xlclv.models import BetaGeoModel, ParetoNBDModel, ShiftedBetaGeometricModel, _base

from . import _references as ref

REL = 1e-6
BG = {
    "cdnow": (0.2426, 4.4136, 0.7929, 2.4259),
    "large b": (1.0, 5.0, 2.0, 300.0),
    "a = 1": (0.5, 20.0, 1.0, 1e4),
    "small a, b": (0.05, 0.1, 0.05, 0.1),
    "large a": (5.0, 500.0, 30.0, 3.0),
}
SLOW_REFS = {"large beta", "large r, s"}  # mpmath takes ~20-40 s on these: in the slow run
PNBD = {
    "cdnow": (0.5532, 10.5763, 0.6062, 11.6715),
    "large beta": (1.0, 5.0, 0.5, 300.0),
    "s = 1": (0.5, 10.0, 1.0, 10.0),
    "small r, alpha": (0.05, 0.1, 2.0, 1e4),
    "large r, s": (20.0, 1.0, 20.0, 1000.0),
}


def _slow_if(value, slow):
    return pytest.param(value, marks=[pytest.mark.slow] * bool(slow), id=str(value))


def bg(params):
    return BetaGeoModel().set_params(**dict(zip(("r", "alpha", "a", "b"), params, strict=True)))


def pnbd(params):
    return ParetoNBDModel().set_params(
        **dict(zip(("r", "alpha", "s", "beta"), params, strict=True))
    )


def close(value, reference, rel=REL):
    reference = float(reference)
    if abs(reference) < 1e-290:
        return abs(value) < 1e-280
    return abs(value - reference) <= rel * abs(reference)


# customers (x, t_x as a share of T, T) and horizons t of the fast grid
CUSTOMERS = [(0, 0.0, 39.0), (1, 0.5, 1.0), (7, 0.999999, 1e4), (2000, 0.9, 1e7), (50, 1.0, 39.0)]
HORIZONS = [1e-8, 52.0, 1e5]


def rfm_grid(customers=CUSTOMERS, horizons=HORIZONS):
    for (x, share, T), t in itertools.product(customers, horizons):
        yield x, share * T, T, t


# -- the issue's examples -------------------------------------------------------------------
def test_issue_bgnbd_large_b_long_horizon():
    """Was 89.40 (a formula valid only for enormous a and b); exact 103.530220940388."""
    m = BetaGeoModel().set_params(r=1, alpha=5, a=2, b=300)
    expected = ref.bg_expected_new(1, 5, 2, 300, 1095.75)
    assert close(m.expected_purchases_new_customer(1095.75), expected, rel=1e-10)
    assert float(expected) == pytest.approx(103.530220940388, rel=1e-12)
    m = BetaGeoModel().set_params(r=1, alpha=5, a=2, b=200)
    assert close(m.expected_purchases_new_customer(1e4), ref.bg_expected_new(1, 5, 2, 200, 1e4))


def test_issue_sbg_derl_for_long_standing_weekly_customers():
    """Was NaN beyond ~168 weeks (the 5,000-term series gave up)."""
    m = ShiftedBetaGeometricModel().set_params(alpha=0.668, beta=3.806)
    d = 1.1 ** (1 / 52) - 1  # 10 % a year, weekly periods
    for n in (168, 1000, 100_000):
        value = m.discounted_expected_residual_lifetime(d, n)
        assert np.isfinite(value)
        assert close(value, ref.sbg_derl(0.668, 3.806, d, n), rel=1e-9)


def test_issue_bgnbd_tiny_horizons_keep_their_relative_precision():
    m = bg(BG["cdnow"])
    for t in (1e-12, 1e-9, 1e-6, 1e-3):
        assert close(
            m.expected_purchases_new_customer(t), ref.bg_expected_new(*BG["cdnow"], t), 1e-10
        )
        assert close(m.expected_purchases(t, 2, 30.43, 38.86), ref.bg_expected(*BG["cdnow"], 2, 30.43, 38.86, t), 1e-10)  # fmt: skip


# -- BG/NBD ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BG)
def test_bgnbd_against_mpmath(name):
    params = BG[name]
    m = bg(params)
    for x, tx, T, t in rfm_grid():
        assert close(m.probability_alive(x, tx, T), ref.bg_p_alive(*params, x, tx, T)), (x, tx, T)
        assert close(m.expected_purchases(t, x, tx, T), ref.bg_expected(*params, x, tx, T, t)), (x, tx, T, t)  # fmt: skip
        assert close(
            m.probability_alive(x, tx, T, future_t=t), ref.bg_p_alive_future(*params, x, tx, T, t)
        ), (x, tx, T, t)
        assert close(
            m.probability_no_purchase(t, x, tx, T), ref.bg_no_purchase(*params, x, tx, T, t)
        ), (x, tx, T, t)
    for t in HORIZONS + [1095.75, 1e7]:
        assert close(m.expected_purchases_new_customer(t), ref.bg_expected_new(*params, t)), t


@pytest.mark.parametrize(
    ("params", "x", "u", "survival"),
    [
        # found by a random scan: the first step was too coarse for the integrand (self-check
        # failed, NaN); now halved until it passes
        ((38.61, 934.93, 8.7731, 0.058685), 0, 7960.7, True),
        # mpmath's hyp2f1 returns -8.8e990 here (the reference comes from quadrature)
        ((18.809, 57.999, 0.25363, 8473.0), 2000, 7.1132, True),
        ((18.809, 57.999, 0.25363, 8473.0), 2000, 7.1132, False),
    ],
)
def test_bgnbd_means_at_points_found_by_random_scans(params, x, u, survival):
    from xlclv.models import beta_geo

    r, _, a, b = params
    value = beta_geo._alive_means(r, a, b, np.array([float(x)]), np.array([u]), survival=survival)
    expected = ref.bg_alive_mean_by_quadrature(r, a, b, x, u, survival=survival)
    assert close(float(value[0]), expected, 1e-9)


@pytest.mark.parametrize("name", BG)
def test_bgnbd_pmf_against_mpmath(name):
    params = BG[name]
    m = bg(params)
    for t, n in itertools.product([1e-6, 39.0, 1e5], [0, 1, 3, 2000]):
        assert close(m.probability_of_purchases(t, n), ref.bg_pmf(*params, t, n)), (t, n)


# -- Pareto/NBD -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", [_slow_if(n, n in SLOW_REFS) for n in PNBD])
def test_pareto_nbd_against_mpmath(name):
    params = PNBD[name]
    m = pnbd(params)
    for x, tx, T, t in rfm_grid():
        assert close(m.probability_alive(x, tx, T), ref.pnbd_p_alive(*params, x, tx, T)), (x, tx, T)
        assert close(m.expected_purchases(t, x, tx, T), ref.pnbd_expected(*params, x, tx, T, t)), (x, tx, T, t)  # fmt: skip
    for t in HORIZONS:
        r, alpha, s, beta = params
        mean = ref.pnbd_expected(r, alpha, s, beta, 0, 0, 0, t)  # a new customer: x = T = 0
        assert close(m.expected_purchases_new_customer(t), mean), t


@pytest.mark.parametrize(
    ("params", "x", "tx", "T"),
    [
        ((0.3926, 184.46, 0.0243, 0.0216), 300, 0.0, 251.76),
        ((6.697, 9.0822, 0.0351, 0.01258), 300, 0.0, 33.385),
        ((0.6457, 25.468, 0.228, 0.0252), 300, 0.0, 113.51),
        ((0.0151, 1880.3, 0.1267, 0.1072), 2000, 0.0, 98.93),
    ],
)
def test_pareto_nbd_p_alive_where_2f1_and_the_fixed_quadrature_lose_accuracy(params, x, tx, T):
    """Found by a random scan: scipy's 2F1 fails (z near 1) and the 16-node rule, following
    the dropout factor, missed the purchase factor's decay (errors up to 1e-5)."""
    m = pnbd(params)
    assert close(m.probability_alive(x, tx, T), ref.pnbd_p_alive(*params, x, tx, T), 1e-10)


@pytest.mark.parametrize("name", ["cdnow", _slow_if("large beta", True), "s = 1"])
def test_pareto_nbd_pmf_and_no_purchase_against_mpmath(name):
    params = PNBD[name]
    r, alpha, s, beta = params
    m = pnbd(params)
    for t, n in [(1e-6, 0), (1e-6, 1), (39.0, 0), (39.0, 3), (1e4, 2)]:
        assert close(m.probability_of_purchases(t, n), ref.pnbd_pmf(*params, t, n)), (t, n)
    # P(nothing in t | history) = P(dead) + P(alive) P(X(t) = 0 | posterior parameters):
    # the conditional PMF route, against the code's likelihood-ratio route
    for x, tx, T in [(0, 0.0, 39.0), (2, 30.43, 38.86), (40, 10.0, 1e3)]:
        for t in (1e-3, 52.0):
            pa = ref.pnbd_p_alive(*params, x, tx, T)
            p0 = 1 - pa + pa * ref.pnbd_pmf(r + x, alpha + T, s, beta + T, t, 0)
            assert close(m.probability_no_purchase(t, x, tx, T), p0), (x, tx, T, t)


@pytest.mark.parametrize("name", [_slow_if(n, n in SLOW_REFS) for n in PNBD])
def test_pareto_nbd_dert_against_mpmath(name):
    params = PNBD[name]
    m = pnbd(params)
    for (x, share, T), delta in itertools.product(CUSTOMERS, [1e-9, np.log(1.15) / 52, 1.0]):
        value = m.discounted_expected_residual_transactions(delta, x, share * T, T)
        assert close(value, ref.pnbd_dert(*params, x, share * T, T, delta)), (x, T, delta)


def test_pareto_nbd_dert_is_the_discounted_flow_of_expected_purchases():
    """DERT = int_0^inf e^(-delta tau) dE[Y(tau)] = delta int_0^inf e^(-delta tau) E[Y(tau)]
    d tau: the closed-form conditional expectation (eq. 22) integrated numerically."""
    m = pnbd(PNBD["cdnow"])
    delta = np.log(1.15) / 52  # 15 % a year, weeks (Fader, Hardie & Lee 2005)
    for x, tx, T in [(0, 0.0, 38.86), (2, 30.43, 38.86), (10, 35.0, 38.86)]:

        def flow(v, x=x, tx=tx, T=T):  # tau = e^v - 1 covers (0, inf) smoothly
            tau = np.expm1(v)
            return delta * np.exp(-delta * tau) * m.expected_purchases(tau, x, tx, T) * (tau + 1)

        brute = integrate.quad(flow, 0, 12, limit=400, epsabs=0, epsrel=1e-11)[0]
        value = m.discounted_expected_residual_transactions(delta, x, tx, T)
        assert value == pytest.approx(brute, rel=1e-8)


# -- conditional PMF and P(no purchase): consistency and lifetimes ----------------------------
@pytest.mark.parametrize(
    "model", [bg(BG["cdnow"]), pnbd(PNBD["cdnow"])], ids=["BG/NBD", "Pareto/NBD"]
)
@pytest.mark.parametrize(("x", "tx", "T"), [(0, 0.0, 38.86), (2, 30.43, 38.86), (12, 20.0, 38.86)])
def test_conditional_pmf_sums_to_one_has_the_right_mean_and_zero(model, x, tx, T):
    t = 39.0
    n = np.arange(0, 200)
    p = model.conditional_probability_of_purchases(t, n, x, tx, T)
    assert np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert (n * p).sum() == pytest.approx(model.expected_purchases(t, x, tx, T), rel=1e-8)
    assert p[0] == pytest.approx(model.probability_no_purchase(t, x, tx, T), rel=1e-10)


def test_pareto_nbd_conditional_pmf_matches_lifetimes():
    from lifetimes import ParetoNBDFitter

    r, alpha, s, beta = PNBD["cdnow"]
    lt = ParetoNBDFitter()
    lt.params_ = {"r": r, "alpha": alpha, "s": s, "beta": beta}
    m = pnbd(PNBD["cdnow"])
    for n, (x, tx, T) in itertools.product([0, 1, 4], [(0, 0.0, 38.86), (2, 30.43, 38.86)]):
        expected = lt.conditional_probability_of_n_purchases_up_to_time(n, 39.0, x, tx, T)
        assert m.conditional_probability_of_purchases(39.0, n, x, tx, T) == pytest.approx(
            float(expected), rel=1e-6
        )


def test_bgnbd_no_purchase_by_simulation():
    """Simulate the posterior story: dead with 1 - P(alive), else lambda ~ Gamma(r+x,
    alpha+T) and p ~ Beta(a, b+x); no purchase in t when dead or the Poisson count is 0."""
    r, alpha, a, b = BG["cdnow"]
    x, tx, T, t = 2, 30.43, 38.86, 26.0
    m = bg(BG["cdnow"])
    rng = np.random.default_rng(12)
    k = 400_000
    alive = rng.random(k) < m.probability_alive(x, tx, T)
    lam = rng.gamma(r + x, 1.0 / (alpha + T), k)
    none = ~alive | (rng.poisson(lam * t) == 0)
    se = np.sqrt(none.mean() * (1 - none.mean()) / k)
    assert abs(none.mean() - m.probability_no_purchase(t, x, tx, T)) < 5 * se


@settings(max_examples=25, deadline=None)
@given(
    r=st.floats(0.05, 5), alpha=st.floats(0.5, 50), a=st.floats(0.05, 5), b=st.floats(0.05, 500),
    x=st.integers(0, 60), share=st.floats(0, 1), T=st.floats(1, 200), t=st.floats(0.01, 500),
)  # fmt: skip
def test_bgnbd_conditional_probabilities_are_coherent(r, alpha, a, b, x, share, T, t):
    m = BetaGeoModel().set_params(r=r, alpha=alpha, a=a, b=b)
    tx = share * T if x > 0 else 0.0
    p0 = m.probability_no_purchase(t, x, tx, T)
    alive_later = m.probability_alive(x, tx, T, future_t=t)
    # staying alive through t is a part of "no purchase, or purchases then still alive":
    assert 0.0 <= p0 <= 1.0 and 0.0 <= alive_later <= m.probability_alive(x, tx, T) + 1e-15
    assert m.conditional_probability_of_purchases(t, 0, x, tx, T) == pytest.approx(p0, rel=1e-9)


# -- sBG --------------------------------------------------------------------------------------
SBG = [(0.668, 3.806), (0.704, 1.182), (0.01, 0.01), (1.0, 1.0), (5.0, 0.1), (100.0, 1e4)]


@pytest.mark.parametrize(
    ("alpha", "beta"), [pytest.param(*ab, marks=[pytest.mark.slow] * (ab[0] >= 5)) for ab in SBG]
)
def test_sbg_del_derl_against_mpmath(alpha, beta):
    m = ShiftedBetaGeometricModel().set_params(alpha=alpha, beta=beta)
    for d in (1e-6, 1.1 ** (1 / 52) - 1, 0.1, 10.0):
        assert close(m.discounted_expected_lifetime(d), ref.sbg_derl(alpha, beta, d, 0)), d
        for n in (1, 168, 10**4):
            value = m.discounted_expected_residual_lifetime(d, n)
            assert close(value, ref.sbg_derl(alpha, beta, d, n)), (d, n)


@pytest.mark.parametrize("n", [1, 168, 5000])
def test_sbg_derl_is_the_brute_force_sum_of_the_survival_series(n):
    """sum over t >= n of S(t) / S(n-1) / (1+d)^(t-n), S a product of retention rates."""
    alpha, beta = 0.668, 3.806
    d = 1.1 ** (1 / 52) - 1
    t = np.arange(n, n + 60_000, dtype=float)  # (1+d)^-60000 < 1e-47
    log_ret = np.log((beta + t - 1) / (alpha + beta + t - 1))  # r(t), t = n, n+1, ...
    terms = np.exp(np.cumsum(log_ret) - (t - n) * np.log1p(d))
    m = ShiftedBetaGeometricModel().set_params(alpha=alpha, beta=beta)
    assert m.discounted_expected_residual_lifetime(d, n) == pytest.approx(terms.sum(), rel=1e-9)


# -- the quadrature's honesty -----------------------------------------------------------------
def test_an_untrustworthy_quadrature_gives_nan_and_a_warning(monkeypatch):
    monkeypatch.setattr(_base, "_CHECK", -1.0)  # no sum can pass the self-check
    m = bg(BG["cdnow"])
    with pytest.warns(RuntimeWarning, match="could not be computed"):
        value = m.expected_purchases(1e6, 2, 30.43, 38.86)  # too long for the series
    assert np.isnan(value)
    with pytest.warns(RuntimeWarning, match="could not be computed"):
        value = (
            ShiftedBetaGeometricModel()
            .set_params(alpha=1, beta=2)
            .discounted_expected_lifetime(0.1)
        )
    assert np.isnan(value)


def test_the_quadrature_takes_over_where_the_series_is_too_long(monkeypatch):
    from xlclv.models import beta_geo

    m = bg(BG["cdnow"])
    monkeypatch.setattr(beta_geo, "_SERIES_TERMS", 0)
    for t in (1e-6, 52.0):
        value = m.expected_purchases(t, 2, 30.43, 38.86)
        assert close(value, ref.bg_expected(*BG["cdnow"], 2, 30.43, 38.86, t), 1e-10)


def test_dert_rejects_a_negative_rate():
    with pytest.raises(InputError, match="delta"):
        pnbd(PNBD["cdnow"]).discounted_expected_residual_transactions(-0.1, 1, 1, 2)


def test_dert_without_discounting():
    """delta = 0: (r+x)/(alpha+T) (beta+T)/(s-1) P(alive) for s > 1; infinite otherwise."""
    params = (0.5, 10.0, 2.5, 12.0)
    m = pnbd(params)
    r, alpha, s, beta = params
    expected = m.probability_alive(2, 30.0, 39.0) * (r + 2) / (alpha + 39) * (beta + 39) / (s - 1)
    assert m.discounted_expected_residual_transactions(0.0, 2, 30.0, 39.0) == pytest.approx(
        expected
    )
    assert np.isinf(
        pnbd(PNBD["cdnow"]).discounted_expected_residual_transactions(0.0, 2, 30.0, 39.0)
    )


# -- the wide grid ----------------------------------------------------------------------------
WIDE_X = [0, 1, 30, 2000]
WIDE_T = [1e-3, 39.0, 1e7]
WIDE_SHARE = [0.0, 0.3, 0.999999, 1.0]
WIDE_t = [1e-10, 1.0, 1095.75, 1e7]


@pytest.mark.reference
@pytest.mark.parametrize("name", list(BG) + ["b = 200"])
def test_bgnbd_wide_grid(name):
    params = BG.get(name, (1.0, 5.0, 2.0, 200.0))
    m = bg(params)
    for x, T, share, t in itertools.product(WIDE_X, WIDE_T, WIDE_SHARE, WIDE_t):
        if (x == 0) != (share == 0.0):
            continue
        tx = share * T
        assert close(m.expected_purchases(t, x, tx, T), ref.bg_expected(*params, x, tx, T, t)), (x, tx, T, t)  # fmt: skip
        assert close(m.probability_alive(x, tx, T, future_t=t), ref.bg_p_alive_future(*params, x, tx, T, t)), (x, tx, T, t)  # fmt: skip
        assert close(m.probability_no_purchase(t, x, tx, T), ref.bg_no_purchase(*params, x, tx, T, t)), (x, tx, T, t)  # fmt: skip


@pytest.mark.reference
@pytest.mark.parametrize("name", PNBD)
def test_pareto_nbd_wide_grid(name):
    params = PNBD[name]
    m = pnbd(params)
    for x, T, share in itertools.product(WIDE_X, WIDE_T, WIDE_SHARE):
        if (x == 0) != (share == 0.0):
            continue
        tx = share * T
        assert close(m.probability_alive(x, tx, T), ref.pnbd_p_alive(*params, x, tx, T)), (x, tx, T)
        for t in WIDE_t:
            value = m.probability_no_purchase(t, x, tx, T)
            assert close(value, ref.pnbd_no_purchase(*params, x, tx, T, t)), (x, tx, T, t)
        for delta in (1e-8, 0.01, 10.0):
            value = m.discounted_expected_residual_transactions(delta, x, tx, T)
            assert close(value, ref.pnbd_dert(*params, x, tx, T, delta)), (x, tx, T, delta)


@pytest.mark.reference
@pytest.mark.parametrize(("alpha", "beta"), SBG + [(1e-3, 1e5), (30.0, 0.01)])
def test_sbg_wide_grid(alpha, beta):
    m = ShiftedBetaGeometricModel().set_params(alpha=alpha, beta=beta)
    # d = 1e-8 and n = 1e7 are left out: mpmath's hyp2f1 gives up there and its quadrature
    # reference ran for over 9 minutes (an open item; the fast grid covers n up to 1e4)
    for d, n in itertools.product([1e-4, 0.002, 0.1, 10.0], [1, 2, 168, 10**4]):
        value = m.discounted_expected_residual_lifetime(d, n)
        assert close(value, ref.sbg_derl(alpha, beta, d, n)), (d, n)


@pytest.mark.parametrize("survival", [False, True], ids=["purchases", "survival"])
def test_bgnbd_series_and_quadrature_agree(survival):
    """The two evaluations of the BG/NBD means (the defining series where it is short, the
    integral over p elsewhere) on the region where both apply."""
    from xlclv.models import beta_geo

    rng = np.random.default_rng(7)
    k = 300
    q = np.exp(rng.uniform(np.log(0.05), np.log(50), k))
    a = float(np.exp(rng.uniform(np.log(0.1), np.log(10))))
    B = np.exp(rng.uniform(np.log(0.1), np.log(1e4), k))
    u = np.exp(rng.uniform(np.log(1e-9), np.log(5), k))
    series = beta_geo._defining_series(q, a, B, u, survival=survival)
    assert np.isfinite(series).mean() > 0.9  # the series covers this region
    quad = beta_geo._quadrature_means(q, a, B, u, survival=survival)
    ok = np.isfinite(series)
    np.testing.assert_allclose(series[ok], quad[ok], rtol=1e-9)
