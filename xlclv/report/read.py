"""Reading input files into raw tables: workbooks (.xlsx/.xlsm, also .xls/.xlsb/.ods), CSV and
Parquet. Nothing here writes a file; cleaning the cells is :mod:`xlclv.report.clean`.

A workbook is read with python-calamine (cached cell values; about 8x faster than openpyxl on
a million rows), imported lazily so the rest of the core also runs where it is not installed
(xlwings Lite / Pyodide). Before calamine sees an .xlsx, :func:`check_xlsx` bounds what it
would allocate (see :mod:`xlclv.report.guards`).

Where the data is: the sheet named with ``sheet`` (``--sheet``), else ``Transactions``, else
the only sheet with a recognisable header. The header is the first row (of the first
:data:`HEADER_SCAN_ROWS`) that names customer_id, date and amount (:func:`recognised_fields`);
title rows above it are skipped, and every row keeps its Excel row number.

Every failure is a :class:`~xlclv.WorkbookError` with one line: what, where, how to fix.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gc
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xlclv._errors import WorkbookError
from xlclv.report.clean import (
    READING_ATTR,
    WorkbookInputs,
    _cell_text,
    normalise_header,
    parse_column_mapping,
    recognised_fields,
    serial_dates,
)
from xlclv.report.guards import EXCEL_MAX_COLUMNS, check_xlsx, column_letters

__all__ = [
    "HEADER_SCAN_ROWS",
    "read_table_file",
    "read_workbook",
    "sniff_delimiter",
    "unique_names",
]

#: The header row is looked for in this many rows from the top.
HEADER_SCAN_ROWS = 30
_DELIMITERS = (",", ";", "\t", "|")
#: A CSV line longer than this (in bytes) is not a row of transactions: a file without line
#: breaks, or binary data; the run stops before parsing it.
MAX_CSV_LINE_BYTES = 4 * 2**20
#: A CSV value longer than this (in characters, e.g. a quote that closes thousands of lines
#: later) stops the run. Values up to it are read; text over Excel's 32,767 characters is
#: then a data issue where the report writes it.
MAX_CSV_FIELD_CHARS = 2**20


def _is_blank(c: Any) -> bool:
    return (
        c is None or (isinstance(c, str) and c.strip() == "") or (isinstance(c, float) and c != c)
    )


def _header_index(grid: list[list[Any]], columns: dict[str, str] | None = None) -> int | None:
    """The header row's index: the first row naming all of customer_id, date and amount, else
    the first non-blank row; None for a blank sheet."""
    first = None
    seen = 0
    for i, row in enumerate(grid):
        if all(_is_blank(c) for c in row):
            continue
        if first is None:
            first = i
        if recognised_fields(row, columns) == 3:
            return i
        seen += 1
        if seen >= HEADER_SCAN_ROWS:
            break
    return first


def _grid_to_frame(
    grid: list[list[Any]],
    *,
    columns: dict[str, str] | None = None,
    row_offset: int = 0,
    merged: list[tuple[tuple[int, int], tuple[int, int]]] | None = None,
) -> tuple[pd.DataFrame, int]:
    """A sheet's cells as a DataFrame under its header row, and the first data row's Excel
    number. ``grid[0]`` is Excel row ``row_offset + 1``; ``merged`` are calamine's merged
    ranges ((first row, first col), (last row, last col)), 0-based."""
    header_idx = _header_index(grid, columns)
    if header_idx is None:
        return pd.DataFrame(), 2 + row_offset
    header = grid[header_idx]
    keep_cols = [j for j, h in enumerate(header) if not _is_blank(h)]
    names = unique_names([_cell_text(header[j]).strip() for j in keep_cols])
    body = grid[header_idx + 1 :]
    width = len(header)
    if keep_cols == list(range(width)) and all(len(r) == width for r in body):
        frame = pd.DataFrame(body, columns=names, dtype=object)
    else:
        frame = pd.DataFrame(
            [[r[j] if j < len(r) else None for j in keep_cols] for r in body],
            columns=names,
            dtype=object,
        )
    first_row = header_idx + 2 + row_offset
    attrs: dict[str, Any] = {}
    if columns:
        attrs["columns"] = dict(columns)
    if merged:
        attrs["merged_rows"] = _merged_rows(merged, keep_cols, names, first_row)
        attrs["merged_ranges"] = _merged_ranges(merged, keep_cols, names, first_row)
    if attrs:
        frame.attrs[READING_ATTR] = attrs
    # Empty cells stay as calamine gives them (""): cleaning treats "" and None alike.
    return frame, first_row


def _merged_rows(merged, keep_cols, names, first_row) -> dict[str, list[int]]:
    """{header: Excel rows that continue a merged cell above them (blank in the grid)}."""
    col_name = dict(zip(keep_cols, names, strict=True))
    out: dict[str, list[int]] = {}
    for (r0, c0), (r1, c1) in merged:
        for c in range(c0, c1 + 1):
            if c in col_name:
                rows = [r + 1 for r in range(r0 + 1, r1 + 1) if r + 1 >= first_row]
                out.setdefault(col_name[c], []).extend(rows)
    return out


def _merged_ranges(merged, keep_cols, names, first_row) -> dict[str, list[tuple]]:
    """{header: [(top Excel row, last Excel row, "B5:B7", holds the value)]} of the merged
    ranges over more than one data row (the cleaning fills or refuses them)."""
    col_name = dict(zip(keep_cols, names, strict=True))
    out: dict[str, list[tuple]] = {}
    for (r0, c0), (r1, c1) in merged:
        if r1 <= r0 or r1 + 1 < first_row:
            continue
        ref = f"{column_letters(c0 + 1)}{r0 + 1}:{column_letters(c1 + 1)}{r1 + 1}"
        for c in range(c0, c1 + 1):
            if c in col_name:
                out.setdefault(col_name[c], []).append((r0 + 1, r1 + 1, ref, c == c0))
    return out


def unique_names(names: list[str]) -> list[str]:
    """Headers made unique: a repeated ``Total`` becomes ``Total (2)``, ``Total (3)``...
    Linear in the number of headers, also when thousands repeat."""
    taken = set(names)
    seen: set[str] = set()
    counter: dict[str, int] = {}
    out = []
    for name in names:
        if name not in seen:
            seen.add(name)
            out.append(name)
            continue
        k = counter.get(name, 1)
        while True:
            k += 1
            candidate = f"{name} ({k})"
            if candidate not in taken:
                break
        counter[name] = k
        taken.add(candidate)
        seen.add(candidate)
        out.append(candidate)
    return out


def _sheet_lookup(names: list[str], wanted: str) -> str | None:
    for n in names:
        if normalise_header(n) == normalise_header(wanted):
            return n
    return None


def _read_settings(grid: list[list[Any]]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for row in grid:
        if len(row) < 2 or row[0] is None or str(row[0]).strip() == "":
            continue
        key = normalise_header(row[0])
        if key in ("setting", "settings", "key", "name"):
            continue
        value = row[1]
        settings[re.sub(r"[\s\-]+", "_", str(row[0]).strip()).lower()] = (
            None if value == "" else value
        )
    return settings


#: ``<workbookPr date1904="1"/>`` (or "true") in an .xlsx's ``xl/workbook.xml``.
_DATE1904 = re.compile(rb"<(?:\w+:)?workbookPr\b[^>]*\bdate1904\s*=\s*[\"'](?:1|true)[\"']", re.I)


def uses_1904_dates(path: Path) -> bool:
    """Whether an .xlsx or .xlsm workbook uses the 1904 date system (a workbook option; the
    default of Excel for Mac before 2011): its date cells are read as dates either way, but a
    plain number in a date column counts days from 1904-01-01, not from 1900. Other formats,
    and files whose workbook part cannot be read, are taken as the 1900 system."""
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return False
    try:
        with zipfile.ZipFile(path) as z, z.open("xl/workbook.xml") as part:
            head = part.read(1 << 20)  # workbookPr comes before the sheets and names
    except (KeyError, OSError, zipfile.BadZipFile):
        return False
    return _DATE1904.search(head) is not None


def _settings_dates_1904(settings: dict[str, Any]) -> dict[str, Any]:
    """The Settings sheet's observation_end, when it is a plain number, as the 1904 date
    system's day (the setting reads numbers as 1900-system serials)."""
    out = dict(settings)
    for key, value in settings.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and normalise_header(key) == normalise_header("observation_end"):
            day = serial_dates(np.array([float(value)]), date1904=True)[0]
            out[key] = None if np.isnat(day) else pd.Timestamp(day).date()
    return out


