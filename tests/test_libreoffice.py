"""The templates and a generated report in a real office suite: LibreOffice headless.

Two soffice calls for the whole module (each start costs about a second):

1. recalc ALWAYS, on copies of the workbooks whose cached formula values were stripped, so
   every value read back was computed by LibreOffice; native formulas must match xlclv's
   Python numbers, and the only error cells allowed are xlclv function (UDF) cells, which
   only Excel with the add-in can evaluate;
2. recalc NEVER, on the files as shipped: the UDF cells must show the right cached values.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula
from scipy.special import betaln

from tests.conftest import ROOT
from tests.libreoffice import ALWAYS, NEVER, LibreOffice, error_cells, require_soffice
from tests.test_templates import sbg_cohort_log_likelihood
from tests.test_writer import INJECTION, small_report
from xlclv import metrics
from xlclv.models import ShiftedBetaGeometricModel
from xlclv.report.writer import write_report

pytestmark = pytest.mark.libreoffice

WORKBOOKS = ROOT / "workbooks"
TEMPLATES = ("clv_report.xlsx", "saas_metrics.xlsx", "nps_survey.xlsx")


def udf_names() -> set[str]:
    names: set[str] = set()
    for module in sorted((ROOT / "xlclv" / "excel").glob("udf_*.py")):
        text = module.read_text(encoding="utf-8")
        names |= set(re.findall(r"^def ([A-Z][A-Z0-9_]+)\(", text, flags=re.M))
    assert {"LIFETIME", "NPS", "SBG_FIT", "SBG_LIFETIME"} <= names, "UDF modules moved?"
    return names


def udf_cells(path: Path) -> dict[tuple[str, str], str]:
    """(sheet, cell) -> formula of every cell that calls an xlclv function, spill ranges too."""
    pattern = re.compile(r"\b(" + "|".join(sorted(udf_names())) + r")\(")
    wb = openpyxl.load_workbook(path)
    found: dict[tuple[str, str], str] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                v = cell.value
                text = v.text if isinstance(v, ArrayFormula) else v
                if isinstance(text, str) and text.startswith("=") and pattern.search(text):
                    if isinstance(v, ArrayFormula):
                        for rng_row in ws[v.ref]:
                            for c in rng_row:
                                found[(ws.title, c.coordinate)] = text
                    found[(ws.title, cell.coordinate)] = text
    return found


def strip_cached_values(src: Path, dst: Path) -> None:
    """Copy a workbook without the cached values of its formulas."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                text = data.decode("utf-8")
                text = re.sub(r"(<f[^>]*>[^<]*</f>|<f[^>]*/>)<v>[^<]*</v>", r"\1", text)
                data = text.encode("utf-8")
            zout.writestr(item, data)


def _rewrite(src: Path, dst: Path, edit) -> Path:
    """Copy a workbook, passing each part's text through ``edit(name, text)``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith(".xml"):
                data = edit(item.filename, data.decode("utf-8")).encode("utf-8")
            zout.writestr(item, data)
    return dst


def _sheet_part(path: Path, title: str) -> str:
    """The zip part of a sheet, from the workbook's sheet order (XlsxWriter numbers them so)."""
    titles = openpyxl.load_workbook(path, read_only=True).sheetnames
    return f"xl/worksheets/sheet{titles.index(title) + 1}.xml"


def _del_sum(alpha: float, beta: float, d: float, terms: int = 200_000) -> float:
    """sBG discounted expected lifetime by brute force: sum over t >= 0 of
    S(t) / (1 + d) ** t, S(t) = B(alpha, beta + t) / B(alpha, beta) (Fader & Hardie 2010)."""
    t = np.arange(terms, dtype=float)
    log_s = betaln(alpha, beta + t) - betaln(alpha, beta)
    return float(np.sum(np.exp(log_s - t * np.log1p(d))))


def sbg_fit_result() -> tuple[float, float]:
    """alpha, beta cached in the shipped saas workbook (xlclv's fit of its cohort)."""
    ws = openpyxl.load_workbook(WORKBOOKS / "saas_metrics.xlsx", data_only=True)["Retention"]
    return ws["I5"].value, ws["I6"].value


