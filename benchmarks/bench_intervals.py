"""CLV ranges from parameter uncertainty (``xlclv.intervals.clv_interval``): speed at 1M customers.

Builds 1,000,000 synthetic customers from the BG/NBD and Gamma-Gamma processes
(xlclv.simulate, seed 2026, CDNOW-like parameters): weekly cohorts over a year (T a whole
number of weeks, 1 to 52), recency to the day (in weeks), mean spends rounded to cents. Fits
both models, then times

- ``clv_interval`` with 1,000 draws, 12 months, per-customer P10/P50/P90 and the total's;
- the same on a subset against a naive loop (for each draw: ``set_params`` on both models and
  ``customer_lifetime_value`` for every customer, then quantiles), checking that both give the
  same numbers (same draws), and prints the ratio.

    .venv/bin/python benchmarks/bench_intervals.py               # about a minute
    .venv/bin/python benchmarks/bench_intervals.py --n 200000 --subset 2000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_seconds, machine, peak_rss_mb

from xlclv import simulate
from xlclv.intervals import clv_interval
from xlclv.models import BetaGeoModel, GammaGammaModel
from xlclv.valuation import customer_lifetime_value

SETTINGS = {"gross_margin": 0.3, "horizon_months": 12, "annual_discount_rate": 0.1}


def customers(n: int, seed: int = 2026):
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 53, n).astype(float)
    d = simulate.bgnbd_summary(n, 0.25, 4.4, 0.8, 2.4, T, rng)
    d["recency"] = np.round(d["recency"] * 7) / 7
    m = simulate.gamma_gamma_spend(d["frequency"], 6.25, 3.74, 15.44, rng)
    d["monetary_value"] = np.round(m, 2)
    return d


def naive(bg, gg, d, result):
    """One full customer_lifetime_value per draw (the same draws), then quantiles."""
    values = np.empty((result.n_draws, len(d)))
    for k in range(result.n_draws):
        b = BetaGeoModel().set_params(**result.purchase_draws.iloc[k].to_dict())
        g = GammaGammaModel().set_params(**result.spend_draws.iloc[k].to_dict())
        values[k] = customer_lifetime_value(
            b, g, d["frequency"], d["recency"], d["T"], d["monetary_value"], **SETTINGS
        )
    return np.quantile(values, [0.1, 0.5, 0.9], axis=0).T, np.quantile(values.sum(axis=1), 0.5)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="customers (1,000,000)")
    ap.add_argument("--draws", type=int, default=1000, help="parameter draws (1,000)")
    ap.add_argument("--subset", type=int, default=5000, help="customers for the naive loop")
    ap.add_argument("--subset-draws", type=int, default=200, help="draws for the naive loop")
    args = ap.parse_args()
    print(machine())

    d = customers(args.n)
    bg = BetaGeoModel().fit(d["frequency"], d["recency"], d["T"])
    gg = GammaGammaModel().fit(d["frequency"], d["monetary_value"])
    cols = (d["frequency"], d["recency"], d["T"], d["monetary_value"])
    rows = len(d.drop_duplicates())
    xT = len(d[["frequency", "T"]].drop_duplicates())
    print(f"{args.n:,} customers: {rows:,} distinct (x, t_x, T, mbar) rows, {xT:,} distinct (x, T)")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    start, cpu = time.perf_counter(), time.process_time()
    res = clv_interval(bg, gg, *cols, **SETTINGS, n_draws=args.draws, seed=1)
    big, cpu = time.perf_counter() - start, time.process_time() - cpu
    verdict = "meets" if big <= 10 else "MISSES"
    print(
        f"clv_interval, {args.n:,} customers x {args.draws:,} draws: {fmt_seconds(big)} "
        f"wall, {fmt_seconds(cpu)} CPU ({verdict} the 10 s target); peak memory "
        f"{peak_rss_mb():,.0f} MB; load average before the run {load:.1f} on "
        f"{os.cpu_count()} CPUs"
    )
    print("total:", ", ".join(f"{k} {v:,.0f}" for k, v in res.total.items()))

    sub = d.iloc[: args.subset]
    sub_cols = (sub["frequency"], sub["recency"], sub["T"], sub["monetary_value"])
    start = time.perf_counter()
    fast = clv_interval(bg, gg, *sub_cols, **SETTINGS, n_draws=args.subset_draws, seed=2)
    t_fast = time.perf_counter() - start
    start = time.perf_counter()
    slow_q, slow_total = naive(bg, gg, sub, fast)
    t_slow = time.perf_counter() - start
    diff = np.max(np.abs(fast.customers.iloc[:, 1:].to_numpy() - slow_q)) / max(
        1e-12, float(np.max(np.abs(slow_q)))
    )
    print(
        f"subset {args.subset:,} customers x {args.subset_draws} draws: clv_interval "
        f"{fmt_seconds(t_fast)}, naive loop {fmt_seconds(t_slow)}, ratio {t_slow / t_fast:.1f}x; "
        f"max diff of the quantiles {diff:.1e} (relative to the largest); total P50 "
        f"{fast.total['p50']:,.2f} vs {slow_total:,.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
