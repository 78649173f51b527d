"""xlclv.report._reader: the openpyxl fallback (xlwings Lite has no python-calamine) reads
what calamine reads; the wheel's metadata skips calamine on Pyodide."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import openpyxl
import pytest

from xlclv.report._reader import open_workbook

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reader") / "cells.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Transactions"
    ws.append(["customer_id", "date", "amount", "when", "ok"])
    ws.append([101, dt.datetime(2024, 1, 5), 10.5, dt.datetime(2024, 1, 5, 13, 30), True])
    ws.append(["A-7", dt.datetime(2024, 2, 1), -3, dt.datetime(2024, 2, 1, 0, 0), False])
    ws.append([None, None, "=1/0", None, None])
    ws.append([102, dt.datetime(2024, 3, 1), 0, None, None])
    ws["D2"].number_format = "yyyy-mm-dd hh:mm"
    ws["D3"].number_format = "yyyy-mm-dd hh:mm"
    for row in (2, 3, 5):
        ws[f"B{row}"].number_format = "yyyy-mm-dd"
    wb.create_sheet("Settings").append(["gross_margin", 0.3])
    wb.save(path)
    return path


def test_openpyxl_fallback_reads_what_calamine_reads(book):
    cal = open_workbook(book, engine="calamine")
    opx = open_workbook(book, engine="openpyxl")
    assert cal.sheet_names == opx.sheet_names == ["Transactions", "Settings"]
    for name in cal.sheet_names:
        a, b = cal.grid(name), opx.grid(name)
        assert [[(type(v), v) for v in r] for r in a] == [[(type(v), v) for v in r] for r in b]
    rows = opx.grid("Transactions")
    assert rows[1][:3] == [101.0, dt.date(2024, 1, 5), 10.5]  # numbers as float, a date
    assert rows[1][3] == dt.datetime(2024, 1, 5, 13, 30)  # a time of day stays a datetime
    assert rows[3][0] == ""  # an empty cell


def test_calamine_missing_means_openpyxl(book, monkeypatch):
    monkeypatch.setitem(sys.modules, "python_calamine", None)  # import fails
    assert open_workbook(book).engine == "openpyxl"


def test_calamine_has_the_pyodide_marker():
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [calamine] = [d for d in deps if d.startswith("python-calamine")]
    assert calamine.replace("'", '"').endswith('; sys_platform != "emscripten"')
    from packaging.markers import Marker

    marker = Marker(calamine.split(";", 1)[1])
    assert not marker.evaluate({"sys_platform": "emscripten"})
    assert marker.evaluate({"sys_platform": "linux"}) and marker.evaluate({"sys_platform": "win32"})
