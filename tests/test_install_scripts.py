"""install/install.sh runs here (Linux, temporary HOME, --dry-run, no network);
install/install.ps1 is only read: there is no PowerShell on this system (Debian has no
package for it), so its checks are static and the script itself is NOT executed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SH = ROOT / "install" / "install.sh"
PS1 = ROOT / "install" / "install.ps1"


def run_sh(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("XLCLV_")}
    base.update({"HOME": str(home), "XLCLV_PYTHON": sys.executable, **env})
    return subprocess.run(
        ["bash", str(SH), *args], env=base, capture_output=True, text=True, timeout=120
    )


def linked_venv(path: Path) -> Path:
    """A new venv (no pip of its own) that sees this environment's packages and this clone."""
    subprocess.run(
        [sys._base_executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=60
    )
    python = path / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(purelib, "xlclv-test.pth").write_text(f"{sysconfig.get_path('purelib')}\n{ROOT}\n")
    return path


def test_install_sh_dry_run_with_a_temporary_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    venv = linked_venv(tmp_path / "venv")
    done = run_sh(home, "--dry-run", XLCLV_VENV=str(venv), XLCLV_SKIP_PIP="1")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for step in ("1/4", "2/4", "3/4", "4/4"):
        assert f"==> {step}" in out
    assert "already there, reused" in out and "skipped (XLCLV_SKIP_PIP=1)" in out
    assert "No Excel on this system" in out
    assert f"would write xlwings config {home}/.xlwings/xlwings.conf" in out
    assert f"would write template {home}/Documents/xlclv/clv_report.xlsm" in out
    assert "Dry run: nothing was changed." in out
    assert list(home.iterdir()) == []  # nothing written to the (temporary) home


def stub_venv(path: Path) -> Path:
    """A venv whose python logs its arguments: shows the pip and xlclv command lines."""
    bin_ = path / "bin"
    bin_.mkdir(parents=True)
    log = path / "calls.log"
    (bin_ / "python").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\n')
    (bin_ / "python").chmod(0o755)
    return log


def test_install_sh_pip_and_install_command_lines(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    log = stub_venv(tmp_path / "venv")
    done = run_sh(
        home,
        "--status",
        XLCLV_VENV=str(tmp_path / "venv"),
        XLCLV_SOURCE=str(ROOT),
        XLCLV_PIP_OPTIONS="--no-deps --no-index",
    )
    assert done.returncode == 0, done.stderr
    assert log.read_text().splitlines() == [
        f"-m pip install --disable-pip-version-check --upgrade --no-deps --no-index {ROOT}",
        "-m xlclv install --status",
    ]


def test_install_sh_creates_the_venv_when_missing(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    fake = tmp_path / "python3"
    calls = tmp_path / "calls.log"
    fake.write_text(
        f'#!/bin/sh\necho "$*" >> "{calls}"\n'
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then mkdir -p "$3/bin"; '
        f'printf \'#!/bin/sh\\necho "venv $*" >> "{calls}"\\n\' > "$3/bin/python"; '
        'chmod +x "$3/bin/python"; fi\n'
    )
    fake.chmod(0o755)
    done = run_sh(home, "--dry-run", XLCLV_PYTHON=str(fake))
    assert done.returncode == 0, done.stderr
    venv = home / ".xlclv" / "venv"
    assert "created" in done.stdout
    assert calls.read_text().splitlines()[-3:] == [
        f"-m venv {venv}",
        "venv -m pip install --disable-pip-version-check --upgrade xlclv",
        "venv -m xlclv install --dry-run",
    ]


def test_install_sh_explains_a_missing_or_old_python(tmp_path):
    done = run_sh(tmp_path, XLCLV_PYTHON="no-such-python-xyz")
    assert done.returncode == 1
    assert "Python 3 was not found" in done.stderr and "python.org" in done.stderr
    old = tmp_path / "python3"
    old.write_text('#!/bin/sh\n[ "$1" = "--version" ] && echo "Python 3.8.10"\nexit 1\n')
    old.chmod(0o755)
    done = run_sh(tmp_path, XLCLV_PYTHON=str(old))
    assert done.returncode == 1 and "Python 3.8.10 is too old" in done.stderr


def test_install_sh_passes_shellcheck():
    exe = shutil.which("shellcheck")
    if exe is None:
        message = "shellcheck is not installed (apt-get install shellcheck)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must install it")
        pytest.skip(message)
    done = subprocess.run([exe, str(SH)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


# --------------------------------------------------------------------- install.ps1, static


def _strip_ps_strings_and_comments(text: str) -> str:
    text = re.sub(r"#.*", "", text)
    text = re.sub(r'"(?:`.|[^"`])*"', '""', text)
    return re.sub(r"'[^']*'", "''", text)


def test_install_ps1_is_balanced():
    code = _strip_ps_strings_and_comments(PS1.read_text())
    for line in PS1.read_text().splitlines():
        if not line.lstrip().startswith("#"):
            assert line.count('"') % 2 == 0, line
    stack = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for ch in code:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            assert stack and stack.pop() == pairs[ch], "unbalanced brackets in install.ps1"
    assert stack == []


def test_install_ps1_does_the_same_steps_as_install_sh():
    ps = PS1.read_text()
    for needle in (
        '$ErrorActionPreference = "Stop"',
        "sys.version_info >= (3, 11)",
        "-m venv $Venv",
        'Join-Path $Venv "Scripts\\python.exe"',
        "-m pip install --disable-pip-version-check --upgrade @PipOptions $Source",
        "-m xlclv install @args",
        "$env:XLCLV_SKIP_PIP",
        "$env:XLCLV_SOURCE",
        "$env:XLCLV_VENV",
        "$env:XLCLV_PYTHON",
        "$env:XLCLV_PIP_OPTIONS",
        "exit $LASTEXITCODE",
    ):
        assert needle in ps, needle
    # every native call is followed by an exit-code check before the next step
    assert ps.count("$LASTEXITCODE") >= 4
    sh = SH.read_text()
    for name in (
        "XLCLV_SKIP_PIP",
        "XLCLV_SOURCE",
        "XLCLV_VENV",
        "XLCLV_PYTHON",
        "XLCLV_PIP_OPTIONS",
    ):
        assert name in sh
