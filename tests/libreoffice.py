"""LibreOffice headless as the real office suite in tests.

- :func:`soffice_path` finds ``soffice``; :func:`require_soffice` skips the test without it,
  but fails under CI (env ``CI`` set), which installs ``libreoffice-calc-nogui``.
- :class:`LibreOffice` owns one profile directory per test session whose
  ``registrymodifications.xcu`` makes LibreOffice recalculate every formula on load (it
  otherwise trusts the cached values, and XlsxWriter caches 0), or never recalculate.
- :meth:`LibreOffice.convert` converts a batch of files in ONE soffice call (each start costs
  about a second), e.g. to a recalculated .xlsx that openpyxl reads back with values.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from tests.conftest import ON_CI

_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
  xmlns:xs="http://www.w3.org/2001/XMLSchema"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>{mode}</value></prop></item>
</oor:items>
"""

#: Values of OOXMLRecalcMode: 0 = always recalculate, 1 = never, 2 = ask (prompt).
ALWAYS, NEVER = 0, 1

#: Cell text LibreOffice shows for a formula error.
ERROR_VALUES = (
    "#NAME?",
    "#VALUE!",
    "#REF!",
    "#DIV/0!",
    "#N/A",
    "#NUM!",
    "#NULL!",
    "Err:",
    "#ERR",
)


def soffice_path() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def require_soffice() -> str:
    """The soffice executable; skip without it, except under CI where it must exist."""
    exe = soffice_path()
    if exe is None:
        message = "LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui"
        if ON_CI:
            pytest.fail(message + " (CI must install it)")
        pytest.skip(message)
    return exe


class LibreOffice:
    """A headless LibreOffice with its own profile in ``root``."""

    def __init__(self, exe: str, root: Path, *, recalc: int = ALWAYS) -> None:
        self.exe = exe
        self.root = Path(root)
        self.profile = self.root / "profile"
        (self.profile / "user").mkdir(parents=True, exist_ok=True)
        (self.profile / "user" / "registrymodifications.xcu").write_text(
            _XCU.format(mode=recalc), encoding="utf-8"
        )

    def convert(
        self,
        files: Sequence[Path] | Path,
        to: str = "xlsx",
        outdir: Path | None = None,
        *,
        timeout: float = 180,
    ) -> list[Path]:
        """Convert files with one soffice call; returns the converted paths (same stems)."""
        paths = [Path(files)] if isinstance(files, str | os.PathLike) else [Path(f) for f in files]
        out = Path(outdir) if outdir is not None else self.root / f"out-{to.split(':')[0]}"
        out.mkdir(parents=True, exist_ok=True)
        ext = to.split(":")[0]
        names = [p.stem for p in paths]
        if len(set(names)) != len(names):
            raise ValueError(f"convert needs distinct file names, got {names}")
        cmd = [
            self.exe,
            "--headless",
            "--norestore",
            "--nologo",
            f"-env:UserInstallation={self.profile.as_uri()}",
            "--convert-to",
            to,
            "--outdir",
            str(out),
            *map(str, paths),
        ]
        env = {**os.environ, "HOME": str(self.root)}
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        results = [out / f"{p.stem}.{ext}" for p in paths]
        missing = [r for r in results if not r.exists()]
        if missing:
            raise AssertionError(
                f"LibreOffice did not convert {missing}: rc={proc.returncode}\n"
                f"{proc.stdout}\n{proc.stderr}"
            )
        return results


def error_cells(path: Path, sheets: Iterable[str] | None = None) -> list[tuple[str, str, object]]:
    """(sheet, cell, value) of every cell whose value is a formula error, via openpyxl."""
    import openpyxl

    wb = openpyxl.load_workbook(path, data_only=True, read_only=True)
    try:
        found = []
        for ws in wb.worksheets:
            if sheets is not None and ws.title not in sheets:
                continue
            for row in ws.iter_rows():
                for cell in row:
                    if getattr(cell, "data_type", None) == "e":
                        found.append((ws.title, cell.coordinate, cell.value))
        return found
    finally:
        wb.close()