def _reading_options(settings: dict[str, Any], columns: Any) -> dict[str, Any]:
    """Reading options: ``columns`` given (flag) or on the Settings sheet, and the Settings
    sheet's date_order / decimal_separator (the CLI sets its flags over these)."""
    out: dict[str, Any] = {}
    raw_cols = columns if columns is not None else settings.get("columns")
    if raw_cols is not None and str(raw_cols).strip():
        try:
            out["columns"] = parse_column_mapping(raw_cols)
        except ValueError as exc:
            raise WorkbookError(
                f"Setting 'columns' {exc}; write it as customer_id=Email,date=Created at,"
                "amount=Total"
            ) from None
    for key in ("date_order", "decimal_separator"):
        v = settings.get(key)
        if v is not None and str(v).strip():
            out[key] = str(v).strip()
    return out


def read_workbook(
    path: str | Path, *, sheet: str | None = None, columns: Any = None
) -> WorkbookInputs:
    """Read the transactions (and Settings, NPS and Marketing when present) from a workbook.

    Parameters
    ----------
    path : str or Path
        The workbook; it is only read.
    sheet : str, optional
        The transactions sheet (``--sheet``). Default: ``Transactions``, else the only sheet
        whose first rows hold a recognisable header. Sheet names match ignoring case and
        spaces.
    columns : mapping or str, optional
        Explicit ``{field: header}`` (``--columns``); default: the Settings sheet's
        ``columns`` cell, else recognised header names.

    Raises
    ------
    WorkbookError
        The file can't be opened or is past the resource guards (:func:`check_xlsx`), or no
        sheet holds the transactions (the message lists the sheets found).
    """
    from python_calamine import CalamineWorkbook

    p = Path(path)
    if not p.exists():
        raise WorkbookError(f"File '{p}' does not exist")
    guard = check_xlsx(p) if p.suffix.lower() in (".xlsx", ".xlsm", ".xlsb", ".ods") else None
    try:
        wb = CalamineWorkbook.from_path(str(p))
    except Exception as exc:  # calamine raises its own error types
        raise WorkbookError(
            f"Could not open '{p.name}' as a workbook: {_one_line(exc)}. Open it in Excel and "
            "save it again as .xlsx, or save the data as CSV"
        ) from None
    names = list(wb.sheet_names)

    def grid(name: str) -> tuple[list[list[Any]], int, list]:
        if guard is not None:
            guard.check_sheet(name)
        try:
            sh = wb.get_sheet_by_name(name)
            cells = sh.to_python(skip_empty_area=False)
            merged = list(getattr(sh, "merged_cell_ranges", None) or [])
            offset = max(0, (sh.end[0] + 1 - len(cells)) if sh.end else 0) if cells else 0
        except WorkbookError:
            raise
        except Exception as exc:
            raise WorkbookError(
                f"Could not read sheet '{name}' of '{p.name}': its data is damaged "
                f"({type(exc).__name__}: {_one_line(exc)}). Open the file in Excel and save it "
                "again, or save the sheet as CSV"
            ) from None
        return cells, offset, merged

    try:
        with _gc_paused():
            return _read_sheets(p, names, grid, sheet, columns)
    finally:
        if guard is not None:
            guard.close()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


