"""The reference datasets shipped with xlclv (see ``xlclv/data/PROVENANCE.md``).

They are read with :mod:`importlib.resources`, so they work from an installed wheel too.

- CDNOW sample (Fader, Hardie & Lee 2005): 2,357 customers who made their first purchase at
  CDNOW in the first quarter of 1997, with every purchase to 30 June 1998 (78 weeks).
  The published BG/NBD, Pareto/NBD and Gamma-Gamma fits use the first 39 weeks, to
  30 September 1997, in weeks.
- Donations (Fader, Hardie & Shang 2010): 11,104 donors and 6 annual donation opportunities,
  as (frequency, recency, periods, weights), for the BG/BB model.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

__all__ = [
    "CDNOW_CALIBRATION_END",
    "CDNOW_END",
    "load_cdnow_summary",
    "load_cdnow_summary_with_monetary",
    "load_cdnow_transactions",
    "load_donations",
]

#: End of the 39-week calibration period of the published CDNOW fits (the summary files).
CDNOW_CALIBRATION_END = pd.Timestamp("1997-09-30")
#: Last day of the CDNOW sample's 78 weeks of data.
CDNOW_END = pd.Timestamp("1998-06-30")


def _open(name: str):
    return resources.files("xlclv").joinpath("data", name).open("rb")


def _summary_ids(ids: pd.Series) -> pd.Index:
    return pd.Index(ids.astype(str), name="customer_id")


def load_cdnow_transactions() -> pd.DataFrame:
    """The CDNOW sample's 6,919 purchases by 2,357 customers, 1 Jan 1997 to 30 Jun 1998.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id`` (the customer's id within the sample, as a string: "1" to
        "2357", the ``ID`` of the summary files), ``date`` (datetime64), ``amount`` (the
        dollar value, float) and ``cds`` (number of CDs bought, int). One row per purchase
        record, in file order; a customer can have several records on one day.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting Your Customers' the Easy
    Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284.
    """
    with _open("CDNOW_sample.txt") as f:
        raw = pd.read_csv(
            f,
            sep=r"\s+",
            header=None,
            names=["master_id", "customer_id", "date", "cds", "amount"],
            dtype={"master_id": str, "customer_id": np.int64, "date": str},
        )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype(str),
            "date": pd.to_datetime(raw["date"], format="%Y%m%d").astype("datetime64[ns]"),
            "amount": raw["amount"].astype(float),
            "cds": raw["cds"].astype(np.int64),
        }
    )


def load_cdnow_summary() -> pd.DataFrame:
    """The published RFM summary of the CDNOW sample: weeks, observation end 30 Sep 1997.

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id`` (string, as in :func:`load_cdnow_transactions`); columns
        ``frequency`` (repeat purchases), ``recency`` and ``T`` (in weeks, rounded to
        2 decimals as published). 2,357 rows.
    """
    with _open("cdnow_customers_summary.csv") as f:
        raw = pd.read_csv(f)
    return pd.DataFrame(
        {
            "frequency": raw["frequency"].astype(float).to_numpy(),
            "recency": raw["recency"].astype(float).to_numpy(),
            "T": raw["T"].astype(float).to_numpy(),
        },
        index=_summary_ids(raw["ID"]),
    )


def load_cdnow_summary_with_monetary() -> pd.DataFrame:
    """The CDNOW summary with the mean repeat-purchase spend, as used for the Gamma-Gamma fit.

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id``; columns ``frequency``, ``recency``, ``T`` (weeks, observation
        end 30 Sep 1997) and ``monetary_value`` (the published ``zbar``: mean dollar value of
        the repeat purchases, 0 for customers with none). 946 customers have frequency > 0.
    """
    with _open("cdnow_customers_summary_with_transactions.csv") as f:
        raw = pd.read_csv(f)
    return pd.DataFrame(
        {
            "frequency": raw["x"].astype(float).to_numpy(),
            "recency": raw["t_x"].astype(float).to_numpy(),
            "T": raw["T"].astype(float).to_numpy(),
            "monetary_value": raw["zbar"].astype(float).to_numpy(),
        },
        index=_summary_ids(raw["ID"]),
    )


def load_donations() -> pd.DataFrame:
    """The donations data of Fader, Hardie & Shang (2010), for the BG/BB model.

    Returns
    -------
    pandas.DataFrame
        Columns ``frequency`` (repeat donations in the 6 opportunities), ``recency`` (the
        opportunity of the last donation), ``periods`` (6) and ``weights`` (number of donors
        with that pattern; they sum to 11,104). 22 rows.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Shang, J. (2010), "Customer-Base Analysis in a
    Discrete-Time Noncontractual Setting", Marketing Science 29(6), 1086-1108.
    """
    with _open("donations.csv") as f:
        return pd.read_csv(f, dtype=np.int64)
