"""Outputs that cannot be lost or corrupted (issue 10): one escaping rule on both write paths,
long text never cut, chart titles never parsed as references, an atomic and exclusive
publish, and no temp files left on errors, SIGINT or SIGTERM."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xlclv import WorkbookError
from xlclv.report.writer import bulk, tables, write_report
from xlclv.report.writer import workbook as writer_mod
from xlclv.report.writer.cells import EXCEL_MAX_TEXT, escape_cell_text, writable_text

from .test_writer import small_report

#: Text a careless writer corrupts: XML-illegal characters, a lone surrogate, Excel's own
#: _xHHHH_ escape written literally, formula prefixes, XML markup and edge spaces.
HOSTILE = [
    "bell\x07ring",
    "non\ufffecharacter",
    "non\uffffcharacter",
    "lone\ud800surrogate",
    "_x0041_ literal",
    "=1+1",
    "@SUM(A1)",
    "<b>&amp;</b>",
    " edge spaces ",
    "tab\tand\nnewline",
]


def _report_with_ids(ids: list[str]):
    report = small_report()
    n = len(report.customers)
    ids = (ids * n)[:n] if len(ids) < n else ids[:n]
    report.customers["Customer ID"] = pd.Series(ids, dtype=object)
    return report


def _sheet_part(path: Path, title: str) -> str:
    wb = openpyxl.load_workbook(path, read_only=True)
    index = wb.sheetnames.index(title) + 1
    wb.close()
    with zipfile.ZipFile(path) as z:
        return z.read(f"xl/worksheets/sheet{index}.xml").decode("utf-8")


def _strings(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("xl/sharedStrings.xml").decode("utf-8")


@pytest.fixture(params=["normal", "bulk"])
def path_kind(request, monkeypatch):
    if request.param == "bulk":
        monkeypatch.setattr(tables, "BULK_ROWS", 3)
    return request.param


def _n_hostile():
    return len(small_report().customers)


@pytest.mark.parametrize("start", [0, 8])
def test_hostile_text_is_well_formed_xml_and_reads_back_the_same_on_both_paths(
    tmp_path, monkeypatch, start
):
    """Every sheet part parses as XML on both paths and both paths give the same cells."""
    ids = HOSTILE[start : start + _n_hostile()]
    ids += [f"pad{k}" for k in range(_n_hostile() - len(ids))]
    normal = write_report(_report_with_ids(ids), tmp_path / "normal.xlsx")
    monkeypatch.setattr(tables, "BULK_ROWS", 3)
    fast = write_report(_report_with_ids(ids), tmp_path / "bulk.xlsx")
    for path in (normal, fast):
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith(".xml"):
                    ET.fromstring(z.read(name))  # raises on malformed XML
    expected = [t.replace("\ud800", "\ufffd") for t in ids]
    assert _column_a_as_excel_reads_it(normal) == expected
    assert _column_a_as_excel_reads_it(fast) == expected


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _excel_unescape(text: str) -> str:
    """How Excel reads cell text: each _xHHHH_ (left to right) is the character U+HHHH."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def _column_a_as_excel_reads_it(path: Path) -> list[str]:
    """Column A of Customers below the header, from the raw XML (an independent reader)."""
    with zipfile.ZipFile(path) as z:
        shared = [
            "".join(t.text or "" for t in si.iter(f"{_NS}t"))
            for si in ET.fromstring(z.read("xl/sharedStrings.xml")).iter(f"{_NS}si")
        ]
    sheet = ET.fromstring(_sheet_part(path, "Customers"))
    out = []
    for c in sheet.iter(f"{_NS}c"):
        if not re.fullmatch(r"A\d+", c.get("r")) or c.get("r") == "A1":
            continue
        if c.get("t") == "s":
            text = shared[int(c.find(f"{_NS}v").text)]
        else:
            text = "".join(t.text or "" for t in c.iter(f"{_NS}t"))
        out.append(_excel_unescape(text))
    return out


