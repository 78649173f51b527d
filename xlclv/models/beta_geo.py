"""The BG/NBD model (beta-geometric / negative binomial distribution) of repeat purchasing.

While active, a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, rate=alpha)``;
after each repeat purchase she drops out with probability ``p ~ Beta(a, b)``. Time is in the
unit of the data (``alpha`` is per unit of time), usually weeks.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way: an
alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2008). Computing P(alive) using the BG/NBD model.
Fader, P. S. & Hardie, B. G. S. (2013). Overcoming the BG/NBD model's #NUM! error problem.
(http://brucehardie.com/notes/027/ -- the log-space form of the likelihood used here.)
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._base import (
    RFMModel,
    check_counts,
    check_times,
    hyp2f1,
    result_shape,
    shaped,
    unique_rows,
    validate_rfm,
)


def _one_minus_scaled_2f1(a: float, b: float, r: float, x, z) -> np.ndarray:
    """``(a+b+x-1)/(a-1) * (1 - (1-z)**(r+x) * 2F1(r+x, b+x; a+b+x-1; z))``.

    By Euler's transformation ``(1-z)**(r+x) 2F1(r+x, b+x; c; z) =
    (1-z)**(a-1) 2F1(a+b-1-r, a-1; c; z)`` with ``c = a+b+x-1``: small upper parameters, so
    the series behaves for any number of purchases ``x``. At ``a = 1`` (and at ``c = 0``) the
    expression has a removable singularity, bridged by averaging ``a = 1 -+ 2e-7``
    (``b -+ 2e-7``).
    """
    if abs(a - 1.0) < 1e-7:
        return 0.5 * (
            _one_minus_scaled_2f1(1.0 - 2e-7, b, r, x, z)
            + _one_minus_scaled_2f1(1.0 + 2e-7, b, r, x, z)
        )
    if abs(a + b - 1.0) < 1e-7 and np.any(np.asarray(x) == 0):  # c = 0 for x = 0: same trick
        return 0.5 * (
            _one_minus_scaled_2f1(a, b - 2e-7, r, x, z)
            + _one_minus_scaled_2f1(a, b + 2e-7, r, x, z)
        )
    c = a + b + x - 1.0
    with np.errstate(all="ignore"):
        inner = np.exp((a - 1.0) * np.log1p(-z)) * hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        out = c / (a - 1.0) * (1.0 - inner)
    bad = ~np.isfinite(out)
    if np.any(bad):
        # Huge a and b (no heterogeneity in p, e.g. a fit that did not converge): Beta(a, b+x)
        # is then a point mass at p = a / (a+b+x), and E[Y(t) | alive] =
        # (1 - (1 + p u)^-(r+x)) / p with u = z / (1-z) = t / (alpha + T).
        x_b, z_b = np.broadcast_arrays(np.asarray(x, dtype=float), z)
        x_b, z_b = x_b[bad], z_b[bad]
        p = a / (a + b + x_b)
        limit = -np.expm1(-(r + x_b) * np.log1p(p * z_b / (1.0 - z_b))) / p
        out = np.array(out, dtype=float)
        out[bad] = limit
    return np.maximum(out, 0.0)  # no -0.0 or -1e-17 from rounding


class BetaGeoModel(RFMModel):
    """BG/NBD model: who is still a customer, and how many purchases will they make?

    Fit it to an RFM summary (frequency = repeat purchases, recency = time from the first to
    the last purchase, T = time from the first purchase to the end of observation, all in one
    time unit). Parameters ``r, alpha`` (purchase rate, gamma) and ``a, b`` (dropout, beta).

    Examples
    --------
    >>> from xlclv.datasets import load_cdnow_summary
    >>> d = load_cdnow_summary()
    >>> m = BetaGeoModel().fit(d["frequency"], d["recency"], d["T"])
    >>> round(m.params_["r"], 4), round(m.log_likelihood_, 2)
    (0.2426, -9582.43)

    References
    ----------
    Fader, Hardie & Lee (2005), "Counting your customers" the easy way, Marketing Science 24(2).
    """

    _param_names = ("r", "alpha", "a", "b")
    _model_name = "BG/NBD"

    # -- fitting (``fit`` is RFMModel's) -------------------------------------------------
    @staticmethod
    def _starts(rate, mean_T):
        alpha0 = 1.0 / rate
        return [
            (1.0, alpha0, 1.0, 1.0),
            (0.5, 0.5 * alpha0, 0.5, 2.0),
            (2.0, 2.0 * alpha0, 2.0, 5.0),
            (0.1, 0.1 * alpha0, 0.1, 0.1),
        ]

    @staticmethod
    def _prepare(x, tx, T, c) -> dict:
        """Group the likelihood's pieces: by x (gamma functions), by T (non-repeaters)."""
        ux, ix = np.unique(x, return_inverse=True)
        rep = x > 0
        zero_T, zero_c = unique_rows(T[~rep], weights=c[~rep])
        return {
            "ux": ux,
            "nx": np.bincount(ix, weights=c),  # customers per distinct x
            "C": float(c.sum()),
            "T0": zero_T[0],  # non-repeaters: only T matters
            "c0": zero_c,
            "x": x[rep],  # repeat buyers
            "tx": tx[rep],
            "T": T[rep],
            "c": c[rep],
        }

    def _negative_log_likelihood(self, params, data) -> float:
        return self._negative_log_likelihood_and_gradient(params, data, gradient=False)[0]

    def _negative_log_likelihood_and_gradient(self, params, data, gradient=True):
        """Hardie's log-space form; the gradient is exact (digamma)."""
        r, alpha, a, b = params
        ux, nx, C = data["ux"], data["nx"], data["C"]
        x, tx, T, c = data["x"], data["tx"], data["T"], data["c"]
        gl = special.gammaln
        # Terms depending on x only: ln Gamma(r+x)/Gamma(r) + r ln(alpha) + ln B(a, b+x)/B(a, b)
        ll = np.sum(nx * (gl(r + ux) + gl(b + ux) - gl(a + b + ux))) + C * (
            -gl(r) + r * np.log(alpha) + gl(a + b) - gl(b)
        )
        # Non-repeaters: (alpha + T)^-r
        lT0 = np.log(alpha + data["T0"])
        ll -= r * np.sum(data["c0"] * lT0)
        # Repeat buyers: log[(alpha+T)^-(r+x) + a/(b+x-1) (alpha+t_x)^-(r+x)]
        q = r + x
        lT = np.log(alpha + T)
        ltx = np.log(alpha + tx)
        A3 = -q * lT
        A4 = np.log(a) - np.log(b + x - 1.0) - q * ltx
        m = np.logaddexp(A3, A4)
        ll += np.sum(c * m)
        if not gradient:
            return -ll, None
        wgt = c * np.exp(A4 - m)  # weight of the "dropped out at t_x" branch
        rest = c - wgt
        dg = special.digamma
        d_r = np.sum(nx * dg(r + ux)) + C * (np.log(alpha) - dg(r))
        d_r -= np.sum(data["c0"] * lT0) + np.sum(rest * lT + wgt * ltx)
        d_alpha = C * r / alpha - r * np.sum(data["c0"] / (alpha + data["T0"]))
        d_alpha -= np.sum(q * (rest / (alpha + T) + wgt / (alpha + tx)))
        dg_abx = np.sum(nx * dg(a + b + ux))
        d_a = C * dg(a + b) - dg_abx + np.sum(wgt) / a
        d_b = C * (dg(a + b) - dg(b)) + np.sum(nx * dg(b + ux)) - dg_abx
        d_b -= np.sum(wgt / (b + x - 1.0))
        return -ll, -np.array([d_r, d_alpha, d_a, d_b])

    # -- predictions ----------------------------------------------------------------------
    def probability_alive(self, frequency, recency, T):
        """P(alive | frequency, recency, T): the probability each customer is still active.

        Equals 1 for customers with no repeat purchase (in the BG/NBD, dropout can only happen
        right after a repeat purchase). Fader, Hardie & Lee (2008), eq. (1).
        """
        r, alpha, a, b = self._param_array()
        shape = result_shape(frequency, recency, T)
        x, tx, T, _ = validate_rfm(frequency, recency, T, broadcast=True)
        return shaped(self._p_alive(x, tx, T, r, alpha, a, b), shape)

    @staticmethod
    def _p_alive(x, tx, T, r, alpha, a, b):
        with np.errstate(divide="ignore"):
            log_odds = (
                np.log(a)
                - np.log(np.where(x > 0, b + x - 1.0, 1.0))
                + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
            )
        return np.where(x > 0, special.expit(-log_odds), 1.0)

    def expected_purchases(self, t, frequency, recency, T):
        """Expected number of purchases in the next ``t`` time units, per customer.

        The conditional expectation E[Y(t) | x, t_x, T] of Fader, Hardie & Lee (2005),
        eq. (10), evaluated with an Euler-transformed 2F1 so that it stays accurate for
        customers with hundreds of purchases.
        """
        r, alpha, a, b = self._param_array()
        shape = result_shape(t, frequency, recency, T)
        t = check_times("t", t)
        x, tx, T, _ = validate_rfm(frequency, recency, T, broadcast=True)
        t, x, tx, T = np.broadcast_arrays(t, x, tx, T)
        z = t / (alpha + T + t)
        mean = _one_minus_scaled_2f1(a, b, r, x, z)
        return shaped(mean * self._p_alive(x, tx, T, r, alpha, a, b), shape)

    def expected_purchases_new_customer(self, t):
        """E[X(t)]: expected repeat purchases of a new customer in ``t`` time units.

        Fader, Hardie & Lee (2005), eq. (9).
        """
        r, alpha, a, b = self._param_array()
        shape = np.shape(t)
        t = check_times("t", t)
        return shaped(_one_minus_scaled_2f1(a, b, r, 0.0, t / (alpha + t)), shape)

    def probability_of_purchases(self, t, n):
        """P(X(t) = n): probability that a new customer makes ``n`` repeat purchases by ``t``.

        Fader, Hardie & Lee (2005), eq. (8); the finite sum is a negative-binomial survival
        function, evaluated with scipy for accuracy.
        """
        r, alpha, a, b = self._param_array()
        shape = result_shape(t, n)
        t = check_times("t", t)
        n_arr = check_counts("n", n)
        t, n_arr = np.broadcast_arrays(t, n_arr)
        gl = special.gammaln
        log_beta_ratio = gl(b + n_arr) + gl(a + b) - gl(b) - gl(a + b + n_arr)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_nb = (
                gl(r + n_arr) - gl(r) - gl(n_arr + 1)
                + r * np.log(alpha / (alpha + t))
                + special.xlogy(n_arr, t / (alpha + t))
            )  # fmt: skip
            first = np.exp(log_beta_ratio + log_nb)
            # P(N >= n) for N ~ NegBin(r, alpha / (alpha + t)); a / (b + n - 1) B-ratio factor.
            from scipy import stats  # here: scipy.stats costs ~0.8 s of import (button start)

            tail = stats.nbinom.sf(n_arr - 1, r, alpha / (alpha + t))
            second = np.where(
                n_arr > 0,
                np.exp(log_beta_ratio + np.log(a) - np.log(np.maximum(b + n_arr - 1, 1e-300)))
                * tail,
                0.0,
            )
        return shaped(first + second, shape)
