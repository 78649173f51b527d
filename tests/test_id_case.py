"""Customer ids that differ only in case: e-mail addresses are one customer whatever their case
(a shop export writes John@x.com on one order and john@x.com on the next); other ids stay apart
with a note naming an example. Expected customers and revenue by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from xlclv.report.inputs import WorkbookInputs
from xlclv.report.pipeline import build_report

_ROWS = [
    ("{a}", "2024-01-03", 10.0),
    ("{A}", "2024-02-10", 20.0),
    ("{a}", "2024-05-01", 30.0),
    ("{b}", "2024-01-20", 5.0),
    ("{b}", "2024-03-15", 7.0),
    ("{c}", "2024-02-01", 1.0),
    ("{c}", "2024-06-20", 2.0),
]


def _report(a, A, b, c):
    rows = [[cid.format(a=a, A=A, b=b, c=c), d, x] for cid, d, x in _ROWS]
    df = pd.DataFrame(rows, columns=["customer_id", "date", "amount"], dtype=object)
    return build_report(WorkbookInputs(df, settings={"model": "BGNBD"}))


def test_e_mail_addresses_in_two_cases_are_one_customer():
    report = _report("John@Shop.com", "john@shop.com", "ann@shop.com", "bo@shop.com")
    customers = report.customers.set_index("Customer ID")
    assert sorted(customers.index) == ["John@Shop.com", "ann@shop.com", "bo@shop.com"]
    assert customers.loc["John@Shop.com", "Revenue"] == pytest.approx(60.0)
    assert customers.loc["John@Shop.com", "Orders"] == 3
    assert any("'John@Shop.com' and 'john@shop.com'" in n for n in report.summary["notes"])


def test_other_ids_in_two_cases_stay_apart_with_a_note():
    report = _report("ab12", "AB12", "cd34", "ef56")
    assert sorted(report.customers["Customer ID"]) == ["AB12", "ab12", "cd34", "ef56"]
    assert any(
        "differ from another only in upper/lower case (e.g. 'ab12' and 'AB12')" in n
        for n in report.summary["notes"]
    )
