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
    beta_mixture_mean,
    check_counts,
    check_times,
    result_shape,
    shaped,
    unique_rows,
    validate_rfm,
)


def _alive_means(r, a, b, x, u, *, survival: bool = False) -> np.ndarray:
    """Means over the posterior of (lambda, p) of a customer alive now, element-wise.

    Given alive with x repeat purchases, ``lambda ~ Gamma(r + x, alpha + T)`` and
    ``p ~ Beta(a, b + x)`` (independent), and with ``u = t / (alpha + T)``:

    * purchases in the next t: ``E[(1 - (1 + p u)^-(r+x)) / p]`` (the mean of Fader, Hardie &
      Lee 2005, eq. 10, before the P(alive) factor; its 2F1 form is
      ``(a+b+x-1)/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]``, z = u / (1+u));
    * still alive after t more (``survival``): ``E[(1 + p u)^-(r+x)] = E[exp(-lambda p t)]``.

    Integrated over p (:func:`beta_mixture_mean`) for each distinct (x, u): accurate for any
    a (including 1), b, number of purchases and horizon, with no cancellation as t -> 0.
    """
    x, u = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(u, dtype=float))
    out = np.full(x.shape, 0.0 if not survival else 1.0)
    pos = u > 0
    if not np.any(pos):
        return out
    pairs, inverse = np.unique(np.stack([x[pos], u[pos]]), axis=1, return_inverse=True)
    ux, uu = pairs
    q, lu = r + ux, np.log(uu)

    def log_g(lp, lq, rows):
        qq, ll = q[rows][:, None], lu[rows][:, None]
        pu = np.exp(lp + ll)
        L = qq * np.log1p(pu)
        if survival:
            return -L
        with np.errstate(all="ignore"):  # tiny p u: the series' first two terms
            return np.where(
                pu * (qq + 1.0) < 1e-10,
                np.log(qq) + ll - 0.5 * (qq + 1.0) * pu,
                np.log(-np.expm1(-L)) - lp,
            )

    out[pos] = beta_mixture_mean(log_g, a, b + ux)[inverse.reshape(-1)]
    return out


