"""MBG/NBD, BG/BB, churn risk, sBG DERL and CLV ranges as Excel functions (issue 12).

Called through xlwings' own dispatch (``tests/excel_harness.py``). References are
independent of the code under test: the published CDNOW MBG/NBD fit (Batislam, Denizel &
Filiztekin 2007) and the donations BG/BB fit (Fader, Hardie & Shang 2010), lifetimes'
implementations, the models' likelihoods (for churn risk, below) and brute-force sums.

Churn risk oracle: a model's likelihood of a history ``(x, t_x, T)`` is the probability of
those purchases and of *no purchase in (t_x, T]*. So the probability of no purchase in the
next ``t`` given the history is ``L(x, t_x, T + t) / L(x, t_x, T)``, with ``L`` taken from
lifetimes' own likelihood code, for BG/NBD, MBG/NBD and Pareto/NBD alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests import excel_harness as xl
from xlclv import InputError, datasets
from xlclv.models import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)

MBGNBD_CDNOW = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
BGBB_DONATIONS = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
BGBB_DONATIONS_LL = -33225.6
SBG_HIGH_END = {"alpha": 0.668, "beta": 3.806}  # Fader & Hardie (2007)
NAMES4 = ("r", "alpha", "a", "b")


def col(values):
    return tuple((v,) for v in values)


def fit_values(rows):
    assert rows[0] == ["parameter", "value"]
    return {name: value for name, value in rows[1:]}


def as_range(rows):
    return tuple(tuple(r) for r in rows)


def column(got):
    return np.array([row[0] for row in got], dtype=float)


@pytest.fixture(scope="module")
def cdnow():
    return datasets.load_cdnow_summary_with_monetary()


@pytest.fixture(scope="module")
def ranges(cdnow):
    return {c: col(cdnow[c].tolist()) for c in ("frequency", "recency", "T", "monetary_value")}


@pytest.fixture(scope="module")
def donations():
    return datasets.load_donations()


# -- MBG/NBD ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mbgnbd_fit(ranges):
    return xl.call("MBGNBD_FIT", ranges["frequency"], ranges["recency"], ranges["T"])


def test_mbgnbd_fit_reproduces_the_published_cdnow_estimates(mbgnbd_fit):
    got = fit_values(mbgnbd_fit)
    assert list(got) == ["r", "alpha", "a", "b", "log_likelihood"]
    for k, v in MBGNBD_CDNOW.items():  # half a unit of the published third decimal
        assert got[k] == pytest.approx(v, abs=5e-4), k


def test_mbgnbd_palive_and_expected_agree_with_lifetimes(cdnow, ranges, mbgnbd_fit):
    from lifetimes import ModifiedBetaGeoFitter

    lt = ModifiedBetaGeoFitter()
    lt.params_ = pd.Series(MBGNBD_CDNOW)[list(NAMES4)]
    x, tx, T = (cdnow[c].to_numpy() for c in ("frequency", "recency", "T"))
    plain = tuple((v,) for v in MBGNBD_CDNOW.values())  # the 4 values, not the fit range
    palive = column(
        xl.call("MBGNBD_PALIVE", ranges["frequency"], ranges["recency"], ranges["T"], plain)
    )
    np.testing.assert_allclose(palive, lt.conditional_probability_alive(x, tx, T), rtol=1e-6)
    # the point of MBG/NBD: one-time buyers long gone are not 100 % alive
    assert palive[x == 0].max() < 1.0
    expected = column(
        xl.call("MBGNBD_EXPECTED", 39.0, ranges["frequency"], ranges["recency"], ranges["T"], plain)
    )
    ref = lt.conditional_expected_number_of_purchases_up_to_time(39.0, x, tx, T)
    np.testing.assert_allclose(expected, ref, rtol=1e-6)
    # the spilled fit range works as params too
    fitted = column(
        xl.call(
            "MBGNBD_PALIVE",
            ranges["frequency"],
            ranges["recency"],
            ranges["T"],
            as_range(mbgnbd_fit),
        )
    )
    np.testing.assert_allclose(fitted, palive, rtol=5e-3)


# -- churn risk ---------------------------------------------------------------------------
def _lifetimes_ll(model, params, x, tx, T):
    """Per-customer log-likelihood from lifetimes' own code."""
    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

    if model == "PNBD":
        p = [params[k] for k in ("r", "alpha", "s", "beta")]
        return ParetoNBDFitter._conditional_log_likelihood(p, x, tx, T)
    fitter = {"BGNBD": BetaGeoFitter, "MBGNBD": ModifiedBetaGeoFitter}[model]
    logp = np.log([params[k] for k in NAMES4])
    return np.array(
        [
            -fitter._negative_log_likelihood(
                logp, np.array([a]), np.array([b]), np.array([c]), np.array([1.0]), 0.0
            )
            for a, b, c in zip(x, tx, T, strict=True)
        ]
    )


