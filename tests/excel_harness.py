"""Call xlclv's UDFs the way Excel does, through xlwings' own Windows UDF code.

``xlclv.excel.metadata.load()`` imports xlwings' real ``udfs.py`` under pywin32 stand-ins and
decorates xlclv's UDFs with its real ``xlfunc``/``xlarg``/``xlret``. ``call`` then sends
COM-shaped values through ``xlwings.conversion`` exactly as ``xlwings.udfs.call_udf`` does.

What is *not* real here: the COM value hooks of the "excel" engine
(``xlwings/_xlwindows.py`` needs Windows DLLs to import). ``_ExcelValueHooks`` repeats their
few lines (blank -> ``empty``, error codes, numbers, dates) so conversion can run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from xlclv.excel.metadata import excel_functions, load, vba  # noqa: F401  (re-exported for tests)

MISSING = object()  # what Excel passes for an omitted optional argument

# xlwings/_xlwindows.py: cell_errors (COM error codes of Excel error cells)
CELL_ERRORS = {
    -2146826281: "#DIV/0!",
    -2146826246: "#N/A",
    -2146826259: "#NAME?",
    -2146826288: "#NULL!",
    -2146826252: "#NUM!",
    -2146826265: "#REF!",
    -2146826273: "#VALUE!",
}
NA = -2146826246  # what COM hands over for a #N/A cell


class _ExcelValueHooks:
    """The two value hooks of ``xlwings._xlwindows.Engine``, repeated for non-Windows."""

    name = "excel"
    type = "desktop"

    @staticmethod
    def clean_value_data(data, datetime_builder, empty_as, number_builder, err_to_str):
        def clean(value):
            if value in ("", None):
                return empty_as
            if isinstance(value, dt.datetime):
                return datetime_builder(
                    value.year, value.month, value.day, value.hour, value.minute, value.second
                )
            if number_builder is not None and isinstance(value, float):
                return number_builder(value)
            if isinstance(value, int) and value in CELL_ERRORS:
                return CELL_ERRORS[value] if err_to_str else None
            return value

        return [[clean(c) for c in row] for row in data]

    @staticmethod
    def prepare_xl_data_element(x, date_format):
        import numpy as np
        import pandas as pd

        if isinstance(x, dt.date | dt.datetime | np.datetime64):
            return x
        if pd.isna(x):
            return ""
        if isinstance(x, np.number):
            return float(x)
        return x


def _register_engine() -> None:
    from xlwings import main as xlwings_main

    if "excel" not in xlwings_main.engines.engines_by_name:
        xlwings_main.engines.add(xlwings_main.Engine(impl=_ExcelValueHooks()))


def call(name: str, *args: Any) -> Any:
    """Call the UDF ``name`` the way ``xlwings.udfs.call_udf`` does for Excel.

    ``args`` are what COM hands over: floats, strings, ``None`` for a blank cell, tuples of
    tuples for a range, ``NA`` for a #N/A cell, ``MISSING`` (or leaving the argument out)
    for an omitted optional. Returns what xlwings hands back to Excel (a scalar or a list
    of rows). An exception propagates; Excel would show its message in the cell.
    """
    from xlwings import conversion

    load()
    _register_engine()
    f = excel_functions()[name]
    info = f.__xlfunc__
    values = []
    for i, arg_info in enumerate(info["args"]):
        a = args[i] if i < len(args) else MISSING
        if a is MISSING:
            if "optional" not in arg_info:
                raise TypeError(f"{name}: required argument {arg_info['name']} missing")
            values.append(arg_info["optional"])
        else:
            values.append(conversion.read(None, a, arg_info["options"]))
    result = f(*values)
    return conversion.write(result, None, info["ret"]["options"])