def saas_with_fixed_sbg(src: Path, dst: Path) -> Path:
    """The saas workbook with Retention!I5:I6 (=SBG_FIT links) replaced by the fitted numbers:
    what the native sBG formulas see when the add-in has evaluated =SBG_FIT."""
    part = _sheet_part(src, "Retention")
    alpha, beta = sbg_fit_result()

    def edit(name: str, text: str) -> str:
        if name != part:
            return text
        for coord, value in (("I5", alpha), ("I6", beta)):
            text, n = re.subn(
                rf'(<c r="{coord}"[^>]*>)<f>[^<]*</f>(<v>[^<]*</v>)?</c>',
                rf"\g<1><v>{value!r}</v></c>",
                text,
            )
            assert n == 1, coord
        return text

    return _rewrite(src, dst, edit)


#: Answers appended below the NPS table, as Excel does when a user types or pastes under a
#: table: the rows join the table (its ref grows). (customer_id, Excel date serial, score,
#: segment); 45731 = 2025-03-15.
APPENDED = [("NEW1", 45731, 10, "Enterprise"), ("NEW2", 45731, 0, "Self-serve")]


def nps_with_appended_answers(src: Path, dst: Path) -> Path:
    part = _sheet_part(src, "Responses")
    last = openpyxl.load_workbook(src, read_only=True)["Responses"].max_row
    new_last = last + len(APPENDED)

    def edit(name: str, text: str) -> str:
        if name.startswith("xl/tables/"):
            assert f'ref="A1:D{last}"' in text
            return text.replace(f'ref="A1:D{last}"', f'ref="A1:D{new_last}"')
        if name != part:
            return text
        date_style = re.search(rf'<c r="B{last}" s="(\d+)"', text).group(1)  # a date format
        rows = []
        for k, (cid, day, score, seg) in enumerate(APPENDED, start=last + 1):
            rows.append(
                f'<row r="{k}"><c r="A{k}" t="inlineStr"><is><t>{cid}</t></is></c>'
                f'<c r="B{k}" s="{date_style}"><v>{day}</v></c><c r="C{k}"><v>{score}</v></c>'
                f'<c r="D{k}" t="inlineStr"><is><t>{seg}</t></is></c></row>'
            )
        text = text.replace(f"A1:D{last}", f"A1:D{new_last}")  # <dimension>
        return text.replace("</sheetData>", "".join(rows) + "</sheetData>")

    return _rewrite(src, dst, edit)


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    exe = require_soffice()
    root = tmp_path_factory.mktemp("lo")
    src = root / "src"
    src.mkdir()
    stripped = root / "stripped"
    stripped.mkdir()
    for name in TEMPLATES:
        shutil.copy(WORKBOOKS / name, src / name)
        strip_cached_values(WORKBOOKS / name, stripped / name)
    report = write_report(small_report(), stripped / "report.xlsx")
    extra = [
        saas_with_fixed_sbg(stripped / "saas_metrics.xlsx", stripped / "saas_native.xlsx"),
        nps_with_appended_answers(stripped / "nps_survey.xlsx", stripped / "nps_grown.xlsx"),
    ]
    recalc = LibreOffice(exe, root / "always", recalc=ALWAYS).convert(
        [*(stripped / n for n in TEMPLATES), report, *extra], "xlsx", root / "out-always"
    )
    cached = LibreOffice(exe, root / "never", recalc=NEVER).convert(
        [src / n for n in TEMPLATES], "xlsx", root / "out-never"
    )
    return {
        "recalc": {p.name: p for p in recalc},
        "cached": {p.name: p for p in cached},
        "report": report,
    }


def _values(path: Path, sheet: str) -> openpyxl.worksheet.worksheet.Worksheet:
    # read_only: LibreOffice's chart XML trips openpyxl's chart reader, and values are all we need
    return _book(path)[sheet]


def _book(path: Path, data_only: bool = True):
    """A read-only workbook over the file's bytes (nothing left open to close)."""
    return openpyxl.load_workbook(
        io.BytesIO(path.read_bytes()), data_only=data_only, read_only=True
    )


