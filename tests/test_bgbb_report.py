"""BG/BB in the report (the ``periods`` setting): the holdout check and the CLV ranges.

Oracles: lifetimes' BetaGeoBetaBinomFitter (fit and conditional expectation) on a calibration
summary built here by brute force, one customer at a time, from simulated yearly purchases;
and the holdout's actual counts by the same brute force. The ranges: a naive loop over the
same parameter draws through the public model API (``set_params`` + ``expected_purchases``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlclv.report import pipeline as P
from xlclv.report.holdout import opportunity_holdout_check
from xlclv.report.inputs import WorkbookInputs
from xlclv.report.settings import Settings


def _simulated(n: int = 3000, seed: int = 5) -> pd.DataFrame:
    """BG/BB customers (Fader, Hardie & Shang 2010): first purchase in a year from 2012 to
    2016; at each later year she first drops out with probability theta, else buys with
    probability p; observed up to the end of 2023. Amounts vary by customer and year."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        first = int(rng.integers(2012, 2017))
        p, theta = rng.beta(1.2, 0.8), rng.beta(0.7, 2.8)
        month = int(rng.integers(1, 13))
        rows.append((f"C{i:05d}", pd.Timestamp(first, month, 1), 20.0 + i % 13))
        for year in range(first + 1, 2024):
            if rng.random() < theta:
                break
            if rng.random() < p:
                day = pd.Timestamp(year, int(rng.integers(1, 13)), int(rng.integers(1, 28)))
                rows.append((f"C{i:05d}", day, 20.0 + i % 13 + year % 5))
                if rng.random() < 0.2:  # a second purchase in the same year: one opportunity
                    rows.append((f"C{i:05d}", day + pd.Timedelta(days=1), 5.0))
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


@pytest.fixture(scope="module")
def tx():
    return _simulated()


def _by_hand(tx: pd.DataFrame, cal_year: int, end_year: int):
    """Calibration summary and holdout counts, one customer at a time."""
    out = []
    for _, g in tx.groupby("customer_id", sort=True):
        years = sorted(set(g["date"].dt.year))
        first = years[0]
        if first > cal_year:
            continue
        cal = [y - first for y in years if first < y <= cal_year]
        hold = [y for y in years if cal_year < y <= end_year]
        out.append((len(cal), max(cal, default=0), cal_year - first, len(hold)))
    return pd.DataFrame(out, columns=["x", "tx", "n", "hold"])


def test_bgbb_holdout_against_lifetimes(tx):
    from lifetimes import BetaGeoBetaBinomFitter

    check = opportunity_holdout_check(tx, pd.Timestamp("2023-12-31"), "Y")
    # 11 years after the earliest first purchase (2012): a quarter, rounded, is 3 years
    items = dict(check.items)
    assert items["Holdout calibration end"] == "2020-12-31"
    assert items["Holdout length (years)"] == 3
    ref = _by_hand(tx, 2020, 2023)
    assert items["Holdout customers"] == len(ref) == tx["customer_id"].nunique()
    lt = BetaGeoBetaBinomFitter().fit(ref["x"], ref["tx"], ref["n"])
    want = lt.conditional_expected_number_of_purchases_up_to_time(3, ref["x"], ref["tx"], ref["n"])
    table = check.table.set_index("Measure")
    got = table.loc["Years with a repeat purchase in the holdout"]
    assert got["Actual"] == ref["hold"].sum()
    assert got["Predicted"] == pytest.approx(float(np.sum(want)), rel=1e-4)
    for k in ("alpha", "beta", "gamma", "delta"):
        assert check.fitted.params_[k] == pytest.approx(lt.params_[k], rel=1e-3), k
    # by calibration frequency: the customers and their actual averages by hand
    cond = check.conditional.set_index("Purchases in calibration")
    groups = np.minimum(ref["x"], 7)
    for label, row in cond.iterrows():
        k = 7 if label == "7+" else int(label)
        mask = (groups == k).to_numpy()
        assert row["Customers"] == mask.sum()
        assert row["Actual (average)"] == pytest.approx(ref["hold"][mask].mean(), rel=1e-12)
        assert row["Predicted (average)"] == pytest.approx(
            np.mean(np.asarray(want)[mask]), rel=1e-4
        )
    assert "Holding out the last 3 years (after 2020-12-31)" in check.text
    assert f"{ref['hold'].sum():,.0f}" in check.text


