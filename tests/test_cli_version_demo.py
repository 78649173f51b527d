"""xlclv --version; each demo dataset has its own default output file."""

from __future__ import annotations

import subprocess
import sys

import pytest

import xlclv
from xlclv.cli import main
from xlclv.report import cli as report_cli


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"xlclv {xlclv.__version__}"
    done = subprocess.run(
        [sys.executable, "-m", "xlclv", "--version"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == f"xlclv {xlclv.__version__}"


def test_demo_datasets_have_their_own_default_output(monkeypatch, tmp_path):
    outputs = []
    monkeypatch.setattr(
        report_cli, "_run", lambda args, console, load, overrides, path: outputs.append(args.output)
    )
    monkeypatch.chdir(tmp_path)
    main(["demo"])
    main(["demo", "--dataset", "cdnow"])
    main(["demo", "--dataset", "cdnow", "-o", "mine.xlsx"])
    assert outputs == ["xlclv-demo-report.xlsx", "xlclv-cdnow-report.xlsx", "mine.xlsx"]
