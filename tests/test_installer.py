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


def fake_templates(paths):
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


def read_with_xlwings(path: Path, monkeypatch) -> dict[str, str]:
    """The config as xlwings' own reader sees it."""
    import xlwings
    import xlwings.utils

    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(path))
    return xlwings.utils.read_user_config()


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

    assert installer.install(paths, dry_run=True, runner=no_runner) == 0
    out = lines(capsys)
    assert list(tmp_path.iterdir()) == []
    actions = [ln for ln in out if ln.startswith("would ")]
    n_templates = len(installer._templates(paths))
    assert any(str(paths.xlwings_conf) in a and "UDF MODULES = xlclv.udfs" in a for a in actions)
    assert sum(str(paths.templates_dir) in a for a in actions) == n_templates
    assert "Dry run: nothing was changed." in out
    assert out[-1] == installer.MANUAL_STEP[platform]
    if platform == "linux":
        assert out[0].startswith("No Excel on this system")
        assert len(actions) == 1 + n_templates + 1
        assert not any("addin" in a or "xlam" in a for a in actions)
    else:
        assert len(actions) == 3 + n_templates + 1
        assert "install the xlwings add-in (xlwings addin install)" in [
            a.removeprefix("would ") for a in actions
        ]
        assert any("xlclv.xlam" in a and str(paths.startup_dir) in a for a in actions)
        key = paths.interpreter_key
        assert any(f"{key} = {PY}" in a for a in actions)
    if platform == "win32":
        assert "Trust access to the VBA project object model" in out[-1]


def test_cli_install_dry_run_with_temporary_home(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    assert cli.main(["install", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would write xlwings config" in out and "Dry run: nothing was changed." in out
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------- install (Windows)


def test_install_on_windows(win, capsys, monkeypatch):
    runner = FakeRunner(win.startup_dir)
    win.xlwings_conf.parent.mkdir(parents=True)
    win.xlwings_conf.write_text('"LICENSE_KEY","abc"\n"UDF MODULES","mine"\n')

    assert installer.install(win, runner=runner, python=PY) == 0
    out = lines(capsys)

    assert [c[-2:] for c in runner.calls] == [["addin", "install"], ["-c", runner.calls[1][-1]]]
    assert "get_addin_dir" in runner.calls[1][-1]  # the startup folder is asked from Excel
    conf = read_with_xlwings(win.xlwings_conf, monkeypatch)
    assert conf == {"license_key": "abc", "udf modules": "xlclv.udfs", "interpreter_win": PY}
    built = win.startup_dir / "xlclv.xlam"
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(built)).get_sheet_by_index(0).to_python()
    settings = {k: v for k, v in rows}
    assert settings["Interpreter_Win"] == PY and settings["UDF Modules"] == "xlclv.udfs"
    assert (win.templates_dir / "clv_report.xlsx").read_bytes() == b"template"
    assert all(ln.startswith("done: ") for ln in out[:-1])
    assert "Trust access to the VBA project object model" in out[-1]

    # --status: everything in place
    assert installer.status(win) == 0
    status = "\n".join(lines(capsys))
    assert "xlclv.xlam: installed" in status and "xlwings.xlam: installed" in status
    assert "matches the installed xlwings" in status


def test_install_is_idempotent_and_keeps_changed_templates(win, capsys, monkeypatch):
    runner = FakeRunner(win.startup_dir)
    installer.install(win, runner=runner, python=PY)
    conf = win.xlwings_conf.read_text()
    (win.templates_dir / "clv_report.xlsx").write_bytes(b"the user's own work")
    installer.install(win, runner=runner, python=PY)
    assert win.xlwings_conf.read_text() == conf
    assert (win.templates_dir / "clv_report.xlsx").read_bytes() == b"the user's own work"
    assert "already there, kept" in capsys.readouterr().out


def test_status_reports_what_is_missing(win, capsys):
    assert installer.status(win) == 1
    out = capsys.readouterr().out
    assert "UDF MODULES = (not set)" in out and "xlclv.xlam: NOT installed" in out
    assert "run `xlclv install`" in out


def test_status_notices_an_addin_from_another_xlwings(win, capsys, monkeypatch):
    installer.install(win, runner=FakeRunner(win.startup_dir), python=PY)
    capsys.readouterr()
    # the add-in that would be built now differs (another xlwings, or other xlclv functions)
    built_now = addin.vba_project()
    monkeypatch.setattr(addin, "vba_project", lambda: built_now + b"\x00" * 512)
    assert installer.status(win) == 1
    assert "from another xlwings version" in capsys.readouterr().out


def test_failed_xlwings_addin_install_is_an_error(win):
    runner = FakeRunner(win.startup_dir, output="Error: Failed to install the add-in: quit Excel")
    with pytest.raises(XlclvError, match="xlwings addin install' failed: Error: Failed"):
        installer.install(win, runner=runner, python=PY)


def test_uninstall_restores_the_previous_state(win, capsys, monkeypatch):
    win.xlwings_conf.parent.mkdir(parents=True)
    win.xlwings_conf.write_text('"LICENSE_KEY","abc"\n"UDF MODULES","mine"\n')
    runner = FakeRunner(win.startup_dir)
    installer.install(win, runner=runner, python=PY)
    (win.templates_dir / "clv_report.py").write_text("# edited by the user\n")

    assert installer.uninstall(win, dry_run=True, runner=runner, python=PY) == 0
    assert (win.startup_dir / "xlclv.xlam").is_file()
    assert installer.uninstall(win, runner=runner, python=PY) == 0

    assert not (win.startup_dir / "xlclv.xlam").exists()
    assert not (win.startup_dir / "xlwings.xlam").exists()  # it was not there before
    assert runner.calls[-1][-2:] == ["addin", "remove"]
    assert read_with_xlwings(win.xlwings_conf, monkeypatch) == {
        "license_key": "abc",
        "udf modules": "mine",
    }
    assert files_under(win.templates_dir) == [win.templates_dir / "clv_report.py"]  # changed: kept
    assert not win.state_file.exists()
    assert "changed since it was installed, kept" in capsys.readouterr().out


# --------------------------------------------------------------------- Linux, for real


def test_linux_install_writes_config_and_real_templates(tmp_path, capsys, monkeypatch):
    paths = installer.Paths.from_env({"HOME": str(tmp_path)}, "linux")
    assert installer.install(paths) == 0
    out = capsys.readouterr().out
    assert out.startswith("No Excel on this system")
    assert read_with_xlwings(paths.xlwings_conf, monkeypatch) == {"udf modules": "xlclv.udfs"}
    names = {p.name for p in paths.templates_dir.iterdir()}
    assert {"clv_report.xlsx", "clv_report.xlsm", "clv_report.py"} <= names
    assert installer.status(paths) == 0
    installer.uninstall(paths)
    assert not paths.templates_dir.exists()
    assert read_with_xlwings(paths.xlwings_conf, monkeypatch) == {}
