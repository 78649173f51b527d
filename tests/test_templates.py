"""The template workbooks are built by code: rebuilt here, they must equal the checked-in files."""

from __future__ import annotations

import math
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.formula import ArrayFormula
from scipy import optimize

from tests.conftest import ROOT
from tests.xlsx_drift import drift
from xlclv import WorkbookError
from xlclv.excel.templates import SETTINGS_ROWS, TEMPLATES, build_all, build_clv_report

WORKBOOKS = ROOT / "workbooks"


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("templates")
    build_all(folder)
    return folder


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_checked_in_templates_match_the_code(rebuilt, name):
    changed = drift(rebuilt / name, WORKBOOKS / name)
    assert changed == {}, f"{name} drifted; regenerate with python -m xlclv.excel.templates"


def test_builds_are_reproducible(rebuilt, tmp_path):
    from xlclv.excel.templates import build_nps_survey

    again = build_nps_survey(tmp_path / "nps_survey.xlsx")
    assert again.read_bytes() == (rebuilt / "nps_survey.xlsx").read_bytes()


def test_clv_report_sheets_settings_and_names():
    wb = openpyxl.load_workbook(WORKBOOKS / "clv_report.xlsx")
    assert wb.sheetnames[:5] == ["README", "Settings", "Transactions", "NPS", "Marketing"]
    assert wb.sheetnames[5:] == [
        "Dashboard",
        "Customers",
        "Segments",
        "Cohorts",
        "Model",
        "Data issues",
    ]
    ws = wb["Settings"]
    assert [c.value for c in ws[1]] == ["Setting", "Value", "Note"]
    validated = {str(dv.sqref) for dv in ws.data_validations.dataValidation}
    for row, (key, _default, note) in enumerate(SETTINGS_ROWS, start=2):
        assert ws.cell(row, 1).value == key
        assert ws.cell(row, 3).value == note
        assert wb.defined_names[key].attr_text == f"Settings!$B${row}"
        assert f"B{row}" in validated
        assert ws.cell(row, 2).comment is not None
    tx = wb["Transactions"]
    assert tx.tables["tblTransactions"].ref.startswith("A1:")
    assert [c.value for c in tx[1]][:3] == ["customer_id", "date", "amount"]
    assert tx["B2"].is_date


def test_settings_sheet_reads_back_through_inputs():
    from xlclv.report.inputs import read_workbook

    inputs = read_workbook(WORKBOOKS / "clv_report.xlsx")
    assert inputs.settings["time_unit"] == "W"
    assert inputs.settings["gross_margin"] == pytest.approx(0.3)
    assert len(inputs.transactions) > 1000


@pytest.fixture(scope="module")
def vba_bin(tmp_path_factory) -> Path:
    import xlwings

    quickstart = Path(xlwings.__file__).parent / "quickstart.xlsm"
    with zipfile.ZipFile(quickstart) as z:
        data = z.read("xl/vbaProject.bin")
    path = tmp_path_factory.mktemp("vba") / "vbaProject.bin"
    path.write_bytes(data)
    return path


def test_vba_button_and_conf_sheet_hook(vba_bin, tmp_path):
    path = build_clv_report(
        tmp_path / "clv_report.xlsm",
        vba_project=vba_bin,
        button_macro="SampleCall",
        conf_sheet={"UDF Modules": "xlclv.udfs"},
    )
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert z.read("xl/vbaProject.bin") == vba_bin.read_bytes()
        vml = [z.read(n).decode() for n in names if n.endswith(".vml") and "Drawing" in n]
        workbook_xml = z.read("xl/workbook.xml").decode()
    buttons = [v for v in vml if "<x:FmlaMacro>" in v]
    assert len(buttons) == 2  # README and Transactions
    assert all("<x:FmlaMacro>[0]!SampleCall</x:FmlaMacro>" in v for v in buttons)
    assert all("Build CLV report" in v for v in buttons)
    assert 'codeName="ThisWorkbook"' in workbook_xml
    wb = openpyxl.load_workbook(path, keep_vba=True)
    assert wb.sheetnames[-1] == "xlwings.conf"
    conf = wb["xlwings.conf"]
    assert (conf["A1"].value, conf["B1"].value) == ("UDF Modules", "xlclv.udfs")
    olevba = Path(sys.executable).with_name("olevba")
    out = subprocess.run([str(olevba), str(path)], capture_output=True, text=True).stdout
    assert "Sub SampleCall()" in out


