"""xlwings Lite, emulated: the docs' Lite script and the functions with Office.js-style values.

Nothing here runs in Pyodide or xlwings Lite. The stand-in ``LiteBook`` has what the script
uses of Lite's ``xw.Book`` (sheets, ``used_range`` with ``value``/``row``/``column``,
``sheets.add``, ``clear``, writing a DataFrame with ``options(index=False)``) and holds
values the way Office.js hands them over: lists of lists, ``""`` for an empty cell, dates as
serial numbers (or as text where the cell holds text), ``"#N/A"`` for an error cell.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.test_excel_button import ErrorCell, read_cells

ROOT = Path(__file__).resolve().parent.parent
EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def office_js(v: Any) -> Any:
    """A cell value as Office.js ``Range.values`` gives it."""
    if v is None:
        return ""
    if isinstance(v, ErrorCell):
        return v.code
    if isinstance(v, dt.datetime):
        return (v - EXCEL_EPOCH).total_seconds() / 86400
    if isinstance(v, bool):
        return v
    return v


class LiteRange:
    def __init__(self, sheet: LiteSheet, row: int = 1, column: int = 1) -> None:
        self.sheet, self.row, self.column = sheet, row, column
        self.written: Any = None
        self.opts: dict[str, Any] = {}

    @property
    def value(self) -> Any:
        return [list(r) for r in self.sheet.rows]

    @value.setter
    def value(self, data: Any) -> None:
        self.sheet.written = (data, dict(self.opts))

    def options(self, **opts: Any) -> LiteRange:
        self.opts = opts
        return self


class LiteSheet:
    """``rows``: the used range's values, whose top-left cell is (``top``, ``left``)."""

    def __init__(self, name: str, rows: list[list[Any]], top: int = 1, left: int = 1) -> None:
        self.name, self.rows, self.top, self.left = name, rows, top, left
        self.written: Any = None

    @property
    def used_range(self) -> LiteRange:
        return LiteRange(self, self.top, self.left)

    def __getitem__(self, address: str) -> LiteRange:
        assert address == "A1"
        return LiteRange(self)

    def clear(self) -> None:
        self.rows, self.written = [[""]], None


class LiteSheets(list):
    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return next(s for s in self if s.name == key)
        return super().__getitem__(key)

    def add(self, name: str) -> LiteSheet:
        sheet = LiteSheet(name, [[""]])
        self.append(sheet)
        return sheet


class LiteBook:
    def __init__(self, name: str, sheets: list[LiteSheet]) -> None:
        self.name, self.sheets = name, LiteSheets(sheets)


def docs_lite_script() -> str:
    """The Python block of the xlwings Lite section of docs/excel.md."""
    text = (ROOT / "docs" / "excel.md").read_text(encoding="utf-8")
    section = text[text.index("## xlwings Lite") :]
    section = section[: section.index("\n## ", 3)]
    [block] = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return "\n".join(line[3:] if line.startswith("   ") else line for line in block.splitlines())


@pytest.fixture(scope="module")
def template_cells(tmp_path_factory) -> dict[str, list[list[Any]]]:
    from xlclv.excel.templates import build_clv_report

    return read_cells(build_clv_report(tmp_path_factory.mktemp("lite") / "clv_report.xlsx"))


def lite_book(cells: dict[str, list[list[Any]]]) -> LiteBook:
    from xlclv.report.writer import OUTPUT_SHEETS

    sheets = []
    for name, rows in cells.items():
        if name in OUTPUT_SHEETS:  # a workbook of the user's: inputs and their own sheets
            continue
        values = [[office_js(v) for v in r] for r in rows]
        if name == "Transactions":
            values[1][1] = "2024-01-01"  # a date typed as text
            values[2][2] = "#N/A"  # an error cell in amount
            # Lite's used range starts at the first used cell: put the table at B3
            sheets.append(LiteSheet(name, values, top=3, left=2))
        else:
            sheets.append(LiteSheet(name, values))
    sheets.append(LiteSheet("Customers", [["my own", "customer list"], ["ACME", 1.0]]))
    return LiteBook("Book1.xlsx", sheets)


def test_the_docs_lite_script_runs_on_office_js_values(template_cells):
    book = lite_book(template_cells)
    mine = book.sheets["Customers"]
    namespace: dict[str, Any] = {}
    exec(compile(docs_lite_script(), "docs/excel.md", "exec"), namespace)
    namespace["build_clv_report"](book)

    out = book.sheets["xlclv customers"]
    frame, opts = out.written
    assert opts == {"index": False}
    assert isinstance(frame, pd.DataFrame) and len(frame) > 1000
    assert mine.rows == [["my own", "customer list"], ["ACME", 1.0]]  # the user's sheet
    # the rows read are the rows of the template (the used range's offset undone)
    ids = set(frame.iloc[:, 0])
    tx = template_cells["Transactions"]
    assert ids <= {r[0] for r in tx[1:]}


def test_cells_from_used_ranges_pads_to_a1(template_cells):
    from xlclv.excel.button import cells_from_used_ranges

    book = lite_book(template_cells)
    grids = cells_from_used_ranges(book)
    tx = grids["Transactions"]
    assert tx[0] == [None] * 6 and tx[1] == [None] * 6  # rows 1-2 above the used range
    assert tx[2][0] is None and tx[2][1:] == [
        office_js(v) for v in template_cells["Transactions"][0]
    ]
    assert grids["README"] is None  # not an input sheet


def test_functions_take_office_js_values():
    """Lite calls the functions with plain lists: serial-number dates, "" blanks, error text."""
    from xlclv import udfs

    assert udfs.LIFETIME([[0.5], [""], [0.25]]) == [[2.0], [None], [4.0]]
    got = udfs.LIFETIME([[0.5], ["#N/A"]])
    assert got[0] == [2.0] and got[1][0].startswith("xlclv: churn_rate contains the Excel error")
    ids = [[1.0], [1.0], [2.0], [""]]
    dates = [[45292.0], [45320.0], ["2024-01-05"], [""]]  # serials and ISO text
    amounts = [[10.0], [20.0], [5.0], [""]]
    rows = udfs.CLV_RFM(ids, dates, amounts)
    assert rows[0][0] == "customer_id" and [r[0] for r in rows[1:]] == [1.0, 2.0]
    assert rows[1][1] == 1.0  # customer 1 bought again
