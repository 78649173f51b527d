"""Customer tiers, segment and cohort summaries, concentration and P(alive) distribution.

Pure pandas on the report's customer table (one row per customer); the report layer
(:func:`xlclv.report.pipeline.build_report`) calls these. Column headers are what the workbook shows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from xlclv._timeunits import DAYS_PER_MONTH

__all__ = [
    "TIERS",
    "assign_tiers",
    "cohort_curves",
    "cohort_labels",
    "cohort_table",
    "concentration_curve",
    "nps_score",
    "palive_distribution",
    "segment_table",
]

#: Tier names by predicted CLV: the top 10 % of customers, the next 20 %, the rest.
TIERS = ("Top 10%", "Next 20%", "Rest")


def assign_tiers(
    values: np.ndarray | pd.Series, ids: np.ndarray | pd.Series | None = None
) -> np.ndarray:
    """Tier of each customer by ``values`` (predicted CLV), highest first.

    The top ``ceil(10 % of n)`` customers are "Top 10%", the next up to ``ceil(30 % of n)``
    "Next 20%", the rest "Rest". Ties are broken by ``ids`` (ascending), so the result is
    deterministic. NaN values rank last.
    """
    v = np.asarray(values, dtype=float)
    n = v.size
    out = np.full(n, TIERS[2], dtype=object)
    if n == 0:
        return out
    key = np.where(np.isnan(v), -np.inf, v)
    if ids is None:
        order = np.argsort(-key, kind="stable")
    else:
        order = np.lexsort((np.asarray(ids, dtype=str), -key))
    top, next_ = math.ceil(0.10 * n), math.ceil(0.30 * n)
    out[order[:top]] = TIERS[0]
    out[order[top:next_]] = TIERS[1]
    return out


def nps_score(scores: np.ndarray | pd.Series) -> float:
    """NPS = % promoters (9-10) - % detractors (0-6), from -100 to 100; NaN for no scores."""
    s = np.asarray(scores, dtype=float)
    if s.size == 0:
        return float("nan")
    return float(100.0 * (np.mean(s >= 9) - np.mean(s <= 6)))


def segment_table(
    customers: pd.DataFrame,
    dimension: str,
    *,
    nps: pd.DataFrame | None = None,
    marketing: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per value of ``dimension``, sorted by total predicted CLV (highest first).

    Parameters
    ----------
    customers : pandas.DataFrame
        The report's customer table: ``Customer ID``, ``dimension``, ``Revenue``,
        ``Historical CLV``, ``Predicted CLV``, ``P(alive)``.
    dimension : str
        The segment column.
    nps : pandas.DataFrame, optional
        NPS answers with ``customer_id`` and ``score``; adds ``NPS`` and ``NPS responses``
        (answers of customers in the segment; a customer's segment is their acquisition one).
    marketing : pandas.DataFrame, optional
        ``segment``, ``spend``, ``new_customers`` for this dimension; adds ``Marketing spend``,
        ``New customers``, ``CAC`` (= spend / new customers) and ``LTV:CAC``
        (= average predicted CLV / CAC). Blank where the segment has no marketing row (or no
        new customers).
    """
    g = customers.groupby(dimension, sort=False, dropna=False)
    out = pd.DataFrame(
        {
            "Customers": g.size(),
            "Revenue": g["Revenue"].sum(),
            "Historical CLV": g["Historical CLV"].sum(),
            "Predicted CLV": g["Predicted CLV"].sum(),
        }
    )
    out["Avg predicted CLV"] = out["Predicted CLV"] / out["Customers"]
    total = float(out["Predicted CLV"].sum())
    out["Share of predicted CLV"] = out["Predicted CLV"] / total if total > 0 else 0.0
    out["Avg P(alive)"] = g["P(alive)"].mean()
    out = out.sort_values(["Predicted CLV", "Customers"], ascending=False, kind="stable")
    if nps is not None:
        seg_of = pd.Series(
            customers[dimension].to_numpy(), index=customers["Customer ID"].to_numpy()
        )
        seg = nps["customer_id"].map(seg_of)
        known = seg.notna().to_numpy()
        answers = pd.DataFrame({"seg": seg[known].to_numpy(), "score": nps["score"][known]})
        by = answers.groupby("seg", sort=False)["score"]
        out["NPS"] = by.apply(nps_score).reindex(out.index).astype(float)
        out["NPS responses"] = by.size().reindex(out.index).fillna(0).astype("int64")
    if marketing is not None:
        mk = marketing.set_index("segment")
        spend = mk["spend"].reindex(out.index).astype(float)
        new = mk["new_customers"].reindex(out.index).astype(float)
        cac = spend / new.where(new > 0)
        out["Marketing spend"] = spend
        out["New customers"] = new
        out["CAC"] = cac
        out["LTV:CAC"] = out["Avg predicted CLV"] / cac.where(cac > 0)
    out.index.name = dimension
    return out.reset_index()


def cohort_labels(first_purchase: pd.Series, span_days: float) -> tuple[pd.Series, str]:
    """Acquisition cohort of each customer: quarter ("2024-Q1") when the first purchases span
    more than 12 months (``span_days`` > 365), else month ("2024-01").

    Returns (labels, "quarter" | "month").
    """
    dates = pd.DatetimeIndex(first_purchase)
    if span_days > 365:
        labels = [f"{y}-Q{q}" for y, q in zip(dates.year, dates.quarter, strict=True)]
        return pd.Series(labels, index=first_purchase.index, dtype=object), "quarter"
    labels = [f"{y}-{m:02d}" for y, m in zip(dates.year, dates.month, strict=True)]
    return pd.Series(labels, index=first_purchase.index, dtype=object), "month"


