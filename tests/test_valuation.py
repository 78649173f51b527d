"""Per-customer predictive CLV: lifetimes side by side, explicit time units, properties.

How the lifetimes comparison is set up (read lifetimes' ``utils._customer_lifetime_value``):
its ``time`` is a number of months of ``factor`` model units each (W: 4.345 weeks, D: 30
days, M: 1 month) and its ``discount_rate`` is the *monthly* rate, applied as
``(1 + rate) ** month``. xlclv takes an *annual* rate and months of 365.25/12 days (4.348
weeks, 30.44 days). So

* in unit M the two definitions coincide: lifetimes with ``freq="M"``, the BG/NBD
  parameters converted to months and ``discount_rate = (1 + annual) ** (1/12) - 1`` must give
  the CLV xlclv computes from the *weekly* model -- to round-off;
* in unit W (D) lifetimes' month is 4.345 weeks (30 days): wrapping the model so that
  lifetimes' ``predict(t)`` answers for ``t * 4.348 / 4.345`` weeks (``t * 30.44 / 30`` days)
  makes lifetimes value the same calendar months, and the results agree to round-off again;
  unwrapped, lifetimes is off by its month length (0.07 % in W, 1.5 % in D).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlclv._errors import InputError
from xlclv._timeunits import DAYS_PER_UNIT, annual_to_monthly_rate, units_per_month
from xlclv.datasets import load_cdnow_summary_with_monetary
from xlclv.models import BetaGeoModel, GammaGammaModel
from xlclv.valuation import customer_lifetime_value, expected_purchases_by_month

BGNBD_W = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}  # CDNOW, weeks
GG = {"p": 6.25, "q": 3.74, "v": 15.44}
LIFETIMES_MONTH = {"W": 4.345, "D": 30.0, "M": 1.0}  # lifetimes' `factor`


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary_with_monetary()


@pytest.fixture(scope="module")
def models(cdnow):
    bg = BetaGeoModel().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    gg = GammaGammaModel().fit(cdnow["frequency"], cdnow["monetary_value"])
    return bg, gg


def in_unit(params: dict, unit: str) -> dict:
    """BG/NBD parameters fitted in weeks, re-expressed in ``unit``.

    A weekly purchase rate lambda is lambda * k per unit, k = weeks per unit; and
    lambda ~ Gamma(r, rate alpha) makes lambda * k ~ Gamma(r, rate alpha / k).
    """
    weeks_per_unit = DAYS_PER_UNIT[unit] / 7.0
    return {**params, "alpha": params["alpha"] / weeks_per_unit}


def rfm_in_unit(cdnow, unit):
    k = 7.0 / DAYS_PER_UNIT[unit]  # units per week
    return cdnow["frequency"], cdnow["recency"] * k, cdnow["T"] * k, cdnow["monetary_value"]


def clv(bg, gg, cdnow, **kw):
    return customer_lifetime_value(
        bg,
        gg,
        cdnow["frequency"],
        cdnow["recency"],
        cdnow["T"],
        cdnow["monetary_value"],
        **kw,
    )


def lifetimes_pair(bg_params: dict, gg_params: dict, *, stretch: float = 1.0):
    """lifetimes fitters with our parameters; ``stretch`` rescales lifetimes' horizons."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    bgf = BetaGeoFitter()
    bgf.params_ = pd.Series(bg_params)

    def predict(t, frequency, recency, T):
        return bgf.conditional_expected_number_of_purchases_up_to_time(
            t * stretch, frequency, recency, T
        )

    bgf.predict = predict  # lifetimes' fit() would set this; we set the parameters instead
    ggf = GammaGammaFitter()
    ggf.params_ = pd.Series(gg_params)
    return bgf, ggf


