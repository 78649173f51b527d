"""The one-click report inside Excel: ``xlclv.main()``, run by xlwings' ``RunPython``.

Both buttons end here: the "Build CLV report" button of the ``xlclv.xlam`` ribbon add-in
(``RunPython "import xlclv;xlclv.main()"``) and the form button of ``clv_report.xlsm``.

:func:`run` reads the input sheets of the workbook (Transactions, Settings, and NPS / Marketing
when present) into :class:`xlclv.report.inputs.WorkbookInputs`, builds the report with the core
(:func:`xlclv.report.pipeline.build_report`), writes it with the headless writer to a temporary file and
copies the output sheets (:data:`xlclv.report.writer.OUTPUT_SHEETS`) into the workbook, replacing the
earlier ones. Input sheets are never touched. Progress goes to Excel's status bar. A problem
with the inputs (:class:`xlclv.XlclvError`) is shown as a plain message box; anything else as a
short message that names the log file with the details -- never a traceback.

Only the few functions marked "xlwings" below talk to Excel. The tests drive them through a
small fake of exactly those xlwings calls; whether real Excel behaves like the fake can only be
confirmed in Excel (see docs/excel.md).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from xlclv._errors import WorkbookError, XlclvError

__all__ = ["TITLE", "inputs_from_cells", "log_path", "main", "run"]

TITLE = "xlclv"
#: Input sheets, by their role; matched as xlclv.report.inputs matches them (ignoring case and spaces).
SHEETS = {
    "transactions": "Transactions",
    "settings": "Settings",
    "nps": "NPS",
    "marketing": "Marketing",
}


def log_path(home: str | os.PathLike[str] | None = None) -> Path:
    """Where unexpected errors are logged: ``~/.xlclv/logs/button.log``."""
    return Path(home or Path.home()) / ".xlclv" / "logs" / "button.log"


def main() -> None:
    """Build the CLV report into the workbook that called (``xlclv.main()`` in RunPython)."""
    import xlwings as xw

    run(_caller_book(xw))


def run(book: Any, *, home: str | os.PathLike[str] | None = None) -> Any:
    """Build the report from ``book``'s input sheets into its output sheets.

    Returns the :class:`xlclv.report.pipeline.Report`, or ``None`` after showing an error message.
    """
    from xlclv.report import Settings
    from xlclv.report.bigdata import report_for_workbook

    app = book.app
    try:
        _status(app, "reading the workbook")
        inputs = inputs_from_cells(_read_sheets(book), source=book.name)
        settings = Settings.from_values(inputs.settings)
        # the pasted table, or the Settings sheet's data_source (a big log, through DuckDB)
        report = report_for_workbook(
            inputs,
            settings,
            workbook=getattr(book, "fullname", None),
            progress=lambda phase: _status(app, phase),
        )
        _status(app, "writing the report sheets")
        _write_output(book, report)
        return report
    except XlclvError as exc:
        _alert(app, str(exc))
    except Exception:  # an unexpected failure: details to the log, a short message to the user
        path = _log_exception(home)
        _alert(
            app,
            "xlclv could not build the report because of an unexpected error.\n"
            f"The details are in {path}; please send that file with your report of the problem.",
        )
    finally:
        app.status_bar = False  # hand the status bar back to Excel
    return None


# ---------------------------------------------------------------- cells -> WorkbookInputs


def inputs_from_cells(grids: Mapping[str, list[list[Any]] | None], *, source: str) -> Any:
    """:class:`xlclv.report.inputs.WorkbookInputs` from raw sheet cells, read as
    :func:`xlclv.report.inputs.read_workbook` reads a file (same helpers, same messages).

    ``grids`` maps every sheet name of the workbook to its cells from A1 to the end of the used
    range (a list of rows), or to ``None`` for a sheet that was not read (not an input sheet).
    """
    from xlclv.report.inputs import WorkbookInputs, _grid_to_frame, _read_settings, _sheet_lookup

    readable = [name for name, grid in grids.items() if grid is not None]

    def find(wanted: str) -> str | None:
        return _sheet_lookup(readable, wanted)

    tx_name = find(SHEETS["transactions"])
    if tx_name is None:
        raise WorkbookError(
            f"Workbook '{source}' has no sheet 'Transactions'; found: {', '.join(grids)}. "
            "Paste your transactions into a sheet named Transactions (see the template)"
        )
    tx, tx_first = _grid_to_frame(grids[tx_name])
    inputs = WorkbookInputs(
        transactions=tx, transactions_first_row=tx_first, transactions_sheet=tx_name, source=source
    )
    if (name := find(SHEETS["settings"])) is not None:
        inputs.settings = _read_settings(grids[name])
    if (name := find(SHEETS["nps"])) is not None:
        inputs.nps, inputs.nps_first_row = _grid_to_frame(grids[name])
        inputs.nps_sheet = name
    if (name := find(SHEETS["marketing"])) is not None:
        inputs.marketing, inputs.marketing_first_row = _grid_to_frame(grids[name])
        inputs.marketing_sheet = name
    return inputs


# ---------------------------------------------------------------- the xlwings part


def _caller_book(xw: Any) -> Any:
    """xlwings: the workbook to report on. From the add-in, ``Book.caller()`` is the add-in
    itself, so the active workbook is meant."""
    book = xw.Book.caller()
    if book.name.lower().endswith(".xlam"):
        book = book.app.books.active
    return book


def _read_sheets(book: Any) -> dict[str, list[list[Any]] | None]:
    """xlwings: the cells of each input sheet from A1 to the end of its used range (``None``
    for the other sheets)."""
    from xlclv.report.inputs import normalise_header

    wanted = {normalise_header(name) for name in SHEETS.values()}
    out: dict[str, list[list[Any]] | None] = {}
    for sheet in book.sheets:
        out[sheet.name] = None
        if normalise_header(sheet.name) in wanted:
            last = sheet.used_range.last_cell
            out[sheet.name] = sheet.range((1, 1), (last.row, last.column)).options(ndim=2).value
    return out


def _write_output(book: Any, report: Any) -> None:
    """xlwings: write the report to a temporary workbook with the headless writer, then replace
    the output sheets of ``book`` with copies of its sheets (charts and tables come along).

    The Dashboard's charts read only the Dashboard's own cells (its chart data, right of the
    print area), so the copied sheets carry no links back to the temporary workbook."""
    from xlclv.report.writer import OUTPUT_SHEETS, write_report

    app = book.app
    with tempfile.TemporaryDirectory(prefix="xlclv-") as tmp:
        path = write_report(report, Path(tmp) / "xlclv-report.xlsx")
        screen = app.screen_updating
        app.screen_updating = False
        source = app.books.open(str(path))
        try:
            names = [s.name for s in book.sheets]
            old = [n for n in names if n in OUTPUT_SHEETS]
            at = names.index(old[0]) if old else len(names)
            for name in old:
                book.sheets[name].delete()
            previous = book.sheets[at - 1] if at > 0 else None
            for name in OUTPUT_SHEETS:
                if previous is None:
                    previous = source.sheets[name].copy(before=book.sheets[0])
                else:
                    previous = source.sheets[name].copy(after=previous)
        finally:
            source.close()
            app.screen_updating = screen
    book.activate()
    book.sheets[OUTPUT_SHEETS[0]].activate()


def _status(app: Any, phase: str) -> None:
    """xlwings: show the current phase in Excel's status bar."""
    app.status_bar = f"xlclv: {phase}..."


def _alert(app: Any, message: str) -> None:
    """xlwings: a plain message box."""
    app.alert(message, title=TITLE, mode="critical")


def _log_exception(home: str | os.PathLike[str] | None) -> Path:
    path = log_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(f"\n--- {dt.datetime.now().isoformat(timespec='seconds')}\n")
        f.write(traceback.format_exc())
    return path
