"""xlclv install / --status / --dry-run / uninstall, against a temporary home folder.

Windows and macOS runs use the real add-in builder and a stand-in for the two commands that
need Excel (``xlwings addin install`` and asking Excel for its startup folder)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from xlclv import cli
from xlclv._errors import XlclvError
from xlclv.excel import addin, installer

PY = sys.executable


class FakeRunner:
    """Stands in for the xlwings commands that need Excel; ``xlwings addin install`` copies the
    xlwings add-in into the startup folder, as the real one does."""

    def __init__(self, startup: Path, output: str = "Successfully installed the xlwings add-in!"):
        self.startup, self.output, self.calls = startup, output, []

    def __call__(self, cmd):
        self.calls.append(list(cmd))
        tail = cmd[-2:]
        if tail == ["addin", "install"]:
            self.startup.mkdir(parents=True, exist_ok=True)
            (self.startup / "xlwings.xlam").write_bytes(b"xlwings add-in")
        elif tail == ["addin", "remove"]:
            (self.startup / "xlwings.xlam").unlink()
        return subprocess.CompletedProcess(cmd, 0, stdout=self.output, stderr="")


def fake_templates(paths, python=None):
    """Two small stand-ins, so these tests do not depend on the report core's speed."""
    return {
        "clv_report.xlsx": lambda p: p.write_bytes(b"template"),
        "clv_report.py": lambda p: p.write_text("from xlclv.excel.button import main\n"),
    }


@pytest.fixture
def win(tmp_path, monkeypatch) -> installer.Paths:
    monkeypatch.setattr(installer, "_templates", fake_templates)
    env = {
        "USERPROFILE": str(tmp_path / "Users" / "ann"),
        "APPDATA": str(tmp_path / "Users" / "ann" / "AppData" / "Roaming"),
    }
    return installer.Paths.from_env(env, platform="win32")


def lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# --------------------------------------------------------------------- paths


def test_paths_per_platform(tmp_path):
    win = installer.Paths.from_env(
        {"USERPROFILE": r"C:\Users\ann", "APPDATA": r"C:\Users\ann\AppData\Roaming"}, "win32"
    )
    assert win.xlwings_conf == Path(r"C:\Users\ann") / ".xlwings" / "xlwings.conf"
    assert win.startup_dir == Path(r"C:\Users\ann\AppData\Roaming") / "Microsoft/Excel/XLSTART"
    assert win.templates_dir == Path(r"C:\Users\ann") / "Documents" / "xlclv"
    assert win.interpreter_key == "INTERPRETER_WIN"
    mac = installer.Paths.from_env({"HOME": "/Users/ann"}, "darwin")
    # where xlwings reads its user config on macOS (xlwings.USER_CONFIG_FILE)
    assert mac.xlwings_conf == Path(
        "/Users/ann/Library/Containers/com.microsoft.Excel/Data/xlwings.conf"
    )
    assert mac.interpreter_key == "INTERPRETER_MAC"
    linux = installer.Paths.from_env({"HOME": str(tmp_path)}, "linux")
    assert linux.startup_dir is None and not linux.has_excel
    assert linux.xlwings_conf == tmp_path / ".xlwings" / "xlwings.conf"
    custom = installer.Paths.from_env(
        {"HOME": str(tmp_path), "XLCLV_EXCEL_STARTUP": "/x", "XLCLV_TEMPLATES_DIR": "/t"},
        "darwin",
    )
    assert custom.startup_dir == Path("/x") and custom.templates_dir == Path("/t")


# --------------------------------------------------------------------- dry run


@pytest.mark.parametrize("platform", ["win32", "darwin", "linux"])
def test_dry_run_prints_every_action_and_changes_nothing(platform, tmp_path, capsys):
    paths = installer.Paths.from_env(
        {"HOME": str(tmp_path), "USERPROFILE": str(tmp_path)}, platform
    )

    def no_runner(cmd):
        raise AssertionError(f"a dry run ran {cmd}")

    assert installer.install(paths, dry_run=True, runner=no_runner, python=PY) == 0
    out = lines(capsys)
    assert list(tmp_path.iterdir()) == []
    actions = [ln for ln in out if ln.startswith("would ")]
    n_templates = len(installer._templates(paths))
    # nothing goes to the user-wide xlwings.conf any more
    assert not any("xlwings.conf" in a and "config" in a for a in actions)
    assert sum(str(paths.templates_dir) in a for a in actions) == n_templates
    assert "Dry run: nothing was changed." in out
    assert out[-1] == installer.MANUAL_STEP[platform]
    if platform == "linux":
        assert out[0].startswith("No Excel on this system")
        assert len(actions) == n_templates + 1
        assert not any("addin" in a or "xlam" in a for a in actions)
    else:
        dll = 1 if platform == "win32" else 0
        assert len(actions) == dll + 2 + n_templates + 1
        assert "install the xlwings add-in (xlwings addin install)" in [
            a.removeprefix("would ") for a in actions
        ]
        assert any(
            "xlclv.xlam" in a and str(paths.startup_dir) in a and f"interpreter {PY}" in a
            for a in actions
        )
    if platform == "win32":
        assert "would check xlwings' Excel DLL next to the interpreter" in actions
        assert "no Import Functions needed" in out[-1]
    if platform == "darwin":  # the permission prompts are announced before anything happens
        assert out[0] == installer.MAC_PROMPTS


