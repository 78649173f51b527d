"""Simulate customers from the models' own generative processes.

Used for demo data, side-by-side tests against ``lifetimes`` and parameter-recovery tests.
Every function takes a ``numpy.random.Generator`` (``numpy.random.default_rng(seed)``); there
is no global random state.

Time is measured from each customer's first purchase, in whatever unit the parameters are in
(the papers use weeks). ``T`` is the length of each customer's observation window after the
first purchase: a scalar (a cohort acquired on one day) or one value per customer.

The processes
-------------
BG/NBD (Fader, Hardie & Lee 2005): while active, a customer buys as a Poisson process with
rate ``lambda ~ Gamma(r, rate=alpha)``; after each *repeat* purchase she becomes inactive with
probability ``p ~ Beta(a, b)``. Hence the repeat purchases in ``(0, T]`` are the first
``min(N, K)`` arrivals of the Poisson process, where ``N ~ Poisson(lambda T)`` and
``K ~ Geometric(p)`` is the purchase after which she drops out.

Pareto/NBD (Schmittlein, Morrison & Colombo 1987): purchases as above with
``lambda ~ Gamma(r, rate=alpha)``; an exponential lifetime with rate ``mu ~ Gamma(s, rate=beta)``.
The repeat purchases are a Poisson process on ``(0, min(tau, T)]``.

Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; Colombo & Jiang 1999): each
transaction's spend is ``Gamma(p, rate=nu)`` with ``nu ~ Gamma(q, rate=v)`` per customer, so the
population mean spend is ``p v / (q - 1)``.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way:
an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who are
they and what will they do next? Management Science 33(1), 1-24.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves for
customer base analysis. Journal of Marketing Research 42(4), 415-430.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._errors import InputError

__all__ = [
    "bgnbd_purchase_times",
    "bgnbd_summary",
    "gamma_gamma_spend",
    "pnbd_purchase_times",
    "pnbd_summary",
]


def _check_rng(rng: np.random.Generator) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise InputError(
            "rng must be a numpy.random.Generator, e.g. numpy.random.default_rng(42) "
            f"(got {type(rng).__name__})"
        )
    return rng


def _check_positive(**values: float) -> None:
    for name, v in values.items():
        if not (np.isscalar(v) and np.isfinite(v) and v > 0):
            raise InputError(f"{name} must be a positive number, got {v!r}")


def _check_n_T(n: int, T) -> np.ndarray:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise InputError(f"n (the number of customers) must be a non-negative integer, got {n!r}")
    T_arr = np.asarray(T, dtype=float)
    if T_arr.ndim == 0:
        T_arr = np.full(int(n), float(T_arr))
    elif T_arr.shape != (n,):
        raise InputError(
            f"T must be a single number or one value per customer ({n}), got {T_arr.size} values"
        )
    if np.any(~np.isfinite(T_arr)) or np.any(T_arr < 0):
        raise InputError("T (the observation length after the first purchase) must be >= 0")
    return T_arr


def _bgnbd_counts(n, r, alpha, a, b, T, rng):
    """Per customer: Poisson arrivals in (0, T] and the number of them that are purchases."""
    _check_positive(r=r, alpha=alpha, a=a, b=b)
    T = _check_n_T(n, T)
    rng = _check_rng(rng)
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    p = rng.beta(a, b, size=n)
    arrivals = rng.poisson(lam * T)
    # The repeat purchase after which the customer drops out, K ~ Geometric(p) on 1, 2, ...
    # (by inversion, so that a p that underflows to 0 means "never" instead of an overflow).
    with np.errstate(divide="ignore"):
        dropout = np.ceil(np.log(1.0 - rng.random(n)) / np.log1p(-p))
    purchases = np.minimum(arrivals, np.maximum(dropout, 1.0)).astype(np.int64)
    return T, arrivals, purchases


def _pnbd_counts(n, r, alpha, s, beta, T, rng):
    """Per customer: the active window min(tau, T) and the purchases in it."""
    _check_positive(r=r, alpha=alpha, s=s, beta=beta)
    T = _check_n_T(n, T)
    rng = _check_rng(rng)
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    mu = rng.gamma(s, 1.0 / beta, size=n)
    with np.errstate(divide="ignore"):
        tau = rng.exponential(1.0, size=n) / mu  # mu may underflow to 0: lives forever
    window = np.minimum(tau, T)
    return T, window, rng.poisson(lam * window)


def _first_k_uniform_order_stats(k, m, length, rng) -> list[np.ndarray]:
    """For each customer, the k smallest of m uniform points on (0, length], sorted."""
    total = int(m.sum())
    owner = np.repeat(np.arange(m.size), m)
    points = rng.random(total) * np.repeat(length, m)
    order = np.lexsort((points, owner))
    points = points[order]
    starts = np.concatenate(([0], np.cumsum(m)[:-1])) if m.size else m
    return [points[s : s + kk] for s, kk in zip(starts, k, strict=True)]


def _summary(T, frequency, recency) -> pd.DataFrame:
    df = pd.DataFrame(
        {"frequency": frequency.astype(float), "recency": recency, "T": T.astype(float)}
    )
    df.index.name = "customer_id"
    return df


def bgnbd_purchase_times(n, r, alpha, a, b, T, rng) -> list[np.ndarray]:
    """Simulate the repeat-purchase times of ``n`` BG/NBD customers.

    Parameters
    ----------
    n : int
        Number of customers.
    r, alpha, a, b : float
        BG/NBD parameters (``alpha`` in the time unit of ``T``).
    T : float or array of length n
        Observation length after each customer's first purchase.
    rng : numpy.random.Generator

    Returns
    -------
    list of numpy arrays
        For each customer, the sorted times (after the first purchase at time 0) of her repeat
        purchases in ``(0, T]``.
    """
    T, arrivals, purchases = _bgnbd_counts(n, r, alpha, a, b, T, rng)
    return _first_k_uniform_order_stats(purchases, arrivals, T, rng)


def bgnbd_summary(n, r, alpha, a, b, T, rng) -> pd.DataFrame:
    """Simulate the RFM summary (frequency, recency, T) of ``n`` BG/NBD customers.

    Same process as :func:`bgnbd_purchase_times` without materialising the purchases:
    the recency is the ``x``-th of ``N`` uniform arrival times, ``T * Beta(x, N - x + 1)``.
    Fast enough for millions of customers.

    Returns
    -------
    pandas.DataFrame
        Columns ``frequency``, ``recency``, ``T`` (floats), index ``customer_id`` 0..n-1.
    """
    T, arrivals, x = _bgnbd_counts(n, r, alpha, a, b, T, rng)
    bought = x > 0
    recency = np.zeros(T.size)
    recency[bought] = T[bought] * rng.beta(x[bought], arrivals[bought] - x[bought] + 1)
    return _summary(T, x, recency)


def pnbd_purchase_times(n, r, alpha, s, beta, T, rng) -> list[np.ndarray]:
    """Simulate the repeat-purchase times of ``n`` Pareto/NBD customers.

    Parameters
    ----------
    n : int
        Number of customers.
    r, alpha, s, beta : float
        Pareto/NBD parameters (``alpha`` and ``beta`` in the time unit of ``T``).
    T : float or array of length n
        Observation length after each customer's first purchase.
    rng : numpy.random.Generator

    Returns
    -------
    list of numpy arrays
        For each customer, the sorted times of her repeat purchases in ``(0, T]``.
    """
    T, window, x = _pnbd_counts(n, r, alpha, s, beta, T, rng)
    return _first_k_uniform_order_stats(x, x, window, rng)


def pnbd_summary(n, r, alpha, s, beta, T, rng) -> pd.DataFrame:
    """Simulate the RFM summary (frequency, recency, T) of ``n`` Pareto/NBD customers.

    The recency is the last of ``x`` uniform times on the active window ``w = min(tau, T)``,
    i.e. ``w * U ** (1 / x)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``frequency``, ``recency``, ``T`` (floats), index ``customer_id`` 0..n-1.
    """
    T, window, x = _pnbd_counts(n, r, alpha, s, beta, T, rng)
    bought = x > 0
    recency = np.zeros(T.size)
    recency[bought] = window[bought] * rng.random(int(bought.sum())) ** (1.0 / x[bought])
    return _summary(T, x, recency)


def gamma_gamma_spend(frequency, p, q, v, rng, *, per_transaction=False):
    """Simulate spends under the Gamma-Gamma model.

    Parameters
    ----------
    frequency : array of non-negative integers
        Number of (repeat) transactions per customer.
    p, q, v : float
        Gamma-Gamma parameters (``v`` is the paper's gamma); each transaction's spend is
        ``Gamma(p, rate=nu)``, ``nu ~ Gamma(q, rate=v)`` per customer.
    rng : numpy.random.Generator
    per_transaction : bool, default False
        False: return each customer's mean spend over her ``frequency`` transactions (0 when
        she has none, the RFM-summary convention). True: return, for each customer, the array
        of her individual transaction spends.

    Returns
    -------
    numpy array of per-customer mean spends, or a list of arrays (``per_transaction=True``).
    """
    _check_positive(p=p, q=q, v=v)
    rng = _check_rng(rng)
    x = np.asarray(frequency, dtype=float).ravel()
    if np.any(~np.isfinite(x)) or np.any(x < 0) or np.any(x != np.round(x)):
        raise InputError("frequency must hold non-negative whole numbers (transaction counts)")
    x = x.astype(np.int64)
    nu = rng.gamma(q, 1.0 / v, size=x.size)
    if per_transaction:
        spends = rng.gamma(p, 1.0, size=int(x.sum())) / np.repeat(nu, x)
        return np.split(spends, np.cumsum(x)[:-1]) if x.size else []
    # The sum of x independent Gamma(p, rate nu) spends is Gamma(p x, rate nu).
    mean = np.zeros(x.size)
    some = x > 0
    mean[some] = rng.gamma(p * x[some], 1.0) / nu[some] / x[some]
    return mean
