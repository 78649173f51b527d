"""Reading and cleaning the report's inputs: every issue kind, every fatal message."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd
import pytest
import xlsxwriter

from xlclv import WorkbookError
from xlclv.report.inputs import (
    ISSUE_COLUMNS,
    WorkbookInputs,
    clean_marketing,
    clean_nps,
    clean_transactions,
    read_table_file,
    read_workbook,
)


def raw(rows, columns=("customer_id", "date", "amount")):
    return pd.DataFrame(rows, columns=list(columns), dtype=object)


def test_headers_match_ignoring_case_spaces_and_underscores():
    df = raw(
        [["a", dt.datetime(2024, 1, 2), 10.0, "North"]], ["Customer ID", "DATE", "Amount", "Region"]
    )
    clean, issues = clean_transactions(df)
    assert list(clean.columns) == ["customer_id", "date", "amount", "Region"]
    assert issues.empty


def test_missing_columns_name_what_is_missing_and_what_was_found():
    df = raw([["a", "2024-01-01", 1.0]], ["Kunde", "Datum", "Betrag"])
    with pytest.raises(
        WorkbookError,
        match=r"Sheet 'Transactions' has no columns 'customer_id', 'date', 'amount'; "
        r"found: Kunde, Datum, Betrag",
    ):
        clean_transactions(df)
    df = raw([["a", "2024-01-01", 1.0]], ["customer_id", "date", "Summe"])
    with pytest.raises(
        WorkbookError,
        match=r"Sheet 'Sales' has no column 'amount'; found: customer_id, date, Summe",
    ):
        clean_transactions(df, sheet="Sales")


def test_accepted_cell_forms():
    df = raw(
        [
            [123.0, 45292.0, "12.50"],  # Excel number id, serial date (2024-01-01), numeric text
            ["  C7 ", "2024-01-03", 5],  # padded text id, ISO text, int
            ["C8", dt.date(2024, 1, 4), -3.25],  # a date, a return
            ["C9", dt.datetime(2024, 1, 5, 17, 30), "-.5"],  # time of day dropped
            ["C10", "2024-01-06T08:00:00", "1e2"],
            ["C11", pd.Timestamp("2024-01-07"), 7.0],
        ]
    )
    clean, issues = clean_transactions(df)
    assert issues.empty
    assert clean["customer_id"].tolist() == ["123", "C7", "C8", "C9", "C10", "C11"]
    assert clean["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-01",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
        "2024-01-06",
        "2024-01-07",
    ]
    assert clean["amount"].tolist() == [12.5, 5.0, -3.25, -0.5, 100.0, 7.0]
    assert clean["date"].dtype == "datetime64[ns]"


def test_excel_serials_follow_the_1900_date_system():
    # Excel: 1 = 1900-01-01, 59 = 1900-02-28, 61 = 1900-03-01 (60 is the phantom 29 Feb 1900),
    # 36526 = 2000-01-01, 45657 = 2024-12-31.
    df = raw([["a", s, 1.0] for s in (1.0, 59.0, 61.0, 36526.0, 45657.0, 45657.75)])
    clean, _ = clean_transactions(df)
    assert clean["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "1900-01-01",
        "1900-02-28",
        "1900-03-01",
        "2000-01-01",
        "2024-12-31",
        "2024-12-31",
    ]


def test_every_issue_kind_with_its_excel_row():
    d = dt.datetime(2024, 3, 1)
    df = raw(
        [
            ["a", d, 10.0],  # row 2: fine
            [None, d, 10.0],  # row 3: blank id
            ["b", "yesterday", 10.0],  # row 4: text date
            ["c", d, "#N/A"],  # row 5: Excel error as amount
            ["d", d, "12,5,0"],  # row 6: not a number
            ["e", dt.datetime(2024, 12, 1), 5.0],  # row 7: after observation_end
            ["f", d, 0.0],  # row 8: zero amount
            [None, None, None],  # row 9: fully blank, ignored
            ["  ", "", ""],  # row 10: spaces only, ignored
            ["#N/A", d, 3.0],  # row 11: Excel error as id
            ["g", "#VALUE!", 3.0],  # row 12: Excel error as date
            ["h", d, ""],  # row 13: blank amount
            ["i", d, 4.0],  # row 14: fine
        ]
    )
    clean, issues = clean_transactions(df, observation_end="2024-06-30")
    assert list(issues.columns) == ISSUE_COLUMNS
    assert issues["Row"].tolist() == [3, 4, 5, 6, 7, 8, 11, 12, 13]
    assert issues["Column"].tolist() == [
        "customer_id",
        "date",
        "amount",
        "amount",
        "date",
        "amount",
        "customer_id",
        "date",
        "amount",
    ]
    problems = issues["Problem"].tolist()
    assert problems[0].startswith("customer_id is blank: row not used (the row above has id a")
    assert "'yesterday' is not a date" in problems[1]
    assert "Excel error #N/A" in problems[2]
    assert "'12,5,0' is not a number" in problems[3]
    assert problems[4] == "date after observation_end (2024-06-30): row not used"
    assert "not counted as a purchase" in problems[5]
    assert "Excel error #N/A" in problems[6]
    assert "Excel error #VALUE!" in problems[7]
    assert problems[8] == "amount is blank: row not used"
    assert issues["Value"].tolist()[:5] == ["", "yesterday", "#N/A", "12,5,0", "2024-12-01"]
    # rejected rows are gone; the zero amount is kept (not a purchase, see rfm_summary)
    assert clean["customer_id"].tolist() == ["a", "f", "i"]


def test_dates_beyond_2262_are_rejected_not_wrapped():
    # datetime64[ns] ends on 2262-04-11; a typo such as 2925 must be listed, not wrapped to 1678
    # serial 132320 = 2262-04-11 (days from 1899-12-30)
    df = raw([["a", c, 1.0] for c in (132320.0, 132321.0, "2925-01-01", dt.date(2925, 1, 1))])
    clean, issues = clean_transactions(df)
    assert clean["date"].tolist() == [pd.Timestamp("2262-04-11")]
    assert issues["Row"].tolist() == [3, 4, 5]
    assert "not a date between 1900 and 2262" in issues["Problem"].iloc[0]


def test_row_numbers_follow_first_row_and_sheet():
    df = raw([["a", "bad", 1.0]])
    _, issues = clean_transactions(df, sheet="Sales", first_row=5)
    assert issues.loc[0, ["Sheet", "Row"]].tolist() == ["Sales", 5]


def test_segments_are_text_and_blank_segments_are_labelled():
    df = raw(
        [["a", "2024-01-01", 1.0, 7.0, "=HYPERLINK(1)"], ["b", "2024-01-02", 2.0, None, "x"]],
        ["customer_id", "date", "amount", "store", "channel"],
    )
    clean, _ = clean_transactions(df)
    assert clean["store"].tolist() == ["7", "(blank)"]
    assert clean["channel"].tolist() == ["=HYPERLINK(1)", "x"]


def test_clean_nps_rejects_out_of_range_scores():
    df = pd.DataFrame(
        {"customer_id": ["a", "b", None, "c", "d"], "score": [10.0, 11.0, 5.0, "x", 6.5]},
        dtype=object,
    )
    clean, issues = clean_nps(df)
    assert clean["customer_id"].tolist() == ["a"]
    assert issues["Row"].tolist() == [3, 4, 5, 6]
    assert "whole number from 0 to 10" in issues["Problem"].iloc[0]


def test_clean_marketing_finds_the_segment_column():
    df = pd.DataFrame(
        {
            "Channel": ["Email", "Paid", "Email"],
            "Spend": [100.0, -1.0, 50.0],
            "New customers": [10, 5, 5],
        },
        dtype=object,
    )
    clean, issues, dim = clean_marketing(df)
    assert dim == "Channel"
    assert clean.to_dict("records") == [{"segment": "Email", "spend": 150.0, "new_customers": 15.0}]
    assert issues["Row"].tolist() == [3]
    with pytest.raises(WorkbookError, match="needs a segment column"):
        clean_marketing(pd.DataFrame({"spend": [1.0], "new_customers": [1.0]}))


def _workbook(path, sheets):
    wb = xlsxwriter.Workbook(str(path))
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if isinstance(v, dt.datetime):
                    ws.write_datetime(r, c, v, date_fmt)
                elif v is not None:
                    ws.write(r, c, v)
    wb.close()
    return path


def test_read_workbook_reads_all_sheets_and_never_writes(tmp_path):
    path = _workbook(
        tmp_path / "in.xlsx",
        {
            "README": [["hello"]],
            "Settings": [
                ["Setting", "Value", "Note"],
                ["gross_margin", 0.4, "x"],
                ["time_unit", "M", ""],
                ["observation_end", dt.datetime(2024, 6, 30), ""],
            ],
            "transactions": [
                ["Customer ID", "Date", "Amount", "Region"],
                [101, dt.datetime(2024, 1, 2), 10.5, "North"],
                [None, None, None, None],
                ["A2", "2024-01-03", "#N/A", "South"],
            ],
            "NPS": [["customer_id", "score", "date"], [101, 9, dt.datetime(2024, 2, 1)]],
            "Marketing": [["channel", "spend", "new_customers"], ["Email", 100, 4]],
        },
    )
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    inputs = read_workbook(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert isinstance(inputs, WorkbookInputs)
    assert inputs.transactions_sheet == "transactions"
    assert inputs.transactions_first_row == 2
    assert inputs.settings["gross_margin"] == pytest.approx(0.4)
    assert inputs.settings["time_unit"] == "M"
    assert list(inputs.transactions.columns) == ["Customer ID", "Date", "Amount", "Region"]
    clean, issues = clean_transactions(
        inputs.transactions,
        sheet=inputs.transactions_sheet,
        first_row=inputs.transactions_first_row,
    )
    assert clean["customer_id"].tolist() == ["101"]  # Excel's 101.0 -> "101"
    assert clean["date"].iloc[0] == pd.Timestamp("2024-01-02")
    assert issues[["Row", "Column"]].values.tolist() == [[4, "Amount"]]  # blank row 3 ignored
    assert inputs.nps is not None and len(inputs.nps) == 1
    assert inputs.marketing is not None and inputs.marketing.iloc[0, 0] == "Email"


def test_missing_transactions_sheet_lists_the_sheets_found(tmp_path):
    path = _workbook(tmp_path / "in.xlsx", {"Kunden": [["a"]], "Umsatz": [["b"]]})
    with pytest.raises(WorkbookError, match=r"has no sheet 'Transactions'; found: Kunden, Umsatz"):
        read_workbook(path)


def test_unreadable_or_missing_files(tmp_path):
    with pytest.raises(WorkbookError, match="does not exist"):
        read_workbook(tmp_path / "nope.xlsx")
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a zip")
    with pytest.raises(WorkbookError, match="Could not open 'bad.xlsx' as a workbook"):
        read_workbook(bad)
    other = tmp_path / "x.json"
    other.write_text("{}")
    with pytest.raises(WorkbookError, match="reads .xlsx/.xlsm workbooks, .csv and .parquet"):
        read_table_file(other)


def test_read_csv_keeps_text_and_parquet_keeps_types(tmp_path):
    csv = tmp_path / "t.csv"
    csv.write_text("Customer ID,Date,Amount\n007,2024-01-02,10.5\n,,\n008,2024-01-03,abc\n")
    inputs = read_table_file(csv)
    clean, issues = clean_transactions(inputs.transactions, sheet=inputs.transactions_sheet)
    assert clean["customer_id"].tolist() == ["007"]  # leading zeros survive
    assert issues[["Sheet", "Row"]].values.tolist() == [["t.csv", 4]]
    pq = tmp_path / "t.parquet"
    pd.DataFrame(
        {
            "customer_id": np.array([1, 2], dtype=np.int64),
            "date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "amount": [1.0, 2.0],
        }
    ).to_parquet(pq)
    clean, issues = clean_transactions(read_table_file(pq).transactions)
    assert clean["customer_id"].tolist() == ["1", "2"] and issues.empty


# -- properties -----------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2262, 4, 11)))
def test_excel_serials_round_trip(day):
    # From 1 March 1900 on, an Excel serial is the day count from 30 Dec 1899.
    serial = float((day - dt.date(1899, 12, 30)).days)
    for cell in (serial, serial + 0.5, day.isoformat(), day):
        clean, issues = clean_transactions(raw([["a", cell, 1.0]]))
        assert issues.empty and clean["date"].iloc[0].date() == day


@settings(max_examples=80, deadline=None, derandomize=True)
@given(st.integers(-(10**15), 10**15))
def test_whole_number_ids_become_their_digits(n):
    clean, _ = clean_transactions(raw([[float(n), "2024-01-01", 1.0], [n, "2024-01-01", 1.0]]))
    assert clean["customer_id"].tolist() == [str(n), str(n)]
