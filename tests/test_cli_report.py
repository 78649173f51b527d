"""``xlclv demo`` and ``xlclv report``: outputs, summaries, one-line errors, untouched inputs."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from tests.conftest import ROOT
from xlclv.cli import main


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_demo_writes_the_report_and_a_summary(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr()
    path = tmp_path / "xlclv-demo-report.xlsx"
    assert path.exists()
    assert "customers" in out.out and "total predicted CLV" in out.out
    assert "xlclv-demo-report.xlsx" in out.out
    wb = openpyxl.load_workbook(path, read_only=True)
    assert {"Dashboard", "Customers", "Segments", "Model", "Data issues"} <= set(wb.sheetnames)
    wb.close()


def test_demo_refuses_to_overwrite_without_force(tmp_path, capsys):
    path = tmp_path / "demo.xlsx"
    path.write_bytes(b"keep me")
    assert main(["demo", "-o", str(path)]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err and "Traceback" not in err
    assert path.read_bytes() == b"keep me"
    assert main(["demo", "-o", str(path), "--force"]) == 0
    assert path.read_bytes() != b"keep me"


def test_report_from_the_template_never_modifies_the_input(tmp_path, capsys):
    src = tmp_path / "clv_report.xlsx"
    shutil.copy(ROOT / "workbooks" / "clv_report.xlsx", src)
    before = _sha(src)
    out = tmp_path / "out.xlsx"
    assert main(["report", str(src), "-o", str(out), "--gross-margin", "0.5"]) == 0
    assert _sha(src) == before
    wb = openpyxl.load_workbook(out, read_only=True)
    values = [c for row in wb["Model"].iter_rows(values_only=True) for c in row]
    wb.close()
    assert "50.0%" in values  # the flag beat the Settings sheet's 30 %
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clv_report.xlsx", "out.xlsx"]


def test_report_from_csv(tmp_path, capsys):
    csv = tmp_path / "tx.csv"
    rows = []
    for i in range(60):
        cid = f"C{i % 12:02d}"
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=7 * (i // 3) + i % 5)
        rows.append({"customer_id": cid, "date": day.date().isoformat(), "amount": 10 + i})
    pd.DataFrame(rows).to_csv(csv, index=False)
    out = tmp_path / "out.xlsx"
    # 12 customers buying like clockwork: the models cannot be pinned down, which the run
    # says loudly (exit status 3, "report written with warnings") instead of exiting 0
    assert main(["report", str(csv), "-o", str(out)]) == 3
    printed = " ".join(capsys.readouterr().out.split())
    assert "customers 12" in printed
    assert re.search(r"warning: The [A-Za-z/]+ model did not converge", printed)
    assert "Optimization terminated successfully" not in printed
    assert out.exists()


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                ws.write(r, c, v)
    wb.close()
    return path


@pytest.mark.parametrize(
    ("sheets", "message"),
    [
        ({"Sheet1": [["Kunde", "Datum", "Betrag"]]}, "Transactions"),
        ({"Sheet1": [["customer_id", "date", "amount"]]}, "has no transactions"),
        ({"Transactions": [["customer_id", "date", "Summe"], ["a", "2024-01-01", 1]]}, "amount"),
    ],
)
def test_fatal_input_errors_are_one_line_with_exit_code_2(tmp_path, capsys, sheets, message):
    src = _workbook(tmp_path / "in.xlsx", sheets)
    before = _sha(src)
    assert main(["report", str(src), "-o", str(tmp_path / "out.xlsx")]) == 2
    err = capsys.readouterr().err.strip()
    last = err.splitlines()[-1]
    assert last.startswith("error:") and message in last
    assert "Traceback" not in err
    assert not (tmp_path / "out.xlsx").exists()
    assert _sha(src) == before


def test_missing_input_and_bad_suffix(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.xlsx"), "-o", str(tmp_path / "o.xlsx")]) == 2
    assert "not found" in capsys.readouterr().err
    txt = tmp_path / "in.txt"
    txt.write_text("x")
    assert main(["report", str(txt), "-o", str(tmp_path / "o.xlsx")]) == 2
    assert ".csv / .parquet" in capsys.readouterr().err


def test_output_must_not_be_the_input(tmp_path, capsys):
    src = tmp_path / "clv_report.xlsx"
    shutil.copy(ROOT / "workbooks" / "clv_report.xlsx", src)
    before = _sha(src)
    assert main(["report", str(src), "-o", str(src), "--force"]) == 2
    assert "never writes into its input" in capsys.readouterr().err
    assert _sha(src) == before


@pytest.mark.parametrize(
    ("rows", "code", "text"),
    [
        # one customer cannot pin a model down: written, with warnings (exit status 3)
        ([("A", "2024-01-01", 10), ("A", "2024-02-01", 12)], 3, "customers            1"),
        ([("A", "2024-01-01", 10), ("B", "2024-02-01", 12)], 2, "bought only once"),
        ([], 2, "no transactions"),
    ],
    ids=["one customer", "all one-time buyers", "empty"],
)
def test_edge_cases_give_a_report_or_a_clear_message(tmp_path, capsys, rows, code, text):
    csv = tmp_path / "tx.csv"
    pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(csv, index=False)
    out = tmp_path / "out.xlsx"
    assert main(["report", str(csv), "-o", str(out)]) == code
    captured = capsys.readouterr()
    assert text in (captured.out if code in (0, 3) else captured.err.splitlines()[-1])
    assert "Traceback" not in captured.err
    assert out.exists() == (code in (0, 3))


def test_segment_and_date_flags_override_the_settings_sheet(tmp_path, capsys):
    src = tmp_path / "clv_report.xlsx"
    shutil.copy(ROOT / "workbooks" / "clv_report.xlsx", src)
    out = tmp_path / "out.xlsx"
    args = ["report", str(src), "-o", str(out), "--segment-by", "channel"]
    assert main([*args, "--observation-end", "2025-06-30", "--model", "pnbd"]) == 0
    wb = openpyxl.load_workbook(out)
    tables = {name for ws in wb.worksheets for name in ws.tables}
    assert "tblSeg_channel" in tables and "tblSeg_region" not in tables
    issues = wb["Data issues"]
    assert issues.max_row > 2  # rows after observation_end are listed
    model = [c for row in wb["Model"].iter_rows(values_only=True) for c in row]
    assert "Pareto/NBD" in model
