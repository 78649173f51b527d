"""A header written twice (two ``amount`` columns) is two columns for one field: the run stops
and names both, as for ``amount`` and ``Amount`` (readers number the repeat ``amount (2)``; it
was silently ignored, and the first column's amounts used)."""

from __future__ import annotations

import pytest
import xlsxwriter

from xlclv import WorkbookError
from xlclv.report.clean import resolve_columns
from xlclv.report.inputs import read_table_file, read_workbook
from xlclv.report.pipeline import build_report

_ROWS = [("a", "2024-01-03", 10.0, 8.0), ("a", "2024-02-10", 20.0, 16.0)]
_ROWS += [("b", "2024-01-20", 5.0, 4.0), ("b", "2024-03-15", 7.0, 5.5)]


def _csv(path):
    lines = ["customer_id,date,amount,amount"] + [",".join(map(str, r)) for r in _ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _xlsx(path):
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Transactions")
    ws.write_row(0, 0, ["customer_id", "date", "amount", "amount"])
    for i, r in enumerate(_ROWS, start=1):
        ws.write_row(i, 0, r)
    wb.close()
    return path


@pytest.mark.parametrize("make", [_csv, _xlsx])
def test_a_repeated_amount_header_stops_and_names_both(tmp_path, make):
    path = make(tmp_path / ("t.csv" if make is _csv else "t.xlsx"))
    inputs = read_table_file(path) if make is _csv else read_workbook(path)
    with pytest.raises(WorkbookError) as err:
        build_report(inputs)
    assert "two columns for amount: 'amount' and 'amount (2)'" in str(err.value)
    assert "--columns" in str(err.value)


def test_choosing_one_of_the_repeated_columns_uses_its_amounts(tmp_path):
    inputs = read_table_file(_csv(tmp_path / "t.csv"))
    inputs.settings["columns"] = 'amount="amount (2)"'
    report = build_report(inputs)
    assert report.customers["Revenue"].sum() == pytest.approx(8.0 + 16.0 + 4.0 + 5.5)


def test_only_a_number_after_a_header_that_exists_marks_a_repeat():
    cols = ["customer_id", "date", "Total", "Region (2)"]
    assert resolve_columns(cols)["amount"] == "Total"  # no "Region" column: not a repeat
    with pytest.raises(WorkbookError, match="'Total' and 'Total \\(2\\)'"):
        resolve_columns(["customer_id", "date", "Total", "Total (2)"])


def test_a_column_named_like_a_field_but_mapped_away_keeps_its_data(tmp_path):
    """``--columns customer_id=Email`` on a sheet that also has a ``customer_id`` column (a
    shop's internal number): that column stays a column of its own and never replaces the
    customer id (the report crashed with an IndexError)."""
    path = tmp_path / "t.csv"
    lines = ["Email,customer_id,date,amount"]
    lines += [f"{c}@x.com,{n},{d},{a}" for n, (c, d, a, _) in enumerate(_ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    inputs = read_table_file(path)
    inputs.settings["columns"] = "customer_id=Email"
    report = build_report(inputs)
    assert sorted(report.customers["Customer ID"]) == ["a@x.com", "b@x.com"]
    assert report.customers["Revenue"].sum() == pytest.approx(42.0)
