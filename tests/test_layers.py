"""The tree shows three layers and imports run one way: core <- report <- excel.

- core: everything outside ``xlclv/report/`` and ``xlclv/excel/`` (metrics, transactions,
  valuation, models/, engines/, datasets, simulate ...): numpy/scipy/pandas only;
- report: ``xlclv/report/``, the report application; imports the core, never the Excel face;
- excel: ``xlclv/excel/`` plus its public path ``xlclv.udfs``, and the command line on top.

Read from the source (every ``import``, top-level or inside a function, relative or absolute),
so a lazy import cannot hide a wrong-way dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "xlclv"
#: Modules above all layers: the lazy public facade and the command line.
TOP = {"xlclv", "xlclv.__main__", "xlclv.cli"}
#: Third-party packages only the Excel face may import.
EXCEL_ONLY = {"xlwings", "pythoncom", "pywintypes", "win32com"}
#: What a layer must never import (xlclv layers and third-party packages).
FORBIDDEN = {
    "core": {"report", "excel", "top", *EXCEL_ONLY, "xlsxwriter", "openpyxl", "rich"},
    "report": {"excel", "top", *EXCEL_ONLY},
    "excel": {"top"},
}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def layer_of(module: str) -> str:
    if module in TOP or module.startswith("xlclv.cli"):
        return "top"
    if module == "xlclv.udfs" or module.startswith("xlclv.excel"):
        return "excel"
    if module.startswith("xlclv.report"):
        return "report"
    return "core"


def imports_of(path: Path) -> set[str]:
    """Absolute names of every module imported anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found |= {f"{mod}.{a.name}" for a in node.names}  # `from xlclv import report`
    return found


def target_layer(imported: str) -> str | None:
    top = imported.split(".")[0]
    if top != "xlclv":
        return top if top in EXCEL_ONLY | {"xlsxwriter", "openpyxl", "rich"} else None
    if imported in ("xlclv",):
        return None  # the facade's names are resolved lazily; a bare `import xlclv` is fine
    return layer_of(imported)


SOURCES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_imports_run_one_way(path):
    layer = layer_of(module_name(path))
    if layer == "top":
        return
    wrong = sorted(
        imp
        for imp in imports_of(path)
        if (target := target_layer(imp)) is not None and target in FORBIDDEN[layer]
    )
    assert wrong == [], f"{module_name(path)} ({layer} layer) imports {wrong}"


def test_the_tree_shows_the_layers():
    assert (PACKAGE / "report" / "__init__.py").is_file()
    assert (PACKAGE / "excel" / "__init__.py").is_file()
    layers = {layer_of(module_name(p)) for p in SOURCES}
    assert layers == {"core", "report", "excel", "top"}


def test_the_checker_sees_a_wrong_way_import(tmp_path, monkeypatch):
    """A planted lazy import of the Excel face inside a core function is caught."""
    fake = PACKAGE / "models" / "zz_planted_for_test.py"
    source = "def f():\n    from ..excel import button\n    return button\n"
    monkeypatch.setattr(Path, "read_text", lambda self, **kw: source)
    assert "xlclv.excel.button" in imports_of(fake)
    assert target_layer("xlclv.excel.button") in FORBIDDEN["core"]
