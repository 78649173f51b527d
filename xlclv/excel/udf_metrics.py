"""Excel functions over the closed-form metrics (``xlclv.metrics``).

Elementwise functions take a cell or a range for each argument: a range spills the same
shape, a single cell applies to every cell of the ranges, a blank cell gives a blank cell
(a blank optional argument means its default). List functions (``CLV_HISTORICAL``, ``NPS``,
``NPS_INTERVAL``) take any 1-D or 2-D range and skip blank cells. The docstrings are what
Excel's Function Wizard shows (at most 255 characters); the formulas and their sources are
documented on the core functions.
"""

from __future__ import annotations

from xlclv import metrics
from xlclv._errors import InputError
from xlclv.excel.conversion import (
    ARRAY,
    arg,
    as_grid,
    cell_id,
    check_error_cell,
    column,
    elementwise_udf,
    func,
    number_list,
    single_number,
)

__all__ = [
    "ARPU",
    "CAC_PAYBACK",
    "CHURN_RATE",
    "CLV_HISTORICAL",
    "CLV_PREDICTIVE",
    "CLV_SIMPLE",
    "LIFETIME",
    "LIFETIME_DISCOUNTED",
    "LTV_CAC",
    "NPS",
    "NPS_CATEGORY",
    "NPS_INTERVAL",
    "RETENTION_RATE",
]

_MARGIN_DOC = "Gross margin as a share between 0 and 1, e.g. 0.3 for 30 %. Optional, default 1 (revenue, not profit)."


@func()
@arg("avg_order_value", doc="Average order value, e.g. 80. A cell or a range.", **ARRAY)
@arg("orders_per_period", doc="Orders per customer per period, e.g. 1 a year.", **ARRAY)
@arg(
    "lifetime_periods", doc="Expected customer lifetime in the same periods, e.g. 5 years.", **ARRAY
)
@arg("gross_margin", doc=_MARGIN_DOC, **ARRAY)
@arg(
    "acquisition_cost",
    doc="Cost of acquiring the customer, subtracted once. Optional, default 0.",
    **ARRAY,
)
def CLV_SIMPLE(
    avg_order_value, orders_per_period, lifetime_periods, gross_margin=1, acquisition_cost=0
):
    """Simple CLV: order value x orders per period x lifetime x margin - acquisition cost. CLV_SIMPLE(80, 1, 5) = 400."""
    return elementwise_udf(
        metrics.clv_simple,
        {
            "avg_order_value": avg_order_value,
            "orders_per_period": orders_per_period,
            "lifetime_periods": lifetime_periods,
            "gross_margin": gross_margin,
            "acquisition_cost": acquisition_cost,
        },
        {"gross_margin": 1.0, "acquisition_cost": 0.0},
    )


def _count_customers(customers) -> float:
    grid = as_grid(customers)
    if sum(map(len, grid)) == 1:
        return single_number(grid, "customers", default=1.0)
    ids = set()
    for k, v in enumerate(column(grid)):
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        check_error_cell(v, "customers", k)
        ids.add(str(cell_id(v)))
    if not ids:
        raise InputError("customers is a range with no customer IDs: give IDs or a number")
    return float(len(ids))


@func()
@arg(
    "amounts", doc="Past revenue amounts: a range (any shape; blanks skipped) or a total.", **ARRAY
)
@arg("gross_margin", doc=_MARGIN_DOC, **ARRAY)
@arg(
    "costs",
    doc="Acquisition and retention costs to subtract: a total or a range (blanks skipped). Optional, default 0.",
    **ARRAY,
)
@arg(
    "customers",
    doc="Number of customers, or a range of customer IDs whose distinct values are counted. Optional, default 1.",
    **ARRAY,
)
def CLV_HISTORICAL(amounts, gross_margin=1, costs=0, customers=1):
    """Historical net CLV per customer: (sum of amounts x margin - costs) / customers. CLV_HISTORICAL(5000, 1, 3000, 100) = 20."""
    return metrics.clv_historical(
        number_list(amounts, "amounts"),
        single_number(gross_margin, "gross_margin", default=1.0),
        number_list(costs, "costs"),
        _count_customers(customers),
    )


@func()
@arg(
    "avg_monthly_transactions",
    doc="Average transactions per customer per month. A cell or a range.",
    **ARRAY,
)
@arg("avg_order_value", doc="Average order value.", **ARRAY)
@arg("gross_margin", doc="Gross margin as a share between 0 and 1, e.g. 0.3 for 30 %.", **ARRAY)
@arg(
    "lifetime_months",
    doc="Average customer lifetime in months, at least 1 (it equals 1 / monthly churn).",
    **ARRAY,
)
@arg(
    "monthly_discount_rate",
    doc="Monthly discount rate, e.g. 0.008 for about 10 % a year. Optional, default 0 (no discounting).",
    **ARRAY,
)
def CLV_PREDICTIVE(
    avg_monthly_transactions,
    avg_order_value,
    gross_margin,
    lifetime_months,
    monthly_discount_rate=0,
):
    """Predictive CLV: monthly transactions x order value x margin x lifetime in months, discounted at the monthly rate if given."""
    return elementwise_udf(
        metrics.clv_predictive,
        {
            "avg_monthly_transactions": avg_monthly_transactions,
            "avg_order_value": avg_order_value,
            "gross_margin": gross_margin,
            "lifetime_months": lifetime_months,
            "monthly_discount_rate": monthly_discount_rate,
        },
        {"monthly_discount_rate": 0.0},
    )