@contextlib.contextmanager
def _gc_paused():
    """Pause Python's cyclic garbage collector while millions of cell objects are created
    (none of them cyclic); it otherwise rescans them over and over and doubles the read time
    of a million-row sheet. The previous state is restored."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _choose_sheet(p: Path, names: list[str], grid: Any, sheet: str | None, opts: dict) -> str:
    if sheet is not None:
        found = _sheet_lookup(names, sheet)
        if found is None:
            raise WorkbookError(
                f"Workbook '{p.name}' has no sheet {sheet!r} (--sheet); found: {', '.join(names)}"
            )
        return found
    found = _sheet_lookup(names, "Transactions")
    if found is not None:
        return found
    skip = {normalise_header(n) for n in ("Settings", "NPS", "Marketing", "README")}
    fits = []
    for name in names:
        if normalise_header(name) in skip:
            continue
        cells = grid(name)[0]
        idx = _header_index(cells[: HEADER_SCAN_ROWS * 4], opts.get("columns"))
        if idx is not None and recognised_fields(cells[idx], opts.get("columns")) == 3:
            fits.append(name)
    if len(fits) == 1:
        return fits[0]
    if len(fits) > 1:
        raise WorkbookError(
            f"Workbook '{p.name}' has several sheets that look like transactions: "
            f"{', '.join(fits)}. Choose one with --sheet NAME"
        )
    raise WorkbookError(
        f"Workbook '{p.name}' has no sheet 'Transactions'; found: {', '.join(names)}. "
        "Paste your transactions into a sheet named Transactions (see the template), or "
        "choose the sheet with --sheet NAME"
    )


def _read_sheets(
    p: Path, names: list[str], grid: Any, sheet: str | None, columns: Any
) -> WorkbookInputs:
    """The input sheets of an open workbook (see :func:`read_workbook`)."""
    settings: dict[str, Any] = {}
    date1904 = uses_1904_dates(p)
    settings_name = _sheet_lookup(names, "Settings")
    if settings_name is not None:
        settings = _read_settings(grid(settings_name)[0])
        if date1904:
            settings = _settings_dates_1904(settings)
    opts = _reading_options(settings, columns)
    if date1904:
        opts["date1904"] = True  # numbers in the date column count days from 1904-01-01
    tx_name = _choose_sheet(p, names, grid, sheet, opts)
    cells, offset, merged = grid(tx_name)
    tx, tx_first = _grid_to_frame(
        cells, columns=opts.get("columns"), row_offset=offset, merged=merged
    )
    tx.attrs[READING_ATTR] = {**tx.attrs.get(READING_ATTR, {}), **opts}
    inputs = WorkbookInputs(
        transactions=tx, transactions_first_row=tx_first, transactions_sheet=tx_name, source=p.name
    )
    inputs.settings = settings
    nps_name = _sheet_lookup(names, "NPS")
    if nps_name is not None and nps_name != tx_name:
        cells, offset, _ = grid(nps_name)
        inputs.nps, inputs.nps_first_row = _grid_to_frame(cells, row_offset=offset)
        inputs.nps_sheet = nps_name
    mk_name = _sheet_lookup(names, "Marketing")
    if mk_name is not None and mk_name != tx_name:
        cells, offset, _ = grid(mk_name)
        inputs.marketing, inputs.marketing_first_row = _grid_to_frame(cells, row_offset=offset)
        inputs.marketing_sheet = mk_name
    return inputs


# -- CSV -----------------------------------------------------------------------------------------


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding): a BOM decides (UTF-8, UTF-16, UTF-32); else UTF-8 if the bytes are
    valid UTF-8, else UTF-16 when every other byte is NUL, else Windows-1252, else Latin-1
    (which decodes any byte)."""
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    )
    candidates = [enc for bom, enc in boms if data.startswith(bom)][:1]
    if not candidates:
        head = data[:4000]
        if head and head[1::2].count(0) > 0.4 * len(head[1::2]):
            candidates = ["utf-16-le"]
        elif head and head[0::2].count(0) > 0.4 * len(head[0::2]):
            candidates = ["utf-16-be"]
        else:
            candidates = ["utf-8", "cp1252", "latin-1"]
    for enc in candidates:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as exc:
            last = exc
    raise WorkbookError(
        f"Could not decode '{name}' as {candidates[0]} (byte {last.start:,}): save it again as "
        "CSV UTF-8"
    )