def test_bgbb_holdout_length_from_holdout_weeks_and_too_short_data(tx):
    check = opportunity_holdout_check(tx, pd.Timestamp("2023-12-31"), "Y", holdout_weeks=104)
    assert dict(check.items)["Holdout length (years)"] == 2
    ref = _by_hand(tx, 2021, 2023)
    got = check.table.set_index("Measure").loc["Years with a repeat purchase in the holdout"]
    assert got["Actual"] == ref["hold"].sum()
    short = opportunity_holdout_check(tx, pd.Timestamp("2023-12-31"), "Y", holdout_weeks=10)
    assert dict(short.items)["Holdout check"] == "skipped" and "holdout_weeks = 10" in short.text
    one = tx[tx["date"].dt.year <= 2012]
    assert "skipped" in opportunity_holdout_check(one, pd.Timestamp("2012-12-31"), "Y").text


def test_the_report_with_periods_runs_the_bgbb_holdout(tx):
    inputs = WorkbookInputs(
        transactions=tx.astype(object),
        settings={"observation_end": pd.Timestamp("2023-12-31").date(), "periods": "Y"},
    )
    st = Settings.from_values(inputs.settings)
    data = P.clean(inputs, st)
    check = P.validate(data, st)
    alone = opportunity_holdout_check(tx, pd.Timestamp("2023-12-31"), "Y")
    pd.testing.assert_frame_equal(check.table, alone.table)
    assert check.text == alone.text and len(check.conditional) > 3


# -- CLV ranges -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bgbb_fits():
    """BG/BB on the published donations data, Gamma-Gamma on simulated spends of its donors."""
    from xlclv import simulate as sim
    from xlclv.datasets import load_donations
    from xlclv.models import BetaGeoBetaBinomModel, GammaGammaModel

    d = load_donations()
    d = d.loc[d.index.repeat(d["weights"].astype(int))].reset_index(drop=True)  # 11,104 donors
    rng = np.random.default_rng(9)
    d["monetary_value"] = np.round(sim.gamma_gamma_spend(d["frequency"], 6.0, 4.0, 20.0, rng), 2)
    d["monetary_value"] = np.where(d["frequency"] > 0, d["monetary_value"], 0.0)
    bgbb = BetaGeoBetaBinomModel().fit(d["frequency"], d["recency"], d["periods"])
    repeat = d[d["frequency"] > 0]
    gg = GammaGammaModel().fit(repeat["frequency"], repeat["monetary_value"])
    return d, bgbb, gg


def _naive_bgbb(result, d, months: int, horizon: float, margin: float, annual: float):
    """Per draw: set_params, each opportunity's expected transactions (eq. 13 differences),
    discounted by whole opportunities, times the Gamma-Gamma expected spend."""
    from xlclv.models import BetaGeoBetaBinomModel, GammaGammaModel

    x, tx, n, m = (d[c].to_numpy() for c in ("frequency", "recency", "periods", "monetary_value"))
    ahead = int(np.floor(horizon / months + 1e-9))
    out = np.empty((result.n_draws, len(d)))
    for k in range(result.n_draws):
        pm = BetaGeoBetaBinomModel().set_params(**result.purchase_draws.iloc[k].to_dict())
        sm = GammaGammaModel().set_params(**result.spend_draws.iloc[k].to_dict())
        value = np.zeros(len(d))
        for j in range(1, ahead + 1):
            step = pm.expected_purchases(j, x, tx, n) - pm.expected_purchases(j - 1, x, tx, n)
            value += step / (1 + annual) ** (j * months / 12)
        out[k] = value * sm.expected_spend(x, m) * margin
    return out