CHURN_CASES = {
    "BGNBD": (BetaGeoModel, {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}),
    "MBGNBD": (ModifiedBetaGeoModel, MBGNBD_CDNOW),
    "PNBD": (ParetoNBDModel, {"r": 0.5532, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}),
}


@pytest.mark.parametrize("model", sorted(CHURN_CASES))
def test_pnopurchase_is_the_likelihood_ratio_of_a_longer_quiet_spell(model):
    cls, params = CHURN_CASES[model]
    assert callable(cls.probability_no_purchase)
    x = np.array([0.0, 0.0, 1.0, 2.0, 5.0, 10.0, 3.0])
    tx = np.array([0.0, 0.0, 5.0, 30.0, 37.0, 20.0, 1.0])
    T = np.array([2.0, 38.0, 38.0, 38.0, 38.0, 60.0, 70.0])
    for t in (0.5, 13.0, 52.0):
        got = column(
            xl.call(f"{model}_PNOPURCHASE", t, col(x), col(tx), col(T), tuple(params.values()))
        )
        ref = np.exp(
            _lifetimes_ll(model, params, x, tx, T + t) - _lifetimes_ll(model, params, x, tx, T)
        )
        np.testing.assert_allclose(got, ref, rtol=1e-6, err_msg=f"t={t}")
    zero = xl.call(f"{model}_PNOPURCHASE", 0.0, 2.0, 30.0, 38.0, tuple(params.values()))[0][0]
    assert zero == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(InputError, match="horizon must be 0 or more, got -1"):
        xl.call(f"{model}_PNOPURCHASE", -1.0, 2.0, 30.0, 38.0, tuple(params.values()))


def test_pnopurchase_keeps_blank_rows_blank_and_shows_bad_cells():
    params = tuple(MBGNBD_CDNOW.values())
    got = xl.call(
        "MBGNBD_PNOPURCHASE",
        col([13.0, None, 13.0]),
        col([1.0, None, "x"]),
        col([5.0, None, 1.0]),
        col([38.0, None, 38.0]),
        params,
    )
    assert isinstance(got[0][0], float) and 0 < got[0][0] < 1
    assert got[1][0] in (None, "")
    assert "frequency must be a number" in got[2][0]


# -- BG/BB --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bgbb_fit(donations):
    d = donations
    return xl.call(
        "BGBB_FIT", *(col(d[c].tolist()) for c in ("frequency", "recency", "periods", "weights"))
    )


def test_bgbb_fit_reproduces_the_published_donations_estimates(bgbb_fit):
    got = fit_values(bgbb_fit)
    assert list(got) == ["alpha", "beta", "gamma", "delta", "log_likelihood"]
    # half a unit of the published third decimal; the MLE's alpha is 1.20352 (lifetimes
    # agrees to 1e-7), 4.8e-4 from the published 1.204
    for k, v in BGBB_DONATIONS.items():
        assert got[k] == pytest.approx(v, abs=5e-4), k
    assert got["log_likelihood"] == pytest.approx(BGBB_DONATIONS_LL, abs=0.05)


