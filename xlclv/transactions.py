"""The RFM summary of a transaction table, with an optional calibration/holdout split.

Conventions (Fader & Hardie; the column names are those of ``lifetimes``):

- purchases collapse per calendar day: several purchases by one customer on one day are one
  purchase occasion, whose amount is their sum;
- ``frequency`` is the number of purchase days minus 1 (the repeat purchases);
- ``recency`` is the time from the first to the last purchase day, ``T`` the time from the
  first purchase day to the end of observation, both in an explicit unit: D (days), W (weeks of
  7 days) or M (months of 365.25/12 days);
- ``monetary_value`` is the mean amount of the repeat purchase days, 0 when there are none.

Everything is vectorised: customers are factorised to integer codes, dates to integer day
numbers, and the per-day and per-customer aggregates are sorts and bincounts, with no Python
loop over customers.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ._errors import InputError
from ._timeunits import DAYS_PER_UNIT, check_time_unit

__all__ = ["RFM_COLUMNS", "HOLDOUT_COLUMNS", "rfm_summary"]

#: Columns of the plain summary.
RFM_COLUMNS = ["frequency", "recency", "T", "monetary_value"]
#: Columns of the summary with a calibration/holdout split (as lifetimes names them).
HOLDOUT_COLUMNS = [
    "frequency_cal",
    "recency_cal",
    "T_cal",
    "monetary_value_cal",
    "frequency_holdout",
    "monetary_value_holdout",
    "duration_holdout",
]

_EPOCH_DAY = np.datetime64("1970-01-01", "D")


def rfm_summary(
    transactions: pd.DataFrame,
    *,
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
    time_unit: str = "W",
    observation_end: object = None,
    calibration_end: object = None,
    include_zero_amounts: bool = False,
) -> pd.DataFrame:
    """Frequency, recency, T and monetary value per customer, in an explicit time unit.

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per purchase. Other columns than the three named below are ignored.
    customer_id, date, amount : str
        Names of the customer id, purchase date and amount columns. Dates may be datetimes
        (the time of day is ignored), dates or ISO date strings; amounts are numbers.
    time_unit : {"D", "W", "M"}
        Unit of ``recency``, ``T`` and ``duration_holdout``: days, weeks (7 days) or months
        (365.25/12 days). Values are exact day differences divided by the days per unit, e.g.
        in weeks a customer first seen 272 days before the end has T = 38.857.
    observation_end : date-like, optional
        The last day observed, inclusive. Defaults to the last date in the table.
        Transactions after it are excluded (the report layer lists them as data issues).
    calibration_end : date-like, optional
        If given, split at this day (inclusive in the calibration period) and return the
        calibration summary and the holdout outcome per customer instead; see Returns.
    include_zero_amounts : bool, default False
        Count rows with an amount of exactly 0 as purchase occasions (free orders, e.g. a
        promotional CD) instead of leaving them out. The published CDNOW summary does this:
        8 of its 2,357 customers made a single $0.00 purchase. Negative amounts are never
        purchases.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id (the index is named after the ``customer_id`` column), sorted,
        one row per customer with at least one purchase by ``observation_end``; float
        columns ``frequency``, ``recency``, ``T``, ``monetary_value``.

        With ``calibration_end``: one row per customer whose first purchase is on or before
        ``calibration_end``, with ``frequency_cal``, ``recency_cal``, ``T_cal``,
        ``monetary_value_cal`` (the summary at ``calibration_end``), ``frequency_holdout``
        (purchase days after ``calibration_end`` up to ``observation_end``; all are repeat
        purchases), ``monetary_value_holdout`` (their mean amount per purchase day, 0 if none)
        and ``duration_holdout`` (the holdout length in ``time_unit``).

    Raises
    ------
    InputError
        A column is missing (the message names it and lists the columns found); a value is
        missing (NaN/NaT) or not a date/number; there is no purchase by ``observation_end``
        (e.g. it is before the first purchase); or ``calibration_end`` is not before
        ``observation_end``.

    Notes
    -----
    Returns and zero amounts: a row with an amount of 0 or less is not a purchase occasion
    and is left out entirely, so returns do not reduce ``monetary_value`` and a day with only
    returns is not a purchase day. A day counts as a purchase day when the sum of that day's
    positive amounts is above 0 (with ``include_zero_amounts``, when it has a row with an
    amount of 0 or more). Customers without a purchase day are not in the summary. Netting returns against sales is a reporting decision, made
    (and reported) by the report layer, which also cleans missing values before calling this.

    ``monetary_value_holdout`` is a mean per purchase *day*, like ``monetary_value``;
    ``lifetimes.utils.calibration_and_holdout_data`` averages holdout rows instead, so the
    two agree when there is at most one purchase per customer and day.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "'Counting Your Customers' the Easy
    Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15",
    ...                                            "2024-01-08"]),
    ...                    "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> rfm_summary(tx, time_unit="D", observation_end="2024-01-29")  # doctest: +NORMALIZE_WHITESPACE
                 frequency  recency     T  monetary_value
    customer_id
    a                  1.0     14.0  28.0            20.0
    b                  0.0      0.0  21.0             0.0
    """
    days_per_unit = DAYS_PER_UNIT[check_time_unit(time_unit)]
    ids, days, amounts = _columns(transactions, customer_id, date, amount)
    end_day = days.max() if observation_end is None else _day(observation_end, "observation_end")
    rows = _purchase_rows(days, amounts, end_day, include_zero_amounts)
    purchases = _purchase_days(ids[rows], days[rows], amounts[rows])
    if calibration_end is None:
        repeat_rows = purchases.repeat_row
        columns = _rfm_columns(purchases, purchases.count, end_day, repeat_rows, days_per_unit)
        return _frame(columns, purchases.customers, customer_id)
    cal_day = _calibration_day(calibration_end, end_day)
    columns, keep = _holdout_columns(purchases, cal_day, end_day, days_per_unit)
    return _frame(columns, purchases.customers, customer_id, keep)


# -- validation and conversion -------------------------------------------------------------
def _columns(
    transactions: object, customer_id: str, date: str, amount: str
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """The three columns as (ids, int64 day numbers, float amounts), validated."""
    if not isinstance(transactions, pd.DataFrame):
        raise InputError(
            f"transactions must be a table (pandas DataFrame), got {type(transactions).__name__}"
        )
    missing = [c for c in (customer_id, date, amount) if c not in transactions.columns]
    if missing:
        found = ", ".join(repr(str(c)) for c in transactions.columns) or "none"
        raise InputError(
            f"transactions has no column {', '.join(repr(c) for c in missing)}; "
            f"columns found: {found}. Rename the column or pass its name, "
            f"e.g. rfm_summary(df, {_arg_for(missing[0], customer_id, date)}='{missing[0]}')"
        )
    if transactions.empty:
        raise InputError("transactions is empty: there are no purchases to summarise")
    ids = transactions[customer_id]
    for name in (customer_id, date, amount):
        _check_no_missing(transactions[name], name, transactions.index)
    return ids, _day_numbers(transactions[date], date), _amounts(transactions[amount], amount)


def _arg_for(missing: str, customer_id: str, date: str) -> str:
    return "customer_id" if missing == customer_id else "date" if missing == date else "amount"


def _check_no_missing(values: pd.Series, name: str, index: pd.Index) -> None:
    isna = values.isna().to_numpy()
    if isna.any():
        first = index[int(np.argmax(isna))]
        raise InputError(
            f"column '{name}' has {int(isna.sum())} missing value(s), the first at row "
            f"{first!r}; remove or fill them before computing the RFM summary",
            column=name,
        )


def _day_numbers(values: pd.Series, name: str) -> np.ndarray:
    """Calendar day numbers (days since 1970-01-01) as int64; the time of day is dropped."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(values.dtype):
        if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            raise InputError(
                f"column '{name}' holds numbers, not dates; convert it to dates first "
                "(Excel serial dates are converted by the report and the Excel functions)",
                column=name,
            )
        try:
            values = pd.to_datetime(values, format="mixed")
        except (ValueError, TypeError, OverflowError) as exc:
            raise InputError(
                f"column '{name}' has a value that is not a date ({exc}); use dates or ISO "
                "dates such as 2024-01-31",
                column=name,
            ) from None
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_localize(None)
    return values.to_numpy().astype("datetime64[D]").astype(np.int64)


