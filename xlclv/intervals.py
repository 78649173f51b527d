"""Ranges of predictive CLV from the uncertainty in the fitted model parameters.

A fitted model's parameters are estimates. Their maximum-likelihood estimates are
asymptotically normal on the log scale (the scale the models are fitted on), with the inverse
Hessian of the negative log-likelihood as covariance (``model.log_covariance_``, the matrix
behind ``standard_errors_``). :func:`clv_interval` draws parameter sets from that normal for
the purchase model and the spend model (independently: they are fitted separately), recomputes
the closed-form CLV of :func:`xlclv.valuation.customer_lifetime_value` for every draw, and
reports quantiles across the draws:

* per customer, the quantiles of her CLV;
* for the whole base (and for any grouping, e.g. segments), the quantiles of the per-draw
  *totals*. The range of a total is not the sum of the customers' ranges: the customers'
  values move together with the parameters.

The range reflects the uncertainty in the fitted parameters, **not** the randomness of the
future purchases of one customer: with many customers in the fit the range of one customer's
expected CLV can be narrow although what she will actually spend is very uncertain.

How it is computed (the same arithmetic as ``customer_lifetime_value``): for the supported
purchase models the conditional expected purchases factor as
``E[Y(t) | x, t_x, T] = P(alive | x, t_x, T) * G(t; x, T)``, so the discounted monthly sum
``H(x, T) = sum_m (G(m u) - G((m-1) u)) / (1 + i) ** m`` is computed once per distinct
``(x, T)`` and draw, ``P(alive)`` once per distinct ``(x, t_x, T)`` and draw, and the
Gamma-Gamma expected spend ``(v + x mbar) p / (p x + q - 1)`` is linear in ``mbar``. Customers
are compressed to distinct ``(x, t_x, T, mbar)`` rows and processed in chunks, so memory stays
at (draws x chunk) numbers.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves for
customer base analysis. Journal of Marketing Research 42(4), 415-430.
Krinsky, I. & Robb, A. L. (1986). On approximating the statistical properties of elasticities.
Review of Economics and Statistics 68(4), 715-719 (drawing parameters from their asymptotic
distribution).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, special

from ._errors import FitError, InputError
from ._timeunits import annual_to_monthly_rate, check_time_unit, units_per_month
from .models import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)
from .models import beta_geo as _bg
from .models import beta_geo_beta_binom as _bgbb
from .models import modified_beta_geo as _mbg
from .models import pareto_nbd as _pnbd
from .models._base import validate_rfm
from .valuation import _check_horizon, _monetary, _month_ends, _number

__all__ = ["CLVInterval", "clv_group_interval", "clv_interval"]

# Numbers per array of a chunk of customers (rows x draws): 8 MB of float64, small enough
# for the allocator to reuse its memory (fresh pages for every chunk cost more than the maths).
_CHUNK_CELLS = 1_000_000
# Worker threads over chunks of customers (numpy's arithmetic and partition release the GIL).
_THREADS = min(
    4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
)


@dataclass(frozen=True)
class CLVInterval:
    """The result of :func:`clv_interval`.

    Attributes
    ----------
    customers : pandas.DataFrame or None
        One row per customer (input order; the index of ``frequency`` if it is a Series):
        ``clv`` at the fitted parameters, then one column per quantile (``p10``, ``p50``,
        ``p90`` for the default quantiles). None with ``per_customer=False``.
    total : pandas.Series
        ``clv`` (the total at the fitted parameters) and the quantiles of the per-draw totals.
    groups : pandas.DataFrame or None
        With ``groups``: one row per group, columns ``customers``, ``clv`` and the quantiles
        of the per-draw group totals.
    total_draws : numpy.ndarray
        The total CLV of every draw (length ``n_draws``).
    purchase_draws, spend_draws : pandas.DataFrame
        The parameter draws, one row per draw, one column per parameter.
    """

    customers: pd.DataFrame | None
    total: pd.Series
    groups: pd.DataFrame | None
    total_draws: np.ndarray
    purchase_draws: pd.DataFrame
    spend_draws: pd.DataFrame

    @property
    def n_draws(self) -> int:
        return int(self.total_draws.size)


# -- purchase models: P(alive) and the discounted growth H per draw ----------------------------
def _bg_like_p_alive(theta, x, tx, T, shift: float, lone_alive: bool) -> np.ndarray:
    """P(alive) = 1 / (1 + a / (b + x + shift) ((alpha+T) / (alpha+t_x))^(r+x)), (rows, K).

    BG/NBD (Fader, Hardie & Lee 2008, eq. 1): shift -1 and P(alive) = 1 without repeat
    purchase (``lone_alive``); MBG/NBD (Batislam et al. 2007): shift 0. The logarithms are
    taken once per distinct (T, t_x) and x and draw (small tables), then gathered.
    """
    r, alpha, a, b = theta.T
    pair, ip = _factorize(T, tx)
    ux, ix = np.unique(x, return_inverse=True)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # log((alpha+T) / (alpha+t_x)) per distinct (T, t_x) and draw
        ratio = np.log(alpha[None, :] + T[pair, None]) - np.log(alpha[None, :] + tx[pair, None])
        lb = np.log(a)[None, :] - np.log(b[None, :] + ux[:, None] + shift)
        w = np.take(ratio, ip, axis=0)
        w *= r[None, :] + x[:, None]
        w += np.take(lb, ix, axis=0)
        np.exp(w, out=w)  # odds of "inactive"
        w += 1.0
        np.reciprocal(w, out=w)
    if lone_alive:
        w[x == 0] = 1.0
    return w


def _distinct(p_alive):
    """Evaluate a draw-by-draw P(alive) once per distinct (x, t_x, T) of the rows: the rows
    of a chunk differ in mean spend or group too (``per_draw`` kinds get their rows sorted by
    history, so a chunk holds few distinct histories)."""

    def once(theta, x, tx, T):
        rep, inverse = _factorize(x, tx, T)
        if rep.size == x.size:
            return p_alive(theta, x, tx, T)
        return np.take(p_alive(theta, x[rep], tx[rep], T[rep]), inverse, axis=0)

    return once


class _BetaGeo:
    """BG/NBD: E = P(alive) * _one_minus_scaled_2f1(a, b, r, x, t / (alpha + T + t))."""

    names = ("r", "alpha", "a", "b")
    per_draw = True

    @staticmethod
    @_distinct
    def p_alive(theta, x, tx, T):  # theta: (K, 4) -> (rows, K)
        return _bg_like_p_alive(theta, x, tx, T, -1.0, lone_alive=True)

    @staticmethod
    def growth(th, x, T, t):  # one draw; x, T: (n, 1); t: (M,) -> cumulative (n, M)
        r, alpha, a, b = th
        return _bg._one_minus_scaled_2f1(a, b, r, x, t / (alpha + T + t))


class _ModifiedBetaGeo(_BetaGeo):
    """MBG/NBD: as the BG/NBD with b + 1 given alive, and its own P(alive)."""

    @staticmethod
    @_distinct
    def p_alive(theta, x, tx, T):
        return _bg_like_p_alive(theta, x, tx, T, 0.0, lone_alive=False)

    @staticmethod
    def growth(th, x, T, t):
        r, alpha, a, b = th
        return _mbg._mean_if_alive(x, T, t, r, alpha, a, b)


class _ParetoNBD:
    """Pareto/NBD: E = P(alive) (r+x)(beta+T)/(alpha+T) * power_ratio(s, log1p(t/(beta+T)))."""

    names = ("r", "alpha", "s", "beta")
    per_draw = True

    @staticmethod
    @_distinct
    def p_alive(theta, x, tx, T):
        # P(alive) needs a 2F1 per customer whose branch depends on alpha >= beta: one draw at
        # a time (the cost grows with distinct (x, t_x, T) rows times draws).
        out = np.empty((x.size, theta.shape[0]))
        for k, (r, alpha, s, beta) in enumerate(theta):
            log_odds = (
                np.log(s)
                + _pnbd._log_integral(r, alpha, s, beta, x, tx, T)
                + (r + x) * np.log(alpha + T)
                + s * np.log(beta + T)
            )
            out[:, k] = special.expit(-log_odds)
        return out

    @staticmethod
    def growth(th, x, T, t):
        r, alpha, s, beta = th
        return (r + x) * (beta + T) / (alpha + T) * _pnbd._power_ratio(s, np.log1p(t / (beta + T)))


class _BetaGeoBetaBinom:
    """BG/BB (Fader, Hardie & Shang 2010, eq. 13): E[X(n, n + m) | x, t_x, n] =
    B(alpha+x+1, beta+n-x) / B(alpha, beta) / L(x, t_x, n) * sum_{j=1}^{m} B(gamma,
    delta+n+j) / B(gamma, delta): a factor of the history (in place of P(alive)) times a
    growth in the whole opportunities ``m = floor(t)`` passed, ``t`` in opportunities."""

    names = ("alpha", "beta", "gamma", "delta")
    per_draw = True

    @staticmethod
    @_distinct
    def p_alive(theta, x, tx, T):
        out = np.empty((x.size, theta.shape[0]))
        for k, params in enumerate(theta):
            alpha, beta = params[0], params[1]
            out[:, k] = np.exp(
                _bgbb._betaln(alpha + x + 1.0, beta + T - x)
                - _bgbb._betaln(alpha, beta)
                - _bgbb._log_likelihood_rows(params, x, tx, T)
            )
        return out

    @staticmethod
    def growth(th, x, T, t):
        gamma, delta = th[2], th[3]
        # whole opportunities passed (t is a whole number at the opportunity's month end)
        return _bgbb._future_survival_sum(gamma, delta, T, np.floor(t + 1e-9))


def _purchase_kind(model):
    kinds = {
        BetaGeoBetaBinomModel: _BetaGeoBetaBinom,
        ModifiedBetaGeoModel: _ModifiedBetaGeo,
        BetaGeoModel: _BetaGeo,
        ParetoNBDModel: _ParetoNBD,
    }
    for cls, kind in kinds.items():
        if isinstance(model, cls):
            return kind
    raise InputError(
        "clv_interval supports BetaGeoModel, ModifiedBetaGeoModel, ParetoNBDModel and "
        f"BetaGeoBetaBinomModel purchase models, got {type(model).__name__}"
    )


# -- drawing parameters ------------------------------------------------------------------------
def _draws(model, role: str, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """``n_draws`` parameter sets from the asymptotic normal of the log-parameters."""
    params = model._param_array()  # NotFittedError if not fitted
    cov = model.log_covariance_.to_numpy()
    name = type(model).__name__
    if not np.all(np.isfinite(cov)):
        raise FitError(
            f"The {role} model ({name}) has no parameter covariance, so the uncertainty of its "
            "parameters is unknown: it was not fitted to data (parameters set with set_params) "
            "or its fit has no clear maximum (see its fit_message_). Refit it on the data."
        )
    if not getattr(model, "converged_", False):
        raise FitError(
            f"The {role} model ({name}) did not converge ({model.fit_message_}); a range "
            "around its estimates would be meaningless."
        )
    try:
        chol = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise FitError(
            f"The parameter covariance of the {role} model ({name}) is numerically singular: "
            "its parameters are not all identified by the data. Refit it on more customers."
        ) from None
    z = rng.standard_normal((n_draws, params.size))
    return np.exp(np.log(params) + z @ chol.T)


# -- compression -------------------------------------------------------------------------------
def _factorize(*cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the first row of each distinct combination, and each row's combination."""
    key = np.zeros(cols[0].size, dtype=np.int64)
    for c in cols:
        codes, uniq = pd.factorize(c)
        key, _ = pd.factorize(key * max(len(uniq), 1) + codes)  # key < rows: no overflow
        key = key.astype(np.int64)
    group, firsts = pd.factorize(key)
    rep = np.empty(len(firsts), dtype=np.int64)
    rep[group] = np.arange(cols[0].size)
    return rep, group.astype(np.int64)


