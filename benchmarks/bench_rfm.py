"""RFM summary speed: xlclv.rfm_summary vs lifetimes' summary_data_from_transaction_data.

Issue 4 §1 asks for at least 6x on 10,000,000 transactions, with an identical table, measured
in one run. Synthetic data with a fixed seed: ~1,000,000 customers (integer ids), purchase
datetimes (with a time of day, so same-day purchases must collapse) over two years, amounts
from a gamma distribution rounded to cents.

    python benchmarks/bench_rfm.py              # 10M transactions (lifetimes needs minutes)
    python benchmarks/bench_rfm.py --n 1000000  # a quicker run

lifetimes is slow at 10M rows, so by default it runs once and xlclv three times (the median is
printed); --lifetimes-repeat changes that.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_seconds, machine, peak_rss_mb, timed

from xlclv.transactions import rfm_summary

START = np.datetime64("2023-01-01T00:00:00", "s")
DAYS = 730


def synthetic_transactions(
    n: int, seed: int = 2026, *, string_ids: bool = False
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """n transactions by about n/10 customers over two years; the end of observation."""
    rng = np.random.default_rng(seed)
    n_customers = max(n // 10, 1)
    customer = rng.integers(0, n_customers, n)
    # Each customer is acquired on a day of the first 18 months and buys from then on.
    acquired = rng.integers(0, DAYS * 3 // 4, n_customers)
    day = acquired[customer] + (rng.random(n) * (DAYS - acquired[customer])).astype(np.int64)
    seconds = day * 86_400 + rng.integers(0, 86_400, n)
    tx = pd.DataFrame(
        {
            "customer_id": customer,
            "date": START + seconds.astype("timedelta64[s]"),
            "amount": np.round(rng.gamma(2.0, 25.0, n), 2) + 0.01,
        }
    )
    tx["date"] = tx["date"].astype("datetime64[ns]")
    if string_ids:
        names = pd.Series(np.arange(n_customers)).map("C{:07d}".format).astype(str)
        tx["customer_id"] = names.to_numpy()[customer]
        tx["customer_id"] = tx["customer_id"].astype(str)
    return tx, pd.Timestamp(START + np.timedelta64(DAYS - 1, "D")).normalize()


def lifetimes_summary(tx: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    from lifetimes.utils import summary_data_from_transaction_data

    return summary_data_from_transaction_data(
        tx, "customer_id", "date", monetary_value_col="amount", observation_period_end=end, freq="D"
    )


def compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> str:
    """Raise unless the tables are the same; say how close monetary_value is."""
    theirs = theirs.sort_index()
    if not ours.index.equals(theirs.index.rename(ours.index.name)):
        raise AssertionError("the two summaries have different customers")
    for column in ("frequency", "recency", "T"):
        if not np.array_equal(ours[column].to_numpy(), theirs[column].to_numpy()):
            raise AssertionError(f"{column} differs")
    a, b = ours["monetary_value"].to_numpy(), theirs["monetary_value"].to_numpy()
    rel = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300), initial=0.0))
    if rel > 1e-12:
        raise AssertionError(f"monetary_value differs by up to {rel:.2e} (relative)")
    exact = int(np.sum(a == b))
    return (
        f"identical: {len(ours):,} customers; frequency, recency, T equal exactly; "
        f"monetary_value equal in {exact:,} rows, the rest within {rel:.1e} relative "
        "(summation order)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="number of transactions")
    parser.add_argument("--repeat", type=int, default=3, help="runs of rfm_summary")
    parser.add_argument("--lifetimes-repeat", type=int, default=1, help="runs of lifetimes")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--string-ids", action="store_true", help="text customer ids (C0000001)")
    args = parser.parse_args(argv)

    print(f"RFM summary benchmark ({machine()})")
    tx, end = synthetic_transactions(args.n, args.seed, string_ids=args.string_ids)
    print(
        f"data: {len(tx):,} transactions, {tx['customer_id'].nunique():,} customers "
        f"({'text' if args.string_ids else 'integer'} ids), "
        f"{tx['date'].min():%Y-%m-%d} to {end:%Y-%m-%d}, seed {args.seed}"
    )

    ours_t, ours_all, ours = timed(
        lambda: rfm_summary(tx, time_unit="D", observation_end=end), args.repeat
    )
    print(
        f"xlclv.rfm_summary(time_unit='D'): median {fmt_seconds(ours_t)} of {args.repeat} runs "
        f"({', '.join(f'{t:.2f}' for t in ours_all)}); peak RSS so far {peak_rss_mb():,.0f} MB"
    )
    theirs_t, theirs_all, theirs = timed(lambda: lifetimes_summary(tx, end), args.lifetimes_repeat)
    print(
        "lifetimes summary_data_from_transaction_data(freq='D'): "
        f"median {fmt_seconds(theirs_t)} of {args.lifetimes_repeat} run(s) "
        f"({', '.join(f'{t:.2f}' for t in theirs_all)}); peak RSS {peak_rss_mb():,.0f} MB"
    )
    print(compare(ours, theirs))
    ratio = theirs_t / ours_t
    print(f"speed-up: {ratio:.1f}x (target >= 6x): {'MET' if ratio >= 6 else 'NOT MET'}")


if __name__ == "__main__":
    main()
