"""Explicit time units. Unit mistakes are the most reported CLV bug (lifetimes #215, #194).

Every model quantity (recency, T, horizons) is measured in one of these units, and every
conversion between calendar months/years and model units goes through this module.
"""

from __future__ import annotations

from typing import Literal, get_args

from ._errors import InputError

TimeUnit = Literal["D", "W", "M"]
TIME_UNITS: tuple[str, ...] = get_args(TimeUnit)

#: Days in one unit. A month is 365.25 / 12 = 30.4375 days.
DAYS_PER_UNIT: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0}
UNIT_NAMES: dict[str, str] = {"D": "days", "W": "weeks", "M": "months"}
DAYS_PER_MONTH = 365.25 / 12.0
DAYS_PER_YEAR = 365.25


def check_time_unit(unit: object, name: str = "time_unit") -> str:
    """The unit as one of "D", "W", "M" (case-insensitive), or a clear InputError."""
    if isinstance(unit, str) and unit.strip().upper() in TIME_UNITS:
        return unit.strip().upper()
    raise InputError(
        f"{name} must be one of D (days), W (weeks) or M (months of 365.25/12 days), got {unit!r}"
    )


def months_to_units(months: float, unit: str) -> float:
    """A number of calendar months (of 365.25/12 days) in model units."""
    return months * DAYS_PER_MONTH / DAYS_PER_UNIT[check_time_unit(unit)]


def units_per_month(unit: str) -> float:
    """How many model units make one month: 1 for M, 4.348 for W, 30.44 for D."""
    return DAYS_PER_MONTH / DAYS_PER_UNIT[check_time_unit(unit)]


def annual_to_monthly_rate(annual_rate: float) -> float:
    """The monthly discount rate equivalent to an annual one: (1 + r)^(1/12) - 1."""
    if not annual_rate > -1:
        raise InputError(f"annual_discount_rate must be greater than -1, got {annual_rate}")
    return (1.0 + annual_rate) ** (1.0 / 12.0) - 1.0