# -- lifetimes side by side -----------------------------------------------------------------
@pytest.mark.parametrize("horizon", [1, 12, 36])
@pytest.mark.parametrize("annual", [0.0, 0.1, 0.25])
def test_weekly_model_matches_lifetimes_in_months(cdnow, models, horizon, annual):
    bg, gg = models
    ours = clv(bg, gg, cdnow, horizon_months=horizon, annual_discount_rate=annual)
    bgf, ggf = lifetimes_pair(in_unit(bg.params_, "M"), gg.params_)
    f, r, T, m = rfm_in_unit(cdnow, "M")
    theirs = ggf.customer_lifetime_value(
        bgf, f, r, T, m, time=horizon, discount_rate=annual_to_monthly_rate(annual), freq="M"
    )
    np.testing.assert_allclose(ours, theirs.to_numpy(), rtol=1e-9)


@pytest.mark.parametrize("unit", ["W", "D"])
def test_lifetimes_agrees_once_its_month_is_a_calendar_month(cdnow, models, unit):
    bg, gg = models
    bg_unit = BetaGeoModel().set_params(**in_unit(bg.params_, unit))
    f, r, T, m = rfm_in_unit(cdnow, unit)
    ours = customer_lifetime_value(
        bg_unit, gg, f, r, T, m, horizon_months=12, annual_discount_rate=0.1, time_unit=unit
    )
    rate = annual_to_monthly_rate(0.1)
    stretch = units_per_month(unit) / LIFETIMES_MONTH[unit]  # 4.348 / 4.345, 30.44 / 30
    bgf, ggf = lifetimes_pair(in_unit(bg.params_, unit), gg.params_, stretch=stretch)
    adapted = ggf.customer_lifetime_value(bgf, f, r, T, m, time=12, discount_rate=rate, freq=unit)
    np.testing.assert_allclose(ours, adapted.to_numpy(), rtol=1e-9)
    # Unadapted, lifetimes values shorter months (lifetimes #215): its CLV is low, by up to
    # its month error (purchases slow down, so the missing end of each month weighs less).
    bgf, ggf = lifetimes_pair(in_unit(bg.params_, unit), gg.params_)
    plain = ggf.customer_lifetime_value(bgf, f, r, T, m, time=12, discount_rate=rate, freq=unit)
    shortfall = 1 - plain.sum() / ours.sum()
    assert 0.5 * (1 - 1 / stretch) < shortfall < 1 - 1 / stretch


# -- explicit time units --------------------------------------------------------------------
def test_same_customers_in_days_weeks_and_months_have_the_same_clv(cdnow, models):
    _, gg = models
    results = {}
    for unit in ("D", "W", "M"):
        bg = BetaGeoModel().set_params(**in_unit(BGNBD_W, unit))
        f, r, T, m = rfm_in_unit(cdnow, unit)
        results[unit] = customer_lifetime_value(
            bg, gg, f, r, T, m, horizon_months=24, annual_discount_rate=0.1, time_unit=unit
        )
    np.testing.assert_allclose(results["D"], results["W"], rtol=1e-10)
    np.testing.assert_allclose(results["M"], results["W"], rtol=1e-10)


def test_models_fitted_in_each_unit_give_the_same_clv(cdnow, models):
    """Refit the BG/NBD in days and months: alpha scales with the unit, CLV does not move."""
    _, gg = models
    results, alphas = {}, {}
    for unit in ("D", "W", "M"):
        f, r, T, m = rfm_in_unit(cdnow, unit)
        bg = BetaGeoModel().fit(f, r, T)
        alphas[unit] = bg.params_["alpha"]
        results[unit] = customer_lifetime_value(bg, gg, f, r, T, m, time_unit=unit)
    assert alphas["D"] == pytest.approx(alphas["W"] * 7, rel=1e-5)
    assert alphas["M"] == pytest.approx(alphas["W"] * 7 / (365.25 / 12), rel=1e-5)
    np.testing.assert_allclose(results["D"], results["W"], rtol=1e-5)
    np.testing.assert_allclose(results["M"], results["W"], rtol=1e-5)


def test_wrong_unit_is_visible_in_the_result(cdnow, models):
    """A weekly model valued as if it were monthly gets a ~4.3x longer horizon: not silent."""
    bg, gg = models
    right = clv(bg, gg, cdnow, time_unit="W").sum()
    wrong = clv(bg, gg, cdnow, time_unit="M").sum()
    assert wrong < right / 2