def _amounts(values: pd.Series, name: str) -> np.ndarray:
    not_a_number = InputError(
        f"column '{name}' has a value that is not a number; amounts must be numbers",
        column=name,
    )
    if pd.api.types.is_bool_dtype(values.dtype):
        raise not_a_number
    if not pd.api.types.is_numeric_dtype(values.dtype):
        try:
            values = pd.to_numeric(values)
        except (ValueError, TypeError):
            raise not_a_number from None
    out = values.to_numpy(dtype=float)
    if not np.isfinite(out).all():
        raise InputError(f"column '{name}' has an infinite amount", column=name)
    return out


def _day(value: object, name: str) -> int:
    """A date-like setting as a day number; a clear error for anything else."""
    if isinstance(value, (bool, int, float, np.number)):
        raise InputError(f"{name} must be a date such as 2024-12-31, got the number {value!r}")
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{name} must be a date such as 2024-12-31, got {value!r}") from None
    if ts is pd.NaT:
        raise InputError(f"{name} must be a date such as 2024-12-31, got a missing value")
    return int((np.datetime64(ts.tz_localize(None).date(), "D") - _EPOCH_DAY).astype(np.int64))


def _iso(day: int) -> str:
    return str(_EPOCH_DAY + np.timedelta64(int(day), "D"))


