"""Build the template workbooks in ``workbooks/`` from code, reproducibly.

- :func:`build_clv_report` (:mod:`.clv_report`) — ``clv_report.xlsx``: README, Settings (named
  cells), Transactions (Excel Table ``tblTransactions`` filled with the sample), NPS and
  Marketing sample sheets, and the filled report the sample produces. The same builder makes
  the macro-enabled ``clv_report.xlsm`` when given a ``vba_project`` (see its docstring).
- :func:`build_saas_metrics` (:mod:`.saas_metrics`) — ``saas_metrics.xlsx``: monthly SaaS
  inputs, native formulas for churn, retention, lifetime, ARPU, LTV, LTV:CAC and CAC payback,
  and an sBG projection.
- :func:`build_nps_survey` (:mod:`.nps_survey`) — ``nps_survey.xlsx``: responses in; NPS
  overall, by segment and by month with normal-approximation intervals, all native formulas.

Every file gets a fixed creation date so that two builds are byte-for-byte comparable part by
part; ``tests/test_templates.py`` rebuilds them and fails if the checked-in files drift.
Regenerate with ``python -m xlclv.excel.templates`` (writes into ``workbooks/``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from xlclv.excel.templates._common import CREATED
from xlclv.excel.templates.clv_report import SETTINGS_ROWS, build_clv_report
from xlclv.excel.templates.nps_survey import NPS_SEGMENTS, build_nps_survey, nps_sample
from xlclv.excel.templates.saas_metrics import (
    SAAS_COHORT_TRUE,
    SAAS_PROJECTION_MONTHS,
    build_saas_metrics,
    saas_sample,
)

__all__ = [
    "CREATED",
    "NPS_SEGMENTS",
    "SAAS_COHORT_TRUE",
    "SAAS_PROJECTION_MONTHS",
    "SETTINGS_ROWS",
    "TEMPLATES",
    "build_all",
    "build_clv_report",
    "build_nps_survey",
    "build_saas_metrics",
    "nps_sample",
    "saas_sample",
]

TEMPLATES: dict[str, Any] = {
    "clv_report.xlsx": build_clv_report,
    "saas_metrics.xlsx": build_saas_metrics,
    "nps_survey.xlsx": build_nps_survey,
}


def build_all(folder: str | os.PathLike[str]) -> list[Path]:
    """Build every template into ``folder``; returns the paths written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    return [builder(out / name) for name, builder in TEMPLATES.items()]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # the repository's workbooks/ folder (xlclv/excel/templates/__init__.py -> ../../../..)
    folder = Path(args[0]) if args else Path(__file__).resolve().parents[3] / "workbooks"
    for p in build_all(folder):
        print(p)
    return 0