# -- hand calculations ----------------------------------------------------------------------
class ConstantRate:
    """Every customer buys ``rate`` times per unit, forever: E[X(t)] = rate t."""

    def __init__(self, rate):
        self.rate = rate

    def expected_purchases(self, t, frequency, recency, T):
        return self.rate * t * np.ones(np.shape(frequency))


class FixedSpend:
    def __init__(self, spend):
        self.spend = spend

    def expected_spend(self, frequency, monetary_value):
        return self.spend * np.ones(np.shape(frequency))


@pytest.mark.parametrize("unit", ["D", "W", "M"])
def test_constant_purchase_rate_gives_the_annuity_formula(unit):
    # 2 purchases a month of $50 at 40 % margin, for 36 months, at 12 % a year.
    per_unit = 2 / units_per_month(unit)
    i = 1.12 ** (1 / 12) - 1
    annuity = sum(2 * 50 * 0.4 / (1 + i) ** m for m in range(1, 37))
    got = customer_lifetime_value(
        ConstantRate(per_unit),
        FixedSpend(50.0),
        [1, 3],
        [1.0, 2.0],
        [5.0, 5.0],
        [10.0, 20.0],
        gross_margin=0.4,
        horizon_months=36,
        annual_discount_rate=0.12,
        time_unit=unit,
    )
    np.testing.assert_allclose(got, annuity, rtol=1e-12)
    # Twelve monthly discounts are exactly one annual discount.
    assert (1 + annual_to_monthly_rate(0.12)) ** 12 == pytest.approx(1.12, rel=1e-14)


def test_a_fractional_horizon_ends_with_a_partial_month():
    kw = {"annual_discount_rate": 0.1, "time_unit": "M"}
    args = (ConstantRate(1.0), FixedSpend(1.0), [1], [1.0], [2.0], [1.0])
    i = annual_to_monthly_rate(0.1)
    twelve = customer_lifetime_value(*args, horizon_months=12, **kw)[0]
    half = customer_lifetime_value(*args, horizon_months=12.5, **kw)[0]
    assert half == pytest.approx(twelve + 0.5 / (1 + i) ** 12.5, rel=1e-12)
    assert customer_lifetime_value(*args, horizon_months=0, **kw)[0] == 0.0


# -- properties -----------------------------------------------------------------------------
customers = st.lists(
    st.tuples(st.integers(0, 60), st.floats(0, 1), st.floats(0.5, 100), st.floats(1, 500)),
    min_size=1,
    max_size=8,
)
bg_params = st.fixed_dictionaries(
    {
        "r": st.floats(0.05, 5),
        "alpha": st.floats(0.5, 50),
        "a": st.floats(0.05, 5),
        "b": st.floats(0.05, 10),
    }
)


def unpack(rows):
    x = np.array([r[0] for r in rows], dtype=float)
    T = np.array([r[2] for r in rows])
    tx = np.where(x > 0, np.array([r[1] for r in rows]) * T, 0.0)
    m = np.where(x > 0, np.array([r[3] for r in rows]), 0.0)
    return x, tx, T, m


@settings(max_examples=60, deadline=None)
@given(
    rows=customers,
    params=bg_params,
    margin=st.floats(0, 1),
    horizon=st.floats(0.5, 60),
    annual=st.floats(0, 0.5),
)
def test_clv_properties(rows, params, margin, horizon, annual):
    x, tx, T, m = unpack(rows)
    bg = BetaGeoModel().set_params(**params)
    gg = GammaGammaModel().set_params(**GG)
    kw = {"horizon_months": horizon, "annual_discount_rate": annual, "time_unit": "W"}
    full = customer_lifetime_value(bg, gg, x, tx, T, m, gross_margin=1.0, **kw)
    assert np.all(np.isfinite(full)) and np.all(full >= 0)
    # Linear in margin.
    part = customer_lifetime_value(bg, gg, x, tx, T, m, gross_margin=margin, **kw)
    np.testing.assert_allclose(part, margin * full, rtol=1e-12, atol=1e-300)
    # Increasing in the horizon, decreasing in the discount rate.
    longer = customer_lifetime_value(bg, gg, x, tx, T, m, **{**kw, "horizon_months": horizon + 6})
    assert np.all(longer >= full * (1 - 1e-12))
    dearer = customer_lifetime_value(
        bg, gg, x, tx, T, m, **{**kw, "annual_discount_rate": annual + 0.1}
    )
    assert np.all(dearer <= full * (1 + 1e-12))


