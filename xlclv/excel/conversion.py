"""Shared plumbing of the Excel face: the decorators and the value conversion helpers.

Only the Excel face imports this module. The decorators are looked up on ``xlwings`` at
decoration time, so a test that swaps in xlwings' real Windows decorators
(``xlwings.udfs.xlfunc``/``xlarg``/``xlret``) and reloads the UDF modules sees exactly the
metadata Excel would register.

Values arrive as xlwings gives them to a UDF whose argument has ``ndim=2``: a scalar cell
as ``[[v]]``, a range as a list of rows; blanks as ``None``; numbers as ``float``; date
cells as ``datetime``; error cells as strings such as ``"#N/A"`` (``err_to_str=True``).

Speed: array arguments (:data:`USED_CELLS`) and every result (:data:`CELLS`) use xlwings' own
value converters, minus the per-cell cleaning where it would change nothing, and the UDF
server's loaded modules are kept out of the garbage collector's way (:func:`_settle_heap`);
``benchmarks/bench_udf_cache.py`` measures both.

Errors go back to the sheet as a short text, ``xlclv: <what is wrong and how to fix it>``
(:func:`error_text`), never as an exception: classic xlwings would put the exception's text
*and traceback* into the cell (with local paths and the user's name). Excel error values
(``#VALUE!``) cannot be returned: xlwings' conversion has no error type, and a pywin32
``VARIANT(VT_ERROR, ...)`` does not reach the cell either (xlwings issue #776). Elementwise
functions fail per cell (:func:`per_element`): the other cells of a spilled range keep their
values.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import itertools
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xlwings as xw

from xlclv._errors import InputError, XlclvError

CATEGORY = "xlclv"
_IN_LITE = sys.platform == "emscripten"  # xlwings Lite runs in Pyodide
# Options classic xlwings accepts but xlwings Lite does not (see docs/excel notes).
_CLASSIC_ONLY = ("category", "call_in_wizard", "async_mode")

#: The converter that reads only the used part of a range argument (:func:`_used_part`).
USED_CELLS = "xlclv_used"
#: The converter of every function's result: xlwings' own, minus a per-cell pass that would
#: change nothing (:func:`_fast_clean_write`).
CELLS = "xlclv_cells"

#: Options every array argument uses: always 2-D (so a column stays a column), Excel error
#: cells as text (so ``#N/A`` is reported, not silently read as a blank) and, in classic
#: xlwings, only the used part of the range (a whole column ``A:A`` is read up to the last
#: used row of its sheet, not over all 1,048,576 rows).
ARRAY: dict[str, Any] = {"ndim": 2, "err_to_str": True}
if not _IN_LITE:
    ARRAY["convert"] = USED_CELLS
#: Options for a scalar argument.
SCALAR = {"err_to_str": True}


#: Prefix of every error a function returns to its cell.
ERROR_PREFIX = "xlclv: "
_MAX_ERROR = 255


class ErrorText(str):
    """The text an xlclv function returns for an error (``xlclv: ...``); ``.error`` keeps the
    exception for tests. It is a plain ``str`` to xlwings, COM and xlwings Lite."""

    error: BaseException | None = None


def error_text(exc: BaseException) -> ErrorText:
    """``xlclv: <message>`` for an :class:`xlclv.XlclvError`: one line, at most 255 characters,
    no traceback. Anything else (a bug) is logged to ``~/.xlclv/logs/functions.log`` and the
    cell says so without the details, which may hold paths and user names."""
    if isinstance(exc, XlclvError):
        message = " ".join(str(exc).split())
    else:
        _log_unexpected(exc)
        message = (
            f"unexpected error ({type(exc).__name__}); the details are in xlclv's log "
            "(.xlclv/logs/functions.log in your home folder)"
        )
    text = ERROR_PREFIX + message
    if len(text) > _MAX_ERROR:
        text = text[: _MAX_ERROR - 3] + "..."
    out = ErrorText(text)
    out.error = exc
    return out


def _log_unexpected(exc: BaseException) -> None:
    import traceback

    try:
        path = Path.home() / ".xlclv" / "logs" / "functions.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(f"\n--- {dt.datetime.now().isoformat(timespec='seconds')}\n")
            f.write("".join(traceback.format_exception(exc)))
    except OSError:  # pragma: no cover - a read-only home: the cell still says what happened
        pass


def _guarded(f: Callable) -> Callable:
    """``f`` returning :func:`error_text` instead of raising. ``functools.wraps`` carries the
    ``__xlfunc__`` metadata the ``@arg`` decorators recorded on ``f``."""

    @functools.wraps(f)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except Exception as exc:
            return error_text(exc)

    return call


_settled_modules = 0


def _settle_heap() -> None:
    """Once new modules came in, move what is loaded to Python's permanent GC generation
    (``gc.freeze``). Run by :data:`CELLS`' writer, so only when xlwings' UDF server
    (``call_udf``) dispatched the call, never when Python code calls a function directly.

    Every recalculation of a function over ``A:A`` makes xlwings allocate tens of thousands
    of rows (the COM arguments, their cleaned copies, the result). That triggers full
    collections of Python's cyclic garbage collector, and each one walks every object of the
    process: pandas, SciPy, xlwings and xlclv's modules, about 10^5 objects that live as long
    as the server. Measured: most of a cache hit's time (benchmarks/bench_udf_cache.py).
    Frozen objects are still freed by reference counting; only a reference cycle among them
    would never be collected.
    """
    global _settled_modules
    if len(sys.modules) == _settled_modules:
        return
    _settled_modules = len(sys.modules)
    gc.collect(1)  # this call's young garbage; only older cycles would stay uncollected
    gc.freeze()


def _used_part(c: Any) -> None:
    """Conversion stage: narrow a range argument to the used range of its sheet before its
    values are read, so reading ``A:A`` costs time in proportion to the filled rows.
    Values handed over without a range (a literal array, a VBA call) pass unchanged."""
    rng = c.range
    if rng is None:
        return
    rows, cols = rng.shape
    used = rng.sheet.used_range
    used_rows, used_cols = used.shape
    last_row = min(rng.row + rows - 1, used.row + used_rows - 1)
    last_col = min(rng.column + cols - 1, used.column + used_cols - 1)
    if last_row < rng.row or last_col < rng.column:  # wholly outside the used range: blank
        c.range, c.value = None, [[None]]
    elif (last_row, last_col) != (rng.row + rows - 1, rng.column + cols - 1):
        c.range = rng.sheet.range((rng.row, rng.column), (last_row, last_col))


#: Exact types that xlwings' value cleaning returns unchanged when read from a range
#: (``_clean_value_data_element`` of ``xlwings/_xlwindows.py`` and ``_xlmac.py``: only blanks,
#: empty text, dates and error codes (ints) are changed, and numbers only with ``numbers=``).
_READ_AS_IS = frozenset({float, str})
#: Exact types that xlwings' write preparation (``prepare_xl_data_element``) returns unchanged,
#: NaN excepted: it turns dates into COM times, NaN and ``None`` into ``""`` and numpy numbers
#: into ``float``.
_WRITE_AS_IS = frozenset({float, str, int, bool})


def _cells(rows: Any) -> list[Any]:
    return list(itertools.chain.from_iterable(rows))


def _fast_clean_read(slow: Any) -> Callable:
    """xlwings' clean-after-read stage, skipped for a block that holds only numbers and
    non-empty text, which it would return unchanged (saves a Python call per cell of ``A:A``).
    Anything else (blanks, dates, error cells, a ``numbers=`` option) goes through xlwings."""

    def stage(c: Any) -> None:
        value = c.value
        if slow.numbers_handler is None and isinstance(value, list | tuple):
            cells = _cells(value)
            kinds = set(map(type, cells))
            if kinds <= _READ_AS_IS and "" not in cells:
                c.value = [list(row) for row in value]
                return
            if slow.dates_handler is dt.datetime and _all_dates(kinds):
                days = _naive_datetimes(cells)
                if days is not None:
                    width = len(value[0])
                    c.value = [days[i : i + width] for i in range(0, len(days), width)]
                    return
        slow(c)

    return stage


def _all_dates(kinds: set[type]) -> bool:
    """Every cell is a datetime (pywin32's COM time is a datetime subclass)."""
    return bool(kinds) and all(issubclass(k, dt.datetime) for k in kinds)


def _naive_datetimes(cells: list[Any]) -> list[dt.datetime] | None:
    """What xlwings' cleaning makes of date cells (``_com_time_to_datetime``: a naive datetime
    with the same year ... microsecond, any time zone dropped), for all cells at once through
    pandas; None when pandas cannot (time zones mixed, years outside its range)."""
    import pandas as pd

    try:
        stamps = pd.DatetimeIndex(pd.to_datetime(cells))
    except (ValueError, TypeError, OverflowError):
        return None
    if stamps.tz is not None:
        stamps = stamps.tz_localize(None)  # the wall time written, as xlwings keeps it
    return list(stamps.to_pydatetime())


def _fast_clean_write(slow: Any) -> Callable:
    """xlwings' prepare-for-write stage, skipped for a result that holds only numbers (no
    NaN), text and logical values, which it would return unchanged (a spilled table of
    thousands of rows otherwise costs a Python call per cell on every recalculation)."""

    def stage(c: Any) -> None:
        cells = _cells(c.value)
        if set(map(type, cells)) <= _WRITE_AS_IS and not math.isnan(
            sum(itertools.compress(cells, map(float.__instancecheck__, cells)))
        ):
            c.value = [row if type(row) is list else list(row) for row in c.value]
        else:
            slow(c)
        _settle_heap()  # the function ran in xlwings' UDF server: see there

    return stage


def _register_used_cells() -> None:
    """Register :data:`USED_CELLS` (xlwings' value reader with :func:`_used_part` first) and
    :data:`CELLS` (xlwings' value writer), both with the cleaning stage skipped where it
    would change nothing (:func:`_fast_clean_read`, :func:`_fast_clean_write`)."""
    from xlwings.conversion import Accessor
    from xlwings.conversion.standard import (
        CleanDataForWriteStage,
        CleanDataFromReadStage,
        ValueAccessor,
    )

    def replaced(pipeline: Any, kind: type, fast: Callable) -> Any:
        for i, stage in enumerate(pipeline):
            if isinstance(stage, kind):
                pipeline[i] = fast(stage)
        return pipeline

    class UsedCellsAccessor(Accessor):
        @staticmethod
        def reader(options: Any) -> Any:
            pipeline = ValueAccessor.reader(options).prepend_stage(_used_part)
            return replaced(pipeline, CleanDataFromReadStage, _fast_clean_read)

    class CellsAccessor(Accessor):
        @staticmethod
        def writer(options: Any) -> Any:
            return replaced(
                ValueAccessor.writer(options), CleanDataForWriteStage, _fast_clean_write
            )

    UsedCellsAccessor.register(USED_CELLS)
    CellsAccessor.register(CELLS)


if not _IN_LITE:
    _register_used_cells()


def func(**kwargs: Any) -> Callable:
    """``xw.func`` in the xlclv category, minus options xlwings Lite lacks; the function
    returns its errors as :func:`error_text` (see the module docstring)."""
    kwargs.setdefault("category", CATEGORY)
    if _IN_LITE:
        for key in _CLASSIC_ONLY:
            kwargs.pop(key, None)
    decorate = xw.func(**kwargs)

    def decorated(f: Callable) -> Callable:
        g = _guarded(f)
        if not _IN_LITE and "convert" not in getattr(g, "__xlfunc__", {}).get("ret", {}).get(
            "options", {}
        ):
            g = xw.ret(CELLS)(g)
        return decorate(g)

    return decorated


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


def number_grid(
    value: Any, name: str, *, blanks: str = "nan", bad: dict | None = None
) -> np.ndarray:
    """A 2-D float array from an Excel value, for elementwise functions.

    ``blanks="nan"`` turns blank cells into NaN (the output cell stays blank);
    ``blanks="error"`` rejects them. With ``bad`` (a dict) and a range of more than one cell,
    a cell that is not a number becomes NaN and its error goes to ``bad[(i, j)]`` (the
    output cell shows it) instead of failing the whole range.
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
            elif bad is not None and idx is not None:
                try:
                    out[i, j] = _cell_number(v, name, idx)
                except InputError as exc:
                    bad.setdefault((i, j), exc)
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
    values: dict[str, Any], defaults: dict[str, float] | None = None, bad: dict | None = None
) -> list[np.ndarray]:
    """The arguments of an elementwise function as 2-D float arrays of one common shape.

    Each argument is a single cell or a range; every range must have the same shape (a
    single cell applies to every cell of the ranges). Blank cells become NaN (the output
    cell stays blank), except that a single blank cell for an argument listed in
    ``defaults`` means its default. ``bad``: see :func:`number_grid`.
    """
    defaults = defaults or {}
    grids = {}
    for name, value in values.items():
        g = as_grid(value)
        if name in defaults and len(g) == 1 and len(g[0]) == 1 and _is_blank(g[0][0]):
            g = [[defaults[name]]]
        grids[name] = number_grid(g, name, bad=bad)
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


def per_element(
    core: Callable[..., Any],
    arrays: list[np.ndarray],
    bad: dict | None = None,
) -> Any:
    """``core`` applied to arrays of one shape, failing per cell, as an Excel value.

    A position where any array is NaN (blank) stays blank. ``bad`` maps positions to the
    error of an unreadable input cell; those cells show :func:`error_text`. ``core`` runs on
    all other positions at once; if it raises an :class:`xlclv.XlclvError`, it runs again
    cell by cell, so only the offending cells show an error.
    """
    bad = dict(bad or {})
    shape = arrays[0].shape
    if arrays[0].size == 1 and bad:
        raise next(iter(bad.values()))
    ok = ~np.any([np.isnan(a) for a in arrays], axis=0)
    for pos in bad:
        ok[pos] = False
    out = np.full(shape, None, dtype=object)
    try:
        if ok.any():  # every cell blank or unreadable: nothing to compute
            out[ok] = np.asarray(core(*(a[ok] for a in arrays)), dtype=object)
    except XlclvError:
        if arrays[0].size == 1:
            raise
        for pos in zip(*np.nonzero(ok), strict=True):
            try:
                one = core(*(np.asarray([a[pos]]) for a in arrays))
                out[pos] = np.asarray(one, dtype=object).ravel()[0]
            except XlclvError as exc:
                bad[pos] = exc
    for pos, exc in bad.items():
        out[pos] = error_text(exc)
    cells = [[_excel_cell(x) for x in row] for row in out.tolist()]
    if len(cells) == 1 and len(cells[0]) == 1:
        return cells[0][0]
    return cells


def _excel_cell(x: Any) -> Any:
    if isinstance(x, str):
        return x
    if x is None:
        return None
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, bool):
        return x
    x = float(x)
    return None if math.isnan(x) else x


#: Largest integer a double holds exactly (Excel stores every number as a double).
_EXACT_INT = 2**53


def excel_id(v: Any) -> Any:
    """A customer ID for a cell: integers as float (Excel numbers are doubles; a 64-bit integer
    such as 2**31 or more would reach 32-bit VBA as a type it cannot hold), or as text
    beyond 2**53 where a double would round them; text stays text."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return float(v) if abs(v) <= _EXACT_INT else str(v)
    return v


def elementwise_udf(
    core: Callable[..., Any], values: dict[str, Any], defaults: dict[str, float] | None = None
) -> Any:
    """An elementwise function: :func:`number_args` then :func:`per_element`."""
    bad: dict = {}
    return per_element(core, number_args(values, defaults, bad=bad), bad)
