"""Bulk rows: XlsxWriter costs ~20 us a cell; a 125,000-customer table is 1.5 M cells. Rows after
the first are rendered to XML with vectorised string operations and spliced into the sheet
part after XlsxWriter has closed the file. Text is an inline string (t="inlineStr"), never a
formula; number formats are the xf indexes XlsxWriter gave the same Format objects.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xlclv.report.writer.cells import (
    EXCEL_EPOCH,
    EXCEL_MAX_TEXT,
    check_text_length,
    col_letters,
    escape_cell_text,
    escape_cell_texts,
    is_missing,
)

#: Tables with more data rows than this use the bulk path.
BULK_ROWS = 5000


_PENDING_ATTR = "_xlclv_bulk_rows"


def bulk_tables(ws: Worksheet) -> dict[str, str]:
    if not hasattr(ws, "_xlclv_bulk_tables"):
        ws._xlclv_bulk_tables = {}
    return ws._xlclv_bulk_tables


def pending_rows(ws: Worksheet) -> list[Any]:
    if not hasattr(ws, _PENDING_ATTR):
        setattr(ws, _PENDING_ATTR, [])
    return getattr(ws, _PENDING_ATTR)


def close_workbook(workbook: Workbook) -> None:
    """Close an XlsxWriter workbook made with this module, then write any bulk rows."""
    workbook.close()
    jobs = []
    tables: dict[str, str] = {}
    for index, ws in enumerate(workbook.worksheets(), start=1):
        pending = getattr(ws, _PENDING_ATTR, None)
        if pending:
            jobs.append((f"xl/worksheets/sheet{index}.xml", pending))
            tables.update(bulk_tables(ws))
    if jobs:
        _splice_rows(Path(workbook.filename), dict(jobs), tables)


def _xml_text(v: str) -> str:
    check_text_length(v)
    v = escape_cell_text(v)
    if v[:1].isspace() or v[-1:].isspace():
        return f'<t xml:space="preserve">{v}</t>'
    return f"<t>{v}</t>"


def _text_cells(texts: pd.Series, prefix: pd.Series, s_attr: str) -> pd.Series:
    """Inline-string cells for a Series of str (vectorised), escaped like every other path."""
    long = texts.str.len() > EXCEL_MAX_TEXT // 2
    for v in texts[long].tolist():
        check_text_length(v)
    t = escape_cell_texts(texts)
    spaced = t.str.match(r"(?s)\s|.*\s\Z")
    open_t = pd.Series("<t>", index=t.index).where(~spaced, '<t xml:space="preserve">')
    return prefix + f'"{s_attr} t="inlineStr"><is>' + open_t + t + "</t></is></c>"


def _cells(series: pd.Series, ref: str, first_row: int, style: int) -> list[str]:
    """The <c> elements of one column ('' for an empty cell), built with vectorised strings."""
    series = series.reset_index(drop=True)
    n = len(series)
    rownums = pd.Series(np.arange(first_row + 1, first_row + 1 + n)).astype(str)
    prefix = f'<c r="{ref}' + rownums
    s_attr = f' s="{style}"' if style else ""
    dtype = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        s = series.dt.tz_localize(None) if getattr(series.dt, "tz", None) is not None else series
        days = (s.to_numpy(dtype="datetime64[ns]") - EXCEL_EPOCH.astype("datetime64[ns]")) / (
            np.timedelta64(1, "D")
        )
        series = pd.Series(days)
        dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        bits = series.astype(int).astype(str)
        return (prefix + f'"{s_attr} t="b"><v>' + bits + "</v></c>").tolist()
    if pd.api.types.is_numeric_dtype(dtype):
        x = series.astype("float64").to_numpy()
        finite = np.isfinite(x)
        inf = np.isinf(x)
        nums = pd.Series([f"{v:.16G}" for v in x.tolist()])  # as XlsxWriter writes numbers
        out = prefix + f'"{s_attr}><v>' + nums + "</v></c>"
        if inf.any():
            signs = pd.Series(np.where(x > 0, "∞", "-∞"))
            out = out.where(~inf, _text_cells(signs, prefix, s_attr))
        return out.where(finite | inf, "").tolist()
    values = series.tolist()
    if all(type(v) is str for v in values):
        return _text_cells(series.astype(str), prefix, s_attr).tolist()
    out = []
    for r, v in zip(rownums.tolist(), values, strict=True):
        head = f'<c r="{ref}{r}"{s_attr}'
        if is_missing(v):
            out.append("")
        elif isinstance(v, bool | np.bool_):
            out.append(f'{head} t="b"><v>{int(bool(v))}</v></c>')
        elif isinstance(v, int | float | np.integer | np.floating) and math.isfinite(float(v)):
            out.append(f"{head}><v>{float(v):.16G}</v></c>")
        else:
            out.append(f'{head} t="inlineStr"><is>{_xml_text(str(v))}</is></c>')
    return out


def _splice_rows(path: Path, jobs: dict[str, list[Any]], tables: dict[str, str]) -> None:
    import zipfile

    tmp = path.with_name(path.name + ".bulk")
    try:
        with (
            zipfile.ZipFile(path) as zin,
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zout,
        ):
            for item in zin.infolist():
                data = zin.read(item.filename)
                level = None
                if item.filename in jobs:
                    text = _sheet_with_rows(data.decode("utf-8"), jobs[item.filename])
                    data = text.encode("utf-8")
                    level = 1  # fast deflate for the big part
                elif item.filename.startswith("xl/tables/table"):
                    data = _widen_table(data.decode("utf-8"), tables).encode("utf-8")
                zout.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=level)
    except BaseException:  # a full disk, SIGTERM, Ctrl-C: no .bulk debris
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def _widen_table(xml: str, tables: dict[str, str]) -> str:
    m = re.search(r'<table [^>]*\bname="([^"]+)"', xml)
    if not m or m.group(1) not in tables:
        return xml
    ref = tables[m.group(1)]
    xml = re.sub(r'(<table [^>]*\bref=")[^"]+"', rf'\g<1>{ref}"', xml, count=1)
    return re.sub(r'(<autoFilter ref=")[^"]+"', rf'\g<1>{ref}"', xml, count=1)


def _sheet_with_rows(xml: str, pending: list[Any]) -> str:
    blocks = []
    max_row, max_col = 0, 0
    for first_row, first_col, columns, _fmts in pending:
        if not columns or not len(columns[0][0]):
            continue
        col_cells = []
        for j, (series, fmt) in enumerate(columns):
            style = getattr(fmt, "xf_index", None) or 0
            col_cells.append(_cells(series, col_letters(first_col + j), first_row, style))
        n = len(columns[0][0])
        span = f"{first_col + 1}:{first_col + len(columns)}"
        blocks.append(
            "".join(
                f'<row r="{first_row + 1 + i}" spans="{span}">{"".join(cells)}</row>'
                for i, cells in enumerate(zip(*col_cells, strict=True))
            )
        )
        max_row = max(max_row, first_row + n)
        max_col = max(max_col, first_col + len(columns) - 1)
    body = "".join(blocks)
    rows_after = re.findall(r'<row r="(\d+)"', xml)
    if rows_after and max(map(int, rows_after)) >= min(p[0] for p in pending) + 1:
        raise RuntimeError("bulk rows overlap rows XlsxWriter wrote")  # a bug, not user input
    if "<sheetData/>" in xml:
        xml = xml.replace("<sheetData/>", f"<sheetData>{body}</sheetData>", 1)
    else:
        xml = xml.replace("</sheetData>", body + "</sheetData>", 1)
    last = f"{col_letters(max_col)}{max_row}"
    return re.sub(
        r'<dimension ref="([A-Z]+\d+)(?::[A-Z]+\d+)?"/>',
        rf'<dimension ref="\1:{last}"/>',
        xml,
        count=1,
    )
