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
import pandas as pd
from scipy import special

from ._base import (
    RFMModel,
    beta_mixture_mean,
    check_counts,
    check_times,
    hyp2f1,
    result_shape,
    shaped,
    unique_rows,
    validate_rfm,
)

_SERIES_TERMS = 4096  # longest series summed directly; longer ones go to the quadrature
_SERIES_CHUNK = 2_000_000  # elements x terms at once


def _alive_means(r, a, b, x, u, *, survival: bool = False) -> np.ndarray:
    """Means over the posterior of (lambda, p) of a customer alive now, element-wise.

    Given alive with x repeat purchases, ``lambda ~ Gamma(r + x, alpha + T)`` and
    ``p ~ Beta(a, b + x)`` (independent), and with ``u = t / (alpha + T)``:

    * purchases in the next t: ``E[(1 - (1 + p u)^-(r+x)) / p]`` (the mean of Fader, Hardie &
      Lee 2005, eq. 10, before the P(alive) factor; its 2F1 form is
      ``(a+b+x-1)/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]``, z = u / (1+u));
    * still alive after t more (``survival``): ``E[(1 + p u)^-(r+x)] = E[exp(-lambda p t)]``.

    Two evaluations of the same quantity, for each distinct (x, u): the model's defining
    series (:func:`_defining_series`, positive terms, a certified truncation bound) when it
    is short, else the integral over p (:func:`beta_mixture_mean`). Both are accurate for any
    a (including 1), b, number of purchases and horizon, with no cancellation as t -> 0.
    """
    x, u = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(u, dtype=float))
    out = np.full(x.shape, 0.0 if not survival else 1.0)
    pos = u > 0
    if not np.any(pos):
        return out
    # distinct (x, u) pairs: one int64 key from the two columns' codes
    cx, vx = pd.factorize(x[pos])
    cu, vu = pd.factorize(u[pos])
    inverse, keys = pd.factorize(cx.astype(np.int64) * len(vu) + cu)
    ux, uu = (
        np.asarray(vx, dtype=float)[keys // len(vu)],
        np.asarray(vu, dtype=float)[keys % len(vu)],
    )
    q = r + ux
    values = _defining_series(q, a, b + ux, uu, survival=survival)
    slow = np.isnan(values)
    if np.any(slow):
        values[slow] = _quadrature_means(q[slow], a, b + ux[slow], uu[slow], survival=survival)
    out[pos] = values[inverse]
    return out


def _one_minus_scaled_2f1(a: float, b: float, r: float, x, z) -> np.ndarray:
    """``(a+b+x-1)/(a-1) * (1 - (1-z)**(r+x) * 2F1(r+x, b+x; a+b+x-1; z))``, the mean of
    ``(1 - (1 + p u)^-(r+x)) / p`` over ``p ~ Beta(a, b + x)`` with ``u = z / (1 - z)``.

    The fast path for the MBG/NBD model and the CLV ranges (which evaluate it for every
    parameter draw): the 2F1 after Euler's transformation (small upper parameters for any
    x). Where that cannot be trusted -- a non-finite value, a result outside the mean's
    bounds ``[1 - (1+u)^-(r+x), (r+x) u]``, small z (cancellation in ``1 - ...``) or a near 1
    (a removable singularity) -- the element is evaluated by :func:`_alive_means` (the
    defining series or the integral over p) instead, never by an approximation.
    """
    x, z = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(z, dtype=float))
    u = z / (1.0 - z)
    q = r + x
    out = np.full(x.shape, np.nan)
    if abs(a - 1.0) > 1e-4:
        c = a + b + x - 1.0
        with np.errstate(all="ignore"):
            inner = np.exp((a - 1.0) * np.log1p(-z)) * hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
            out = c / (a - 1.0) * (1.0 - inner)
    with np.errstate(all="ignore"):
        low, high = -np.expm1(-q * np.log1p(u)), q * u
        inside = (out >= low * (1 - 1e-9)) & (out <= high * (1 + 1e-9))
        ok = np.isfinite(out) & (z >= 1e-3) & inside
    if not np.all(ok):
        out = np.array(out, dtype=float)
        out[~ok] = _alive_means(r, a, b, x[~ok], u[~ok])
    return out


def _quadrature_means(q, a, B, u, *, survival: bool):
    """The BG/NBD means integrated over ``p ~ Beta(a, B)`` (:func:`beta_mixture_mean`)."""
    lu = np.log(u)

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

    return beta_mixture_mean(log_g, a, B)


