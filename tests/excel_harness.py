"""Call xlclv's UDFs the way Excel does, through xlwings' own Windows UDF code.

``xlclv.excel.metadata.load()`` imports xlwings' real ``udfs.py`` under pywin32 stand-ins and
decorates xlclv's UDFs with its real ``xlfunc``/``xlarg``/``xlret``. ``call`` then runs
xlwings' real dispatch, ``xlwings.udfs.call_udf("xlclv.udfs", NAME, args)``: argument
conversion, omitted optionals (COM's ``DISP_E_PARAMNOTFOUND``), the call, and the return
conversion; then the reduction of ``com_server.XLPython.CallUDF`` (``[[x]]`` -> ``x``).

What is *not* real here (``xlwings/_xlwindows.py`` and ``com_server.py`` need Windows DLLs):

- nothing of the COM value hooks of the "excel" engine (blank -> ``empty``, error codes ->
  ``None`` or text, numbers, dates): :func:`xlwings_value_hooks` takes ``cell_errors``,
  ``_clean_value_data_element``, the date helpers and ``Engine.prepare_xl_data_element`` /
  ``clean_value_data`` out of the installed ``xlwings/_xlwindows.py`` source and runs them,
  with only ``pywintypes.TimeType`` (a COM date, never made here) and ``win32timezone``'s
  UTC stood in for; COM's own conversion of a datetime to a date serial is not run;
- ``xlwings._xlwindows`` itself: a stand-in with ``Range`` and ``is_range_instance``. Values
  (tuples of tuples) arrive as when VBA passes an array; a :class:`ComRange` (a reference such
  as ``A:A`` on a :class:`ComSheet`) arrives as a range object, which xlwings' conversion
  reads through ``raw_value`` after xlclv's used-range stage narrowed it;
- ``xlwings.com_server``: a stand-in with the ``loop`` call_udf imports (only async
  functions use it; xlclv has none).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from typing import Any

from xlclv.excel.metadata import excel_functions, load, vba  # noqa: F401  (re-exported for tests)

#: What COM passes for an omitted optional argument (DISP_E_PARAMNOTFOUND), as call_udf tests.
MISSING = -2147352572

NA = -2146826246  # what COM hands over for a #N/A cell

#: The parts of xlwings/_xlwindows.py the "excel" engine's value hooks are made of.
_XLWINDOWS_PARTS = (
    "cell_errors",
    "time_types",
    "_com_time_to_datetime",
    "_datetime_to_com_time",
    "_clean_value_data_element",
)
_ENGINE_HOOKS = ("prepare_xl_data_element", "clean_value_data")


def xlwings_value_hooks() -> dict[str, Any]:
    """The value hooks of ``xlwings._xlwindows`` from the installed source, run off Windows.

    The module cannot be imported without pywin32 and Windows DLLs, so its top-level
    assignments and functions named in ``_XLWINDOWS_PARTS`` (with the ``if np:`` block after
    ``time_types``) and the ``Engine`` methods in ``_ENGINE_HOOKS`` are cut out of the source
    with :mod:`ast` and executed in a namespace of their imports. Raises ``LookupError`` if
    xlwings no longer has one of them (the harness must then be looked at again).
    """
    import ast
    import importlib.util
    import types

    import numpy as np
    import pandas as pd
    from xlwings.utils import np_datetime_to_datetime

    path = importlib.util.find_spec("xlwings").submodule_search_locations[0] + "/_xlwindows.py"
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    body, found = [], set()
    for i, node in enumerate(tree.body):
        name = _top_level_name(node)
        if name in _XLWINDOWS_PARTS:
            body.append(node)
            found.add(name)
            following = tree.body[i + 1] if i + 1 < len(tree.body) else None
            if name == "time_types" and isinstance(following, ast.If):
                body.append(following)  # if np: time_types += (np.datetime64,)
        if isinstance(node, ast.ClassDef) and node.name == "Engine":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name in _ENGINE_HOOKS:
                    item.decorator_list = []  # plain functions in the namespace
                    body.append(item)
                    found.add(item.name)
    missing = (set(_XLWINDOWS_PARTS) | set(_ENGINE_HOOKS)) - found
    if missing:
        raise LookupError(f"{path} has no {', '.join(sorted(missing))}: update the harness")

    class TimeType(dt.datetime):  # pywintypes' COM date; COM is not here, so never made
        pass

    namespace: dict[str, Any] = {
        "dt": dt,
        "np": np,
        "pd": pd,
        "np_datetime_to_datetime": np_datetime_to_datetime,
        "pywintypes": types.SimpleNamespace(TimeType=TimeType),
        "win32timezone": types.SimpleNamespace(
            TimeZoneInfo=types.SimpleNamespace(utc=lambda: dt.UTC)
        ),
    }
    module = ast.Module(body=body, type_ignores=[])
    exec(compile(module, path, "exec"), namespace)
    return namespace


def _top_level_name(node: Any) -> str | None:
    import ast

    if isinstance(node, ast.FunctionDef):
        return node.name
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        return target.id if isinstance(target, ast.Name) else None
    return None


_XLWINDOWS = xlwings_value_hooks()
#: xlwings/_xlwindows.py: cell_errors (COM error codes of Excel error cells)
CELL_ERRORS = _XLWINDOWS["cell_errors"]


class _ExcelValueHooks:
    """The two value hooks of ``xlwings._xlwindows.Engine``, xlwings' own code."""

    name = "excel"
    type = "desktop"
    clean_value_data = staticmethod(_XLWINDOWS["clean_value_data"])
    prepare_xl_data_element = staticmethod(_XLWINDOWS["prepare_xl_data_element"])


