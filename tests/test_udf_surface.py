"""The Excel surface, as xlwings' real Windows code registers it.

Pins the list of Excel functions and their signatures, checks the metadata Excel's
Function Wizard gets (category, per-argument help, lengths), compares the VBA module that
Import Functions writes with the checked-in golden files (``scripts/regen-golden``
rewrites them; review the diff), and checks that ``xlclv functions`` prints the catalogue.
"""

from __future__ import annotations

import re

import pytest

import xlclv.udfs
from tests import excel_harness as xl
from tests.conftest import ROOT
from xlclv import cli
from xlclv.excel.metadata import signature, summary

#: Every Excel function with its arguments as the Function Wizard lists them.
SIGNATURES = {
    "ARPU": "ARPU(revenue, customers)",
    "CAC_PAYBACK": "CAC_PAYBACK(cac, monthly_revenue_per_customer, [gross_margin=1])",
    "CHURN_RATE": "CHURN_RATE(customers_at_start, customers_lost)",
    "CLV_HISTORICAL": "CLV_HISTORICAL(amounts, [gross_margin=1], [costs=0], [customers=1])",
    "CLV_PREDICTIVE": (
        "CLV_PREDICTIVE(avg_monthly_transactions, avg_order_value, gross_margin, "
        "lifetime_months, [monthly_discount_rate=0])"
    ),
    "CLV_SIMPLE": (
        "CLV_SIMPLE(avg_order_value, orders_per_period, lifetime_periods, [gross_margin=1], "
        "[acquisition_cost=0])"
    ),
    "LIFETIME": "LIFETIME(churn_rate)",
    "LIFETIME_DISCOUNTED": "LIFETIME_DISCOUNTED(churn_rate, discount_rate)",
    "LTV_CAC": "LTV_CAC(ltv, cac)",
    "NPS": "NPS(scores)",
    "NPS_CATEGORY": "NPS_CATEGORY(score)",
    "NPS_INTERVAL": "NPS_INTERVAL(scores, [confidence=0.95])",
    "RETENTION_RATE": "RETENTION_RATE(customers_at_start, customers_at_end, new_customers)",
    # the model functions (xlclv/excel/udf_models.py)
    "CLV_RFM": 'CLV_RFM(customer_ids, dates, amounts, [observation_end], [time_unit="W"])',
    "BGNBD_FIT": "BGNBD_FIT(frequency, recency, T)",
    "BGNBD_PALIVE": "BGNBD_PALIVE(frequency, recency, T, params)",
    "BGNBD_EXPECTED": "BGNBD_EXPECTED(horizon, frequency, recency, T, params)",
    "PNBD_FIT": "PNBD_FIT(frequency, recency, T)",
    "PNBD_PALIVE": "PNBD_PALIVE(frequency, recency, T, params)",
    "PNBD_EXPECTED": "PNBD_EXPECTED(horizon, frequency, recency, T, params)",
    "BGNBD_PNOPURCHASE": "BGNBD_PNOPURCHASE(horizon, frequency, recency, T, params)",
    "PNBD_PNOPURCHASE": "PNBD_PNOPURCHASE(horizon, frequency, recency, T, params)",
    "MBGNBD_FIT": "MBGNBD_FIT(frequency, recency, T)",
    "MBGNBD_PALIVE": "MBGNBD_PALIVE(frequency, recency, T, params)",
    "MBGNBD_EXPECTED": "MBGNBD_EXPECTED(horizon, frequency, recency, T, params)",
    "MBGNBD_PNOPURCHASE": "MBGNBD_PNOPURCHASE(horizon, frequency, recency, T, params)",
    "BGBB_FIT": "BGBB_FIT(frequency, recency, n_periods, [weights])",
    "BGBB_PALIVE": "BGBB_PALIVE(frequency, recency, n_periods, params)",
    "BGBB_EXPECTED": "BGBB_EXPECTED(n_future, frequency, recency, n_periods, params)",
    "GG_FIT": "GG_FIT(frequency, monetary_value)",
    "GG_SPEND": "GG_SPEND(frequency, monetary_value, params)",
    "CLV_MODEL": (
        "CLV_MODEL(customer_ids, dates, amounts, [gross_margin=1], [horizon_months=12], "
        '[annual_discount_rate=0.1], [model="BGNBD"], [time_unit="W"], [interval])'
    ),
    "SBG_FIT": "SBG_FIT(active_by_period)",
    "SBG_SURVIVAL": "SBG_SURVIVAL(alpha, beta, periods)",
    "SBG_LIFETIME": "SBG_LIFETIME(alpha, beta, [discount_rate=0])",
    "SBG_DERL": "SBG_DERL(alpha, beta, periods_survived, [discount_rate=0])",
}