def _first_lines(text: str, n: int = HEADER_SCAN_ROWS + 20) -> list[str]:
    """The first ``n`` lines (split at \\n, ends kept), without copying the whole text."""
    out: list[str] = []
    start = 0
    while start < len(text) and len(out) < n:
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        out.append(text[start:end])
        start = end
    return out


def _longest_line(data: bytes, chunk: int = 2**24) -> tuple[int, int]:
    """(length, start) in bytes of the longest line of ``data`` (broken at \\n or \\r),
    scanned in chunks so the memory used stays small."""
    best, best_start, start = 0, 0, 0
    for lo in range(0, len(data), chunk):
        block = np.frombuffer(data, dtype=np.uint8, count=min(chunk, len(data) - lo), offset=lo)
        breaks = np.flatnonzero((block == 10) | (block == 13)) + lo
        ends = np.r_[breaks, lo + len(block)] if len(breaks) else np.array([lo + len(block)])
        starts = np.r_[start, breaks + 1]
        lengths = ends - starts[: len(ends)]
        k = int(np.argmax(lengths))
        if lengths[k] > best:
            best, best_start = int(lengths[k]), int(starts[k])
        start = int(breaks[-1]) + 1 if len(breaks) else start
    return best, best_start


def _check_lines(data: bytes, name: str) -> int:
    """Stop on a line longer than :data:`MAX_CSV_LINE_BYTES`; returns the longest line."""
    longest, start = _longest_line(data)
    if longest > MAX_CSV_LINE_BYTES:
        line = data.count(b"\n", 0, start) or data.count(b"\r", 0, start)
        where = (
            "has no line break at all"
            if longest == len(data)
            else (f"line {line + 1:,} is {longest:,} bytes long")
        )
        raise WorkbookError(
            f"'{name}' {where}: a CSV of transactions has one row per line, and xlclv "
            f"reads lines of at most {MAX_CSV_LINE_BYTES:,} bytes. This is not such a file "
            "(or it was cut or joined): export the data again as CSV"
        )
    return longest


