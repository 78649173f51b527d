"""The shifted-beta-geometric (sBG) model of retention in a contractual (subscription) setting.

At the end of each period an active customer renews with her own probability ``1 - theta``
and churns with probability ``theta``; across customers ``theta ~ Beta(alpha, beta)``. A
customer's lifetime ``T`` (the number of periods she pays for, 1, 2, ...) is then
shifted-beta-geometric:

* ``P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)`` -- churn in period t;
* ``S(t) = P(T > t) = B(alpha, beta + t) / B(alpha, beta)`` -- still active at the start of
  period t + 1 (``S(0) = 1``);
* retention ``r(t) = S(t) / S(t - 1) = (beta + t - 1) / (alpha + beta + t - 1)`` rises with
  t: the customers who churn easily leave first.

Discounted expected lifetime (DEL) and residual lifetime (DERL), in periods, with a payment at
the start of each active period and discount rate ``d`` per period (Fader & Hardie 2010):

* ``DEL(d) = sum over t >= 0 of S(t) / (1 + d)^t = 2F1(1, beta; alpha + beta; 1 / (1 + d))``;
* ``DERL(d, n) = sum over t >= n of S(t) / S(n - 1) / (1 + d)^(t - n)
  = r(n) 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))`` for a customer active for ``n``
  periods (``n - 1`` renewals so far), valued at the end of period n just before her next
  renewal decision.

References
----------
Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention. Journal of
Interactive Marketing 21(1), 76-90.
Fader, P. S. & Hardie, B. G. S. (2010). Customer-base valuation in a contractual setting:
the perils of ignoring heterogeneity. Marketing Science 29(1), 85-93.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from .._errors import FitError, InputError
from ._base import BaseModel, beta_mixture_mean

__all__ = ["ShiftedBetaGeometricModel"]


def _whole(name: str, value, *, minimum: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a whole number, got {value!r}") from None
    bad = ~np.isfinite(arr) | (arr < minimum) | (arr != np.round(arr))
    if np.any(bad):
        raise InputError(f"{name} must be a whole number, {minimum} or more, got {value!r}")
    return arr


def _rate(value) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"discount_rate must be a number, got {value!r}") from None
    if np.any(~np.isfinite(arr)) or np.any(arr < 0):
        raise InputError(
            f"discount_rate must be 0 or more per period (e.g. 0.1 for 10 %), got {value!r}"
        )
    return arr


def _shaped(values: np.ndarray, shape: tuple[int, ...]):
    values = np.asarray(values, dtype=float)
    return float(values.reshape(-1)[0]) if shape == () else values.reshape(shape)


class ShiftedBetaGeometricModel(BaseModel):
    """Shifted-beta-geometric model: how long will subscribers stay?

    Fit it to one cohort: the number of its customers still active at the start of each
    period, the first entry being the cohort size. Parameters ``alpha`` and ``beta`` of the
    beta distribution of churn probabilities across customers (mean churn
    ``alpha / (alpha + beta)``).

    Examples
    --------
    >>> regular = [1000, 631, 468, 382, 326, 289, 262, 241]  # Fader & Hardie (2007)
    >>> m = ShiftedBetaGeometricModel().fit(regular)
    >>> round(m.params_["alpha"], 3), round(m.params_["beta"], 3)
    (0.704, 1.182)
    >>> round(float(m.survival(12)[12]), 3)
    0.17

    References
    ----------
    Fader & Hardie (2007), How to project customer retention, Journal of Interactive
    Marketing 21(1); Fader & Hardie (2010), Customer-base valuation in a contractual setting,
    Marketing Science 29(1).
    """

    _param_names = ("alpha", "beta")
    _model_name = "shifted-beta-geometric"

    # -- fitting --------------------------------------------------------------------------
    def fit(self, active_by_period) -> ShiftedBetaGeometricModel:
        """Fit by maximum likelihood to one cohort.

        Parameters
        ----------
        active_by_period : array-like
            Customers still active at the start of periods 0, 1, 2, ...: the first entry is
            the cohort size, the others never increase. Shares of the cohort (1.0, 0.631,
            ...) give the same estimates, but standard errors and the log-likelihood need
            counts.

        Returns
        -------
        self

        Raises
        ------
        InputError
            For missing, negative or increasing values, an empty cohort or fewer than three
            entries (one period of churn cannot separate alpha from beta).
        FitError
            When nobody churned, or everybody churned in the first period.

        Warns
        -----
        ConvergenceWarning
            When the fit does not converge (e.g. a constant retention rate, which the sBG
            can only approach with ever larger alpha and beta); ``converged_`` is False.
        """
        n = self._check_cohort(active_by_period)
        churned = n[:-1] - n[1:]
        if not np.any(churned > 0):
            raise FitError(
                "The shifted-beta-geometric model cannot be fitted: nobody churned (every "
                "period has as many active customers as the first), so retention is 100 % "
                "so far and there is no churn to model."
            )
        if n[1] == 0:
            raise FitError(
                "The shifted-beta-geometric model cannot be fitted: the whole cohort churned in "
                "the first period, so there is no retention to model."
            )
        data = {"t": np.arange(1, n.size, dtype=float), "churned": churned, "active": n[-1]}
        starts = [(1.0, 1.0), (0.5, 2.0), (2.0, 0.5), (5.0, 20.0), (0.1, 0.1)]
        with np.errstate(all="ignore"):  # far-off trial log-params overflow; the base checks
            # Shares of a cohort (first entry 1) carry no sample size: the ridge test, which
            # reads log-likelihood differences as evidence, does not apply to them.
            self._fit_mle(data, starts, stop_at_first=True, check_ridge=n[0] > 1)
        return self

    @staticmethod
    def _check_cohort(active_by_period) -> np.ndarray:
        try:
            n = np.asarray(active_by_period, dtype=float)
        except (TypeError, ValueError):
            raise InputError("active_by_period must hold numbers only") from None
        n = np.atleast_1d(n)
        if n.ndim > 1:
            if sum(d > 1 for d in n.shape) > 1:
                raise InputError(
                    f"active_by_period must be one row or column of numbers, got shape {n.shape}"
                )
            n = n.ravel()
        bad = ~np.isfinite(n) | (n < 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                "active_by_period must hold numbers of customers, 0 or more "
                f"(first bad value at period {i}: {n[i]:g})"
            )
        if n.size < 3:
            raise InputError(
                "active_by_period needs at least 3 values (the cohort size and the customers "
                f"still active after 2 periods), got {n.size}: one period of churn cannot "
                "separate the spread of churn rates from their mean"
            )
        if n[0] <= 0:
            raise InputError("active_by_period must start with the cohort size, greater than 0")
        up = np.diff(n) > 0
        if up.any():
            i = int(np.argmax(up)) + 1
            raise InputError(
                "active_by_period must never increase: each entry counts the customers of the "
                f"same cohort still active (period {i} has {n[i]:g}, more than {n[i - 1]:g} "
                "before). Give one cohort; new customers belong to a new cohort."
            )
        return n

    def _negative_log_likelihood(self, params, data) -> float:
        return self._negative_log_likelihood_and_gradient(params, data, gradient=False)[0]

    def _negative_log_likelihood_and_gradient(self, params, data, gradient=True):
        """Fader & Hardie (2007), eq. (4) with B-function forms; exact gradient (digamma)."""
        a, b = params
        t, c, active = data["t"], data["churned"], data["active"]
        k = t[-1]
        lb0 = special.betaln(a, b)
        # churn in period t: B(a + 1, b + t - 1) / B(a, b); still active after k: B(a, b + k)
        ll = np.sum(c * (special.betaln(a + 1.0, b + t - 1.0) - lb0))
        ll += active * (special.betaln(a, b + k) - lb0)
        if not gradient:
            return -float(ll), None
        dg = special.digamma
        total = np.sum(c) + active
        d0a, d0b = dg(a) - dg(a + b), dg(b) - dg(a + b)
        d_a = np.sum(c * (dg(a + 1.0) - dg(a + b + t))) + active * (dg(a) - dg(a + b + k))
        d_b = np.sum(c * (dg(b + t - 1.0) - dg(a + b + t))) + active * (dg(b + k) - dg(a + b + k))
        d_a -= total * d0a
        d_b -= total * d0b
        return -float(ll), -np.array([d_a, d_b])

    # -- predictions ----------------------------------------------------------------------
    def retention(self, periods):
        """Retention rates ``r(1), ..., r(periods)``: share of the still-active renewing.

        ``r(t) = (beta + t - 1) / (alpha + beta + t - 1)`` (Fader & Hardie 2007, eq. 8), the
        share of customers active in period t who are still active in period t + 1.
        """
        a, b = self._param_array()
        n = int(_whole("periods", periods, minimum=0))
        t = np.arange(1, n + 1, dtype=float)
        return (b + t - 1.0) / (a + b + t - 1.0)

    def survival(self, periods):
        """Survival ``S(0), S(1), ..., S(periods)``: share of the cohort still active.

        ``S(t)`` is the share still active at the start of period t + 1 (after t renewal
        decisions), ``S(0) = 1`` (Fader & Hardie 2007, eq. 7), the product of the retention
        rates so far.
        """
        return np.concatenate([[1.0], np.cumprod(self.retention(periods))])

    def churn_probability(self, t):
        """``P(T = t)``: probability that a new customer's last period is period ``t``.

        ``B(alpha + 1, beta + t - 1) / B(alpha, beta)`` for t = 1, 2, ... (Fader & Hardie
        2007, eq. 6): the share of the cohort that churns at the end of period t (not the
        conditional churn rate ``1 - r(t)`` of those still active).
        """
        a, b = self._param_array()
        tt = _whole("t", t, minimum=1)
        out = np.exp(special.betaln(a + 1.0, b + tt - 1.0) - special.betaln(a, b))
        return _shaped(out, np.shape(t))

    def expected_lifetime(self) -> float:
        """Expected number of periods a new customer stays, ``(alpha + beta - 1) / (alpha - 1)``.

        Infinite when alpha <= 1: the beta distribution puts so much weight near zero churn
        that the mean lifetime diverges; use a discount rate above 0 for a finite value.
        """
        a, b = self._param_array()
        return float((a + b - 1.0) / (a - 1.0)) if a > 1.0 else math.inf

    def discounted_expected_lifetime(self, discount_rate):
        """DEL: discounted expected number of periods a new customer pays for.

        ``2F1(1, beta; alpha + beta; 1 / (1 + d))`` (Fader & Hardie 2010, eq. 5): payments at
        the start of each active period, the first undiscounted. With ``d = 0`` it is the
        expected lifetime (infinite when alpha <= 1).
        """
        a, b = self._param_array()
        d = _rate(discount_rate)
        return self._derl_like(d, a, b, 0.0)

    def discounted_expected_residual_lifetime(self, discount_rate, periods_survived):
        """DERL: discounted expected further periods of a customer active for n periods.

        For a customer who has been active for ``n = periods_survived`` periods (made n - 1
        renewals), valued at the end of period n just before her next renewal decision:
        ``sum over t >= n of S(t) / S(n - 1) / (1 + d)^(t - n)
        = r(n) 2F1(1, beta + n; alpha + beta + n; 1 / (1 + d))`` (Fader & Hardie 2010, eq. 6).
        The next payment (if she renews) is undiscounted. Infinite with ``d = 0`` when
        alpha <= 1. Broadcasts over ``discount_rate`` and ``periods_survived``.
        """
        a, b = self._param_array()
        d = _rate(discount_rate)
        n = _whole("periods_survived", periods_survived, minimum=1)
        shape = np.broadcast_shapes(d.shape, n.shape)
        d, n = np.broadcast_arrays(d, n)
        retain = (b + n.ravel() - 1.0) / (a + b + n.ravel() - 1.0)
        out = retain * self._derl_like(d.ravel(), a, b, n.ravel(), shaped=False)
        return _shaped(out, shape)

    @staticmethod
    def _derl_like(d, a, b, n, *, shaped=True):
        """``2F1(1, b + n; a + b + n; 1 / (1 + d))``, with its d = 0 limit.

        Evaluated as the mean of ``(1 + d) / (d + theta)`` over ``theta ~ Beta(a, b + n)``
        (the sum over t of ``(1 - theta)^t / (1 + d)^t`` for a customer of churn probability
        theta, averaged; Fader & Hardie 2010), integrated numerically: the Gauss series
        converges too slowly when ``1 / (1 + d)`` is near 1 (weekly periods) and ``b + n``
        is large (long-standing customers).
        """
        d_arr = np.atleast_1d(np.asarray(d, dtype=float)).ravel()
        n_arr = np.broadcast_to(np.asarray(n, dtype=float), d_arr.shape)
        out = np.empty(d_arr.shape)
        zero = d_arr == 0
        # d = 0: 2F1(1, b + n; a + b + n; 1) = (a + b + n - 1) / (a - 1) for a > 1 (Gauss).
        out[zero] = (a + b + n_arr[zero] - 1.0) / (a - 1.0) if a > 1.0 else math.inf
        if (~zero).any():
            dd = d_arr[~zero]
            ld1 = np.log1p(dd)

            def log_g(lp, lq, rows):
                return ld1[rows][:, None] - np.logaddexp(np.log(dd[rows])[:, None], lp)

            out[~zero] = beta_mixture_mean(log_g, a, b + n_arr[~zero])
        return _shaped(out, np.shape(d)) if shaped else out
