"""Resource guards: what an .xlsx would cost to read, checked before a reader allocates it.

A reader such as calamine holds a sheet as a dense grid from A1 to its last used cell, so one
stray cell at XFD100000 costs 1.6 billion cells (about 52 GB); a zip bomb of a few megabytes
unpacks to gigabytes. :func:`check_xlsx` reads only the zip directory and streams each sheet's
XML once (constant memory) to find its true extent, cell count and compression ratio, and
refuses with one line (what, where, how to fix) before anything large is allocated.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

from xlclv._errors import WorkbookError

__all__ = [
    "EXCEL_MAX_COLUMNS",
    "EXCEL_MAX_ROWS",
    "MAX_CELLS",
    "MAX_PART_BYTES",
    "MAX_RATIO",
    "XlsxGuard",
    "check_xlsx",
]

#: Excel's sheet limits.
EXCEL_MAX_ROWS, EXCEL_MAX_COLUMNS = 1_048_576, 16_384
#: Most grid cells (rows x columns from A1 to the last cell) read from one sheet: about 1 GB
#: as calamine holds them, so a read stays within a 2 GB memory budget.
MAX_CELLS = 25_000_000
#: Most bytes one part of the zip may unpack to.
MAX_PART_BYTES = 1_500_000_000
#: Highest unpacked/packed ratio accepted for a part larger than :data:`_RATIO_FLOOR` bytes
#: (sheet XML packs 5-30x; deflate bombs reach about 1000x).
MAX_RATIO = 200
_RATIO_FLOOR = 20_000_000
_CHUNK = 1 << 20
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
# Fast patterns (attribute r first, as Excel, XlsxWriter and openpyxl write it) and slow ones
# for any attribute order, used on a chunk only when the fast ones miss some cells.
_ROW_R_FAST = re.compile(rb'<row r="(\d+)"')
_COL_FAST = re.compile(rb'<c r="([A-Z]+)')
_ROW_R = re.compile(rb"<(?:\w+:)?row\b[^>]*?\sr=\"(\d+)\"")
_CELL_COL = re.compile(rb"<(?:\w+:)?c\b[^>]*?\sr=\"([A-Z]+)\d+\"")
_CELL = re.compile(rb"<(?:\w+:)?c[\s>/]")
_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")


def column_number(letters: str | bytes) -> int:
    """Excel column letters as a number: A = 1, XFD = 16,384."""
    if isinstance(letters, bytes):
        letters = letters.decode()
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def column_letters(n: int) -> str:
    """Column number as Excel letters (1 = A)."""
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


class XlsxGuard:
    """The zip directory of an .xlsx, checked; :meth:`check_sheet` checks one sheet.

    Raises
    ------
    WorkbookError
        The file is not a zip, or a part unpacks past :data:`MAX_PART_BYTES` or at a ratio
        above :data:`MAX_RATIO` (a zip bomb).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = self.path.name
        with open(self.path, "rb") as fh:
            magic = fh.read(8)
        if magic == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # an OLE container, not a zip
            raise WorkbookError(
                f"Could not open '{self.name}' as a workbook: it is password-protected, or an "
                "old .xls file renamed .xlsx. Remove the password (File > Info > Protect "
                "Workbook) or save it again as .xlsx"
            )
        try:
            self.zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise WorkbookError(
                f"Could not open '{self.name}' as a workbook: {exc}. Open it in Excel and save "
                "it again as .xlsx"
            ) from None
        for info in self.zip.infolist():
            self._check_size(info.filename, info.file_size, info.compress_size)
        self.parts = self._sheet_parts()
        self._check_unpacked("xl/sharedStrings.xml")  # read whole by calamine at open

    def _check_unpacked(self, part: str) -> None:
        """Unpack ``part`` in constant memory and check its true size and ratio (a zip
        directory can understate them)."""
        if part not in self.zip.namelist():
            return
        packed = self.zip.getinfo(part).compress_size
        total = 0
        try:
            with self.zip.open(part) as fh:
                while chunk := fh.read(_CHUNK):
                    total += len(chunk)
                    if total > _RATIO_FLOOR:
                        self._check_size(part, total, packed)
        except WorkbookError:
            raise
        except Exception as exc:  # BadZipFile, zlib.error, EOFError: a damaged file
            raise WorkbookError(
                f"Could not read '{self.name}': its part {part} is damaged ({exc}). Open the "
                "file in Excel and save it again"
            ) from None

    def close(self) -> None:
        """Close the zip file."""
        self.zip.close()

    def __enter__(self) -> XlsxGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_size(self, part: str, size: int, packed: int) -> None:
        if size > MAX_PART_BYTES:
            raise WorkbookError(
                f"'{self.name}' is refused: its part {part} unpacks to {size / 1e9:.1f} GB "
                f"(limit {MAX_PART_BYTES / 1e9:.1f} GB). A sheet this large does not fit in "
                "memory: save the data as CSV or Parquet"
            )
        if size > _RATIO_FLOOR and size > MAX_RATIO * max(packed, 1):
            raise WorkbookError(
                f"'{self.name}' is refused: its part {part} unpacks {size / max(packed, 1):,.0f}"
                f" times (from {packed:,} to {size:,} bytes), as a zip bomb does. Open it in "
                "Excel and save it again, or save the data as CSV"
            )

    def _sheet_parts(self) -> dict[str, str]:
        """{sheet name: zip part of its XML}."""
        try:
            book = ElementTree.fromstring(self._small("xl/workbook.xml"))
            rels = ElementTree.fromstring(self._small("xl/_rels/workbook.xml.rels"))
        except (KeyError, ElementTree.ParseError):
            return {}
        targets = {r.get("Id"): r.get("Target", "") for r in rels}
        out = {}
        for el in book.iter():
            if el.tag.endswith("}sheet") and el.get(_NS_REL) in targets:
                target = targets[el.get(_NS_REL)]
                part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                out[el.get("name", "")] = str(PurePosixPath(part))
        return out

    def _small(self, part: str) -> bytes:
        info = self.zip.getinfo(part)
        if info.file_size > 50_000_000:
            raise WorkbookError(f"'{self.name}' is refused: {part} is implausibly large")
        return self.zip.read(part)

    def check_sheet(self, sheet: str) -> dict[str, int]:
        """Stream one sheet's XML; refuse it when reading it would be past the limits.

        Returns ``rows``, ``columns`` (the extent from A1), ``cells`` (stored cells) and
        ``bytes`` (unpacked XML).

        Raises
        ------
        WorkbookError
            The sheet reaches past Excel's limits, its grid from A1 to its last cell exceeds
            :data:`MAX_CELLS` (a stray far-away cell, or simply too large), or its XML is
            malformed or unpacks too far (a zip bomb). One line with the fix.
        """
        part = self.parts.get(sheet)
        if part is None or part not in self.zip.namelist():
            return {}
        info = self.zip.getinfo(part)
        stats = self._scan(sheet, part, info.compress_size)
        self._check_extent(sheet, stats)
        return stats

    def _scan(self, sheet: str, part: str, packed: int) -> dict[str, int]:
        max_row = max_col = cells = rows = total = 0
        cols: set[bytes] = set()
        tail = b""
        try:
            with self.zip.open(part) as fh:
                while True:
                    chunk = fh.read(_CHUNK)
                    total += len(chunk)
                    if total > _RATIO_FLOOR:
                        self._check_size(part, total, packed)
                    data = tail + chunk
                    cut = data.rfind(b"<") if chunk else -1
                    data, tail = (data[:cut], data[cut:]) if cut > 0 else (data, b"")
                    if len(tail) > 4096:  # no tag is this long: malformed, scan it anyway
                        data, tail = data + tail, b""
                    if not data and not chunk:
                        break
                    n_cells, n_rows, row_refs, col_refs = _scan_chunk(data)
                    cells += n_cells
                    rows += n_rows
                    if row_refs:
                        max_row = max(max_row, max(map(int, row_refs)))
                    cols.update(col_refs)
                    if not chunk:
                        break
        except WorkbookError:
            raise
        except Exception as exc:  # BadZipFile, zlib.error, EOFError: a damaged file
            raise WorkbookError(
                f"Could not read sheet '{sheet}' of '{self.name}': its data is damaged ({exc}). "
                "Open the file in Excel and save it again"
            ) from None
        max_col = max((column_number(c) for c in cols), default=0)
        stats = {
            "rows": max(max_row, rows),
            "columns": max_col,
            "cells": cells,
            "bytes": total,
        }
        return stats

    def _check_extent(self, sheet: str, s: dict[str, int]) -> None:
        """Refuse a sheet whose cells reach past Excel's limits or whose grid from A1 to its
        last cell is past :data:`MAX_CELLS`. The ``<dimension>`` element is not trusted (nor
        used by calamine): the extent is the cells' own references."""
        where = f"Sheet '{sheet}' of '{self.name}'"
        rows, cols = s["rows"], s["columns"]
        last = f"{column_letters(cols)}{rows}"
        if rows > EXCEL_MAX_ROWS or cols > EXCEL_MAX_COLUMNS:
            raise WorkbookError(
                f"{where} is past Excel's limits ({EXCEL_MAX_ROWS:,} rows, "
                f"{EXCEL_MAX_COLUMNS:,} columns): it reaches {last}. The file is damaged or "
                "was not written by Excel: save the data as CSV or Parquet"
            )
        dense = rows * cols
        if dense <= MAX_CELLS:
            return
        if s["cells"] * 4 < dense:
            raise WorkbookError(
                f"{where} holds {s['cells']:,} cells but reaches {last} ({dense:,} cells from "
                "A1): a stray cell far from the data? Delete the rows and columns beyond your "
                "data (Ctrl+End shows the last used cell), save, and run again"
            )
        raise WorkbookError(
            f"{where} is too large to read within the memory budget: {dense:,} cells from A1 "
            f"to {last} (limit {MAX_CELLS:,}). Save the data as CSV or Parquet, or drop the "
            "columns the report does not need"
        )


def _scan_chunk(data: bytes) -> tuple[int, int, list[bytes], set[bytes]]:
    """(cells, rows, row numbers, column letters) in a piece of sheet XML cut between tags."""
    cells = data.count(b"<c ") + data.count(b"<c>")
    rows = data.count(b"<row ") + data.count(b"<row>")
    if not cells and not rows and b":c" in data:  # namespace-prefixed tags (<x:c ...>)
        cells, rows = len(_CELL.findall(data)), len(_ROW.findall(data))
    row_refs = _ROW_R_FAST.findall(data)
    if len(row_refs) < rows:
        row_refs = _ROW_R.findall(data)
    col_refs = _COL_FAST.findall(data)
    if len(col_refs) < cells:
        col_refs = _CELL_COL.findall(data)
    return cells, rows, row_refs, set(col_refs)


def check_xlsx(path: str | Path) -> XlsxGuard:
    """Open ``path``'s zip directory and check it; see :class:`XlsxGuard`."""
    return XlsxGuard(path)
