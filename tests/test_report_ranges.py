"""The report's CLV ranges (P10/P90) and churn risk (issue 12).

The ranges must be exactly what the public :mod:`xlclv.intervals` API gives for the same fits,
draws and seed (one call per dimension there, one stacked call in the report), scaled by the
return rate; the churn column must be the likelihood ratio of a longer quiet spell under the
chosen model, from lifetimes' own likelihood (see tests/test_udfs_mbg_bgbb.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from xlclv import InputError
from xlclv.report import pipeline as P
from xlclv.report.sample import sample_inputs
from xlclv.report.settings import Settings


def _stages(model: str, n_customers: int = 500, **settings):
    inputs = sample_inputs(n_customers=n_customers)
    st = Settings.from_values(inputs.settings, model=model, **settings)
    data = P.clean(inputs, st)
    base = P.summarise(data, st)
    fits = P.fit(base, data, st)
    return inputs, st, data, base, fits


@pytest.fixture(scope="module")
def mbg():
    inputs, st, data, base, fits = _stages("MBGNBD", churn_horizon_days=60)
    values = P.value(base, fits, data, st)
    groups = P.segment(inputs, data, base, values, st)
    return st, data, base, fits, values, groups


def test_churn_horizon_setting_defaults_to_90_days_and_is_checked():
    assert Settings().churn_horizon_days == 90
    assert Settings.from_values({"churn_horizon_days": "30"}).churn_horizon_days == 30
    for bad in (0, -5, 4000, "soon"):
        with pytest.raises(InputError, match="Setting 'churn_horizon_days'"):
            Settings.from_values({"churn_horizon_days": bad})


def test_ranges_are_the_public_interval_api_per_dimension(mbg):
    from xlclv.intervals import clv_group_interval, clv_interval

    st, data, base, fits, values, _ = mbg
    rfm = base.rfm
    args = [rfm[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value")]
    common = dict(
        gross_margin=st.gross_margin, horizon_months=st.horizon_months,
        annual_discount_rate=st.annual_discount_rate, time_unit=st.time_unit,
        n_draws=1000, quantiles=(0.1, 0.9), seed=P.RANGE_SEED,
    )  # fmt: skip
    scale = 1.0 - values.return_rate
    whole = clv_interval(fits.purchase, fits.spend, *args, **common)
    np.testing.assert_allclose(values.ranges.p10, whole.customers["p10"] * scale, rtol=1e-9)
    np.testing.assert_allclose(values.ranges.p90, whole.customers["p90"] * scale, rtol=1e-9)
    assert values.ranges.total == pytest.approx(
        (whole.total["p10"] * scale, whole.total["p90"] * scale), rel=1e-9
    )
    assert len(data.dims) == 2
    for d in data.dims:
        labels = data.tx[d].iloc[base.first_row].to_numpy(dtype=object)
        ref = clv_group_interval(fits.purchase, fits.spend, *args, labels, **common)
        got = values.ranges.segments[d]
        for label in ref.index:
            assert got.loc[label, "p10"] == pytest.approx(ref.loc[label, "p10"] * scale, rel=1e-9)
            assert got.loc[label, "p90"] == pytest.approx(ref.loc[label, "p90"] * scale, rel=1e-9)


def test_customers_and_segments_show_the_ranges_beside_predicted_clv(mbg):
    st, data, base, fits, values, groups = mbg
    cols = list(groups.customers.columns)
    at = cols.index("Predicted CLV")
    assert cols[at + 1 : at + 3] == ["Predicted CLV (P10)", "Predicted CLV (P90)"]
    c = groups.customers
    inside = (c["Predicted CLV (P10)"] <= c["Predicted CLV"] + 1e-9) & (
        c["Predicted CLV"] <= c["Predicted CLV (P90)"] + 1e-9
    )
    assert inside.mean() > 0.95
    for d, table in groups.segments.items():
        assert table[["Predicted CLV (P10)", "Predicted CLV (P90)"]].notna().all().all(), d
        assert (table["Predicted CLV (P10)"] < table["Predicted CLV"]).all(), d
        assert (table["Predicted CLV"] < table["Predicted CLV (P90)"]).all(), d
        # the range of a segment's total is far narrower than the sum of its customers' ranges
        summed = (
            c.groupby(d)["Predicted CLV (P90)"].sum() - c.groupby(d)["Predicted CLV (P10)"].sum()
        )
        width = (
            table.set_index(d)["Predicted CLV (P90)"] - table.set_index(d)["Predicted CLV (P10)"]
        )
        assert (width < summed.reindex(width.index)).all()


def _lifetimes_mbg_ll(params, x, tx, T):
    from lifetimes import ModifiedBetaGeoFitter

    logp = np.log([params[k] for k in ("r", "alpha", "a", "b")])
    return np.array([
        -ModifiedBetaGeoFitter._negative_log_likelihood(
            logp, np.array([a]), np.array([b]), np.array([c]), np.array([1.0]), 0.0
        )
        for a, b, c in zip(x, tx, T, strict=True)
    ])  # fmt: skip


def test_churn_column_is_no_purchase_in_the_horizon_in_days(mbg):
    st, data, base, fits, values, groups = mbg
    header = "P(no purchase, next 60 days)"
    assert header in groups.customers.columns
    got = groups.customers[header].to_numpy()[:40]
    rfm = base.rfm.iloc[:40]
    x, tx, T = (rfm[c].to_numpy() for c in ("frequency", "recency", "T"))
    t = 60 / 7  # weeks
    ref = np.exp(_lifetimes_mbg_ll(fits.purchase.params_, x, tx, T + t) - _lifetimes_mbg_ll(fits.purchase.params_, x, tx, T))  # fmt: skip
    np.testing.assert_allclose(got, ref, rtol=1e-6)


def test_report_explains_ranges_and_one_time_buyers(mbg):
    st, data, base, fits, values, groups = mbg
    rows = P._fit_rows(data, base, fits, values, P.validate(data, st, fits), groups, st, base.first_day.min())  # fmt: skip
    items = dict(rows)
    assert "not in one customer's future purchases" in items["CLV range (P10 to P90)"]
    assert "next 60 days" in items["Churn risk"]
    ones = int((base.rfm["frequency"] == 0).sum())
    note = P.palive_note("MBGNBD", ones, st)
    assert f"{ones:,} one-time buyers" in note and "MBG/NBD (the model used)" in note
    bg = P.palive_note("BGNBD", ones, st)
    assert "100 %" in bg and "MBGNBD" in bg and "P(no purchase, next 60 days)" in bg
    assert "MBG/NBD would" in P.palive_note("PNBD", ones, st)


def test_no_ranges_with_the_mean_spend_fallback_a_note_says_why():
    from xlclv.report.fit import MeanSpend

    inputs, st, data, base, fits = _stages("MBGNBD", n_customers=200)
    fits.spend, fits.spend_note = MeanSpend(30.0), "fallback used"
    values = P.value(base, fits, data, st)
    assert values.ranges is None
    assert any("mean-spend fallback" in n for n in values.notes)
    customers = P.segment(inputs, data, base, values, st).customers
    assert "Predicted CLV (P10)" not in customers.columns


def test_an_interval_error_becomes_a_note_not_a_failure(monkeypatch):
    import xlclv.intervals
    from xlclv import FitError

    def fail(*args, **kwargs):
        raise FitError("the spend model is too uncertain for a range")

    monkeypatch.setattr(xlclv.intervals, "clv_interval", fail)
    inputs, st, data, base, fits = _stages("MBGNBD", n_customers=200)
    values = P.value(base, fits, data, st)
    assert values.ranges is None
    assert any("too uncertain for a range" in n for n in values.notes)


@pytest.mark.slow
def test_pareto_nbd_ranges_are_skipped_on_many_histories(monkeypatch):
    monkeypatch.setattr(P, "PNBD_RANGE_ROWS", 10)
    inputs, st, data, base, fits = _stages("PNBD", n_customers=200)
    values = P.value(base, fits, data, st)
    assert values.ranges is None
    assert any("Pareto/NBD ranges need" in n for n in values.notes)


def test_workbook_shows_churn_as_percent_and_the_total_range_on_the_dashboard(mbg, tmp_path):
    import openpyxl

    from xlclv.report.writer import write_report

    st, data, base, fits, values, groups = mbg
    report = P.assemble(data, base, fits, values, P.validate(data, st, fits), groups, st)
    path = write_report(report, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Customers"]
    headers = [c.value for c in ws[1]]
    col = headers.index("P(no purchase, next 60 days)") + 1
    assert "%" in ws.cell(row=2, column=col).number_format
    lo, hi = report.summary["total_clv_range"]
    texts = [
        c.value
        for row in wb["Dashboard"].iter_rows(max_row=12)
        for c in row
        if isinstance(c.value, str)
    ]
    assert any(f"P10-P90 {lo:,.0f} to {hi:,.0f}" in t for t in texts)
    assert any("MBG/NBD (the model used)" in t for t in texts)


# -- BG/BB in the report (periods setting) ----------------------------------------------------
def _donation_inputs(**settings):
    """The donations data (Fader, Hardie & Shang 2010) as gift transactions: every donor's
    first gift in 1995, her repeat gifts in the calendar years 1995 + k of her history."""
    import pandas as pd

    from xlclv.datasets import load_donations
    from xlclv.report.clean import WorkbookInputs

    rows = []
    donor = 0
    for x, tx, n, w in load_donations()[["frequency", "recency", "periods", "weights"]].itertuples(
        index=False
    ):
        assert n == 6
        for _ in range(int(w)):
            donor += 1
            amount = 25.0 + 5 * (donor % 7)
            rows.append((f"D{donor}", pd.Timestamp("1995-03-01"), amount))
            rows += [
                (f"D{donor}", pd.Timestamp(f"{1995 + k}-03-01"), amount + k)
                for k in range(int(tx) - int(x) + 1, int(tx) + 1)
            ]
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).astype(object)
    base = {
        "observation_end": pd.Timestamp("2001-12-31").date(),
        "periods": "Y",
        "horizon_months": 60,
    }
    return WorkbookInputs(transactions=tx, settings={**base, **settings})


@pytest.fixture(scope="module")
def donations_report():
    inputs = _donation_inputs()
    return P.build_report(inputs, Settings.from_values(inputs.settings))


def test_bgbb_report_reproduces_the_published_donations_fit(donations_report):
    r = donations_report
    params = r.model_params[r.model_params["Model"] == "BG/BB"].set_index("Parameter")["Estimate"]
    published = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    for k, v in published.items():  # half a unit of the published third decimal
        assert params[k] == pytest.approx(v, abs=5e-4), k
    assert len(r.customers) == 11_104
    assert r.summary["model"] == "BG/BB"
    assert "Recency (Y)" in r.customers.columns and "T (Y)" in r.customers.columns


def test_bgbb_report_values_are_discounted_yearly_expected_gifts(donations_report):
    from xlclv.models import BetaGeoBetaBinomModel

    r = donations_report
    params = r.model_params[r.model_params["Model"] == "BG/BB"].set_index("Parameter")["Estimate"]
    model = BetaGeoBetaBinomModel().set_params(**params.to_dict())
    c = r.customers.iloc[:200]
    x, tx, n = (c[h].to_numpy() for h in ("Frequency", "Recency (Y)", "T (Y)"))
    # 60 months = 5 yearly opportunities; gift j discounted j years at 10 %
    by_year = [
        model.expected_purchases(j, x, tx, n) - model.expected_purchases(j - 1, x, tx, n)
        for j in range(1, 6)
    ]
    expected = sum(g / 1.1**j for j, g in enumerate(by_year, start=1))
    margin = r.settings.gross_margin
    np.testing.assert_allclose(
        c["Predicted CLV"], c["Expected spend"] * margin * expected, rtol=1e-9
    )
    np.testing.assert_allclose(
        c["Expected purchases"], model.expected_purchases(5, x, tx, n), rtol=1e-9
    )
    assert any("BG/BB ranges are not implemented" in n for n in r.summary["notes"])


def test_periods_need_a_whole_last_period_and_no_other_model():
    inputs = _donation_inputs(observation_end="2001-06-30")
    with pytest.raises(
        InputError, match="not the last day of a year: set observation_end to 2000-12-31"
    ):
        P.build_report(inputs, Settings.from_values(inputs.settings))
    with pytest.raises(InputError, match="periods select the BG/BB model"):
        Settings.from_values({"periods": "Y", "model": "PNBD"})
    with pytest.raises(InputError, match="must be Y \\(years\\), Q \\(quarters\\) or M"):
        Settings.from_values({"periods": "fortnight"})
