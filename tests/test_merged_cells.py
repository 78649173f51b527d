"""Merged cells in a transactions sheet (issue 10): an id, date or segment cell merged over
several rows applies to each of them (as Excel shows it) and the rows are listed in Data
issues as merged-cell continuations; an amount merged over several rows stops the run, naming
the range (copying it down would multiply the revenue). Workbooks are built with openpyxl;
the reference is the same table written without merges."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from xlclv import WorkbookError
from xlclv.cli import main
from xlclv.report import pipeline as p
from xlclv.report.inputs import read_workbook
from xlclv.report.settings import Settings

HEADER = ["customer_id", "date", "amount", "region"]
# customer, date, amount, region; blocks of one customer (and one day) are merged below
ROWS = [
    ("A", "2024-01-03", 10.0, "North"),
    ("A", "2024-01-03", 15.0, "North"),  # a second line of the same order
    ("A", "2024-02-10", 20.0, "North"),
    ("B", "2024-01-05", 30.0, "South"),
    ("B", "2024-03-01", 40.0, "South"),
    ("C", "2024-01-20", 50.0, "South"),
    ("C", "2024-02-20", 60.0, "West"),
    ("D", "2024-02-01", 70.0, "West"),
]
# Excel ranges merged in the merged copy (rows 2..9 hold ROWS)
MERGES = ["A2:A4", "B2:B3", "D2:D4", "A5:A6", "D5:D7", "A7:A8", "D8:D9"]


def _write(path, merges=(), rows=ROWS):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Transactions"
    ws.append(HEADER)
    for row in rows:
        ws.append(list(row))
    for ref in merges:
        ws.merge_cells(ref)  # openpyxl keeps the top-left value, blanks the others
    wb.save(path)
    return path


def _cleaned(path):
    settings = Settings(observation_end=pd.Timestamp("2024-03-31").date())
    return p.clean(read_workbook(path), settings)


def test_merged_id_date_and_segment_cells_give_the_clean_files_customers_and_revenue(tmp_path):
    merged = _cleaned(_write(tmp_path / "merged.xlsx", MERGES))
    clean = _cleaned(_write(tmp_path / "clean.xlsx"))
    cols = ["customer_id", "date", "amount", "region"]
    pd.testing.assert_frame_equal(
        merged.tx[cols].reset_index(drop=True), clean.tx[cols].reset_index(drop=True)
    )
    assert sorted(set(merged.tx["customer_id"])) == ["A", "B", "C", "D"]
    assert merged.tx["amount"].sum() == pytest.approx(sum(r[2] for r in ROWS))
    settings = Settings()
    assert len(p.summarise(merged, settings).rfm) == len(p.summarise(clean, settings).rfm) == 4
    # every continuation row is listed, kept (not counted as a row not used)
    issues = merged.issues
    listed = issues[issues["Problem"].str.startswith("merged cell continuation")]
    expected = {(3, "customer_id"), (4, "customer_id"), (3, "date"), (3, "region"),
                (4, "region"), (6, "customer_id"), (6, "region"), (7, "region"),
                (8, "customer_id"), (9, "region")}  # fmt: skip
    assert set(zip(listed["Row"], listed["Column"], strict=True)) == expected
    assert listed["Problem"].str.endswith("applied to this row (kept)").all()
    row3 = listed[(listed["Row"] == 3) & (listed["Column"] == "customer_id")]
    assert row3["Problem"].item().startswith("merged cell continuation: customer_id 'A' of row 2")
    assert merged.loss.rows == 0 == clean.loss.rows


@pytest.mark.parametrize("ref", ["C2:C3", "C5:D6"])
def test_an_amount_merged_over_rows_stops_naming_the_range(tmp_path, capsys, ref):
    path = _write(tmp_path / "in.xlsx", [ref])
    with pytest.raises(WorkbookError, match=rf"the amount cells {ref} are merged .*Unmerge"):
        _cleaned(path)
    out = tmp_path / "out.xlsx"
    assert main(["report", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and ref in lines[0] and "Traceback" not in err
    assert not out.exists()


def test_an_amount_merged_across_columns_in_one_row_is_not_a_row_merge(tmp_path):
    # C9:D9 merges the amount and region of one row: the amount stays on its row, the region
    # (hidden under the merge) is blank; nothing is copied anywhere
    data = _cleaned(_write(tmp_path / "in.xlsx", ["C9:D9"]))
    assert data.tx["amount"].sum() == pytest.approx(sum(r[2] for r in ROWS))
    assert data.tx["region"].iloc[-1] == "(blank)"


def test_a_range_starting_in_the_header_row_copies_no_header_text(tmp_path):
    rows = [(None if i == 0 else r[0], *r[1:]) for i, r in enumerate(ROWS)]
    data = _cleaned(_write(tmp_path / "in.xlsx", ["A1:A2"], rows=rows))
    assert "customer_id" not in set(data.tx["customer_id"])
    problems = data.issues[data.issues["Row"] == 2]["Problem"].tolist()
    assert any("customer_id blank" in x and "not used" in x for x in problems)


def test_an_amount_header_merged_into_the_first_row_copies_nothing(tmp_path):
    # C1:C2: the header cell spans the first data row, whose amount is then blank: that row is
    # not used (listed), and no amount is counted twice
    data = _cleaned(_write(tmp_path / "in.xlsx", ["C1:C2"]))
    assert data.tx["amount"].sum() == pytest.approx(sum(r[2] for r in ROWS[1:]))
    problems = data.issues[data.issues["Row"] == 2]["Problem"].tolist()
    assert any("not used" in x for x in problems)


def test_a_blank_spacer_row_under_a_merged_id_stays_blank(tmp_path):
    rows = [*ROWS[:3], (None, None, None, None), *ROWS[3:]]  # row 5 is empty
    merges = ["A2:A5", "D2:D5"]  # the merge covers the spacer row too
    data = _cleaned(_write(tmp_path / "in.xlsx", merges, rows=rows))
    assert data.tx["amount"].sum() == pytest.approx(sum(r[2] for r in ROWS))
    assert 5 not in set(data.issues["Row"])  # not a row "not used", not a continuation
    assert data.loss.rows == 0