def test_cli_install_dry_run_with_temporary_home(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    assert cli.main(["install", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would write template" in out and "Dry run: nothing was changed." in out
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------- install (Windows)


def windows_python(root: Path, dll: bool = True) -> str:
    """A venv layout ``root/Scripts/python.exe``, with xlwings' DLL in ``root`` (where
    xlwings' VBA looks for it in a virtual environment)."""
    import xlwings

    (root / "Scripts").mkdir(parents=True, exist_ok=True)
    exe = root / "Scripts" / "python.exe"
    exe.write_bytes(b"")
    if dll:
        (root / f"xlwings64-{xlwings.__version__}.dll").write_bytes(b"")
    return str(exe)


@pytest.fixture
def wpy(win) -> str:
    return windows_python(win.home / ".xlclv" / "venv")


def test_install_on_windows(win, wpy, capsys):
    runner = FakeRunner(win.startup_dir)
    win.xlwings_conf.parent.mkdir(parents=True)
    win.xlwings_conf.write_text('"LICENSE_KEY","abc"\n"UDF MODULES","mine"\n')
    user_conf = win.xlwings_conf.read_bytes()

    assert installer.install(win, runner=runner, python=wpy) == 0
    out = lines(capsys)

    assert [c[-2:] for c in runner.calls] == [["addin", "install"], ["-c", runner.calls[1][-1]]]
    assert "get_addin_dir" in runner.calls[1][-1]  # the startup folder is asked from Excel
    assert win.xlwings_conf.read_bytes() == user_conf  # the user-wide config is not touched
    built = win.startup_dir / "xlclv.xlam"
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(built)).get_sheet_by_index(0).to_python()
    settings = {k: v for k, v in rows}
    assert settings["Interpreter_Win"] == wpy and settings["UDF Modules"] == "xlclv.udfs"
    assert (win.templates_dir / "clv_report.xlsx").read_bytes() == b"template"
    assert all(ln.startswith("done: ") for ln in out[:-1])
    assert "done: check xlwings' Excel DLL next to the interpreter -- found" in out

    # --status: everything in place
    assert installer.status(win) == 0
    status = "\n".join(lines(capsys))
    assert "xlclv.xlam: installed" in status and "xlwings.xlam: installed" in status
    assert "matches the installed xlwings" in status and "xlwings' Excel DLL: found" in status


def test_missing_dll_stops_the_install_with_what_to_do(win, tmp_path):
    no_dll = windows_python(tmp_path / "venv", dll=False)
    with pytest.raises(XlclvError, match=r"xlwings' Excel DLL \(xlwings64-.*\.dll\) is not in"):
        installer.install(win, runner=FakeRunner(win.startup_dir), python=no_dll)
    assert installer.xlwings_dll_problem(no_dll, "x86_64").endswith(
        f'"{no_dll}" -m pip install --force-reinstall --no-deps xlwings=='
        + __import__("xlwings").__version__
    )
    arm = installer.xlwings_dll_problem(no_dll, "ARM64")
    assert "Windows on ARM" in arm and "x64 Python" in arm


def test_install_is_idempotent_and_keeps_changed_templates(win, wpy, capsys):
    runner = FakeRunner(win.startup_dir)
    installer.install(win, runner=runner, python=wpy)
    (win.templates_dir / "clv_report.xlsx").write_bytes(b"the user's own work")
    installer.install(win, runner=runner, python=wpy)
    assert (win.templates_dir / "clv_report.xlsx").read_bytes() == b"the user's own work"
    assert "already there, kept" in capsys.readouterr().out
    assert not win.xlwings_conf.exists()


def test_status_reports_what_is_missing(win, capsys):
    assert installer.status(win) == 1
    out = capsys.readouterr().out
    assert "interpreter of the add-in: (not recorded)" in out
    assert "xlclv.xlam: NOT installed" in out and "run `xlclv install`" in out


def test_status_notices_an_addin_from_another_xlwings(win, wpy, capsys, monkeypatch):
    installer.install(win, runner=FakeRunner(win.startup_dir), python=wpy)
    capsys.readouterr()
    # the add-in that would be built now differs (another xlwings, or other xlclv functions)
    built_now = addin.vba_project()
    monkeypatch.setattr(addin, "vba_project", lambda: built_now + b"\x00" * 512)
    assert installer.status(win) == 1
    assert "from another xlwings version" in capsys.readouterr().out


def test_failed_xlwings_addin_install_is_an_error(win, wpy):
    runner = FakeRunner(win.startup_dir, output="Error: Failed to install the add-in: quit Excel")
    with pytest.raises(XlclvError, match="xlwings addin install' failed: Error: Failed"):
        installer.install(win, runner=runner, python=wpy)


def test_uninstall_removes_what_it_installed(win, wpy, capsys):
    runner = FakeRunner(win.startup_dir)
    installer.install(win, runner=runner, python=wpy)
    (win.templates_dir / "clv_report.py").write_text("# edited by the user\n")

    assert installer.uninstall(win, dry_run=True, runner=runner, python=wpy) == 0
    assert (win.startup_dir / "xlclv.xlam").is_file()
    assert installer.uninstall(win, runner=runner, python=wpy) == 0

    assert not (win.startup_dir / "xlclv.xlam").exists()
    assert not (win.startup_dir / "xlwings.xlam").exists()  # it was not there before
    assert runner.calls[-1][-2:] == ["addin", "remove"]
    assert files_under(win.templates_dir) == [win.templates_dir / "clv_report.py"]  # changed: kept
    assert not win.state_file.exists()
    assert not win.xlwings_conf.exists()
    assert "changed since it was installed, kept" in capsys.readouterr().out


def test_uninstall_of_an_earlier_install_restores_the_user_config_in_ansi(win, monkeypatch):
    """Earlier versions wrote the user-wide xlwings.conf; uninstall puts the user's values back,
    in the ANSI code page xlwings' VBA reads (cp1252 here), so Jürgen stays Jürgen."""
    path = r"C:\Users\Jürgen\.xlclv\venv\Scripts\python.exe"
    win.xlwings_conf.parent.mkdir(parents=True)
    win.xlwings_conf.write_bytes(
        f'"UDF MODULES","xlclv.udfs"\n"INTERPRETER_WIN","{path}"\n'.encode("cp1252")
    )
    win.state_file.parent.mkdir(parents=True)
    mine = r"C:\Users\Jürgen\my\python.exe"
    win.state_file.write_text(
        __import__("json").dumps({"config": {"UDF MODULES": None, "INTERPRETER_WIN": mine}})
    )
    installer.uninstall(win, runner=FakeRunner(win.startup_dir), python=PY)
    raw = win.xlwings_conf.read_bytes()
    assert raw == f'"INTERPRETER_WIN","{mine}"\n'.encode("cp1252")
    assert "Jürgen".encode("cp1252") in raw and "Jürgen".encode() not in raw
    assert (
        installer.conf_encoding("win32") == "cp1252"
        and installer.conf_encoding("darwin") == "utf-8"
    )
    with pytest.raises(XlclvError, match="cannot hold '€'|cannot hold 'Ω'"):
        installer._write_conf(win.xlwings_conf, {"INTERPRETER_WIN": "C:\\Ω\\python.exe"}, "cp1252")


def test_non_ascii_home_reaches_the_config_sheets_unchanged(tmp_path, monkeypatch):
    """A home folder named Jürgen: the interpreter path in xlclv.xlam's config sheet and in
    clv_report.xlsm's xlwings.conf sheet reads back exactly (XML parts are UTF-8, which is
    what Excel reads them in), and no user-wide file is written."""
    home = tmp_path / "Users" / "Jürgen"
    paths = installer.Paths.from_env(
        {"USERPROFILE": str(home), "APPDATA": str(home / "AppData" / "Roaming")}, "win32"
    )
    python = windows_python(home / ".xlclv" / "venv")
    installer.install(paths, runner=FakeRunner(paths.startup_dir), python=python)
    from python_calamine import CalamineWorkbook

    xlam = CalamineWorkbook.from_path(str(paths.startup_dir / "xlclv.xlam"))
    assert dict(xlam.get_sheet_by_index(0).to_python())["Interpreter_Win"] == python
    xlsm = CalamineWorkbook.from_path(str(paths.templates_dir / "clv_report.xlsm"))
    conf = dict(xlsm.get_sheet_by_name("xlwings.conf").to_python())
    assert conf["Interpreter_Win"] == python and "Jürgen" in python
    assert conf["UDF Modules"] == "xlclv.udfs"
    assert not paths.xlwings_conf.exists()


def test_documents_folder_from_windows_and_onedrive_message(tmp_path, capsys):
    onedrive = tmp_path / "OneDrive - Contoso" / "Documents"
    paths = installer.Paths.from_env(
        {"USERPROFILE": str(tmp_path), "XLCLV_DOCUMENTS": str(onedrive)}, "win32"
    )
    assert paths.templates_dir == onedrive / "xlclv" and paths.on_onedrive
    installer.install(paths, dry_run=True, runner=FakeRunner(tmp_path), python=PY)
    assert "Your Documents folder is in OneDrive" in capsys.readouterr().out


# --------------------------------------------------------------------- Linux, for real


def test_linux_install_writes_real_templates_and_no_config(tmp_path, capsys):
    paths = installer.Paths.from_env({"HOME": str(tmp_path)}, "linux")
    assert installer.install(paths) == 0
    out = capsys.readouterr().out
    assert out.startswith("No Excel on this system")
    assert not paths.xlwings_conf.exists()
    names = {p.name for p in paths.templates_dir.iterdir()}
    assert {"clv_report.xlsx", "clv_report.xlsm", "clv_report.py"} <= names
    assert installer.status(paths) == 0
    installer.uninstall(paths)
    assert not paths.templates_dir.exists()