@pytest.mark.parametrize("name", [*TEMPLATES, "saas_native.xlsx"])
def test_no_error_cells_except_xlclv_functions(office, name):
    errors = {(s, c) for s, c, _ in error_cells(office["recalc"][name])}
    shipped = WORKBOOKS / ("saas_metrics.xlsx" if name == "saas_native.xlsx" else name)
    allowed = set(udf_cells(shipped))
    if name == "saas_metrics.xlsx":
        allowed |= sbg_dependents()
    assert errors <= allowed, sorted(errors - allowed)


def sbg_dependents() -> set[tuple[str, str]]:
    """Cells that need the =SBG_FIT result: alpha and beta, the sBG survival column and the
    sBG lifetimes (labels with "sBG" in column H)."""
    ws = openpyxl.load_workbook(WORKBOOKS / "saas_metrics.xlsx")["Retention"]
    cells = {("Retention", "I5"), ("Retention", "I6")}
    cells |= {("Retention", f"D{r}") for r in range(6, 66)}
    for r in range(7, 30):
        label = ws.cell(r, 8).value
        if isinstance(label, str) and "sBG" in label:
            cells.add(("Retention", f"I{r}"))
    return cells


def test_saas_without_the_add_in_the_sbg_cells_say_what_is_missing(office):
    """No xlclv add-in (here: LibreOffice): =SBG_FIT fails, so do the cells linked to it, and
    row 3 says why; the constant-churn column still works."""
    ws = _values(office["recalc"]["saas_metrics.xlsx"], "Retention")
    assert isinstance(ws["I5"].value, str) and ws["I5"].value.startswith(("#", "Err"))
    assert "add-in" in ws["A3"].value and "SBG_FIT" in ws["A3"].value
    labels = {ws.cell(r, 8).value: ws.cell(r, 9).value for r in range(5, 30)}
    assert ws["E6"].value == pytest.approx(1 - labels["Constant churn c (geometric mean)"])
    native = _values(office["recalc"]["saas_native.xlsx"], "Retention")
    assert native["A3"].value in (None, "")


def test_formulas_are_classic_functions_only():
    forbidden = re.compile(
        r"\b(XLOOKUP|XMATCH|LAMBDA|LET|FILTER|SORT|SORTBY|UNIQUE|SEQUENCE|TEXTJOIN|IFS|SWITCH"
        r"|MAXIFS|MINIFS|CONCAT)\(",
        re.I,
    )
    for name in TEMPLATES:
        wb = openpyxl.load_workbook(WORKBOOKS / name)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    v = cell.value
                    text = v.text if isinstance(v, ArrayFormula) else v
                    if isinstance(text, str) and text.startswith("="):
                        assert not forbidden.search(text), (name, ws.title, cell.coordinate, text)


def _monthly_rows(ws):
    rows = []
    for r in range(6, ws.max_row + 1):
        if ws.cell(r, 2).value is None or not isinstance(ws.cell(r, 2).value, int | float):
            break
        rows.append(r)
    return rows


def test_saas_native_formulas_match_python(office):
    path = office["recalc"]["saas_metrics.xlsx"]
    ws = _values(path, "Monthly")
    margin = ws["B2"].value
    rows = _monthly_rows(ws)
    assert len(rows) == 24
    for r in rows:
        start, lost, new, mrr, cac = (ws.cell(r, c).value for c in range(2, 7))
        end = start - lost + new
        churn = metrics.churn_rate(start, lost)
        arpu = metrics.arpu(mrr, start)
        life = metrics.lifetime(churn)
        expected = [
            end,
            churn,
            metrics.retention_rate(start, end, new),
            life,
            arpu,
            arpu * margin * life,
            metrics.ltv_cac(arpu * margin * life, cac),
            metrics.cac_payback(cac, arpu, margin),
        ]
        got = [ws.cell(r, c).value for c in range(7, 15)]
        assert got == pytest.approx(expected, rel=1e-9), r


