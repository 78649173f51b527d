"""Build ``workbooks/clv_report.xlsm``: the CLV report template with a "Build CLV report" button.

The workbook is the same template as ``clv_report.xlsx`` (:func:`xlclv.excel.templates.build_clv_report`)
plus:

- the VBA project of xlwings' Excel-made ``quickstart.xlsm`` (``xl/vbaProject.bin``, byte for
  byte): ``Module1.SampleCall`` and a VBA reference to the xlwings add-in, which supplies
  ``RunPython``. That flavour keeps no xlwings code in the workbook, so the workbook is not tied
  to one xlwings version: the add-in that ``xlclv install`` installs (with ``xlwings addin
  install``) always matches the installed Python package. (``quickstart_standalone.xlsm`` would
  embed ``xlwings.bas`` of one version, whose ``Declare`` lines name ``xlwings64-<version>.dll``
  and whose macOS ``RunPython`` calls ``xlwings-<version>.applescript``.)
- a form button on the README and Transactions sheets whose macro is ``SampleCall``, which runs
  ``RunPython "import clv_report;clv_report.main()"`` -- the module named like the workbook.
  :data:`PAIRED_MODULE` is that module (``clv_report.py``, installed next to the workbook by
  ``xlclv install``; xlwings puts the workbook's folder on the Python path). It hands over to
  :func:`xlclv.excel.button.main`.
- an ``xlwings.conf`` sheet with ``UDF Modules`` = ``xlclv.udfs``, so Import Functions in this
  workbook brings in the xlclv functions even without the user-wide config.

Renaming: ``SampleCall`` derives the module from the file name, so a renamed copy's button looks
for a module of the new name. The ``xlclv`` ribbon tab of ``xlclv.xlam`` (same
``xlclv.main()``) works on any workbook under any name; docs/excel.md explains both.

Regenerate with ``python -m xlclv.excel.xlsm`` (writes ``workbooks/clv_report.xlsm``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import zipfile
from pathlib import Path

__all__ = [
    "BUTTON_MACRO",
    "CONF_SHEET",
    "PAIRED_MODULE",
    "XLSM_NAME",
    "build_xlsm",
    "quickstart_vba_project",
]

XLSM_NAME = "clv_report.xlsm"
#: The macro of xlwings' quickstart.xlsm the button runs (``Module1.SampleCall``).
BUTTON_MACRO = "SampleCall"
#: The workbook's own xlwings settings (sheet ``xlwings.conf``: key in A, value in B).
CONF_SHEET: dict[str, str] = {"UDF Modules": "xlclv.udfs"}
#: ``clv_report.py``: what ``SampleCall`` imports (``import clv_report; clv_report.main()``).
PAIRED_MODULE = '''"""Run by the "Build CLV report" button of clv_report.xlsm.

xlwings' RunPython calls main() of the module named like the workbook, so this file must sit
next to clv_report.xlsm and be named like it. The xlclv ribbon tab works under any name.
"""

from xlclv.excel.button import main

__all__ = ["main"]
'''


def quickstart_vba_project() -> bytes:
    """``xl/vbaProject.bin`` of the installed xlwings' Excel-made ``quickstart.xlsm``."""
    spec = importlib.util.find_spec("xlwings")  # its files only: no need to import it
    assert spec is not None and spec.origin is not None, "xlwings is not installed"
    with zipfile.ZipFile(Path(spec.origin).resolve().parent / "quickstart.xlsm") as z:
        return z.read("xl/vbaProject.bin")


def build_xlsm(path: str | os.PathLike[str], *, settings: dict[str, str] | None = None) -> Path:
    """Write the macro-enabled template to ``path`` (a folder or a ``.xlsm`` file).

    ``settings`` are added to its ``xlwings.conf`` sheet, e.g. ``{"Interpreter_Win": ...}``
    (``xlclv install`` passes the interpreter, so the sheet button needs no user-wide config).
    """
    from xlclv.excel.templates import build_clv_report

    target = Path(path)
    if target.is_dir() or not target.suffix:
        target = target / XLSM_NAME
    return build_clv_report(
        target,
        vba_project=quickstart_vba_project(),
        button_macro=BUTTON_MACRO,
        conf_sheet={**CONF_SHEET, **(settings or {})},
    )


if __name__ == "__main__":  # pragma: no cover - the regeneration command
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent.parent / "workbooks"
    print(build_xlsm(out))
