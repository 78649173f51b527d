"""The report's settings: the Settings sheet's cells and CLI flags, read and validated.

Percentages are fractions: a gross margin of 40 % is 0.4 (an Excel cell formatted as % holds
0.4) or the text "40%"; a value above 1 is rejected with that hint rather than silently divided
by 100.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from xlclv._errors import InputError
from xlclv._timeunits import check_time_unit

__all__ = ["AUTO", "MAX_SEGMENTS", "MODELS", "PURCHASE_MODELS", "Settings"]

#: With segment_by blank, an extra column with more distinct values than this is not a segment.
MAX_SEGMENTS = 50
#: Purchase models the report can use: key -> (display name, class name in xlclv.models).
#: Adding a model is one entry here; a model whose class xlclv.models does not export (yet)
#: is left out of ``model = AUTO`` and rejected when asked for by name.
PURCHASE_MODELS = {
    "BGNBD": ("BG/NBD", "BetaGeoModel"),
    "PNBD": ("Pareto/NBD", "ParetoNBDModel"),
    "MBGNBD": ("MBG/NBD", "ModifiedBetaGeoModel"),
}
#: Display names of the purchase models: key -> name. BG/BB is not in PURCHASE_MODELS (it
#: needs discrete opportunities, not continuous time): the ``periods`` setting selects it.
MODELS = {key: name for key, (name, _) in PURCHASE_MODELS.items()}
MODELS["BGBB"] = "BG/BB"
#: The ``periods`` setting: calendar opportunity -> months in one.
PERIOD_MONTHS = {"Y": 12, "Q": 3, "M": 1}
PERIOD_NAMES = {"Y": "year", "Q": "quarter", "M": "month"}
_PERIOD_WORDS = {
    "Y": "Y", "YEAR": "Y", "YEARS": "Y", "YEARLY": "Y", "ANNUAL": "Y", "A": "Y",
    "Q": "Q", "QUARTER": "Q", "QUARTERS": "Q", "QUARTERLY": "Q",
    "M": "M", "MONTH": "M", "MONTHS": "M", "MONTHLY": "M",
}  # fmt: skip
#: The ``model`` setting that fits every available model and picks one on the holdout and AIC.
AUTO = "AUTO"
_MODEL_ALIASES = {
    **{re.sub(r"[^A-Z]", "", k): k for k in PURCHASE_MODELS},
    **{re.sub(r"[^A-Z]", "", name.upper()): k for k, (name, _) in PURCHASE_MODELS.items()},
    "BETAGEO": "BGNBD",
    "PARETO": "PNBD",
    "MODIFIEDBETAGEO": "MBGNBD",
    "AUTO": AUTO,
    "AUTOMATIC": AUTO,
}


def available_models() -> list[str]:
    """Keys of the purchase models whose class :mod:`xlclv.models` exports, in registry order."""
    import xlclv.models

    return [k for k, (_, cls) in PURCHASE_MODELS.items() if hasattr(xlclv.models, cls)]


_UNIT_WORDS = {
    "DAY": "D",
    "DAYS": "D",
    "WEEK": "W",
    "WEEKS": "W",
    "MONTH": "M",
    "MONTHS": "M",
}
_EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass
class Settings:
    """The report settings (validated). See :meth:`from_values` for reading raw values.

    Attributes
    ----------
    gross_margin : float
        Share of revenue that is profit, 0 < margin <= 1 (1 = value revenue, not profit).
    annual_discount_rate : float
        Annual rate future value is discounted at, 0 <= rate < 1.
    horizon_months : float
        How many months ahead predicted CLV looks (0 < months <= 600).
    time_unit : {"D", "W", "M"}
        The model's time unit (recency, T and the fitted rates are in it).
    observation_end : datetime.date or None
        The last day of data to use; None = the last date in the data. Later rows are listed
        as data issues.
    segment_by : list of str or None
        Segment columns to summarise; None = every extra column of the transactions.
    currency : str or None
        Currency code for number formats (e.g. "USD", "EUR"); None = the currency the
        amounts are written in ($, €, USD 12.00, or a ``Currency`` column), else USD. The
        report stops when the data are in more than one currency, or in another currency
        than the one set (:mod:`xlclv.report.currency`).
    model : {"AUTO", "BGNBD", "PNBD", "MBGNBD"}
        The purchase model (spend is always Gamma-Gamma). AUTO (the default) fits every
        available model (BG/NBD, Pareto/NBD and MBG/NBD when available) and picks one on the
        holdout check and AIC (:func:`xlclv.report.fit.choose_model`); a key forces that model.
    holdout_weeks : int or None
        Length of the holdout check's holdout period in weeks; None = the last 25 % of the
        period from the first purchase to the observation end.
    periods : {"Y", "Q", "M"} or None
        Discrete opportunities (calendar years, quarters or months), e.g. yearly donation
        drives: the report then uses the BG/BB model (Fader, Hardie & Shang 2010) on whether
        each customer bought in each period after her first; None = continuous time (BG/NBD,
        MBG/NBD, Pareto/NBD).
    churn_horizon_days : float
        Horizon of the churn-risk column ``P(no purchase, next 90 days)`` in days (default 90;
        above 0, at most 3,650).
    columns : dict or None
        Explicit column mapping {field: header}, fields ``customer_id``, ``date``, ``amount``
        (text form ``customer_id=Email,date=Created at,amount=Total``); None = recognise the
        headers (see :data:`xlclv.report.clean.COLUMN_ALIASES`).
    date_order : {"YMD", "DMY", "MDY"} or None
        Order of dates written as text such as 03/04/2024; None = the only order the data
        fit, else the run stops and asks for it.
    decimal_separator : {".", ","} or None
        Decimal separator of amounts written as text; None = the one the data imply, else the
        run stops and asks for it.
    max_rejected_share : float
        When the rows not used are more than this share of the rows, or of the absolute
        amount, the report warns loudly (Dashboard banner, console, exit status 3); default
        0.01 (1 %).
    include_zero_amounts : bool
        Count purchases of exactly 0 (free orders) as purchase occasions, as the published
        CDNOW analysis does (default True); False leaves them out of the model.
    """

    gross_margin: float = 1.0
    annual_discount_rate: float = 0.10
    horizon_months: float = 12
    time_unit: str = "W"
    observation_end: dt.date | None = None
    segment_by: list[str] | None = None
    currency: str | None = None
    model: str = AUTO
    holdout_weeks: int | None = None
    churn_horizon_days: float = 90.0
    periods: str | None = None
    columns: dict[str, str] | None = None
    date_order: str | None = None
    decimal_separator: str | None = None
    max_rejected_share: float = 0.01
    include_zero_amounts: bool = True

    def __post_init__(self) -> None:
        checked = _validate(
            {k: getattr(self, k) for k in _SETTING_NAMES}, sources=dict.fromkeys(_SETTING_NAMES)
        )
        for k, v in checked.items():
            object.__setattr__(self, k, v)

    @classmethod
    def from_values(
        cls, values: Mapping[str, object] | None = None, *, sheet: str = "Settings", **overrides
    ) -> Settings:
        """Settings from raw values (e.g. the Settings sheet's cells) and overrides.

        Parameters
        ----------
        values : mapping
            Raw values by key, as read from the Settings sheet: numbers, text, dates, Excel
            serial dates, or None/"" for blank (= the default). Keys match case-insensitively
            ignoring spaces; unknown keys are ignored.
        sheet : str
            Where ``values`` came from, for messages.
        **overrides
            Values that win over ``values`` (e.g. command-line flags); None means "not given".

        Raises
        ------
        InputError
            A value is not valid; the message names the setting, the value and the fix, e.g.
            "Setting 'gross_margin' must be between 0 and 1, got 1.4 (sheet 'Settings')".
        """
        raw: dict[str, object] = {}
        sources: dict[str, str | None] = {}
        for key, value in (values or {}).items():
            k = _setting_key(key)
            if k in _SETTING_NAMES and not _blank(value):
                raw[k], sources[k] = value, sheet
        for key, value in overrides.items():
            k = _setting_key(key)
            if k not in _SETTING_NAMES:
                raise InputError(
                    f"Unknown setting '{key}'; the settings are {', '.join(_SETTING_NAMES)}"
                )
            if value is not None:
                raw[k], sources[k] = value, None
        return cls(**_validate(raw, sources=sources))


_SETTING_NAMES = (
    "gross_margin",
    "annual_discount_rate",
    "horizon_months",
    "time_unit",
    "observation_end",
    "segment_by",
    "currency",
    "model",
    "holdout_weeks",
    "churn_horizon_days",
    "periods",
    "columns",
    "date_order",
    "decimal_separator",
    "max_rejected_share",
    "include_zero_amounts",
)
_DEFAULTS = {
    "gross_margin": 1.0,
    "annual_discount_rate": 0.10,
    "horizon_months": 12.0,
    "time_unit": "W",
    "observation_end": None,
    "segment_by": None,
    "currency": None,
    "model": AUTO,
    "holdout_weeks": None,
    "churn_horizon_days": 90.0,
    "periods": None,
    "columns": None,
    "date_order": None,
    "decimal_separator": None,
    "max_rejected_share": 0.01,
    "include_zero_amounts": True,
}
_DATE_ORDERS = ("YMD", "DMY", "MDY")
_DECIMAL_WORDS = {".": ".", ",": ",", "POINT": ".", "DOT": ".", "PERIOD": ".", "COMMA": ","}


def _setting_key(key: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(key).strip().lower())


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str) and not value.strip():
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NaT


def _validate(raw: Mapping[str, object], *, sources: Mapping[str, str | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _SETTING_NAMES:
        value = raw.get(name)
        sheet = sources.get(name)

        def fail(message: str, name: str = name, sheet: str | None = sheet) -> InputError:
            return InputError(f"Setting '{name}' {message}", sheet=sheet)

        if _blank(value):
            out[name] = _DEFAULTS[name]
            continue
        if name in ("gross_margin", "annual_discount_rate"):
            x = _fraction(value, fail)
            if name == "gross_margin" and not 0 < x <= 1:
                hint = " (enter 40% as 0.4 or 40%)" if x > 1 else ""
                raise fail(f"must be between 0 and 1, got {_show(value)}{hint}")
            if name == "annual_discount_rate" and not 0 <= x < 1:
                hint = " (enter 10% as 0.1 or 10%)" if x >= 1 else ""
                raise fail(f"must be at least 0 and below 1, got {_show(value)}{hint}")
            out[name] = x
        elif name == "horizon_months":
            x = _number(value, fail)
            if not 0 < x <= 600:
                raise fail(
                    f"must be a number of months above 0 and at most 600, got {_show(value)}"
                )
            out[name] = float(x)
        elif name == "time_unit":
            text = str(value).strip().upper()
            text = _UNIT_WORDS.get(text, text)
            try:
                out[name] = check_time_unit(text)
            except InputError:
                raise fail(
                    f"must be D (days), W (weeks) or M (months), got {_show(value)}"
                ) from None
        elif name == "observation_end":
            day = _date(value, fail)
            if not dt.date(1900, 1, 1) <= day <= dt.date(2262, 4, 11):
                raise fail(f"must be a date from 1900 to 2262, got {day.isoformat()}")
            out[name] = day
        elif name == "segment_by":
            if isinstance(value, str):
                items = [s.strip() for s in value.split(",")]
            elif isinstance(value, list | tuple):
                items = [str(s).strip() for s in value]
            else:
                raise fail(f"must be column names separated by commas, got {_show(value)}")
            items = [s for s in items if s]
            out[name] = items or None
        elif name == "currency":
            text = str(value).strip().upper()
            if not re.fullmatch(r"[A-Z$€£¥₹]{1,5}", text):
                raise fail(f"must be a currency code such as USD or EUR, got {_show(value)}")
            out[name] = text
        elif name == "model":
            out[name] = _model(value, fail)
        elif name == "holdout_weeks":
            x = _number(value, fail)
            if not (x >= 1 and float(x).is_integer()):
                raise fail(
                    f"must be a whole number of weeks, at least 1, got {_show(value)} (leave it "
                    "blank to hold out the last 25 % of the period)"
                )
            out[name] = int(x)
        elif name == "churn_horizon_days":
            x = _number(value, fail)
            if not 0 < x <= 3650:
                raise fail(
                    f"must be a number of days above 0 and at most 3650, got {_show(value)} "
                    "(e.g. 90 for the churn risk over the next 90 days)"
                )
            out[name] = float(x)
        elif name == "periods":
            text = re.sub(r"[^A-Z]", "", str(value).upper())
            if text not in _PERIOD_WORDS:
                raise fail(
                    f"must be Y (years), Q (quarters) or M (months), or blank for continuous "
                    f"time; got {_show(value)}"
                )
            out[name] = _PERIOD_WORDS[text]
        elif name == "columns":
            from xlclv.report.clean import parse_column_mapping

            try:
                out[name] = parse_column_mapping(value) or None
            except ValueError as exc:
                raise fail(
                    f"is not a column mapping: {exc} (write customer_id=Email,"
                    'date="Created at",amount=Total)'
                ) from None
        elif name == "date_order":
            text = re.sub(r"[\s/.\-]+", "", str(value)).upper()
            if text not in _DATE_ORDERS:
                raise fail(f"must be YMD, DMY or MDY, got {_show(value)}")
            out[name] = text
        elif name == "decimal_separator":
            text = str(value).strip().upper()
            if text not in _DECIMAL_WORDS:
                raise fail(f"must be . (point) or , (comma), got {_show(value)}")
            out[name] = _DECIMAL_WORDS[text]
        elif name == "max_rejected_share":
            x = _fraction(value, fail)
            if not 0 <= x < 1:
                hint = " (enter 1% as 0.01 or 1%)" if x >= 1 else ""
                raise fail(f"must be at least 0 and below 1, got {_show(value)}{hint}")
            out[name] = x
        elif name == "include_zero_amounts":
            out[name] = _yes_no(value, fail)
    if out["periods"] is not None and out["model"] != AUTO:
        raise InputError(
            f"Setting 'model' is {out['model']} but 'periods' is {out['periods']}: periods "
            "select the BG/BB model for discrete opportunities; leave model as AUTO, or clear "
            "periods to use a continuous-time model.",
            sheet=sources.get("model") or sources.get("periods"),
        )
    return out


def _model(value: object, fail: Callable[[str], InputError]) -> str:
    key = _MODEL_ALIASES.get(re.sub(r"[^A-Z]", "", str(value).upper()))
    available = available_models()
    choices = ", ".join(f"{k} ({MODELS[k]})" for k in available)
    if key is None:
        raise fail(f"must be AUTO (choose automatically) or one of {choices}, got {_show(value)}")
    if key != AUTO and key not in available:
        raise fail(
            f"asks for {MODELS[key]}, which this version of xlclv does not have; use AUTO or "
            f"one of {choices}"
        )
    return key


def _show(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _number(value: object, fail: Callable[[str], InputError]) -> float:
    if isinstance(value, bool):
        raise fail(f"must be a number, got {_show(value)}")
    if isinstance(value, int | float | np.integer | np.floating):
        x = float(value)
    elif isinstance(value, str):
        try:
            x = float(value.strip())
        except ValueError:
            raise fail(f"must be a number, got {_show(value)}") from None
    else:
        raise fail(f"must be a number, got {_show(value)}")
    if not math.isfinite(x):
        raise fail(f"must be a finite number, got {_show(value)}")
    return x


def _fraction(value: object, fail: Callable[[str], InputError]) -> float:
    if isinstance(value, str) and value.strip().endswith("%"):
        return _number(value.strip()[:-1], fail) / 100.0
    return _number(value, fail)


def _yes_no(value: object, fail: Callable[[str], InputError]) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating) and float(value) in (0.0, 1.0):
        return bool(value)
    text = str(value).strip().upper()
    if text in ("TRUE", "YES", "Y", "1", "ON"):
        return True
    if text in ("FALSE", "NO", "N", "0", "OFF"):
        return False
    raise fail(f"must be TRUE or FALSE (yes/no), got {_show(value)}")


def _date(value: object, fail: Callable[[str], InputError]) -> dt.date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        x = float(value)
        if math.isfinite(x) and 1 <= x < 2958466:
            return _EXCEL_EPOCH + dt.timedelta(days=int(x) if x >= 61 else int(x) + 1)
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise fail(f"must be a date (YYYY-MM-DD), got {_show(value)}")
