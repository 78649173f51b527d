"""The one-click report inside Excel: ``xlclv.main()``, run by xlwings' ``RunPython``.

Both buttons end here: the "Build CLV report" button of the ``xlclv.xlam`` ribbon add-in
(``RunPython "import xlclv;xlclv.main()"``) and the form button of ``clv_report.xlsm``.

:func:`run` reads the input sheets of the workbook (Transactions, Settings, and NPS / Marketing
when present) into :class:`xlclv.report.inputs.WorkbookInputs`, builds the report with the core
(:func:`xlclv.report.pipeline.build_report`), writes it with the headless writer to a temporary file and
copies the output sheets (:data:`xlclv.report.writer.OUTPUT_SHEETS`) into the workbook.

Only sheets xlclv made are ever replaced: each copied sheet gets a sheet-level defined name
:data:`OUTPUT_MARKER` (``'Customers'!xlclv_output`` = ``TRUE``; it moves with the sheet when it is
renamed or copied). A later run deletes a sheet only if it carries that marker *and* has an
output name. A sheet of the user's with an output name (a "Customers" master sheet, say) is
left alone: the report's sheet goes beside it as ``Customers (xlclv)``, and a message says so.
Input sheets are never touched. Progress goes to Excel's status bar. A problem
with the inputs (:class:`xlclv.XlclvError`) is shown as a plain message box; anything else as a
short message that names the log file with the details -- never a traceback.

Only the few functions marked "xlwings" below talk to Excel. The tests drive them through a
small fake of exactly those xlwings calls; whether real Excel behaves like the fake can only be
confirmed in Excel (see docs/excel.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import tempfile
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from xlclv._errors import WorkbookError, XlclvError

__all__ = [
    "OUTPUT_MARKER",
    "TITLE",
    "cells_from_used_ranges",
    "inputs_from_cells",
    "log_path",
    "main",
    "run",
]

TITLE = "xlclv"
#: The sheet-level defined name that marks a sheet as xlclv's output (value ``=TRUE``).
OUTPUT_MARKER = "xlclv_output"
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
    The first status message comes before the report's imports (pandas, SciPy, the models and
    the writer: most of a cold start), so the click is acknowledged at once.
    """
    app = book.app
    try:
        _status(app, "reading the workbook")
        from xlclv.report import Settings
        from xlclv.report.bigdata import report_for_workbook

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
        beside = _write_output(book, report)
        if beside:
            _alert(app, _beside_message(beside), mode="info")
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


def cells_from_used_ranges(book: Any) -> dict[str, list[list[Any]] | None]:
    """The input sheets' cells from A1, from each sheet's ``used_range`` (``value``, ``row``,
    ``column``), for :func:`inputs_from_cells`: works with classic xlwings and with xlwings
    Lite, whose used range is a values-only snapshot that need not start at A1 (Office.js gives
    blanks as ``""``, dates as serial numbers, errors as text such as ``"#N/A"``)."""
    from xlclv.report.inputs import normalise_header

    wanted = {normalise_header(name) for name in SHEETS.values()}
    out: dict[str, list[list[Any]] | None] = {}
    for sheet in book.sheets:
        out[sheet.name] = None
        if normalise_header(sheet.name) not in wanted:
            continue
        used = sheet.used_range
        value = used.value
        rows = value if isinstance(value, list) and value and isinstance(value[0], list) else None
        if rows is None:  # one cell or one row: xlwings gives a scalar or a flat list
            rows = [value] if isinstance(value, list) else [[value]]
        top, left = int(used.row), int(used.column)
        width = left - 1 + max(len(r) for r in rows)
        grid = [[None] * width for _ in range(top - 1)]
        grid += [[None] * (left - 1) + list(r) for r in rows]
        out[sheet.name] = grid
    return out


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
            # err_to_str: an error cell arrives as "#N/A" (reported as such), not as a blank
            cells = sheet.range((1, 1), (last.row, last.column))
            out[sheet.name] = cells.options(ndim=2, err_to_str=True).value
    return out


def _is_marked(sheet: Any) -> bool:
    """xlwings: does ``sheet`` carry the sheet-level name :data:`OUTPUT_MARKER`? (Excel gives
    a sheet-level name as ``Customers!xlclv_output`` or ``'Data issues'!xlclv_output``.)"""
    try:
        names = list(sheet.names)
    except Exception:  # a chart sheet or an engine without names: not ours
        return False
    return any(n.name.rsplit("!", 1)[-1].lower() == OUTPUT_MARKER for n in names)


def _mark(sheet: Any) -> None:
    """xlwings: give ``sheet`` the sheet-level name :data:`OUTPUT_MARKER`. If Excel refuses,
    the sheet stays unmarked: a later run then writes beside it instead of replacing it --
    one sheet too many, never one of the user's lost."""
    try:
        sheet.names.add(OUTPUT_MARKER, "=TRUE")
    except Exception:  # pragma: no cover - depends on the Excel build
        pass