def _order_statistics(
    a: np.ndarray, ks: list[int], nexts: set[int], offset=0, after=None, out=None
):
    """The ``k``-th smallest value of each row of ``a`` for each ``k`` in sorted ``ks``, and
    the ``(k+1)``-th for each ``k`` in ``nexts``.

    Partitions at the middle ``k`` and recurses into the two sides (a few single-``k``
    partitions are much faster than numpy's multi-``kth`` partition of whole rows); the
    ``(k+1)``-th value is the minimum of the side above ``k``, or, when that side is empty,
    ``after``: the value just above the segment (its parent's pivot).
    """
    out = {} if out is None else out
    if ks:
        mid = ks[len(ks) // 2]
        at = mid - offset
        part = np.partition(a, at, axis=1)
        out[mid] = part[:, at].copy()
        if mid in nexts:
            out[mid + 1] = part[:, at + 1 :].min(axis=1) if at + 1 < part.shape[1] else after
        below, above = [k for k in ks if k < mid], [k for k in ks if k > mid]
        _order_statistics(part[:, :at], below, nexts, offset, out[mid], out)
        _order_statistics(part[:, at + 1 :], above, nexts, mid + 1, after, out)
    return out


def _discounted_growth(kind, theta, x, T, ends, per_month, monthly) -> np.ndarray:
    """H[j, k] = sum over months of the clipped growth increments, discounted (rows, K);
    ``per_month``: the model's time units (or opportunities) in a month."""
    t = ends * per_month
    disc = (1.0 + monthly) ** -ends
    out = np.zeros((x.size, theta.shape[0]))
    if ends.size == 0:
        return out
    xc, Tc = x[:, None], T[:, None]

    def work(ks: range) -> None:
        for k in ks:
            cum = np.broadcast_to(kind.growth(theta[k], xc, Tc, t[None, :]), (x.size, t.size))
            # E[X(t)] is non-decreasing in t; clip round-off as valuation does.
            cum = np.maximum.accumulate(np.maximum(cum, 0.0), axis=1)
            out[:, k] = np.diff(cum, axis=1, prepend=0.0) @ disc

    blocks = [range(i, theta.shape[0], _THREADS) for i in range(_THREADS)]
    if _THREADS > 1 and theta.shape[0] > 1:  # scipy's special functions release the GIL
        with ThreadPoolExecutor(_THREADS) as pool:
            list(pool.map(work, blocks))
    else:
        work(range(theta.shape[0]))
    return out


def _spend_coefficients(theta, x) -> tuple[np.ndarray, np.ndarray]:
    """Gamma-Gamma E[spend | x, mbar] = A + B mbar with A = v p / (p x + q - 1) and
    B = x p / (p x + q - 1) (Fader & Hardie 2013, eq. 5); (K, rows) each."""
    p, q, v = (theta[:, i][:, None] for i in range(3))
    denom = p * x[None, :] + q - 1.0
    bad = denom <= 0
    if bad.any():
        share = float(np.mean(bad.any(axis=1)))
        raise FitError(
            f"In {share:.1%} of the parameter draws the Gamma-Gamma q is so small that the "
            "expected spend of customers with few or no repeat purchases is infinite "
            "(p x + q <= 1): the spend model is too uncertain for a range. Fit it on more "
            "repeat buyers, or value the customers with repeat purchases only."
        )
    return v * p / denom, x[None, :] * p / denom


def _per_month(kind, unit: str, months_per_period) -> float:
    """Time units a month (opportunities a month for BG/BB, from ``months_per_period``)."""
    if kind is not _BetaGeoBetaBinom:
        if months_per_period is not None:
            raise InputError("months_per_period is for the BG/BB model only; use time_unit")
        return units_per_month(unit)
    months = _number("months_per_period", months_per_period) if months_per_period else 0.0
    if not (months >= 1 and months == round(months)):
        raise InputError(
            "A BG/BB range needs months_per_period, the whole months between two "
            f"opportunities (12 for yearly, 3 for quarterly), got {months_per_period!r}"
        )
    return 1.0 / months


def _weights(weights, n: int) -> np.ndarray | None:
    """The customers each row stands for: finite, 0 or more, one per row (None: 1 each)."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=float).reshape(-1)
    if w.size != n:
        raise InputError(f"weights must have one number per customer row: got {w.size} for {n}")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"weights must be customer counts (0 or more), got {w[i]!r} at position {i}"
        )
    return w


# -- the public functions ----------------------------------------------------------------------
def clv_interval(
    purchase_model,
    spend_model,
    frequency,
    recency,
    T,
    monetary_value,
    *,
    gross_margin: float = 1.0,
    horizon_months: float = 12,
    annual_discount_rate: float = 0.1,
    time_unit: str = "W",
    months_per_period: float | None = None,
    n_draws: int = 1000,
    quantiles=(0.1, 0.5, 0.9),
    seed=None,
    groups=None,
    per_customer=True,
    weights=None,
) -> CLVInterval:
    """Predictive CLV with ranges from the uncertainty in the fitted parameters.

    Draws ``n_draws`` parameter sets of each model from the asymptotic normal distribution
    of its log-parameters (mean: the estimates; covariance: ``model.log_covariance_``, the
    inverse Hessian of the fit), recomputes the CLV of
    :func:`xlclv.valuation.customer_lifetime_value` for every draw, and returns its
    quantiles per customer, for the total and, with ``groups``, for each group's total.

    The range reflects the uncertainty in the fitted parameters, not the randomness of the
    future purchases of one customer: it answers "how sure are we of the expected value?",
    not "how much could this customer spend?". The total's range is the quantile of the
    per-draw totals (not the sum of the customers' quantiles, which would be far too wide).

    Parameters
    ----------
    purchase_model
        A fitted :class:`~xlclv.models.BetaGeoModel`,
        :class:`~xlclv.models.ModifiedBetaGeoModel` or :class:`~xlclv.models.ParetoNBDModel`
        (fitted on data in ``time_unit``), or a :class:`~xlclv.models.BetaGeoBetaBinomModel`
        (with ``months_per_period``). The Pareto/NBD is slower: its P(alive) needs a
        hypergeometric function per distinct (frequency, recency, T) row and draw.
    spend_model
        A fitted :class:`~xlclv.models.GammaGammaModel`.
    frequency, recency, T, monetary_value : array-like
        The RFM summary, one value per customer; recency and T in ``time_unit``.
    gross_margin, horizon_months, annual_discount_rate, time_unit
        As in :func:`~xlclv.valuation.customer_lifetime_value`.
    months_per_period : int, optional
        BG/BB only (and required there): the months between two opportunities (12 for
        yearly). ``recency`` and ``T`` are then opportunities (``T``: those observed after
        the first purchase) and the CLV adds, for each opportunity ``j`` within
        ``horizon_months``, its expected transactions times the expected spend, discounted
        ``j * months_per_period`` months (Fader, Hardie & Shang 2010, eq. 13); ``time_unit``
        is not used.
    n_draws : int, default 1000
        Parameter draws (at least 1,000 recommended for 10 % / 90 % quantiles).
    quantiles : sequence of float, default (0.1, 0.5, 0.9)
        Quantiles to report, each strictly between 0 and 1; columns ``p10`` etc.
    seed : int, numpy.random.Generator or None
        Seed of the draws (``numpy.random.default_rng(seed)``); no global random state.
    groups : array-like, optional
        A label per customer (e.g. a segment): adds the ranges of each group's total.
    per_customer : bool or array of bool, default True
        False skips the per-customer quantiles (faster when only totals are needed); an
        array with one flag per customer computes them for the flagged customers only
        (``customers`` then has their rows, in input order, indexed by position or by the
        labels of ``frequency``).
    weights : array-like, optional
        The number of customers each row stands for (default 1 each), for data compressed
        to one row per distinct ``(frequency, recency, T)`` (and group) with
        ``monetary_value`` the mean of its customers' mean spends: the totals and group
        totals are then those of the customers. Exact, because a customer's CLV is linear
        in her mean spend given the rest of her history (the Gamma-Gamma conditional
        expectation, Fader, Hardie & Lee 2005, eq. 5): ``n`` customers with mean spends
        ``m_1..m_n`` add up to ``n`` times the value at their average. The per-customer
        quantiles are those of each row (its average customer).

    Returns
    -------
    CLVInterval

    Raises
    ------
    InputError
        For bad settings or customer data (as ``customer_lifetime_value``), or an
        unsupported model.
    FitError
        When a model has no usable covariance (not fitted to data, or not converged), or the
        spend model is so uncertain that some draws give an infinite expected spend.

    Examples
    --------
    >>> from xlclv.datasets import load_cdnow_summary_with_monetary
    >>> from xlclv.models import BetaGeoModel, GammaGammaModel
    >>> d = load_cdnow_summary_with_monetary()
    >>> bg = BetaGeoModel().fit(d["frequency"], d["recency"], d["T"])
    >>> gg = GammaGammaModel().fit(d["frequency"], d["monetary_value"])
    >>> r = clv_interval(bg, gg, d["frequency"], d["recency"], d["T"], d["monetary_value"],
    ...                  gross_margin=0.3, seed=42)
    >>> r.total.round(-2).to_dict()  # 12 months, 30 % margin: $21,700 (P10-P90 20,400-23,300)
    {'clv': 21700.0, 'p10': 20400.0, 'p50': 21800.0, 'p90': 23300.0}

    References
    ----------
    Fader, Hardie & Lee (2005), RFM and CLV: using iso-value curves for customer base
    analysis; Krinsky & Robb (1986) for drawing from the parameters' asymptotic distribution.
    """
    kind = _purchase_kind(purchase_model)
    if not isinstance(spend_model, GammaGammaModel):
        raise InputError(
            f"clv_interval needs a GammaGammaModel spend model, got {type(spend_model).__name__}"
        )
    unit = check_time_unit(time_unit)
    per_month = _per_month(kind, unit, months_per_period)
    margin = _number("gross_margin", gross_margin)
    if not 0 <= margin <= 1:
        raise InputError(
            f"gross_margin must be a share between 0 and 1 (e.g. 0.3 for 30 %), got {margin:g}"
        )
    ends = _month_ends(_check_horizon(horizon_months))
    annual = _number("annual_discount_rate", annual_discount_rate)
    if annual < 0:
        raise InputError(
            f"annual_discount_rate must be 0 or more (e.g. 0.1 for 10 % a year), got {annual:g}"
        )
    monthly = annual_to_monthly_rate(annual)
    if isinstance(n_draws, bool) or not isinstance(n_draws, int | np.integer) or n_draws < 2:
        raise InputError(f"n_draws must be a whole number of draws, 2 or more, got {n_draws!r}")
    qs = np.atleast_1d(np.asarray(quantiles, dtype=float)).ravel()
    if qs.size == 0 or np.any(~np.isfinite(qs)) or np.any((qs <= 0) | (qs >= 1)):
        raise InputError(f"quantiles must be numbers strictly between 0 and 1, got {quantiles!r}")
    qnames = [f"p{100 * q:g}" for q in qs]
    if len(set(qnames)) < len(qnames):
        raise InputError(f"quantiles must be distinct, got {quantiles!r}")

    if kind is _BetaGeoBetaBinom:
        x, tx, TT, _ = _bgbb.validate_xtn(frequency, recency, T)
    else:
        x, tx, TT, _ = validate_rfm(frequency, recency, T)
    m = _monetary(monetary_value, x)
    spend_model.expected_spend(x, m)  # the spend model's own checks of monetary_value
    m = np.where(x > 0, m, 0.0)  # ignored for customers without repeat purchases
    if groups is not None:
        labels = groups.to_numpy() if isinstance(groups, pd.Series) else np.asarray(groups)
        if labels.ndim != 1 or labels.size != x.size:
            raise InputError(
                f"groups must have one label per customer: got {labels.size} labels for "
                f"{x.size} customers"
            )
        gcodes, glabels = pd.factorize(labels, use_na_sentinel=False)
    else:
        gcodes, glabels = np.zeros(x.size, dtype=np.int64), None
    w = _weights(weights, x.size)
    if isinstance(per_customer, bool | np.bool_):
        mask = None if per_customer else np.zeros(x.size, dtype=bool)
    else:
        mask = np.asarray(per_customer)
        if mask.dtype != bool or mask.shape != x.shape:
            raise InputError(
                "per_customer must be True, False or one True/False per customer row, got "
                f"{mask.size} values of type {mask.dtype} for {x.size} rows"
            )

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    p_draws = _draws(purchase_model, "purchase", int(n_draws), rng)
    s_draws = _draws(spend_model, "spend", int(n_draws), rng)
    # Column 0 is the fitted parameters: the point estimate goes through the same arithmetic.
    p_theta = np.vstack([purchase_model._param_array(), p_draws])
    s_theta = np.vstack([spend_model._param_array(), s_draws])

    # Distinct customers, and the distinct (x, T) and x among them.
    rep, row_of = _factorize(x, tx, TT, m, gcodes)
    if getattr(kind, "per_draw", False):  # rows of one history side by side (see _distinct)
        order = np.lexsort((TT[rep], tx[rep], x[rep]))
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        rep, row_of = rep[order], rank[row_of]
    ux, utx, uT, um, ug = x[rep], tx[rep], TT[rep], m[rep], gcodes[rep]
    count = np.bincount(row_of, weights=w, minlength=rep.size).astype(float)
    xT_rep, xT_of = _factorize(ux, uT)
    x_rep, x_of = _factorize(ux)
    H = _discounted_growth(kind, p_theta, ux[xT_rep], uT[xT_rep], ends, per_month, monthly)
    A, B = _spend_coefficients(s_theta, ux[x_rep])
    # CLV = P(alive) * (HA + HB * mbar), with HA, HB per distinct (x, T) and draw.
    x_of_xT = x_of[xT_rep]
    HA = np.multiply(np.take(A, x_of_xT, axis=1).T, margin, order="C")  # (x, T) rows x draws
    HA *= H
    HB = H  # in place: at most three (distinct (x, T) x draws) arrays at once
    HB *= np.take(B, x_of_xT, axis=1).T
    HB *= margin
    del H

    K1 = p_theta.shape[0]
    n_groups = 1 if glabels is None else len(glabels)
    want = None
    if mask is not None:  # the distinct rows whose quantiles are wanted
        want = np.zeros(rep.size, dtype=bool)
        want[row_of[mask]] = True
    quantify = want is None or bool(want.any())
    row_q = np.full((rep.size, qs.size), np.nan) if quantify else None
    row_point = np.empty(rep.size)
    chunk = max(1, _CHUNK_CELLS // K1)
    # The draws' order statistics that the quantiles interpolate between (numpy's "linear").
    pos = qs * (K1 - 2)
    lo_k, hi_k = np.floor(pos).astype(int), np.ceil(pos).astype(int)
    kth = np.unique(lo_k).tolist()
    nexts = set(lo_k[hi_k > lo_k].tolist())

    def work(lo: int) -> np.ndarray:
        sl = slice(lo, min(lo + chunk, rep.size))
        clv = kind.p_alive(p_theta, ux[sl], utx[sl], uT[sl])  # (rows, K + 1)
        j = xT_of[sl]
        spend = np.take(HB, j, axis=0)
        spend *= um[sl, None]
        spend += np.take(HA, j, axis=0)
        clv *= spend
        del spend
        row_point[sl] = clv[:, 0]
        onehot = sparse.csr_matrix(
            (count[sl], (ug[sl], np.arange(clv.shape[0]))), shape=(n_groups, clv.shape[0])
        )
        part = onehot @ clv
        rows = sl if want is None else lo + np.flatnonzero(want[sl])
        if quantify and (want is None or rows.size):
            draws = clv[:, 1:] if want is None else clv[rows - lo, 1:]
            stats = _order_statistics(draws, kth, nexts)
            frac = pos - lo_k
            row_q[rows] = np.column_stack(
                [
                    stats[a] * (1.0 - f) + stats[b] * f
                    for a, b, f in zip(lo_k, hi_k, frac, strict=True)
                ]
            )
        return part

    starts = range(0, rep.size, chunk)
    if len(starts) > 1 and _THREADS > 1:  # numpy releases the GIL in this arithmetic
        with ThreadPoolExecutor(_THREADS) as pool:
            parts = list(pool.map(work, starts))
    else:
        parts = [work(lo) for lo in starts]
    group_totals = np.sum(parts, axis=0)  # in chunk order: deterministic

    totals = group_totals.sum(axis=0)
    total = pd.Series(
        [totals[0], *np.quantile(totals[1:], qs)], index=["clv", *qnames], name="total"
    )
    customers = None
    if mask is None:
        index = frequency.index if isinstance(frequency, pd.Series) else None
        customers = pd.DataFrame(
            np.column_stack([row_point[row_of], row_q[row_of]]),
            columns=["clv", *qnames],
            index=index,
        )
    elif mask.any():
        at = np.flatnonzero(mask)
        index = frequency.index[at] if isinstance(frequency, pd.Series) else at
        customers = pd.DataFrame(
            np.column_stack([row_point[row_of[at]], row_q[row_of[at]]]),
            columns=["clv", *qnames],
            index=index,
        )
    group_frame = None
    if glabels is not None:
        group_frame = pd.DataFrame(
            np.column_stack(
                [
                    np.bincount(gcodes, weights=w, minlength=n_groups),
                    group_totals[:, 0],
                    np.quantile(group_totals[:, 1:], qs, axis=1).T,
                ]
            ),
            columns=["customers", "clv", *qnames],
            index=pd.Index(glabels, name=getattr(groups, "name", None) or "group"),
        )
        if w is None or np.all(w == np.round(w)):  # whole counts stay whole
            group_frame["customers"] = group_frame["customers"].astype(np.int64)
    return CLVInterval(
        customers=customers,
        total=total,
        groups=group_frame,
        total_draws=totals[1:],
        purchase_draws=pd.DataFrame(p_draws, columns=list(kind.names)),
        spend_draws=pd.DataFrame(s_draws, columns=["p", "q", "v"]),
    )


def clv_group_interval(
    purchase_model, spend_model, frequency, recency, T, monetary_value, groups, **settings
) -> pd.DataFrame:
    """Ranges of the total CLV of each group (e.g. segment) from parameter uncertainty.

    :func:`clv_interval` with ``groups`` and without the per-customer quantiles; same
    keyword settings (``gross_margin``, ``horizon_months``, ``annual_discount_rate``,
    ``time_unit``, ``n_draws``, ``quantiles``, ``seed``). Each group's range is the quantile
    of its per-draw totals; the range reflects uncertainty in the fitted parameters, not in
    the future purchases of individual customers.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``customers``, ``clv`` (at the fitted parameters) and the
        quantiles (``p10``, ``p50``, ``p90`` by default).
    """
    result = clv_interval(
        purchase_model, spend_model, frequency, recency, T, monetary_value,
        groups=groups, per_customer=False, **settings,
    )  # fmt: skip
    return result.groups
