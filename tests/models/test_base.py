"""The shared model base: distinct rows, RFM validation, the safe 2F1 and the MLE machinery."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate

from xlclv._errors import ConvergenceWarning, FitError, InputError, NotFittedError
from xlclv.models._base import BaseModel, hyp2f1, unique_rows, validate_rfm


def test_unique_rows_counts_and_weights():
    (a, b), counts = unique_rows([1, 2, 1, 1], [0.5, 0.5, 0.5, 0.7])
    rows = sorted(zip(a, b, counts, strict=True))
    assert rows == [(1.0, 0.5, 2.0), (1.0, 0.7, 1.0), (2.0, 0.5, 1.0)]
    (a,), w = unique_rows([3, 3, 4], weights=[2.0, 0.5, 1.0])
    assert dict(zip(a, w, strict=True)) == {3.0: 2.5, 4.0: 1.0}
    (a,), counts = unique_rows(np.array([]))
    assert a.size == 0 and counts.size == 0


def test_validate_rfm_returns_floats_and_broadcasts():
    x, tx, T, w = validate_rfm([0, 2], [0, 3.5], [10, 10])
    assert x.dtype == float and w is None
    x, tx, T, _ = validate_rfm(1, [1.0, 2.0], 5.0, broadcast=True)
    assert x.shape == tx.shape == T.shape == (2,)
    with pytest.raises(InputError, match="first at position 1: recency 11 > T 10"):
        validate_rfm([1, 1], [1, 11], [10, 10])


@pytest.mark.parametrize(
    ("b", "c", "z"),
    [
        (2.0, 101.0, 0.95),  # scipy.special.hyp2f1 returns inf here
        (0.5, 300.5, 0.999),  # and NaN here
        (0.3, 2.5, 0.5),  # an ordinary point, answered by scipy
    ],
)
def test_hyp2f1_where_scipy_overflows(b, c, z):
    """2F1(1, b; c; z) = (c-1) int_0^1 (1-t)^(c-2) (1-z t)^(-b) dt (Euler's integral)."""
    ref = (c - 1) * integrate.quad(lambda t: (1 - t) ** (c - 2) * (1 - z * t) ** -b, 0, 1)[0]
    assert float(hyp2f1(1.0, b, c, z)) == pytest.approx(ref, rel=1e-10)
    assert hyp2f1([1.0, 1.0], b, c, [z, 0.0]) == pytest.approx([ref, 1.0], rel=1e-10)


class _TwoRates(BaseModel):
    """Two exponential samples: the MLE of each rate is n / sum, its s.e. rate / sqrt(n)."""

    _param_names = ("rate1", "rate2")
    _model_name = "two-rates"

    def fit(self, y1, y2, *, tied=False):
        self._tied = tied
        self._fit_mle((np.asarray(y1), np.asarray(y2)), [(1.0, 1.0), (0.1, 10.0)])
        return self

    def _negative_log_likelihood(self, params, data):
        l1, l2 = params
        y1, y2 = data
        if self._tied:  # only the product is identified
            l1 = l2 = np.sqrt(l1 * l2)
        return -(y1.size * np.log(l1) - l1 * y1.sum() + y2.size * np.log(l2) - l2 * y2.sum())


def test_mle_estimates_and_standard_errors_without_an_analytic_gradient():
    rng = np.random.default_rng(3)
    y1, y2 = rng.exponential(2.0, 400), rng.exponential(0.25, 900)
    m = _TwoRates().fit(y1, y2)
    assert m.converged_ and m.fit_message_ == "converged"
    assert m.params_["rate1"] == pytest.approx(400 / y1.sum(), rel=1e-7)
    assert m.params_["rate2"] == pytest.approx(900 / y2.sum(), rel=1e-7)
    assert m.standard_errors_["rate1"] == pytest.approx(m.params_["rate1"] / 20, rel=1e-4)
    assert m.standard_errors_["rate2"] == pytest.approx(m.params_["rate2"] / 30, rel=1e-4)
    ll = 400 * np.log(400 / y1.sum()) - 400 + 900 * np.log(900 / y2.sum()) - 900
    assert m.log_likelihood_ == pytest.approx(ll, rel=1e-12)
    s = m.summary()
    assert s.loc["rate1", "lower_95"] < m.params_["rate1"] < s.loc["rate1", "upper_95"]
    assert "rate1=" in repr(m)


def test_a_flat_likelihood_is_reported_as_not_converged():
    rng = np.random.default_rng(4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = _TwoRates().fit(rng.exponential(1.0, 50), rng.exponential(1.0, 50), tied=True)
    assert not m.converged_
    assert m.fit_message_.startswith("did not converge")
    assert "standard errors unavailable" in m.fit_message_
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)


def test_a_likelihood_that_is_never_finite_is_a_fit_error():
    class Broken(_TwoRates):
        def _negative_log_likelihood(self, params, data):
            return np.nan

    with pytest.raises(FitError, match="could not be fitted"):
        Broken().fit([1.0], [1.0])


def test_set_params_and_not_fitted():
    m = _TwoRates()
    with pytest.raises(NotFittedError):
        m.summary()
    with pytest.raises(InputError, match="must be a positive number"):
        m.set_params(rate1=-1.0, rate2=1.0)
    with pytest.raises(InputError, match="unknown"):
        m.set_params(rate1=1.0, rate2=1.0, rate3=1.0)
    m.set_params(rate1=1.0, rate2=2.0)
    assert m.params_ == {"rate1": 1.0, "rate2": 2.0} and m.converged_
    assert np.isnan(m.standard_errors_["rate1"])