def _targets(existing: list[tuple[str, bool]], outputs: tuple[str, ...]) -> dict[str, str]:
    """Output sheet name -> the sheet name to write it to.

    ``existing``: (name, marked) of the workbook's sheets. An output goes to its own name
    unless an unmarked sheet (the user's) has that name; then to ``NAME (xlclv)``, or
    ``NAME (xlclv 2)``... -- the first name no unmarked sheet has.
    """
    unmarked = {name.lower() for name, marked in existing if not marked}
    out = {}
    for name in outputs:
        candidates = [name, f"{name} (xlclv)", *(f"{name} (xlclv {k})" for k in range(2, 100))]
        out[name] = next(c for c in candidates if c.lower() not in unmarked)
    return out


def _beside_message(beside: dict[str, str]) -> str:
    pairs = "; ".join(
        f"'{target}' (your sheet '{name}' is kept)" for name, target in beside.items()
    )
    return (
        "The report is built. Some of your sheets have the names of report sheets, so xlclv "
        f"left them as they are and wrote its sheets beside them: {pairs}. "
        "Rename or delete your sheets if you want the report under its usual names."
    )


def _write_output(book: Any, report: Any) -> dict[str, str]:
    """xlwings: write the report to a temporary workbook with the headless writer, then put
    copies of its sheets into ``book`` (charts and tables come along).

    Replaces only sheets that carry :data:`OUTPUT_MARKER`; see :func:`_targets`. Returns
    {output name: sheet written} for the outputs written beside a user's sheet of that name.

    The Dashboard's charts read only the Dashboard's own cells (its chart data, right of the
    print area), so the copied sheets carry no links back to the temporary workbook."""
    from xlclv.report.writer import OUTPUT_SHEETS

    app = book.app
    existing = [(s.name, _is_marked(s)) for s in book.sheets]
    targets = _targets(existing, OUTPUT_SHEETS)
    replace = {t.lower() for t in targets.values()}
    with _report_file(report) as path:
        screen = app.screen_updating
        app.screen_updating = False
        source = app.books.open(str(path))
        try:
            names = [s.name for s in book.sheets]
            old = [n for n, marked in existing if marked and n.lower() in replace]
            at = names.index(old[0]) if old else len(names)
            for name in old:
                book.sheets[name].delete()
            previous = book.sheets[at - 1] if at > 0 else None
            for name in OUTPUT_SHEETS:
                if previous is None:
                    previous = source.sheets[name].copy(before=book.sheets[0])
                else:
                    previous = source.sheets[name].copy(after=previous)
                if previous.name != targets[name]:  # Excel named it "Customers (2)"
                    previous.name = targets[name]
                _mark(previous)
        finally:
            source.close()
            app.screen_updating = screen
    book.activate()
    book.sheets[targets[OUTPUT_SHEETS[0]]].activate()
    return {name: target for name, target in targets.items() if target != name}


@contextlib.contextmanager
def _report_file(report: Any) -> Iterator[Path]:
    """The report written to a temporary file, in a folder Excel may open without asking:
    on macOS, sandboxed Excel asks for permission for every file outside its container, so
    the file goes to ``~/Library/Containers/com.microsoft.Excel/Data/tmp`` (Excel's own
    temporary folder) when that container exists."""
    from xlclv.report.writer import write_report

    folder = temp_parent()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="xlclv-", dir=folder) as tmp:
        yield write_report(report, Path(tmp) / "xlclv-report.xlsx")


def temp_parent(
    home: str | os.PathLike[str] | None = None, platform: str | None = None
) -> Path | None:
    """Where the temporary report file goes: inside Excel's sandbox container on macOS
    (``~/Library/Containers/com.microsoft.Excel/Data/tmp``, when the container exists),
    else ``None`` (the system's temporary folder)."""
    if (platform or sys.platform) != "darwin":
        return None
    container = Path(home or Path.home()) / "Library" / "Containers" / "com.microsoft.Excel"
    if not container.is_dir():
        return None
    return container / "Data" / "tmp" / "xlclv"


def _status(app: Any, phase: str) -> None:
    """xlwings: show the current phase in Excel's status bar."""
    app.status_bar = f"xlclv: {phase}..."


def _alert(app: Any, message: str, mode: str = "critical") -> None:
    """xlwings: a plain message box."""
    app.alert(message, title=TITLE, mode=mode)


def _log_exception(home: str | os.PathLike[str] | None) -> Path:
    path = log_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        f.write(f"\n--- {dt.datetime.now().isoformat(timespec='seconds')}\n")
        f.write(traceback.format_exc())
    return path