def _check_width(line: str, delimiter: str, name: str, row: int) -> None:
    """Stop on a header (or title) line with more fields than an Excel sheet has columns."""
    fields = line.count(delimiter) + 1
    if fields > EXCEL_MAX_COLUMNS:
        shown = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter]
        raise WorkbookError(
            f"'{name}' line {row:,} has {fields:,} {shown}-separated fields; a table of "
            f"transactions has at most {EXCEL_MAX_COLUMNS:,} columns (as many as an Excel "
            "sheet). "
            "Export only the columns the report needs (customer, date, amount, segments)"
        )


def _check_fields(frame: pd.DataFrame, names: list[str], name: str, first_row: int) -> None:
    """Stop on a value longer than :data:`MAX_CSV_FIELD_CHARS`, naming its row and column."""
    for j, col in enumerate(names):
        lengths = frame.iloc[:, j].str.len().to_numpy(dtype=float, na_value=0.0)
        if len(lengths) and lengths.max() > MAX_CSV_FIELD_CHARS:
            i = int(np.argmax(lengths))
            raise WorkbookError(
                f"'{name}' row {first_row + i:,}, column {_clip(col)!r} holds a value of "
                f"{int(lengths[i]):,} characters (at most {MAX_CSV_FIELD_CHARS:,} are read): "
                "most likely a double quote that closes many lines later. Fix the quotes "
                "on that row, or export the data again as CSV"
            )


