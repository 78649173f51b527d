"""Gamma-Gamma fit and per-customer CLV speed: xlclv vs lifetimes, measured in the same run.

Issue 4 §2: the CDNOW fits must be no slower than lifetimes. This times

- the Gamma-Gamma fit on the 946 CDNOW repeat buyers (``GammaGammaModel`` vs
  ``lifetimes.GammaGammaFitter``) and on ``--n`` synthetic repeat buyers from the model's own
  process (xlclv.simulate, seed 2026, CDNOW parameters, spends rounded to cents);
- 12-month CLV of the 2,357 CDNOW customers (``xlclv.valuation.customer_lifetime_value`` vs
  ``GammaGammaFitter.customer_lifetime_value``, both with the same BG/NBD and Gamma-Gamma
  parameters, lifetimes in monthly units so that both value the same calendar months),

checking that both give the same answer, and prints the ratios.

    .venv/bin/python benchmarks/bench_gg.py            # about 10 seconds
    .venv/bin/python benchmarks/bench_gg.py --n 1000000
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_seconds, machine, timed

from xlclv import simulate
from xlclv._timeunits import annual_to_monthly_rate, units_per_month
from xlclv.datasets import load_cdnow_summary_with_monetary
from xlclv.models import BetaGeoModel, GammaGammaModel
from xlclv.valuation import customer_lifetime_value

CDNOW_GG = {"p": 6.25, "q": 3.74, "v": 15.44}


def report(name: str, ours: float, theirs: float, target: float, diff: float) -> bool:
    ratio = theirs / ours
    verdict = "meets" if ratio >= target else "MISSES"
    print(
        f"{name:<40} xlclv {fmt_seconds(ours):>9}   lifetimes {fmt_seconds(theirs):>9}   "
        f"ratio {ratio:6.1f}x ({verdict} target {target:g}x)   max rel diff {diff:.1e}"
    )
    return ratio >= target


def rel(ours: dict, theirs) -> float:
    return max(abs(ours[k] / float(theirs[k]) - 1) for k in ours)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="synthetic repeat buyers (200,000)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per timing")
    args = ap.parse_args()

    from lifetimes import BetaGeoFitter, GammaGammaFitter

    warnings.simplefilter("ignore")  # lifetimes' deprecation noise (this script only)
    print(machine())
    ok = True

    d = load_cdnow_summary_with_monetary()
    rep = d[d["frequency"] > 0]
    ours_s, _, ours = timed(
        lambda: GammaGammaModel().fit(d["frequency"], d["monetary_value"]), args.repeat
    )
    lt_s, _, lt = timed(
        lambda: GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"]), args.repeat
    )
    ok &= report(
        "Gamma-Gamma, CDNOW (946 repeat buyers)", ours_s, lt_s, 1.0, rel(ours.params_, lt.params_)
    )

    rng = np.random.default_rng(2026)
    x = rng.integers(1, 30, args.n)
    m = np.maximum(np.round(simulate.gamma_gamma_spend(x, **CDNOW_GG, rng=rng), 2), 0.01)
    ours_s, _, ours = timed(lambda: GammaGammaModel().fit(x, m), args.repeat)
    lt_s, _, lt = timed(lambda: GammaGammaFitter().fit(pd.Series(x), pd.Series(m)), 1)
    ok &= report(
        f"Gamma-Gamma, synthetic ({args.n:,})", ours_s, lt_s, 1.0, rel(ours.params_, lt.params_)
    )

    bg = BetaGeoModel().fit(d["frequency"], d["recency"], d["T"])
    gg = GammaGammaModel().fit(d["frequency"], d["monetary_value"])
    f, r, T, mv = d["frequency"], d["recency"], d["T"], d["monetary_value"]

    def ours_clv():
        return customer_lifetime_value(bg, gg, f, r, T, mv, horizon_months=12, time_unit="W")

    weeks_per_month = units_per_month("W")
    bgf = BetaGeoFitter()
    bgf.params_ = pd.Series({**bg.params_, "alpha": bg.params_["alpha"] / weeks_per_month})
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
    ggf = GammaGammaFitter()
    ggf.params_ = pd.Series(gg.params_)

    def lifetimes_clv():
        return ggf.customer_lifetime_value(
            bgf,
            f,
            r / weeks_per_month,
            T / weeks_per_month,
            mv,
            time=12,
            discount_rate=annual_to_monthly_rate(0.1),
            freq="M",
        )

    ours_s, _, a = timed(ours_clv, args.repeat)
    lt_s, _, b = timed(lifetimes_clv, args.repeat)
    diff = float(np.max(np.abs(a - b.to_numpy()) / np.maximum(np.abs(a), 1e-12)))
    ok &= report("12-month CLV, CDNOW (2,357)", ours_s, lt_s, 1.0, diff)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