def test_bgbb_fit_without_weights_is_the_fit_of_the_expanded_table(donations, bgbb_fit):
    d = donations
    rows = d.loc[d.index.repeat(d["weights"].astype(int))]
    expanded = xl.call(
        "BGBB_FIT", *(col(rows[c].tolist()) for c in ("frequency", "recency", "periods"))
    )
    weighted = xl.call(
        "BGBB_FIT", *(col(d[c].tolist()) for c in ("frequency", "recency", "periods", "weights"))
    )
    for k, v in fit_values(weighted).items():
        assert fit_values(expanded)[k] == pytest.approx(v, rel=1e-4), k


def test_bgbb_palive_and_expected_agree_with_lifetimes(donations, bgbb_fit):
    from lifetimes import BetaGeoBetaBinomFitter

    lt = BetaGeoBetaBinomFitter()
    lt.params_ = pd.Series(BGBB_DONATIONS)[["alpha", "beta", "gamma", "delta"]]
    x, tx, n = (donations[c].to_numpy(dtype=float) for c in ("frequency", "recency", "periods"))
    params = tuple(BGBB_DONATIONS.values())
    palive = column(xl.call("BGBB_PALIVE", col(x), col(tx), col(n), params))
    np.testing.assert_allclose(palive, lt.conditional_probability_alive(1, x, tx, n), rtol=1e-6)
    for m in (1.0, 5.0):
        got = column(xl.call("BGBB_EXPECTED", m, col(x), col(tx), col(n), params))
        ref = lt.conditional_expected_number_of_purchases_up_to_time(m, x, tx, n)
        np.testing.assert_allclose(got, ref, rtol=1e-6)
    # the spilled fit range works as params too
    top = xl.call("BGBB_EXPECTED", 5.0, 6.0, 6.0, 6.0, as_range(bgbb_fit))[0][0]
    ref = lt.conditional_expected_number_of_purchases_up_to_time(
        5, np.array([6.0]), np.array([6.0]), np.array([6.0])
    )
    assert top == pytest.approx(float(np.asarray(ref).ravel()[0]), rel=1e-3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((col([1.0, 2.0]), col([1.0]), col([6.0, 6.0])), "different numbers of values"),
        ((col([1.0, 0.0]), col([3.0, 0.0]), col([6.0, 6.0]), col([1.0, "x"])), "weights must be a number"),
    ],
)  # fmt: skip
def test_bgbb_fit_bad_inputs(args, message):
    with pytest.raises(InputError, match=message):
        xl.call("BGBB_FIT", *args)


def test_bgbb_predictions_refuse_impossible_histories():
    params = tuple(BGBB_DONATIONS.values())
    got = xl.call("BGBB_PALIVE", col([2.0, 3.0]), col([4.0, 2.0]), col([6.0, 6.0]), params)
    assert isinstance(got[0][0], float)
    assert isinstance(got[1][0], str) and "frequency" in got[1][0]


# -- sBG DERL -----------------------------------------------------------------------------
def _derl_brute_force(alpha, beta, n, d, terms=200_000):
    """sum over t >= n of S(t) / S(n - 1) / (1 + d)^(t - n), S(t) = B(a, b + t) / B(a, b)."""
    from scipy.special import betaln

    t = np.arange(n, n + terms, dtype=float)
    log_s = betaln(alpha, beta + t) - betaln(alpha, beta + n - 1)
    return float(np.sum(np.exp(log_s - (t - n) * np.log1p(d))))


def test_sbg_derl_is_the_discounted_sum_of_survival():
    a, b = SBG_HIGH_END["alpha"], SBG_HIGH_END["beta"]
    tenures = [1.0, 2.0, 5.0, 12.0]
    got = column(xl.call("SBG_DERL", a, b, col(tenures), 0.1))
    ref = [_derl_brute_force(a, b, n, 0.1) for n in tenures]
    np.testing.assert_allclose(got, ref, rtol=1e-8)
    # tenure 1: DEL without its first (undiscounted) payment, discounted one period less
    dl = xl.call("SBG_LIFETIME", a, b, 0.1)[0][0]
    assert got[0] == pytest.approx((dl - 1.0) * 1.1, rel=1e-10)


