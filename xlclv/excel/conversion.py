"""Shared plumbing of the Excel face: the decorators and the value conversion helpers.

Only the Excel face imports this module. The decorators are looked up on ``xlwings`` at
decoration time, so a test that swaps in xlwings' real Windows decorators
(``xlwings.udfs.xlfunc``/``xlarg``/``xlret``) and reloads the UDF modules sees exactly the
metadata Excel would register.

Values arrive as xlwings gives them to a UDF whose argument has ``ndim=2``: a scalar cell
as ``[[v]]``, a range as a list of rows; blanks as ``None``; numbers as ``float``; date
cells as ``datetime``; error cells as strings such as ``"#N/A"`` (``err_to_str=True``).
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import xlwings as xw

from xlclv._errors import InputError

CATEGORY = "xlclv"
_IN_LITE = sys.platform == "emscripten"  # xlwings Lite runs in Pyodide
# Options classic xlwings accepts but xlwings Lite does not (see docs/excel notes).
_CLASSIC_ONLY = ("category", "call_in_wizard", "async_mode")

#: Options every array argument uses: always 2-D (so a column stays a column) and
#: Excel error cells as text (so ``#N/A`` is reported, not silently read as a blank).
ARRAY = {"ndim": 2, "err_to_str": True}
#: Options for a scalar argument.
SCALAR = {"err_to_str": True}


def func(**kwargs: Any) -> Callable:
    """``xw.func`` in the xlclv category, minus options xlwings Lite lacks."""
    kwargs.setdefault("category", CATEGORY)
    if _IN_LITE:
        for key in _CLASSIC_ONLY:
            kwargs.pop(key, None)
    return xw.func(**kwargs)


def arg(name: str, convert: Any = None, **kwargs: Any) -> Callable:
    """``xw.arg``; pass ``doc=`` for the Function Wizard help of the argument."""
    return xw.arg(name, convert, **kwargs)


def ret(convert: Any = None, **kwargs: Any) -> Callable:
    """``xw.ret``."""
    return xw.ret(convert, **kwargs)


def _is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _describe(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v)


def _cell_number(v: Any, name: str, index: int | None) -> float:
    where = "" if index is None else f" (cell {index + 1} of the range)"
    if isinstance(v, bool):
        raise InputError(f"{name} must be a number, got the logical value {v}{where}")
    if isinstance(v, int | float | np.integer | np.floating):
        x = float(v)
        if math.isnan(x):
            raise InputError(f"{name} must be a number, got an empty/NaN value{where}")
        return x
    if isinstance(v, str):
        check_error_cell(v, name, index)
        try:
            return float(v.strip())
        except ValueError:
            pass
        raise InputError(f"{name} must be a number, got the text {v!r}{where}")
    if isinstance(v, dt.datetime | dt.date):
        raise InputError(f"{name} must be a number, got the date {v}{where}")
    raise InputError(f"{name} must be a number, got {_describe(v)}{where}")


def as_grid(value: Any) -> list[list[Any]]:
    """Any Excel value (scalar, 1-D list, list of rows) as a list of rows."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, list | tuple):
        return [[value]]
    if len(value) == 0:
        return [[]]
    if not isinstance(value[0], list | tuple):
        return [list(value)]
    return [list(r) for r in value]


def number_grid(value: Any, name: str, *, blanks: str = "nan") -> np.ndarray:
    """A 2-D float array from an Excel value, for elementwise functions.

    ``blanks="nan"`` turns blank cells into NaN (the output cell stays blank);
    ``blanks="error"`` rejects them.
    """
    grid = as_grid(value)
    out = np.empty((len(grid), len(grid[0]) if grid else 0), dtype=float)
    ncols = out.shape[1]
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            idx = i * ncols + j if out.size > 1 else None
            if _is_blank(v):
                if blanks == "error":
                    raise InputError(
                        f"{name} is blank{'' if idx is None else f' (cell {idx + 1} of the range)'}"
                    )
                out[i, j] = np.nan
            else:
                out[i, j] = _cell_number(v, name, idx)
    return out


def number_list(value: Any, name: str, *, skip_blanks: bool = True) -> np.ndarray:
    """A 1-D float array of every non-blank cell of a 1-D or 2-D range, row by row."""
    grid = as_grid(value)
    flat = [v for row in grid for v in row]
    out = []
    for k, v in enumerate(flat):
        if _is_blank(v):
            if skip_blanks:
                continue
            raise InputError(f"{name} has a blank cell (cell {k + 1} of the range)")
        out.append(_cell_number(v, name, k))
    return np.asarray(out, dtype=float)


