"""The button's cold start (issue 11): Excel starts a fresh Python for every click, so the
first status message must not wait for the report's heavy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A fresh process runs the button on a workbook stand-in whose status bar records which
# modules are loaded when the first message arrives, then ends the process.
_PROBE = """
import json, os, sys
import xlclv

class App:
    @property
    def status_bar(self):
        return False

    @status_bar.setter
    def status_bar(self, text):
        heavy = ("xlclv.report", "xlclv.models", "scipy", "xlsxwriter", "duckdb")
        print(json.dumps({"text": text, "loaded": [m for m in heavy if m in sys.modules]}))
        sys.stdout.flush()
        os._exit(0)

class Book:
    app = App()
    name = "Book1.xlsx"

xlclv.main  # the RunPython command: import xlclv; xlclv.main()
from xlclv.excel.button import run
run(Book())
"""


def test_the_first_status_message_comes_before_the_reports_imports():
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, cwd=ROOT, check=True
    )
    first = json.loads(out.stdout.strip().splitlines()[-1])
    assert first["text"] == "xlclv: reading the workbook..."
    assert first["loaded"] == []
