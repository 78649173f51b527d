"""Closed-form customer metrics: CLV, lifetime, churn, retention, NPS and unit economics.

Elementwise functions take scalars or arrays and return the broadcast shape: a scalar in
gives a Python float out, arrays give an ndarray. NaN in gives NaN out (in Excel: a blank
cell stays blank). List functions (``clv_historical``, ``nps``, ``nps_interval``) take any
sequence of values and return one result.

Every invalid value raises :class:`xlclv.InputError` with a message that names the argument,
the rule and the offending value, e.g. ``churn_rate must be greater than 0 and at most 1,
got 1.5``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from ._errors import InputError

ArrayLike = npt.ArrayLike

__all__ = [
    "arpu",
    "cac_payback",
    "churn_rate",
    "clv_historical",
    "clv_predictive",
    "clv_simple",
    "lifetime",
    "lifetime_discounted",
    "ltv_cac",
    "nps",
    "nps_category",
    "nps_interval",
    "retention_rate",
]

#: NPS categories by score: 0-6 detractor, 7-8 passive, 9-10 promoter (Reichheld 2003).
PROMOTER_MIN = 9
PASSIVE_MIN = 7


# -- validation helpers -------------------------------------------------------------------
def _as_float(x: ArrayLike, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number or an array of numbers, got {x!r}") from None
    if np.isinf(arr).any():
        raise InputError(f"{name} must be a finite number, got {arr[np.isinf(arr)].flat[0]}")
    return arr


def _fmt(v: float) -> str:
    return f"{v:g}"


def _require(arr: np.ndarray, name: str, ok: Callable[[np.ndarray], np.ndarray], rule: str) -> None:
    """Raise InputError for the first non-NaN value of ``arr`` that breaks ``ok``."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(arr) & ~ok(arr)
    if bad.any():
        raise InputError(f"{name} must be {rule}, got {_fmt(arr[bad].flat[0])}")


def _non_negative(arr: np.ndarray, name: str) -> None:
    _require(arr, name, lambda a: a >= 0, "0 or more")


def _positive(arr: np.ndarray, name: str) -> None:
    _require(arr, name, lambda a: a > 0, "greater than 0")


def _share(arr: np.ndarray, name: str, example: str = "0.3 for 30 %") -> None:
    _require(arr, name, lambda a: (a >= 0) & (a <= 1), f"a share between 0 and 1 (e.g. {example})")


def _churn(arr: np.ndarray, name: str = "churn_rate") -> None:
    _require(arr, name, lambda a: (a > 0) & (a <= 1), "greater than 0 and at most 1")


