"""Each stage of the report pipeline on its own, against hand calculations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlclv import InputError
from xlclv.report import pipeline as p
from xlclv.report.inputs import WorkbookInputs
from xlclv.report.settings import Settings

# customer, date, amount, region (rows deliberately out of date order)
ROWS = [
    ("B", "2024-03-01", 25.0, "North"),
    ("A", "2024-01-15", 50.0, "North"),
    ("A", "2024-01-01", 100.0, "West"),
    ("B", "2024-02-05", 30.0, "South"),
    ("A", "2024-02-01", -20.0, "North"),  # a return
    ("R", "2024-02-10", -15.0, "East"),  # only a return: not a customer
    ("C", "2024-01-10", 40.0, "North"),
    ("C", "2024-02-20", 60.0, "North"),
]


def inputs(rows=ROWS) -> WorkbookInputs:
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount", "region"], dtype=object)
    return WorkbookInputs(transactions=frame)


def test_clean_codes_customers_and_sets_aside_returns_only_customers():
    data = p.clean(inputs(), Settings())
    assert data.only_returns == 1  # R
    assert "R" not in set(data.tx["customer_id"])
    [r] = data.issues[data.issues["Value"] == "R"].to_dict("records")
    assert r["Row"] == 7 and "no purchase" in r["Problem"] and "return rate" in r["Problem"]
    assert data.end == pd.Timestamp("2024-03-01")  # the last date, observation_end unset
    assert data.dims == ["region"]
    assert len(data.codes) == len(data.tx) == 7
    assert set(data.uniques[data.codes]) == {"A", "B", "C"}


def test_summarise_finds_each_first_purchase_whatever_the_row_order():
    data = p.clean(inputs(), Settings())
    base = p.summarise(data, Settings())
    firsts = {
        cid: data.tx["region"].iloc[r]
        for cid, r in zip(base.rfm.index, base.first_row, strict=True)
    }
    assert firsts == {"A": "West", "B": "South", "C": "North"}  # from 01-01, 02-05, 01-10
    days = dict(
        zip(base.rfm.index, pd.to_datetime(base.first_day).strftime("%Y-%m-%d"), strict=True)
    )
    assert days == {"A": "2024-01-01", "B": "2024-02-05", "C": "2024-01-10"}
    # hand RFM in weeks: A bought 01-01 and 01-15 (the return is no purchase)
    a = base.rfm.loc["A"]
    assert (a["frequency"], a["recency"], a["T"]) == pytest.approx((1, 14 / 7, 60 / 7))


def test_summarise_stops_when_nobody_bought_twice():
    one_each = [("A", "2024-01-01", 10.0, "N"), ("B", "2024-02-01", 20.0, "N")]
    data = p.clean(inputs(one_each), Settings())
    with pytest.raises(InputError, match="Every one of the 2 customers bought only once"):
        p.summarise(data, Settings())


def test_value_return_rate_by_hand():
    settings = Settings()
    data = p.clean(inputs(), settings)
    base = p.summarise(data, settings)
    from xlclv.models import BetaGeoModel
    from xlclv.report.fit import MeanSpend

    fits = p.Fits(BetaGeoModel().set_params(r=1, alpha=2, a=1, b=3), MeanSpend(40.0), "x", [])
    values = p.value(base, fits, data, settings)
    # gross purchases 25+50+100+30+40+60 = 305; returns 20 + R's 15 (issue 10: a customer
    # with only returns does not take the returns out of the return rate)
    assert values.gross == pytest.approx(305.0)
    assert values.returned == pytest.approx(35.0)
    assert values.return_rate == pytest.approx(35 / 305)
    assert np.all(values.spend == 40.0)
    assert values.p_alive.shape == values.predicted.shape == (3,)


def test_value_predicted_clv_and_expected_purchases_by_hand():
    """Predicted CLV = spend x margin x sum over months m of the expected purchases in month m
    (mpmath BG/NBD, Fader, Hardie & Lee 2005 eq. 10, at calendar months of 365.25 / 12 / 7
    weeks), each discounted by 1.1 ** (m / 12), x (1 - returns / gross purchases)."""
    from tests.models._references import bg_expected
    from xlclv.models import BetaGeoModel
    from xlclv.report.fit import MeanSpend

    settings = Settings(gross_margin=0.3, horizon_months=12, annual_discount_rate=0.1)
    data = p.clean(inputs(), settings)
    base = p.summarise(data, settings)
    params = dict(r=1, alpha=2, a=1, b=3)
    fits = p.Fits(BetaGeoModel().set_params(**params), MeanSpend(40.0), "x", [])
    values = p.value(base, fits, data, settings)
    # (x, t_x, T) in weeks to the end 2024-03-01, from ROWS (the return is no purchase)
    rfm = {"A": (1, 14 / 7, 60 / 7), "B": (1, 25 / 7, 25 / 7), "C": (1, 41 / 7, 51 / 7)}
    month = 365.25 / 12 / 7
    net = 1 - 35 / 305  # returns 20 + 15 over gross purchases 305
    assert sorted(base.rfm.index) == sorted(rfm)
    for i, cid in enumerate(base.rfm.index):
        cumulative = [float(bg_expected(*params.values(), *rfm[cid], m * month)) for m in range(13)]
        by_month = np.diff(cumulative)
        clv = 40.0 * 0.3 * sum(by_month[m - 1] / 1.1 ** (m / 12) for m in range(1, 13)) * net
        assert values.predicted[i] == pytest.approx(clv, rel=1e-9), cid
        assert values.expected[i] == pytest.approx(cumulative[12], rel=1e-9), cid


def test_validate_skips_a_short_period():
    data = p.clean(inputs(), Settings())
    short = p.Cleaned(**{**data.__dict__, "end": pd.Timestamp("2024-01-20")})
    check = p.validate(short, Settings())
    assert check.items == [("Holdout check", "skipped")]
    assert "at least four weeks" in check.text


def test_build_report_is_the_stages_in_order():
    seen = []
    report = p.build_report(inputs(), Settings(), progress=seen.append)
    assert seen == list(p.STAGES)
    assert report.summary["customers"] == 3


def test_clean_takes_the_reading_settings_without_a_reader():
    """The Excel button hands cells, not a file: the Settings cells date_order, columns and
    decimal_separator must still reach the cleaning."""
    rows = [
        ("A", "03/04/2024", "1.234,50", "N"),
        ("A", "05/04/2024", "10,00", "N"),
        ("B", "04/03/2024", "7,25", "S"),
    ]
    frame = pd.DataFrame(rows, columns=["Client", "Order Day", "Total", "region"], dtype=object)
    settings = Settings(
        columns={"customer_id": "Client", "date": "Order Day", "amount": "Total"},
        date_order="DMY",
        decimal_separator=",",
    )
    data = p.clean(WorkbookInputs(transactions=frame), settings)
    got = data.tx.sort_values(["customer_id", "date"])
    assert got["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-04-03",
        "2024-04-05",
        "2024-03-04",
    ]
    assert got["amount"].tolist() == [1234.5, 10.0, 7.25]


def test_a_missing_column_message_lists_only_the_users_columns():
    frame = pd.DataFrame([("A", "2024-01-01", 5)], columns=["Client", "Day", "Total"], dtype=object)
    with pytest.raises(Exception, match=r"found: Client, Day, Total\. Rename") as info:
        p.clean(WorkbookInputs(transactions=frame), Settings())
    assert "__xlclv" not in str(info.value)
