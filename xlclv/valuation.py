"""Per-customer predictive CLV: expected purchases x expected spend x margin, discounted.

The user thinks in calendar months and yearly discount rates; the models count time in their
own unit (D, W or M). Every conversion happens here, explicitly, through
:mod:`xlclv._timeunits`:

* a month is ``units_per_month(time_unit)`` model units (30.4375 days: 4.348 weeks, not the
  4.345 or 30 days that lifetimes uses);
* the monthly discount rate is ``(1 + annual rate) ** (1 / 12) - 1``, so twelve monthly
  discounts make exactly one annual one.

For month ``m = 1 .. horizon_months`` the expected purchases in that month are
``E[X(m u)] - E[X((m - 1) u)]`` with ``E[X(t)]`` the model's conditional expected purchases in
the next ``t`` units after the end of observation (``u`` = units per month); they are valued
at the expected spend per purchase times the gross margin and discounted by
``(1 + monthly rate) ** m`` (cash at the end of each month). A fractional horizon's last step
is a partial month, discounted at its end.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._errors import InputError
from ._timeunits import annual_to_monthly_rate, check_time_unit, units_per_month
from .models._base import validate_rfm

__all__ = ["customer_lifetime_value", "expected_purchases_by_month"]


def _number(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    return v


def _check_horizon(horizon_months) -> float:
    h = _number("horizon_months", horizon_months)
    if h < 0:
        raise InputError(f"horizon_months must be 0 or more months, got {h:g}")
    if h > 12 * 200:
        raise InputError(f"horizon_months must be at most 2400 (200 years), got {h:g}")
    return h


def _month_ends(horizon: float) -> np.ndarray:
    """End of each monthly step in months: 1, 2, ..., with a partial last step."""
    n = math.ceil(horizon - 1e-12) if horizon > 0 else 0
    return np.minimum(np.arange(1, n + 1, dtype=float), horizon)


def _distinct_rfm(x, tx, T) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (x, t_x, T) rows and, for each customer, the index of her row.

    Predictions depend on the RFM summary only, and real customer bases repeat the same
    summaries many times: each distinct one is evaluated once.
    """
    key = np.zeros(x.size, dtype=np.int64)
    for c in (x, tx, T):
        codes, uniq = pd.factorize(c)
        # key < x.size before and after: key * len(uniq) + codes cannot overflow int64.
        key, _ = pd.factorize(key * max(len(uniq), 1) + codes)
        key = key.astype(np.int64)
    group, firsts = pd.factorize(key)
    rep = np.empty(len(firsts), dtype=np.int64)
    rep[group] = np.arange(x.size)
    return x[rep], tx[rep], T[rep], group


def _monthly_increments(purchase_model, ends: np.ndarray, unit: str, x, tx, T):
    """Yield (month end, expected purchases in that step) for each monthly step."""
    u = units_per_month(unit)
    previous = np.zeros(x.size)
    for end in ends:
        cumulative = np.asarray(
            purchase_model.expected_purchases(end * u, x, tx, T), dtype=float
        ).reshape(-1)
        # E[X(t)] is non-decreasing in t; clip round-off so a step is never negative.
        yield end, np.maximum(cumulative - previous, 0.0)
        previous = np.maximum(cumulative, previous)


