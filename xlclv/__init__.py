"""xlclv: customer lifetime value for Excel users.

The public Python API. Names load lazily, so ``import xlclv`` is cheap (Excel starts a Python
process for every button click) and the pure core never imports xlwings.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # errors
    "XlclvError": "._errors",
    "InputError": "._errors",
    "WorkbookError": "._errors",
    "FitError": "._errors",
    "NotFittedError": "._errors",
    # closed-form metrics
    "clv_simple": ".metrics",
    "clv_historical": ".metrics",
    "clv_predictive": ".metrics",
    "lifetime": ".metrics",
    "lifetime_discounted": ".metrics",
    "churn_rate": ".metrics",
    "retention_rate": ".metrics",
    "arpu": ".metrics",
    "ltv_cac": ".metrics",
    "cac_payback": ".metrics",
    "nps": ".metrics",
    "nps_category": ".metrics",
    "nps_interval": ".metrics",
    # transactions, data and simulation
    "rfm_summary": ".transactions",
    "load_cdnow_transactions": ".datasets",
    "load_cdnow_summary": ".datasets",
    "load_cdnow_summary_with_monetary": ".datasets",
    "load_donations": ".datasets",
    # models and valuation
    "BetaGeoModel": ".models",
    "ModifiedBetaGeoModel": ".models",
    "BetaGeoBetaBinomModel": ".models",
    "ParetoNBDModel": ".models",
    "GammaGammaModel": ".models",
    "ShiftedBetaGeometricModel": ".models",
    "customer_lifetime_value": ".valuation",
    "clv_interval": ".intervals",
    "clv_group_interval": ".intervals",
    "ConvergenceWarning": "._errors",
    # the report
    "Settings": ".report",
    "Report": ".report",
    "build_report": ".report",
    "WorkbookInputs": ".report.inputs",
    "read_workbook": ".report.inputs",
    "read_table_file": ".report.inputs",
    "clean_transactions": ".report.inputs",
    "sample_inputs": ".report.sample",
    "cdnow_inputs": ".report.sample",
    "write_report": ".report.writer",
    # Excel: the RunPython entry point of the ribbon button and the template button
    "main": ".excel.button",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'xlclv' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
