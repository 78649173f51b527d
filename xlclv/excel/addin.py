"""Build the ``xlclv.xlam`` ribbon add-in from the installed xlwings' own Excel-made add-in.

xlwings ships ``quickstart_addin_ribbon.xlam`` (what ``xlwings quickstart NAME --addin
--ribbon`` copies). Excel compiled its VBA, and its ribbon button runs
``RibbonMyAddin.RunMain``::

    mymodule = Left(ThisWorkbook.Name, InStrRev(ThisWorkbook.Name, ".") - 1)
    RunPython "import " & mymodule & ";" & mymodule & ".main()"

so a copy named ``xlclv.xlam`` calls ``xlclv.main()`` (:func:`xlclv.excel.button.main`) on the
active workbook, whatever that workbook is called.

:func:`build_addin` keeps every part byte for byte except these:

- ``xl/vbaProject.bin`` gets one more standard module, ``xlwings_udfs``: the wrapper code that
  xlwings' *Import Functions* would write for ``xlclv.udfs`` in an add-in
  (:func:`xlclv.excel.metadata.vba` with a ``.xlam`` name, the golden
  ``tests/golden/xlwings_udfs_xlam.bas``), written per [MS-OVBA]/[MS-CFB] by
  :mod:`xlclv.excel.vba_project`. The add-in is loaded in every Excel session, so the
  functions work in every open workbook without a VBA reference or Import Functions (the
  "custom add-in" route of the xlwings docs). Every other stream of the project is kept;

- ``customUI/customUI.xml`` becomes ``xlclv/excel/customUI.xml`` (an "xlclv" tab with a
  "Build CLV report" button);
- the config sheet ``_myaddin.conf`` is activated by dropping its leading underscore (the VBA
  reads the sheet ``PROJECT_NAME & ".conf"``, and ``PROJECT_NAME`` is ``"myaddin"``), and its
  column B gets ``UDF Modules`` = ``xlclv.udfs`` plus any other settings given, e.g. the
  interpreter path (``xlclv install`` passes the Python it runs under).

It is built at install time from the xlwings next to xlclv, so the add-in's VBA always
matches the installed xlwings version (its ``Declare`` lines name ``xlwings64-<version>.dll``).
"""

from __future__ import annotations

import importlib.resources
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import escape

from xlclv._errors import WorkbookError

__all__ = [
    "ADDIN_NAME",
    "UDF_MODULE",
    "CUSTOM_UI_PART",
    "DEFAULT_SETTINGS",
    "build_addin",
    "ribbon_xml",
    "source_addin",
    "vba_project",
]

#: The file name is what makes the ribbon button call ``xlclv.main()``.
ADDIN_NAME = "xlclv.xlam"
CUSTOM_UI_PART = "customUI/customUI.xml"
#: The VBA module holding the function wrappers (the name Import Functions gives it).
UDF_MODULE = "xlwings_udfs"
#: Settings always written to the add-in's config sheet.
DEFAULT_SETTINGS: dict[str, str] = {"UDF Modules": "xlclv.udfs"}

_SOURCE_NAME = "quickstart_addin_ribbon.xlam"
_VBA_PART = "xl/vbaProject.bin"
_WORKBOOK_PART = "xl/workbook.xml"
_STRINGS_PART = "xl/sharedStrings.xml"


def source_addin() -> Path:
    """The Excel-made ribbon add-in shipped with the installed xlwings."""
    import xlwings

    path = Path(xlwings.__file__).resolve().parent / _SOURCE_NAME
    if not path.is_file():
        raise WorkbookError(
            f"xlwings {xlwings.__version__} has no {_SOURCE_NAME}; "
            "reinstall xlwings (pip install --force-reinstall xlwings)"
        )
    return path


def ribbon_xml() -> bytes:
    """The ribbon definition kept as text in ``xlclv/excel/customUI.xml``."""
    return importlib.resources.files("xlclv").joinpath("excel/customUI.xml").read_bytes()


def vba_project(source: str | os.PathLike[str] | None = None) -> bytes:
    """The add-in's ``vbaProject.bin``: the source add-in's project plus the module
    :data:`UDF_MODULE` with xlwings' wrappers of every function in ``xlclv.udfs``."""
    from xlclv.excel import metadata, vba_project

    src = Path(source) if source is not None else source_addin()
    with zipfile.ZipFile(src) as z:
        original = z.read(_VBA_PART)
    return vba_project.add_module(original, UDF_MODULE, metadata.vba(ADDIN_NAME))


