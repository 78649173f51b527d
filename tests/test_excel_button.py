"""The button entry point xlclv.excel.button: everything but Excel is real (core, writer, template);
Excel is a small fake of exactly the xlwings calls the button makes. Whether real Excel
behaves like this fake can only be confirmed in Excel (docs/excel.md says so)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.test_writer import sheet_charts
from xlclv._errors import WorkbookError
from xlclv.excel import button
from xlclv.report.writer import OUTPUT_SHEETS

# ----------------------------------------------------------------------------- the fake


class ErrorCell:
    """An Excel error cell (#N/A, #DIV/0! ...) in the fake. Like xlwings, reading gives
    ``None`` unless the range is read with ``err_to_str=True`` (then the error's text)."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ErrorCell) and other.code == self.code

    def __repr__(self) -> str:
        return f"ErrorCell({self.code!r})"


def _as_xlwings(v: Any) -> Any:
    """Cell values as xlwings returns them: numbers as float, dates as datetime, blanks None."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, int):
        return float(v)
    if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
        return dt.datetime(v.year, v.month, v.day)
    return v


class FakeCell:
    def __init__(self, row: int, column: int) -> None:
        self.row, self.column = row, column


class FakeRange:
    def __init__(self, rows: list[list[Any]]) -> None:
        self.rows = rows
        self.ndim = None
        self.err_to_str = False

    def options(self, *, ndim: int, err_to_str: bool = False) -> FakeRange:
        assert ndim == 2
        self.ndim = ndim
        self.err_to_str = err_to_str
        return self

    @property
    def value(self) -> list[list[Any]]:
        assert self.ndim == 2, "read with options(ndim=2) so one row still gives a 2-D list"

        def cell(v: Any) -> Any:
            if isinstance(v, ErrorCell):  # xlwings: None unless err_to_str=True
                return v.code if self.err_to_str else None
            return v

        return [[cell(v) for v in r] for r in self.rows]


class FakeName:
    """A sheet-level defined name: Excel reports it as ``Sheet!name`` (quoted if needed)."""

    def __init__(self, sheet: FakeSheet, name: str, refers_to: str) -> None:
        self.sheet, self.local, self.refers_to = sheet, name, refers_to

    @property
    def name(self) -> str:
        sheet = self.sheet.name
        prefix = f"'{sheet}'" if not sheet.replace("_", "").isalnum() else sheet
        return f"{prefix}!{self.local}"


class FakeNames:
    def __init__(self, sheet: FakeSheet) -> None:
        self.sheet = sheet
        self.items: list[FakeName] = []

    def add(self, name: str, refers_to: str) -> FakeName:
        self.items = [n for n in self.items if n.local.lower() != name.lower()]
        self.items.append(FakeName(self.sheet, name, refers_to))
        return self.items[-1]

    def __iter__(self):
        return iter(list(self.items))


class FakeUsedRange:
    def __init__(self, last_cell: FakeCell) -> None:
        self.last_cell = last_cell


class FakeSheet:
    """``rows`` are the cells from A1; the used range ends at the last non-empty cell.
    ``chart_sheets``: the sheets its charts read (from the chart formulas of the file)."""

    def __init__(
        self, book: FakeBook, name: str, rows: list[list[Any]], chart_sheets: set[str] = frozenset()
    ):
        self.book, self.name, self.rows = book, name, rows
        self.chart_sheets = set(chart_sheets)
        self.names = FakeNames(self)

    @property
    def used_range(self) -> FakeUsedRange:
        filled = [
            (i, j) for i, r in enumerate(self.rows) for j, v in enumerate(r) if v not in (None, "")
        ]
        return FakeUsedRange(FakeCell(max(i for i, _ in filled) + 1, max(j for _, j in filled) + 1))

    def range(self, first: tuple[int, int], last: tuple[int, int]) -> FakeRange:
        assert first == (1, 1)
        width = last[1]
        rows = [list(r[:width]) + [None] * (width - len(r)) for r in self.rows[: last[0]]]
        return FakeRange(rows)

    def delete(self) -> None:
        self.book.app.log.append(("delete sheet", self.name))
        self.book.sheets.items.remove(self)

    def copy(self, before: FakeSheet | None = None, after: FakeSheet | None = None) -> FakeSheet:
        assert (before is None) != (after is None)
        anchor = before or after
        target = anchor.book
        if self.chart_sheets - {self.name}:
            # a chart reading another sheet of the source: Excel links the copy to the source
            link = f"C:\\Temp\\{self.book.name}"
            if link not in target.links:
                target.links.append(link)
        name, k = self.name, 2
        while name.lower() in (n.lower() for n in target.sheets.names()):
            name, k = f"{self.name} ({k})", k + 1  # what Excel does with a taken name
        new = FakeSheet(target, name, [list(r) for r in self.rows], self.chart_sheets)
        for n in self.names:  # sheet-level names travel with the sheet
            new.names.add(n.local, n.refers_to)
        at = target.sheets.items.index(anchor) + (1 if after is not None else 0)
        target.sheets.items.insert(at, new)
        return new

    def activate(self) -> None:
        self.book.app.log.append(("activate sheet", self.name))


class FakeSheets:
    def __init__(self) -> None:
        self.items: list[FakeSheet] = []

    def __iter__(self):
        return iter(list(self.items))

    def __getitem__(self, key: str | int) -> FakeSheet:
        if isinstance(key, int):
            return self.items[key]
        for s in self.items:
            if s.name.lower() == key.lower():
                return s
        raise KeyError(key)

    def names(self) -> list[str]:
        return [s.name for s in self.items]


class FakeBook:
    def __init__(self, app: FakeApp, name: str) -> None:
        self.app, self.name, self.sheets = app, name, FakeSheets()
        self.links: list[str] = []  # other workbooks it links to (Excel: Data > Edit Links)
        self.closed = False

    def add(
        self, name: str, rows: list[list[Any]], chart_sheets: set[str] = frozenset()
    ) -> FakeSheet:
        sheet = FakeSheet(self, name, rows, chart_sheets)
        self.sheets.items.append(sheet)
        return sheet

    def activate(self) -> None:
        self.app.log.append(("activate book", self.name))

    def close(self) -> None:
        self.closed = True


class FakeBooks:
    def __init__(self, app: FakeApp) -> None:
        self.app = app
        self.opened: list[FakeBook] = []
        self.active: FakeBook | None = None

    def open(self, path: str) -> FakeBook:
        assert Path(path).is_file()
        book = book_from_xlsx(self.app, Path(path))
        self.opened.append(book)
        return book


class FakeApp:
    def __init__(self) -> None:
        self.books = FakeBooks(self)
        self.log: list[tuple[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []
        self._status: Any = False
        self.screen_updating = True

    @property
    def status_bar(self) -> Any:
        return self._status

    @status_bar.setter
    def status_bar(self, value: Any) -> None:
        self._status = value
        self.log.append(("status", value))

    def alert(self, prompt: str, title: str | None = None, mode: str | None = None) -> None:
        self.alerts.append({"prompt": prompt, "title": title, "mode": mode})


def read_cells(path: Path) -> dict[str, list[list[Any]]]:
    """Every sheet's cells from A1, as the fake holds them (error cells as :class:`ErrorCell`)."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return {
            ws.title: [
                [ErrorCell(c.value) if c.data_type == "e" else _as_xlwings(c.value) for c in r]
                for r in ws.iter_rows(min_row=1, min_col=1)
            ]
            or [[None]]
            for ws in wb.worksheets
        }
    finally:
        wb.close()


def book_from_cells(app: FakeApp, name: str, cells: dict[str, list[list[Any]]]) -> FakeBook:
    book = FakeBook(app, name)
    for title, rows in cells.items():
        book.add(title, [list(r) for r in rows])
    return book


def book_from_xlsx(app: FakeApp, path: Path, name: str | None = None) -> FakeBook:
    book = book_from_cells(app, name or path.name, read_cells(path))
    for title, charts in sheet_charts(path).items():
        formulas = [f for chart in charts for f in chart["f"]]
        book.sheets[title].chart_sheets = {f.rsplit("!", 1)[0].strip("'") for f in formulas}
    return book


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    from xlclv.excel.templates import build_clv_report

    return build_clv_report(tmp_path_factory.mktemp("tpl") / "clv_report.xlsx")


@pytest.fixture(scope="module")
def template_cells(template) -> dict[str, list[list[Any]]]:
    return read_cells(template)


@pytest.fixture
def book(template_cells) -> FakeBook:
    app = FakeApp()
    b = book_from_cells(app, "Q3 customers (copy).xlsm", template_cells)
    b.add("xlwings.conf", [["UDF Modules", "xlclv.udfs"]])
    for name in OUTPUT_SHEETS:  # the template's output sheets carry xlclv's marker
        b.sheets[name].names.add(button.OUTPUT_MARKER, "=TRUE")
    app.books.active = b
    return b


def snapshot(book: FakeBook, names) -> dict[str, list[list[Any]]]:
    return {n: [list(r) for r in book.sheets[n].rows] for n in names}


# ----------------------------------------------------------------------------- tests

INPUTS = ("README", "Settings", "Transactions", "NPS", "Marketing", "xlwings.conf")


def test_replaces_only_the_output_sheets_in_place(book, tmp_path):
    stale = book.sheets["Customers"]
    stale.rows = [["stale"]]
    before = snapshot(book, INPUTS)
    inputs = [book.sheets[n] for n in INPUTS]

    report = button.run(book, home=tmp_path)

    assert report is not None and book.app.alerts == []
    names = book.sheets.names()
    # output sheets in their order, where the old ones were; input sheets untouched (same objects)
    assert [n for n in names if n in OUTPUT_SHEETS] == list(OUTPUT_SHEETS)
    first = names.index(OUTPUT_SHEETS[0])
    assert names[first : first + len(OUTPUT_SHEETS)] == list(OUTPUT_SHEETS)
    assert names[-1] == "xlwings.conf"
    assert [book.sheets[n] for n in INPUTS] == inputs
    assert snapshot(book, INPUTS) == before
    customers = book.sheets["Customers"]
    assert customers is not stale
    assert customers.rows[0][0] == "Customer ID"
    ids = {r[0] for r in customers.rows[1:] if r[0] is not None}
    assert len(ids) == report.summary["customers"]
    # the Dashboard's charts came along reading only the Dashboard: no links to the temp file
    assert book.sheets["Dashboard"].chart_sheets == {"Dashboard"}
    assert book.links == []
    # the temporary workbook was closed, the user's book and Dashboard are active again
    assert all(b.closed for b in book.app.books.opened)
    activations = [entry for entry in book.app.log if entry[0] != "status"]
    assert activations[-2:] == [("activate book", book.name), ("activate sheet", "Dashboard")]
    assert book.app.screen_updating is True
    # progress went to the status bar, phase by phase, and the bar was handed back to Excel
    statuses = [v for kind, v in book.app.log if kind == "status"]
    assert statuses[0] == "xlclv: reading the workbook..."
    assert "xlclv: writing the report sheets..." in statuses
    assert len(statuses) > 3  # the core's phases in between
    assert all(isinstance(v, str) and v.startswith("xlclv: ") for v in statuses[:-1])
    assert statuses[-1] is False


def test_first_run_appends_the_output_sheets_and_a_rerun_replaces_them(book, tmp_path):
    for name in OUTPUT_SHEETS:
        book.sheets[name].delete()
    button.run(book, home=tmp_path)
    names = book.sheets.names()
    assert names[-len(OUTPUT_SHEETS) :] == list(OUTPUT_SHEETS)
    once = snapshot(book, OUTPUT_SHEETS)
    button.run(book, home=tmp_path)
    assert book.sheets.names() == names
    assert snapshot(book, OUTPUT_SHEETS) == once


def test_missing_column_is_a_plain_message_and_changes_nothing(book, tmp_path):
    tx = book.sheets["Transactions"]
    tx.rows[0] = ["Kunde", "Datum", "Betrag", *tx.rows[0][3:]]
    before = snapshot(book, book.sheets.names())
    assert button.run(book, home=tmp_path) is None
    [alert] = book.app.alerts
    assert alert["title"] == "xlclv"
    assert "amount" in alert["prompt"] and "Traceback" not in alert["prompt"]
    assert snapshot(book, book.sheets.names()) == before
    assert book.app.status_bar is False


def test_unexpected_error_names_the_log_and_logs_the_traceback(book, tmp_path, monkeypatch):
    import xlclv.report

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(xlclv.report, "build_report", boom)
    assert button.run(book, home=tmp_path) is None
    [alert] = book.app.alerts
    log = button.log_path(tmp_path)
    assert str(log) in alert["prompt"] and "Traceback" not in alert["prompt"]
    assert "RuntimeError: disk on fire" in log.read_text()
    assert book.app.status_bar is False


def test_no_transactions_sheet_lists_the_sheets(book, tmp_path):
    book.sheets["Transactions"].name = "Sales"
    button.run(book, home=tmp_path)
    [alert] = book.app.alerts
    assert "no sheet 'Transactions'" in alert["prompt"] and "Sales" in alert["prompt"]


def test_inputs_from_cells_reads_like_read_workbook(template, template_cells):
    """The template read through xlwings' cells and by read_workbook gives the same inputs."""
    from xlclv.report.inputs import read_workbook

    book = book_from_cells(FakeApp(), template.name, template_cells)
    via_excel = button.inputs_from_cells(button._read_sheets(book), source=book.name)
    via_file = read_workbook(template)
    assert via_excel.transactions_first_row == via_file.transactions_first_row
    assert via_excel.transactions_sheet == via_file.transactions_sheet
    assert list(via_excel.transactions.columns) == list(via_file.transactions.columns)
    assert len(via_excel.transactions) == len(via_file.transactions)
    assert via_excel.settings.keys() == via_file.settings.keys()
    for frame in ("nps", "marketing"):
        a, b = getattr(via_excel, frame), getattr(via_file, frame)
        assert (a is None) == (b is None)
        if a is not None:
            assert list(a.columns) == list(b.columns) and len(a) == len(b)


def test_inputs_from_cells_header_below_blank_rows_and_unread_sheets():
    d = dt.datetime(2024, 1, 5)
    grids = {
        "Notes": None,
        "transactions": [
            [None, None, None],
            [None, None, None],
            ["Customer ID", "Date", "Amount"],
            ["a", d, 10.0],
            ["b", "2024-01-06", "=1+1"],
        ],
        "SETTINGS": [["Setting", "Value"], ["gross_margin", 0.3], ["time_unit", "W"]],
    }
    inputs = button.inputs_from_cells(grids, source="x.xlsm")
    tx = inputs.transactions
    assert list(tx.columns) == ["Customer ID", "Date", "Amount"]
    assert tx.iloc[1, 2] == "=1+1"  # text stays text
    assert inputs.transactions_first_row == 4 and inputs.transactions_sheet == "transactions"
    assert inputs.settings == {"gross_margin": 0.3, "time_unit": "W"}
    assert inputs.nps is None and inputs.marketing is None
    assert inputs.source == "x.xlsm"


def test_inputs_from_cells_without_transactions_lists_the_sheets():
    with pytest.raises(WorkbookError, match="no sheet 'Transactions'; found: Notes, Sales"):
        button.inputs_from_cells({"Notes": None, "Sales": [["a"]]}, source="x.xlsm")


def test_caller_book_from_the_addin_is_the_active_workbook():
    app = FakeApp()
    addin, user = FakeBook(app, "xlclv.xlam"), FakeBook(app, "sales.xlsx")
    app.books.active = user

    class XW:
        class Book:
            @staticmethod
            def caller():
                return addin

    assert button._caller_book(XW) is user
    XW.Book.caller = staticmethod(lambda: user)
    assert button._caller_book(XW) is user


def test_fake_matches_the_xlwings_api():
    """The fake's names exist in xlwings with compatible signatures."""
    import inspect

    import xlwings as xw

    options = inspect.signature(xw.main.Range.options).parameters
    assert list(options)[1:] == ["convert", "options"]  # options(convert=None, **options)
    assert options["options"].kind is inspect.Parameter.VAR_KEYWORD
    assert {"before", "after"} <= set(inspect.signature(xw.Sheet.copy).parameters)
    assert {"title", "mode"} <= set(inspect.signature(xw.App.alert).parameters)
    for attr in ("status_bar", "screen_updating"):
        assert isinstance(getattr(xw.App, attr), property)
    assert isinstance(xw.Sheet.used_range, property)
    assert isinstance(xw.Range.last_cell, property)
    assert isinstance(xw.Range.row, property) and isinstance(xw.Range.column, property)
    assert callable(xw.Sheet.range)
    for method in ("delete", "activate"):
        assert callable(getattr(xw.Sheet, method))
    assert isinstance(xw.Sheet.names, property) and xw.Sheet.name.fset is not None
    assert list(inspect.signature(xw.main.Names.add).parameters)[1:] == ["name", "refers_to"]
    assert isinstance(xw.main.Name.name, property)
    for method in ("activate", "close"):
        assert callable(getattr(xw.Book, method))
    assert callable(xw.main.Books.open)
    assert isinstance(xw.main.Books.active, property)


@pytest.mark.parametrize("err_to_str", [True, False])
def test_fake_range_reads_cells_as_xlwings_does(err_to_str):
    """The same cells read through the fake and through xlwings' real conversion (the Excel
    harness: xlwings.main.Range over a COM-like range, xlwings' own _xlwindows value hooks)
    with the options the button uses: the same values, errors, blanks and dates."""
    import xlwings as xw

    from tests import excel_harness as xl

    div0 = next(code for code, text in xl.CELL_ERRORS.items() if text == "#DIV/0!")
    com = [  # what COM hands over: doubles, text, datetimes, None blanks, error codes
        ["Customer ID", "Date", "Amount", None],
        ["a", dt.datetime(2024, 1, 5, 10, 30, 0, 250_000), 10.0, None],
        ["b", None, xl.NA, "x"],
        [None, dt.datetime(2024, 2, 29), -3.5, div0],
    ]
    fake_cells = [
        [ErrorCell(xl.CELL_ERRORS[v]) if v in (xl.NA, div0) else v for v in row] for row in com
    ]
    xl.load()
    xl._register_engine()
    reads = []
    for n in (len(com), 1):  # a single row stays a list of rows (ndim=2)
        real = xw.Range(impl=xl.ComSheet(com[:n]).range((1, 1), (n, len(com[0]))))
        fake = FakeRange([list(r) for r in fake_cells[:n]])
        got = fake.options(ndim=2, err_to_str=err_to_str).value
        assert got == real.options(ndim=2, err_to_str=err_to_str).value
        reads.append(got)
    assert reads[1] == [["Customer ID", "Date", "Amount", None]]
    full = reads[0]
    assert full[2][2] == ("#N/A" if err_to_str else None)
    assert full[3][3] == ("#DIV/0!" if err_to_str else None)
    assert full[1][1] == dt.datetime(2024, 1, 5, 10, 30, 0, 250_000)


def test_reads_only_the_input_sheets(book):
    cells = button._read_sheets(book)
    assert cells["README"] is None and cells["xlwings.conf"] is None  # not input sheets
    assert [str(v).lower() for v in cells["Transactions"][0][:3]] == [
        "customer_id",
        "date",
        "amount",
    ]


# ----------------------------------------------------------------------------- never a user's sheet

USER_ROWS = [
    ["Customer", "Owner", "Credit limit"],
    ["ACME", "Ann", 5000.0],
    ["Globex", "Bob", None],
]


def _user_customers(book: FakeBook) -> FakeSheet:
    """Replace the template's Customers with the user's own master sheet of that name."""
    at = book.sheets.names().index("Customers")
    book.sheets["Customers"].delete()
    mine = FakeSheet(book, "Customers", [list(r) for r in USER_ROWS])
    book.sheets.items.insert(at, mine)
    return mine


def test_a_users_customers_sheet_is_kept_and_the_report_goes_beside_it(book, tmp_path):
    mine = _user_customers(book)
    book.app.log.clear()

    report = button.run(book, home=tmp_path)

    assert report is not None
    assert ("delete sheet", "Customers") not in book.app.log
    assert book.sheets["Customers"] is mine and mine.name == "Customers"
    assert mine.rows == USER_ROWS and list(mine.names) == []  # byte for byte, unmarked
    ours = book.sheets["Customers (xlclv)"]
    assert ours.rows[0][0] == "Customer ID"
    assert [n.name for n in ours.names] == ["'Customers (xlclv)'!xlclv_output"]
    # the other outputs replaced the marked template sheets under their own names
    for name in OUTPUT_SHEETS:
        if name != "Customers":
            assert button._is_marked(book.sheets[name]), name
    [alert] = book.app.alerts
    assert alert["mode"] == "info"
    assert "'Customers (xlclv)'" in alert["prompt"] and "'Customers' is kept" in alert["prompt"]

    # a second run replaces its own "Customers (xlclv)" and still keeps the user's sheet
    names = book.sheets.names()
    button.run(book, home=tmp_path)
    assert book.sheets.names() == names
    assert book.sheets["Customers"] is mine and mine.rows == USER_ROWS
    assert book.sheets["Customers (xlclv)"] is not ours


def test_unmarked_sheets_with_output_names_are_never_deleted(book, tmp_path):
    """A workbook whose output-named sheets carry no marker (made by hand, or by an older
    template): nothing is deleted, every output goes beside."""
    for name in OUTPUT_SHEETS:
        book.sheets[name].names.items.clear()
    before = snapshot(book, book.sheets.names())
    book.app.log.clear()
    button.run(book, home=tmp_path)
    assert not [e for e in book.app.log if e[0] == "delete sheet"]
    assert snapshot(book, before) == before
    for name in OUTPUT_SHEETS:
        assert button._is_marked(book.sheets[f"{name} (xlclv)"])


def test_a_renamed_report_sheet_is_kept(book, tmp_path):
    """The marker moves with a sheet the user renamed; only output *names* are replaced."""
    button.run(book, home=tmp_path)
    kept = book.sheets["Customers"]
    kept.name = "Customers Q3"
    button.run(book, home=tmp_path)
    assert book.sheets["Customers Q3"] is kept
    assert book.sheets["Customers"] is not kept


def test_targets_pick_the_first_free_name():
    existing = [("Customers", False), ("Customers (xlclv)", False), ("Model", True)]
    assert button._targets(existing, ("Customers", "Model", "Cohorts")) == {
        "Customers": "Customers (xlclv 2)",
        "Model": "Model",
        "Cohorts": "Cohorts",
    }
    assert button._targets([("customers", False)], ("Customers",)) == {
        "Customers": "Customers (xlclv)"
    }


def test_error_cells_are_read_as_their_text_not_as_blanks(book):
    tx = book.sheets["Transactions"]
    tx.rows[1][2] = ErrorCell("#N/A")
    assert FakeRange([[ErrorCell("#N/A")]]).options(ndim=2).value == [[None]]  # like xlwings
    cells = button._read_sheets(book)
    assert cells["Transactions"][1][2] == "#N/A"


def test_error_cell_in_amount_is_reported(book, tmp_path):
    tx = book.sheets["Transactions"]
    tx.rows[1][2] = ErrorCell("#N/A")
    assert button.run(book, home=tmp_path) is not None
    # listed among the data issues with the cell's text (read as a blank, it would be missed
    # or reported as a blank amount)
    issues = book.sheets["Data issues"].rows
    assert ["Transactions", 2.0, "amount", "#N/A"] in [r[:4] for r in issues]


def test_temporary_report_goes_inside_excels_container_on_macos(tmp_path):
    assert button.temp_parent(tmp_path, "linux") is None
    assert button.temp_parent(tmp_path, "darwin") is None  # no container: system temp folder
    container = tmp_path / "Library" / "Containers" / "com.microsoft.Excel"
    container.mkdir(parents=True)
    assert button.temp_parent(tmp_path, "darwin") == container / "Data" / "tmp" / "xlclv"