def cohort_table(customers: pd.DataFrame, cohorts: pd.Series) -> pd.DataFrame:
    """One row per acquisition cohort (in time order): ``Cohort``, ``Customers``, ``Revenue``,
    ``Revenue per customer``, ``Historical CLV``, ``Predicted CLV``, ``Avg predicted CLV``,
    ``Avg P(alive)``."""
    frame = customers.assign(_cohort=cohorts.to_numpy())
    out = cohort_sums(frame.groupby("_cohort", sort=True))
    out.index.name = "Cohort"
    return out.reset_index()


def cohort_sums(g: Any) -> pd.DataFrame:
    """The cohort table's columns from customers grouped by cohort (a pandas groupby over
    ``Revenue``, ``Historical CLV``, ``Predicted CLV`` and ``P(alive)``), indexed by cohort."""
    out = pd.DataFrame(
        {
            "Customers": g.size(),
            "Revenue": g["Revenue"].sum(),
            "Historical CLV": g["Historical CLV"].sum(),
            "Predicted CLV": g["Predicted CLV"].sum(),
        }
    )
    out.insert(2, "Revenue per customer", out["Revenue"] / out["Customers"])
    out["Avg predicted CLV"] = out["Predicted CLV"] / out["Customers"]
    out["Avg P(alive)"] = g["P(alive)"].mean()
    return out


def cohort_curves(
    row_customer: np.ndarray,
    row_days: np.ndarray,
    row_amount: np.ndarray,
    cohorts: pd.Series,
    first_purchase: pd.Series,
    observation_end: pd.Timestamp,
) -> pd.DataFrame:
    """Cumulative net revenue per customer by whole months since acquisition, per cohort.

    Parameters
    ----------
    row_customer, row_days, row_amount : numpy arrays, one value per transaction
        The transaction's customer (position in ``cohorts``), its days since that customer's
        first purchase, and its amount (returns included, so the curves are net revenue).
    cohorts, first_purchase : pandas.Series
        Each customer's cohort label and first purchase day (same index and order).
    observation_end : pandas.Timestamp

    Returns
    -------
    pandas.DataFrame
        ``Month`` (0, 1, ...: months of 365.25/12 days since the first purchase; month 0 is
        the first month), then one column per cohort in time order. A cohort's value at month
        m is blank when its most recently acquired customer has not yet been observed for m
        whole months.
    """
    if len(cohorts) == 0:
        return pd.DataFrame({"Month": pd.Series([], dtype="int64")})
    labels = sorted(cohorts.unique())
    size = cohorts.value_counts().reindex(labels).to_numpy(dtype=float)
    last_day = pd.Series(first_purchase.to_numpy(), index=cohorts.to_numpy())
    last_day = last_day.groupby(level=0).max().reindex(labels)
    observed = np.floor(
        (observation_end - last_day).dt.days.to_numpy(dtype=float) / DAYS_PER_MONTH
    ).astype(np.int64)
    observed = np.maximum(observed, 0)
    n_months = int(observed.max()) + 1
    month = np.floor(np.maximum(np.asarray(row_days, dtype=float), 0) / DAYS_PER_MONTH)
    month = month.astype(np.int64)
    customer_code = pd.Categorical(cohorts.to_numpy(), categories=labels).codes.astype(np.int64)
    code = customer_code[np.asarray(row_customer, dtype=np.int64)]
    inside = (month < n_months) & (code >= 0)  # later months are past every cohort's curve
    sums = np.bincount(
        code[inside] * n_months + month[inside],
        weights=np.asarray(row_amount, dtype=float)[inside],
        minlength=len(labels) * n_months,
    ).reshape(len(labels), n_months)
    curves = np.cumsum(sums, axis=1) / size[:, None]
    curves[np.arange(n_months)[None, :] > observed[:, None]] = np.nan
    table = pd.DataFrame(curves.T, columns=[str(c) for c in labels])
    table.insert(0, "Month", np.arange(n_months, dtype=np.int64))
    return table


def concentration_curve(values: np.ndarray | pd.Series, points: int = 101) -> pd.DataFrame:
    """Lorenz-type curve: share of customers (best first) against their share of the total.

    Returns up to ``points`` rows from (0, 0) to (1, 1): ``Share of customers``,
    ``Share of predicted CLV``. A total of 0 or less gives the diagonal.
    """
    v = np.sort(np.nan_to_num(np.asarray(values, dtype=float)))[::-1]
    n = v.size
    if n == 0:
        return pd.DataFrame({"Share of customers": [0.0], "Share of predicted CLV": [0.0]})
    k = np.unique(np.round(np.linspace(0, n, min(points, n + 1))).astype(np.int64))
    cum = np.concatenate([[0.0], np.cumsum(v)])
    total = cum[-1]
    share = cum[k] / total if total > 0 else k / n
    return pd.DataFrame({"Share of customers": k / n, "Share of predicted CLV": share})


def palive_distribution(p_alive: np.ndarray | pd.Series) -> pd.DataFrame:
    """Customers per P(alive) band of 10 points: "0-10%", ..., "90-100%" (100 % in the last)."""
    p = np.asarray(p_alive, dtype=float)
    p = p[~np.isnan(p)]
    band = np.clip(np.floor(p * 10).astype(np.int64), 0, 9)
    counts = np.bincount(band, minlength=10)
    labels = [f"{10 * i}-{10 * (i + 1)}%" for i in range(10)]
    return pd.DataFrame({"P(alive)": labels, "Customers": counts.astype(np.int64)})