@pytest.mark.parametrize("months,horizon", [(12, 60), (3, 13.5)])
def test_bgbb_ranges_match_a_naive_loop_over_the_same_draws(bgbb_fits, months, horizon):
    from xlclv.intervals import clv_interval

    d, bgbb, gg = bgbb_fits
    sub = d.iloc[::25]
    args = [sub[c] for c in ("frequency", "recency", "periods", "monetary_value")]
    kw = dict(gross_margin=0.4, horizon_months=horizon, annual_discount_rate=0.08)
    r = clv_interval(bgbb, gg, *args, **kw, months_per_period=months, n_draws=80, seed=4)
    values = _naive_bgbb(r, sub, months, horizon, 0.4, 0.08)
    want = np.quantile(values, [0.1, 0.5, 0.9], axis=0).T
    np.testing.assert_allclose(r.customers[["p10", "p50", "p90"]], want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(r.total_draws, values.sum(axis=1), rtol=1e-9)
    assert (r.total["p10"] < r.total["clv"] < r.total["p90"]) and r.total["p10"] > 0


def test_bgbb_ranges_need_the_opportunity_length(bgbb_fits):
    from xlclv import InputError
    from xlclv.intervals import clv_interval

    d, bgbb, gg = bgbb_fits
    args = [d[c].iloc[:5] for c in ("frequency", "recency", "periods", "monetary_value")]
    with pytest.raises(InputError, match="months_per_period"):
        clv_interval(bgbb, gg, *args, n_draws=5)
    with pytest.raises(InputError, match="months_per_period"):
        clv_interval(bgbb, gg, *args, months_per_period=1.5, n_draws=5)
    with pytest.raises(InputError, match="BG/BB model only"):
        from xlclv.models import BetaGeoModel

        bg = BetaGeoModel().set_params(r=0.25, alpha=4.4, a=0.8, b=2.4)  # checked first
        clv_interval(bg, gg, *args, months_per_period=12, n_draws=5)


def test_the_report_with_periods_shows_bgbb_ranges(tx):
    """The Customers, Segments and Dashboard ranges are the public clv_interval's (same
    seed and draws), scaled by 1 - the return rate; the point value is the report's."""
    from xlclv.intervals import clv_interval

    tx = tx.assign(region=np.where(tx["customer_id"].str[-1] < "5", "North", "South"))
    inputs = WorkbookInputs(
        transactions=tx.astype(object),
        settings={
            "observation_end": pd.Timestamp("2023-12-31").date(),
            "periods": "Y",
            "horizon_months": 36,
            "gross_margin": 0.3,
        },
    )
    st = Settings.from_values(inputs.settings)
    r = P.build_report(inputs, st)
    c = r.customers
    rfm = [c[h] for h in ("Frequency", "Recency (Y)", "T (Y)")]
    # the mean spend per repeat year, by hand from the transactions
    q = tx.assign(k=tx["date"].dt.year)
    q["k"] -= q.groupby("customer_id")["k"].transform("min")
    spend = q[q["k"] > 0].groupby(["customer_id", "k"])["amount"].sum().groupby(level=0).mean()
    m = spend.reindex(c["Customer ID"]).fillna(0.0).to_numpy()
    fits = P.fit(P.summarise(P.clean(inputs, st), st), P.clean(inputs, st), st)
    kw = dict(gross_margin=0.3, horizon_months=36, annual_discount_rate=st.annual_discount_rate)
    ref = clv_interval(
        fits.purchase, fits.spend, *rfm, m, **kw, months_per_period=12,
        n_draws=P.RANGE_DRAWS, quantiles=(0.1, 0.9), seed=P.RANGE_SEED, groups=c["region"],
    )  # fmt: skip
    scale = 1.0 - r.summary["return_rate"]
    np.testing.assert_allclose(c["Predicted CLV"], ref.customers["clv"] * scale, rtol=1e-9)
    np.testing.assert_allclose(c["Predicted CLV (P10)"], ref.customers["p10"] * scale, rtol=1e-9)
    np.testing.assert_allclose(c["Predicted CLV (P90)"], ref.customers["p90"] * scale, rtol=1e-9)
    lo, hi = r.summary["total_clv_range"]
    assert lo == pytest.approx(ref.total["p10"] * scale, rel=1e-9)
    assert hi == pytest.approx(ref.total["p90"] * scale, rel=1e-9)
    seg = r.segments["region"].set_index("region")
    for label in ("North", "South"):
        want = ref.groups.loc[label, ["p10", "p90"]].to_numpy(dtype=float) * scale
        got = seg.loc[label, ["Predicted CLV (P10)", "Predicted CLV (P90)"]].to_numpy(float)
        np.testing.assert_allclose(got, want, rtol=1e-9)
    assert "CLV range (P10 to P90)" in r.model_fit["Item"].tolist()
    assert not any("ranges are not" in n for n in r.summary["notes"])