class ComSheet:
    """A worksheet of values (rows from A1, ``None`` blank) for range arguments."""

    MAX_ROWS = 1_048_576

    def __init__(self, rows: list[list[Any]]) -> None:
        self.rows = rows
        self.reads: list[tuple[int, int]] = []  # shapes of the blocks read (raw_value)

    @property
    def book(self) -> Any:
        _register_engine()
        return types_ns(app=types_ns(engine=_HOOKS, pid=0))

    def column(self, col: int, first_row: int = 1, last_row: int | None = None) -> ComRange:
        """A column reference, by default the whole column (``A:A`` for ``col=1``)."""
        return ComRange(self, first_row, col, last_row or self.MAX_ROWS, col)

    @property
    def used_range(self) -> ComRange:
        """Excel keeps its used range; here it is worked out once (the rows do not change)."""
        if getattr(self, "_used", None) is None:
            self._used = self._find_used_range()
        return self._used

    def _find_used_range(self) -> ComRange:
        filled = [(i, j) for i, r in enumerate(self.rows) for j, v in enumerate(r) if v is not None]
        if not filled:
            return ComRange(self, 1, 1, 1, 1)
        return ComRange(
            self,
            min(i for i, _ in filled) + 1,
            min(j for _, j in filled) + 1,
            max(i for i, _ in filled) + 1,
            max(j for _, j in filled) + 1,
        )

    def range(self, first: tuple[int, int], last: tuple[int, int]) -> ComRange:
        return ComRange(self, first[0], first[1], last[0], last[1])


class ComRange:
    """A COM Range as the ``impl`` of an xlwings Range: position, shape and ``raw_value``."""

    max_cells_per_read = None  # as xlwings._xlwindows.Range: no chunked reads

    def __init__(self, sheet: ComSheet, r1: int, c1: int, r2: int, c2: int) -> None:
        self.sheet, self.row, self.column = sheet, r1, c1
        self.shape = (r2 - r1 + 1, c2 - c1 + 1)

    @property
    def raw_value(self) -> Any:
        rows, cols = self.shape
        self.sheet.reads.append(self.shape)
        first, stop = self.column - 1, self.column - 1 + cols
        filled = self.sheet.rows[self.row - 1 : self.row - 1 + rows]
        pad = (None,) * cols
        # a tuple per row, as COM hands over a 2-D SAFEARRAY; cells past a row's end are blank
        out = [
            tuple(r[first:stop]) if len(r) >= stop else (tuple(r[first:stop]) + pad)[:cols]
            for r in filled
        ]
        out.extend([pad] * (rows - len(filled)))
        if rows == 1 and cols == 1:
            return out[0][0]  # COM gives a single cell's value, not a 1x1 array
        return tuple(out)


