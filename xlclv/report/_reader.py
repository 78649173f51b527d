"""Open a workbook file for reading cell values: python-calamine, or openpyxl where calamine
is not installed.

python-calamine (fast, compiled) has no build for Pyodide, so on xlwings Lite it is not a
dependency (``sys_platform != "emscripten"`` in pyproject.toml); openpyxl (pure Python)
reads the same cached values there, more slowly. Both give rows of the sheet's used range
from A1 the way calamine does: ``""`` for an empty cell, numbers as ``float``, dates and
times as ``datetime``/``date``/``time``, booleans as ``bool``, text as ``str``, and an error
cell as its text (``"#N/A"``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

__all__ = ["WorkbookCells", "open_workbook"]


class WorkbookCells:
    """Sheet names and the cells of each sheet (:meth:`grid`)."""

    def __init__(self, sheet_names: list[str], grid: Any, engine: str) -> None:
        self.sheet_names = sheet_names
        self._grid = grid
        self.engine = engine

    def grid(self, name: str) -> list[list[Any]]:
        """The sheet's rows from A1 to the end of its used range."""
        return self._grid(name)


def open_workbook(path: str | Path, *, engine: str | None = None) -> WorkbookCells:
    """Open ``path`` with python-calamine, or with openpyxl when calamine is missing
    (``engine`` forces one: ``"calamine"`` or ``"openpyxl"``)."""
    if engine is None:
        try:
            import python_calamine  # noqa: F401
        except ImportError:
            engine = "openpyxl"
        else:
            engine = "calamine"
    if engine == "calamine":
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(path))
        return WorkbookCells(
            list(wb.sheet_names),
            lambda name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False),
            "calamine",
        )
    return _open_with_openpyxl(Path(path))


def _cell(cell: Any) -> Any:
    """A cell's value as calamine gives it."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, bool | str | dt.time | dt.timedelta):
        return value
    if isinstance(value, dt.datetime):  # calamine: midnight is a date, else a datetime
        return value if value.time() != dt.time() else value.date()
    if isinstance(value, int | float):
        return float(value)
    return value


def _open_with_openpyxl(path: Path) -> WorkbookCells:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)

    def grid(name: str) -> list[list[Any]]:
        ws = wb[name]
        rows = [[_cell(c) for c in row] for row in ws.iter_rows()]
        width = max((len(r) for r in rows), default=0)
        rows = [r + [""] * (width - len(r)) for r in rows]
        while rows and all(v == "" for v in rows[-1]):
            rows.pop()
        return rows

    return WorkbookCells(list(wb.sheetnames), grid, "openpyxl")
