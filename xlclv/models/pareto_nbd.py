"""The Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

While active, a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, rate=alpha)``;
her unobserved lifetime is exponential with rate ``mu ~ Gamma(s, rate=beta)``. Time is in the
unit of the data (``alpha`` and ``beta`` are per unit of time), usually weeks.

The likelihood of (x, t_x, T) is

    L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s I ],
    I = integral over tau from t_x to T of (alpha+tau)^-(r+x) (beta+tau)^-(s+1),

and ``I = A0 / (r+s+x)`` with Fader & Hardie's 2F1 expression for ``A0`` (case split on
alpha >= beta). Values use that 2F1 form in log space; the fit's gradient integrates the
derivatives of ``I`` by Gauss-Legendre quadrature after an exponential change of variable
(checked against the 2F1 form and scipy.integrate in the tests), which avoids
differentiating 2F1 in its parameters.

References
----------
Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who are they
and what will they do next? Management Science 33(1), 1-24.
Fader, P. S. & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and related
expressions. http://brucehardie.com/notes/009/
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._base import RFMModel, check_counts, check_times, hyp2f1, result_shape, shaped, validate_rfm

_M = 6.0  # exponent split of the quadrature's change of variable (see _quadrature)
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(16)
_NODES = (_NODES + 1.0) / 2.0  # on (0, 1)
_WEIGHTS = _WEIGHTS / 2.0


def _log1mexp(d: np.ndarray) -> np.ndarray:
    """log(1 - exp(d)) for d <= 0, accurate at both ends (-inf at d = 0)."""
    d = np.minimum(d, 0.0)
    with np.errstate(divide="ignore"):
        return np.where(d > -np.log(2.0), np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


def _log_integral(r, alpha, s, beta, x, tx, T) -> np.ndarray:
    """log I, the integral above, through Fader & Hardie's (2005) A0 (eqs. 19-20).

    Each 2F1(r+s+x, b; r+s+x+1; z) is Euler-transformed to (1-z)^(1-b) 2F1(1, r+s+x+1-b;
    r+s+x+1; z), whose parameters stay moderate for any number of purchases.
    """
    q = r + s + x
    if alpha >= beta:
        big, b2 = alpha, s + 1.0
        z1, z2 = (alpha - beta) / (alpha + tx), (alpha - beta) / (alpha + T)
    else:
        big, b2 = beta, r + x
        z1, z2 = (beta - alpha) / (beta + tx), (beta - alpha) / (beta + T)

    def log_term(z, t):
        f = hyp2f1(1.0, q + 1.0 - b2, q + 1.0, z)
        return (1.0 - b2) * np.log1p(-z) + np.log(f) - q * np.log(big + t)

    with np.errstate(all="ignore"):
        l1 = log_term(z1, tx)
        l2 = log_term(z2, T)
        out = l1 + _log1mexp(l2 - l1) - np.log(q)
    # Far out in the parameter space (e.g. s and beta in the millions) 2F1 can fail: there the
    # quadrature takes over (-inf is right only when t_x = T: nothing to integrate).
    bad = np.isnan(out) | (np.isinf(out) & (tx < T))
    if np.any(bad):
        out = np.array(out, dtype=float)
        pick = [np.broadcast_to(v, out.shape)[bad] for v in (x, tx, T)]
        out[bad] = _quadrature(r, alpha, s, beta, *pick)[0]
    return out


def _quadrature(r, alpha, s, beta, x, tx, T):
    """log I and d log I / d(r, alpha, s, beta) by Gauss-Legendre quadrature.

    Write I = int (A+tau)^-qA (B+tau)^-qB over (t_x, T), where the A-factor is whichever
    of (alpha, r+x) and (beta, s+1) decays faster at t_x. With A + tau = (A+t_x) e^v and
    k = (qA - 1) / m, the map w = (1 - e^(-k v)) / (1 - e^(-k V)) turns
    I = (A+t_x)^(1-qA) int_0^V e^(-m k v) g(v) dv into (A+t_x)^(1-qA) (1-e^(-kV))/k
    int_0^1 (1 - w c)^(m-1) g dw, c = 1 - e^(-kV): a smooth integrand whatever the
    number of purchases, so 16 nodes give ~1e-10 relative accuracy or better (see the tests).
    The derivatives are weighted means of d log(integrand) over the same nodes.
    """
    qa = r + x
    qb = s + 1.0
    use_a = qa / (alpha + tx) >= qb / (beta + tx)
    A, B = np.where(use_a, alpha, beta), np.where(use_a, beta, alpha)
    qA, qB = np.where(use_a, qa, qb), np.where(use_a, qb, qa)
    k = ((qA - 1.0) / _M)[:, None]
    la_tx = np.log(A + tx)[:, None]
    V = (np.log(A + T) - np.log(A + tx))[:, None]
    kV = k * V
    small = np.abs(kV) < 1e-8
    safe_k = np.where(small, 1.0, k)
    c = -np.expm1(-kV)
    D = np.where(small, V, c / safe_k)
    l1 = np.log1p(-_NODES * np.where(small, 0.0, c))  # = -k v
    v = np.where(small, _NODES * V, -l1 / safe_k)
    tA = np.exp(la_tx + v)  # A + tau
    tB = tA + (B - A)[:, None]  # B + tau
    lB = np.log(tB)
    lg = (_M - 1.0) * l1 - qB[:, None] * lB
    top = lg.max(axis=1, keepdims=True)
    g = _WEIGHTS * np.exp(lg - top)
    total = g.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_I = (-(_M * k) * la_tx + np.log(D) + top + np.log(total))[:, 0]
    p = g / total
    lA_mean = np.sum(p * (la_tx + v), axis=1)
    inv_A = np.sum(p / tA, axis=1)
    lB_mean = np.sum(p * lB, axis=1)
    inv_B = np.sum(p / tB, axis=1)
    d = np.stack(
        [
            -np.where(use_a, lA_mean, lB_mean),
            -qa * np.where(use_a, inv_A, inv_B),
            -np.where(use_a, lB_mean, lA_mean),
            -qb * np.where(use_a, inv_B, inv_A),
        ]
    )
    return log_I, d


class ParetoNBDModel(RFMModel):
    """Pareto/NBD model: who is still a customer, and how many purchases will they make?

    Fit it to an RFM summary (frequency = repeat purchases, recency = time from the first to
    the last purchase, T = time from the first purchase to the end of observation, all in one
    time unit). Parameters ``r, alpha`` (purchase rate, gamma) and ``s, beta`` (dropout rate,
    gamma).

    Examples
    --------
    >>> from xlclv.datasets import load_cdnow_summary
    >>> d = load_cdnow_summary()
    >>> m = ParetoNBDModel().fit(d["frequency"], d["recency"], d["T"])
    >>> round(m.params_["r"], 4), round(m.log_likelihood_, 2)
    (0.5533, -9594.97)

    References
    ----------
    Schmittlein, Morrison & Colombo (1987); Fader & Hardie (2005), "A note on deriving the
    Pareto/NBD model and related expressions".
    """

    _param_names = ("r", "alpha", "s", "beta")
    _model_name = "Pareto/NBD"

    # -- fitting (``fit`` is RFMModel's) -------------------------------------------------
    @staticmethod
    def _starts(rate, mean_T):
        return [
            (1.0, 1.0 / rate, 1.0, mean_T),
            (0.5, 0.5 / rate, 0.5, 0.5 * mean_T),
            (2.0, 2.0 / rate, 2.0, 2.0 * mean_T),
            (0.1, 0.1 / rate, 0.1, 0.1 * mean_T),
        ]

    @staticmethod
    def _prepare(x, tx, T, c) -> dict:
        """The distinct rows, plus customers per distinct x (for the gamma functions)."""
        ux, ix = np.unique(x, return_inverse=True)
        return {"x": x, "tx": tx, "T": T, "c": c, "ux": ux, "nx": np.bincount(ix, weights=c)}

    @staticmethod
    def _common(params, data):
        r, alpha, s, beta = params
        ux, nx, C = data["ux"], data["nx"], data["c"].sum()
        ll_x = np.sum(nx * special.gammaln(r + ux)) + C * (
            -special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        )
        x, T = data["x"], data["T"]
        lT_a, lT_b = np.log(alpha + T), np.log(beta + T)
        B1 = -(r + x) * lT_a - s * lT_b
        return ll_x, B1, lT_a, lT_b

    def _negative_log_likelihood(self, params, data) -> float:
        r, alpha, s, beta = params
        ll_x, B1, _, _ = self._common(params, data)
        B2 = np.log(s) + _log_integral(r, alpha, s, beta, data["x"], data["tx"], data["T"])
        return -(ll_x + np.sum(data["c"] * np.logaddexp(B1, B2)))

    def _negative_log_likelihood_and_gradient(self, params, data):
        """The NLL with its exact-formula gradient, the integral's parts by quadrature."""
        r, alpha, s, beta = params
        x, tx, T, c, ux, nx = (data[k] for k in ("x", "tx", "T", "c", "ux", "nx"))
        C = c.sum()
        ll_x, B1, lT_a, lT_b = self._common(params, data)
        log_I, dI = _quadrature(r, alpha, s, beta, x, tx, T)
        B2 = np.log(s) + log_I
        m = np.logaddexp(B1, B2)
        w2 = c * np.exp(B2 - m)  # weight of the "died between t_x and T" branch
        w1 = c - w2
        dI = np.where(np.isfinite(log_I), dI, 0.0)
        d_r = np.sum(nx * special.digamma(r + ux)) + C * (np.log(alpha) - special.digamma(r))
        d_r += np.sum(-w1 * lT_a + w2 * dI[0])
        d_alpha = C * r / alpha + np.sum(-w1 * (r + x) / (alpha + T) + w2 * dI[1])
        d_s = C * np.log(beta) + np.sum(-w1 * lT_b + w2 * (1.0 / s + dI[2]))
        d_beta = C * s / beta + np.sum(-w1 * s / (beta + T) + w2 * dI[3])
        nll = -(ll_x + np.sum(c * m))
        return nll, -np.array([d_r, d_alpha, d_s, d_beta])

    # -- predictions ----------------------------------------------------------------------
    def probability_alive(self, frequency, recency, T):
        """P(alive | frequency, recency, T): the probability each customer is still active.

        Fader & Hardie (2005), "A note on deriving the Pareto/NBD model", eq. (18).
        """
        shape = result_shape(frequency, recency, T)
        x, tx, T, _ = validate_rfm(frequency, recency, T, broadcast=True)
        return shaped(self._p_alive(x, tx, T), shape)

    def _p_alive(self, x, tx, T):
        r, alpha, s, beta = self._param_array()
        log_odds = (
            np.log(s)
            + _log_integral(r, alpha, s, beta, x, tx, T)
            + (r + x) * np.log(alpha + T)
            + s * np.log(beta + T)
        )
        return special.expit(-log_odds)

    def expected_purchases(self, t, frequency, recency, T):
        """Expected number of purchases in the next ``t`` time units, per customer.

        E[Y(t) | x, t_x, T] = P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) *
        [1 - ((beta+T)/(beta+T+t))^(s-1)]; Fader & Hardie (2005) note, eq. (22).
        """
        r, alpha, s, beta = self._param_array()
        shape = result_shape(t, frequency, recency, T)
        t = check_times("t", t)
        x, tx, T, _ = validate_rfm(frequency, recency, T, broadcast=True)
        t, x, tx, T = np.broadcast_arrays(t, x, tx, T)
        mean = (r + x) * (beta + T) / (alpha + T) * _power_ratio(s, np.log1p(t / (beta + T)))
        return shaped(mean * self._p_alive(x, tx, T), shape)

    def expected_purchases_new_customer(self, t):
        """E[X(t)]: expected repeat purchases of a new customer in ``t`` time units.

        r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]; Schmittlein et al. (1987).
        """
        r, alpha, s, beta = self._param_array()
        shape = np.shape(t)
        t = check_times("t", t)
        return shaped(r * beta / alpha * _power_ratio(s, np.log1p(t / beta)), shape)

    def probability_of_purchases(self, t, n):
        """P(X(t) = n): probability that a new customer makes ``n`` repeat purchases by ``t``.

        Alive throughout (t): the NBD term; died at tau < t: the integral of
        ``s beta^s (beta+tau)^-(s+1) * NBD(n; tau)`` over tau, which the substitution
        ``u = tau / (alpha + tau)`` turns into ``alpha s beta^s Gamma(r+n)/(Gamma(r) n!)
        int_0^(t/(alpha+t)) u^n (1-u)^(r+s-1) (beta + (alpha-beta) u)^-(s+1) du`` (Schmittlein
        et al. 1987; Fader & Hardie's note on P(X(t)=x) under the Pareto/NBD), integrated
        adaptively in log-scaled form, one (t, n) pair at a time.
        """
        r, alpha, s, beta = self._param_array()
        shape = result_shape(t, n)
        t = check_times("t", t)
        n_arr = check_counts("n", n)
        t, n_arr = np.broadcast_arrays(t, n_arr)
        gl = special.gammaln
        log_nb = gl(r + n_arr) - gl(r) - gl(n_arr + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            alive = np.exp(
                log_nb
                + r * np.log(alpha / (alpha + t))
                + special.xlogy(n_arr, t / (alpha + t))
                + s * np.log(beta / (beta + t))
            )
        died = np.array(
            [
                _log_death_integral(r, alpha, s, beta, nn, tt)
                for tt, nn in zip(t.ravel(), n_arr.ravel(), strict=True)
            ]
        ).reshape(t.shape)
        died = np.exp(log_nb + np.log(alpha * s) + s * np.log(beta) + died)
        return shaped(alive + died, shape)


def _log_death_integral(r, alpha, s, beta, n, t) -> float:
    """log of int_0^z u^n (1-u)^(r+s-1) (beta + (alpha-beta) u)^-(s+1) du, z = t/(alpha+t)."""
    z = t / (alpha + t)
    if z <= 0.0:
        return -np.inf

    def log_f(u):
        return (
            special.xlogy(n, u)
            + (r + s - 1.0) * np.log1p(-u)
            - (s + 1.0) * np.log(beta + (alpha - beta) * u)
        )

    grid = z * np.linspace(1e-6, 1.0, 65)
    peak = float(np.max(log_f(grid)))
    from scipy import integrate  # here: keeps the import of the models light

    val, _ = integrate.quad(
        lambda u: np.exp(log_f(u) - peak), 0.0, z, epsabs=0.0, epsrel=1e-11, limit=200,
        points=[float(np.clip(n / (n + r + s), 0.0, z))] if 0 < n / (n + r + s) < z else None,
    )  # fmt: skip
    return peak + np.log(val) if val > 0 else -np.inf


def _power_ratio(s: float, L: np.ndarray) -> np.ndarray:
    """[1 - exp(-(s-1) L)] / (s-1), with its limit L at s = 1."""
    if abs(s - 1.0) < 1e-12:
        return L
    return -np.expm1(-(s - 1.0) * L) / (s - 1.0)