def _broadcast(**arrays: np.ndarray) -> list[np.ndarray]:
    try:
        return list(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
        raise InputError(
            f"the arguments have incompatible shapes ({shapes}): give arrays of the same "
            "shape, or single numbers"
        ) from None


def _out(x: np.ndarray):
    return x.item() if x.ndim == 0 else x


# -- customer lifetime value --------------------------------------------------------------
def clv_simple(
    avg_order_value: ArrayLike,
    orders_per_period: ArrayLike,
    lifetime_periods: ArrayLike,
    gross_margin: ArrayLike = 1.0,
    acquisition_cost: ArrayLike = 0.0,
):
    r"""Simple customer lifetime value: value per order times orders times lifetime.

    .. math:: CLV = \bar v \cdot f \cdot L \cdot m - CAC

    Parameters
    ----------
    avg_order_value : float or array
        Average order value :math:`\bar v` (currency, 0 or more).
    orders_per_period : float or array
        Orders per customer per period :math:`f` (0 or more).
    lifetime_periods : float or array
        Expected customer lifetime :math:`L`, in the same periods (0 or more).
    gross_margin : float or array, default 1
        Gross margin :math:`m` as a share between 0 and 1 (1 = revenue CLV).
    acquisition_cost : float or array, default 0
        Cost of acquiring the customer, subtracted once (0 or more).

    Returns
    -------
    float or ndarray
        CLV in the currency of ``avg_order_value``.

    References
    ----------
    The textbook "average purchase value x purchase frequency x lifespan" formula; the seed
    example: $80 a year for 5 years gives ``clv_simple(80, 1, 5) == 400``.
    """
    v = _as_float(avg_order_value, "avg_order_value")
    f = _as_float(orders_per_period, "orders_per_period")
    life = _as_float(lifetime_periods, "lifetime_periods")
    m = _as_float(gross_margin, "gross_margin")
    cac = _as_float(acquisition_cost, "acquisition_cost")
    _non_negative(v, "avg_order_value")
    _non_negative(f, "orders_per_period")
    _non_negative(life, "lifetime_periods")
    _share(m, "gross_margin")
    _non_negative(cac, "acquisition_cost")
    v, f, life, m, cac = _broadcast(
        avg_order_value=v,
        orders_per_period=f,
        lifetime_periods=life,
        gross_margin=m,
        acquisition_cost=cac,
    )
    return _out(v * f * life * m - cac)


def clv_historical(
    amounts: ArrayLike,
    gross_margin: float = 1.0,
    costs: ArrayLike = 0.0,
    customers: float = 1,
) -> float:
    r"""Historical (net) CLV per customer: margin on past revenue less costs, per customer.

    .. math:: CLV_{hist} = \frac{m \sum_i a_i - \sum_j c_j}{n}

    Parameters
    ----------
    amounts : float or sequence of float
        Past revenue amounts (all transactions of the customers); NaN values are skipped.
        Negative amounts (returns) reduce the total.
    gross_margin : float, default 1
        Gross margin :math:`m`, a share between 0 and 1.
    costs : float or sequence of float, default 0
        Acquisition and retention costs to subtract (each 0 or more); NaN values are skipped.
    customers : float, default 1
        Number of customers :math:`n` (a whole number, at least 1).

    Returns
    -------
    float
        Net historical value per customer.

    References
    ----------
    The seed example: 100 customers, $5,000 revenue, $3,000 costs gives
    ``clv_historical(5000, 1, 3000, 100) == 20``.
    """
    a = _as_float(amounts, "amounts").ravel()
    a = a[~np.isnan(a)]
    if a.size == 0:
        raise InputError("amounts has no values: give at least one revenue amount")
    m = _as_float(gross_margin, "gross_margin")
    if m.size != 1 or np.isnan(m).any():
        raise InputError(f"gross_margin must be a single number, got {gross_margin!r}")
    _share(m, "gross_margin")
    c = _as_float(costs, "costs").ravel()
    c = c[~np.isnan(c)]
    _non_negative(c, "costs")
    n = _as_float(customers, "customers")
    if n.size != 1 or np.isnan(n).any():
        raise InputError(f"customers must be a single number, got {customers!r}")
    n = float(n.reshape(()))
    if n < 1 or n != math.floor(n):
        raise InputError(f"customers must be a whole number of at least 1, got {_fmt(n)}")
    return float((a.sum() * float(m.reshape(())) - c.sum()) / n)


def clv_predictive(
    avg_monthly_transactions: ArrayLike,
    avg_order_value: ArrayLike,
    gross_margin: ArrayLike,
    lifetime_months: ArrayLike,
    monthly_discount_rate: ArrayLike = 0.0,
):
    r"""Predictive CLV from monthly averages, optionally discounted.

    Without discounting this is the seed formula

    .. math:: CLV = t \cdot \bar v \cdot m \cdot L

    With a monthly discount rate :math:`d > 0` the lifetime :math:`L` is read as geometric
    retention with monthly churn :math:`c = 1/L` (retention :math:`r = 1 - c`), and the
    expected discounted number of months is :math:`\sum_{k \ge 0} (r/(1+d))^k`:

    .. math:: CLV = t \cdot \bar v \cdot m \cdot \frac{1 + d}{d + 1/L}

    Both agree at :math:`d = 0`.

    Parameters
    ----------
    avg_monthly_transactions : float or array
        Average transactions per customer per month :math:`t` (0 or more).
    avg_order_value : float or array
        Average order value :math:`\bar v` (0 or more).
    gross_margin : float or array
        Gross margin :math:`m`, a share between 0 and 1.
    lifetime_months : float or array
        Average customer lifetime in months :math:`L`, at least 1 (the monthly churn
        :math:`1/L` is at most 1).
    monthly_discount_rate : float or array, default 0
        Monthly discount rate :math:`d` (0 or more), e.g. 0.008 for about 10 % a year.

    Returns
    -------
    float or ndarray
        Predictive CLV per customer.

    References
    ----------
    The seed article's "avg monthly transactions x average order value x average gross margin
    x average customer lifetime"; the discounted form is the geometric-retention CLV of
    Gupta & Lehmann (2003), "Customers as assets", J. Interactive Marketing 17(1), with
    margin counted at the start of each month.
    """
    t = _as_float(avg_monthly_transactions, "avg_monthly_transactions")
    v = _as_float(avg_order_value, "avg_order_value")
    m = _as_float(gross_margin, "gross_margin")
    life = _as_float(lifetime_months, "lifetime_months")
    d = _as_float(monthly_discount_rate, "monthly_discount_rate")
    _non_negative(t, "avg_monthly_transactions")
    _non_negative(v, "avg_order_value")
    _share(m, "gross_margin")
    _require(
        life,
        "lifetime_months",
        lambda a: a >= 1,
        "at least 1 (it is read as monthly churn 1 / lifetime_months, at most 1)",
    )
    _non_negative(d, "monthly_discount_rate")
    t, v, m, life, d = _broadcast(
        avg_monthly_transactions=t,
        avg_order_value=v,
        gross_margin=m,
        lifetime_months=life,
        monthly_discount_rate=d,
    )
    return _out(t * v * m * (1.0 + d) / (d + 1.0 / life))


# -- lifetime, churn, retention -----------------------------------------------------------
def lifetime(churn_rate: ArrayLike):
    r"""Expected customer lifetime in periods under constant churn.

    .. math:: L = 1 / c

    Parameters
    ----------
    churn_rate : float or array
        Share of customers lost per period, ``0 < c <= 1``.

    Returns
    -------
    float or ndarray
        Expected lifetime in the same periods as the churn rate.

    References
    ----------
    The mean of the geometric lifetime distribution with constant churn; the seed example:
    churn 1 % a month gives ``lifetime(0.01) == 100`` months.
    """
    c = _as_float(churn_rate, "churn_rate")
    _churn(c)
    return _out(1.0 / c)


def lifetime_discounted(churn_rate: ArrayLike, discount_rate: ArrayLike):
    r"""Discounted expected lifetime in periods under constant churn.

    .. math:: L_d = \sum_{k \ge 0} \left(\frac{1 - c}{1 + d}\right)^k = \frac{1 + d}{d + c}

    Each period alive counts once, discounted to the start of the first period. It never
    exceeds :func:`lifetime` and equals it at ``d = 0``.

    Parameters
    ----------
    churn_rate : float or array
        Share of customers lost per period, ``0 < c <= 1``.
    discount_rate : float or array
        Discount rate per period, 0 or more.

    Returns
    -------
    float or ndarray
        Discounted lifetime in periods.

    References
    ----------
    Gupta & Lehmann (2003), "Customers as assets", J. Interactive Marketing 17(1): the
    margin multiple :math:`(1 + d)/(d + c)` for constant retention.
    """
    c = _as_float(churn_rate, "churn_rate")
    d = _as_float(discount_rate, "discount_rate")
    _churn(c)
    _non_negative(d, "discount_rate")
    c, d = _broadcast(churn_rate=c, discount_rate=d)
    return _out((1.0 + d) / (d + c))


def churn_rate(customers_at_start: ArrayLike, customers_lost: ArrayLike):
    r"""Churn rate of a period: customers lost over customers at the start.

    .. math:: c = \frac{N_{lost}}{N_{start}}

    Parameters
    ----------
    customers_at_start : float or array
        Customers at the start of the period (greater than 0).
    customers_lost : float or array
        Of those, how many were lost during the period (0 to ``customers_at_start``).

    Returns
    -------
    float or ndarray
        Churn rate, a share between 0 and 1.

    References
    ----------
    The standard definition (e.g. Fader & Hardie 2007, "How to project customer retention").
    """
    start = _as_float(customers_at_start, "customers_at_start")
    lost = _as_float(customers_lost, "customers_lost")
    _positive(start, "customers_at_start")
    _non_negative(lost, "customers_lost")
    start, lost = _broadcast(customers_at_start=start, customers_lost=lost)
    with np.errstate(invalid="ignore"):
        bad = lost > start
    if bad.any():
        i = np.flatnonzero(bad.ravel())[0]
        raise InputError(
            f"customers_lost ({_fmt(lost.flat[i])}) cannot exceed customers_at_start "
            f"({_fmt(start.flat[i])})"
        )
    return _out(lost / start)


def retention_rate(
    customers_at_start: ArrayLike, customers_at_end: ArrayLike, new_customers: ArrayLike
):
    r"""Customer retention rate of a period: customers kept over customers at the start.

    .. math:: r = \frac{N_{end} - N_{new}}{N_{start}}

    Parameters
    ----------
    customers_at_start : float or array
        Customers at the start of the period (greater than 0).
    customers_at_end : float or array
        Customers at the end of the period (0 or more).
    new_customers : float or array
        Customers acquired during the period (0 to ``customers_at_end``).

    Returns
    -------
    float or ndarray
        Retention rate, a share between 0 and 1.

    References
    ----------
    The customer retention rate (CRR) formula used in SaaS and retail reporting.
    """
    start = _as_float(customers_at_start, "customers_at_start")
    end = _as_float(customers_at_end, "customers_at_end")
    new = _as_float(new_customers, "new_customers")
    _positive(start, "customers_at_start")
    _non_negative(end, "customers_at_end")
    _non_negative(new, "new_customers")
    start, end, new = _broadcast(customers_at_start=start, customers_at_end=end, new_customers=new)
    with np.errstate(invalid="ignore"):
        too_many_new = new > end
        kept_more = (end - new) > start
    if too_many_new.any():
        i = np.flatnonzero(too_many_new.ravel())[0]
        raise InputError(
            f"new_customers ({_fmt(new.flat[i])}) cannot exceed customers_at_end "
            f"({_fmt(end.flat[i])})"
        )
    if kept_more.any():
        i = np.flatnonzero(kept_more.ravel())[0]
        raise InputError(
            f"customers_at_end minus new_customers ({_fmt(end.flat[i] - new.flat[i])}) cannot "
            f"exceed customers_at_start ({_fmt(start.flat[i])}): more customers kept than there were"
        )
    return _out((end - new) / start)


# -- unit economics -----------------------------------------------------------------------
def arpu(revenue: ArrayLike, customers: ArrayLike):
    r"""Average revenue per user (customer).

    .. math:: ARPU = \frac{R}{N}

    Parameters
    ----------
    revenue : float or array
        Revenue of the period.
    customers : float or array
        Number of customers in the period (greater than 0).

    Returns
    -------
    float or ndarray
        Revenue per customer.

    References
    ----------
    The standard telecom/SaaS definition.
    """
    r = _as_float(revenue, "revenue")
    n = _as_float(customers, "customers")
    _positive(n, "customers")
    r, n = _broadcast(revenue=r, customers=n)
    return _out(r / n)


def ltv_cac(ltv: ArrayLike, cac: ArrayLike):
    r"""LTV:CAC ratio: lifetime value over customer acquisition cost.

    .. math:: \text{LTV:CAC} = \frac{LTV}{CAC}

    A ratio of about 3 is the usual SaaS rule of thumb for a healthy business.

    Parameters
    ----------
    ltv : float or array
        Customer lifetime value.
    cac : float or array
        Customer acquisition cost (greater than 0).

    Returns
    -------
    float or ndarray
        The ratio.

    References
    ----------
    Skok, "SaaS metrics 2.0" (forEntrepreneurs, 2013).
    """
    v = _as_float(ltv, "ltv")
    c = _as_float(cac, "cac")
    _positive(c, "cac")
    v, c = _broadcast(ltv=v, cac=c)
    return _out(v / c)


def cac_payback(
    cac: ArrayLike, monthly_revenue_per_customer: ArrayLike, gross_margin: ArrayLike = 1.0
):
    r"""CAC payback period in months: months of margin needed to earn back the CAC.

    .. math:: P = \frac{CAC}{R_{month} \cdot m}

    Parameters
    ----------
    cac : float or array
        Customer acquisition cost (0 or more).
    monthly_revenue_per_customer : float or array
        Revenue per customer per month (greater than 0).
    gross_margin : float or array, default 1
        Gross margin, a share greater than 0 and at most 1.

    Returns
    -------
    float or ndarray
        Months to recover the acquisition cost.

    References
    ----------
    Skok, "SaaS metrics 2.0" (forEntrepreneurs, 2013): months to recover CAC.
    """
    c = _as_float(cac, "cac")
    r = _as_float(monthly_revenue_per_customer, "monthly_revenue_per_customer")
    m = _as_float(gross_margin, "gross_margin")
    _non_negative(c, "cac")
    _positive(r, "monthly_revenue_per_customer")
    _require(m, "gross_margin", lambda a: (a > 0) & (a <= 1), "greater than 0 and at most 1")
    c, r, m = _broadcast(cac=c, monthly_revenue_per_customer=r, gross_margin=m)
    return _out(c / (r * m))


# -- net promoter score -------------------------------------------------------------------
def _nps_scores(scores: ArrayLike, name: str = "scores") -> np.ndarray:
    """Scores as a 1-D float array, NaN dropped; each an integer 0-10, at least one."""
    s = _as_float(scores, name).ravel()
    s = s[~np.isnan(s)]
    _check_scores(s, name)
    if s.size == 0:
        raise InputError(f"{name} has no responses: give at least one score from 0 to 10")
    return s


def _check_scores(s: np.ndarray, name: str) -> None:
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(s) & ((s < 0) | (s > 10) | (s != np.round(s)))
    if bad.any():
        i = np.flatnonzero(bad.ravel())[0]
        where = f" (value {i + 1})" if s.size > 1 else ""
        raise InputError(f"{name} must be whole numbers from 0 to 10, got {_fmt(s.flat[i])}{where}")


def _nps_shares(s: np.ndarray) -> tuple[float, float]:
    return float(np.mean(s >= PROMOTER_MIN)), float(np.mean(s < PASSIVE_MIN))


def nps(scores: ArrayLike) -> float:
    r"""Net Promoter Score of a set of 0-10 survey answers.

    .. math:: NPS = 100 \cdot \frac{N_{promoters} - N_{detractors}}{N}

    Promoters answer 9-10, passives 7-8, detractors 0-6.

    Parameters
    ----------
    scores : sequence of int
        Answers to "How likely are you to recommend us?", each a whole number 0-10.
        NaN values (no answer) are skipped.

    Returns
    -------
    float
        NPS between -100 and 100.

    References
    ----------
    Reichheld (2003), "The one number you need to grow", Harvard Business Review 81(12).
    """
    p, d = _nps_shares(_nps_scores(scores))
    return 100.0 * (p - d)


def nps_category(score: ArrayLike):
    """The NPS category of each 0-10 score: "Promoter" (9-10), "Passive" (7-8), "Detractor" (0-6).

    Parameters
    ----------
    score : int or array of int
        Whole numbers from 0 to 10; NaN gives ``None``.

    Returns
    -------
    str, None or ndarray of object
        The category of each score.

    References
    ----------
    Reichheld (2003), "The one number you need to grow", Harvard Business Review 81(12).
    """
    s = _as_float(score, "score")
    _check_scores(s, "score")
    out = np.full(s.shape, None, dtype=object)
    out[s >= PROMOTER_MIN] = "Promoter"
    out[(s >= PASSIVE_MIN) & (s < PROMOTER_MIN)] = "Passive"
    out[s < PASSIVE_MIN] = "Detractor"
    return out.item() if out.ndim == 0 else out


def nps_interval(scores: ArrayLike, confidence: float = 0.95) -> tuple[float, float]:
    r"""Normal-approximation confidence interval for the Net Promoter Score.

    With :math:`p_P`, :math:`p_D` the promoter and detractor shares of :math:`n` answers,
    NPS/100 :math:`= p_P - p_D` has (multinomial) variance

    .. math:: \operatorname{Var} = \frac{p_P + p_D - (p_P - p_D)^2}{n}

    and the interval is :math:`100 (p_P - p_D \pm z \sqrt{\operatorname{Var}})` with
    :math:`z` the normal quantile, clipped to [-100, 100]. If every answer is in the same
    category the variance is 0 and the interval collapses to the point NPS: collect more
    answers before trusting it.

    Parameters
    ----------
    scores : sequence of int
        Whole numbers 0-10; NaN values are skipped.
    confidence : float, default 0.95
        Confidence level, greater than 0 and less than 1.

    Returns
    -------
    tuple of float
        (low, high), each between -100 and 100.

    References
    ----------
    The variance of a difference of two multinomial shares; see e.g. Rocks (2016),
    "Confidence intervals for the Net Promoter Score", or Agresti, *Categorical Data
    Analysis* (3rd ed.), §1.3.
    """
    conf = _as_float(confidence, "confidence")
    if conf.size != 1 or np.isnan(conf).any():
        raise InputError(f"confidence must be a single number, got {confidence!r}")
    conf = float(conf.reshape(()))
    if not 0 < conf < 1:
        raise InputError(
            f"confidence must be greater than 0 and less than 1 (e.g. 0.95), got {_fmt(conf)}"
        )
    s = _nps_scores(scores)
    p, d = _nps_shares(s)
    point = p - d
    var = max(p + d - point**2, 0.0) / s.size
    z = NormalDist().inv_cdf(0.5 + conf / 2.0)
    half = z * math.sqrt(var)
    low = max(-100.0, 100.0 * (point - half))
    high = min(100.0, 100.0 * (point + half))
    return low, high