def _pmf(t, n, r, alpha, a, b) -> np.ndarray:
    """P(X(t) = n) of the BG/NBD for a customer alive at time 0 (element-wise parameters).

    Fader, Hardie & Lee (2005), eq. (8):
    ``B(a, b+n)/B(a, b) * NB(n) + B(a+1, b+n-1)/B(a, b) * P(N >= n)`` (second term for n >= 1)
    with ``N ~ NegBin(r, alpha / (alpha + t))``; its tail is the regularised incomplete beta
    ``I_w(n, r)``, ``w = t / (alpha + t)``, evaluated without forming ``1 - w``.
    """
    gl = special.gammaln
    w = t / (alpha + t)
    log_beta_ratio = gl(b + n) + gl(a + b) - gl(b) - gl(a + b + n)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_nb = gl(r + n) - gl(r) - gl(n + 1) - r * np.log1p(t / alpha) + special.xlogy(n, w)
        first = np.exp(log_beta_ratio + log_nb)
        tail = special.betainc(np.maximum(n, 1.0), r, w)
        second = np.where(
            n > 0,
            np.exp(log_beta_ratio + np.log(a) - np.log(np.where(n > 0, b + n - 1.0, 1.0))) * tail,
            0.0,
        )
    return first + second


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
    def probability_alive(self, frequency, recency, T, *, future_t=0.0):
        """P(alive | frequency, recency, T): the probability each customer is still active.

        Equals 1 for customers with no repeat purchase (in the BG/NBD, dropout can only happen
        right after a repeat purchase). Fader, Hardie & Lee (2008), eq. (1).

        With ``future_t`` > 0, the probability of being still active ``future_t`` time units
        after the end of observation: P(alive now) times ``E[exp(-lambda p future_t)]`` over
        the posterior ``lambda ~ Gamma(r+x, alpha+T)``, ``p ~ Beta(a, b+x)`` of a customer
        alive now (dropouts occur at rate ``lambda p``), i.e.
        ``(1-z)^(r+x) 2F1(r+x, b+x; a+b+x; z)`` with ``z = t / (alpha+T+t)``.
        """
        r, alpha, a, b = self._param_array()
        shape = result_shape(frequency, recency, T, future_t)
        ft = check_times("future_t", future_t)
        x, tx, T, _ = validate_rfm(frequency, recency, T, broadcast=True)
        x, tx, T, ft = np.broadcast_arrays(x, tx, T, ft)
        alive = self._p_alive(x, tx, T, r, alpha, a, b)
        if np.any(ft > 0):
            alive = alive * _alive_means(r, a, b, x, ft / (alpha + T), survival=True)
        return shaped(alive, shape)

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
        eq. (10): P(alive) times the mean over the posterior of (lambda, p) of
        ``(1 - (1 + p t / (alpha+T))^-(r+x)) / p``, integrated numerically over p (accurate
        for any number of purchases, horizon and parameters; see ``_alive_means``).
        """
        r, alpha, a, b = self._param_array()
        shape = result_shape(t, frequency, recency, T)
        t = check_times("t", t)
        x, tx, T, _ = validate_rfm(frequency, recency, T, broadcast=True)
        t, x, tx, T = np.broadcast_arrays(t, x, tx, T)
        mean = _alive_means(r, a, b, x, t / (alpha + T))
        return shaped(mean * self._p_alive(x, tx, T, r, alpha, a, b), shape)

    def expected_purchases_new_customer(self, t):
        """E[X(t)]: expected repeat purchases of a new customer in ``t`` time units.

        Fader, Hardie & Lee (2005), eq. (9), evaluated as the mean of
        ``(1 - (1 + p t / alpha)^-r) / p`` over ``p ~ Beta(a, b)``.
        """
        r, alpha, a, b = self._param_array()
        shape = np.shape(t)
        t = check_times("t", t)
        return shaped(_alive_means(r, a, b, np.zeros(t.size), t / alpha), shape)

    def probability_of_purchases(self, t, n):
        """P(X(t) = n): probability that a new customer makes ``n`` repeat purchases by ``t``.

        Fader, Hardie & Lee (2005), eq. (8); the finite sum is a negative-binomial survival
        function, evaluated as a regularised incomplete beta function.
        """
        r, alpha, a, b = self._param_array()
        shape = result_shape(t, n)
        t = check_times("t", t)
        n_arr = check_counts("n", n)
        t, n_arr = np.broadcast_arrays(t, n_arr)
        return shaped(_pmf(t, n_arr, r, alpha, a, b), shape)

    def conditional_probability_of_purchases(self, t, n, frequency, recency, T):
        """P(Y(t) = n | history): probability of exactly ``n`` purchases in the next ``t``.

        A customer who has dropped out makes none; one who is alive is a new BG/NBD customer
        with the posterior parameters ``(r + x, alpha + T, a, b + x)``:
        ``P(alive) * P(X(t) = n | r+x, alpha+T, a, b+x) + (1 - P(alive)) * [n = 0]``
        (Fader, Hardie & Lee 2005, eq. 8, applied to the posterior; cf. Fader & Hardie's note
        "Deriving the conditional PMF of the BG/NBD model").
        """
        r, alpha, a, b = self._param_array()
        shape = result_shape(t, n, frequency, recency, T)
        t = check_times("t", t)
        n_arr = check_counts("n", n)
        x, tx, T, _ = validate_rfm(frequency, recency, T, broadcast=True)
        t, n_arr, x, tx, T = np.broadcast_arrays(t, n_arr, x, tx, T)
        alive = self._p_alive(x, tx, T, r, alpha, a, b)
        p = _pmf(t, n_arr, r + x, alpha + T, a, b + x)
        return shaped(alive * p + np.where(n_arr == 0, 1.0 - alive, 0.0), shape)

    def probability_no_purchase(self, t, frequency, recency, T):
        """P(no purchase in the next ``t`` | history): the churn-risk score.

        ``1 - P(alive) + P(alive) ((alpha+T) / (alpha+T+t))^(r+x)``: dropped out, or alive
        and no Poisson purchase in t (Fader, Hardie & Lee 2005; the n = 0 case of
        :meth:`conditional_probability_of_purchases`). Summed without cancellation.
        """
        r, alpha, a, b = self._param_array()
        shape = result_shape(t, frequency, recency, T)
        t = check_times("t", t)
        x, tx, T, _ = validate_rfm(frequency, recency, T, broadcast=True)
        t, x, tx, T = np.broadcast_arrays(t, x, tx, T)
        alive = self._p_alive(x, tx, T, r, alpha, a, b)
        none = np.exp(-(r + x) * np.log1p(t / (alpha + T)))
        return shaped((1.0 - alive) + alive * none, shape)
