"""Workbooks in Excel's 1904 date system (a workbook option; the default of Excel for Mac
before 2011): date cells are dates either way, but a plain number in a date column, or on
the Settings sheet's observation_end, counts days from 1904-01-01, not from 1900.

Oracle: Python's own calendar (``date(1904, 1, 1) + timedelta(n)``), and the same workbook
saved in the 1900 system.
"""

from __future__ import annotations

import datetime as dt
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

from xlclv.report import Settings, build_report
from xlclv.report.clean import clean_transactions, serial_dates
from xlclv.report.read import read_workbook, uses_1904_dates

DAY0_1904 = dt.date(1904, 1, 1)


def _book(path, epoch, numbers: list[int], end_serial: int | None = None):
    wb = openpyxl.Workbook()
    wb.epoch = epoch
    ws = wb.active
    ws.title = "Transactions"
    ws.append(["customer_id", "date", "amount"])
    ws.append(["a", dt.datetime(2024, 1, 3), 10.0])  # a date cell
    for k, n in enumerate(numbers):
        ws.append([f"c{k % 3}", n, 5.0 + k])  # plain numbers (General format)
    if end_serial is not None:
        st_ = wb.create_sheet("Settings")
        st_.append(["setting", "value"])
        st_.append(["observation_end", end_serial])
    wb.save(path)
    return path


NUMBERS = [43832, 43900, 44000, 44100, 44200, 44300]


def test_plain_numbers_in_a_1904_workbook_count_from_1904(tmp_path):
    path = _book(tmp_path / "mac.xlsx", CALENDAR_MAC_1904, NUMBERS, end_serial=44400)
    assert uses_1904_dates(path)
    inputs = read_workbook(path)
    clean, issues = clean_transactions(inputs.transactions)
    assert issues.empty
    expected = [dt.date(2024, 1, 3)] + [DAY0_1904 + dt.timedelta(days=n) for n in NUMBERS]
    assert [d.date() for d in clean["date"]] == expected
    assert expected[1] == dt.date(2024, 1, 3)  # serial 43832: 2024-01-03 in this system
    settings = Settings.from_values(inputs.settings)
    assert settings.observation_end == DAY0_1904 + dt.timedelta(days=44400)


def test_the_same_numbers_in_a_1900_workbook_count_from_1900(tmp_path):
    path = _book(tmp_path / "win.xlsx", CALENDAR_WINDOWS_1900, NUMBERS, end_serial=44400)
    assert not uses_1904_dates(path)
    inputs = read_workbook(path)
    clean, _ = clean_transactions(inputs.transactions)
    day0_1900 = dt.date(1899, 12, 30)  # serials after February 1900
    assert [d.date() for d in clean["date"]][1:] == [
        day0_1900 + dt.timedelta(days=n) for n in NUMBERS
    ]
    assert Settings.from_values(inputs.settings).observation_end == day0_1900 + dt.timedelta(
        days=44400
    )


def test_a_1904_report_has_the_dates_of_the_workbook(tmp_path):
    """Through the whole report: the first purchases are the 1904 system's days."""
    path = _book(tmp_path / "mac.xlsx", CALENDAR_MAC_1904, NUMBERS)
    report = build_report(read_workbook(path), Settings(model="BGNBD"))
    firsts = report.customers.set_index("Customer ID")["First purchase"]
    assert firsts["a"].date() == dt.date(2024, 1, 3)
    assert firsts["c0"].date() == DAY0_1904 + dt.timedelta(days=NUMBERS[0])
    assert firsts["c2"].date() == DAY0_1904 + dt.timedelta(days=NUMBERS[2])


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (b'<workbook><workbookPr date1904="1"/></workbook>', True),
        (b"<workbook><workbookPr date1904='true' codeName='x'/></workbook>", True),
        (b'<x:workbook><x:workbookPr date1904="1"/></x:workbook>', True),
        (b'<workbook><workbookPr date1904="0"/></workbook>', False),
        (b'<workbook><workbookPr defaultThemeVersion="1"/></workbook>', False),
    ],
)
def test_the_1904_flag_is_read_from_the_workbook_part(tmp_path, xml, expected):
    path = tmp_path / "w.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/workbook.xml", xml)
    assert uses_1904_dates(path) is expected


def test_other_files_are_the_1900_system(tmp_path):
    (tmp_path / "t.csv").write_text("customer_id,date,amount\n")
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    assert not uses_1904_dates(tmp_path / "t.csv")
    assert not uses_1904_dates(tmp_path / "bad.xlsx")


@given(st.lists(st.integers(min_value=0, max_value=2958465 - 1462), min_size=1, max_size=50))
def test_serial_dates_1904_is_a_plain_count_from_1904(days):
    got = serial_dates(np.array(days, dtype=float), date1904=True)
    limit = dt.date(2262, 4, 11)  # datetime64[ns]: later days are NaT
    for n, value in zip(days, got, strict=True):
        day = DAY0_1904 + dt.timedelta(days=n)
        if day <= limit:
            assert pd.Timestamp(value).date() == day
        else:
            assert np.isnat(value)