def test_the_bulk_path_escapes_exactly_like_xlsxwriter(tmp_path, monkeypatch):
    """The raw text in the bulk part equals XlsxWriter's shared-string text, item by item."""
    ids = HOSTILE[: _n_hostile()]
    normal = write_report(_report_with_ids(ids), tmp_path / "normal.xlsx")
    monkeypatch.setattr(tables, "BULK_ROWS", 3)
    fast = write_report(_report_with_ids(ids), tmp_path / "bulk.xlsx")
    shared = _strings(normal)
    xml = _sheet_part(fast, "Customers")
    for text in ids[2:]:  # rows 3+ of the bulk table are written by the bulk path
        escaped = escape_cell_text(text)
        assert escaped in shared, text
        assert escaped in xml, text
    # hand-written expectations of the rule
    assert escape_cell_text("a\x07b") == "a_x0007_b"
    assert escape_cell_text("_x0041_") == "_x005F_x0041_"
    assert escape_cell_text("x\ufffey\uffff") == "x_xFFFE_y_xFFFF_"
    assert escape_cell_text("s\ud800") == "s\ufffd"
    assert escape_cell_text("<&>") == "&lt;&amp;&gt;"
    assert "\ufffe" not in xml and "\uffff" not in xml and "\x07" not in xml


def test_formula_text_stays_text_on_both_paths(tmp_path, path_kind):
    path = write_report(_report_with_ids(["=1+1", "@SUM(A1)", "+2", "-3"]), tmp_path / "f.xlsx")
    xml = _sheet_part(path, "Customers")
    assert "<f>" not in xml
    ws = openpyxl.load_workbook(path)["Customers"]
    assert [ws.cell(r, 1).value for r in range(2, 6)] == ["=1+1", "@SUM(A1)", "+2", "-3"]
    assert all(ws.cell(r, 1).data_type == "s" for r in range(2, 6))


def test_text_over_excels_limit_is_never_cut_on_either_path(tmp_path, path_kind):
    long = "x" * (EXCEL_MAX_TEXT + 1)
    ids = ["a", "b", "c", long]
    with pytest.raises(WorkbookError, match=r"32,768 characters.*not cut"):
        write_report(_report_with_ids(ids), tmp_path / "long.xlsx")
    assert list(tmp_path.iterdir()) == []
    ok = write_report(_report_with_ids(["a", "b", "c", "y" * EXCEL_MAX_TEXT]), tmp_path / "ok.xlsx")
    ws = openpyxl.load_workbook(ok)["Customers"]
    assert ws["A5"].value == "y" * EXCEL_MAX_TEXT


def test_chart_titles_from_user_text_are_never_references(tmp_path):
    report = small_report()
    report.segments = {"Promo!A1": report.segments["region"].rename(columns={"region": "Promo!A1"})}
    path = write_report(report, tmp_path / "chart.xlsx")
    with zipfile.ZipFile(path) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
    bar = [c for c in charts if "<c:barChart>" in c and 'barDir val="bar"' in c]
    assert len(bar) == 1
    formulas = re.findall(r"<c:f>([^<]*)</c:f>", bar[0])
    assert formulas and all(f.startswith("Dashboard!") for f in formulas), formulas
    title = re.search(r"<c:title>.*?</c:title>", bar[0], re.S).group(0)
    ref = re.search(r"<c:f>([^<]*)</c:f>", title).group(1)
    m = re.fullmatch(r"Dashboard!\$([A-Z]+)\$(\d+)", ref)
    assert m, ref
    ws = openpyxl.load_workbook(path)["Dashboard"]
    assert ws[f"{m.group(1)}{m.group(2)}"].value == "Predicted CLV by Promo!A1"


# -- atomic and exclusive publish ---------------------------------------------------------------


def test_a_failure_in_the_middle_of_the_zip_write_keeps_the_previous_report(tmp_path, monkeypatch):
    path = write_report(small_report(), tmp_path / "report.xlsx")
    before = path.read_bytes()
    calls = {"n": 0}
    real = zipfile.ZipFile.write

    def failing_write(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "write", failing_write)
    with pytest.raises(WorkbookError, match="No space left.*previous file is unchanged"):
        write_report(small_report(), path, force=True)
    assert calls["n"] == 5  # the failure really happened inside the zip write
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx"]
    openpyxl.load_workbook(path)  # still a valid workbook


