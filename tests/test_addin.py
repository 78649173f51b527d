"""xlclv.xlam: built from xlwings' Excel-made ribbon add-in; its VBA project gains the UDF wrapper
module (every other stream kept), ribbon and config XML changed; checked with olevba, olefile,
an XML parser and LibreOffice."""

from __future__ import annotations

import re
import subprocess
import warnings
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import openpyxl
import pytest

import xlclv
from xlclv._errors import WorkbookError
from xlclv.excel import addin

from .libreoffice import require_soffice

CUSTOMUI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
PY_WIN = r"C:\Users\Ann & Bob\.xlclv\venv\Scripts\python.exe"
PY_MAC = "/Users/ann/.xlclv/venv/bin/python"


def vba_modules(path: Path) -> dict[str, str]:
    """Decoded VBA source by module name, read with olevba (oletools)."""
    with warnings.catch_warnings():  # oletools uses pyparsing's deprecated camelCase names
        warnings.simplefilter("ignore", DeprecationWarning)
        from oletools.olevba import VBA_Parser

        parser = VBA_Parser(str(path))
        try:
            return {
                Path(vba_filename).stem: code
                for _, _, vba_filename, code in parser.extract_macros()
            }
        finally:
            parser.close()


def conf_rows(path: Path) -> list[list]:
    """The config sheet's cells, read by python-calamine (openpyxl refuses .xlam files)."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    return wb.get_sheet_by_index(0).to_python()


def soffice_convert(src: Path, outdir: Path, fmt: str, infilter: str, profile: Path) -> Path:
    """Convert with LibreOffice headless, naming the input filter: LibreOffice does not pick one
    for an .xlam by itself (tests.libreoffice's batch convert has no filter option)."""
    exe = require_soffice()  # skips without LibreOffice, fails under CI
    subprocess.run(
        [
            exe,
            "--headless",
            "--norestore",
            f"-env:UserInstallation={profile.as_uri()}",
            f"--infilter={infilter}",
            "--convert-to",
            fmt,
            "--outdir",
            str(outdir),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    out = outdir / f"{src.stem}.{fmt}"
    assert out.is_file(), f"LibreOffice could not convert {src.name}"
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("addin")
    return addin.build_addin(
        folder, settings={"Interpreter_Win": PY_WIN, "Interpreter_Mac": PY_MAC}
    )


def test_named_xlclv_xlam_and_refuses_other_names(built, tmp_path):
    assert built.name == "xlclv.xlam"
    with pytest.raises(WorkbookError, match=r"must be named xlclv\.xlam"):
        addin.build_addin(tmp_path / "clv.xlam")


def test_every_part_but_ribbon_and_config_is_the_source_byte_for_byte(built):
    changed = {
        addin.CUSTOM_UI_PART,
        "xl/workbook.xml",
        "xl/worksheets/sheet1.xml",
        "xl/vbaProject.bin",
    }
    changed.add("xl/sharedStrings.xml")
    with zipfile.ZipFile(addin.source_addin()) as src, zipfile.ZipFile(built) as out:
        assert out.namelist() == src.namelist()
        for name in src.namelist():
            if name not in changed:
                assert out.read(name) == src.read(name), name
        assert out.read("xl/vbaProject.bin") != src.read("xl/vbaProject.bin")
        # workbook.xml: only the config sheet's name loses its leading underscore
        assert out.read("xl/workbook.xml") == src.read("xl/workbook.xml").replace(
            b'name="_myaddin.conf"', b'name="myaddin.conf"'
        )
        assert out.read(addin.CUSTOM_UI_PART) == addin.ribbon_xml()


def _streams(vba_bin: bytes) -> dict[str, bytes]:
    """Every stream of a compound file, read with olefile (independent of our writer)."""
    import io

    import olefile

    ole = olefile.OleFileIO(io.BytesIO(vba_bin))
    try:
        return {"/".join(e): ole.openstream("/".join(e)).read() for e in ole.listdir()}
    finally:
        ole.close()


def test_vba_project_keeps_every_stream_and_adds_the_udf_module(built):
    with zipfile.ZipFile(addin.source_addin()) as src, zipfile.ZipFile(built) as out:
        before = _streams(src.read("xl/vbaProject.bin"))
        after = _streams(out.read("xl/vbaProject.bin"))
    edited = {"VBA/dir", "PROJECT", "PROJECTwm"}
    assert set(after) == set(before) | {"VBA/xlwings_udfs"}
    for name in set(before) - edited:
        assert after[name] == before[name], name
    # PROJECT: exactly one line more in the module list, and one in [Workspace]
    old_lines = before["PROJECT"].split(b"\r\n")
    new_lines = after["PROJECT"].split(b"\r\n")
    assert sorted(set(new_lines) - set(old_lines)) == [
        b"Module=xlwings_udfs",
        b"xlwings_udfs=0, 0, 0, 0, C",
    ]
    assert new_lines.index(b"Module=xlwings_udfs") < new_lines.index(b'Name="MyAddin"')
    assert after["PROJECTwm"].endswith(
        b"xlwings_udfs" + b"\x00" + "xlwings_udfs".encode("utf-16-le") + b"\x00\x00\x00\x00"
    )


def test_olevba_finds_a_wrapper_for_every_function_identical_to_golden(built):
    """The module Import Functions would write into an add-in, as olevba decodes it."""
    modules = vba_modules(built)
    code = modules["xlwings_udfs"].replace("\r\n", "\n")
    for name in xlclv.udfs.__all__:
        assert re.search(rf"^Function {name}\(", code, re.M), name
        assert f'XLPy.CallUDF("xlclv.udfs", "{name}", ' in code
    golden = (Path(__file__).parent / "golden" / "xlwings_udfs_xlam.bas").read_text("utf-8")
    header, _, body = code.partition("\n")
    assert header == 'Attribute VB_Name = "xlwings_udfs"'
    assert body.strip("\n") == golden.replace("\r\n", "\n").strip("\n")
    # the wrappers call XLPy, which the add-in's own xlwings module defines
    assert re.search(r"^Function XLPy\(", modules["xlwings"].replace("\r\n", "\n"), re.M)


def test_build_is_reproducible(built, tmp_path):
    again = addin.build_addin(
        tmp_path, settings={"Interpreter_Win": PY_WIN, "Interpreter_Mac": PY_MAC}
    )
    assert again.read_bytes() == built.read_bytes()


def test_olevba_shows_the_modules_and_runmain_imports_the_addin_name(built):
    modules = vba_modules(built)
    assert {"RibbonMyAddin", "xlwings", "Dictionary", "ThisWorkbook"} <= set(modules)
    run_main = modules["RibbonMyAddin"]
    assert "Sub RunMain(control As IRibbonControl)" in run_main
    # the module name is the add-in's file name without its extension ...
    assert (
        'mymodule = Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name, ".", -1, '
        "vbTextCompare) - 1))" in run_main
    )
    assert 'RunPython "import " & mymodule & ";" & mymodule & ".main()"' in run_main
    # ... so in xlclv.xlam the button runs this command, and it resolves to the button entry point
    name = built.name
    mymodule = name[: name.rindex(".")]
    command = f"import {mymodule};{mymodule}.main()"
    assert command == "import xlclv;xlclv.main()"
    from xlclv.excel import button

    assert xlclv.main is button.main


def test_config_sheet_name_is_the_one_the_vba_reads(built):
    code = vba_modules(built)["xlwings"]
    project = re.search(r'PROJECT_NAME As String = "([^"]+)"', code).group(1)
    assert 'wb.Sheets(PROJECT_NAME & ".conf")' in code
    from python_calamine import CalamineWorkbook

    assert CalamineWorkbook.from_path(str(built)).sheet_names == [f"{project}.conf"]


def test_config_sheet_values(built):
    conf = {key.upper(): value for key, value in conf_rows(built)}
    assert conf["UDF MODULES"] == "xlclv.udfs"
    assert conf["INTERPRETER_WIN"] == PY_WIN
    assert conf["INTERPRETER_MAC"] == PY_MAC
    assert conf["DEBUG UDFS"] is False  # untouched source values


def test_unknown_setting_becomes_a_new_row_in_the_contiguous_block(tmp_path):
    path = addin.build_addin(tmp_path, settings={"ADD_WORKBOOK_TO_PYTHONPATH": "false"})
    rows = conf_rows(path)
    assert all(key for key, _ in rows)  # the VBA reads A1 down to the first blank cell
    assert rows[9] == ["ADD_WORKBOOK_TO_PYTHONPATH", "false"]


def test_ribbon_xml_is_valid_and_calls_a_macro_in_the_vba(built):
    with zipfile.ZipFile(built) as z:
        root = ET.fromstring(z.read(addin.CUSTOM_UI_PART))
        rels = z.read("_rels/.rels").decode()
    assert root.tag == f"{{{CUSTOMUI_NS}}}customUI"
    assert 'Target="customUI/customUI.xml"' in rels
    tabs = root.findall(f".//{{{CUSTOMUI_NS}}}tab")
    assert [t.get("label") for t in tabs] == ["xlclv"]
    buttons = root.findall(f".//{{{CUSTOMUI_NS}}}button")
    assert [b.get("label") for b in buttons] == ["Build CLV report"]
    modules = vba_modules(built)
    for b in buttons:
        module, macro = b.get("onAction").split(".")
        assert re.search(rf"^Sub {macro}\(control As IRibbonControl\)", modules[module], re.M)


def test_opens_in_libreoffice_without_loss(built, tmp_path):
    profile = tmp_path / "profile"
    xlsx = soffice_convert(built, tmp_path, "xlsx", "Calc MS Excel 2007 XML", profile)
    out = openpyxl.load_workbook(xlsx)
    assert out.sheetnames == ["myaddin.conf"]
    for r, row in enumerate(conf_rows(built), start=1):
        for c, value in enumerate(row, start=1):
            got = out.worksheets[0].cell(r, c).value
            if isinstance(value, bool):  # LibreOffice writes booleans as =FALSE()
                assert got in (value, f"={str(value).upper()}()")
            else:
                assert got == (value if value != "" else None), (r, c)
    # LibreOffice also reads the VBA back: its macro-enabled export still has RunMain
    xlsm = soffice_convert(built, tmp_path, "xlsm", "Calc MS Excel 2007 VBA XML", profile)
    exported = vba_modules(xlsm)
    assert "Sub RunMain(control As IRibbonControl)" in exported["RibbonMyAddin"]
    # ... and the function wrappers: LibreOffice parsed the module we wrote
    assert "Function CLV_MODEL(" in exported["xlwings_udfs"]
    assert 'XLPy.CallUDF("xlclv.udfs", "CLV_MODEL"' in exported["xlwings_udfs"]


def test_function_wizard_help_for_every_udf_fits_macrooptions():
    """UDF Modules = xlclv.udfs: every function Excel registers has a description and help for
    each argument (not xlwings' default "Positional argument N"), within MacroOptions' 255
    characters so nothing is cut."""
    from xlclv.excel.metadata import excel_functions

    fns = excel_functions()
    assert fns
    for name, f in fns.items():
        meta = f.__xlfunc__
        assert meta["category"] == "xlclv", name
        doc = (meta["ret"]["doc"] or "").strip()
        assert doc and len(doc) <= 255, name
        for arg in meta["args"]:
            if arg["vba"]:
                continue
            assert arg["doc"] and not arg["doc"].startswith("Positional argument"), (name, arg)
            assert len(arg["doc"]) <= 255, (name, arg["name"])
