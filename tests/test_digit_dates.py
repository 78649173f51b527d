"""Dates written only in digits: ``20241018`` (yyyymmdd, as ERP exports write them) and
``45583`` (an Excel serial number saved to CSV as text) are read when the whole column has that
form, with a note; a year alone (``2024``) or mixed lengths are never read so. Expected dates
by hand (serial 45583 = 2024-10-18: 45,583 days after 1899-12-30)."""

from __future__ import annotations

import pandas as pd
import pytest

from xlclv.report.clean import READING_ATTR, clean_transactions


def _clean(dates):
    df = pd.DataFrame(
        [[f"c{i % 3}", d, 10.0] for i, d in enumerate(dates)],
        columns=["customer_id", "date", "amount"],
        dtype=object,
    )
    return clean_transactions(df)


@pytest.mark.parametrize(
    ("cells", "expected", "how"),
    [
        (
            ["20241018", "20240229", "19000101"],
            ["2024-10-18", "2024-02-29", "1900-01-01"],
            "yyyymmdd",
        ),
        (["45583", "45351", "36526"], ["2024-10-18", "2024-02-29", "2000-01-01"], "Excel serial"),
    ],
)
def test_a_column_of_digit_dates_is_read_with_a_note(cells, expected, how):
    clean, issues = _clean(cells)
    assert issues.empty
    assert [d.strftime("%Y-%m-%d") for d in clean["date"]] == expected
    notes = clean.attrs[READING_ATTR]["notes"]
    assert any(how in n and "row 2" in n for n in notes), notes


def test_an_impossible_yyyymmdd_is_a_data_issue_and_the_rest_is_read():
    clean, issues = _clean(["20241018", "20241399", "20230228"])
    assert issues["Row"].tolist() == [3]
    assert [d.strftime("%Y-%m-%d") for d in clean["date"]] == ["2024-10-18", "2023-02-28"]


@pytest.mark.parametrize(
    "cells",
    [
        ["2024", "2023", "2024"],  # years alone: never serial 2024 = 1905-07-16
        ["20241018", "45583", "20240101"],  # mixed lengths: no single reading
        ["123456", "234567", "345678"],  # six digits: neither form
    ],
)
def test_other_digit_columns_are_not_read_as_dates(cells):
    clean, issues = _clean(cells)
    assert clean.empty
    assert len(issues) == 3