def _clip(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _split(lines: list[str], delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(lines, delimiter=delimiter))
    except csv.Error:
        return []


def _narrow(lines: list[str], d: str) -> list[str]:
    """``lines`` with each line that ``d`` splits into more fields than a sheet has columns
    blanked (not split, so sniffing stays cheap; the header's width is checked once the
    delimiter is known, and pandas stops on a data line wider than the header)."""
    return [line if line.count(d) < EXCEL_MAX_COLUMNS else "\n" for line in lines]


def sniff_delimiter(
    lines: list[str], columns: dict[str, str] | None = None
) -> tuple[str, int | None]:
    """(delimiter, header line index) of CSV text from its first lines.

    The delimiter (comma, semicolon, tab or pipe) whose split gives a row naming customer_id,
    date and amount wins; else the one splitting the most lines into the same number (> 1) of
    fields; comma when nothing decides.
    """
    best, best_score = ",", (-1, -1, -1)
    for d in _DELIMITERS:
        rows = _split(_narrow(lines, d), d)
        idx = _header_index(rows, columns)
        recognised = recognised_fields(rows[idx], columns) if idx is not None else 0
        counts = [len(r) for r in rows if len(r) > 1]
        mode = max(set(counts), key=counts.count) if counts else 0
        score = (recognised, counts.count(mode) if mode else 0, mode)
        if score > best_score:
            best, best_score = d, score
    idx = _header_index(_split(_narrow(lines, best), best), columns)
    return best, idx


def _read_csv(p: Path, columns: dict[str, str] | None) -> tuple[pd.DataFrame, int, list[str]]:
    data = p.read_bytes()
    longest = _check_lines(data, p.name)
    text, encoding = _decode(data, p.name)
    notes = [] if encoding in ("utf-8", "utf-8-sig") else [f"'{p.name}' read as {encoding}"]
    lines = _first_lines(text)
    del text  # pandas reads the bytes: the decoded text is not kept alongside the table
    if not lines:
        return pd.DataFrame(), 2, notes
    delimiter, header = sniff_delimiter(lines, columns)
    header = header or 0
    for i, line in enumerate(lines[: header + 1]):  # the header and any title lines above
        _check_width(line, delimiter, p.name, i + 1)
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            encoding=encoding,
            sep=delimiter,
            header=None,
            skiprows=header,
            dtype=object,
            keep_default_na=False,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        return pd.DataFrame(), header + 2, notes
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise WorkbookError(_csv_problem(p.name, str(exc), header, delimiter)) from None
    cells = frame.iloc[0].tolist() if len(frame) else []
    frame = frame.iloc[1:].reset_index(drop=True)
    keep = [j for j, h in enumerate(cells) if not _is_blank(h)]
    names = unique_names([str(cells[j]).strip() for j in keep])
    frame = frame.iloc[:, keep].set_axis(names, axis=1)
    newline = b"\n" if b"\n" in data else b"\r"
    one_line_each = data.count(newline) <= len(frame) + 1 + header  # no value spans lines
    if longest > MAX_CSV_FIELD_CHARS or not one_line_each:  # else no value can be that long
        _check_fields(frame, names, p.name, header + 2)
    frame = frame.where(frame.notna(), "")  # short lines: blank cells
    return frame, header + 2, notes


def _csv_problem(name: str, message: str, header: int, delimiter: str) -> str:
    shown = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[delimiter]
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if m:
        line = int(m.group(2)) + header
        return (
            f"'{name}' line {line:,} has {m.group(3)} fields where the header has {m.group(1)} "
            f"({shown}-separated): a {shown} inside a value must be in double quotes. Fix "
            "that line, or save the file again from Excel as CSV"
        )
    m = re.search(r"EOF inside string starting at row (\d+)", message)
    if m:
        line = int(m.group(1)) + header + 1
        return (
            f"'{name}' has an unbalanced double quote starting near line {line:,}: a quote "
            "opened there never closes. Fix the quotes on that line, or save the file again "
            "from Excel as CSV"
        )
    return f"Could not read '{name}' as CSV ({shown}-separated): {' '.join(message.split())}"


# -- Parquet -------------------------------------------------------------------------------------


def _read_parquet(p: Path) -> pd.DataFrame:
    """A Parquet file as a DataFrame the cleaning understands: decimals as float, integers
    (nullable or not) as exact Python ints, dictionaries decoded, time zones kept."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise WorkbookError(
            "Reading Parquet needs pyarrow: pip install pyarrow (or save the data as CSV)"
        ) from None
    try:
        table = pq.read_table(p)
    except Exception as exc:  # ArrowInvalid, OSError...: the file is not readable Parquet
        raise WorkbookError(
            f"Could not read '{p.name}' as Parquet: {_one_line(exc)}. Write the file again, "
            "or save the data as CSV"
        ) from None
    out: dict[str, Any] = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        t = col.type
        if pa.types.is_dictionary(t):
            col = col.cast(t.value_type)
            t = col.type
        if pa.types.is_decimal(t) and t.scale <= 0:  # whole numbers (ids): exact ints
            out[name] = np.array(
                [None if v is None else int(v) for v in col.to_pylist()], dtype=object
            )
        elif pa.types.is_decimal(t):
            out[name] = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
        elif pa.types.is_integer(t):
            out[name] = np.array(col.to_pylist(), dtype=object)
        else:
            out[name] = col.to_pandas()
    try:
        return pd.DataFrame(out)
    except Exception as exc:
        raise WorkbookError(f"Could not read '{p.name}' as Parquet: {_one_line(exc)}") from None


def read_table_file(path: str | Path, *, columns: Any = None) -> WorkbookInputs:
    """Transactions from a CSV or Parquet file; no settings.

    CSV: the encoding (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252 / Latin-1) and
    the delimiter (comma, semicolon, tab, pipe) are detected, title lines above the header are
    skipped, blank lines keep their line numbers (Row = line number = Excel row).
    """
    p = Path(path)
    if not p.exists():
        raise WorkbookError(f"File '{p}' does not exist")
    opts = _reading_options({}, columns)
    suffix = p.suffix.lower()
    notes: list[str] = []
    first_row = 2
    if suffix in (".csv", ".txt", ".tsv"):
        frame, first_row, notes = _read_csv(p, opts.get("columns"))
    elif suffix in (".parquet", ".pq"):
        frame = _read_parquet(p)
    else:
        raise WorkbookError(
            f"'{p.name}': xlclv reads .xlsx/.xlsm workbooks, .csv and .parquet files"
        )
    if notes:
        opts["notes"] = notes
    frame.attrs[READING_ATTR] = opts
    return WorkbookInputs(
        transactions=frame,
        transactions_first_row=first_row,
        transactions_sheet=p.name,
        source=p.name,
    )
