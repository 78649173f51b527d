"""build_report on hand-built inputs (hand-computed expectations), Settings messages, edge cases."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from xlclv import InputError, WorkbookError
from xlclv.report.inputs import WorkbookInputs
from xlclv.report.pipeline import Report, Settings, build_report

ROWS = [
    # customer, date, amount, region, channel
    ("A", "2024-01-01", 100.0, "North", "Email"),
    ("A", "2024-01-15", 50.0, "North", "Email"),
    ("A", "2024-02-01", -20.0, "North", "Email"),  # a return
    ("B", "2024-02-05", 30.0, "South", "Email"),
    ("B", "2024-03-01", 25.0, "North", "Email"),  # B's segment stays South (first purchase)
    ("C", "2024-01-10", 40.0, "North", "Referral"),
    ("C", "2024-02-20", 60.0, "North", "Referral"),
    ("C", "2024-03-10", 20.0, "North", "Referral"),
    ("D", "2024-01-20", 10.0, "South", "Referral"),
]
CUSTOMER_HEADERS = [
    "Customer ID",
    "region",
    "channel",
    "First purchase",
    "Orders",
    "Revenue",
    "Historical CLV",
    "P(alive)",
    "P(no purchase, next 90 days)",  # churn risk: the chosen model's probability_no_purchase
    "Expected purchases",
    "Expected spend",
    "Predicted CLV",
    "Tier",
]


def tx(rows=ROWS, columns=("customer_id", "date", "amount", "region", "channel")):
    return pd.DataFrame([list(r) for r in rows], columns=list(columns), dtype=object)


def build(rows=ROWS, settings=None, **kw):
    return build_report(
        WorkbookInputs(transactions=tx(rows), **kw),
        settings or Settings(gross_margin=0.5, model="BGNBD"),
    )


@pytest.fixture(scope="module")
def small():
    nps = pd.DataFrame(
        {"customer_id": ["A", "C", "B", "D", "X"], "score": [10, 9, 3, 7, 10]}, dtype=object
    )
    marketing = pd.DataFrame(
        {"channel": ["Email", "Referral"], "spend": [300.0, 50.0], "new customers": [3, 5]},
        dtype=object,
    )
    return build(nps=nps, marketing=marketing)


def test_customer_table_by_hand(small):
    c = small.customers.set_index("Customer ID")
    assert list(small.customers.columns[: len(CUSTOMER_HEADERS)]) == CUSTOMER_HEADERS
    assert list(c.index) == ["A", "B", "C", "D"]
    # Revenue is net of returns: A = 100 + 50 - 20; Orders count purchases only
    assert c["Revenue"].tolist() == [130.0, 55.0, 120.0, 10.0]
    assert c["Orders"].tolist() == [2, 2, 3, 1]
    assert c["Historical CLV"].tolist() == [65.0, 27.5, 60.0, 5.0]  # x 0.5 margin
    assert c.loc["B", "region"] == "South"  # the value on the first transaction
    assert c.loc["B", "First purchase"] == pd.Timestamp("2024-02-05")
    assert c["Frequency"].tolist() == [1.0, 1.0, 2.0, 0.0]
    assert c.loc["C", "Recency (W)"] == pytest.approx(60 / 7)  # 10 Jan -> 10 Mar
    assert c.loc["A", "T (W)"] == pytest.approx(69 / 7)  # 1 Jan -> 10 Mar (last date)
    # 4 customers: one "Top 10%" (ceil 0.4), one "Next 20%" (ceil 1.2 = 2 in all)
    ranked = c.sort_values("Predicted CLV", ascending=False)["Tier"].tolist()
    assert ranked == ["Top 10%", "Next 20%", "Rest", "Rest"]
    for col in ("P(alive)", "Expected purchases", "Expected spend", "Predicted CLV"):
        assert c[col].notna().all() and (c[col] >= 0).all()
    assert c["P(alive)"].le(1).all()


def test_returns_reduce_predicted_clv_by_the_return_rate():
    # The return is not a purchase, so the models see the same data without it; the
    # predicted CLV is scaled by 1 - returns / gross sales = 1 - 20 / 335.
    with_return = build().customers.set_index("Customer ID")
    without = build([r for r in ROWS if r[2] > 0]).customers.set_index("Customer ID")
    np.testing.assert_allclose(
        with_return["Predicted CLV"], without["Predicted CLV"] * (1 - 20 / 335), rtol=1e-9
    )
    assert with_return.loc["A", "Revenue"] == without.loc["A", "Revenue"] - 20


def test_segments_with_nps_and_cac(small):
    region = small.segments["region"].set_index("region")
    assert list(small.segments) == ["region", "channel"]
    assert region.loc["North", "Customers"] == 2 and region.loc["South", "Customers"] == 2
    assert region.loc["North", "Revenue"] == 250.0  # A 130 + C 120
    assert region.loc["South", "Revenue"] == 65.0  # B 55 + D 10
    total = small.customers["Predicted CLV"].sum()
    assert region["Predicted CLV"].sum() == pytest.approx(total)
    assert region["Share of predicted CLV"].sum() == pytest.approx(1.0)
    # NPS: North = A 10, C 9 -> 100; South = B 3 (detractor), D 7 (passive) -> -50
    assert region.loc["North", "NPS"] == 100.0 and region.loc["South", "NPS"] == -50.0
    assert region["NPS responses"].tolist() == [2, 2] or set(region["NPS responses"]) == {2}
    channel = small.segments["channel"].set_index("channel")
    assert channel.loc["Email", "CAC"] == 100.0 and channel.loc["Referral", "CAC"] == 10.0
    assert channel.loc["Email", "LTV:CAC"] == pytest.approx(
        channel.loc["Email", "Avg predicted CLV"] / 100.0
    )
    assert "CAC" not in small.segments["region"].columns


def test_cohorts_and_curves_by_hand(small):
    cohorts = small.cohorts.set_index("Cohort")
    assert cohorts["Customers"].to_dict() == {"2024-01": 3, "2024-02": 1}  # monthly: < 1 year
    assert cohorts.loc["2024-01", "Revenue"] == 260.0
    curves = small.cohort_curves.set_index("Month")
    # 2024-01 (A, C, D): month 0 = 100 + 50 + 40 + 10 = 200; month 1 adds -20 (A, day 31),
    # 60 (C, day 41) and 20 (C, day 60 < 60.9): 260; per customer / 3.
    assert curves["2024-01"].tolist() == pytest.approx([200 / 3, 260 / 3])
    assert curves["2024-02"].tolist() == pytest.approx([55.0, 55.0])


def test_model_tables_and_summary(small):
    params = small.model_params
    assert list(params.columns) == ["Model", "Parameter", "Estimate", "Std. error"]
    assert params.loc[params["Model"] == "BG/NBD", "Parameter"].tolist() == ["r", "alpha", "a", "b"]
    fit = dict(zip(small.model_fit["Item"], small.model_fit["Value"], strict=False))
    assert fit["Return rate"] == pytest.approx(20 / 335)
    assert fit["Gross sales"] == 335.0 and fit["Returns"] == 20.0
    assert fit["Customers"] == 4
    s = small.summary
    # one issue: NPS respondent "X" is not a customer (see the test below)
    assert s["customers"] == 4 and s["issues"] == 1 and s["currency"] == "USD"
    assert s["total_predicted_clv"] == pytest.approx(small.customers["Predicted CLV"].sum())
    assert s["top_segment"].startswith("region: ")
    assert len(small.palive_distribution) == 10
    assert small.palive_distribution["Customers"].sum() == 4
    assert small.concentration["Share of predicted CLV"].iloc[-1] == pytest.approx(1.0)
    assert isinstance(small, Report)


def test_issues_flow_into_the_report():
    rows = [*ROWS, ("E", "not a date", 5.0, "North", "Email"), (None, "2024-01-02", 5.0, "x", "y")]
    report = build(rows)
    assert report.issues["Row"].tolist() == [11, 12]
    assert report.summary["issues"] == 2
    assert report.summary["customers"] == 4


def test_progress_reports_each_stage_in_order():
    from xlclv.report.pipeline import STAGES

    phases = []
    build_report(WorkbookInputs(transactions=tx()), Settings(), progress=phases.append)
    assert phases == list(STAGES)
    assert STAGES == ("clean", "summarise", "fit", "value", "validate", "segment", "assemble")


def test_segment_by_selects_and_checks_columns():
    report = build(settings=Settings(segment_by=["Channel"]))
    assert list(report.segments) == ["channel"]
    assert "region" not in report.customers.columns
    with pytest.raises(
        WorkbookError,
        match=r"Setting 'segment_by' names 'store', which is not a column of sheet "
        r"'Transactions'; segment columns found: region, channel",
    ):
        build(settings=Settings(segment_by=["store"]))


def test_marketing_by_an_unknown_dimension_is_explained():
    marketing = pd.DataFrame({"campaign": ["x"], "spend": [1.0], "new_customers": [1.0]})
    report = build(marketing=marketing)
    notes = " ".join(report.summary["notes"])
    assert "gives spend by 'campaign', which is not a segment column" in notes


# -- the holdout check --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_report():
    from xlclv.report.sample import sample_inputs

    return build_report(sample_inputs())


def test_holdout_compares_with_independently_counted_purchases(sample_report):
    from xlclv.report.inputs import clean_transactions
    from xlclv.report.sample import sample_inputs

    fit = dict(zip(sample_report.model_fit["Item"], sample_report.model_fit["Value"], strict=False))
    cal_end = pd.Timestamp(fit["Holdout calibration end"])
    clean, _ = clean_transactions(sample_inputs().transactions)
    buys = clean[clean["amount"] > 0]
    first = buys.groupby("customer_id")["date"].min()
    early = first[first <= cal_end].index
    later = buys[(buys["date"] > cal_end) & buys["customer_id"].isin(early)]
    actual = len(later.drop_duplicates(["customer_id", "date"]))  # purchase days
    table = sample_report.holdout.set_index("Measure")
    assert table.loc["Repeat purchases in the holdout", "Actual"] == actual
    predicted = table.loc["Repeat purchases in the holdout", "Predicted"]
    assert abs(predicted - actual) / actual < 0.15  # the sample follows the model
    text = sample_report.holdout_text
    assert re.search(r"^Holding out the last 26 weeks .* predicted [\d,]+ repeat purchases", text)
    assert f"actually made {actual:,}" in text


def test_pareto_nbd_model_option(sample_report):
    from xlclv.report.sample import SAMPLE_SETTINGS, sample_inputs

    settings = Settings.from_values({**SAMPLE_SETTINGS, "model": "Pareto/NBD"})
    report = build_report(sample_inputs(), settings)
    params = report.model_params
    assert params.loc[params["Model"] == "Pareto/NBD", "Parameter"].tolist() == [
        "r",
        "alpha",
        "s",
        "beta",
    ]
    # both models describe the same customers (same margin 0.3): totals within 25 %
    ratio = report.summary["total_predicted_clv"] / sample_report.summary["total_predicted_clv"]
    assert 0.75 < ratio < 1.25


# -- edge cases ---------------------------------------------------------------------------------


def test_empty_data_is_a_clear_message():
    with pytest.raises(InputError, match="has no transactions: paste customer_id"):
        build([])


def test_all_rows_rejected_is_a_clear_message():
    with pytest.raises(InputError, match=r"all 2 rows were rejected, e.g. row 2: date 'x'"):
        build([("A", "x", 1.0, "a", "b"), ("B", "y", 1.0, "a", "b")])


def test_only_returns_is_a_clear_message():
    with pytest.raises(InputError, match="has no purchases"):
        build([("A", "2024-01-01", -5.0, "a", "b")])


def test_all_one_time_buyers_is_a_clear_message():
    rows = [(c, f"2024-01-0{i + 1}", 10.0, "a", "b") for i, c in enumerate("ABC")]
    with pytest.raises(InputError, match="Every one of the 3 customers bought only once"):
        build(rows)


def test_one_customer_gets_a_report_with_the_mean_spend_fallback():
    rows = [
        ("A", d, a, "North", "Web")
        for d, a in [("2024-01-01", 10.0), ("2024-02-01", 30.0), ("2024-04-01", 20.0)]
    ]
    report = build(rows)
    assert len(report.customers) == 1
    assert report.customers["Tier"].tolist() == ["Top 10%"]
    # Gamma-Gamma needs two repeat buyers; the mean purchase is (10 + 30 + 20) / 3 = 20
    assert report.customers["Expected spend"].tolist() == [20.0]
    assert any("mean purchase amount, 20.00" in n for n in report.summary["notes"])
    assert "Mean spend (fallback)" in report.model_params["Model"].tolist()


# -- settings -----------------------------------------------------------------------------------


def test_settings_from_values_reads_sheet_cells_and_overrides():
    s = Settings.from_values(
        {
            "gross_margin": "40%",
            "Annual discount rate": 0.08,
            "horizon_months": 24.0,
            "time_unit": "months",
            "observation_end": 45657.0,  # Excel serial of 2024-12-31
            "segment_by": "region, channel",
            "currency": "eur",
            "model": "",
            "unknown": "ignored",
        },
        horizon_months=6,
    )
    assert s == Settings(
        gross_margin=0.4,
        annual_discount_rate=0.08,
        horizon_months=6.0,
        time_unit="M",
        observation_end=dt.date(2024, 12, 31),
        segment_by=["region", "channel"],
        currency="EUR",
        model="AUTO",  # blank = the default
    )
    assert Settings.from_values({}) == Settings()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"gross_margin": 1.4},
            r"Setting 'gross_margin' must be between 0 and 1, got 1.4 \(enter 40% as 0.4 or "
            r"40%\) \(sheet 'Settings'\)",
        ),
        ({"gross_margin": 0}, r"Setting 'gross_margin' must be between 0 and 1, got 0"),
        ({"gross_margin": "lots"}, r"Setting 'gross_margin' must be a number, got 'lots'"),
        (
            {"annual_discount_rate": 10},
            r"Setting 'annual_discount_rate' must be at least 0 and below 1, got 10 \(enter 10%",
        ),
        ({"horizon_months": -1}, r"Setting 'horizon_months' must be a number of months above 0"),
        ({"time_unit": "Y"}, r"Setting 'time_unit' must be D \(days\), W \(weeks\) or M"),
        ({"observation_end": "last week"}, r"Setting 'observation_end' must be a date"),
        ({"currency": "US Dollar"}, r"Setting 'currency' must be a currency code"),
        ({"model": "RFM"}, r"Setting 'model' must be AUTO .* or one of BGNBD \(BG/NBD\), PNBD"),
        ({"segment_by": 3.0}, r"Setting 'segment_by' must be column names separated by commas"),
    ],
)
def test_settings_messages_name_the_setting(values, message):
    with pytest.raises(InputError, match=message):
        Settings.from_values(values)


def test_override_errors_do_not_blame_the_sheet():
    with pytest.raises(InputError, match=r"got 2 \(enter 40% as 0.4 or 40%\)$"):
        Settings.from_values({}, gross_margin=2)
    with pytest.raises(InputError, match="Unknown setting 'margin'"):
        Settings.from_values({}, margin=0.3)
    with pytest.raises(InputError, match="Setting 'gross_margin'"):
        Settings(gross_margin=3)


def test_ids_and_segments_that_look_like_formulas_stay_text():
    rows = [
        ("=1+1", "2024-01-01", 10.0, "@SUM(A1)", "+cmd"),
        ("=1+1", "2024-02-01", 20.0, "@SUM(A1)", "+cmd"),
        (7.0, "2024-01-05", 5.0, 12.0, "-x"),
        (7.0, "2024-03-01", 5.0, 12.0, "-x"),
    ]
    report = build(rows)
    c = report.customers
    assert c["Customer ID"].tolist() == ["7", "=1+1"]
    assert c["region"].tolist() == ["12", "@SUM(A1)"]
    assert all(isinstance(v, str) for v in c["channel"])
    assert set(report.segments["channel"]["channel"]) == {"+cmd", "-x"}


def test_columns_with_too_many_values_are_not_segments_unless_named():
    rows = [(r[0], r[1], r[2], r[3], f"order-{i}") for i, r in enumerate(ROWS * 6)]
    rows = [(c if k < 9 else f"{c}{k}", d, a, reg, o) for k, (c, d, a, reg, o) in enumerate(rows)]
    report = build(rows)
    assert list(report.segments) == ["region"]  # 54 different order ids > 50
    assert any("'channel' (54 different values, too many" in n for n in report.summary["notes"])
    assert report.summary["segments_skipped"] == [
        ("channel", "54 different values, too many for a segment (at most 50)")
    ]
    forced = build(rows, settings=Settings(segment_by=["channel"]))
    assert list(forced.segments) == ["channel"]


def test_a_single_one_time_buyer_is_a_clear_message():
    with pytest.raises(InputError, match=r"^The only customer bought only once .* by 2024-01-01"):
        build([("A", "2024-01-01", 10.0, "a", "b")])


def test_nps_answers_from_unknown_customers_are_reported(small):
    # "X" answered the survey (NPS row 6: header in row 1, A, C, B, D, X below) but never bought.
    nps_issues = small.issues[small.issues["Sheet"] == "NPS"]
    assert nps_issues[["Row", "Column", "Value"]].values.tolist() == [[6, "customer_id", "X"]]
    assert "not found on sheet 'Transactions'" in nps_issues["Problem"].iloc[0]
