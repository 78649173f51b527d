"""The metadata Excel registers for xlclv's functions, from xlwings' own Windows code.

``xlwings/udfs.py`` (what Excel's COM server runs) only imports on Windows. Elsewhere its
pywin32 imports are satisfied with inert stand-ins -- nothing here talks to COM -- so its real
``xlfunc``/``xlarg``/``xlret`` decorators can record the exact metadata ``Import Functions``
registers, and ``generate_vba_wrapper`` can write the exact VBA module. ``xlclv functions``,
the README function reference and the tests all read the catalogue from here.
"""

from __future__ import annotations

import datetime as dt
import importlib
import io
import sys
import types
from typing import Any

_STUBS = ("pythoncom", "pywintypes", "win32com", "win32com.client")
_loaded: tuple[types.ModuleType, types.ModuleType] | None = None


def _install_win32_stubs() -> None:
    for name in _STUBS:
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["pythoncom"].CoInitialize = lambda: None
    sys.modules["pywintypes"].com_error = type("com_error", (Exception,), {})
    sys.modules["pywintypes"].TimeType = dt.datetime
    sys.modules["win32com.client"].Dispatch = lambda *a, **k: None
    sys.modules["win32com"].client = sys.modules["win32com.client"]


def load() -> tuple[types.ModuleType, types.ModuleType]:
    """(xlwings.udfs, xlclv.udfs) with xlclv's UDFs decorated by xlwings' Windows code."""
    global _loaded
    if _loaded is not None:
        return _loaded
    if sys.platform != "win32":
        _install_win32_stubs()
    import xlwings
    import xlwings.udfs as xlwings_udfs

    if sys.platform != "win32":
        xlwings.func, xlwings.arg, xlwings.ret = (
            xlwings_udfs.xlfunc,
            xlwings_udfs.xlarg,
            xlwings_udfs.xlret,
        )
        reload = ("xlclv.udfs", "xlclv.excel.udf_")
        for name in [m for m in sys.modules if m.startswith(reload)]:
            del sys.modules[name]
    udfs = importlib.import_module("xlclv.udfs")
    _loaded = (xlwings_udfs, udfs)
    return _loaded


def excel_functions() -> dict[str, Any]:
    """Every function Excel registers from ``xlclv.udfs``, by Excel name, in name order."""
    _, udfs = load()
    found = {}
    for attr in dir(udfs):
        f = getattr(udfs, attr)
        if hasattr(f, "__xlfunc__"):
            found[f.__xlfunc__["name"]] = f
    return dict(sorted(found.items()))


def vba(book_name: str = "clv_report.xlsm") -> str:
    """The VBA module ``xlwings_udfs`` that Import Functions writes for ``xlclv.udfs``.

    A book name ending in ``.xlam`` gives the add-in flavour (``ActiveWorkbook``).
    """
    xlwings_udfs, udfs = load()
    buf = io.StringIO()
    xlwings_udfs.generate_vba_wrapper(
        "xlclv.udfs", udfs, buf, types.SimpleNamespace(Name=book_name)
    )
    return buf.getvalue()


def signature(f: Any) -> str:
    """``NAME(arg1, [opt=default], ...)`` as the Function Wizard lists it."""
    parts = []
    for a in f.__xlfunc__["args"]:
        if "optional" in a:
            d = a["optional"]
            if d is None:  # no fixed default (e.g. "the last date"): the help says what it is
                parts.append(f"[{a['name']}]")
            else:
                parts.append(f'[{a["name"]}="{d}"]' if isinstance(d, str) else f"[{a['name']}={d}]")
        else:
            parts.append(a["name"])
    return f"{f.__xlfunc__['name']}({', '.join(parts)})"


def summary(f: Any) -> str:
    """The first line of the Function Wizard description."""
    return (f.__xlfunc__["ret"]["doc"] or "").strip().splitlines()[0].strip()