# -- expected purchases by month ------------------------------------------------------------
def test_expected_purchases_by_month_adds_up_to_the_horizon(cdnow, models):
    bg, _ = models
    f, r, T = cdnow["frequency"], cdnow["recency"], cdnow["T"]
    table = expected_purchases_by_month(bg, f, r, T, horizon_months=6.5, time_unit="W")
    assert list(table.columns) == [1, 2, 3, 4, 5, 6, 7]
    assert table.index.equals(cdnow.index)
    assert (table.to_numpy() >= 0).all()
    total = bg.expected_purchases(6.5 * units_per_month("W"), f, r, T)
    np.testing.assert_allclose(table.sum(axis=1), total, rtol=1e-10)
    # Undiscounted, margin 1: CLV is the monthly purchases times the expected spend.
    _, gg = models
    undiscounted = clv(bg, gg, cdnow, horizon_months=6.5, annual_discount_rate=0.0)
    spend = gg.expected_spend(f, cdnow["monetary_value"])
    np.testing.assert_allclose(undiscounted, table.sum(axis=1) * spend, rtol=1e-10)


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"gross_margin": 30}, "gross_margin must be a share between 0 and 1"),
        ({"gross_margin": -0.1}, "gross_margin must be a share between 0 and 1"),
        ({"gross_margin": "high"}, "gross_margin must be a number"),
        ({"horizon_months": -1}, "horizon_months must be 0 or more"),
        ({"horizon_months": np.nan}, "horizon_months must be a finite number"),
        ({"annual_discount_rate": -0.05}, "annual_discount_rate must be 0 or more"),
        ({"time_unit": "Y"}, "time_unit must be one of D"),
    ],
)
def test_bad_settings_are_named(models, kw, message):
    bg, gg = models
    with pytest.raises(InputError, match=message):
        customer_lifetime_value(bg, gg, [1], [1.0], [2.0], [10.0], **kw)


def test_bad_customer_data_is_named(models):
    bg, gg = models
    with pytest.raises(InputError, match="one value per customer: got 1 values for 2"):
        customer_lifetime_value(bg, gg, [1, 2], [1.0, 1.0], [2.0, 2.0], [10.0])
    with pytest.raises(InputError, match="recency cannot exceed T"):
        customer_lifetime_value(bg, gg, [1], [3.0], [2.0], [10.0])


def test_pareto_nbd_is_valued_like_lifetimes(cdnow):
    from lifetimes import GammaGammaFitter, ParetoNBDFitter

    from xlclv.models import pareto_nbd as pareto

    params = {"r": 0.5532, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}  # CDNOW, weeks
    pn = pareto.ParetoNBDModel().set_params(**params)
    gg = GammaGammaModel().set_params(**GG)
    ours = clv(pn, gg, cdnow, horizon_months=12, annual_discount_rate=0.1)
    k = 7 / (365.25 / 12)  # months per week: the rates alpha, beta scale like BG/NBD's alpha
    pnf = ParetoNBDFitter()
    pnf.params_ = pd.Series({**params, "alpha": params["alpha"] * k, "beta": params["beta"] * k})
    pnf.predict = pnf.conditional_expected_number_of_purchases_up_to_time
    ggf = GammaGammaFitter()
    ggf.params_ = pd.Series(GG)
    f, r, T, m = rfm_in_unit(cdnow, "M")
    with np.errstate(divide="ignore", invalid="ignore"):  # lifetimes takes log(recency = 0)
        theirs = ggf.customer_lifetime_value(
            pnf, f, r, T, m, time=12, discount_rate=annual_to_monthly_rate(0.1), freq="M"
        )
    np.testing.assert_allclose(ours, theirs.to_numpy(), rtol=1e-6)
