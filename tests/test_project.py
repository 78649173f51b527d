"""Project-level promises: README's commands are what CI runs; the core stays pure."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line for b in blocks for line in b.splitlines() if line and not line.startswith("#")]


def test_ci_runs_the_readme_test_command():
    commands = _readme_commands()
    test_command = commands[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines(), f"{test_command!r} is not a line of .ci/run"


def test_ci_installs_libreoffice():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "libreoffice-calc-nogui" in ci and "poppler-utils" in ci


def test_core_and_report_do_not_import_xlwings_at_run_time():
    """Importing every core and report module pulls in no xlwings; the core no workbook writer."""
    code = (
        "import sys, importlib\n"
        "from tests.test_layers import SOURCES, layer_of, module_name\n"
        "mods = [module_name(p) for p in SOURCES]  # from the files: no import to list them\n"
        "core = [m for m in mods if layer_of(m) == 'core']\n"
        "report = [m for m in mods if layer_of(m) == 'report']\n"
        "def loaded(): return sorted(m for m in sys.modules if m.split('.')[0] in "
        "('xlwings', 'xlsxwriter', 'openpyxl'))\n"
        "for m in core: importlib.import_module(m)\n"
        "print('core:' + ','.join(loaded()))\n"
        "for m in report: importlib.import_module(m)\n"
        "print('report:' + ','.join(m for m in loaded() if m.startswith('xlwings')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.split() == ["core:", "report:"], out.stdout


def test_readme_function_reference_is_current():
    from xlclv.cli import functions_markdown

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- functions:start -->\n(.*?)<!-- functions:end -->", text, flags=re.S)
    assert m, "README lacks the function reference markers"
    assert m.group(1) == functions_markdown(), "run scripts/regen-docs"