def test_hook_rejects_inconsistent_options(vba_bin, tmp_path):
    with pytest.raises(WorkbookError, match=r"must be an \.xlsm file"):
        build_clv_report(tmp_path / "x.xlsx", vba_project=vba_bin)
    with pytest.raises(WorkbookError, match="needs a macro"):
        build_clv_report(tmp_path / "x.xlsx", button_macro="SampleCall")


def test_saas_formulas_reference_the_inputs():
    wb = openpyxl.load_workbook(WORKBOOKS / "saas_metrics.xlsx")
    ws = wb["Monthly"]
    assert ws["H6"].value == "=C6/B6"
    assert ws["L6"].value == "=K6*gross_margin*J6"
    ret = wb["Retention"]
    assert re.fullmatch(r"=D5\*\(sbg_beta\+A6-1\)/\(sbg_alpha\+sbg_beta\+A6-1\)", ret["D6"].value)


def sbg_cohort_log_likelihood(alpha, beta, active):
    """sBG log-likelihood of a cohort's active counts (Fader & Hardie 2007, eq. 7):
    P(T = 1) = alpha / (alpha + beta), P(T = t) = P(T = t - 1) (beta + t - 2) / (alpha + beta
    + t - 1), and the still active after the last period at S(n) = 1 - sum of P(T = t)."""
    p, gone, ll = alpha / (alpha + beta), 0.0, 0.0
    for t in range(1, len(active)):
        if t > 1:
            p *= (beta + t - 2) / (alpha + beta + t - 1)
        gone += p
        ll += (active[t - 1] - active[t]) * math.log(p)
    return ll + active[-1] * math.log(1.0 - gone)


def test_saas_sbg_cells_link_to_the_sbg_fit_result():
    """alpha and beta (Retention!I5:I6, names sbg_alpha / sbg_beta) are the =SBG_FIT spill's
    values, so the user's own cohort in column B changes the projection."""
    wb = openpyxl.load_workbook(WORKBOOKS / "saas_metrics.xlsx")
    ret = wb["Retention"]
    assert wb.defined_names["sbg_alpha"].attr_text == "Retention!$I$5"
    assert wb.defined_names["sbg_beta"].attr_text == "Retention!$I$6"
    fits = [
        (cell.coordinate, cell.value)
        for row in ret.iter_rows()
        for cell in row
        if isinstance(cell.value, ArrayFormula) and "SBG_FIT" in cell.value.text
    ]
    assert len(fits) == 1
    coord, formula = fits[0]
    assert formula.text == "=SBG_FIT(B5:B17)"  # the cohort's 13 observed months
    top, left = ret[coord].row, ret[coord].column
    assert formula.ref == f"{coord}:{get_column_letter(left + 1)}{top + 3}"
    value_col = get_column_letter(left + 1)
    assert ret.cell(top + 1, left).value == "alpha" and ret.cell(top + 2, left).value == "beta"
    assert ret["I5"].value == f"={value_col}{top + 1}"
    assert ret["I6"].value == f"={value_col}{top + 2}"
    # cached values: alpha and beta maximise the sBG likelihood of the cohort in the file,
    # written here from the recursions and maximised with scipy (not xlclv's fit)
    cached = openpyxl.load_workbook(WORKBOOKS / "saas_metrics.xlsx", data_only=True)["Retention"]
    active = np.array([cached.cell(r, 2).value for r in range(5, 18)], dtype=float)
    alpha, beta = cached["I5"].value, cached["I6"].value
    best = optimize.minimize(
        lambda v: -sbg_cohort_log_likelihood(*np.exp(v), active),
        np.log([1.0, 1.0]),
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000},
    )
    assert best.success, best.message
    assert alpha == pytest.approx(np.exp(best.x[0]), rel=1e-6)
    assert beta == pytest.approx(np.exp(best.x[1]), rel=1e-6)
    for i in range(2):  # and the likelihood is flat there: d LL / d log(param) ~ 0
        step = np.zeros(2)
        step[i] = 1e-5
        here = np.log([alpha, beta])
        slope = (
            sbg_cohort_log_likelihood(*np.exp(here + step), active)
            - sbg_cohort_log_likelihood(*np.exp(here - step), active)
        ) / 2e-5
        assert abs(slope) < 1e-3, (i, slope)  # 0.1 % off in alpha, the slope is 0.68
    assert cached.cell(top + 1, left + 1).value == pytest.approx(cached["I5"].value, rel=1e-12)
    # without the add-in the sBG cells are errors, and a native formula says why
    assert "ISERROR(sbg_alpha)" in ret["A3"].value and "add-in" in ret["A3"].value
    assert cached["A3"].value in (None, "")


