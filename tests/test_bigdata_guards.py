"""The big-data path applies the workbook path's guards that change or qualify numbers:
a Currency column with two codes stops the run, float ids of 2^53 or more stop it, and
purchases a status column calls refunded are reported (a warning above max_rejected_share).
Expected rows, counts and shares by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xlclv._errors import InputError, WorkbookError
from xlclv.report import Settings, build_report
from xlclv.report import bigdata as bd
from xlclv.report.cli import read_inputs

_DAYS = ["2024-01-03", "2024-02-10", "2024-05-01", "2024-01-20", "2024-03-15", "2024-02-01"]
_DAYS += ["2024-06-20", "2024-04-04"]
_IDS = ["a", "a", "a", "b", "b", "c", "c", "d"]
_AMOUNTS = [100.0, 50.0, 30.0, 80.0, 20.0, 45.0, 60.0, 15.0]  # purchase revenue 400


def _parquet(tmp_path, **extra):
    frame = pd.DataFrame(
        {"customer_id": _IDS, "date": pd.to_datetime(_DAYS), "amount": _AMOUNTS, **extra}
    )
    path = tmp_path / "tx.parquet"
    frame.to_parquet(path, index=False)
    return path


def _big(path, **settings):
    return bd.build_report_big(path, Settings(model="BGNBD", **settings))


def test_a_currency_column_with_two_codes_stops(tmp_path):
    codes = ["EUR", "EUR", "EUR", "USD", "EUR", "EUR", "EUR", "EUR"]
    with pytest.raises(WorkbookError) as err:
        _big(_parquet(tmp_path, Currency=codes))
    assert "'EUR' (row 2) and 'USD' (row 5)" in str(err.value)


def test_one_currency_code_names_the_report(tmp_path):
    big = _big(_parquet(tmp_path, currency_code=["CHF"] * 8))
    assert big.report.summary["currency"] == "CHF"


def test_float_ids_past_two_to_the_53_stop(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": np.array([2.0**53, 2.0**53 + 2, 5.0, 5.0]),
            "date": pd.to_datetime(["2024-01-03", "2024-02-10", "2024-01-20", "2024-03-15"]),
            "amount": [10.0, 20.0, 5.0, 7.0],
        }
    )
    path = tmp_path / "f.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(InputError, match=r"first in row 2.*as text"):
        _big(path)


def test_refunded_purchases_are_a_warning_with_their_share(tmp_path):
    status = ["paid", "refunded", "paid", "paid", "partially_refunded", "paid", "paid", "paid"]
    big = _big(_parquet(tmp_path, **{"Financial Status": status}))
    warning = " ".join(big.report.summary["warnings"])
    assert "2 purchase row(s)" in warning and "17.5% of purchase revenue" in warning  # 70/400
    assert "rows 3, 6" in warning
    assert big.report.customers["Revenue"].sum() == pytest.approx(400.0)


def test_a_small_refunded_share_is_a_note(tmp_path):
    status = ["paid"] * 7 + ["Cancelled"]
    big = _big(_parquet(tmp_path, Status=status), max_rejected_share=0.05)  # 15/400
    assert not any("purchase row(s)" in w for w in big.report.summary["warnings"])
    assert any("1 purchase row(s) have 'Cancelled'" in n for n in big.report.summary["notes"])


def _ids_parquet(tmp_path, ids):
    frame = pd.DataFrame({"customer_id": ids, "date": pd.to_datetime(_DAYS), "amount": _AMOUNTS})
    path = tmp_path / "ids.parquet"
    frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_e_mail_ids_in_two_cases_are_one_customer_as_on_the_workbook_path(tmp_path, kind):
    """The workbook path (pandas, checks.case_variants) is the oracle: the same customers,
    each spelled as its first row, the same orders and revenue, and the same note. A return
    written 'E@x.com' joins the purchase of 'e@x.com' (alone it would be a customer with
    only returns)."""
    ids = ["A@x.com", "a@x.com", "a@x.com", "b@x.com", "B@X.COM", "c@x.com", "C@x.com"]
    ids += ["d@x.com", "e@x.com", "E@x.com"]
    days = [*_DAYS, "2024-05-05", "2024-05-06"]
    amounts = [*_AMOUNTS, 25.0, -5.0]
    frame = pd.DataFrame({"customer_id": ids, "date": days, "amount": amounts})
    path = tmp_path / f"ids.{kind}"
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.assign(date=pd.to_datetime(frame["date"])).to_parquet(path, index=False)
    settings = Settings(model="BGNBD", include_zero_amounts=False)
    big = bd.build_report_big(path, settings).report
    mem = build_report(read_inputs(path), settings)
    columns = ["Customer ID", "Orders", "Revenue", "First purchase"]
    pd.testing.assert_frame_equal(
        big.customers[columns].sort_values("Customer ID").reset_index(drop=True),
        mem.customers[columns].sort_values("Customer ID").reset_index(drop=True),
    )
    assert sorted(big.customers["Customer ID"]) == [
        "A@x.com",
        "b@x.com",
        "c@x.com",
        "d@x.com",
        "e@x.com",
    ]
    note = [n for n in mem.summary["notes"] if "e-mail address(es)" in n]
    assert note == [n for n in big.summary["notes"] if "e-mail address(es)" in n]
    assert note[0].startswith(
        "4 e-mail address(es) appear in different upper/lower case (e.g. 'A@x.com' and 'a@x.com')"
    )


def test_other_ids_in_two_cases_stay_apart_with_a_note(tmp_path):
    ids = ["ab1", "AB1", "ab1", "b", "b", "c", "c", "d"]
    big = _big(_ids_parquet(tmp_path, ids))
    assert big.report.summary["customers"] == 5
    assert any("'AB1' and 'ab1'" in n for n in big.report.summary["notes"])


@pytest.mark.parametrize(
    ("given", "later"),
    [("2GB", "1000MB"), ("1.5GB", "750MB"), ("400MB", "256MB"), ("200MB", "200MB")]
    + [("2GiB", "1073MB"), ("8 gb", "4000MB"), ("abc", None)],
)
def test_the_memory_limit_after_summarise_is_half_but_not_below_256_mb(given, later):
    assert bd.later_memory_limit(given) == later  # by hand: 2 GiB = 2,147,483,648 bytes


def test_the_halved_limit_gives_the_same_report(tmp_path, monkeypatch):
    path = _parquet(tmp_path, region=["N", "S", "N", "S", "N", "S", "N", "S"])
    low = bd.build_report_big(path, Settings(model="BGNBD"), memory_limit="300MB")
    monkeypatch.setattr(bd, "_shrink_after_summarise", lambda con, limit: None)
    kept = bd.build_report_big(path, Settings(model="BGNBD"), memory_limit="300MB")
    pd.testing.assert_frame_equal(low.report.customers, kept.report.customers)


def test_timestamps_with_a_time_zone_stop_with_a_fix_the_report_user_can_apply(tmp_path):
    """The engine's own message names its time_zone= argument, which the report has not:
    the report names the column and says to export local dates."""
    frame = pd.DataFrame(
        {
            "customer_id": _IDS,
            "Created at": pd.to_datetime(_DAYS).tz_localize("Europe/Paris"),
            "amount": _AMOUNTS,
        }
    )
    path = tmp_path / "tz.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(InputError) as err:
        bd.build_report_big(path, Settings(model="BGNBD"), columns={"date": "Created at"})
    text = str(err.value)
    assert "Column 'Created at' of 'tz.parquet' holds timestamps with a time zone" in text
    assert "time_zone=" not in text and "local dates" in text