def test_saas_sbg_projection_matches_the_model(office):
    """The native sBG recursion, once =SBG_FIT has delivered alpha and beta."""
    ws = _values(office["recalc"]["saas_native.xlsx"], "Retention")
    alpha, beta = ws["I5"].value, ws["I6"].value
    # numbers written with repr into the file and read back after LibreOffice saved it, not
    # computed: 1e-12 leaves room for a writer that keeps 15 significant digits
    assert (alpha, beta) == pytest.approx(sbg_fit_result(), rel=1e-12)
    model = ShiftedBetaGeometricModel().set_params(alpha=alpha, beta=beta)
    surv = np.asarray(model.survival(60), dtype=float)
    months = [ws.cell(r, 1).value for r in range(5, 66)]
    assert months == list(range(61))
    got = [ws.cell(r, 4).value for r in range(5, 66)]
    assert got == pytest.approx(surv, rel=1e-9)
    active = [ws.cell(r, 2).value for r in range(5, 18)]
    c = 1 - (active[-1] / active[0]) ** (1 / 12)
    naive = [ws.cell(r, 5).value for r in range(5, 66)]
    assert naive == pytest.approx((1 - c) ** np.arange(61), rel=1e-9)
    labels = {ws.cell(r, 8).value: ws.cell(r, 9).value for r in range(5, 40)}
    assert labels["Lifetime, constant churn: 1 / c"] == pytest.approx(metrics.lifetime(c))
    assert labels["Lifetime, sBG: (alpha + beta - 1) / (alpha - 1)"] == pytest.approx(
        (alpha + beta - 1) / (alpha - 1)
    )
    d = (1.1) ** (1 / 12) - 1
    assert labels["Discounted lifetime, constant churn: (1 + d) / (d + c)"] == pytest.approx(
        metrics.lifetime_discounted(c, d)
    )
    # the point of the sheet: heterogeneity makes the sBG lifetime longer than 1 / churn
    assert (alpha + beta - 1) / (alpha - 1) > 1 / c


def test_saas_udf_cells_carry_the_right_cached_values(office):
    """What Excel shows before it recalculates: the cached values in the shipped file."""
    shipped = WORKBOOKS / "saas_metrics.xlsx"
    cells = udf_cells(shipped)
    assert {f.split("(")[0] for f in cells.values()} >= {"=LIFETIME", "=SBG_LIFETIME", "=SBG_FIT"}
    book = openpyxl.load_workbook(shipped, data_only=True)
    for (sheet, coord), formula in cells.items():
        ws = book[sheet]
        value = ws[coord].value
        assert value is not None and not (isinstance(value, str) and value.startswith("#"))
        if formula.startswith("=LIFETIME("):
            ref = re.search(r"LIFETIME\((\w+)\)", formula).group(1)
            assert value == pytest.approx(metrics.lifetime(ws[ref].value))
    retention = book["Retention"]
    alpha, beta = retention["I5"].value, retention["I6"].value
    by_label = {retention.cell(r, 8).value: r for r in range(5, 40)}
    r = by_label["Discounted lifetime, sBG: =SBG_LIFETIME(alpha, beta, d)"]
    d = (1.1) ** (1 / 12) - 1
    del_sbg = _del_sum(alpha, beta, d)
    assert retention.cell(r, 9).value == pytest.approx(del_sbg, rel=1e-9)
    r = by_label["LTV, sBG (ARPU x margin x discounted lifetime)"]
    monthly = book["Monthly"]
    arpu_last = monthly[book.defined_names["arpu_last"].attr_text.split("!")[1].replace("$", "")]
    assert retention.cell(r, 9).value == pytest.approx(arpu_last.value * 0.8 * del_sbg, rel=1e-9)
    r = by_label["Refit in Excel: =SBG_FIT(active customers)"] + 1
    spill = [[retention.cell(r + k, c).value for c in (8, 9)] for k in range(4)]
    assert spill[0] == ["parameter", "value"]
    assert spill[1] == ["alpha", pytest.approx(alpha)] and spill[2] == ["beta", pytest.approx(beta)]
    # alpha and beta maximise a test-written sBG likelihood of the cohort: zero slope there
    active = np.array([retention.cell(k, 2).value for k in range(5, 18)], dtype=float)
    here = np.log([alpha, beta])
    for step in np.eye(2) * 1e-5:
        slope = (
            sbg_cohort_log_likelihood(*np.exp(here + step), active)
            - sbg_cohort_log_likelihood(*np.exp(here - step), active)
        ) / 2e-5
        assert abs(slope) < 1e-3, slope  # 0.1 % off in alpha, the slope is 0.68
    # LibreOffice with recalculation off keeps the scalar UDF cells' cached values
    never = _book(office["cached"]["saas_metrics.xlsx"])
    for (sheet, coord), formula in cells.items():
        if "SBG_FIT" not in formula:
            assert never[sheet][coord].value == pytest.approx(book[sheet][coord].value)


