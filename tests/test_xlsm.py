"""workbooks/clv_report.xlsm: the template plus Excel-made VBA (xlwings' quickstart.xlsm), a form
button whose macro exists in that VBA, and an xlwings.conf sheet."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlclv.excel import xlsm

from .test_addin import soffice_convert, vba_modules
from .xlsx_drift import drift

ROOT = Path(__file__).resolve().parent.parent
CHECKED_IN = ROOT / "workbooks" / "clv_report.xlsm"


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> Path:
    return xlsm.build_xlsm(tmp_path_factory.mktemp("xlsm"))


@pytest.fixture(scope="module")
def checked_in(rebuilt) -> Path:
    return CHECKED_IN


def test_checked_in_workbook_is_what_the_code_builds(rebuilt):
    assert CHECKED_IN.is_file(), (
        "run `python -m xlclv.excel.xlsm` to build workbooks/clv_report.xlsm"
    )
    changed = drift(rebuilt, CHECKED_IN)
    assert changed == {}, "drifted: rebuild with `python -m xlclv.excel.xlsm`"


def test_vba_is_xlwings_quickstart_byte_for_byte(checked_in):
    with zipfile.ZipFile(CHECKED_IN) as z:
        assert z.read("xl/vbaProject.bin") == xlsm.quickstart_vba_project()
        types = z.read("[Content_Types].xml").decode()
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in types


def test_olevba_shows_the_button_macro_and_what_it_runs(checked_in):
    modules = vba_modules(CHECKED_IN)
    code = modules["Module1"]
    assert re.search(
        rf"^Sub {xlsm.BUTTON_MACRO}\(\)", code, re.M
    )  # no arguments: a button can call it
    assert (
        'mymodule = Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name, ".", -1, '
        "vbTextCompare) - 1))" in code
    )
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in code
    # no xlwings code in the workbook (RunPython comes from the referenced xlwings add-in),
    # so it is not tied to one xlwings version
    assert "xlwings" not in modules and "XLWINGS_VERSION" not in "".join(modules.values())


def test_every_button_points_at_that_macro(checked_in):
    with zipfile.ZipFile(CHECKED_IN) as z:
        vml = [z.read(n).decode() for n in z.namelist() if n.endswith(".vml")]
    buttons = [
        shape
        for v in vml
        for shape in re.findall(r"<v:shape .*?</v:shape>", v, flags=re.S)
        if 'ObjectType="Button"' in shape
    ]
    assert len(buttons) == 2  # README and Transactions
    for shape in buttons:
        assert re.findall(r"<x:FmlaMacro>(.*?)</x:FmlaMacro>", shape) == [
            f"[0]!{xlsm.BUTTON_MACRO}"
        ]
        assert "Build CLV report" in shape


def test_xlwings_conf_sheet_and_the_same_sheets_as_the_xlsx(checked_in):
    wb = openpyxl.load_workbook(CHECKED_IN, read_only=True)
    conf = wb["xlwings.conf"]
    assert [list(r) for r in conf.iter_rows(values_only=True)] == [["UDF Modules", "xlclv.udfs"]]
    assert wb.sheetnames[-1] == "xlwings.conf"
    xlsx_path = ROOT / "workbooks" / "clv_report.xlsx"
    if xlsx_path.is_file():  # the same template as the .xlsx
        xlsx = openpyxl.load_workbook(xlsx_path, read_only=True)
        assert wb.sheetnames == [*xlsx.sheetnames, "xlwings.conf"]


def test_paired_module_is_what_samplecall_imports(tmp_path, monkeypatch):
    """SampleCall runs `import <workbook name>; <workbook name>.main()`; xlclv install puts
    PAIRED_MODULE next to the workbook under that name."""
    name = xlsm.XLSM_NAME[: xlsm.XLSM_NAME.rindex(".")]
    (tmp_path / f"{name}.py").write_text(xlsm.PAIRED_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict = {}
    exec(f"import {name}", namespace)
    from xlclv.excel import button

    assert namespace[name].main is button.main


def test_opens_in_libreoffice_with_its_sheets_and_macro(checked_in, tmp_path):
    profile = tmp_path / "profile"
    out = soffice_convert(
        CHECKED_IN, tmp_path / "out", "xlsm", "Calc MS Excel 2007 VBA XML", profile
    )
    src = openpyxl.load_workbook(CHECKED_IN, read_only=True)
    got = openpyxl.load_workbook(out, read_only=True)
    assert got.sheetnames == src.sheetnames
    n_src = sum(1 for _ in src["Transactions"].iter_rows())
    assert sum(1 for _ in got["Transactions"].iter_rows()) == n_src
    assert f"Sub {xlsm.BUTTON_MACRO}()" in vba_modules(out)["Module1"]