def _before_first_purchase(name: str, day: int, purchase_days: np.ndarray) -> str:
    first = _iso(int(purchase_days.min()))
    return (
        f"{name} ({_iso(day)}) is before the first purchase ({first}); "
        f"choose a {name} on or after {first}"
    )


def _customer_codes(ids: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes 0..n-1 and the unique ids, sorted when the ids can be sorted.

    Integer ids in a compact range (the usual case) are coded with a bincount, which is
    several times faster than hashing.
    """
    if isinstance(ids.dtype, np.dtype) and ids.dtype.kind in "iu":
        values = ids.to_numpy()
        low = values.min()
        if int(values.max()) - int(low) <= 4 * len(values) + 1_000_000:
            offset = (values - low).astype(np.intp)
            present = np.bincount(offset) > 0
            code_of = np.cumsum(present) - 1
            uniques = np.flatnonzero(present).astype(values.dtype) + low
            return code_of[offset], pd.Index(uniques, dtype=ids.dtype)
    keys = _short_text_keys(ids)
    if keys is not None:
        codes, unique_keys = pd.factorize(keys, sort=True)
        return codes, _text_of_keys(unique_keys, ids.dtype)
    try:
        return pd.factorize(ids, sort=True)
    except TypeError:  # ids of mixed types, such as 1 and "a"
        return pd.factorize(ids, sort=False)


def _short_text_keys(ids: pd.Series) -> np.ndarray | None:
    """Text ids of at most 8 UTF-8 bytes as uint64 keys in the same (byte-wise) order.

    Hashing millions of short strings is the slowest step of the summary; hashing their bytes
    packed into one integer is several times faster. Only for Arrow-backed text (pandas'
    default string type when pyarrow is installed); None when it does not apply.
    """
    if not isinstance(ids.array, pd.arrays.ArrowStringArray):
        return None
    import pyarrow as pa

    text = ids.array.__arrow_array__().combine_chunks()
    if text.null_count or not (
        pa.types.is_string(text.type) or pa.types.is_large_string(text.type)
    ):
        return None
    _, offset_buffer, data_buffer = text.buffers()
    offsets = np.frombuffer(
        offset_buffer, np.int64 if pa.types.is_large_string(text.type) else np.int32
    )
    offsets = offsets[text.offset : text.offset + len(text) + 1].astype(np.int64)
    data = np.frombuffer(data_buffer, np.uint8)[offsets[0] : offsets[-1]] if len(text) else []
    lengths = np.diff(offsets)
    # Zero padding keeps the order ("ab" < "abc") unless an id itself holds a NUL character.
    if len(text) == 0 or lengths.max() > 8 or (np.asarray(data) == 0).any():
        return None
    padded = np.zeros((len(text), 8), np.uint8)
    width = int(lengths.max())
    if width and lengths.min() == width:  # ids of one length: the bytes are already a matrix
        padded[:, :width] = data.reshape(-1, width)
    else:
        start = offsets[:-1] - offsets[0]
        for j in range(width):  # at most 8 columns, not a loop over customers
            has = lengths > j
            padded[has, j] = data[start[has] + j]
    return padded.view(">u8").ravel().astype(np.uint64)


def _text_of_keys(keys: np.ndarray, dtype: object) -> pd.Index:
    """The text ids back from their uint64 keys (big-endian bytes, trailing NULs dropped)."""
    import pyarrow as pa

    text = pa.array(keys.astype(">u8").view("S8")).cast(pa.string())
    return pd.Index(pd.array(text, dtype=dtype))


# -- aggregation -----------------------------------------------------------------------------
def _purchase_rows(
    days: np.ndarray, amounts: np.ndarray, end_day: int, include_zero_amounts: bool
) -> np.ndarray:
    """The rows that are purchase occasions by ``end_day``, as a boolean mask.

    Parameters
    ----------
    days, amounts : numpy.ndarray
        Day numbers and amounts of all rows (from :func:`_columns`).
    end_day : int
        Day number of the last day observed (inclusive).
    include_zero_amounts : bool
        Whether an amount of exactly 0 is a purchase (see :func:`rfm_summary`).

    Returns
    -------
    numpy.ndarray
        True for the purchase rows on or before ``end_day``.

    Raises
    ------
    InputError
        No row is a purchase, or none is on or before ``end_day``.
    """
    purchase_rows = (amounts >= 0) if include_zero_amounts else (amounts > 0)
    purchase = purchase_rows & (days <= end_day)
    if not purchase.any():
        if not purchase_rows.any():
            raise InputError(
                "transactions has no purchase: every amount is 0 or less (negative amounts are "
                "returns and zero amounts empty orders, not purchases)"
            )
        raise InputError(_before_first_purchase("observation_end", end_day, days[purchase_rows]))
    return purchase


class _Purchases(NamedTuple):
    """The purchase rows and each customer's distinct purchase days (see :func:`_purchase_days`)."""

    codes: np.ndarray  #: customer code (0..n-1) of each purchase row
    customers: pd.Index  #: the customer id of each code
    days: np.ndarray  #: day number of each purchase row
    amounts: np.ndarray  #: amount of each purchase row
    day_customer: np.ndarray  #: customer code of each distinct purchase day
    purchase_day: np.ndarray  #: the distinct purchase days, sorted by customer and then day
    count: np.ndarray  #: number of distinct purchase days per customer
    block_start: np.ndarray  #: where each customer's days start in ``purchase_day``
    first: np.ndarray  #: first purchase day per customer
    repeat_row: np.ndarray  #: the purchase rows not on their customer's first day

    @property
    def n(self) -> int:
        """The number of customers."""
        return len(self.customers)


def _purchase_days(ids: pd.Series, days: np.ndarray, amounts: np.ndarray) -> _Purchases:
    """The per-customer aggregation of the purchase rows: codes, distinct days, first days.

    Parameters
    ----------
    ids, days, amounts : pandas.Series, numpy.ndarray, numpy.ndarray
        Customer id, day number and amount of each purchase row.

    Returns
    -------
    _Purchases
        The rows with their customer codes, and each customer's distinct purchase days as one
        block of ``purchase_day``.
    """
    codes, uniques = _customer_codes(ids)
    # The distinct purchase days, sorted by customer and then day: each customer is one block.
    day_customer, purchase_day = _distinct_purchase_days(codes, days)
    count = np.bincount(day_customer, minlength=len(uniques))
    block_start = np.cumsum(count) - count
    first = purchase_day[block_start]
    # The mean spend of the repeat days is the spend of the rows not on the first day, per
    # repeat day: no need to sum amounts per day.
    repeat_row = days != first[codes]
    return _Purchases(
        codes=codes,
        customers=uniques,
        days=days,
        amounts=amounts,
        day_customer=day_customer,
        purchase_day=purchase_day,
        count=count,
        block_start=block_start,
        first=first,
        repeat_row=repeat_row,
    )


def _rfm_columns(
    purchases: _Purchases,
    count: np.ndarray,
    end_day: int,
    repeat_rows: np.ndarray,
    days_per_unit: float,
) -> dict[str, np.ndarray]:
    """Frequency, recency, T and monetary value of each customer's first ``count`` days.

    Parameters
    ----------
    purchases : _Purchases
        The per-customer aggregation.
    count : numpy.ndarray
        Purchase days per customer up to ``end_day`` (all of them, or the calibration ones).
    end_day : int
        The end of observation (or of calibration), as a day number.
    repeat_rows : numpy.ndarray
        The purchase rows on a repeat day up to ``end_day`` (a boolean mask).
    days_per_unit : float
        Days per time unit: recency and T are day differences divided by it.

    Returns
    -------
    dict
        The columns ``frequency``, ``recency``, ``T`` and ``monetary_value`` (the mean spend
        per repeat purchase day, 0 without one), one value per customer (those with no day
        in ``count`` get meaningless values, for the caller to drop).
    """
    first = purchases.first
    last = purchases.purchase_day[purchases.block_start + np.maximum(count, 1) - 1]
    return {
        "frequency": count - 1.0,
        "recency": (last - first) / days_per_unit,
        "T": (end_day - first) / days_per_unit,
        "monetary_value": _safe_mean(_spend(purchases, repeat_rows), count - 1.0),
    }


def _calibration_day(calibration_end: object, end_day: int) -> int:
    """``calibration_end`` as a day number, checked to be before ``end_day``."""
    cal_day = _day(calibration_end, "calibration_end")
    if cal_day >= end_day:
        raise InputError(
            f"calibration_end ({_iso(cal_day)}) must be before observation_end "
            f"({_iso(end_day)}); the holdout period between them is empty"
        )
    return cal_day


def _holdout_columns(
    purchases: _Purchases, cal_day: int, end_day: int, days_per_unit: float
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The calibration summary and the holdout outcome per customer.

    Parameters
    ----------
    purchases : _Purchases
        The per-customer aggregation of the purchases up to ``end_day``.
    cal_day, end_day : int
        Day numbers of the calibration end and the observation end (``cal_day < end_day``).
    days_per_unit : float
        Days per time unit.

    Returns
    -------
    columns : dict
        The :data:`HOLDOUT_COLUMNS`, one value per customer.
    keep : numpy.ndarray
        The customers with a purchase in the calibration period (the rows to return).

    Raises
    ------
    InputError
        No purchase is on or before ``cal_day``.
    """
    cal_days = purchases.purchase_day <= cal_day
    count_cal = np.bincount(purchases.day_customer[cal_days], minlength=purchases.n)
    keep = count_cal > 0
    if not keep.any():
        raise InputError(_before_first_purchase("calibration_end", cal_day, purchases.days))
    in_cal = purchases.days <= cal_day
    repeat_rows = purchases.repeat_row & in_cal
    calibration = _rfm_columns(purchases, count_cal, cal_day, repeat_rows, days_per_unit)
    count_holdout = purchases.count - count_cal
    holdout_spend = _spend(purchases, ~in_cal)
    columns = {f"{name}_cal": values for name, values in calibration.items()}
    columns["frequency_holdout"] = count_holdout
    columns["monetary_value_holdout"] = _safe_mean(holdout_spend, count_holdout)
    columns["duration_holdout"] = np.full(purchases.n, (end_day - cal_day) / days_per_unit)
    return columns, keep


def _distinct_purchase_days(codes: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (customer code, day) pairs, sorted by customer and then day.

    One integer key per row, sorted with numpy's (SIMD) sort: much faster than an argsort or
    a hash table on millions of rows.
    """
    first_day = days.min()
    span = int(days.max() - first_day) + 1
    dtype = np.int32 if (int(codes.max()) + 1) * span < 2**31 else np.int64
    key = codes.astype(dtype) * dtype(span) + (days - first_day).astype(dtype)
    key.sort()
    key = key[np.r_[True, key[1:] != key[:-1]]]
    return (key // span).astype(np.intp), (key % span).astype(np.int64) + first_day


def _spend(purchases: _Purchases, rows: np.ndarray) -> np.ndarray:
    """The sum of the amounts of the selected purchase rows, per customer."""
    weights = np.where(rows, purchases.amounts, 0.0)
    return np.bincount(purchases.codes, weights=weights, minlength=purchases.n)


def _safe_mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """total / count, 0 where count is 0."""
    return np.divide(total, count, out=np.zeros(len(total)), where=count > 0)


def _frame(
    columns: dict[str, np.ndarray],
    uniques: pd.Index,
    name: str,
    keep: np.ndarray | None = None,
) -> pd.DataFrame:
    index = pd.Index(uniques, name=name)
    frame = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in columns.items()}, index=index)
    return frame if keep is None else frame[keep]