def test_a_failure_while_splicing_bulk_rows_leaves_no_debris(tmp_path, monkeypatch):
    path = write_report(small_report(), tmp_path / "report.xlsx")
    before = path.read_bytes()
    monkeypatch.setattr(tables, "BULK_ROWS", 3)

    def full_disk(xml, pending):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bulk, "_sheet_with_rows", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_report(small_report(), path, force=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx"]


@pytest.mark.parametrize(
    ("signum", "raised"), [(signal.SIGTERM, SystemExit), (signal.SIGINT, KeyboardInterrupt)]
)
def test_sigterm_and_sigint_during_the_bulk_write_remove_the_temp_files(
    tmp_path, monkeypatch, signum, raised
):
    monkeypatch.setattr(tables, "BULK_ROWS", 3)
    real = bulk._sheet_with_rows

    def interrupted(xml, pending):
        os.kill(os.getpid(), signum)  # arrives while the .bulk file is open
        return real(xml, pending)

    monkeypatch.setattr(bulk, "_sheet_with_rows", interrupted)
    with pytest.raises(raised) as info:
        write_report(small_report(), tmp_path / "report.xlsx")
    if raised is SystemExit:
        assert info.value.code == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None) or callable(
        signal.getsignal(signal.SIGTERM)
    )


def _race(path: str, barrier, results) -> None:
    """One of several processes writing the same new report (all past the early check)."""
    real = writer_mod._publish

    def publish_together(tmp, target, *, force):
        barrier.wait(timeout=60)
        return real(tmp, target, force=force)

    writer_mod._publish = publish_together
    try:
        write_report(small_report(), path)
        results.put("written")
    except WorkbookError as exc:
        results.put(f"error: {exc}")


def test_concurrent_runs_to_the_same_new_output_have_exactly_one_winner(tmp_path):
    n = 4
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(n), ctx.Queue()
    target = tmp_path / "shared.xlsx"
    procs = [ctx.Process(target=_race, args=(str(target), barrier, results)) for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    outcomes = [results.get(timeout=5) for _ in range(n)]
    assert outcomes.count("written") == 1, outcomes
    assert all("already exists" in o for o in outcomes if o != "written"), outcomes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.xlsx"]
    openpyxl.load_workbook(target)


# -- the escaping rule as a property --------------------------------------------------------------


@given(st.text(alphabet=st.characters(codec=None, blacklist_categories=()), max_size=40))
def test_escaping_round_trips_through_excels_reading_rule(text):
    """Whatever the text, the escaped form is well-formed XML text and Excel's decoding rule
    gives back exactly the text (lone surrogates as U+FFFD, the only change)."""
    escaped = escape_cell_text(text)
    root = ET.fromstring(f"<t>{escaped}</t>".encode("utf-8", "surrogatepass"))
    assert _excel_unescape(root.text or "") == writable_text(text)


def test_sigterm_kills_a_real_cli_process_without_debris(tmp_path):
    """A separate process writing a report gets SIGTERM in the middle of the bulk splice:
    it exits with status 143 and leaves no temp file behind."""
    import subprocess
    import sys
    import time

    code = f"""
import time
from xlclv.report.writer import bulk, tables, write_report
from tests.test_writer import small_report
tables.BULK_ROWS = 3
real = bulk._sheet_with_rows
def slow(xml, pending):
    open({str(tmp_path / "ready")!r}, "w").close()
    time.sleep(30)
    return real(xml, pending)
bulk._sheet_with_rows = slow
write_report(small_report(), {str(tmp_path / "out" / "r.xlsx")!r})
"""
    (tmp_path / "out").mkdir()
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=root)
    try:
        for _ in range(600):
            if (tmp_path / "ready").exists():
                break
            time.sleep(0.05)
        assert (tmp_path / "ready").exists()
        assert any(p.name.endswith(".bulk") for p in (tmp_path / "out").iterdir())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        proc.kill()
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.libreoffice
def test_libreoffice_reads_every_row_of_both_paths_the_same(tmp_path, monkeypatch):
    """The issue's symptom: U+FFFF in the bulk path made LibreOffice drop rows silently.
    Both paths, opened and re-saved by LibreOffice, keep every row and the same text."""
    from tests.libreoffice import LibreOffice, require_soffice

    ids = HOSTILE[: _n_hostile()]
    normal = write_report(_report_with_ids(ids), tmp_path / "normal.xlsx")
    monkeypatch.setattr(tables, "BULK_ROWS", 3)
    fast = write_report(_report_with_ids(ids), tmp_path / "bulk.xlsx")
    office = LibreOffice(require_soffice(), tmp_path / "lo")
    resaved = office.convert([normal, fast], "xlsx", tmp_path / "resaved")
    got = []
    for path in resaved:
        ws = openpyxl.load_workbook(path)["Customers"]
        got.append([ws.cell(r, 1).value for r in range(2, ws.max_row + 1)])
    assert len(got[0]) == len(got[1]) == len(ids)
    assert got[1] == got[0]
    assert got[1][ids.index("=1+1")] == "=1+1"