def customer_lifetime_value(
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
) -> np.ndarray:
    """Predictive CLV of each customer over the next ``horizon_months`` months.

    ``sum over months m of (E[X(m u)] - E[X((m-1) u)]) x E[spend] x margin / (1 + i) ** m``
    with ``u`` model units per month and ``i`` the monthly rate equivalent to the annual
    discount rate (see the module docstring).

    Parameters
    ----------
    purchase_model
        A fitted purchase model with ``expected_purchases(t, frequency, recency, T)``
        (:class:`~xlclv.models.BetaGeoModel`, :class:`~xlclv.models.ModifiedBetaGeoModel` or
        :class:`~xlclv.models.ParetoNBDModel`),
        fitted on data in ``time_unit``.
    spend_model
        A fitted spend model with ``expected_spend(frequency, monetary_value)``
        (:class:`~xlclv.models.GammaGammaModel`).
    frequency, recency, T, monetary_value : array-like
        The RFM summary, one value per customer; recency and T in ``time_unit``.
    gross_margin : float, default 1
        Share of revenue kept as profit, between 0 and 1 (0.3 for 30 %).
    horizon_months : float, default 12
        How far ahead to value, in calendar months (of 365.25/12 days).
    annual_discount_rate : float, default 0.1
        Discount rate per year (0.1 for 10 %).
    time_unit : {"D", "W", "M"}, default "W"
        The unit of recency and T, and of the purchase model's parameters.

    Returns
    -------
    numpy.ndarray
        The discounted predicted CLV per customer, in the currency of ``monetary_value``.

    Raises
    ------
    InputError
        For a bad setting (message names it) or unusable customer data.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves
    for customer base analysis. Journal of Marketing Research 42(4), 415-430.
    """
    unit = check_time_unit(time_unit)
    margin = _number("gross_margin", gross_margin)
    if not 0 <= margin <= 1:
        raise InputError(
            f"gross_margin must be a share between 0 and 1 (e.g. 0.3 for 30 %), got {margin:g}"
        )
    horizon = _check_horizon(horizon_months)
    annual = _number("annual_discount_rate", annual_discount_rate)
    if annual < 0:
        raise InputError(
            f"annual_discount_rate must be 0 or more (e.g. 0.1 for 10 % a year), got {annual:g}"
        )
    monthly = annual_to_monthly_rate(annual)
    x, tx, TT, _ = validate_rfm(frequency, recency, T)
    spend = np.asarray(spend_model.expected_spend(x, _monetary(monetary_value, x)), dtype=float)
    spend = spend.reshape(-1)

    ux, utx, uT, group = _distinct_rfm(x, tx, TT)
    discounted = np.zeros(ux.size)
    for end, purchases in _monthly_increments(
        purchase_model, _month_ends(horizon), unit, ux, utx, uT
    ):
        discounted += purchases / (1.0 + monthly) ** end
    return discounted[group] * spend * margin


def _monetary(monetary_value, x: np.ndarray) -> np.ndarray:
    try:
        m = np.atleast_1d(np.asarray(monetary_value, dtype=float)).reshape(-1)
    except (TypeError, ValueError):
        raise InputError("monetary_value must hold numbers only") from None
    if m.size != x.size:
        raise InputError(
            f"monetary_value must have one value per customer: got {m.size} values for "
            f"{x.size} customers"
        )
    return m


def expected_purchases_by_month(
    purchase_model,
    frequency,
    recency,
    T,
    *,
    horizon_months: float = 12,
    time_unit: str = "W",
) -> pd.DataFrame:
    """Expected purchases of each customer in each coming calendar month (undiscounted).

    Column ``m`` holds ``E[X(m u)] - E[X((m-1) u)]``, the expected purchases in month ``m``
    after the end of observation (``u`` model units per month; a fractional horizon's last
    column is a partial month). Row sums are the expected purchases over the horizon.

    Parameters
    ----------
    purchase_model
        A fitted purchase model with ``expected_purchases(t, frequency, recency, T)``.
    frequency, recency, T : array-like
        The RFM summary, one value per customer; recency and T in ``time_unit``.
    horizon_months : float, default 12
        Number of months (of 365.25/12 days).
    time_unit : {"D", "W", "M"}, default "W"
        The unit of recency and T, and of the purchase model's parameters.

    Returns
    -------
    pandas.DataFrame
        One row per customer (in input order; the index of ``frequency`` if it is a pandas
        Series), one column per month, named 1, 2, ...
    """
    unit = check_time_unit(time_unit)
    horizon = _check_horizon(horizon_months)
    x, tx, TT, _ = validate_rfm(frequency, recency, T)
    ux, utx, uT, group = _distinct_rfm(x, tx, TT)
    ends = _month_ends(horizon)
    out = np.empty((ux.size, ends.size))
    for j, (_, purchases) in enumerate(
        _monthly_increments(purchase_model, ends, unit, ux, utx, uT)
    ):
        out[:, j] = purchases
    index = frequency.index if isinstance(frequency, pd.Series) else None
    return pd.DataFrame(
        out[group], index=index, columns=pd.RangeIndex(1, ends.size + 1, name="month")
    )
