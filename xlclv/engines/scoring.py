"""Score an RFM summary in chunks: P(alive), expected purchases, expected spend and CLV.

Engine-neutral and vectorised: the DuckDB engine scores its summary with
:func:`score_chunks` and the Spark engine calls :func:`score_frame` inside ``mapInPandas`` on
each Arrow batch. Each chunk is a plain pandas frame, so memory stays bounded by the chunk
size whatever the number of customers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from .._errors import InputError
from .._timeunits import check_time_unit, months_to_units
from ..valuation import customer_lifetime_value

__all__ = ["SCORE_COLUMNS", "iter_score_chunks", "score_chunks", "score_frame"]

#: The columns a score adds, in order (the last two only with a spend model).
SCORE_COLUMNS = ("p_alive", "expected_purchases", "expected_spend", "clv")


def _score_columns(spend_model) -> list[str]:
    return list(SCORE_COLUMNS if spend_model is not None else SCORE_COLUMNS[:2])


def _column(rfm: pd.DataFrame, name: str) -> np.ndarray:
    if name not in rfm.columns:
        found = ", ".join(repr(str(c)) for c in rfm.columns) or "none"
        raise InputError(
            f"the RFM summary has no column '{name}'; columns found: {found}. Pass the output "
            "of rfm_summary / rfm_summary_duckdb / xlclv.spark.rfm_summary"
        )
    return rfm[name].to_numpy(dtype=float)


def score_frame(
    rfm: pd.DataFrame,
    purchase_model,
    spend_model=None,
    *,
    gross_margin: float,
    horizon_months: float,
    annual_discount_rate: float,
    time_unit: str,
) -> pd.DataFrame:
    """Score one RFM frame (all rows at once).

    Parameters
    ----------
    rfm : pandas.DataFrame
        Columns ``frequency``, ``recency``, ``T`` (in ``time_unit``) and, with a spend model,
        ``monetary_value``; other columns are ignored. The result keeps its index.
    purchase_model
        A fitted :class:`~xlclv.models.BetaGeoModel` or :class:`~xlclv.models.ParetoNBDModel`
        (fitted in ``time_unit``).
    spend_model : GammaGammaModel, optional
        A fitted :class:`~xlclv.models.GammaGammaModel`; without it only ``p_alive`` and
        ``expected_purchases`` are returned.
    gross_margin, horizon_months, annual_discount_rate, time_unit
        As in :func:`xlclv.valuation.customer_lifetime_value`; ``horizon_months`` is also the
        horizon of ``expected_purchases``.

    Returns
    -------
    pandas.DataFrame
        Same index as ``rfm``; float columns ``p_alive`` (probability the customer is still
        active at the end of observation), ``expected_purchases`` (over the horizon),
        ``expected_spend`` (per purchase, Gamma-Gamma) and ``clv`` (discounted, times the
        margin; :func:`~xlclv.valuation.customer_lifetime_value`).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy
    way: an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.
    """
    unit = check_time_unit(time_unit)
    x, tx, T = (_column(rfm, c) for c in ("frequency", "recency", "T"))
    out = {
        "p_alive": np.asarray(purchase_model.probability_alive(x, tx, T), float).reshape(-1),
        "expected_purchases": np.asarray(
            purchase_model.expected_purchases(months_to_units(horizon_months, unit), x, tx, T),
            float,
        ).reshape(-1),
    }
    if spend_model is not None:
        m = _column(rfm, "monetary_value")
        out["expected_spend"] = np.asarray(spend_model.expected_spend(x, m), float).reshape(-1)
        out["clv"] = customer_lifetime_value(
            purchase_model,
            spend_model,
            x,
            tx,
            T,
            m,
            gross_margin=gross_margin,
            horizon_months=horizon_months,
            annual_discount_rate=annual_discount_rate,
            time_unit=unit,
        )
    return pd.DataFrame(out, index=rfm.index)


def _chunks(rfm: pd.DataFrame | Iterable[pd.DataFrame], chunk_size: int) -> Iterator[pd.DataFrame]:
    if isinstance(rfm, pd.DataFrame):
        for start in range(0, len(rfm), chunk_size):
            yield rfm.iloc[start : start + chunk_size]
    else:
        yield from rfm


def iter_score_chunks(
    rfm: pd.DataFrame | Iterable[pd.DataFrame],
    purchase_model,
    spend_model=None,
    *,
    gross_margin: float,
    horizon_months: float,
    annual_discount_rate: float,
    time_unit: str,
    chunk_size: int = 1_000_000,
) -> Iterator[pd.DataFrame]:
    """Like :func:`score_chunks`, but yield one scored frame per chunk (bounded memory).

    ``rfm`` may also be an iterable of frames (e.g. batches read from Parquet), scored as they
    come.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise InputError(f"chunk_size must be a whole number of rows, got {chunk_size!r}")
    if chunk_size < 1:
        raise InputError(f"chunk_size must be 1 or more rows, got {chunk_size}")
    for chunk in _chunks(rfm, int(chunk_size)):
        yield score_frame(
            chunk,
            purchase_model,
            spend_model,
            gross_margin=gross_margin,
            horizon_months=horizon_months,
            annual_discount_rate=annual_discount_rate,
            time_unit=time_unit,
        )


def score_chunks(
    rfm: pd.DataFrame | Iterable[pd.DataFrame],
    purchase_model,
    spend_model=None,
    *,
    gross_margin: float,
    horizon_months: float,
    annual_discount_rate: float,
    time_unit: str,
    chunk_size: int = 1_000_000,
) -> pd.DataFrame:
    """P(alive), expected purchases, expected spend and CLV per customer, chunk by chunk.

    The same numbers as scoring all customers at once (every formula is per customer), with
    the working memory of ``chunk_size`` customers.

    Parameters
    ----------
    rfm : pandas.DataFrame or iterable of DataFrames
        The RFM summary (``frequency``, ``recency``, ``T``, ``monetary_value``), e.g. from
        :func:`xlclv.engines.rfm_summary_duckdb`.
    purchase_model, spend_model
        Fitted models (see :func:`score_frame`); ``spend_model`` may be None.
    gross_margin : float
        Share of revenue kept as profit, 0 to 1.
    horizon_months : float
        Valuation horizon in months of 365.25/12 days.
    annual_discount_rate : float
        Yearly discount rate (0.1 for 10 %).
    time_unit : {"D", "W", "M"}
        Unit of recency and T and of the purchase model.
    chunk_size : int, default 1,000,000
        Customers scored per step.

    Returns
    -------
    pandas.DataFrame
        The index of ``rfm`` and the columns of :data:`SCORE_COLUMNS` (the first two only
        without a spend model).
    """
    parts = list(
        iter_score_chunks(
            rfm,
            purchase_model,
            spend_model,
            gross_margin=gross_margin,
            horizon_months=horizon_months,
            annual_discount_rate=annual_discount_rate,
            time_unit=time_unit,
            chunk_size=chunk_size,
        )
    )
    if not parts:
        return pd.DataFrame(columns=_score_columns(spend_model), dtype=float)
    return pd.concat(parts) if len(parts) > 1 else parts[0]