@func()
@arg(
    "churn_rate",
    doc="Share of customers lost per period, e.g. 0.01 for 1 % a month. A cell or a range.",
    **ARRAY,
)
def LIFETIME(churn_rate):
    """Expected customer lifetime in periods: 1 / churn rate. LIFETIME(0.01) = 100."""
    return elementwise_udf(metrics.lifetime, {"churn_rate": churn_rate})


@func()
@arg(
    "churn_rate",
    doc="Share of customers lost per period, e.g. 0.01 for 1 % a month. A cell or a range.",
    **ARRAY,
)
@arg(
    "discount_rate",
    doc="Discount rate per period (same period as the churn rate), e.g. 0.008 a month.",
    **ARRAY,
)
def LIFETIME_DISCOUNTED(churn_rate, discount_rate):
    """Discounted expected lifetime in periods: (1 + discount rate) / (discount rate + churn rate)."""
    return elementwise_udf(
        metrics.lifetime_discounted, {"churn_rate": churn_rate, "discount_rate": discount_rate}
    )


@func()
@arg("customers_at_start", doc="Customers at the start of the period. A cell or a range.", **ARRAY)
@arg("customers_lost", doc="Of those, how many were lost during the period.", **ARRAY)
def CHURN_RATE(customers_at_start, customers_lost):
    """Churn rate of a period: customers lost / customers at the start."""
    return elementwise_udf(
        metrics.churn_rate,
        {"customers_at_start": customers_at_start, "customers_lost": customers_lost},
    )


@func()
@arg("customers_at_start", doc="Customers at the start of the period. A cell or a range.", **ARRAY)
@arg("customers_at_end", doc="Customers at the end of the period.", **ARRAY)
@arg("new_customers", doc="Customers acquired during the period.", **ARRAY)
def RETENTION_RATE(customers_at_start, customers_at_end, new_customers):
    """Retention rate of a period: (customers at end - new customers) / customers at start."""
    return elementwise_udf(
        metrics.retention_rate,
        {
            "customers_at_start": customers_at_start,
            "customers_at_end": customers_at_end,
            "new_customers": new_customers,
        },
    )


@func()
@arg("revenue", doc="Revenue of the period. A cell or a range.", **ARRAY)
@arg("customers", doc="Number of customers in the period.", **ARRAY)
def ARPU(revenue, customers):
    """Average revenue per user (customer): revenue / customers."""
    return elementwise_udf(metrics.arpu, {"revenue": revenue, "customers": customers})


@func()
@arg("ltv", doc="Customer lifetime value, e.g. from CLV_PREDICTIVE. A cell or a range.", **ARRAY)
@arg("cac", doc="Customer acquisition cost.", **ARRAY)
def LTV_CAC(ltv, cac):
    """LTV:CAC ratio: lifetime value / acquisition cost. About 3 or more is the usual target."""
    return elementwise_udf(metrics.ltv_cac, {"ltv": ltv, "cac": cac})


@func()
@arg("cac", doc="Customer acquisition cost. A cell or a range.", **ARRAY)
@arg("monthly_revenue_per_customer", doc="Revenue per customer per month.", **ARRAY)
@arg("gross_margin", doc=_MARGIN_DOC, **ARRAY)
def CAC_PAYBACK(cac, monthly_revenue_per_customer, gross_margin=1):
    """Months to recover the acquisition cost: CAC / (monthly revenue per customer x margin)."""
    return elementwise_udf(
        metrics.cac_payback,
        {
            "cac": cac,
            "monthly_revenue_per_customer": monthly_revenue_per_customer,
            "gross_margin": gross_margin,
        },
        {"gross_margin": 1.0},
    )


_SCORES_DOC = (
    "Survey answers, whole numbers 0-10: a range of any shape; blank cells (no answer) are skipped."
)


@func()
@arg("scores", doc=_SCORES_DOC, **ARRAY)
def NPS(scores):
    """Net Promoter Score, -100 to 100: % promoters (9-10) - % detractors (0-6) of the answers."""
    return metrics.nps(number_list(scores, "scores"))


@func()
@arg("score", doc="A 0-10 survey answer. A cell or a range (spills the same shape).", **ARRAY)
def NPS_CATEGORY(score):
    """NPS category of a 0-10 score: "Promoter" (9-10), "Passive" (7-8) or "Detractor" (0-6)."""
    return elementwise_udf(metrics.nps_category, {"score": score})


@func()
@arg("scores", doc=_SCORES_DOC, **ARRAY)
@arg("confidence", doc="Confidence level, e.g. 0.95 for 95 %. Optional, default 0.95.", **ARRAY)
def NPS_INTERVAL(scores, confidence=0.95):
    """Confidence interval for the NPS: spills two cells, low and high (normal approximation)."""
    low, high = metrics.nps_interval(
        number_list(scores, "scores"), single_number(confidence, "confidence", default=0.95)
    )
    return [[low, high]]
