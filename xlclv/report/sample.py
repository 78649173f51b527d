"""The embedded demo data: a simulated online shop, and CDNOW as a real dataset.

Provenance
----------
:func:`sample_inputs` is *simulated*, deterministically from a fixed seed, from the models' own
generative processes (:mod:`xlclv.simulate`): no real customer is in it.

- 3,000 customers acquired uniformly between 2024-01-01 and 2025-12-31 (observation end).
- Each has a ``region`` (North, South, East, West) and an acquisition ``channel``. The channel
  sets the BG/NBD purchase process (weekly parameters r, alpha, a, b) and the Gamma-Gamma spend
  (p, q, v), so the segments differ meaningfully: referral customers buy often and stay,
  paid-social customers churn quickly, email customers spend more per order. The region shifts
  spend a little (the West spends ~10 % more, the South ~8 % less).
- Purchases: the first on the acquisition day, repeats at the simulated BG/NBD times (weeks,
  rounded down to the day); each purchase's amount is a Gamma-Gamma draw, in dollars and cents.
- Returns: about 4 % of purchases are returned 3-30 days later (within the data), in full or in
  part, as a negative amount on the return day.
- NPS: about 30 % of customers answered a survey (score 0-10) some time after their first
  purchase; scores depend on the channel and on whether the customer bought again.
- Marketing: spend per channel over the two years and the channel's new customers (the counts
  match the transactions; organic search has a small SEO budget).

:func:`cdnow_inputs` is the real CDNOW sample (Fader, Hardie & Lee 2005; shipped in
``xlclv/data``, see its PROVENANCE.md): 2,357 customers, 1 Jan 1997 - 30 Jun 1998, no segments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlclv import simulate
from xlclv.report.inputs import WorkbookInputs

__all__ = ["CHANNELS", "REGIONS", "SAMPLE_SETTINGS", "cdnow_inputs", "sample_inputs"]

START = pd.Timestamp("2024-01-01")
END = pd.Timestamp("2025-12-31")

#: channel -> (share of customers, BG/NBD r, alpha (weeks), a, b, Gamma-Gamma p, q, v,
#: marketing spend per new customer)
CHANNELS: dict[str, tuple[float, ...]] = {
    "Organic search": (0.35, 0.60, 9.0, 0.55, 2.6, 6.0, 3.8, 15.0, 6.0),
    "Paid social": (0.30, 0.45, 11.0, 0.95, 1.6, 5.5, 3.6, 13.0, 38.0),
    "Email": (0.15, 0.70, 8.0, 0.50, 3.0, 7.0, 3.6, 19.0, 14.0),
    "Referral": (0.20, 0.90, 7.0, 0.30, 3.5, 6.0, 3.8, 16.0, 22.0),
}
#: region -> (share of customers, spend multiplier)
REGIONS: dict[str, tuple[float, float]] = {
    "North": (0.30, 1.00),
    "South": (0.20, 0.92),
    "East": (0.25, 1.02),
    "West": (0.25, 1.10),
}
#: The settings the demo report uses (also what the template's Settings sheet shows).
SAMPLE_SETTINGS: dict[str, object] = {
    "gross_margin": 0.3,
    "annual_discount_rate": 0.1,
    "horizon_months": 12,
    "time_unit": "W",
    "observation_end": None,
    "segment_by": None,
    "currency": "USD",
    "model": "AUTO",
}
#: channel -> mean NPS score shift
_NPS_SHIFT = {"Organic search": 0.0, "Paid social": -1.2, "Email": 0.3, "Referral": 1.0}


def sample_inputs(seed: int = 2026, n_customers: int = 3000) -> WorkbookInputs:
    """The simulated demo shop (see the module docstring), as raw workbook inputs.

    Parameters
    ----------
    seed : int
        Seed of the ``numpy.random.Generator``; the same seed gives the same data.
    n_customers : int
        Number of customers.

    Returns
    -------
    WorkbookInputs
        Transactions with headers ``customer_id, date, amount, region, channel`` (dates as
        datetimes, amounts as floats, ids as text such as "C00042", sorted by date), an NPS
        table (``customer_id, score, date``), a Marketing table
        (``channel, spend, new_customers``) and :data:`SAMPLE_SETTINGS`.
    """
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    days_total = (END - START).days
    names = list(CHANNELS)
    shares = np.array([CHANNELS[c][0] for c in names])
    channel_idx = rng.choice(len(names), size=n, p=shares / shares.sum())
    regions = list(REGIONS)
    rshares = np.array([REGIONS[r][0] for r in regions])
    region_idx = rng.choice(len(regions), size=n, p=rshares / rshares.sum())
    acq_day = np.sort(rng.integers(0, days_total + 1, size=n))
    T_weeks = (days_total - acq_day) / 7.0

    cust_rows: list[np.ndarray] = []  # customer index per purchase
    day_rows: list[np.ndarray] = []
    amt_rows: list[np.ndarray] = []
    repeaters = np.zeros(n, dtype=bool)
    for k, name in enumerate(names):
        _, r, alpha, a, b, p, q, v, _cac = CHANNELS[name]
        members = np.flatnonzero(channel_idx == k)
        if members.size == 0:
            continue
        times = simulate.bgnbd_purchase_times(members.size, r, alpha, a, b, T_weeks[members], rng)
        counts = np.array([t.size for t in times])
        repeaters[members] = counts > 0
        offsets = np.concatenate([np.zeros(members.size), *times]) if members.size else []
        who = np.concatenate([members, np.repeat(members, counts)])
        days = acq_day[who] + np.floor(np.asarray(offsets) * 7.0).astype(np.int64)
        spends = simulate.gamma_gamma_spend(counts + 1, p, q, v, rng, per_transaction=True)
        # spends[i] holds customer i's purchases in order: first purchase, then repeats
        first = np.array([s[0] for s in spends])
        rest = np.concatenate([s[1:] for s in spends]) if counts.sum() else np.zeros(0)
        cust_rows.append(who)
        day_rows.append(np.minimum(days, days_total))
        amt_rows.append(np.concatenate([first, rest]))
    who = np.concatenate(cust_rows)
    day = np.concatenate(day_rows)
    amount = np.concatenate(amt_rows)
    amount = amount * np.array([REGIONS[r][1] for r in regions])[region_idx[who]]
    amount = np.round(np.maximum(amount, 0.5), 2)

    # returns: ~4 % of purchases, 3-30 days later (within the data), in full or in part
    returned = np.flatnonzero(rng.random(who.size) < 0.04)
    ret_day = day[returned] + rng.integers(3, 31, size=returned.size)
    keep = ret_day <= days_total
    returned, ret_day = returned[keep], ret_day[keep]
    part = np.where(rng.random(returned.size) < 0.7, 1.0, rng.uniform(0.2, 0.8, returned.size))
    ret_amount = -np.round(amount[returned] * part, 2)
    who = np.concatenate([who, who[returned]])
    day = np.concatenate([day, ret_day])
    amount = np.concatenate([amount, ret_amount])

    order = np.lexsort((amount < 0, who, day))
    who, day, amount = who[order], day[order], amount[order]
    ids = np.array([f"C{i + 1:05d}" for i in range(n)], dtype=object)
    dates = START + pd.to_timedelta(day, unit="D")
    transactions = pd.DataFrame(
        {
            "customer_id": ids[who],
            "date": np.array(dates.to_pydatetime(), dtype=object),
            "amount": amount.astype(object),
            "region": np.array(regions, dtype=object)[region_idx[who]],
            "channel": np.array(names, dtype=object)[channel_idx[who]],
        },
        dtype=object,
    )

    # NPS: ~30 % answered, some days after their first purchase
    answered = np.flatnonzero(rng.random(n) < 0.3)
    answered = answered[acq_day[answered] + 7 <= days_total]
    shift = np.array([_NPS_SHIFT[names[c]] for c in channel_idx[answered]])
    mean = 7.2 + shift + np.where(repeaters[answered], 0.8, -0.6)
    score = np.clip(np.round(rng.normal(mean, 1.9)), 0, 10)
    wait = rng.integers(7, 61, size=answered.size)
    nps_day = np.minimum(acq_day[answered] + wait, days_total)
    nps_order = np.argsort(nps_day, kind="stable")
    nps = pd.DataFrame(
        {
            "customer_id": ids[answered][nps_order],
            "score": score[nps_order].astype(float).astype(object),
            "date": np.array(
                (START + pd.to_timedelta(nps_day[nps_order], unit="D")).to_pydatetime(),
                dtype=object,
            ),
        },
        dtype=object,
    )

    new = np.bincount(channel_idx, minlength=len(names))
    cac = np.array([CHANNELS[c][8] for c in names])
    spend = np.round(new * cac * rng.uniform(0.9, 1.1, size=len(names)), -2)
    marketing = pd.DataFrame(
        {
            "channel": np.array(names, dtype=object),
            "spend": spend.astype(float).astype(object),
            "new_customers": new.astype(float).astype(object),
        },
        dtype=object,
    )
    return WorkbookInputs(
        transactions=transactions,
        transactions_first_row=2,
        transactions_sheet="Transactions",
        settings=dict(SAMPLE_SETTINGS),
        nps=nps,
        marketing=marketing,
        source="xlclv sample (simulated)",
    )


def cdnow_inputs() -> WorkbookInputs:
    """The real CDNOW sample (Fader, Hardie & Lee 2005) as raw workbook inputs.

    Transactions ``customer_id, date, amount`` (no segment columns), no NPS or Marketing;
    settings: weeks, observation end 1998-06-30, gross margin 1 (the report values revenue).
    """
    from xlclv.datasets import load_cdnow_transactions

    tx = load_cdnow_transactions()
    transactions = pd.DataFrame(
        {
            "customer_id": tx["customer_id"].astype(object),
            "date": np.array(tx["date"].dt.to_pydatetime(), dtype=object),
            "amount": tx["amount"].astype(float).astype(object),
        },
        dtype=object,
    )
    settings = dict(SAMPLE_SETTINGS)
    settings.update(gross_margin=1.0, observation_end=pd.Timestamp("1998-06-30").date())
    return WorkbookInputs(
        transactions=transactions,
        transactions_first_row=2,
        transactions_sheet="Transactions",
        settings=settings,
        nps=None,
        marketing=None,
        source="CDNOW sample (Fader, Hardie & Lee 2005)",
    )
