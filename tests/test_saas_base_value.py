"""saas_metrics.xlsx: the customer-base value block from the sBG DERL (issue 12).

The cached values Excel shows before recalculating are checked against a brute-force sum of
the sBG survival (Fader & Hardie 2010, eq. 6 written as a sum), not against the core's 2F1.
"""

from __future__ import annotations

import numpy as np
import openpyxl
import pytest
from scipy.special import betaln

from xlclv.excel.templates.saas_metrics import build_saas_metrics


def _derl_sum(alpha, beta, n, d, terms=200_000):
    t = np.arange(n, n + terms, dtype=float)
    log_s = betaln(alpha, beta + t) - betaln(alpha, beta + n - 1)
    return float(np.sum(np.exp(log_s - (t - n) * np.log1p(d))))


def test_base_value_block_is_actives_x_arpu_x_margin_x_derl(tmp_path):
    path = build_saas_metrics(tmp_path / "saas.xlsx")
    values = openpyxl.load_workbook(path, data_only=True)
    formulas = openpyxl.load_workbook(path)
    rt, rf = values["Retention"], formulas["Retention"]
    by_label = {rt.cell(r, 8).value: r for r in range(1, 120) if rt.cell(r, 8).value}
    alpha, beta = rt["I5"].value, rt["I6"].value
    actives_row = next(
        r
        for label, r in by_label.items()
        if str(label).startswith("Customers active at the start of month")
    )
    month = int(str(rt.cell(actives_row, 8).value).rsplit(" ", 1)[1])
    actives = rt.cell(actives_row, 9).value
    month_row = next(
        r for r in range(1, 120) if rt.cell(r, 1).value == month and rt.cell(r, 2).value
    )
    assert rf.cell(actives_row, 9).value == f"=B{month_row}"
    assert actives == rt.cell(month_row, 2).value > 0
    derl_row = actives_row + 1
    assert rf.cell(derl_row, 9).value.startswith(f"=SBG_DERL(sbg_alpha,sbg_beta,{month + 1},")
    d = 1.1 ** (1 / 12) - 1
    derl = _derl_sum(alpha, beta, month + 1, d)
    assert rt.cell(derl_row, 9).value == pytest.approx(derl, rel=1e-8)
    monthly = values["Monthly"]
    ref = values.defined_names["arpu_last"].attr_text.split("!")[1].replace("$", "")
    arpu = monthly[ref].value
    assert rt.cell(derl_row + 1, 9).value == pytest.approx(actives * arpu * 0.8 * derl, rel=1e-8)
