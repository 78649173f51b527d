"""The BG/BB model (beta-geometric / beta-Bernoulli) of discrete-time repeat transactions.

Customers have ``n`` discrete transaction opportunities (e.g. yearly donation drives) after
the first one. While active, a customer transacts at each opportunity with probability
``p ~ Beta(alpha, beta)``; at the start of each opportunity an active customer becomes
inactive for good with probability ``theta ~ Beta(gamma, delta)``. A history is summarised by
``frequency`` x (opportunities with a transaction), ``recency`` t_x (the opportunity of the
last transaction, 0 if none) and ``n_periods`` n.

The likelihood of (x, t_x, n) is (Fader, Hardie & Shang 2010, eq. 5)::

    L = B(alpha+x, beta+n-x)/B(alpha, beta) * B(gamma, delta+n)/B(gamma, delta)
        + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha, beta)
                             * B(gamma+1, delta+t_x+i)/B(gamma, delta)

References
----------
Fader, P. S., Hardie, B. G. S. & Shang, J. (2010). Customer-base analysis in a discrete-time
noncontractual setting. Marketing Science 29(6), 1086-1108.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .._errors import FitError, InputError
from ._base import BaseModel, _as_column, check_counts, result_shape, shaped, unique_rows

__all__ = ["BetaGeoBetaBinomModel"]

_gl = special.gammaln
_dg = special.digamma


def _betaln(u, v):
    return _gl(u) + _gl(v) - _gl(u + v)


def validate_xtn(
    frequency, recency, n_periods, weights=None, *, broadcast: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Check a BG/BB summary and return float arrays (InputError naming the first bad row).

    Every value must be a whole number with ``0 <= frequency <= recency <= n_periods`` and
    ``recency = 0`` exactly when ``frequency = 0``.
    """
    x = _as_column("frequency", frequency, integer=True)
    tx = _as_column("recency", recency)
    n = _as_column("n_periods", n_periods)
    w = None if weights is None else _as_column("weights", weights)
    for name, arr in (("recency", tx), ("n_periods", n)):
        frac = arr != np.round(arr)
        if frac.any():
            i = int(np.argmax(frac))
            raise InputError(
                f"{name} must be a whole number of transaction opportunities "
                f"(first non-integer at position {i}: {arr[i]:g})"
            )
    arrays = [x, tx, n] + ([] if w is None else [w])
    if broadcast:
        try:
            arrays = list(np.broadcast_arrays(*arrays))
        except ValueError:
            raise InputError(
                "frequency, recency and n_periods must have the same length (or be single "
                f"values), got {', '.join(str(a.size) for a in arrays)}"
            ) from None
    elif len({a.size for a in arrays}) > 1:
        raise InputError(
            "frequency, recency, n_periods"
            + (", weights" if w is not None else "")
            + " must have the same length, got "
            + ", ".join(str(a.size) for a in arrays)
        )
    x, tx, n = arrays[:3]
    w = arrays[3] if w is not None else None
    if x.size == 0:
        raise InputError("no customers: frequency, recency and n_periods are empty")
    checks = [
        (x > tx, "frequency cannot exceed recency (x transactions need at least x opportunities "
         "up to the last one)"),
        (tx > n, "recency (the opportunity of the last transaction) cannot exceed n_periods"),
        ((x == 0) & (tx > 0), "recency must be 0 for customers with no transaction (frequency 0)"),
    ]  # fmt: skip
    for bad, message in checks:
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                f"{message} (first at position {i}: frequency {x[i]:g}, recency {tx[i]:g}, "
                f"n_periods {n[i]:g})"
            )
    return x, tx, n, w


