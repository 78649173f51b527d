"""Gamma-Gamma: the published CDNOW fit, lifetimes side by side, properties and degenerate data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlclv import simulate as sim
from xlclv._errors import ConvergenceWarning, FitError, InputError, NotFittedError
from xlclv.datasets import load_cdnow_summary_with_monetary
from xlclv.models import GammaGammaModel

# Fader, Hardie & Lee (2005), "RFM and CLV"; 946 CDNOW repeat buyers (published.md).
PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}
PUBLISHED_LL = -4055.92
PUBLISHED_MEAN_SPEND = 35.2


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary_with_monetary()


@pytest.fixture(scope="module")
def cdnow_fit(cdnow):
    return GammaGammaModel().fit(cdnow["frequency"], cdnow["monetary_value"])


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(20260402)
    x = rng.integers(1, 15, 3000)
    return x, sim.gamma_gamma_spend(x, 3.0, 5.0, 40.0, rng)


def lifetimes_fitter(params):
    from lifetimes import GammaGammaFitter

    f = GammaGammaFitter()
    f.params_ = pd.Series(params)
    return f


# -- published numbers --------------------------------------------------------------------
def test_reproduces_published_cdnow_fit(cdnow, cdnow_fit):
    assert int((cdnow["frequency"] > 0).sum()) == 946
    for k, v in PUBLISHED.items():
        # The published values are rounded (the MLE is q = 3.7446, gamma = 15.4477): they
        # agree to 3 significant digits and to within their rounding.
        assert f"{cdnow_fit.params_[k]:.3g}" == f"{v:.3g}", k
        assert cdnow_fit.params_[k] == pytest.approx(v, abs=0.0051 if v < 10 else 0.0081), k
    assert cdnow_fit.log_likelihood_ == pytest.approx(PUBLISHED_LL, abs=0.005)
    assert cdnow_fit.converged_
    assert cdnow_fit.fit_message_ == "converged"


def test_population_mean_spend_is_the_published_35_dollars(cdnow_fit):
    p, q, v = (cdnow_fit.params_[k] for k in ("p", "q", "v"))
    assert cdnow_fit.mean_spend() == pytest.approx(p * v / (q - 1))
    assert cdnow_fit.mean_spend() == pytest.approx(PUBLISHED_MEAN_SPEND, abs=0.05)
    # A customer with no repeat purchase is expected to spend the population mean.
    assert cdnow_fit.expected_spend(0, 0.0) == pytest.approx(cdnow_fit.mean_spend())
    assert cdnow_fit.expected_spend(0, np.nan) == pytest.approx(cdnow_fit.mean_spend())


# -- lifetimes side by side ----------------------------------------------------------------
def test_fit_and_standard_errors_match_lifetimes_on_cdnow(cdnow, cdnow_fit):
    from lifetimes import GammaGammaFitter

    rep = cdnow[cdnow["frequency"] > 0]
    lt = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    for k in PUBLISHED:
        assert cdnow_fit.params_[k] == pytest.approx(lt.params_[k], rel=1e-4), k
        assert cdnow_fit.standard_errors_[k] == pytest.approx(lt.standard_errors_[k], rel=1e-2)
    s = cdnow_fit.summary()
    assert list(s.index) == ["p", "q", "v"]
    assert (s["lower_95"] < s["estimate"]).all()


def test_expected_spend_equals_lifetimes_conditional_expected_average_profit(cdnow, cdnow_fit):
    lt = lifetimes_fitter(cdnow_fit.params_)
    f, m = cdnow["frequency"], cdnow["monetary_value"]
    expected = lt.conditional_expected_average_profit(f, m).to_numpy()
    np.testing.assert_allclose(cdnow_fit.expected_spend(f, m), expected, rtol=1e-12)


def test_fit_and_predictions_agree_with_lifetimes_on_synthetic_data(synthetic):
    from lifetimes import GammaGammaFitter

    x, m = synthetic
    ours = GammaGammaModel().fit(x, m)
    lt = GammaGammaFitter().fit(pd.Series(x), pd.Series(m))
    assert ours.converged_
    for k in ("p", "q", "v"):
        assert ours.params_[k] == pytest.approx(lt.params_[k], rel=1e-3), k
    np.testing.assert_allclose(
        ours.expected_spend(x, m),
        lt.conditional_expected_average_profit(pd.Series(x), pd.Series(m)).to_numpy(),
        rtol=1e-4,
    )


def test_weights_give_the_same_fit_as_repeated_rows(cdnow, cdnow_fit):
    grouped = cdnow.groupby(["frequency", "monetary_value"]).size().reset_index(name="n")
    m = GammaGammaModel().fit(grouped["frequency"], grouped["monetary_value"], grouped["n"])
    for k in PUBLISHED:
        assert m.params_[k] == pytest.approx(cdnow_fit.params_[k], rel=1e-6)
    assert m.log_likelihood_ == pytest.approx(cdnow_fit.log_likelihood_, abs=1e-6)


def test_customers_without_repeat_purchases_are_ignored_by_the_fit(synthetic):
    x, m = synthetic
    base = GammaGammaModel().fit(x, m)
    # Non-repeaters with any monetary value (0, missing, even negative) change nothing.
    x2 = np.concatenate([x, [0, 0, 0]])
    m2 = np.concatenate([m, [0.0, np.nan, -5.0]])
    more = GammaGammaModel().fit(x2, m2)
    assert more.params_ == pytest.approx(base.params_, rel=1e-9)


@pytest.mark.slow
def test_recovers_known_parameters_from_a_big_simulation():
    rng = np.random.default_rng(7)
    x = rng.integers(1, 20, 200_000)
    m = sim.gamma_gamma_spend(x, 4.0, 6.0, 25.0, rng)
    fit = GammaGammaModel().fit(x, m)
    assert fit.params_ == pytest.approx({"p": 4.0, "q": 6.0, "v": 25.0}, rel=0.05)
    # ... and the truth lies within the 95 % intervals.
    s = fit.summary()
    assert ((s["lower_95"] <= [4.0, 6.0, 25.0]) & ([4.0, 6.0, 25.0] <= s["upper_95"])).all()


# -- properties ----------------------------------------------------------------------------
@settings(max_examples=100, deadline=None)
@given(
    p=st.floats(0.1, 50),
    q=st.floats(1.05, 50),
    v=st.floats(0.1, 1e4),
    x=st.integers(1, 1000),
    m=st.floats(0.01, 1e5),
)
def test_expected_spend_lies_between_own_mean_and_population_mean(p, q, v, x, m):
    model = GammaGammaModel().set_params(p=p, q=q, v=v)
    e = model.expected_spend(x, m)
    lo, hi = sorted((m, model.mean_spend()))
    assert lo * (1 - 1e-9) <= e <= hi * (1 + 1e-9)
    assert model.expected_spend(x, 2 * m) > e  # more spend observed, more expected
    # The weight on a customer's own mean grows with her number of purchases.
    assert abs(model.expected_spend(x + 10, m) - m) <= abs(e - m) * (1 + 1e-9) + 1e-9


def test_expected_spend_shapes():
    model = GammaGammaModel().set_params(**PUBLISHED)
    assert isinstance(model.expected_spend(2, 30.0), float)
    assert model.expected_spend([1, 2, 3], [10.0, 20.0, 30.0]).shape == (3,)
    assert model.expected_spend([1, 2, 3], 30.0).shape == (3,)
    assert model.expected_spend(pd.Series([1, 2]), pd.Series([5.0, 6.0])).shape == (2,)


def test_a_customer_with_500_purchases_is_valued_at_her_own_mean(cdnow_fit):
    assert cdnow_fit.expected_spend(500, 80.0) == pytest.approx(80.0, rel=0.01)


# -- errors and degenerate data ------------------------------------------------------------
def test_zero_or_negative_spend_among_repeat_buyers_names_how_many_rows():
    with pytest.raises(InputError, match="zero or negative for 2 of the 4 repeat buyers"):
        GammaGammaModel().fit([1, 2, 3, 4, 0], [10.0, 0.0, -3.0, 12.0, 0.0])


def test_missing_spend_among_repeat_buyers_names_how_many_rows():
    with pytest.raises(InputError, match="missing or infinite for 1 of the 3 repeat buyers"):
        GammaGammaModel().fit([1, 2, 3], [10.0, np.nan, 12.0])


@pytest.mark.parametrize(
    ("frequency", "monetary", "message"),
    [
        ([1, 2], [10.0], "must have the same length, got 2, 1"),
        ([1.5, 2], [10.0, 11.0], "whole numbers of repeat purchases"),
        ([-1, 2], [10.0, 11.0], "whole numbers of repeat purchases"),
        ([np.nan, 2], [10.0, 11.0], "whole numbers of repeat purchases"),
        (["a", 2], [10.0, 11.0], "frequency must hold numbers only"),
        ([], [], "no customers"),
    ],
)
def test_bad_input_messages(frequency, monetary, message):
    with pytest.raises(InputError, match=message):
        GammaGammaModel().fit(frequency, monetary)


def test_bad_weights_message():
    with pytest.raises(InputError, match="weights must be numbers of customers"):
        GammaGammaModel().fit([1, 2], [10.0, 11.0], weights=[1, -1])
    with pytest.raises(InputError, match="must have the same length"):
        GammaGammaModel().fit([1, 2], [10.0, 11.0], weights=[1])


@pytest.mark.parametrize(
    ("frequency", "monetary", "count"),
    [([0, 0, 0], [0.0, 0.0, 0.0], 0), ([3, 0, 0], [25.0, 0.0, 0.0], 1)],
)
def test_fewer_than_two_repeat_buyers_is_a_clear_fit_error(frequency, monetary, count):
    with pytest.raises(FitError, match=f"at least two repeat buyers.*the data has {count}"):
        GammaGammaModel().fit(frequency, monetary)


def test_identical_spends_warn_and_still_predict_that_spend():
    with pytest.warns(ConvergenceWarning, match="Gamma-Gamma fit did not converge"):
        m = GammaGammaModel().fit([2, 3, 4, 1, 7], [10.0] * 5)
    assert not m.converged_
    assert "did not converge" in m.fit_message_
    np.testing.assert_allclose(m.expected_spend([1, 5], [10.0, 10.0]), 10.0, rtol=1e-4)


def test_heavy_tailed_spend_with_q_at_most_1_warns_and_refuses_the_mean():
    rng = np.random.default_rng(1)
    x = rng.integers(1, 10, 5000)
    m = sim.gamma_gamma_spend(x, 2.0, 0.8, 10.0, rng)
    with pytest.warns(UserWarning, match="population mean spend p v / \\(q - 1\\) is infinite"):
        model = GammaGammaModel().fit(x, m)
    assert model.params_["q"] < 1
    with pytest.raises(FitError, match="mean spend is infinite"):
        model.mean_spend()
    with pytest.raises(FitError, match="expected spend of 1 customer"):
        model.expected_spend([0, 3], [0.0, 20.0])
    assert np.isfinite(model.expected_spend(3, 20.0))


def test_prediction_input_errors(cdnow_fit):
    with pytest.raises(InputError, match="same length"):
        cdnow_fit.expected_spend([1, 2, 3], [1.0, 2.0])
    with pytest.raises(InputError, match="first bad value at position 1"):
        cdnow_fit.expected_spend([1, 2], [1.0, -2.0])
    with pytest.raises(InputError, match="whole numbers"):
        cdnow_fit.expected_spend([1.5], [1.0])


def test_use_before_fit_is_a_clear_error():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        GammaGammaModel().expected_spend(1, 10.0)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        GammaGammaModel().mean_spend()
    with pytest.raises(InputError, match="needs exactly the parameters p, q, v"):
        GammaGammaModel().set_params(p=1.0, q=2.0, gamma=3.0)


def test_gradient_matches_finite_differences(cdnow):
    rep = cdnow[cdnow["frequency"] > 0]
    x = rep["frequency"].to_numpy()
    m = rep["monetary_value"].to_numpy()
    data = GammaGammaModel._prepare(x, m, np.ones(x.size))
    model = GammaGammaModel()
    params = np.array([4.0, 2.5, 20.0])
    _, grad = model._negative_log_likelihood_and_gradient(params, data)
    for i in range(3):
        h = np.zeros(3)
        h[i] = 1e-6 * params[i]
        fd = (
            model._negative_log_likelihood(params + h, data)
            - model._negative_log_likelihood(params - h, data)
        ) / (2 * h[i])
        assert grad[i] == pytest.approx(fd, rel=1e-5)