def column(value: Any) -> list[Any]:
    """The cells of a single row or column (or any range, row by row), blanks at the end dropped."""
    flat = [v for row in as_grid(value) for v in row]
    while flat and _is_blank(flat[-1]):
        flat.pop()
    return flat


def _shape_text(shape: tuple[int, int]) -> str:
    return f"{shape[0]}×{shape[1]}"


def number_args(
    values: dict[str, Any], defaults: dict[str, float] | None = None
) -> list[np.ndarray]:
    """The arguments of an elementwise function as 2-D float arrays of one common shape.

    Each argument is a single cell or a range; every range must have the same shape (a
    single cell applies to every cell of the ranges). Blank cells become NaN (the output
    cell stays blank), except that a single blank cell for an argument listed in
    ``defaults`` means its default.
    """
    defaults = defaults or {}
    grids = {}
    for name, value in values.items():
        g = as_grid(value)
        if name in defaults and len(g) == 1 and len(g[0]) == 1 and _is_blank(g[0][0]):
            g = [[defaults[name]]]
        grids[name] = number_grid(g, name)
    ranges = {k: g.shape for k, g in grids.items() if g.size != 1}
    shapes = set(ranges.values())
    if len(shapes) > 1:
        described = ", ".join(f"{k} is {_shape_text(s)}" for k, s in ranges.items())
        raise InputError(
            f"the ranges have different shapes ({described}): give ranges of the same shape, "
            "or single cells"
        )
    shape = shapes.pop() if shapes else (1, 1)
    return [np.broadcast_to(g, shape) if g.size == 1 else g for g in grids.values()]


def single_cell(value: Any, name: str) -> Any:
    """The value of a single-cell argument, ``None`` if blank; a range is refused."""
    grid = as_grid(value)
    if len(grid) != 1 or len(grid[0]) != 1:
        raise InputError(
            f"{name} must be a single cell, got a range of {sum(map(len, grid))} cells"
        )
    v = grid[0][0]
    return None if _is_blank(v) else v


def single_number(value: Any, name: str, default: float | None = None) -> float:
    """One number from a single cell; a blank means ``default`` (an error if there is none)."""
    v = single_cell(value, name)
    if v is None:
        if default is None:
            raise InputError(f"{name} is blank: give a number")
        return float(default)
    return _cell_number(v, name, None)


def single_text(value: Any, name: str, default: str | None = None) -> str:
    """One text value from a single cell; a blank means ``default`` (an error if there is none)."""
    v = single_cell(value, name)
    if v is None:
        if default is None:
            raise InputError(f"{name} is blank: give a value")
        return default
    if isinstance(v, str):
        check_error_cell(v, name, None)
        return v.strip()
    raise InputError(f"{name} must be text, got {_describe(v)}")


def check_error_cell(v: Any, name: str, index: int | None) -> None:
    """Refuse an Excel error cell (``#N/A`` ...), naming the argument and the cell."""
    if isinstance(v, str) and v.strip().startswith("#"):
        where = "" if index is None else f" (cell {index + 1} of the range)"
        raise InputError(f"{name} contains the Excel error {v.strip()}{where}: fix that cell first")


def cell_id(v: Any) -> Any:
    """An ID cell as a key: text stripped, a whole number (Excel gives 101.0) as an int."""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def filled_column(value: Any, name: str, what: str) -> list[Any]:
    """The cells of a one-row/one-column range, blanks at the end dropped, others refused.

    ``what`` completes "every ... needs ..." in the message, e.g. "transaction needs a date".
    """
    cells = column(value)
    for k, v in enumerate(cells):
        if _is_blank(v):
            raise InputError(
                f"{name} has a blank cell (cell {k + 1} of the range) before its last value: "
                f"every {what}"
            )
        check_error_cell(v, name, k)
    return cells


def to_excel(result: Any) -> Any:
    """A core result as an Excel value: a size-1 result as a scalar, else a list of rows.

    NaN and ``None`` become ``None`` (a blank cell). Text results stay text.
    """
    obj = np.asarray(result, dtype=object)
    if any(isinstance(x, str) for x in obj.flat):
        cells = [None if _is_missing(x) else x for x in obj.flat]
        if obj.size == 1:
            return cells[0]
        ncols = obj.shape[-1] if obj.ndim == 2 else 1
        return [cells[i : i + ncols] for i in range(0, len(cells), ncols)]
    arr = np.asarray(result, dtype=float)
    if arr.size == 1:
        x = float(arr.reshape(()))
        return None if math.isnan(x) else x
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    return [[None if math.isnan(x) else float(x) for x in row] for row in arr.tolist()]
