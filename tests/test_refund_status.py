"""Purchases a status column calls refunded, returned or cancelled (Shopify's ``Financial
Status``: ``refunded``) are still counted, so the report says so: each row on Data issues, a
loud warning (exit status 3) above max_rejected_share of purchase revenue, a note below it.
Rows and shares below are counted by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from xlclv.report.inputs import WorkbookInputs
from xlclv.report.pipeline import build_report

_BASE = [
    ("a", "2024-01-03", 100.0),
    ("a", "2024-02-10", 50.0),
    ("a", "2024-05-01", 30.0),
    ("b", "2024-01-20", 80.0),
    ("b", "2024-03-15", 20.0),
    ("c", "2024-02-01", 45.0),
    ("c", "2024-06-20", 60.0),
    ("d", "2024-04-04", 15.0),
]  # purchase revenue 400


def _report(status, column="Financial Status", amounts=None, **settings):
    rows = [
        [c, d, a if amounts is None else amounts[i], status[i]] for i, (c, d, a) in enumerate(_BASE)
    ]
    df = pd.DataFrame(rows, columns=["customer_id", "date", "amount", column], dtype=object)
    return build_report(WorkbookInputs(df, settings={"model": "BGNBD", **settings}))


def test_refunded_purchases_are_listed_and_warned_about_loudly():
    status = ["paid", "refunded", "paid", "paid", "partially_refunded", "paid", "paid", "paid"]
    report = _report(status)
    flagged = report.issues[report.issues["Column"] == "Financial Status"]
    assert flagged["Row"].tolist() == [3, 6]  # Excel rows of the 2nd and 5th data rows
    assert flagged["Value"].tolist() == ["refunded", "partially_refunded"]
    assert all("counted as a purchase" in p for p in flagged["Problem"])
    warning = " ".join(report.summary["warnings"])
    assert "2 purchase row(s)" in warning and "17.5% of purchase revenue" in warning  # 70/400
    assert report.customers["Revenue"].sum() == pytest.approx(400.0)  # still counted


def test_a_small_share_is_a_note_not_a_warning():
    status = ["paid"] * 7 + ["Cancelled"]
    report = _report(status, column="Status", max_rejected_share=0.05)  # 15/400 = 3.75%
    assert not any("purchase row(s)" in w for w in report.summary["warnings"])
    assert any("1 purchase row(s) have 'Cancelled'" in n for n in report.summary["notes"])


def test_returns_written_as_negative_amounts_are_not_flagged():
    status = ["sale", "return", "sale", "sale", "sale", "sale", "sale", "sale"]
    amounts = [100.0, -50.0, 30.0, 80.0, 20.0, 45.0, 60.0, 15.0]
    report = _report(status, column="Type", amounts=amounts)
    assert report.issues[report.issues["Column"] == "Type"].empty
    assert not any("purchase row(s)" in n for n in report.summary["notes"])


@pytest.mark.parametrize(
    "status",
    [
        ["web", "store", "web", "store", "web", "store", "web", "store"],
        ["Returning customer"] * 8,  # "returning" is not "returned"
    ],
)
def test_other_columns_are_not_statuses(status):
    report = _report(status, column="Channel")
    assert report.issues[report.issues["Column"] == "Channel"].empty
