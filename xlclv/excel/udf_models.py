"""Excel functions over the predictive models: RFM summary, BG/NBD, MBG/NBD, Pareto/NBD, BG/BB,
Gamma-Gamma, sBG.

Conventions (shared by every function here):

- Columns of customer data (``frequency``, ``recency``, ``T``, ``monetary_value``, IDs, dates,
  amounts) are ranges of one row or column; blank cells at the end are ignored, so a range
  may run past the data. Per-customer predictions (``*_PALIVE``, ``*_EXPECTED``,
  ``GG_SPEND``) are elementwise instead: they spill the shape of their input, and a row that
  is blank in every input stays blank.
- ``params`` is the 2-column range a ``*_FIT`` function spilled (parameter names in the
  first column; the header row and the ``log_likelihood`` row are ignored) or just the
  parameter values in the documented order.
- Dates may be date cells, Excel serial numbers or ISO text such as 2024-01-31.
- Tables spill with a header row; time columns name their unit, e.g. ``T (W)``.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from typing import Any

import numpy as np

from xlclv._errors import ConvergenceWarning, FitError, InputError, XlclvError
from xlclv._timeunits import check_time_unit, months_to_units
from xlclv.excel.conversion import (
    ARRAY,
    _cell_number,
    _is_blank,
    arg,
    as_grid,
    cell_id,
    check_error_cell,
    excel_id,
    filled_column,
    func,
    number_args,
    per_element,
    single_cell,
    single_number,
    single_text,
)

__all__ = [
    "BGBB_EXPECTED",
    "BGBB_FIT",
    "BGBB_PALIVE",
    "BGNBD_EXPECTED",
    "BGNBD_FIT",
    "BGNBD_PALIVE",
    "BGNBD_PNOPURCHASE",
    "CLV_MODEL",
    "CLV_RFM",
    "GG_FIT",
    "GG_SPEND",
    "MBGNBD_EXPECTED",
    "MBGNBD_FIT",
    "MBGNBD_PALIVE",
    "MBGNBD_PNOPURCHASE",
    "PNBD_EXPECTED",
    "PNBD_FIT",
    "PNBD_PALIVE",
    "PNBD_PNOPURCHASE",
    "SBG_DERL",
    "SBG_FIT",
    "SBG_LIFETIME",
    "SBG_SURVIVAL",
]

#: Excel's day 0: serial 1 is 1900-01-01 and, past Excel's phantom 1900-02-29, serial
#: 61 is 1900-03-01; every date after February 1900 is this epoch plus its serial.
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)

#: Parameters of each model as Excel shows them, in the order of a plain list of values,
#: with the core's name for each (the Gamma-Gamma "gamma" is the core's ``v``).
_PARAMS: dict[str, dict[str, str]] = {
    "BGNBD": {"r": "r", "alpha": "alpha", "a": "a", "b": "b"},
    "MBGNBD": {"r": "r", "alpha": "alpha", "a": "a", "b": "b"},
    "PNBD": {"r": "r", "alpha": "alpha", "s": "s", "beta": "beta"},
    "GG": {"p": "p", "q": "q", "gamma": "v"},
    "SBG": {"alpha": "alpha", "beta": "beta"},
    "BGBB": {"alpha": "alpha", "beta": "beta", "gamma": "gamma", "delta": "delta"},
}
_FIT_NAME = {m: f"{m}_FIT" for m in _PARAMS}
_ALIASES = {"v": "gamma", "γ": "gamma", "α": "alpha", "β": "beta", "δ": "delta"}
#: Rows of a *_FIT table that are not parameters.
_NON_PARAM_ROWS = {"parameter", "log_likelihood", "log-likelihood", "loglikelihood", "ll"}

_UNIT_DOC = (
    'Time unit of recency and T: "D" days, "W" weeks (7 days) or "M" months. Optional, default "W".'
)


# -- argument parsing ---------------------------------------------------------------------
def number_column(value: Any, name: str) -> np.ndarray:
    """The numbers of a one-row/one-column range; blanks at the end ignored, others refused."""
    cells = filled_column(value, name, "row needs a number")
    if not cells:
        raise InputError(f"{name} is empty: give a range with at least one number")
    return np.array([_cell_number(v, name, k) for k, v in enumerate(cells)], dtype=float)


def same_length(**columns: Any) -> None:
    """Refuse columns of customer data whose lengths differ, naming them."""
    lengths = {k: len(v) for k, v in columns.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise InputError(
            f"the ranges hold different numbers of values ({described}): give one value per "
            "customer in each"
        )


def excel_date(v: Any, name: str, index: int | None = None) -> dt.datetime:
    """A date cell, an Excel serial number or ISO text as a datetime."""
    where = "" if index is None else f" (cell {index + 1} of the range)"
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, str):
        check_error_cell(v, name, index)
        try:
            return dt.datetime.fromisoformat(v.strip())
        except ValueError:
            raise InputError(
                f"{name} must be a date, an Excel date number or text such as 2024-01-31, "
                f"got the text {v!r}{where}"
            ) from None
    if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
        x = float(v)
        if not math.isfinite(x) or x < 61 or x >= 2958466:  # 1900-03-01 .. 9999-12-31
            raise InputError(
                f"{name} must be a date; the number {x:g}{where} is not an Excel date "
                "(1900-03-01 is 61)"
            )
        return _EXCEL_EPOCH + dt.timedelta(days=x)
    raise InputError(f"{name} must be a date, got {v!r}{where}")


def customer_ids(value: Any, name: str = "customer_ids") -> list[Any]:
    """IDs of a range (blanks at the end ignored): text stripped, whole numbers as integers."""
    cells = filled_column(value, name, "transaction needs a customer ID")
    if not cells:
        raise InputError(f"{name} is empty: give a range with at least one customer ID")
    return [cell_id(v) for v in cells]


def transactions_frame(customer_ids_, dates, amounts):
    """The transaction ranges as a DataFrame with columns customer_id, date, amount."""
    import pandas as pd

    ids = customer_ids(customer_ids_)
    day = [
        excel_date(v, "dates", k)
        for k, v in enumerate(filled_column(dates, "dates", "transaction needs a date"))
    ]
    amount = number_column(amounts, "amounts")
    same_length(customer_ids=ids, dates=day, amounts=amount)
    return pd.DataFrame({"customer_id": ids, "date": pd.to_datetime(day), "amount": amount})


def time_unit_arg(value: Any) -> str:
    return check_time_unit(single_text(value, "time_unit", default="W"))


def model_params(value: Any, model: str, name: str = "params") -> dict[str, float]:
    """Parameters (core names) from a *_FIT range or from the plain values in order."""
    names = _PARAMS[model]
    order = ", ".join(names)
    how = f"give the range that {_FIT_NAME[model]} spilled, or the {len(names)} values {order}"
    rows = [r for r in as_grid(value) if not all(_is_blank(v) for v in r)]
    labelled = (
        rows
        and all(len(r) >= 2 for r in rows)
        and any(isinstance(r[0], str) and not r[0].strip().startswith("#") for r in rows)
    )
    found: dict[str, float] = {}
    if labelled:
        for i, r in enumerate(rows):
            label = r[0].strip().lower() if isinstance(r[0], str) else r[0]
            if i == 0 and label not in names and isinstance(r[1], str):
                continue  # a header row such as "parameter | value"
            label = _ALIASES.get(label, label)
            check_error_cell(r[0], name, None)
            if label in _NON_PARAM_ROWS:
                continue
            if label not in names:
                raise InputError(
                    f"{name} has the unknown parameter {r[0]!r}: the {model} parameters are "
                    f"{order}; {how}"
                )
            if label in found:
                raise InputError(f"{name} has the parameter {label} twice: {how}")
            found[label] = _cell_number(r[1], f"{name} {label}", None)
        missing = [k for k in names if k not in found]
        if missing:
            raise InputError(f"{name} is missing {', '.join(missing)}: {how}")
    else:
        cells = [v for r in rows for v in r if not _is_blank(v)]
        if len(cells) != len(names):
            raise InputError(f"{name} has {len(cells)} values, not {len(names)}: {how}")
        found = {k: _cell_number(v, f"{name} {k}", None) for k, v in zip(names, cells, strict=True)}
    for k, v in found.items():
        if not v > 0:
            raise InputError(f"{name} {k} must be greater than 0, got {v:g}: {how}")
    return {names[k]: v for k, v in found.items()}


def elementwise(values: dict[str, Any]) -> tuple[list[np.ndarray], dict]:
    """Arguments of a per-customer prediction: arrays of one shape, and the cells in error.

    A position blank in every argument stays blank; blank in some arguments only is an
    error of that cell (naming the blank arguments), as is an unreadable cell
    (:func:`xlclv.excel.conversion.per_element` shows them).
    """
    bad: dict = {}
    grids = number_args(values, bad=bad)
    blank = np.stack([np.isnan(g) for g in grids])
    partial = blank.any(axis=0) & ~blank.all(axis=0)
    ncols = grids[0].shape[1]
    for pos in zip(*np.nonzero(partial), strict=True):
        pos = (int(pos[0]), int(pos[1]))
        if pos in bad:
            continue
        names = [k for k, b in zip(values, blank, strict=True) if b[pos]]
        where = (
            "" if grids[0].size == 1 else f" in cell {pos[0] * ncols + pos[1] + 1} of the ranges"
        )
        bad[pos] = InputError(
            f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} blank{where} "
            "while the other arguments are not"
        )
    return grids, bad


def fit_table(model: Any, names: dict[str, str]) -> list[list[Any]]:
    """The 2-column parameter table a *_FIT function spills."""
    rows: list[list[Any]] = [["parameter", "value"]]
    rows += [[excel_name, model.params_[core]] for excel_name, core in names.items()]
    rows.append(["log_likelihood", model.log_likelihood_])
    return rows


def fitted(model: Any, label: str, *args: Any) -> Any:
    """``model.fit(*args)``, with non-convergence raised as a FitError (Excel shows it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(*args)
    if not model.converged_:
        raise FitError(
            f"The {label} fit {model.fit_message_}: its estimates are unreliable. "
            "Check the data (enough repeat buyers? consistent time unit?)."
        )
    return model


_MODEL_CLASSES = {
    "BGNBD": "BetaGeoModel",
    "MBGNBD": "ModifiedBetaGeoModel",
    "PNBD": "ParetoNBDModel",
    "GG": "GammaGammaModel",
    "SBG": "ShiftedBetaGeometricModel",
    "BGBB": "BetaGeoBetaBinomModel",
}


def cached_fit(model: str, label: str, *data: np.ndarray) -> Any:
    """:func:`fitted` on a new ``model`` (a key of :data:`_PARAMS`), cached on a digest of the
    data (:mod:`xlclv.excel.cache`): the same data is never fitted twice."""
    from xlclv import models
    from xlclv.excel import cache

    def make() -> Any:
        return fitted(getattr(models, _MODEL_CLASSES[model])(), label, *data)

    return cache.fits.get_or_make((model, cache.digest(*data)), make)


def _rfm_columns(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f = number_column(frequency, "frequency")
    r = number_column(recency, "recency")
    t = number_column(T, "T")
    same_length(frequency=f, recency=r, T=t)
    return f, r, t


def _model_class(model: str):
    from xlclv import models

    return getattr(models, _MODEL_CLASSES[model])


def _with_params(model: str, params: Any):
    values = model_params(params, model)
    return _model_class(model)().set_params(**values)


# -- RFM summary --------------------------------------------------------------------------
_IDS_DOC = "Customer ID of each transaction: a column (blanks at the end ignored)."
_DATES_DOC = "Date of each transaction: date cells, Excel date numbers or text such as 2024-01-31."
_AMOUNTS_DOC = (
    "Amount of each transaction. Amounts of 0 (free orders) count as purchases, as in the "
    "published CDNOW analysis; negative amounts (returns) do not."
)


@func()
@arg("customer_ids", doc=_IDS_DOC, **ARRAY)
@arg("dates", doc=_DATES_DOC, **ARRAY)
@arg("amounts", doc=_AMOUNTS_DOC, **ARRAY)
@arg(
    "observation_end",
    doc="Last day observed (inclusive); later transactions are left out. Optional, default the last date.",
    **ARRAY,
)
@arg("time_unit", doc=_UNIT_DOC, **ARRAY)
def CLV_RFM(customer_ids, dates, amounts, observation_end=None, time_unit="W"):
    """RFM summary per customer from transactions: spills customer_id, frequency (repeat purchase days), recency, T and monetary_value (mean repeat purchase)."""
    from xlclv.transactions import rfm_summary

    unit = time_unit_arg(time_unit)
    tx = transactions_frame(customer_ids, dates, amounts)
    end = single_cell(observation_end, "observation_end")
    end = None if end is None else excel_date(end, "observation_end")
    summary = rfm_summary(tx, time_unit=unit, observation_end=end, include_zero_amounts=True)
    header = ["customer_id", "frequency", f"recency ({unit})", f"T ({unit})", "monetary_value"]
    return [header] + [
        [excel_id(cid), *map(float, row)]
        for cid, row in zip(summary.index, summary.to_numpy(), strict=True)
    ]


# -- BG/NBD and Pareto/NBD ----------------------------------------------------------------
_FREQ_DOC = "Repeat purchases per customer (frequency), e.g. a column of CLV_RFM."
_REC_DOC = "Time from first to last purchase per customer (recency), in the time unit of T."
_T_DOC = "Time from first purchase to the end of observation per customer (T)."
_PARAMS_DOC = {
    m: f"Parameters: the range {_FIT_NAME[m]} spilled, or the {len(p)} values {', '.join(p)}."
    for m, p in _PARAMS.items()
}
_HORIZON_DOC = "Length of the future period, in the time unit of recency and T (e.g. 52 weeks)."


def _fit(model: str, label: str, frequency, recency, T):
    f, r, t = _rfm_columns(frequency, recency, T)
    m = cached_fit(model, label, f, r, t)
    return fit_table(m, _PARAMS[model])


def _palive(model: str, frequency, recency, T, params):
    grids, bad = elementwise({"frequency": frequency, "recency": recency, "T": T})
    m = _with_params(model, params)
    return per_element(m.probability_alive, grids, bad)


def _expected(model: str, horizon, frequency, recency, T, params):
    args = {"horizon": horizon, "frequency": frequency, "recency": recency, "T": T}
    grids, bad = elementwise(args)
    m = _with_params(model, params)

    def core(h, f, r, t):
        if (h < 0).any():
            raise InputError(f"horizon must be 0 or more, got {h[h < 0][0]:g}")
        return m.expected_purchases(h, f, r, t)

    return per_element(core, grids, bad)


@func(call_in_wizard=False)  # fits a model: not on every keystroke of the wizard
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("recency", doc=_REC_DOC, **ARRAY)
@arg("T", doc=_T_DOC, **ARRAY)
def BGNBD_FIT(frequency, recency, T):
    """Fits the BG/NBD model (Fader, Hardie & Lee 2005): spills parameter/value rows r, alpha, a, b and log_likelihood."""
    return _fit("BGNBD", "BG/NBD", frequency, recency, T)


@func()
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("recency", doc=_REC_DOC, **ARRAY)
@arg("T", doc=_T_DOC, **ARRAY)
@arg("params", doc=_PARAMS_DOC["BGNBD"], **ARRAY)
def BGNBD_PALIVE(frequency, recency, T, params):
    """Probability that each customer is still active (alive) under a fitted BG/NBD model."""
    return _palive("BGNBD", frequency, recency, T, params)


@func()
@arg("horizon", doc=_HORIZON_DOC, **ARRAY)
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("recency", doc=_REC_DOC, **ARRAY)
@arg("T", doc=_T_DOC, **ARRAY)
@arg("params", doc=_PARAMS_DOC["BGNBD"], **ARRAY)
def BGNBD_EXPECTED(horizon, frequency, recency, T, params):
    """Expected purchases of each customer in the next horizon time units under a fitted BG/NBD model."""
    return _expected("BGNBD", horizon, frequency, recency, T, params)


@func(call_in_wizard=False)  # fits a model: not on every keystroke of the wizard
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("recency", doc=_REC_DOC, **ARRAY)
@arg("T", doc=_T_DOC, **ARRAY)
def PNBD_FIT(frequency, recency, T):
    """Fits the Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): spills parameter/value rows r, alpha, s, beta and log_likelihood."""
    return _fit("PNBD", "Pareto/NBD", frequency, recency, T)


@func()
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("recency", doc=_REC_DOC, **ARRAY)
@arg("T", doc=_T_DOC, **ARRAY)
@arg("params", doc=_PARAMS_DOC["PNBD"], **ARRAY)
def PNBD_PALIVE(frequency, recency, T, params):
    """Probability that each customer is still active (alive) under a fitted Pareto/NBD model."""
    return _palive("PNBD", frequency, recency, T, params)


@func()
@arg("horizon", doc=_HORIZON_DOC, **ARRAY)
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("recency", doc=_REC_DOC, **ARRAY)
@arg("T", doc=_T_DOC, **ARRAY)
@arg("params", doc=_PARAMS_DOC["PNBD"], **ARRAY)
def PNBD_EXPECTED(horizon, frequency, recency, T, params):
    """Expected purchases of each customer in the next horizon time units under a fitted Pareto/NBD model."""
    return _expected("PNBD", horizon, frequency, recency, T, params)


def _no_purchase(model: str, horizon, frequency, recency, T, params):
    args = {"horizon": horizon, "frequency": frequency, "recency": recency, "T": T}
    grids, bad = elementwise(args)
    m = _with_params(model, params)

    def core(h, f, r, t):
        if (h < 0).any():
            raise InputError(f"horizon must be 0 or more, got {h[h < 0][0]:g}")
        return m.probability_no_purchase(h, f, r, t)

    return per_element(core, grids, bad)


@func()
@arg("horizon", doc=_HORIZON_DOC, **ARRAY)
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("recency", doc=_REC_DOC, **ARRAY)
@arg("T", doc=_T_DOC, **ARRAY)
@arg("params", doc=_PARAMS_DOC["BGNBD"], **ARRAY)
def BGNBD_PNOPURCHASE(horizon, frequency, recency, T, params):
    """Probability that each customer makes no purchase in the next horizon time units under a fitted BG/NBD model (churn risk)."""
    return _no_purchase("BGNBD", horizon, frequency, recency, T, params)


@func()
@arg("horizon", doc=_HORIZON_DOC, **ARRAY)
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("recency", doc=_REC_DOC, **ARRAY)
@arg("T", doc=_T_DOC, **ARRAY)
@arg("params", doc=_PARAMS_DOC["PNBD"], **ARRAY)
def PNBD_PNOPURCHASE(horizon, frequency, recency, T, params):
    """Probability that each customer makes no purchase in the next horizon time units under a fitted Pareto/NBD model (churn risk)."""
    return _no_purchase("PNBD", horizon, frequency, recency, T, params)


# -- MBG/NBD ------------------------------------------------------------------------------
@func(call_in_wizard=False)  # fits a model: not on every keystroke of the wizard
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("recency", doc=_REC_DOC, **ARRAY)
@arg("T", doc=_T_DOC, **ARRAY)
def MBGNBD_FIT(frequency, recency, T):
    """Fits the MBG/NBD model (Batislam, Denizel & Filiztekin 2007), where one-time buyers can be inactive: spills r, alpha, a, b and log_likelihood."""
    return _fit("MBGNBD", "MBG/NBD", frequency, recency, T)


@func()
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("recency", doc=_REC_DOC, **ARRAY)
@arg("T", doc=_T_DOC, **ARRAY)
@arg("params", doc=_PARAMS_DOC["MBGNBD"], **ARRAY)
def MBGNBD_PALIVE(frequency, recency, T, params):
    """Probability that each customer is still active (alive) under a fitted MBG/NBD model; below 100 % for one-time buyers too."""
    return _palive("MBGNBD", frequency, recency, T, params)


@func()
@arg("horizon", doc=_HORIZON_DOC, **ARRAY)
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("recency", doc=_REC_DOC, **ARRAY)
@arg("T", doc=_T_DOC, **ARRAY)
@arg("params", doc=_PARAMS_DOC["MBGNBD"], **ARRAY)
def MBGNBD_EXPECTED(horizon, frequency, recency, T, params):
    """Expected purchases of each customer in the next horizon time units under a fitted MBG/NBD model."""
    return _expected("MBGNBD", horizon, frequency, recency, T, params)


@func()
@arg("horizon", doc=_HORIZON_DOC, **ARRAY)
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("recency", doc=_REC_DOC, **ARRAY)
@arg("T", doc=_T_DOC, **ARRAY)
@arg("params", doc=_PARAMS_DOC["MBGNBD"], **ARRAY)
def MBGNBD_PNOPURCHASE(horizon, frequency, recency, T, params):
    """Probability that each customer makes no purchase in the next horizon time units under a fitted MBG/NBD model (churn risk)."""
    return _no_purchase("MBGNBD", horizon, frequency, recency, T, params)


# -- BG/BB (discrete opportunities) -------------------------------------------------------
_BB_FREQ_DOC = "Opportunities with a repeat transaction per customer (frequency), whole numbers."
_BB_REC_DOC = (
    "Opportunity of each customer's last repeat transaction (recency), 0 if none; "
    "at most n_periods."
)
_BB_N_DOC = (
    "Opportunities each customer had after her first transaction (n_periods), e.g. 6 "
    "yearly donation drives."
)
_BB_WEIGHTS_DOC = (
    "Customers each row stands for, for a table of distinct histories. Optional, default 1."
)
_BB_FUTURE_DOC = "Number of future opportunities, a whole number, e.g. 5 (the next 5 drives)."


@func(call_in_wizard=False)  # fits a model: not on every keystroke of the wizard
@arg("frequency", doc=_BB_FREQ_DOC, **ARRAY)
@arg("recency", doc=_BB_REC_DOC, **ARRAY)
@arg("n_periods", doc=_BB_N_DOC, **ARRAY)
@arg("weights", doc=_BB_WEIGHTS_DOC, **ARRAY)
def BGBB_FIT(frequency, recency, n_periods, weights=None):
    """Fits the BG/BB model (Fader, Hardie & Shang 2010) for discrete opportunities such as yearly donations: spills alpha, beta, gamma, delta and log_likelihood."""
    f = number_column(frequency, "frequency")
    r = number_column(recency, "recency")
    n = number_column(n_periods, "n_periods")
    if _blank_range(weights):
        same_length(frequency=f, recency=r, n_periods=n)
        data: tuple[np.ndarray, ...] = (f, r, n)
    else:
        w = number_column(weights, "weights")
        same_length(frequency=f, recency=r, n_periods=n, weights=w)
        data = (f, r, n, w)
    model = cached_fit("BGBB", "BG/BB", *data)
    return fit_table(model, _PARAMS["BGBB"])


def _blank_range(value: Any) -> bool:
    """True for an omitted optional range (missing, or blank cells only)."""
    return all(_is_blank(v) for row in as_grid(value) for v in row)


@func()
@arg("frequency", doc=_BB_FREQ_DOC, **ARRAY)
@arg("recency", doc=_BB_REC_DOC, **ARRAY)
@arg("n_periods", doc=_BB_N_DOC, **ARRAY)
@arg("params", doc=_PARAMS_DOC["BGBB"], **ARRAY)
def BGBB_PALIVE(frequency, recency, n_periods, params):
    """Probability that each customer is still active at the next opportunity under a fitted BG/BB model."""
    grids, bad = elementwise({"frequency": frequency, "recency": recency, "n_periods": n_periods})
    m = _with_params("BGBB", params)
    return per_element(m.probability_alive, grids, bad)


@func()
@arg("n_future", doc=_BB_FUTURE_DOC, **ARRAY)
@arg("frequency", doc=_BB_FREQ_DOC, **ARRAY)
@arg("recency", doc=_BB_REC_DOC, **ARRAY)
@arg("n_periods", doc=_BB_N_DOC, **ARRAY)
@arg("params", doc=_PARAMS_DOC["BGBB"], **ARRAY)
def BGBB_EXPECTED(n_future, frequency, recency, n_periods, params):
    """Expected transactions of each customer in the next n_future opportunities under a fitted BG/BB model."""
    args = {
        "n_future": n_future,
        "frequency": frequency,
        "recency": recency,
        "n_periods": n_periods,
    }
    grids, bad = elementwise(args)
    m = _with_params("BGBB", params)
    return per_element(m.expected_purchases, grids, bad)


# -- Gamma-Gamma --------------------------------------------------------------------------
_MONETARY_DOC = (
    "Mean amount of each customer's repeat purchases (monetary_value), e.g. a column of CLV_RFM."
)


@func(call_in_wizard=False)  # fits a model: not on every keystroke of the wizard
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("monetary_value", doc=_MONETARY_DOC, **ARRAY)
def GG_FIT(frequency, monetary_value):
    """Fits the Gamma-Gamma spend model (Fader, Hardie & Lee 2005) on repeat buyers: spills p, q, gamma and log_likelihood."""
    f = number_column(frequency, "frequency")
    m = number_column(monetary_value, "monetary_value")
    same_length(frequency=f, monetary_value=m)
    model = cached_fit("GG", "Gamma-Gamma", f, m)
    return fit_table(model, _PARAMS["GG"])


@func()
@arg("frequency", doc=_FREQ_DOC, **ARRAY)
@arg("monetary_value", doc=_MONETARY_DOC, **ARRAY)
@arg("params", doc=_PARAMS_DOC["GG"], **ARRAY)
def GG_SPEND(frequency, monetary_value, params):
    """Expected average spend per purchase of each customer under a fitted Gamma-Gamma model."""
    from xlclv.models import GammaGammaModel

    grids, bad = elementwise({"frequency": frequency, "monetary_value": monetary_value})
    model = GammaGammaModel().set_params(**model_params(params, "GG"))
    return per_element(model.expected_spend, grids, bad)


# -- one formula from transactions to CLV -------------------------------------------------
_MODELS = {"BGNBD": "BG/NBD", "MBGNBD": "MBG/NBD", "PNBD": "Pareto/NBD"}
#: Parameter draws behind CLV_MODEL's interval, and their fixed seed: a recalculation gives
#: the same range.
_INTERVAL_DRAWS = 1000
_INTERVAL_SEED = 20240101


@func(call_in_wizard=False)  # fits a model: not on every keystroke of the wizard
@arg("customer_ids", doc=_IDS_DOC, **ARRAY)
@arg("dates", doc=_DATES_DOC, **ARRAY)
@arg("amounts", doc=_AMOUNTS_DOC, **ARRAY)
@arg(
    "gross_margin",
    doc="Gross margin as a share between 0 and 1, e.g. 0.3 for 30 %. Optional, default 1.",
    **ARRAY,
)
@arg(
    "horizon_months",
    doc="How many months ahead to value, e.g. 12 or 36. Optional, default 12.",
    **ARRAY,
)
@arg(
    "annual_discount_rate",
    doc="Discount rate per year, e.g. 0.1 for 10 %. Optional, default 0.1.",
    **ARRAY,
)
@arg(
    "model",
    doc='Purchase model: "BGNBD" (BG/NBD), "MBGNBD" (MBG/NBD) or "PNBD" (Pareto/NBD). Optional, default "BGNBD".',
    **ARRAY,
)
@arg(
    "time_unit",
    doc='Time unit of recency and T in the table: "D", "W" or "M". Optional, default "W".',
    **ARRAY,
)
@arg(
    "interval",
    doc="Width of a CLV range from parameter uncertainty, e.g. 0.8 adds columns clv_p10 and clv_p90. Optional, default none.",
    **ARRAY,
)
def CLV_MODEL(
    customer_ids,
    dates,
    amounts,
    gross_margin=1,
    horizon_months=12,
    annual_discount_rate=0.1,
    model="BGNBD",
    time_unit="W",
    interval=None,
):
    """Predictive CLV per customer from transactions (BG/NBD, MBG/NBD or Pareto/NBD with Gamma-Gamma spend): spills RFM, p_alive, expected purchases and spend, clv and, with interval, its range."""
    given = single_text(model, "model", default="BGNBD")
    name = given.upper().replace("/", "")
    if name not in _MODELS:
        raise InputError(
            f'model must be "BGNBD" (BG/NBD), "MBGNBD" (MBG/NBD) or "PNBD" (Pareto/NBD), '
            f"got {given!r}"
        )
    unit = time_unit_arg(time_unit)
    margin = single_number(gross_margin, "gross_margin", default=1.0)
    horizon = single_number(horizon_months, "horizon_months", default=12.0)
    rate = single_number(annual_discount_rate, "annual_discount_rate", default=0.1)
    width = single_number(interval, "interval", default=0.0)
    if not 0 <= margin <= 1:
        raise InputError(
            f"gross_margin must be a share between 0 and 1 (e.g. 0.3 for 30 %), got {margin:g}"
        )
    if not horizon > 0:
        raise InputError(f"horizon_months must be greater than 0, got {horizon:g}")
    if width != 0 and not 0.5 <= width <= 0.98:
        raise InputError(
            f"interval must be a share from 0.5 to 0.98 (e.g. 0.8 for the range from the 10th "
            f"to the 90th percentile), or blank for none; got {width:g}"
        )

    from xlclv.excel import cache

    # the cells as xlwings delivered them: unchanged transactions are parsed and fitted once,
    # and a recalculation with every argument unchanged returns the finished table
    cells = cache.cells_digest(customer_ids, dates, amounts)
    key = (cells, name, unit, margin, horizon, rate, width)
    rows = cache.tables.get_or_make(
        key,
        lambda: _clv_table(
            customer_ids, dates, amounts, cells, name, unit, margin, horizon, rate, width
        ),
    )
    return [list(row) for row in rows]  # a copy: the cached table stays as it was


def _clv_table(customer_ids, dates, amounts, cells, name, unit, margin, horizon, rate, width):
    """CLV_MODEL's table (header + one row per customer)."""
    from xlclv.excel import cache
    from xlclv.valuation import customer_lifetime_value

    def summarise() -> tuple:
        from xlclv.transactions import rfm_summary

        summary = rfm_summary(
            transactions_frame(customer_ids, dates, amounts),
            time_unit=unit,
            include_zero_amounts=True,
        )
        columns = ("frequency", "recency", "T", "monetary_value")
        return ([excel_id(c) for c in summary.index], *(summary[c].to_numpy() for c in columns))

    ids, f, r, t, mv = cache.summaries.get_or_make((cells, unit), summarise)
    purchase = cached_fit(name, _MODELS[name], f, r, t)
    spend = cached_fit("GG", "Gamma-Gamma", f, mv)
    p_alive = purchase.probability_alive(f, r, t)
    expected = purchase.expected_purchases(months_to_units(horizon, unit), f, r, t)
    avg_spend = spend.expected_spend(f, mv)
    clv = customer_lifetime_value(
        purchase,
        spend,
        f,
        r,
        t,
        mv,
        gross_margin=margin,
        horizon_months=horizon,
        annual_discount_rate=rate,
        time_unit=unit,
    )
    header = [
        "customer_id",
        "frequency",
        f"recency ({unit})",
        f"T ({unit})",
        "monetary_value",
        "p_alive",
        "expected_purchases",
        "expected_spend",
        "clv",
    ]
    columns = [f, r, t, mv, p_alive, expected, avg_spend, clv]
    if width:
        low, high = _clv_range(purchase, spend, f, r, t, mv, margin, horizon, rate, unit, width)
        header += [f"clv_p{_percent(low)}", f"clv_p{_percent(high)}"]
        columns += [low.to_numpy(), high.to_numpy()]
    table = np.column_stack(columns).astype(float)
    return [header] + [[cid, *row] for cid, row in zip(ids, table.tolist(), strict=True)]


def _percent(column) -> str:
    """The percentile of a quantile column of clv_interval (``p10`` -> ``10``)."""
    return str(column.name)[1:]


def _clv_range(purchase, spend, f, r, t, mv, margin, horizon, rate, unit, width):
    """Lower and upper CLV quantile per customer (:func:`xlclv.intervals.clv_interval`)."""
    from xlclv.intervals import clv_interval

    tail = (1.0 - width) / 2.0
    result = clv_interval(
        purchase, spend, f, r, t, mv,
        gross_margin=margin, horizon_months=horizon, annual_discount_rate=rate,
        time_unit=unit, n_draws=_INTERVAL_DRAWS, quantiles=(tail, 1.0 - tail),
        seed=_INTERVAL_SEED,
    )  # fmt: skip
    quantile_columns = [c for c in result.customers.columns if c != "clv"]
    return result.customers[quantile_columns[0]], result.customers[quantile_columns[1]]


# -- shifted-beta-geometric (contractual) -------------------------------------------------
_ALPHA_DOC = "sBG alpha, e.g. from SBG_FIT (greater than 0)."
_BETA_DOC = "sBG beta, e.g. from SBG_FIT (greater than 0)."


def _sbg(alpha, beta):
    from xlclv.models import ShiftedBetaGeometricModel

    params = {
        "alpha": single_number(alpha, "alpha"),
        "beta": single_number(beta, "beta"),
    }
    for k, v in params.items():
        if not v > 0:
            raise InputError(f"{k} must be greater than 0, got {v:g}")
    return ShiftedBetaGeometricModel().set_params(**params)


@func(call_in_wizard=False)  # fits a model: not on every keystroke of the wizard
@arg(
    "active_by_period",
    doc="Customers of one cohort still active at the start of each period, first = cohort size, e.g. 1000, 631, 468.",
    **ARRAY,
)
def SBG_FIT(active_by_period):
    """Fits the shifted-beta-geometric retention model (Fader & Hardie 2007) to one cohort: spills alpha, beta and log_likelihood."""
    active = number_column(active_by_period, "active_by_period")
    model = cached_fit("SBG", "shifted-beta-geometric", active)
    return fit_table(model, _PARAMS["SBG"])


@func()
@arg("alpha", doc=_ALPHA_DOC, **ARRAY)
@arg("beta", doc=_BETA_DOC, **ARRAY)
@arg(
    "periods",
    doc="Last period to project, a whole number, e.g. 12: spills periods 0 to 12.",
    **ARRAY,
)
def SBG_SURVIVAL(alpha, beta, periods):
    """Projected share of a cohort still active at the start of periods 0..periods under the sBG model: spills period and survival."""
    model = _sbg(alpha, beta)
    n = single_number(periods, "periods")
    if n < 0 or n != math.floor(n) or n > 100_000:
        raise InputError(f"periods must be a whole number from 0 to 100000, got {n:g}")
    surv = np.asarray(model.survival(int(n)), dtype=float)
    return [["period", "survival"]] + [[float(k), float(s)] for k, s in enumerate(surv)]


@func()
@arg("alpha", doc=_ALPHA_DOC, **ARRAY)
@arg("beta", doc=_BETA_DOC, **ARRAY)
@arg(
    "discount_rate",
    doc="Discount rate per period, e.g. 0.1 a year. Optional, default 0 (undiscounted).",
    **ARRAY,
)
def SBG_LIFETIME(alpha, beta, discount_rate=0):
    """Discounted expected lifetime of a new customer in periods under the sBG model (Fader & Hardie 2010)."""
    model = _sbg(alpha, beta)
    d = single_number(discount_rate, "discount_rate", default=0.0)
    if d < 0:
        raise InputError(f"discount_rate must be 0 or more, got {d:g}")
    if d == 0 and model.params_["alpha"] <= 1:
        raise InputError(
            f"the undiscounted expected lifetime is infinite when alpha is at most 1 "
            f"(alpha = {model.params_['alpha']:g}): give a discount rate above 0"
        )
    return float(model.discounted_expected_lifetime(d))


@func()
@arg("alpha", doc=_ALPHA_DOC, **ARRAY)
@arg("beta", doc=_BETA_DOC, **ARRAY)
@arg(
    "periods_survived",
    doc="Periods each customer has been active (tenure n, at least 1), e.g. a column of whole numbers.",
    **ARRAY,
)
@arg(
    "discount_rate",
    doc="Discount rate per period, e.g. 0.1 a year. Optional, default 0 (undiscounted).",
    **ARRAY,
)
def SBG_DERL(alpha, beta, periods_survived, discount_rate=0):
    """Discounted expected residual lifetime in periods of each customer active for periods_survived periods, valued just before her next renewal (sBG, Fader & Hardie 2010): multiply by the payment per period for her remaining value."""
    model = _sbg(alpha, beta)
    d = single_number(discount_rate, "discount_rate", default=0.0)
    if d < 0:
        raise InputError(f"discount_rate must be 0 or more, got {d:g}")
    if d == 0 and model.params_["alpha"] <= 1:
        raise InputError(
            f"the undiscounted expected residual lifetime is infinite when alpha is at most 1 "
            f"(alpha = {model.params_['alpha']:g}): give a discount rate above 0"
        )
    grids, bad = elementwise({"periods_survived": periods_survived})

    def core(n):
        wrong = (n < 1) | (n != np.floor(n))
        if wrong.any():
            raise InputError(
                f"periods_survived must be a whole number of at least 1, got {n[wrong][0]:g}"
            )
        out = np.asarray(model.discounted_expected_residual_lifetime(d, n), dtype=float)
        if not np.isfinite(out).all():
            raise XlclvError(
                "the residual lifetime cannot be computed reliably for these parameters and "
                "tenures (the evaluation returned no finite value)"
            )
        return out

    return per_element(core, grids, bad)