GOLDEN = ROOT / "tests" / "golden"
FUNCTIONS = xl.excel_functions()


def test_the_excel_function_list_is_pinned():
    assert sorted(FUNCTIONS) == sorted(SIGNATURES)
    assert sorted(xlclv.udfs.__all__) == sorted(SIGNATURES)


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_signature_args_and_optional_defaults(name):
    assert signature(FUNCTIONS[name]) == SIGNATURES[name]


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_function_wizard_metadata(name):
    info = FUNCTIONS[name].__xlfunc__
    assert info["name"] == name
    assert info["category"] == "xlclv"
    assert info["volatile"] is False
    doc = info["ret"]["doc"]
    # xlwings passes the whole docstring to MacroOptions, cut at 255 characters: keep it
    # one readable line that fits.
    assert len(doc) <= 255 and "\n" not in doc.strip() and doc == doc.strip()
    assert summary(FUNCTIONS[name]) == doc
    for a in info["args"]:
        assert not a["doc"].startswith("Positional argument"), f"{name}.{a['name']} has no help"
        assert 10 <= len(a["doc"]) <= 255, f"{name}.{a['name']}: {a['doc']!r}"
        # ranges stay 2-D (a column stays a column); error cells arrive as text, not blanks
        assert a["options"].get("ndim") == 2 and a["options"].get("err_to_str") is True


@pytest.mark.parametrize(
    ("book", "golden", "workbook"),
    [
        ("clv_report.xlsm", "xlwings_udfs.bas", "ThisWorkbook"),
        ("xlclv.xlam", "xlwings_udfs_xlam.bas", "ActiveWorkbook"),
    ],
)
def test_vba_module_matches_golden(book, golden, workbook):
    code = xl.vba(book)
    expected = (GOLDEN / golden).read_bytes().decode("utf-8")
    assert code == expected, (
        f"the Excel surface changed: run scripts/regen-golden and review {golden}"
    )
    for name, f in FUNCTIONS.items():
        args = ", ".join(a["name"] for a in f.__xlfunc__["args"])
        assert (
            f'{name} = XLPy.CallUDF("xlclv.udfs", "{name}", Array({args}), {workbook}, '
            "Application.Caller)" in code
        )
    declared = re.findall(r"^Function (\w+)\(", code, flags=re.M)
    assert declared == sorted(SIGNATURES)


def test_optional_arguments_are_optional_in_vba():
    code = xl.vba()
    assert (
        "Function CLV_SIMPLE(avg_order_value, orders_per_period, lifetime_periods, "
        "Optional gross_margin, Optional acquisition_cost)" in code
    )


@pytest.mark.parametrize("verbose", [False, True])
def test_cli_functions_prints_the_catalogue(capsys, verbose):
    assert cli.main(["functions", "--verbose"] if verbose else ["functions"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    flat = re.sub(r"\s+", " ", out)
    assert f"{len(SIGNATURES)} Excel functions in the Function Wizard category 'xlclv'" in flat
    for name, sig in SIGNATURES.items():
        assert sig in lines, f"{sig} is not a line of the catalogue"  # never cut or wrapped
        assert summary(FUNCTIONS[name]) in flat
        for a in FUNCTIONS[name].__xlfunc__["args"]:
            assert (f"{a['name']}: {a['doc']}" in flat) is verbose