def types_ns(**kwargs: Any) -> Any:
    import types

    return types.SimpleNamespace(**kwargs)


_HOOKS = None


def _register_engine() -> None:
    import types

    import xlwings
    from xlwings import main as xlwings_main

    global _HOOKS
    if "excel" not in xlwings_main.engines.engines_by_name:
        xlwings_main.engines.add(xlwings_main.Engine(impl=_ExcelValueHooks()))
    _HOOKS = xlwings_main.engines["excel"].impl
    if "xlwings._xlwindows" not in sys.modules:
        stand_in = types.ModuleType("xlwings._xlwindows")

        def Range(xl: Any = None) -> Any:
            return xl if isinstance(xl, ComRange) else types.SimpleNamespace(xl=xl)

        stand_in.Range = Range
        stand_in.is_range_instance = lambda value: isinstance(value, ComRange)
        stand_in.BOOK_CALLER = None
        sys.modules["xlwings._xlwindows"] = stand_in
        xlwings._xlwindows = stand_in
    if "xlwings.com_server" not in sys.modules:
        server = types.ModuleType("xlwings.com_server")
        server.loop = None
        sys.modules["xlwings.com_server"] = server


def call_udf(name: str, *args: Any) -> Any:
    """What ``xlwings.udfs.call_udf`` returns (a list of rows) for these COM arguments.

    ``args`` are what COM hands over: floats, strings, ``None`` for a blank cell, tuples of
    tuples for a range, ``NA`` for a #N/A cell, ``MISSING`` (or leaving the argument out)
    for an omitted optional.
    """
    xlwings_udfs, _ = load()
    _register_engine()
    info = excel_functions()[name].__xlfunc__
    if len(args) > len(info["args"]):
        raise TypeError(f"{name} takes {len(info['args'])} arguments")
    for i, arg_info in enumerate(info["args"]):
        if i >= len(args) and "optional" not in arg_info:
            raise TypeError(f"{name}: required argument {arg_info['name']} missing")
    padded = list(args) + [MISSING] * (len(info["args"]) - len(args))
    return xlwings_udfs.call_udf("xlclv.udfs", name, tuple(padded))


def dispatch(name: str, *args: Any) -> Any:
    """What Excel's cell receives: :func:`call_udf` reduced as ``CallUDF`` does."""
    res = call_udf(name, *args)
    # xlwings/com_server.py, XLPython.CallUDF:
    if len(res) == 1 and len(res[0]) == 1:
        res = res[0][0]
    elif len(res) == 1 and len(res[0]) > 1:
        res = res[0]
    return res


def is_error(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("xlclv: ")


def check_error_text(text: str) -> None:
    """What an error cell may show: one short line, no traceback, no path."""
    assert text.startswith("xlclv: "), text
    assert "\n" not in text and "Traceback" not in text and len(text) <= 255, text
    assert not re.search(r"[A-Za-z]:\\|/home/|/Users/|site-packages|\.py\b", text), text


def call(name: str, *args: Any) -> Any:
    """:func:`dispatch`, but an error of the whole call is raised again as the exception the
    function caught (after checking the cell text), so tests can match its type and message.
    Per-cell errors inside a spilled result stay in the result as ``xlclv: ...`` texts."""
    out = call_udf(name, *args)
    if len(out) == 1 and len(out[0]) == 1 and is_error(out[0][0]):
        check_error_text(out[0][0])
        error = getattr(out[0][0], "error", None)
        assert error is not None, "an error text carries its exception"
        raise error
    for row in out:
        for cell in row:
            if is_error(cell):
                check_error_text(cell)
    return out