def test_sbg_derl_for_weekly_customers_of_long_tenure():
    weekly = 1.1 ** (1 / 52) - 1
    a, b = SBG_HIGH_END["alpha"], SBG_HIGH_END["beta"]
    got = column(xl.call("SBG_DERL", a, b, col([168.0, 400.0]), weekly))
    ref = [_derl_brute_force(a, b, n, weekly, terms=2_000_000) for n in (168, 400)]
    np.testing.assert_allclose(got, ref, rtol=1e-6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.668, 3.806, 1.0), "undiscounted expected residual lifetime is infinite when alpha is at most 1"),
        ((1.5, 3.8, 1.0, -0.1), "discount_rate must be 0 or more"),
        ((-1.0, 3.8, 1.0, 0.1), "alpha must be greater than 0"),
    ],
)  # fmt: skip
def test_sbg_derl_bad_inputs(args, message):
    with pytest.raises(InputError, match=message):
        xl.call("SBG_DERL", *args)


def test_sbg_derl_bad_tenure_shows_in_its_cell():
    got = xl.call("SBG_DERL", 1.5, 3.8, col([0.0, 2.5, 3.0]), 0.1)
    assert "whole number of at least 1" in got[0][0]
    assert "whole number of at least 1" in got[1][0]
    assert got[2][0] == pytest.approx(_derl_brute_force(1.5, 3.8, 3, 0.1), rel=1e-8)


# -- CLV_MODEL interval -------------------------------------------------------------------
@pytest.fixture(scope="module")
def cal_tx():
    tx = datasets.load_cdnow_transactions()
    tx = tx[tx["date"] <= "1997-09-30"]
    return col(tx["customer_id"].tolist()), col(tx["date"].dt.to_pydatetime().tolist()), col(tx["amount"].tolist())  # fmt: skip


@pytest.mark.slow
def test_clv_model_interval_columns_bracket_the_clv_and_match_clv_interval(cal_tx):
    from xlclv.intervals import clv_interval
    from xlclv.transactions import rfm_summary

    ids, d, amounts = cal_tx
    rows = xl.call("CLV_MODEL", ids, d, amounts, 0.3, 12.0, 0.1, "MBGNBD", "W", 0.8)
    header, body = rows[0], rows[1:]
    assert header[-3:] == ["clv", "clv_p10", "clv_p90"]
    clv, low, high = (np.array([r[i] for r in body], dtype=float) for i in (-3, -2, -1))
    assert (low <= clv + 1e-9).mean() > 0.95 and (clv <= high + 1e-9).mean() > 0.95
    assert (high > low).all()
    # the same numbers as the Python API with the documented draws and seed: a recalculation
    # in Excel never moves the range
    tx = pd.DataFrame(
        {
            "customer_id": [v[0] for v in ids],
            "date": [v[0] for v in d],
            "amount": [v[0] for v in amounts],
        }
    )
    # CLV_MODEL counts $0 purchases, as the published CDNOW analysis does (2,357 customers)
    s = rfm_summary(tx, time_unit="W", include_zero_amounts=True)
    f, r, t, mv = (s[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    p = ModifiedBetaGeoModel().fit(f, r, t)
    g = GammaGammaModel().fit(f, mv)
    ref = clv_interval(
        p,
        g,
        f,
        r,
        t,
        mv,
        gross_margin=0.3,
        horizon_months=12,
        annual_discount_rate=0.1,
        time_unit="W",
        n_draws=1000,
        quantiles=(0.1, 0.9),
        seed=20240101,
    )
    np.testing.assert_allclose(low, ref.customers["p10"].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(high, ref.customers["p90"].to_numpy(), rtol=1e-6)
    again = xl.call("CLV_MODEL", ids, d, amounts, 0.3, 12.0, 0.1, "MBGNBD", "W", 0.8)
    assert again == rows


@pytest.mark.parametrize("width", [0.3, 1.0, 80.0])
def test_clv_model_interval_must_be_a_share(cal_tx, width):
    with pytest.raises(InputError, match="interval must be a share from 0.5 to 0.98"):
        xl.call("CLV_MODEL", *cal_tx, 1.0, 12.0, 0.1, "BGNBD", "W", width)