def _defining_series(q, a, B, u, *, survival: bool):
    """The BG/NBD means as sums over the number N of future purchase opportunities.

    With ``N ~ NegBin(q, 1 - z)`` (the Poisson count in t mixed over the gamma posterior),
    ``z = u / (1 + u)``, and ``w_k = E[(1 - p)^k] = (B)_k / (a + B)_k`` (surviving k
    purchases):

    * ``E[purchases] = sum_k>=0 w_k P(N >= k + 1)`` (the (k+1)-th purchase happens and the
      customer survived the k before it), Fader, Hardie & Lee (2005), eq. (9) term by term;
    * ``E[survival] = sum_k>=0 w_k P(N = k)``.

    All terms are positive. The NB tail comes from one incomplete beta function at the end
    and exact backward sums of the pmf (no 1 - CDF cancellation); the truncation after K
    terms is bounded by ``w_K E[(N - K)^+] <= w_K q u I_z(K, q + 1)`` (purchases) or
    ``w_K P(N >= K)`` (survival). NaN where more than ``_SERIES_TERMS`` terms would be needed
    or the bound is not below 1e-15 of the sum.
    """
    out = np.full(q.size, np.nan)
    mean = q * u
    sd = np.sqrt(q * u * (1.0 + u))
    # first try: K a power of two past mean + 10 sd; doubled where the bound is not met
    K = 2.0 ** np.ceil(np.log2(np.maximum(mean + 10.0 * sd + 20.0, 32.0)))
    pending = K <= _SERIES_TERMS
    while np.any(pending):
        for k_len in np.unique(K[pending]):
            rows_all = np.flatnonzero(pending & (K == k_len))
            per = max(1, int(_SERIES_CHUNK // k_len))
            for start in range(0, rows_all.size, per):
                rows = rows_all[start : start + per]
                out[rows] = _series_block(q[rows], a, B[rows], u[rows], int(k_len), survival)
        K = np.where(np.isnan(out), 2.0 * K, K)
        pending = np.isnan(out) & (K <= _SERIES_TERMS)
    return out


def _series_block(q, a, B, u, K, survival):
    k = np.arange(K, dtype=float)[None, :]
    qq, BB, uu = q[:, None], B[:, None], u[:, None]
    with np.errstate(all="ignore"):
        log_z = np.log(uu) - np.log1p(uu)
        # log w_k = sum_{j<k} log((B + j) / (a + B + j)), accumulated term by term
        step_w = np.log1p(-a / (a + BB + k))
        log_w = np.concatenate([np.zeros((q.size, 1)), np.cumsum(step_w, axis=1)[:, :-1]], axis=1)
        # log pmf(k) = -q log(1+u) + sum_{j=1..k} log((q + j - 1) z / j)
        step_p = np.log(qq + k[:, 1:] - 1.0) - np.log(k[:, 1:]) + log_z
        log_pmf = -qq * np.log1p(uu) + np.concatenate(
            [np.zeros((q.size, 1)), np.cumsum(step_p, axis=1)], axis=1
        )
        pmf = np.exp(log_pmf)
        z = np.exp(log_z[:, 0])
        w_end = np.exp(log_w[:, -1] + np.log1p(-a / (a + B + K - 1.0)))  # w_K
        if survival:
            total = np.sum(np.exp(log_w + log_pmf), axis=1)
            bound = w_end * special.betainc(float(K), q, z)  # P(N >= K)
        else:
            # P(N >= k + 1) for k = 0..K-1: the tail beyond K plus the pmf from k+1 to K
            tail_K = special.betainc(float(K) + 1.0, q, z)  # P(N >= K + 1)
            last = np.log(qq + K - 1.0) - np.log(float(K)) + log_z  # log pmf(K) / pmf(K-1)
            pmf_next = np.concatenate([pmf[:, 1:], np.exp(log_pmf[:, -1:] + last)], axis=1)
            sf = tail_K[:, None] + np.cumsum(pmf_next[:, ::-1], axis=1)[:, ::-1]
            total = np.sum(np.exp(log_w) * sf, axis=1)
            bound = w_end * q * u * special.betainc(float(K), q + 1.0, z)
    ok = np.isfinite(total) & (bound <= 1e-15 * total)
    return np.where(ok, total, np.nan)


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