@pytest.mark.parametrize("name", ["nps_survey.xlsx", "nps_grown.xlsx"])
def test_nps_native_formulas_match_python(office, name):
    """Also with answers appended below the table (nps_grown): the structured references
    (tblResponses[score]) count them."""
    path = office["recalc"][name]
    resp = _values(path, "Responses")
    rows = [[c.value for c in row] for row in resp.iter_rows(min_row=2)]
    assert len(rows) == 720 + (len(APPENDED) if name == "nps_grown.xlsx" else 0)
    if name == "nps_grown.xlsx":
        assert [r[0] for r in rows[-2:]] == [a[0] for a in APPENDED]
    scores = np.array([r[2] for r in rows], dtype=float)
    segments = np.array([r[3] for r in rows])
    months = np.array([(r[1].year, r[1].month) for r in rows])
    ws = _values(path, "NPS")
    z = ws["B3"].value
    assert z == pytest.approx(1.959963984540054)
    checked = 0
    for r in range(1, ws.max_row + 1):
        key = ws.cell(r, 1).value
        if key == "All responses":
            subset = scores
        elif isinstance(key, str) and key in set(segments):
            subset = scores[segments == key]
        elif hasattr(key, "year"):
            subset = scores[(months[:, 0] == key.year) & (months[:, 1] == key.month)]
        else:
            continue
        n, prom, pas, det, score, _se, low, high = (ws.cell(r, c).value for c in range(2, 10))
        assert (n, prom, pas, det) == (
            subset.size,
            (subset >= 9).sum(),
            ((subset >= 7) & (subset <= 8)).sum(),
            (subset <= 6).sum(),
        )
        assert score == pytest.approx(metrics.nps(subset))
        assert (low, high) == pytest.approx(metrics.nps_interval(subset, 0.95))
        checked += 1
    assert checked == 1 + 3 + 12


def test_nps_udf_cell_cached_value(office):
    ws = _values(office["cached"]["nps_survey.xlsx"], "NPS")  # LibreOffice, recalc off
    cells = udf_cells(WORKBOOKS / "nps_survey.xlsx")
    assert len(cells) == 1
    ((_, coord),) = cells
    resp = _values(office["cached"]["nps_survey.xlsx"], "Responses")
    scores = [row[2].value for row in resp.iter_rows(min_row=2)]
    assert ws[coord].value == pytest.approx(metrics.nps(scores))


def test_clv_report_template_opens_without_errors(office):
    path = office["recalc"]["clv_report.xlsx"]
    assert error_cells(path) == []
    wb = _book(path)
    assert {"README", "Settings", "Transactions", "Dashboard", "Customers"} <= set(wb.sheetnames)
    assert wb["Settings"]["A2"].value == "gross_margin"


def test_formula_injection_stays_text_in_libreoffice(office):
    converted = office["recalc"]["report.xlsx"]
    wb = _book(converted, data_only=False)
    ws = wb["Customers"]
    for row, text in enumerate(INJECTION, start=2):
        cell = ws.cell(row=row, column=1)
        assert cell.value == text and cell.data_type == "s", (row, cell.value)
    assert ws["B2"].value == "=West"
    assert wb["Data issues"]["D3"].value == "=SUM(1,2)"
    assert error_cells(converted) == []


def test_report_numbers_survive_libreoffice(office):
    original = _values(office["report"], "Customers")
    converted = _values(office["recalc"]["report.xlsx"], "Customers")
    for r in range(2, 10):
        for c in range(1, 13):
            a, b = original.cell(r, c).value, converted.cell(r, c).value
            if isinstance(a, float):
                assert math.isclose(a, b, rel_tol=1e-12), (r, c)
            else:
                assert a == b, (r, c)