def _log_terms(params, x, tx, n, gradient: bool):
    """The likelihood's terms in logs, one row per customer: column 0 is the "alive at n"
    term, columns 1.. the "died after opportunity t_x + i" terms (-inf past n - t_x - 1).

    With ``gradient``, also d(term)/d(alpha, beta, gamma, delta), shape (4, rows, columns).
    """
    alpha, beta, gamma, delta = params
    width = int(np.max(n - tx)) if x.size else 0
    i = np.arange(width, dtype=float)[None, :]
    k = np.concatenate([(n - x)[:, None], (tx - x)[:, None] + i], axis=1)  # beta + k
    j = np.concatenate([n[:, None], tx[:, None] + i], axis=1)  # delta + j
    died = np.zeros(k.shape, dtype=bool)
    died[:, 1:] = True
    valid = np.concatenate([np.ones((x.size, 1), bool), i < (n - tx)[:, None]], axis=1)
    xc = x[:, None]
    g = np.where(died, gamma + 1.0, gamma)
    log_t = (
        _betaln(alpha + xc, beta + k) - _betaln(alpha, beta)
        + _betaln(g, delta + j) - _betaln(gamma, delta)
    )  # fmt: skip
    log_t = np.where(valid, log_t, -np.inf)
    if not gradient:
        return log_t, None
    ab = _dg(alpha + beta + xc + k)
    d = np.empty((4, *k.shape))
    d[0] = _dg(alpha + xc) - ab - _dg(alpha) + _dg(alpha + beta)
    d[1] = _dg(beta + k) - ab - _dg(beta) + _dg(alpha + beta)
    gd = _dg(g + delta + j)
    d[2] = _dg(g) - gd - _dg(gamma) + _dg(gamma + delta)
    d[3] = _dg(delta + j) - gd - _dg(delta) + _dg(gamma + delta)
    return log_t, np.where(valid, d, 0.0)


def _log_likelihood_rows(params, x, tx, n) -> np.ndarray:
    return special.logsumexp(_log_terms(params, x, tx, n, gradient=False)[0], axis=1)


def _future_survival_sum(gamma, delta, n, m) -> np.ndarray:
    """``sum_{j=1}^{m} B(gamma, delta+n+j) / B(gamma, delta)``, element-wise over (n, m).

    The closed form of Fader, Hardie & Shang (2010, eq. 13), ``Gamma(gamma+delta) /
    Gamma(delta) / (gamma-1) [G(n) - G(n+m)]`` with ``G(k) = Gamma(delta+k+1) /
    Gamma(gamma+delta+k)``, has a removable singularity at gamma = 1: near it, the finite sum
    is added up term by term instead (over the distinct (n, m) pairs).
    """
    n, m = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(m, dtype=float))
    if abs(gamma - 1.0) >= 1e-3:

        def g(k):
            return _gl(delta + k + 1.0) - _gl(gamma + delta + k)

        g0 = g(n)
        diff = -np.expm1(g(n + m) - g0)
        return np.exp(_gl(gamma + delta) - _gl(delta) + g0) * diff / (gamma - 1.0)
    out = np.empty(n.shape)
    pairs, inverse = np.unique(np.stack([n.ravel(), m.ravel()]), axis=1, return_inverse=True)
    sums = np.empty(pairs.shape[1])
    const = _gl(gamma + delta) - _gl(delta)
    for p, (nn, mm) in enumerate(pairs.T):
        jj = nn + np.arange(1.0, mm + 1.0)
        sums[p] = np.sum(np.exp(const + _gl(delta + jj) - _gl(gamma + delta + jj)))
    out.ravel()[:] = sums[np.ravel(inverse)]
    return out


