"""The report writer: sheets, tables, formats, formula-injection safety, atomic writes."""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree as ET

import numpy as np
import openpyxl
import pandas as pd
import pytest

from xlclv import WorkbookError
from xlclv.report.writer import OUTPUT_SHEETS, segment_table_name, write_report
from xlclv.report.writer import workbook as writer_mod

#: User text that a careless writer would turn into formulas (or links / numbers).
INJECTION = ['=HYPERLINK("http://evil.example","click")', "+1+2", "-3-1", "@SUM(A1)", "=1+1"]


def small_report(*, currency: str = "USD", issues: bool = True, segments: bool = True):
    """A hand-made report with the contract's shapes; ids and segments include formula text."""
    ids = [*INJECTION, "C006", "007", "C008"]
    n = len(ids)
    region = ["=West", "North", "North", "+South", "@East", "North", "-East", "South"]
    channel = ["Search", "Social", "Search", "Referral", "Search", "Social", "Search", "Social"]
    first = pd.to_datetime(["2024-01-05", "2024-02-10", "2024-03-01", "2024-03-15"] * 2)
    orders = np.array([3, 1, 5, 2, 1, 4, 2, 6])
    revenue = np.array([120.5, 30.0, 510.25, 80.0, 15.0, 300.0, 64.0, 999.99])
    palive = np.array([0.91, 0.2, 0.75, 0.5, 0.1, 0.66, 0.4, 0.99])
    pclv = revenue * palive * 0.3
    customers = pd.DataFrame(
        {
            "Customer ID": ids,
            "region": region,
            "channel": channel,
            "First purchase": first,
            "Orders": orders,
            "Revenue": revenue,
            "Historical CLV": revenue * 0.3,
            "P(alive)": palive,
            "Expected purchases": palive * 2,
            "Expected spend": revenue / orders,
            "Predicted CLV": pclv,
            "Tier": ["Top 10%", "Rest", "Next 20%", "Rest", "Rest", "Rest", "Rest", "Rest"],
        }
    )
    segs = {}
    if segments:
        for dim in ("region", "channel"):
            g = customers.groupby(dim, sort=True)
            seg = pd.DataFrame(
                {
                    dim: list(g.groups),
                    "Customers": g.size().to_numpy(),
                    "Revenue": g["Revenue"].sum().to_numpy(),
                    "Predicted CLV": g["Predicted CLV"].sum().to_numpy(),
                }
            )
            seg["Avg predicted CLV"] = seg["Predicted CLV"] / seg["Customers"]
            seg["Share of predicted CLV"] = seg["Predicted CLV"] / seg["Predicted CLV"].sum()
            seg["Avg P(alive)"] = g["P(alive)"].mean().to_numpy()
            segs[dim] = seg
    cohorts = pd.DataFrame(
        {
            "Cohort": ["2024-01", "2024-02", "2024-03"],
            "Customers": [2, 2, 4],
            "Revenue": [420.5, 330.0, 1669.24],
            "Predicted CLV": [40.0, 30.0, 200.0],
            "Avg predicted CLV": [20.0, 15.0, 50.0],
        }
    )
    curves = pd.DataFrame(
        {
            "Month": [0, 1, 2, 3],
            "2024-01": [50.0, 80.0, 120.0, 210.0],
            "2024-02": [30.0, 60.0, 90.0, np.nan],
            "2024-03": [70.0, 150.0, np.nan, np.nan],
        }
    )
    model_params = pd.DataFrame(
        {
            "Model": ["BG/NBD"] * 4 + ["Gamma-Gamma"] * 3,
            "Parameter": ["r", "alpha", "a", "b", "p", "q", "v"],
            "Estimate": [0.243, 4.414, 0.793, 2.426, 6.25, 3.74, 15.44],
            "Std. error": [0.013, 0.38, 0.19, 0.7, 1.2, 0.3, 4.1],
        }
    )
    model_fit = pd.DataFrame(
        {
            "Item": ["Log-likelihood", "Converged", "Message", "Customers", "Time unit"],
            "Value": [-9582.43, True, "converged", n, "W"],
        }
    )
    holdout = pd.DataFrame({"Measure": ["Repeat purchases"], "Predicted": [12.3], "Actual": [11.0]})
    conc = pd.DataFrame(
        {"Share of customers": [0.0, 0.5, 1.0], "Share of predicted CLV": [0.0, 0.8, 1.0]}
    )
    palive_dist = pd.DataFrame(
        {"P(alive)": ["0-10%", "10-20%", "=90-100%"], "Customers": [1, 3, 4]}
    )
    issue_rows = pd.DataFrame(
        {
            "Sheet": ["Transactions", "Transactions", "Transactions"],
            "Row": [5, 9, 12],
            "Column": ["date", "amount", "customer_id"],
            "Value": ["not a date", "=SUM(1,2)", None],
            "Problem": ["unreadable date", "not a number", "blank customer_id"],
        }
    )
    if not issues:
        issue_rows = issue_rows.iloc[0:0]
    settings = SimpleNamespace(
        gross_margin=0.3,
        annual_discount_rate=0.1,
        horizon_months=12,
        time_unit="W",
        observation_end=dt.date(2024, 12, 31),
        segment_by=None,
        currency=currency,
        model="BGNBD",
    )
    return SimpleNamespace(
        settings=settings,
        customers=customers,
        segments=segs,
        cohorts=cohorts,
        cohort_curves=curves,
        model_params=model_params,
        model_fit=model_fit,
        holdout=holdout,
        holdout_text="Holding out the last 13 weeks, the model predicted 12 repeat purchases; "
        "customers actually made 11 (+11.8 %).",
        concentration=conc,
        palive_distribution=palive_dist,
        issues=issue_rows,
        summary={
            "customers": n,
            "total_predicted_clv": float(pclv.sum()),
            "top_segment": "region: North",
            "issues": len(issue_rows),
            "currency": currency,
            "time_unit": "W",
        },
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("writer") / "report.xlsx"
    write_report(small_report(), path)
    return path


def _sheet_xml(path: Path, title: str) -> str:
    wb = openpyxl.load_workbook(path, read_only=True)
    index = wb.sheetnames.index(title) + 1
    wb.close()
    with zipfile.ZipFile(path) as z:
        return z.read(f"xl/worksheets/sheet{index}.xml").decode("utf-8")


def test_sheets_and_table_names(written):
    wb = openpyxl.load_workbook(written)
    assert tuple(wb.sheetnames) == OUTPUT_SHEETS
    tables = {name for ws in wb.worksheets for name in ws.tables}
    assert {
        "tblCustomers",
        "tblSeg_region",
        "tblSeg_channel",
        "tblCohorts",
        "tblCohortCurves",
        "tblModel",
        "tblModelFit",
        "tblHoldout",
        "tblSettingsUsed",
        "tblIssues",
        "tblConcentration",
        "tblPAlive",
    } <= tables
    assert wb["Customers"].tables["tblCustomers"].ref == "A1:L9"


def test_customers_headers_values_and_formats(written):
    ws = openpyxl.load_workbook(written)["Customers"]
    headers = [c.value for c in ws[1]]
    assert headers == list(small_report().customers.columns)
    assert ws["D2"].value == dt.datetime(2024, 1, 5)
    assert ws["D2"].number_format == "yyyy-mm-dd"
    assert ws["F4"].value == pytest.approx(510.25)
    assert ws["F4"].number_format.startswith('"$"')
    assert ws["H2"].number_format.endswith("%")
    assert ws["E2"].number_format == "#,##0"
    assert ws["B8"].value == "-East"
    assert ws.freeze_panes == "B2"


def test_formula_injection_is_written_as_text(written):
    wb = openpyxl.load_workbook(written)
    ws = wb["Customers"]
    for row, text in enumerate(INJECTION, start=2):
        cell = ws.cell(row=row, column=1)
        assert cell.value == text and cell.data_type == "s"
    assert ws["B2"].value == "=West" and ws["B2"].data_type == "s"
    assert wb["Data issues"]["D3"].value == "=SUM(1,2)"
    assert wb["Data issues"]["D3"].data_type == "s"
    # No part of the workbook holds a formula: every <c> with such text is a shared string.
    with zipfile.ZipFile(written) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                xml = z.read(name).decode("utf-8")
                assert "<f>" not in xml and "<f " not in xml, name
        strings = z.read("xl/sharedStrings.xml").decode("utf-8")
    assert '<t>=HYPERLINK("http://evil.example","click")</t>' in strings
    assert re.search(r"<c r=\"A2\"[^>]*t=\"s\"", _sheet_xml(written, "Customers"))


def test_segments_are_stacked_with_headings(written):
    ws = openpyxl.load_workbook(written)["Segments"]
    values = [ws.cell(row=r, column=1).value for r in range(1, ws.max_row + 1)]
    assert "By region" in values and "By channel" in values
    ref = ws.tables["tblSeg_region"].ref
    header_row = int(re.match(r"A(\d+)", ref).group(1))
    assert [c.value for c in ws[header_row]][:3] == ["region", "Customers", "Revenue"]


def test_model_sheet_has_holdout_sentence_and_settings(written):
    ws = openpyxl.load_workbook(written)["Model"]
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(t.startswith("Holding out the last 13 weeks") for t in texts)
    assert "Settings used" in texts
    assert "30.0%" in texts and "2024-12-31" in texts


def test_dashboard_kpis_charts_and_page_setup(written):
    wb = openpyxl.load_workbook(written)
    ws = wb["Dashboard"]
    assert ws["A5"].value == 8  # customers tile
    assert ws["E5"].value == pytest.approx(small_report().summary["total_predicted_clv"])
    assert ws["M5"].value == 3  # issues tile
    assert ws.page_setup.orientation == "landscape"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    for name in ("Customers", "Segments", "Cohorts", "Model", "Data issues"):
        assert wb[name].page_setup.orientation == "landscape"
        assert wb[name].page_setup.fitToWidth in (1, None)
    with zipfile.ZipFile(written) as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        kinds = sorted(
            re.search(r"<c:(bar|line|scatter)Chart>", z.read(n).decode()).group(1) for n in charts
        )
    # two segment bars (bar + column are both barChart), concentration, P(alive), cohorts
    assert kinds == ["bar", "bar", "bar", "line", "scatter"]


_NS = {
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _rels(z: zipfile.ZipFile, part: str) -> dict[str, str]:
    """Relationship id -> target part (resolved) of one package part."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", name + ".rels")
    if rels not in z.namelist():
        return {}
    root = ET.fromstring(z.read(rels))
    return {
        r.get("Id"): posixpath.normpath(posixpath.join(folder, r.get("Target")))
        for r in root.findall("rel:Relationship", _NS)
    }


def sheet_charts(path: Path) -> dict[str, list[dict]]:
    """For each sheet, its charts as read from the package: the title and, per series, the
    ``<c:f>`` formulas of its name, categories (x values) and values (y values)."""
    out: dict[str, list[dict]] = {}
    with zipfile.ZipFile(path) as z:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        book_rels = _rels(z, "xl/workbook.xml")
        for sheet in book.find("m:sheets", _NS):
            part = book_rels[sheet.get(_R_ID)]
            charts = out.setdefault(sheet.get("name"), [])
            for drawing in _rels(z, part).values():
                if "/drawings/" not in drawing:
                    continue
                for chart_part in _rels(z, drawing).values():
                    root = ET.fromstring(z.read(chart_part))
                    head = root.find("c:chart/c:title", _NS)
                    title = "".join(t.text or "" for t in head.iterfind(".//a:t", _NS))
                    # a title read from a cell: its cached text
                    title += "".join(v.text or "" for v in head.iterfind(".//c:strCache//c:v", _NS))
                    series = []
                    for ser in root.iterfind(".//c:ser", _NS):

                        def f(*tags: str, ser=ser) -> str | None:
                            for tag in tags:
                                el = ser.find(f"c:{tag}//c:f", _NS)
                                if el is not None:
                                    return el.text
                            return None

                        series.append(
                            {"name": f("tx"), "cat": f("cat", "xVal"), "val": f("val", "yVal")}
                        )
                    formulas = [el.text for el in root.iterfind(".//c:f", _NS)]
                    charts.append(
                        {"part": chart_part, "title": title, "series": series, "f": formulas}
                    )
    return out


_DASHBOARD_REF = re.compile(r"^(?:Dashboard|'Dashboard')!\$([A-Z]+)\$(\d+)(?::\$([A-Z]+)\$(\d+))?$")


def _cells(wb: openpyxl.Workbook, formula: str) -> list:
    """The values of a one-column (or one-cell) reference to the Dashboard."""
    m = _DASHBOARD_REF.match(formula)
    assert m, f"chart reads outside the Dashboard: {formula}"
    col, first = m.group(1), int(m.group(2))
    last = int(m.group(4) or first)
    assert m.group(3) in (None, col), formula
    ws = wb["Dashboard"]
    return [ws[f"{col}{r}"].value for r in range(first, last + 1)]


def _first_cell(formula: str) -> str:
    m = _DASHBOARD_REF.match(formula)
    return f"{m.group(1)}{m.group(2)}"


def _num(values) -> list:
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in values]


@pytest.mark.parametrize("segments", [True, False], ids=["segments", "no-segments"])
def test_dashboard_charts_read_only_the_dashboard(tmp_path, segments):
    """Copied on its own into another workbook (the Excel button), the Dashboard must bring no
    links along: every chart formula points at the Dashboard's own chart data, right of the
    print area, and those cells hold the report's numbers."""
    report = small_report(segments=segments)
    path = write_report(report, tmp_path / "r.xlsx")
    charts = sheet_charts(path)
    with zipfile.ZipFile(path) as z:
        parts = {n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n)}
    assert {c["part"] for c in charts["Dashboard"]} == parts  # every chart is the Dashboard's
    assert all(not charts[name] for name in OUTPUT_SHEETS[1:])
    wb = openpyxl.load_workbook(path)
    ws = wb["Dashboard"]
    last_printed = re.search(r":\$([A-Z]+)\$", ws.print_area).group(1)
    assert last_printed == "P"
    for chart in charts["Dashboard"]:
        assert chart["f"], chart["title"]
        for formula in chart["f"]:
            m = _DASHBOARD_REF.match(formula)
            assert m, f"{chart['title']}: {formula}"
            col = openpyxl.utils.column_index_from_string(m.group(1))
            assert col > openpyxl.utils.column_index_from_string(last_printed), formula
    assert ws["T1"].value == "Chart data"

    by_title = {c["title"]: c["series"] for c in charts["Dashboard"]}
    expected = {
        "Concentration of predicted CLV",
        "How likely are customers still active? P(alive)",
        "Cumulative revenue per customer by cohort",
    }
    if segments:
        expected |= {"Predicted CLV by region", "Predicted CLV by channel"}
    else:
        expected |= {"Predicted CLV by acquisition cohort"}
    assert set(by_title) == expected

    def series_cells(s: dict) -> tuple[list, list]:
        return _cells(wb, s["cat"]), _cells(wb, s["val"])

    if segments:
        for dim in ("region", "channel"):
            [s] = by_title[f"Predicted CLV by {dim}"]
            cats, vals = series_cells(s)
            assert cats == list(report.segments[dim][dim])
            assert vals == pytest.approx(list(report.segments[dim]["Predicted CLV"]))
            assert ws[_first_cell(s["val"])].number_format.startswith('"$"')
    else:
        [s] = by_title["Predicted CLV by acquisition cohort"]
        cats, vals = series_cells(s)
        assert cats == list(report.cohorts["Cohort"])
        assert vals == pytest.approx(list(report.cohorts["Predicted CLV"]))

    lorenz, diagonal = by_title["Concentration of predicted CLV"]
    xs, ys = series_cells(lorenz)
    assert xs == pytest.approx(list(report.concentration["Share of customers"]))
    assert ys == pytest.approx(list(report.concentration["Share of predicted CLV"]))
    assert ws[_first_cell(lorenz["val"])].number_format.endswith("%")
    assert series_cells(diagonal) == ([0, 1], [0, 1])

    [s] = by_title["How likely are customers still active? P(alive)"]
    cats, vals = series_cells(s)
    assert cats == list(report.palive_distribution["P(alive)"])  # "=90-100%" stays text
    assert vals == list(report.palive_distribution["Customers"])

    curves = report.cohort_curves
    lines = by_title["Cumulative revenue per customer by cohort"]
    assert [_cells(wb, s["name"]) for s in lines] == [[c] for c in curves.columns[1:]]
    for s, cohort in zip(lines, curves.columns[1:], strict=True):
        months, vals = series_cells(s)
        assert months == list(curves["Month"])
        assert _num(vals) == pytest.approx(_num(curves[cohort].tolist()))


def test_currency_from_settings(tmp_path):
    path = write_report(small_report(currency="EUR"), tmp_path / "eur.xlsx")
    ws = openpyxl.load_workbook(path)["Customers"]
    assert "€" in ws["F2"].number_format
    path = write_report(small_report(currency="CHF"), tmp_path / "chf.xlsx")
    ws = openpyxl.load_workbook(path)["Customers"]
    assert '"CHF"' in ws["F2"].number_format


def test_empty_issues_and_no_segments_still_make_a_workbook(tmp_path):
    path = write_report(small_report(issues=False, segments=False), tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb["Data issues"].tables["tblIssues"].ref == "A1:E2"
    assert [c.value for c in wb["Data issues"][1]][:5] == [
        "Sheet",
        "Row",
        "Column",
        "Value",
        "Problem",
    ]
    assert wb["Data issues"]["G1"].value == "No data issues: every input row was used."
    assert wb["Segments"]["A4"].value == "No segment columns in the data."


def test_refuses_to_overwrite_without_force(tmp_path):
    path = tmp_path / "out.xlsx"
    path.write_bytes(b"precious")
    with pytest.raises(WorkbookError, match=r"already exists.*--force"):
        write_report(small_report(), path)
    assert path.read_bytes() == b"precious"
    write_report(small_report(), path, force=True)
    assert zipfile.is_zipfile(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    path = tmp_path / "out.xlsx"
    path.write_bytes(b"old")

    def boom(workbook, report):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer_mod, "add_report_sheets", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(small_report(), path, force=True)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]


def test_bad_output_names(tmp_path):
    with pytest.raises(WorkbookError, match=r"must be an \.xlsx file"):
        write_report(small_report(), tmp_path / "out.csv")
    with pytest.raises(WorkbookError, match="folder .* does not exist"):
        write_report(small_report(), tmp_path / "missing" / "out.xlsx")


def test_segment_table_names_are_valid_and_unique():
    taken: set[str] = set()
    assert segment_table_name("region", taken) == "tblSeg_region"
    assert segment_table_name("Sales channel (2024)", taken) == "tblSeg_Sales_channel__2024"
    assert segment_table_name("REGION", taken) == "tblSeg_REGION_2"
    assert segment_table_name("=+-@", taken) == "tblSeg_dim"


def test_bulk_rows_path_matches_the_normal_path(tmp_path, monkeypatch, written):
    """Big tables skip XlsxWriter's per-cell API; the cells must come out identical."""
    from xlclv.report.writer import tables

    monkeypatch.setattr(tables, "BULK_ROWS", 3)
    path = write_report(small_report(), tmp_path / "bulk.xlsx")
    fast = openpyxl.load_workbook(path)
    slow = openpyxl.load_workbook(written)
    for name in ("Customers", "Data issues"):
        a, b = fast[name], slow[name]
        assert a.max_row == b.max_row and a.max_column == b.max_column
        for row_a, row_b in zip(a.iter_rows(), b.iter_rows(), strict=True):
            for ca, cb in zip(row_a, row_b, strict=True):
                assert (ca.value, ca.data_type, ca.number_format) == (
                    cb.value,
                    cb.data_type,
                    cb.number_format,
                ), ca.coordinate
    assert fast["Customers"].tables["tblCustomers"].ref == "A1:L9"
    xml = _sheet_xml(path, "Customers")
    assert "<f>" not in xml
    assert '<c r="A3" s="' in xml and 't="inlineStr"><is><t>+1+2</t></is></c>' in xml


def test_a_real_report_round_trips(tmp_path):
    from xlclv.report import Settings, build_report
    from xlclv.report.sample import sample_inputs

    report = build_report(sample_inputs(), Settings.from_values({"gross_margin": 0.3}))
    path = write_report(report, tmp_path / "real.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Customers"]
    assert [c.value for c in ws[1]] == list(report.customers.columns)
    assert ws.max_row == 1 + report.summary["customers"] == 1 + len(report.customers)
    tables = {name for sheet in wb.worksheets for name in sheet.tables}
    assert {f"tblSeg_{d}" for d in report.segments} <= tables
    first = report.customers.iloc[0]
    assert ws["A2"].value == first["Customer ID"]
    assert ws.cell(2, list(report.customers.columns).index("Predicted CLV") + 1).value == (
        pytest.approx(first["Predicted CLV"])
    )


def test_report_gets_ordinary_file_permissions(tmp_path):
    """The temp file is private while being written; the report must not stay 0600."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = write_report(small_report(), tmp_path / "perm.xlsx")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_numeric_headers_are_right_aligned_like_their_numbers(tmp_path):
    """In a wide column a right-aligned number under a left-aligned header reads as the next
    column's; headers of numeric columns are right-aligned, text headers are not."""
    path = write_report(small_report(), tmp_path / "align.xlsx")
    ws = openpyxl.load_workbook(path)["Model"]
    headers = {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert headers["Estimate"].alignment.horizontal == "right"
    assert headers["Std. error"].alignment.horizontal == "right"
    assert headers["Parameter"].alignment.horizontal in (None, "general", "left")


def test_no_all_clear_sentence_when_there_are_issues(tmp_path):
    report = small_report()
    assert len(report.issues) > 0
    wb = openpyxl.load_workbook(write_report(report, tmp_path / "i.xlsx"))
    assert wb["Data issues"]["G1"].value is None


# ---------------------------------------------------------------------------------------------
# Layout: segment Total lines, the Model sheet's readable numbers, notes that are not cut


def _segments_with_nps_and_marketing():
    """small_report, with its channel table made by the pipeline's segment_table with NPS
    answers and marketing rows (one channel without marketing, one without answers)."""
    from xlclv.report.segments import segment_table

    report = small_report()
    nps = pd.DataFrame(
        {
            "customer_id": ["C006", "C006", "007", "C008", "+1+2", "nobody"],
            "score": [10, 3, 9, 9, 0, 10],
        }
    )
    marketing = pd.DataFrame(
        {"segment": ["Search", "Social"], "spend": [400.0, 250.0], "new_customers": [4, 2]}
    )
    customers = report.customers.assign(**{"Historical CLV": report.customers["Revenue"] * 0.3})
    report.segments = {
        "region": segment_table(customers, "region"),
        "channel": segment_table(customers, "channel", nps=nps, marketing=marketing),
    }
    return report, nps, marketing


def _total_row(ws, table):
    ref = ws.tables[table].ref
    first, last = (int(x) for x in re.findall(r"\d+", ref))
    headers = [c.value for c in ws[first]]
    row = last + 1
    return {h: ws.cell(row, j + 1).value for j, h in enumerate(headers) if h}, row


def test_segment_total_lines_are_right(tmp_path):
    """Totals computed here from the customer table itself: sums of counts, revenue and CLV;
    averages over customers (not sums of averages); NPS over all matched answers."""
    report, nps, marketing = _segments_with_nps_and_marketing()
    path = write_report(report, tmp_path / "seg.xlsx")
    cached = openpyxl.load_workbook(path, data_only=True)["Segments"]
    cust = report.customers
    for table in ("tblSeg_region", "tblSeg_channel"):
        total, row = _total_row(cached, table)
        assert cached.cell(row, 1).value == "Total"
        assert total["Customers"] == len(cust)
        assert total["Revenue"] == pytest.approx(cust["Revenue"].sum(), rel=1e-12)
        assert total["Historical CLV"] == pytest.approx(0.3 * cust["Revenue"].sum(), rel=1e-12)
        assert total["Predicted CLV"] == pytest.approx(cust["Predicted CLV"].sum(), rel=1e-12)
        assert total["Avg predicted CLV"] == pytest.approx(cust["Predicted CLV"].mean())
        assert total["Share of predicted CLV"] == pytest.approx(1.0)
        assert total["Avg P(alive)"] == pytest.approx(cust["P(alive)"].mean())
    total, _ = _total_row(cached, "tblSeg_channel")
    # answers of known customers: C006 (10, 3), 007 (9), C008 (9), +1+2 (0); "nobody" is out:
    # promoters 3, detractors 2 of 5 -> NPS 20 (Social 0 of 4 answers, Search 100 of 1: the
    # plain average of the segments' NPS would be 50)
    assert total["NPS"] == pytest.approx(20.0)
    assert total["NPS responses"] == 5
    assert total["Marketing spend"] == pytest.approx(650.0)
    assert total["New customers"] == 6
    assert total["CAC"] == pytest.approx(650.0 / 6)
    assert total["LTV:CAC"] == pytest.approx(cust["Predicted CLV"].mean() / (650.0 / 6))


def test_segment_total_lines_are_bold_values_in_the_column_formats(tmp_path):
    report, _, _ = _segments_with_nps_and_marketing()
    path = write_report(report, tmp_path / "seg.xlsx")
    ws = openpyxl.load_workbook(path)["Segments"]
    total, row = _total_row(ws, "tblSeg_channel")
    first = int(re.findall(r"\d+", ws.tables["tblSeg_channel"].ref)[0]) + 1
    headers = [c.value for c in ws[first - 1]]
    assert ws.cell(row, 1).font.b
    for j, h in enumerate(headers[1:], start=2):
        cell = ws.cell(row, j)
        assert not (isinstance(cell.value, str) and cell.value.startswith("=")), h
        assert cell.number_format == ws.cell(first, j).number_format, h
    # NPS reads as a score: one decimal, in the table and its total
    assert ws.cell(first, headers.index("NPS") + 1).number_format == "0.0"


def test_model_fit_numbers_read_as_money_rates_and_counts(tmp_path):
    report = small_report()
    report.model_fit = pd.DataFrame(
        {
            "Item": [
                "Customers",
                "Purchase model log-likelihood",
                "Spend model log-likelihood",
                "Gross sales",
                "Returns",
                "Return rate",
                "Horizon (months)",
                "Converged",
                "Message",
            ],
            "Value": [3000, -25883.03, -8097.11, 362814.54, 11350.35, 0.0313, 12.0, True, "ok"],
        }
    )
    path = write_report(report, tmp_path / "fit.xlsx")
    ws = openpyxl.load_workbook(path)["Model"]
    ref = ws.tables["tblModelFit"].ref
    first = int(re.findall(r"\d+", ref)[0]) + 1
    got = {ws.cell(r, 1).value: ws.cell(r, 2) for r in range(first, first + 9)}
    assert got["Customers"].value == 3000 and got["Customers"].number_format == "#,##0"
    assert got["Horizon (months)"].value == 12 and got["Horizon (months)"].number_format == "#,##0"
    assert got["Return rate"].value == pytest.approx(0.0313)
    assert got["Return rate"].number_format == "0.0%"
    for item in ("Gross sales", "Returns"):
        assert "$" in got[item].number_format and "0.00" in got[item].number_format, item
    for item in ("Purchase model log-likelihood", "Spend model log-likelihood"):
        assert got[item].number_format == "#,##0.00", item  # a log-likelihood is no amount
    assert got["Message"].value == "ok"
    assert ws.cell(first, 2).alignment.horizontal == "left"
    settings = {ws.cell(r, 1).value: ws.cell(r, 3).value for r in range(1, ws.max_row + 1)}
    assert settings["Horizon (months)"] == "12"  # not "12.0"


def test_no_issues_note_is_not_wrapped_into_a_narrow_cell(tmp_path):
    path = write_report(small_report(issues=False), tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(path)["Data issues"]
    assert ws["G1"].value == "No data issues: every input row was used."
    assert not ws["G1"].alignment.wrap_text
    assert all(ws.cell(1, c).value is None for c in range(8, 20))  # room to run on


def test_customer_text_after_an_amount_is_indented(written):
    """Right-aligned Predicted CLV then left-aligned Tier ran together ("$11.09Rest")."""
    ws = openpyxl.load_workbook(written)["Customers"]
    headers = [c.value for c in ws[1]]
    tier = headers.index("Tier") + 1
    assert headers[tier - 2] == "Predicted CLV"
    assert ws.cell(2, tier).alignment.indent >= 1
    assert ws.cell(1, tier).value == "Tier" and ws.cell(1, tier).alignment.indent >= 1
    assert ws.tables["tblCustomers"].tableColumns[tier - 1].name == "Tier"
    assert ws.cell(2, 2).alignment.indent == 0  # region follows the id (text): no indent


def test_notes_without_a_table_are_not_wrapped_into_column_a(tmp_path):
    """ "No segment columns in the data." in a wrapped 16-character cell showed "No segment"."""
    path = write_report(small_report(segments=False), tmp_path / "r.xlsx")
    ws = openpyxl.load_workbook(path)["Segments"]
    assert ws["A4"].value == "No segment columns in the data."
    assert not ws["A4"].alignment.wrap_text


def test_issue_column_names_are_indented_from_the_row_numbers(written):
    ws = openpyxl.load_workbook(written)["Data issues"]
    assert [c.value for c in ws[1]][1:3] == ["Row", "Column"]
    assert ws["C1"].alignment.indent >= 1 and ws["C2"].alignment.indent >= 1
    assert ws["B2"].value == 5