def test_nps_formulas_read_the_responses_table_by_column_name():
    """COUNTIFS over structured references (tblResponses[score]) grow with the table; fixed
    ranges (Responses!$C$2:$C$721) ignored answers pasted below them."""
    wb = openpyxl.load_workbook(WORKBOOKS / "nps_survey.xlsx")
    ws = wb["NPS"]
    table = wb["Responses"].tables["tblResponses"]
    assert table.ref == f"A1:D{wb['Responses'].max_row}" == "A1:D721"
    names = [c.name for c in table.tableColumns]
    assert names == ["customer_id", "date", "score", "segment"]
    formulas = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    countifs = [f for f in formulas if "COUNTIFS(" in f]
    assert len(countifs) == 3 * (1 + 3 + 12)
    for f in countifs:
        assert f.startswith("=COUNTIFS(tblResponses[score],"), f
        assert "Responses!" not in f and "$721" not in f, f
    by_seg = [f for f in countifs if "tblResponses[segment]" in f]
    by_month = [f for f in countifs if "tblResponses[date]" in f]
    assert (len(by_seg), len(by_month)) == (9, 36)
    assert any("NORMSINV" in f for f in formulas)
    assert any(f == "=NPS(tblResponses[score])" for f in formulas)


def test_nps_chart_series_exclude_the_header_row():
    """The chart's categories and values are the 12 month rows, not the "Month" header."""
    with zipfile.ZipFile(WORKBOOKS / "nps_survey.xlsx") as z:
        chart = z.read("xl/charts/chart1.xml").decode("utf-8")
    ws = openpyxl.load_workbook(WORKBOOKS / "nps_survey.xlsx")["NPS"]
    months = [r for r in range(1, ws.max_row + 1) if hasattr(ws.cell(r, 1).value, "year")]
    assert len(months) == 12 and months == list(range(months[0], months[0] + 12))
    assert ws.cell(months[0] - 1, 1).value == "Month"
    refs = re.findall(r"<c:f>([^<]+)</c:f>", chart)
    assert refs, chart[:200]
    first, last = months[0], months[-1]
    for ref in refs:
        assert re.fullmatch(rf"NPS!\$[A-Z]\${first}:\$[A-Z]\${last}", ref), ref


@pytest.mark.parametrize("name", ["clv_report.xlsx", "clv_report.xlsm"])
def test_template_output_sheets_carry_the_button_marker_and_inputs_do_not(name):
    """The Excel button replaces only sheets marked as its own: the template's placeholder
    report sheets are, the user's input sheets are not."""
    from xlclv.excel.button import OUTPUT_MARKER
    from xlclv.report.writer import OUTPUT_SHEETS

    wb = openpyxl.load_workbook(WORKBOOKS / name)
    marked = {ws.title for ws in wb.worksheets if OUTPUT_MARKER in ws.defined_names}
    assert marked == set(OUTPUT_SHEETS)
    for title in marked:
        assert wb[title].defined_names[OUTPUT_MARKER].attr_text == "TRUE"


def test_settings_notes_stand_clear_of_the_right_aligned_values():
    """ "30.0%Share of revenue ..." ran together in LibreOffice: the notes are indented."""
    ws = openpyxl.load_workbook(WORKBOOKS / "clv_report.xlsx")["Settings"]
    assert ws["A2"].value == "gross_margin" and ws["B2"].number_format == "0.0%"
    for r in range(2, ws.max_row + 1):
        if ws.cell(r, 3).value:
            assert ws.cell(r, 3).alignment.indent >= 1, r
            assert ws.cell(r, 3).alignment.horizontal == "left", r
