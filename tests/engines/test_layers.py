"""The engines are core: they never import the report, the Excel face or xlwings."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_engines_do_not_import_report_excel_or_xlwings():
    code = (
        "import sys, importlib\n"
        "for m in ('xlclv.engines', 'xlclv.engines.sql', 'xlclv.engines.scoring',\n"
        "          'xlclv.engines.duckdb_engine', 'xlclv.engines.spark', 'xlclv.spark'):\n"
        "    importlib.import_module(m)\n"
        "bad = [m for m in sys.modules if m == 'xlwings' or m.startswith('xlwings.')\n"
        "       or m in ('xlclv.report', 'xlclv.writer', 'xlclv.inputs', 'xlclv.udfs')\n"
        "       or m.startswith('xlclv._excel') or m.startswith('xlclv.excel')]\n"
        "print(' '.join(sorted(bad)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "", f"engines import {out.stdout.strip()}"


def test_importing_the_package_needs_neither_duckdb_nor_pyspark():
    code = (
        "import sys, xlclv.engines, xlclv.engines.sql\n"
        "print(' '.join(m for m in ('duckdb', 'pyspark') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == ""