def build_addin(
    path: str | os.PathLike[str],
    *,
    settings: Mapping[str, str] | None = None,
    source: str | os.PathLike[str] | None = None,
) -> Path:
    """Write ``xlclv.xlam`` to ``path`` (a folder, or a file path ending in ``xlclv.xlam``).

    Parameters
    ----------
    path : path-like
        Target file or folder. The file must be named ``xlclv.xlam``: the ribbon macro derives
        the Python module it runs from the add-in's file name.
    settings : mapping, optional
        Extra values for the add-in's config sheet, by its keys (column A), e.g.
        ``{"Interpreter_Win": r"C:\\...\\python.exe"}``. ``UDF Modules`` is always
        ``xlclv.udfs``. A key the sheet does not have is added in a new row.
    source : path-like, optional
        The Excel-made add-in to start from; default :func:`source_addin`.

    Returns
    -------
    pathlib.Path
        The written add-in.
    """
    target = Path(path)
    if target.is_dir() or not target.suffix:
        target = target / ADDIN_NAME
    if target.name.lower() != ADDIN_NAME:
        raise WorkbookError(
            f"The add-in must be named {ADDIN_NAME} (its ribbon button imports the Python module "
            f"named like the file), got '{target.name}'"
        )
    values = {**DEFAULT_SETTINGS, **dict(settings or {})}
    src = Path(source) if source is not None else source_addin()

    with zipfile.ZipFile(src) as zin:
        parts = {info.filename: zin.read(info) for info in zin.infolist()}
        infos = zin.infolist()

    sheet_part, conf_name = _conf_sheet(parts)
    if conf_name.startswith("_"):
        parts[_WORKBOOK_PART] = parts[_WORKBOOK_PART].replace(
            f'name="{conf_name}"'.encode(), f'name="{conf_name[1:]}"'.encode(), 1
        )
    parts[sheet_part], parts[_STRINGS_PART] = _set_conf_values(
        parts[sheet_part], parts[_STRINGS_PART], values
    )
    parts[CUSTOM_UI_PART] = ribbon_xml()
    parts[_VBA_PART] = vba_project(src)

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    with zipfile.ZipFile(tmp, "w") as zout:
        for info in infos:
            out = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            out.compress_type = zipfile.ZIP_DEFLATED
            out.external_attr = info.external_attr
            zout.writestr(out, parts[info.filename])
    os.replace(tmp, target)
    return target


def _conf_sheet(parts: Mapping[str, bytes]) -> tuple[str, str]:
    """(part name, sheet name) of the add-in's one ``*.conf`` sheet."""
    workbook = parts[_WORKBOOK_PART].decode("utf-8")
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    for name, rid in re.findall(r'<sheet name="([^"]+\.conf)"[^>]*r:id="([^"]+)"', workbook):
        target = re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"', rels) or re.search(
            rf'Target="([^"]+)"[^>]*Id="{rid}"', rels
        )
        if target:
            return "xl/" + target.group(1).lstrip("/").removeprefix("xl/"), name
    raise WorkbookError("The xlwings ribbon add-in has no '<name>.conf' sheet")


def _shared_strings(sst: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", si) for si in re.findall(r"<si>(.*?)</si>", sst, flags=re.DOTALL)
    ]


def _set_conf_values(
    sheet: bytes, strings: bytes, values: Mapping[str, str]
) -> tuple[bytes, bytes]:
    """Put ``values`` in column B next to their keys in column A (keys match case-insensitively,
    as the VBA's ``GetConfig`` does); keys not on the sheet are appended as new rows."""
    xml = sheet.decode("utf-8")
    sst = strings.decode("utf-8")
    table = _shared_strings(sst)

    def intern(text: str) -> int:
        nonlocal sst
        table.append(text)
        sst = sst.replace("</sst>", f"<si><t>{escape(text)}</t></si></sst>", 1)
        return len(table) - 1

    rows = {
        int(r): table[int(i)].upper()
        for r, i in re.findall(r'<c r="A(\d+)"[^>]*t="s"[^>]*><v>(\d+)</v></c>', xml)
    }
    by_key = {key: r for r, key in rows.items()}
    last = max(rows, default=0)
    for key, value in values.items():
        cell = f'<c r="B{{row}}" s="1" t="s"><v>{intern(str(value))}</v></c>'
        row = by_key.get(key.upper())
        if row is None:
            # a contiguous block from A1: the VBA reads A1 down to the first blank cell
            last += 1
            row = last
            a = f'<c r="A{row}" s="1" t="s"><v>{intern(key)}</v></c>'
            new_row = f'<row r="{row}" spans="1:2">{a}{cell.format(row=row)}</row>'
            following = [m for m in re.finditer(r'<row r="(\d+)"', xml) if int(m.group(1)) > row]
            at = following[0].start() if following else xml.index("</sheetData>")
            xml = xml[:at] + new_row + xml[at:]
            by_key[key.upper()] = row
            continue
        match = re.search(rf'<row r="{row}"[^>]*>(.*?)</row>', xml, flags=re.DOTALL)
        assert match is not None
        body = re.sub(rf'<c r="B{row}"[^>]*?(/>|>.*?</c>)', "", match.group(1), flags=re.DOTALL)
        a_end = body.index("</c>") + len("</c>")
        body = body[:a_end] + cell.format(row=row) + body[a_end:]
        head = re.sub(r'spans="\d+:\d+"', 'spans="1:2"', xml[match.start() : match.start(1)])
        xml = xml[: match.start()] + head + body + "</row>" + xml[match.end() :]
    n = len(table)
    sst = re.sub(r'count="\d+"', f'count="{n}"', sst, count=1)
    sst = re.sub(r'uniqueCount="\d+"', f'uniqueCount="{n}"', sst, count=1)
    return xml.encode("utf-8"), sst.encode("utf-8")
