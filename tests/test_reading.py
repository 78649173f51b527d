"""Reading real exports: recognised headers, explicit mappings, where the data is, CSV dialects and
encodings, amounts and dates as text, Parquet types. Expected values are written by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import xlsxwriter

from xlclv import WorkbookError
from xlclv.report.clean import READING_ATTR, clean_transactions
from xlclv.report.inputs import read_table_file, read_workbook


def frame(rows, columns):
    return pd.DataFrame(rows, columns=list(columns), dtype=object)


def workbook(path, sheets, merges=()):
    """An .xlsx from {sheet: rows}; rows start at A1; None is an empty cell."""
    wb = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is not None:
                    ws.write(r, c, v)
        for sheet, (r0, c0, r1, c1, value) in merges:
            if sheet == name:
                ws.merge_range(r0, c0, r1, c1, value)
    wb.close()
    return path


def clean_of(inputs, **kw):
    return clean_transactions(
        inputs.transactions,
        sheet=inputs.transactions_sheet,
        first_row=inputs.transactions_first_row,
        **kw,
    )


# -- column recognition ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["Name", "Email", "Created at", "Subtotal", "Total"], ("Email", "Created at", "Total")),
        (
            ["Order Number", "Order Date", "Customer Email", "Order Total"],
            ("Customer Email", "Order Date", "Order Total"),
        ),
        (
            ["id", "Created (UTC)", "Amount", "Customer ID", "Customer Email"],
            ("Customer ID", "Created (UTC)", "Amount"),
        ),
        (
            ["Date", "Customer ID", "Customer Name", "Gross Sales", "Net Sales"],
            ("Customer ID", "Date", "Net Sales"),
        ),
        (["Customer", "Invoice Date", "Revenue"], ("Customer", "Invoice Date", "Revenue")),
        (["Client", "Order Date", "Amount"], ("Client", "Order Date", "Amount")),
        (["customer_id", "date", "amount"], ("customer_id", "date", "amount")),
    ],
)
def test_headers_of_common_exports_are_recognised(headers, expected):
    cid, date, amount = expected
    rows = []
    for k in range(3):
        row = {h: "x" for h in headers}
        row.update({cid: f"c{k}", date: f"2024-01-0{k + 1}", amount: 10.0 * (k + 1)})
        rows.append([row[h] for h in headers])
    clean, issues = clean_transactions(frame(rows, headers))
    assert issues.empty
    assert clean["customer_id"].tolist() == ["c0", "c1", "c2"]
    assert clean["amount"].tolist() == [10.0, 20.0, 30.0]
    assert clean["date"].dt.day.tolist() == [1, 2, 3]
    chosen = clean.attrs[READING_ATTR]["columns"]
    assert chosen == {"customer_id": cid, "date": date, "amount": amount}


def test_explicit_mapping_wins_over_recognition():
    df = frame(
        [["a@x", "A1", "2024-01-02", "2024-02-01", 5.0, 7.0]],
        ["Email", "Customer ID", "Created at", "Paid at", "Total", "Net"],
    )
    clean, _ = clean_transactions(df, columns='customer_id=Email,date="Paid at",amount=Net')
    assert clean[["customer_id", "amount"]].values.tolist() == [["a@x", 7.0]]
    assert clean["date"].iloc[0] == pd.Timestamp("2024-02-01")
    # the other columns are kept as segment columns under their names
    assert {"Customer ID", "Created at", "Total"} <= set(clean.columns)
    with pytest.raises(WorkbookError, match=r"'Mail' mapped to customer_id .* found: Email"):
        clean_transactions(df, columns={"customer_id": "Mail"})


def test_two_columns_for_one_field_stop_and_name_both():
    df = frame([["A", "a", "2024-01-01", 1.0]], ["Customer ID", "customer_id", "date", "amount"])
    with pytest.raises(WorkbookError, match=r"two columns for customer_id: 'Customer ID' and "):
        clean_transactions(df)
    # choosing one explicitly resolves it; the other is a segment column
    clean, _ = clean_transactions(df, columns={"customer_id": "customer_id"})
    assert clean["customer_id"].tolist() == ["a"] and clean["Customer ID"].tolist() == ["A"]


def test_mapping_and_locale_from_the_settings_sheet(tmp_path):
    path = workbook(
        tmp_path / "in.xlsx",
        {
            "Settings": [
                ["Setting", "Value"],
                ["columns", "customer_id=Kunde, date=Datum, amount=Betrag"],
                ["date_order", "d/m/y"],
                ["decimal_separator", "comma"],
            ],
            "Transactions": [
                ["Kunde", "Datum", "Betrag"],
                ["k1", "01/02/2024", "1.234,50"],
                ["k2", "03/04/2024", "12,00"],
            ],
        },
    )
    inputs = read_workbook(path)
    assert inputs.reading["date_order"] == "d/m/y"  # the options given, before cleaning
    clean, issues = clean_of(inputs)
    assert issues.empty
    assert clean["date"].tolist() == [pd.Timestamp("2024-02-01"), pd.Timestamp("2024-04-03")]
    assert clean["amount"].tolist() == [1234.5, 12.0]
    assert inputs.reading["columns"] == {
        "customer_id": "Kunde",
        "date": "Datum",
        "amount": "Betrag",
    }


# -- where the data is ----------------------------------------------------------------------------


def test_header_below_title_rows_keeps_excel_row_numbers(tmp_path):
    path = workbook(
        tmp_path / "in.xlsx",
        {
            "Sales": [
                ["Sales export", None, None, None],
                ["generated 2024-07-01", None, None, None],
                [None, None, None, None],
                [None, "Customer", "Order Date", "Total"],
                [None, "c1", "2024-01-02", 10],
                [None, None, None, None],
                [None, "c2", "2024-01-03", "oops"],
            ]
        },
    )
    inputs = read_workbook(path)  # no Transactions sheet: the only sheet with a header
    assert inputs.transactions_sheet == "Sales"
    clean, issues = clean_of(inputs)
    assert clean["customer_id"].tolist() == ["c1"]
    assert issues[["Row", "Column", "Value"]].values.tolist() == [[7, "Total", "oops"]]


def test_sheet_choice(tmp_path):
    rows = [["customer_id", "date", "amount"], ["a", "2024-01-01", 1.0]]
    path = workbook(tmp_path / "two.xlsx", {"Shop A": rows, "Shop B": rows, "Notes": [["x"]]})
    with pytest.raises(WorkbookError, match=r"several sheets .*Shop A, Shop B.*--sheet"):
        read_workbook(path)
    assert read_workbook(path, sheet="shop b").transactions_sheet == "Shop B"
    with pytest.raises(WorkbookError, match=r"no sheet 'Shop C' \(--sheet\); found: Shop A"):
        read_workbook(path, sheet="Shop C")
    path = workbook(tmp_path / "tx.xlsx", {"Other": rows, "Transactions": rows})
    assert read_workbook(path).transactions_sheet == "Transactions"


def test_merged_id_cells_apply_to_each_row_and_are_reported(tmp_path):
    path = workbook(
        tmp_path / "in.xlsx",
        {
            "Transactions": [
                ["customer_id", "date", "amount"],
                [None, "2024-01-01", 1.0],
                [None, "2024-01-02", 2.0],
                [None, "2024-01-03", 3.0],
                ["b", "2024-01-04", 4.0],
            ]
        },
        merges=[("Transactions", (1, 0, 3, 0, "a"))],
    )
    clean, issues = clean_of(read_workbook(path))
    assert clean["customer_id"].tolist() == ["a", "a", "a", "b"]  # as Excel shows the cells
    assert issues["Row"].tolist() == [3, 4]
    assert all(
        p == "merged cell continuation: customer_id 'a' of row 2 applied to this row (kept)"
        for p in issues["Problem"]
    )


# -- CSV ------------------------------------------------------------------------------------------

CSV_ROWS = [
    ["Customer", "Date", "Amount", "Name"],
    ["1", "2024-01-02", "10.50", "Müller"],
    ["2", "2024-01-03", "20.00", "Łukasz"],
    ["1", "2024-02-01", "5.25", "Zoë €"],
]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_csv_delimiters_and_encodings(tmp_path, delimiter, encoding):
    rows = CSV_ROWS
    if encoding == "cp1252":  # Ł is not in cp1252
        rows = [[c.replace("Ł", "L") for c in r] for r in rows]
    text = "\r\n".join(delimiter.join(r) for r in rows) + "\r\n"
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode(encoding))
    clean, issues = clean_of(read_table_file(path))
    assert issues.empty
    assert clean["customer_id"].tolist() == ["1", "2", "1"]
    assert clean["amount"].tolist() == [10.5, 20.0, 5.25]
    assert clean["Name"].tolist() == [r[3] for r in rows[1:]]


def test_csv_blank_lines_and_title_lines_keep_line_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "Orders report\nexported today\n\nemail;created at;total\n"
        "a@x;2024-01-02;1,50\n\n\nb@x;2024-01-03;bad\n;;\nc@x;2024-01-04;2,00\n",
        encoding="utf-8",
    )
    inputs = read_table_file(path)
    assert inputs.transactions_first_row == 5
    clean, issues = clean_of(inputs)
    assert clean["customer_id"].tolist() == ["a@x", "c@x"]
    assert clean["amount"].tolist() == [1.5, 2.0]
    assert issues[["Row", "Value"]].values.tolist() == [[8, "bad"]]


def test_ragged_and_unbalanced_csv_stop_with_the_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("customer_id,date,amount\na,2024-01-01,1\nb,2024-01-02,1,000.00\n")
    with pytest.raises(WorkbookError, match=r"line 3 has 4 fields where the header has 3"):
        read_table_file(path)
    path = tmp_path / "quote.csv"
    path.write_text('customer_id,date,amount\na,2024-01-01,1\n"b,2024-01-02,2\nc,2024-01-03,3\n')
    with pytest.raises(WorkbookError, match=r"unbalanced double quote starting near line 3"):
        read_table_file(path)


# -- amounts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["$1,038.40", "$29.47"], [1038.40, 29.47]),
        (["USD 12.00", "12.00 USD"], [12.0, 12.0]),
        (["€12,50", "1.234,56 €"], [12.5, 1234.56]),
        (["£1,234,567.89", "(12.00)"], [1234567.89, -12.0]),
        (["-$5.00", "$-5.00"], [-5.0, -5.0]),
        (["($1,000.00)", "12.00-"], [-1000.0, -12.0]),
        (["1 234,56", "7,5"], [1234.56, 7.5]),
        (["1,00,000.50", "3"], [100000.5, 3.0]),
        (["1,038", "2.50"], [1038.0, 2.5]),  # 2.50 decides: 1,038 is a thousand
        (["1.038", "2,50"], [1038.0, 2.5]),  # 2,50 decides: 1.038 is a thousand
    ],
)
def test_amounts_written_as_text(cells, expected):
    df = frame([["a", "2024-01-01", c] for c in cells], ["customer_id", "date", "amount"])
    clean, issues = clean_transactions(df)
    assert issues.empty
    assert clean["amount"].tolist() == pytest.approx(expected, rel=1e-12)


def test_ambiguous_or_mixed_decimal_separators_stop_and_name_the_option():
    df = frame(
        [["a", "2024-01-01", c] for c in ("1,234", "2,500")], ["customer_id", "date", "amount"]
    )
    with pytest.raises(WorkbookError, match=r"'1,234' \(row 2\).*--decimal-separator"):
        clean_transactions(df)
    clean, _ = clean_transactions(df, decimal_separator=",")
    assert clean["amount"].tolist() == [1.234, 2.5]
    clean, _ = clean_transactions(df, decimal_separator=".")
    assert clean["amount"].tolist() == [1234.0, 2500.0]
    df = frame(
        [["a", "2024-01-01", c] for c in ("1.50", "2,50")], ["customer_id", "date", "amount"]
    )
    with pytest.raises(WorkbookError, match=r"mix a decimal point .*--decimal-separator"):
        clean_transactions(df)
    # with the separator given, values that do not fit it are issues, never reinterpreted
    clean, issues = clean_transactions(df, decimal_separator=".")
    assert clean["amount"].tolist() == [1.5] and issues["Value"].tolist() == ["2,50"]


def test_huge_and_non_finite_amounts_are_data_issues():
    df = frame(
        [["a", "2024-01-01", v] for v in (1e300, float("inf"), "1e300", "NaN", "inf", 10.0)],
        ["customer_id", "date", "amount"],
    )
    clean, issues = clean_transactions(df)
    assert clean["amount"].tolist() == [10.0]
    assert issues["Row"].tolist() == [2, 3, 4, 5, 6]
    assert "implausibly large" in issues["Problem"].iloc[0]
    assert "not a finite number" in issues["Problem"].iloc[1]


# -- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "2024-03-15 14:02:11 +0100",
        "2024-03-15T23:30:00-05:00",  # 2024-03-16 in UTC: the day written counts
        "2024-03-15T00:30:00Z",
        "2024-03-15 00:30:00 UTC",
        "2024/03/15",
        "15 Mar 2024",
        "Mar 15, 2024",
        "Fri, 15 Mar 2024 14:02:11 +0000",
        "March 15 2024 2:02 PM",
        pd.Timestamp("2024-03-15 23:30", tz="America/New_York"),
    ],
)
def test_timestamps_count_on_the_day_written(cell):
    clean, issues = clean_transactions(frame([["a", cell, 1.0]], ["customer_id", "date", "amount"]))
    assert issues.empty and clean["date"].iloc[0] == pd.Timestamp("2024-03-15")


def test_day_month_order_is_read_only_when_the_data_decide():
    def run(cells, **kw):
        df = frame([["a", c, 1.0] for c in cells], ["customer_id", "date", "amount"])
        return clean_transactions(df, **kw)

    clean, _ = run(["03/04/2024", "25/04/2024"])  # 25 decides: day first
    assert clean["date"].tolist() == [pd.Timestamp("2024-04-03"), pd.Timestamp("2024-04-25")]
    assert "read as day/month/year (DMY): '25/04/2024'" in clean.attrs[READING_ATTR]["notes"][0]
    clean, _ = run(["03/04/2024", "04/25/2024"])  # 25 decides: month first
    assert clean["date"].tolist() == [pd.Timestamp("2024-03-04"), pd.Timestamp("2024-04-25")]
    assert clean.attrs[READING_ATTR]["date_order"] == "MDY"
    with pytest.raises(WorkbookError, match=r"'03/04/2024' \(row 2\).*--date-order"):
        run(["03/04/2024", "05/06/2024"])
    with pytest.raises(WorkbookError, match=r"mix day-first .*--date-order"):
        run(["25/04/2024", "04/25/2024"])
    clean, issues = run(["03/04/2024", "04/25/2024"], date_order="DMY")
    assert clean["date"].tolist() == [pd.Timestamp("2024-04-03")]  # never swapped silently
    assert "not a valid date in the order DMY" in issues["Problem"].iloc[0]
    clean, issues = run(["3.4.24"], date_order="DMY")
    assert clean.empty and "two-digit year" in issues["Problem"].iloc[0]


@pytest.mark.parametrize(
    "cell",
    [
        "1899-12-31",
        "31/12/1899",
        "1850-06-01 10:00:00",
        dt.datetime(1899, 12, 31),
        dt.date(1850, 1, 1),
        np.datetime64("1899-12-31"),
    ],
)
def test_dates_before_1900_are_rejected_in_every_form(cell):
    clean, issues = clean_transactions(
        frame([["a", cell, 1.0], ["a", "1900-01-01", 2.0]], ["customer_id", "date", "amount"]),
        date_order="DMY",
    )
    assert clean["amount"].tolist() == [2.0]
    assert issues["Row"].tolist() == [2]
    assert "before 1900" in issues["Problem"].iloc[0] or "between 1900" in issues["Problem"].iloc[0]


# -- Parquet --------------------------------------------------------------------------------------


def test_parquet_decimal_amounts_nullable_and_large_integer_ids(tmp_path):
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    big = 2**60 + 1  # not representable as a float
    table = pa.table(
        {
            "customer_id": pa.array([big, None, 7], type=pa.int64()),
            "date": pa.array(
                [dt.datetime(2024, 3, 15, 23, 30)] * 3, type=pa.timestamp("us", tz="-05:00")
            ),
            "amount": pa.array(
                [decimal.Decimal("1038.40"), decimal.Decimal("2.00"), decimal.Decimal("-3.10")],
                type=pa.decimal128(12, 2),
            ),
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    clean, issues = clean_of(read_table_file(path))
    assert clean["customer_id"].tolist() == [str(big), "7"]
    assert clean["amount"].tolist() == [1038.40, -3.10]
    assert issues[["Row", "Problem"]].values.tolist()[0][0] == 3
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(WorkbookError, match=r"Could not read 'bad.parquet' as Parquet"):
        read_table_file(bad)


# -- a Shopify-shaped export gives what the clean file gives ---------------------------------------


def _clean_and_shopify(tmp_path):
    rng = np.random.default_rng(7)
    rows = []
    for c in range(40):
        for d in np.sort(rng.integers(0, 300, rng.integers(1, 5))):
            amount = round(float(rng.uniform(5, 3000)), 2)
            rows.append((f"c{c}@example.com", dt.date(2024, 1, 1) + dt.timedelta(int(d)), amount))
    clean = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    clean_path = tmp_path / "clean.csv"
    clean.assign(date=clean["date"].map(dt.date.isoformat)).to_csv(clean_path, index=False)
    shop = pd.DataFrame(
        {
            "Name": [f"#{1001 + i}" for i in range(len(clean))],
            "Email": clean["customer_id"],
            "Financial Status": "paid",
            "Created at": [f"{d:%Y-%m-%d} 23:02:11 -0500" for d in clean["date"]],
            "Currency": "USD",
            "Subtotal": "",
            "Total": [f"${a:,.2f}" for a in clean["amount"]],
        }
    )
    shop_path = tmp_path / "orders_export.csv"
    shop.to_csv(shop_path, index=False, encoding="utf-8-sig")
    return clean_path, shop_path, clean


def test_a_shopify_export_gives_the_same_customers_and_revenue(tmp_path):
    clean_path, shop_path, expected = _clean_and_shopify(tmp_path)
    assert (expected["amount"] >= 1000).mean() > 0.2  # thousands separators are exercised
    a, issues_a = clean_of(read_table_file(clean_path))
    b, issues_b = clean_of(read_table_file(shop_path))
    assert issues_a.empty and issues_b.empty
    pd.testing.assert_frame_equal(
        a[["customer_id", "date", "amount"]], b[["customer_id", "date", "amount"]]
    )
    assert b["amount"].sum() == pytest.approx(expected["amount"].sum(), rel=1e-12)
    assert b["customer_id"].nunique() == expected["customer_id"].nunique()
    assert b.attrs[READING_ATTR]["columns"] == {
        "customer_id": "Email",
        "date": "Created at",
        "amount": "Total",
    }


# -- properties -----------------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_STYLES = {".": (",", " ", "'", ""), ",": (".", " ", "\u00a0", "")}


def _grouped(whole: int, sep: str) -> str:
    text = f"{whole:,}"
    return text.replace(",", sep)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    cents=st.integers(-(10**13), 10**13),
    decimal_sep=st.sampled_from([".", ","]),
    group=st.integers(0, 3),
    currency=st.sampled_from(["", "$", "€", "£", "USD ", " EUR"]),
    negative_style=st.sampled_from(["-", "()"]),
)
def test_formatted_amounts_round_trip(cents, decimal_sep, group, currency, negative_style):
    whole, frac = divmod(abs(cents), 100)
    body = f"{_grouped(whole, _STYLES[decimal_sep][group])}{decimal_sep}{frac:02d}"
    body = f"{currency}{body}" if not currency.startswith(" ") else f"{body}{currency}"
    if cents < 0:
        body = f"({body})" if negative_style == "()" else f"-{body}"
    df = frame([["a", "2024-01-01", body]], ["customer_id", "date", "amount"])
    # with the separator given, and read from the value itself (two decimals decide it)
    for separator in (decimal_sep, None):
        clean, _ = clean_transactions(df, decimal_separator=separator)
        assert len(clean) == 1, body  # read, not rejected (a zero amount is kept and noted)
        assert clean["amount"].iloc[0] == pytest.approx(cents / 100, rel=1e-15, abs=1e-9), body


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    day=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2262, 4, 11)),
    order=st.sampled_from(["YMD", "DMY", "MDY"]),
    sep=st.sampled_from(["/", ".", "-"]),
    pad=st.booleans(),
)
def test_dates_with_an_explicit_order_round_trip(day, order, sep, pad):
    d, m = (f"{day.day:02d}", f"{day.month:02d}") if pad else (str(day.day), str(day.month))
    y = f"{day.year:04d}"
    parts = {"YMD": (y, m, d), "DMY": (d, m, y), "MDY": (m, d, y)}[order]
    text = sep.join(parts)
    clean, issues = clean_transactions(
        frame([["a", text, 1.0]], ["customer_id", "date", "amount"]), date_order=order
    )
    assert issues.empty, text
    assert clean["date"].iloc[0].date() == day


def test_long_timestamp_columns_read_fast_without_wrapping_years():
    """Columns of 1,000+ values take a vectorised path; its years outside 1900-2262 must be
    rejected, never wrapped into range (a [ns] cast turns 2999 into 1830 silently)."""
    odd = ["1650-01-01 10:00", "2999-01-01 00:00", "2024-02-30 10:00", "1899-12-31T00:00:00Z"]
    odd += ["2024-03-15 junk", "2262-04-12"]
    cells = ["2024-03-15 23:02:11 -0500"] * 1200 + odd + ["2262-04-11 10:00"]
    clean, issues = clean_transactions(
        frame([["a", c, 1.0] for c in cells], ["customer_id", "date", "amount"])
    )
    assert issues["Row"].tolist() == list(range(1202, 1208))
    assert clean["date"].iloc[0] == pd.Timestamp("2024-03-15")
    assert clean["date"].min() == pd.Timestamp("2024-03-15")
    assert clean["date"].max() == pd.Timestamp("2262-04-11")


def test_letters_that_are_not_a_currency_make_a_data_issue():
    cells = ["ABC123", "12.00 XYZ", "INR 12.00", "Rs. 1,00,000.00", "12.00 ₹", "1e3"]
    df = frame([["a", "2024-01-01", c] for c in cells], ["customer_id", "date", "amount"])
    clean, issues = clean_transactions(df)
    assert clean["amount"].tolist() == [12.0, 100000.0, 12.0, 1000.0]
    assert issues["Value"].tolist() == ["ABC123", "12.00 XYZ"]
    assert all("is not a number" in p for p in issues["Problem"])


def test_text_dates_in_2262_up_to_the_last_representable_day():
    cells = ["2262/1/1", "11/04/2262", "2262/4/12", "31/12/2262"]
    clean, issues = clean_transactions(
        frame([["a", c, 1.0] for c in cells], ["customer_id", "date", "amount"]), date_order="DMY"
    )
    assert clean["date"].tolist() == [pd.Timestamp("2262-01-01"), pd.Timestamp("2262-04-11")]
    assert issues["Value"].tolist() == ["2262/4/12", "31/12/2262"]  # rejected, never wrapped


def test_a_table_that_starts_below_and_right_of_a1_keeps_excel_rows(tmp_path):
    blank = [None] * 5
    rows = [blank] * 4 + [
        [None, None, "customer_id", "date", "amount"],
        [None, None, "a", "2024-01-01", 1.0],
        [None, None, "a", "bad", 1.0],
    ]
    inputs = read_workbook(workbook(tmp_path / "in.xlsx", {"Transactions": rows}))
    assert inputs.transactions_first_row == 6
    _, issues = clean_of(inputs)
    assert issues[["Row", "Value"]].values.tolist() == [[7, "bad"]]