class BetaGeoBetaBinomModel(BaseModel):
    """BG/BB model: repeat transactions at discrete opportunities (donations, yearly events).

    Fit it to ``frequency`` (opportunities with a transaction), ``recency`` (the opportunity
    of the last transaction, 0 if none) and ``n_periods`` (the number of opportunities after
    the first transaction), optionally with ``weights`` (customers per row). Parameters
    ``alpha, beta`` (transaction probability while active, beta) and ``gamma, delta``
    (dropout probability per opportunity, beta).

    Examples
    --------
    >>> from xlclv.datasets import load_donations
    >>> d = load_donations()
    >>> m = BetaGeoBetaBinomModel().fit(d["frequency"], d["recency"], d["periods"], d["weights"])
    >>> {k: round(v, 3) for k, v in m.params_.items()}
    {'alpha': 1.204, 'beta': 0.75, 'gamma': 0.657, 'delta': 2.783}
    >>> round(m.log_likelihood_, 1)
    -33225.6

    References
    ----------
    Fader, Hardie & Shang (2010), Customer-base analysis in a discrete-time noncontractual
    setting, Marketing Science 29(6).
    """

    _param_names = ("alpha", "beta", "gamma", "delta")
    _model_name = "BG/BB"

    # -- fitting --------------------------------------------------------------------------
    def fit(self, frequency, recency, n_periods, weights=None) -> BetaGeoBetaBinomModel:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency, recency, n_periods : array-like
            Whole numbers per customer (or per row of identical customers), with
            ``0 <= frequency <= recency <= n_periods``.
        weights : array-like, optional
            Number of customers each row stands for (default 1 each).

        Returns
        -------
        self

        Raises
        ------
        InputError
            For unusable data (the message names the column and the first bad row).
        FitError
            When nobody transacted, or all weights are zero.
        """
        x, tx, n, w = validate_xtn(frequency, recency, n_periods, weights)
        (x, tx, n), c = unique_rows(x, tx, n, weights=w)
        keep = c > 0
        x, tx, n, c = x[keep], tx[keep], n[keep], c[keep]
        if c.sum() == 0:
            raise FitError("BG/BB cannot be fitted: all weights are zero")
        if not np.any(x > 0):
            raise FitError(
                "BG/BB cannot be fitted: no customer made a repeat transaction (all "
                "frequencies are 0), so the transaction and dropout probabilities cannot be "
                "estimated."
            )
        starts = [
            (1.0, 1.0, 1.0, 1.0),
            (0.5, 0.5, 0.5, 2.0),
            (2.0, 1.0, 0.5, 5.0),
            (5.0, 5.0, 5.0, 5.0),
        ]
        with np.errstate(all="ignore"):
            self._fit_mle({"x": x, "tx": tx, "n": n, "c": c}, starts, stop_at_first=True)
        return self

    def _negative_log_likelihood(self, params, data) -> float:
        return self._negative_log_likelihood_and_gradient(params, data, gradient=False)[0]

    def _negative_log_likelihood_and_gradient(self, params, data, gradient=True):
        """Fader, Hardie & Shang (2010), eq. (5), in logs; exact (digamma) gradient."""
        x, tx, n, c = data["x"], data["tx"], data["n"], data["c"]
        log_t, d = _log_terms(params, x, tx, n, gradient)
        ll_rows = special.logsumexp(log_t, axis=1)
        nll = -float(np.sum(c * ll_rows))
        if not gradient:
            return nll, None
        share = np.exp(log_t - ll_rows[:, None])  # each term's share of the likelihood
        grad = np.einsum("r,prk,rk->p", c, d, share)
        return nll, -grad

    # -- predictions ----------------------------------------------------------------------
    def _validated(self, frequency, recency, n_periods, *extra):
        shape = result_shape(*extra, frequency, recency, n_periods)
        x, tx, n, _ = validate_xtn(frequency, recency, n_periods, broadcast=True)
        return shape, x, tx, n

    def probability_alive(self, frequency, recency, n_periods, periods_ahead=1):
        """P(alive at opportunity ``n_periods + periods_ahead`` | history).

        ``B(alpha+x, beta+n-x)/B(alpha, beta) * B(gamma, delta+n+m)/B(gamma, delta) / L``
        (Fader, Hardie & Shang 2010, eq. 11); with the default ``periods_ahead = 1``, the
        probability of being active at the next opportunity.
        """
        alpha, beta, gamma, delta = params = self._param_array()
        m = check_counts("periods_ahead", periods_ahead)
        shape = result_shape(periods_ahead, frequency, recency, n_periods)
        x, tx, n, _ = validate_xtn(frequency, recency, n_periods, broadcast=True)
        m, x, tx, n = np.broadcast_arrays(m, x, tx, n)
        log_p = (
            _betaln(alpha + x, beta + n - x) - _betaln(alpha, beta)
            + _betaln(gamma, delta + n + m) - _betaln(gamma, delta)
            - _log_likelihood_rows(params, x, tx, n)
        )  # fmt: skip
        return shaped(np.exp(log_p), shape)

    def expected_purchases(self, n_future, frequency, recency, n_periods):
        """Expected transactions in the next ``n_future`` opportunities, given the history.

        ``B(alpha+x+1, beta+n-x)/B(alpha, beta) / L * sum_{j=1}^{n*} B(gamma, delta+n+j)/
        B(gamma, delta)``: Fader, Hardie & Shang (2010), eq. (13).
        """
        alpha, beta, gamma, delta = params = self._param_array()
        m = check_counts("n_future", n_future)
        shape = result_shape(n_future, frequency, recency, n_periods)
        x, tx, n, _ = validate_xtn(frequency, recency, n_periods, broadcast=True)
        m, x, tx, n = np.broadcast_arrays(m, x, tx, n)
        log_p = (
            _betaln(alpha + x + 1.0, beta + n - x) - _betaln(alpha, beta)
            - _log_likelihood_rows(params, x, tx, n)
        )  # fmt: skip
        return shaped(np.exp(log_p) * _future_survival_sum(gamma, delta, n, m), shape)

    def expected_purchases_new_customer(self, n):
        """E[X(n)]: expected transactions of a new customer in her first ``n`` opportunities.

        ``alpha/(alpha+beta) * delta/(gamma-1) * [1 - Gamma(gamma+delta) Gamma(1+delta+n) /
        (Gamma(gamma+delta+n) Gamma(1+delta))]``: Fader, Hardie & Shang (2010), eq. (8).
        """
        alpha, beta, gamma, delta = self._param_array()
        shape = np.shape(n)
        n = check_counts("n", n)
        return shaped(alpha / (alpha + beta) * _future_survival_sum(gamma, delta, 0.0, n), shape)

    def probability_of_purchases(self, n, x):
        """P(X(n) = x): probability that a new customer transacts at ``x`` of ``n`` opportunities.

        Fader, Hardie & Shang (2010), eq. (7): alive throughout with x of n, or dropped out
        after opportunity ``i`` (x <= i < n) with x of i.
        """
        alpha, beta, gamma, delta = self._param_array()
        shape = result_shape(n, x)
        n = check_counts("n", n)
        x = check_counts("x", x)
        n, x = np.broadcast_arrays(n, x)
        out = np.zeros(n.shape)
        b_ab, b_gd = _betaln(alpha, beta), _betaln(gamma, delta)
        for idx, (nn, xx) in enumerate(zip(n.ravel(), x.ravel(), strict=True)):
            if xx > nn:
                continue
            i = np.arange(xx, nn, dtype=float)
            logc = _gl(i + 1) - _gl(xx + 1) - _gl(i - xx + 1)
            died = np.exp(
                logc + _betaln(alpha + xx, beta + i - xx) - b_ab + _betaln(gamma + 1, delta + i)
                - b_gd
            )  # fmt: skip
            alive = np.exp(
                _gl(nn + 1) - _gl(xx + 1) - _gl(nn - xx + 1)
                + _betaln(alpha + xx, beta + nn - xx) - b_ab + _betaln(gamma, delta + nn) - b_gd
            )  # fmt: skip
            out.ravel()[idx] = alive + died.sum()
        return shaped(out, shape)
