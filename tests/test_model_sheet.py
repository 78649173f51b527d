"""The Model sheet's model choice, tracking charts and their data (issue 12, items 2 and 3).

The charts must read only the Model sheet; the chart data tables must hold the report's
numbers; the comparison table and the sentences must be there for a finance reader.
"""

from __future__ import annotations

import re
import zipfile

import openpyxl
import pytest

from xlclv.report.pipeline import Settings, build_report
from xlclv.report.sample import SAMPLE_SETTINGS, sample_inputs
from xlclv.report.writer import write_report


@pytest.fixture(scope="module")
def report():
    return build_report(sample_inputs(), Settings.from_values(SAMPLE_SETTINGS))


@pytest.fixture(scope="module")
def written(report, tmp_path_factory):
    return write_report(report, tmp_path_factory.mktemp("model") / "report.xlsx")


def _table(ws, name):
    ref = ws.tables[name].ref
    rows = [[c.value for c in row] for row in ws[ref]]
    return rows[0], rows[1:]


def test_demo_is_auto_with_a_comparison(report):
    assert report.settings.model == "AUTO"
    table = report.model_comparison
    assert table["Model"].tolist()[:2] == ["BG/NBD", "Pareto/NBD"]
    assert (table["Chosen"] == "yes").sum() == 1
    chosen = table.loc[table["Chosen"] == "yes", "Model"].item()
    assert report.summary["model"] == chosen
    assert report.model_params["Model"].iloc[0] == chosen
    assert report.model_choice.startswith(chosen)


def test_model_sheet_tables_hold_the_report_numbers(report, written):
    ws = openpyxl.load_workbook(written)["Model"]
    for name in ("tblModelComparison", "tblTracking", "tblTrackingSplit", "tblHoldoutByFrequency"):
        assert name in ws.tables
    head, rows = _table(ws, "tblTracking")
    assert head == list(report.tracking.columns)
    assert len(rows) == len(report.tracking)
    assert [r[3] for r in rows] == report.tracking["Actual"].tolist()
    assert [r[4] for r in rows] == pytest.approx(report.tracking["Predicted"].tolist())
    head, rows = _table(ws, "tblHoldoutByFrequency")
    assert [r[0] for r in rows] == report.conditional["Purchases in calibration"].tolist()
    head, rows = _table(ws, "tblTrackingSplit")
    assert [r[0] for r in rows] == pytest.approx([report.tracking_split_week] * 2)
    head, rows = _table(ws, "tblModelComparison")
    assert head == ["Model", "Log-likelihood", "Parameters", "AIC", "Holdout error", "Chosen"]
    texts = [c for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert report.holdout_accuracy in texts
    assert report.model_choice in texts
    assert any(t.startswith("Holdout error: customers are grouped") for t in texts)


def test_model_charts_read_only_the_model_sheet(written):
    with zipfile.ZipFile(written) as z:
        charts = [n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)]
        refs = {n: re.findall(r"<c:f>([^<]*)</c:f>", z.read(n).decode()) for n in charts}
    model = {n: r for n, r in refs.items() if any(x.startswith("Model!") for x in r)}
    assert len(model) == 3  # cumulative, weekly, by calibration frequency
    for n, r in model.items():
        assert all(x.startswith("Model!") for x in r), (n, r)
    titles = []
    with zipfile.ZipFile(written) as z:
        for n in model:
            titles += re.findall(r"<a:t>([^<]*)</a:t>", z.read(n).decode())
    assert "Cumulative repeat purchases: actual and predicted" in titles
    assert "Repeat purchases per week: actual and predicted" in titles
    assert "Holdout purchases by purchases before the holdout" in titles


def test_forced_model_has_no_comparison():
    report = build_report(
        sample_inputs(), Settings.from_values({**SAMPLE_SETTINGS, "model": "bg/nbd"})
    )
    assert report.model_comparison is None
    assert report.model_choice == "BG/NBD, as set (model = BGNBD)."
    assert report.summary["model"] == "BG/NBD"
