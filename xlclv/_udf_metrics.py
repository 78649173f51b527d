"""Excel functions over the closed-form metrics (``xlclv.metrics``)."""

from __future__ import annotations

from . import metrics
from ._excel import ARRAY, arg, func, number_grid, to_excel

__all__ = ["LIFETIME"]


@func()
@arg(
    "churn_rate",
    doc="Share of customers lost per period, e.g. 0.01 for 1 % a month. A cell or a range.",
    **ARRAY,
)
def LIFETIME(churn_rate):
    """Expected customer lifetime in periods: 1 / churn rate. LIFETIME(0.01) = 100."""
    return to_excel(metrics.lifetime(number_grid(churn_rate, "churn_rate")))
