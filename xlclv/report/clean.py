"""Cleaning the report's inputs: a raw table (cells as read) into typed transactions, NPS and
marketing tables plus the issues table. Reading files is :mod:`xlclv.report.read`.

Which column is which: :func:`resolve_columns` (an explicit mapping, else the header names of
common exports, :data:`COLUMN_ALIASES`). Dates and amounts written as text follow explicit
locale rules (:func:`clean_transactions`): a day/month order or a decimal separator is only
ever read from the data when the data leave one possibility; otherwise the run stops and
names the option to set. Never a silent day/month swap.

Validation never drops data silently: every input row that cannot be used, or is used
differently from what it says, becomes one row of the issues table (``Sheet``, ``Row`` = the
Excel row number, ``Column``, ``Value``, ``Problem``); fully blank rows are ignored.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xlclv._errors import WorkbookError
from xlclv.report.currency import Written, meanings, one_currency
from xlclv.report.guards import column_letters

__all__ = [
    "COLUMN_ALIASES",
    "CURRENCY_CODES",
    "DATE_ORDERS",
    "ISSUE_COLUMNS",
    "MAX_AMOUNT",
    "CHOSEN_ATTR",
    "READING_ATTR",
    "WorkbookInputs",
    "alias_key",
    "clean_marketing",
    "clean_nps",
    "clean_transactions",
    "find_column",
    "normalise_header",
    "parse_column_mapping",
    "recognised_fields",
    "resolve_columns",
    "serial_dates",
]

#: Key of ``DataFrame.attrs`` holding reading choices: on a raw table, the options to clean it
#: with (set by the readers / the CLI); on the cleaned table (and copied back onto the raw
#: one), what was chosen: ``columns`` {field: header}, ``date_order``, ``decimal_separator``
#: and ``notes`` (sentences saying what was read from the data).
READING_ATTR = "xlclv_reading"

ISSUE_COLUMNS = ["Sheet", "Row", "Column", "Value", "Problem"]
REQUIRED = ("customer_id", "date", "amount")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # Excel's 1900 date system, serial 1 = 1900-01-01
# Dates are datetime64[ns]: 1677-09-22 to 2262-04-11 (Excel serial curtailed to that).
_MAX_SERIAL = 2958465  # 9999-12-31; later days than 2262-04-11 are rejected by _as_ns
_NS_FIRST, _NS_LAST = np.datetime64("1677-09-22", "D"), np.datetime64("2262-04-11", "D")


def _as_ns(values: Any) -> np.ndarray:
    """Datetimes of any unit as datetime64[ns] days; NaT outside what [ns] can hold (a plain
    cast would silently wrap a year 2925 typo to 1755)."""
    arr = np.asarray(values)
    if arr.dtype == np.dtype("datetime64[ns]"):
        return arr
    outside = (arr < _NS_FIRST) | (arr > _NS_LAST)
    arr = np.where(outside, np.datetime64("NaT"), arr)
    return arr.astype("datetime64[ns]")


#: Excel's error values, as text (how some readers hand over error cells).
EXCEL_ERRORS = frozenset(
    "#N/A #DIV/0! #VALUE! #REF! #NAME? #NUM! #NULL! #GETTING_DATA #SPILL! #CALC! #FIELD! "
    "#BLOCKED! #CONNECT! #BUSY! #UNKNOWN!".split()
)


@dataclass
class WorkbookInputs:
    """Raw input tables as a user's workbook holds them (header row as column names).

    Cells are kept as read (text, numbers, dates, blanks): cleaning happens in
    :func:`clean_transactions` so every problem can be reported with its Excel row.
    """

    transactions: pd.DataFrame
    transactions_first_row: int = 2
    transactions_sheet: str = "Transactions"
    settings: dict[str, Any] = field(default_factory=dict)
    nps: pd.DataFrame | None = None
    marketing: pd.DataFrame | None = None
    source: str = ""
    nps_first_row: int = 2
    marketing_first_row: int = 2
    nps_sheet: str = "NPS"
    marketing_sheet: str = "Marketing"

    @property
    def reading(self) -> dict[str, Any]:
        """The reading choices on the transactions table: before cleaning, the options given
        (``attrs[READING_ATTR]``); after :func:`clean_transactions`, what was chosen
        (``attrs[CHOSEN_ATTR]``: ``columns``, ``date_order``, ``decimal_separator``,
        ``notes``)."""
        attrs = self.transactions.attrs
        return dict(attrs.get(CHOSEN_ATTR) or attrs.get(READING_ATTR) or {})


def normalise_header(name: object) -> str:
    """Header as matched: lower case, spaces, underscores and hyphens removed."""
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def find_column(df: pd.DataFrame, wanted: str) -> str | None:
    """The column of ``df`` whose header matches ``wanted`` ("Customer ID" ~ customer_id)."""
    key = normalise_header(wanted)
    for col in df.columns:
        if normalise_header(col) == key:
            return col
    return None


# -- column recognition -------------------------------------------------------------------------

#: Header names recognised for each required field, best first. Compared after
#: :func:`alias_key` (lower case, letters and digits only): "Created at", "created_at" and
#: "Created-At" are the same name. Sources: the order / payment exports of Shopify (Email,
#: Created at, Total), WooCommerce (Customer Email / Billing Email, Order Date, Order Total),
#: Stripe (Customer ID / Customer Email, Created (UTC), Amount), Square (Customer ID, Date,
#: Net Sales) and generic ERP / accounting names (Customer, Client, Invoice Date, Revenue).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": (
        "customerid",
        "customerno",
        "customernumber",
        "customercode",
        "customerref",
        "customerreferenceid",
        "clientid",
        "clientno",
        "clientnumber",
        "clientcode",
        "accountid",
        "accountnumber",
        "accountno",
        "memberid",
        "contactid",
        "userid",
        "shopperid",
        "buyerid",
        "customer",
        "client",
        "account",
        "email",
        "customeremail",
        "billingemail",
        "emailaddress",
        "buyeremail",
        "buyer",
        "customername",
        "clientname",
    ),
    "date": (
        "date",
        "orderdate",
        "createdat",
        "datecreated",
        "created",
        "createdutc",
        "invoicedate",
        "transactiondate",
        "purchasedate",
        "saledate",
        "salesdate",
        "orderedat",
        "orderplaced",
        "paidat",
        "paymentdate",
        "documentdate",
        "postingdate",
        "orderdatetime",
        "datetime",
        "timestamp",
    ),
    "amount": (
        "amount",
        "total",
        "ordertotal",
        "ordertotalamount",
        "totalamount",
        "netsales",
        "revenue",
        "sales",
        "netamount",
        "totalsales",
        "grosssales",
        "totalcollected",
        "grandtotal",
        "invoicetotal",
        "invoiceamount",
        "ordervalue",
        "totalprice",
        "amountpaid",
        "paymentamount",
        "subtotal",
        "value",
    ),
}
_FIELD_NAMES = {"customerid": "customer_id", "customer": "customer_id", "id": "customer_id"}
_FIELD_NAMES |= {"date": "date", "amount": "amount"}


def alias_key(name: object) -> str:
    """A header as compared with :data:`COLUMN_ALIASES`: lower case, letters and digits only."""
    return re.sub(r"[\W_]+", "", str(name)).lower()


def parse_column_mapping(value: object) -> dict[str, str]:
    """``customer_id=Email,date="Created at",amount=Total`` as {field: header}.

    Raises
    ------
    ValueError
        A part is not ``field=header`` or names an unknown field (the message says which).
    """
    if isinstance(value, Mapping):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    else:
        text = str(value).strip()
        parts = next(csv.reader([text], skipinitialspace=True)) if text else []
        pairs = []
        for part in parts:
            if not part.strip():
                continue
            key, sep, header = part.partition("=")
            if not sep:
                raise ValueError(f"{part.strip()!r} is not field=header")
            pairs.append((key, header))
    out: dict[str, str] = {}
    for key, header in pairs:
        field_ = _FIELD_NAMES.get(alias_key(key))
        if field_ is None:
            raise ValueError(f"unknown field {key.strip()!r} (use customer_id, date or amount)")
        header = header.strip().strip("\"'").strip()
        if not header:
            raise ValueError(f"no header given for {field_}")
        out[field_] = header
    return out


_REPEATED = re.compile(r"^(?P<base>.*) \((?P<n>[2-9]|[1-9]\d+)\)$")


def _repeated_of(column: object, names: set[str]) -> object:
    """The header ``column`` repeats: ``amount`` for ``amount (2)`` when the sheet also has an
    ``amount`` column (the readers number repeated headers so); else ``column`` itself."""
    m = _REPEATED.match(str(column))
    if m is None or m.group("base") not in names:
        return column
    return m.group("base")


def _match_explicit(columns: list[str], header: str) -> list[str]:
    exact = [c for c in columns if str(c).strip() == header]
    if exact:
        return exact
    return [c for c in columns if alias_key(c) == alias_key(header)]


def resolve_columns(
    columns: Any,
    explicit: Mapping[str, str] | None = None,
    *,
    sheet: str = "Transactions",
    fields: tuple[str, ...] = REQUIRED,
) -> dict[str, str]:
    """Which header holds each required field: ``{field: header}``.

    An explicit mapping (``--columns`` / the Settings sheet's ``columns``) wins; other fields
    take the first of :data:`COLUMN_ALIASES` found among the headers.

    Raises
    ------
    WorkbookError
        A field is missing (the message lists the headers found and how to map one), a mapped
        header is not there, or two headers fit the same field equally well (e.g.
        ``Customer ID`` and ``customer_id``): the message names both.
    """
    cols = [c for c in columns if str(c).strip()]
    names = {str(c) for c in cols}
    keys: dict[str, list[str]] = {}
    for c in cols:  # one pass over the headers: linear in the column count
        keys.setdefault(alias_key(_repeated_of(c, names)), []).append(c)
    explicit = dict(explicit or {})
    found: dict[str, str] = {}
    missing = []
    for name in fields:
        if name in explicit:
            hits = _match_explicit(cols, explicit[name])
            if not hits:
                raise WorkbookError(
                    f"Column {explicit[name]!r} mapped to {name} (--columns / the Settings "
                    f"'columns' cell) is not in sheet '{sheet}'; found: {_shown(cols)}"
                )
        else:
            hits = next((keys[k] for k in COLUMN_ALIASES.get(name, (name,)) if k in keys), [])
            if not hits:
                missing.append(name)
                continue
        if len(hits) > 1:
            both = " and ".join(repr(str(h)) for h in hits[:3])
            repeated = any(_repeated_of(h, names) != h for h in hits)
            note = " (a repeated header gets (2), (3)... after its name)" if repeated else ""
            raise WorkbookError(
                f"Sheet '{sheet}' has two columns for {name}: {both}{note}. Rename or delete "
                f'one, or choose one with --columns {name}="{hits[0]}" (Settings: columns)'
            )
        found[name] = hits[0]
    taken: dict[str, str] = {}
    for name, col in found.items():
        if col in taken:
            raise WorkbookError(
                f"Column {str(col)!r} of sheet '{sheet}' is mapped to both {taken[col]} and "
                f"{name}; map each to its own column with --columns"
            )
        taken[col] = name
    if missing:
        plural = "columns" if len(missing) > 1 else "column"
        raise WorkbookError(
            f"Sheet '{sheet}' has no {plural} {', '.join(repr(m) for m in missing)}; found: "
            f"{_shown(cols)}. Rename the header (case, spaces and underscores don't matter), "
            "e.g. 'Customer ID' for customer_id, or map it: --columns "
            'customer_id=Email,date="Created at",amount=Total (Settings: columns)'
        )
    return found


def recognised_fields(cells: list[Any], explicit: Mapping[str, str] | None = None) -> int:
    """How many of customer_id, date and amount a row of header cells provides."""
    keys = {alias_key(c) for c in cells if c is not None and str(c).strip()}
    texts = {str(c).strip() for c in cells if c is not None}
    n = 0
    for name in REQUIRED:
        if explicit and name in explicit:
            n += explicit[name] in texts or alias_key(explicit[name]) in keys
        else:
            n += any(k in keys for k in COLUMN_ALIASES[name])
    return n


def _shown(cols: list[Any], limit: int = 30) -> str:
    # the report pipeline's hidden row-number column is not the user's (xlclv.report.pipeline)
    cols = [c for c in cols if not str(c).startswith("__xlclv")]
    if not cols:
        return "no columns at all"
    text = ", ".join(_clipped(str(c)) for c in cols[:limit])
    return text + (f" ... ({len(cols):,} columns)" if len(cols) > limit else "")


def _clipped(name: str, n: int = 80) -> str:
    """A header as a message shows it: at most ``n`` characters."""
    return name if len(name) <= n else f"{name[: n - 1]}… ({len(name):,} characters)"


# -- dates written as text ----------------------------------------------------------------------

DATE_ORDERS = ("YMD", "DMY", "MDY")
_TIME = (
    r"(?:(?:[ T]|,\s*)\d{1,2}(?::\d{2}){1,2}(?:[.,]\d+)?\s*(?:[AaPp]\.?[Mm]\.?)?"
    r"\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?|\([A-Za-z/_ ]+\)|[A-Z]{3,4})?)?"
)
_YEAR_FIRST = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + r"$")
_YEAR_LAST = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})" + _TIME + r"$")
_WEEKDAY = r"(?:[A-Za-z]{3,9}\.?,?\s+)?"
_NAMED_DAY_FIRST = re.compile(
    r"^"
    + _WEEKDAY
    + r"(\d{1,2})(?:st|nd|rd|th)?[\s\-/.]+([A-Za-z]{3,9})\.?[\s\-/.,]+(\d{4})"
    + _TIME
    + r"$"
)
_NAMED_MONTH_FIRST = re.compile(
    r"^"
    + _WEEKDAY
    + r"([A-Za-z]{3,9})\.?[\s\-]+(\d{1,2})(?:st|nd|rd|th)?,?[\s\-]+(\d{4})"
    + _TIME
    + r"$"
)
_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for name in names
}


@dataclass
class _TextDates:
    """Parsed text dates: values (datetime64[ns], NaT where not a date), the order used for
    day/month/year text, and a note when the order was read from the data."""

    values: np.ndarray
    order: str | None = None
    note: str | None = None


def _ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Calendar days from year, month, day arrays (float, NaN = none); NaT for impossible days
    (30 February) and outside 1677-2262 (what datetime64[ns] holds)."""
    out = np.full(len(y), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = (
        np.isfinite(y)
        & np.isfinite(m)
        & np.isfinite(d)
        & (y >= 1678)
        & (y <= 2262)
        & (m >= 1)
        & (m <= 12)
        & (d >= 1)
        & (d <= 31)
    )
    if ok.any():
        frame = pd.DataFrame({"year": y[ok], "month": m[ok], "day": d[ok]}).astype(np.int64)
        # in the parsed unit, then checked: a cast to [ns] would wrap 2262-12-31 silently
        out[ok] = _as_ns(np.asarray(pd.to_datetime(frame, errors="coerce").to_numpy()))
    return out


def _groups(text: pd.Series, pattern: re.Pattern) -> pd.DataFrame:
    return text.str.extract(pattern)


def _text_dates(
    text: pd.Series, order: str | None, *, column: str, sheet: str, rows: np.ndarray
) -> _TextDates:
    """Dates from distinct text values (see :func:`clean_transactions` for the forms).

    ``rows`` are the Excel rows of the values (for messages). Day/month/year text needs an
    order: the one given, else the only one every value fits (a day above 12 decides); when
    no value decides, or values need different orders, stop and name ``--date-order``.
    """
    text = text.astype(str).str.strip()
    n = len(text)
    out = _TextDates(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"))
    num = lambda g: pd.to_numeric(g, errors="coerce").to_numpy(dtype=float)  # noqa: E731
    g = _groups(text, _YEAR_FIRST)
    iso = g[0].notna().to_numpy()
    if iso.any():
        out.values[iso] = _ymd(num(g[0]), num(g[1]), num(g[2]))[iso]
    for pattern, day_first in ((_NAMED_DAY_FIRST, True), (_NAMED_MONTH_FIRST, False)):
        g = _groups(text, pattern)
        hit = g[0].notna().to_numpy() & np.isnat(out.values)
        if hit.any():
            day, mon = (g[0], g[1]) if day_first else (g[1], g[0])
            month = mon.str.lower().map(_MONTHS).to_numpy(dtype=float)
            out.values[hit] = _ymd(num(g[2]), month, num(day))[hit]
    g = _groups(text, _YEAR_LAST)
    year_last = g[0].notna().to_numpy() & np.isnat(out.values) & (g[2].str.len() == 4).to_numpy()
    if not year_last.any():
        return out
    a, b, y = num(g[0]), num(g[1]), num(g[2])
    fits_dmy = year_last & (a >= 1) & (a <= 31) & (b >= 1) & (b <= 12)
    fits_mdy = year_last & (a >= 1) & (a <= 12) & (b >= 1) & (b <= 31)
    if order is None:
        order, out.note = _infer_order(text, fits_dmy, fits_mdy, a, b, column, sheet, rows)
    out.order = order
    if order == "DMY":
        out.values[year_last] = _ymd(y, b, a)[year_last]
    elif order == "MDY":
        out.values[year_last] = _ymd(y, a, b)[year_last]
    return out


def _infer_order(text, fits_dmy, fits_mdy, a, b, column, sheet, rows):
    only_dmy, only_mdy = fits_dmy & ~fits_mdy, fits_mdy & ~fits_dmy
    where = f"column '{column}' of sheet '{sheet}'"
    if only_dmy.any() and only_mdy.any():
        i, j = np.flatnonzero(only_dmy)[0], np.flatnonzero(only_mdy)[0]
        raise WorkbookError(
            f"Dates in {where} mix day-first ({text.iloc[i]!r}, row {rows[i]}) and month-first "
            f"({text.iloc[j]!r}, row {rows[j]}) forms. Fix the column, or choose one with "
            "--date-order DMY or --date-order MDY (Settings: date_order); rows that do not fit "
            "it are then listed as data issues"
        )
    if only_dmy.any() or only_mdy.any():
        order = "DMY" if only_dmy.any() else "MDY"
        i = np.flatnonzero(only_dmy if order == "DMY" else only_mdy)[0]
        kind = "day/month/year" if order == "DMY" else "month/day/year"
        return order, (
            f"Dates in {where} read as {kind} ({order}): {text.iloc[i]!r} in row {rows[i]} "
            f"fits no other order. Set --date-order to override"
        )
    undecided = (fits_dmy | fits_mdy) & (a != b)
    if undecided.any():
        i = np.flatnonzero(undecided)[0]
        raise WorkbookError(
            f"Dates in {where} such as {text.iloc[i]!r} (row {rows[i]}) can be read day-first "
            "or month-first, and no value decides (no day above 12). Say which with "
            "--date-order DMY or --date-order MDY (Settings: date_order)"
        )
    return "DMY", None  # every value has day == month: both orders give the same day


def _date_text_problem(text: str, order: str | None) -> str | None:
    """Why a date written as text was not read, when there is a specific reason."""
    m = _YEAR_LAST.match(text)
    if m and len(m.group(3)) == 2:
        return (
            f"date {text!r} has a two-digit year: row not used (write the year in full, "
            "e.g. 2024, or format the column as a date)"
        )
    if m and order in ("DMY", "MDY"):
        return (
            f"date {text!r} is not a valid date in the order {order}: row not used (fix the "
            "cell, or check --date-order)"
        )
    if m and order == "YMD":
        return (
            f"date {text!r} is not year-first as --date-order YMD says: row not used (use "
            "--date-order DMY or MDY for this form)"
        )
    return None


# -- amounts written as text --------------------------------------------------------------------

#: A single amount above this (in absolute value) is a data issue, not a number to sum.
MAX_AMOUNT = 1e15
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
#: Currency codes read as such next to an amount (``USD 12.00``, ``12,00 EUR``); any other
#: letters make the cell "not a number" (``ABC123`` is never read as 123).
CURRENCY_CODES = (
    "USD EUR GBP JPY CHF CAD AUD NZD SEK NOK DKK ISK PLN CZK HUF RON BGN HRK RUB UAH TRY ILS "
    "AED SAR QAR KWD EGP ZAR NGN KES MAD INR PKR BDT LKR CNY RMB HKD TWD SGD MYR THB IDR PHP "
    "VND KRW BRL MXN ARS CLP COP PEN UYU"
).split()
_CURRENCY = (
    r"(?:[A-Z]{1,3}\s?[$€£¥₹]|[$€£¥₹₽₩₺₪₫₱]|(?:"
    + "|".join(CURRENCY_CODES)
    + r")|kr\.?|zł|Fr\.?|R\$|Rs\.?)"
)
_AMOUNT = re.compile(
    r"^(?P<s1>[-−+])?\s*(?P<c1>" + _CURRENCY + r")?\s*(?P<s2>[-−+])?\s*"
    r"(?P<num>\d[\d.,'’\s]*|[.,]\d+)\s*(?P<s3>[-−])?\s*(?P<c2>" + _CURRENCY + r")?\s*"
    r"(?P<s4>[-−])?$"
)
_SPACES = re.compile(r"[\s'’\u00a0\u202f\u2009]")


def _amount_parts(text: str) -> tuple[float, str, str | None] | None:
    """(sign, digits with separators, currency mark) of an amount written as text, currency
    and accounting brackets removed; None when the text is not an amount."""
    t = text.strip()
    sign = 1.0
    if len(t) > 2 and t[0] == "(" and t[-1] == ")":
        t, sign = t[1:-1].strip(), -1.0
    m = _AMOUNT.match(t)
    if m is None:
        return None
    signs = [m.group(k) for k in ("s1", "s2", "s3", "s4") if m.group(k)]
    if len(signs) > 1 or (signs and sign < 0):
        return None
    if signs and signs[0] in "-−":
        sign = -sign
    marks = sorted((m.group(k) for k in ("c1", "c2") if m.group(k)), key=lambda c: len(meanings(c)))
    if len(marks) > 1 and not meanings(marks[0]) & meanings(marks[1]):
        return None  # "$12 EUR": two currencies in one cell
    return sign, m.group("num").strip(), (marks[0] if marks else None)  # "$12 USD": USD


def _decimal_hint(core: str) -> str | None:
    """The decimal separator an amount's digits imply: "." or ",", "?" when they fit both
    (``1,234`` = 1234 or 1.234), None when they have no separator."""
    core = _SPACES.sub("", core)
    dots, commas = core.count("."), core.count(",")
    if not dots and not commas:
        return None
    if dots and commas:
        return "." if core.rfind(".") > core.rfind(",") else ","
    sep = "." if dots else ","
    if dots + commas > 1:
        return "," if sep == "." else "."  # repeated: a thousands separator
    whole, frac = core.split(sep)
    if len(frac) != 3 or whole in ("", "0") or len(whole) > 3:
        return sep
    return "?"


def _amount_value(sign: float, core: str, decimal: str) -> float | None:
    """The number written as ``core`` with ``decimal`` as decimal separator; None when the
    thousands grouping is not regular (groups of three, or the Indian 2-2-3)."""
    group = "," if decimal == "." else "."
    had_space = bool(_SPACES.search(core))
    core = _SPACES.sub("", core) if had_space else core
    whole, _, frac = core.partition(decimal)
    if decimal in frac or group in frac or not (whole or frac):
        return None
    if (had_space and group in whole) or (frac and not frac.isdigit()):
        return None
    if group in whole or had_space:
        digits = whole.split(group) if group in whole else None
        if digits is not None and not (
            re.fullmatch(r"\d{1,3}", digits[0]) and all(len(d) == 3 for d in digits[1:])
        ):
            indian = group == "," and re.fullmatch(r"\d{1,2}(,\d{2})*,\d{3}", whole)
            if not indian:
                return None
        whole = whole.replace(group, "")
    if whole and not whole.isdigit():
        return None
    return sign * float(f"{whole or '0'}.{frac or '0'}")


@dataclass
class _TextAmounts:
    values: np.ndarray
    decimal: str | None = None
    note: str | None = None
    marks: np.ndarray | None = None  # each value's currency mark ($, €, USD...) or None


def _text_amounts(
    text: pd.Series, decimal: str | None, *, column: str, sheet: str, rows: np.ndarray
) -> _TextAmounts:
    """Amounts from distinct text values: plain numbers, currency symbols or codes ($, €, £,
    USD 12.00), thousands separators, accounting negatives (12.00), trailing minus.

    The decimal separator is the one given, else the one every unambiguous value of the
    column implies (``12,50`` or ``1.234,56``: comma; ``12.50`` or ``1,234.56``: point).
    Values such as ``1,234`` fit both: with no value to decide, stop and name
    ``--decimal-separator``; values implying both also stop.
    """
    text = text.astype(str).str.strip()
    n = len(text)
    out = _TextAmounts(np.full(n, np.nan))
    plain = text.str.match(_PLAIN_NUMBER).to_numpy(dtype=bool)
    parts: list[tuple[float, str] | None] = [None] * n
    hints = np.full(n, None, dtype=object)
    plain_dot = plain & text.str.contains(".", regex=False).to_numpy(dtype=bool)
    if plain_dot.any():
        hints[plain_dot] = [_decimal_hint(t.lstrip("+-")) for t in text[plain_dot].tolist()]
    texts = text.tolist()  # a list: indexing a Series per value costs more than parsing
    for i in np.flatnonzero(~plain):
        p = _amount_parts(texts[i])
        parts[i] = p
        if p is not None:
            hints[i] = _decimal_hint(p[1])
    out.marks = np.array([p[2] if p is not None else None for p in parts], dtype=object)
    if decimal is None:
        decimal, out.note = _infer_decimal(text, hints, column, sheet, rows)
    out.decimal = decimal
    if decimal == "." or decimal is None:
        if plain.any():
            out.values[plain] = text[plain].astype(float).to_numpy()
    else:
        for i in np.flatnonzero(plain):
            t = texts[i]
            parts[i] = (-1.0 if t.startswith("-") else 1.0, t.lstrip("+-"))
        # exponent forms (1e5) keep their meaning
        exp = plain & text.str.contains("[eE]").to_numpy(dtype=bool)
        if exp.any():
            out.values[exp] = text[exp].astype(float).to_numpy()
            for i in np.flatnonzero(exp):
                parts[i] = None
    for i, p in enumerate(parts):
        if p is not None:
            v = _amount_value(p[0], p[1], decimal or ".")
            if v is not None:
                out.values[i] = v
    return out


def _written_in(
    marks: np.ndarray, cells: pd.Series, rows: np.ndarray, column: str, sheet: str
) -> Written | None:
    """The one currency the used amounts' marks ($, €, USD...) name; stops on a mix."""
    marked = np.flatnonzero(pd.notna(marks))
    first = marked[~pd.Series(marks[marked]).duplicated().to_numpy()]
    return one_currency(
        ((marks[i], _cell_text(cells.iloc[i]), int(rows[i])) for i in first),
        what=f"Amounts in column '{column}' of sheet '{sheet}'",
        how_to_fix="Convert them to one currency, or split the rows by currency and make one "
        "report for each",
    )


def _infer_decimal(text, hints, column, sheet, rows):
    where = f"column '{column}' of sheet '{sheet}'"
    point = np.flatnonzero(hints == ".")
    comma = np.flatnonzero(hints == ",")
    either = np.flatnonzero(hints == "?")
    if point.size and comma.size:
        i, j = point[0], comma[0]
        raise WorkbookError(
            f"Amounts in {where} mix a decimal point ({text.iloc[i]!r}, row {rows[i]}) and a "
            f"decimal comma ({text.iloc[j]!r}, row {rows[j]}). Fix the column, or choose one "
            "with --decimal-separator . or --decimal-separator , (Settings: "
            "decimal_separator); values that do not fit it are then listed as data issues"
        )
    if either.size and not (point.size or comma.size):
        i = either[0]
        raise WorkbookError(
            f"Amounts in {where} such as {text.iloc[i]!r} (row {rows[i]}) can be read with a "
            "thousands separator or a decimal separator, and no value decides. Say which is "
            "the decimal separator with --decimal-separator . or --decimal-separator , "
            "(Settings: decimal_separator)"
        )
    if comma.size:
        i = comma[0]
        return ",", (
            f"Amounts in {where} read with a decimal comma: {text.iloc[i]!r} in row {rows[i]} "
            "fits no other reading. Set --decimal-separator to override"
        )
    if point.size and either.size:
        i, j = either[0], point[0]
        return ".", (
            f"Amounts in {where} read with a decimal point, so {text.iloc[i]!r} (row {rows[i]}) "
            f"has a thousands separator, as {text.iloc[j]!r} (row {rows[j]}) shows. Set "
            "--decimal-separator to override"
        )
    return ("." if point.size else None), None


def _issues(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=ISSUE_COLUMNS).astype({"Row": "int64"}, errors="ignore")


def _cell_text(v: Any) -> str:
    if v is None or v is pd.NaT or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(v)
        return ts.strftime("%Y-%m-%d") if ts == ts.normalize() else ts.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


_NUMBER_TYPES = (float, int, np.floating, np.integer, decimal.Decimal)


def _kind(s: pd.Series) -> str:
    """pandas' inferred kind of an object column ("string", "floating", "datetime", "mixed"...)."""
    return pd.api.types.infer_dtype(s, skipna=True)


def _type_masks(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(is text, is a number, is something else) per cell of an object column; blanks are
    neither (one pass over the cells' types)."""
    kinds = s.map(type)
    is_str = np.array(kinds.map(lambda t: issubclass(t, str)), dtype=bool)
    is_num = np.array(
        kinds.map(lambda t: issubclass(t, _NUMBER_TYPES) and not issubclass(t, bool | np.bool_)),
        dtype=bool,
    )
    present = ~s.isna().to_numpy()
    is_num &= present
    return is_str, is_num, present & ~is_str & ~is_num


def _blank_mask(s: pd.Series) -> np.ndarray:
    """True where a cell is empty: None, NaN/NaT or text of spaces only."""
    blank = np.array(s.isna(), dtype=bool)
    if s.dtype != object and not pd.api.types.is_string_dtype(s.dtype):
        return blank
    kind = _kind(s)
    if kind in ("floating", "integer", "mixed-integer-float", "datetime", "date", "empty"):
        return blank
    if kind == "string":
        stripped = s.astype("str").str.strip()  # pyarrow-backed when available: fast
        return blank | (stripped == "").to_numpy(dtype=bool, na_value=True)
    is_str, _, _ = _type_masks(s)
    if is_str.any():
        blank[is_str] = (s[is_str].astype(str).str.strip() == "").to_numpy(dtype=bool)
    return blank


def _float_text(x: np.ndarray) -> np.ndarray:
    """Numbers as text: whole numbers without ".0" (123.0 -> "123"), others as repr."""
    out = np.empty(x.size, dtype=object)
    whole = np.isfinite(x) & (x == np.round(x)) & (np.abs(x) < 2**62)
    if whole.any():
        out[whole] = x[whole].astype(np.int64).astype(str).astype(object)
    if (~whole).any():
        out[~whole] = [repr(float(v)) for v in x[~whole]]
    return out


def _id_text(s: pd.Series) -> pd.Series:
    """Customer IDs or segment values as text: 123.0 (Excel number) -> "123"; text stripped;
    blank cells (and text of spaces only) become None.

    Converts each distinct value once (ids repeat across a customer's transactions).
    """
    obj = s.astype(object)
    kind = _kind(obj)
    if kind == "string":
        stripped = obj.astype("str").str.strip()  # pyarrow-backed when available: fast
        out = stripped.to_numpy(dtype=object, na_value=None)
        out[out == ""] = None
        return pd.Series(out, index=s.index, dtype=object)
    if kind == "integer":  # exact digits: a float would round ids above 2**53
        codes, uniques = pd.factorize(obj, use_na_sentinel=True)
        text = np.array([str(int(u)) for u in uniques] + [None], dtype=object)
        return pd.Series(text[codes], index=s.index, dtype=object)
    if kind == "floating":  # (mixed ints and floats: _texts keeps the ints' exact digits)
        obj = pd.Series(obj.to_numpy(dtype=float), index=s.index)
    codes, uniques = pd.factorize(obj, use_na_sentinel=True)
    text = _texts(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
    text = np.append(text, None)  # code -1 (a missing value) -> None
    return pd.Series(text[codes], index=s.index, dtype=object)


#: Whole numbers from 2**53 on are not all exact as floating point (Excel's numbers, float64).
EXACT_FLOAT_LIMIT = 2**53


def _check_exact_ids(ids: pd.Series, column: str, sheet: str, rows: np.ndarray) -> None:
    """Stop on a customer id held as a floating-point number of 2**53 or more: such a number
    may be a rounded form of another id (9007199254740993 is stored as 9007199254740992), so
    customers could be merged silently. Ids as text or as integers (CSV, Parquet int64) are
    exact and pass. Excel itself keeps only 15 significant digits of a number."""
    if ids.dtype == object:
        kind = _kind(ids)
        if kind in ("string", "integer", "empty"):
            return
        if kind == "floating":  # numbers only (an Excel number column): no per-cell check
            values = ids.to_numpy(dtype=float, na_value=np.nan)
        else:
            floats = ids.map(lambda v: isinstance(v, float | np.floating)).to_numpy(dtype=bool)
            values = np.where(floats, pd.to_numeric(ids.where(floats), errors="coerce"), np.nan)
    elif pd.api.types.is_float_dtype(ids.dtype):
        values = ids.to_numpy(dtype=float, na_value=np.nan)
    else:
        return
    big = np.flatnonzero(np.isfinite(values) & (np.abs(values) >= EXACT_FLOAT_LIMIT))
    if big.size:
        i = int(big[0])
        raise WorkbookError(
            f"Sheet '{sheet}' row {int(rows[i])}, column '{column}': the customer id "
            f"{values[i]:.0f} is stored as a number too large to be exact (from 2^53 = "
            f"{EXACT_FLOAT_LIMIT:,} on; Excel keeps 15 digits), so different customers may "
            f"have been merged ({big.size:,} such id(s)). Store the ids as text: format the "
            "column as Text and paste the ids again, or export them as text (CSV)"
        )


def _texts(values: pd.Series) -> np.ndarray:
    """Distinct cell values (no NaN/None) as stripped text, None for blank text."""
    out = np.full(len(values), None, dtype=object)
    if len(values) == 0:
        return out
    is_str, is_num, other = _type_masks(values)
    if is_str.any():
        stripped = values[is_str].astype(str).str.strip()
        out[is_str] = stripped.where(stripped != "", None).to_numpy(dtype=object)
    if is_num.any():
        nums = values[is_num]
        is_int = nums.map(lambda v: isinstance(v, int | np.integer)).to_numpy(dtype=bool)
        text = np.empty(len(nums), dtype=object)
        if (~is_int).any():
            text[~is_int] = _float_text(nums[~is_int].to_numpy(dtype=float))
        if is_int.any():  # exact digits: a float would round above 2**53
            text[is_int] = [str(int(v)) for v in nums[is_int]]
        out[is_num] = text
    if other.any():
        out[other] = [_cell_text(v) for v in values[other].tolist()]
    return out


def serial_dates(x: np.ndarray, date1904: bool = False) -> np.ndarray:
    """Excel serial day numbers as datetime64[ns]; NaT when out of range.

    In the 1900 date system (Excel's default) serial 1 is 1900-01-01; Excel counts a 29 Feb
    1900 that never was (serial 60, rejected), so serials 1-59 are one day later than a
    plain count from 1899-12-30. In the 1904 date system (a workbook option, the default of
    Excel for Mac before 2011) serial 0 is 1904-01-01 and the count is plain: serial 43832
    is 2020-01-02 in the 1900 system and 2024-01-03, 1,462 days later, in the 1904 system.
    """
    if date1904:
        ok = np.isfinite(x) & (x >= 0) & (x < _MAX_SERIAL - 1462 + 1)
        day = np.floor(np.where(ok, x, 0)).astype(np.int64)
        origin = np.datetime64("1904-01-01", "D")
    else:
        ok = np.isfinite(x) & (x >= 1) & (x < _MAX_SERIAL + 1) & (np.floor(x) != 60)
        day = np.floor(np.where(ok, x, 61)).astype(np.int64)
        day = np.where(day < 60, day + 1, day)
        origin = np.datetime64("1899-12-30", "D")
    vals = origin + day.astype("timedelta64[D]")
    vals[~ok] = np.datetime64("NaT")
    return _as_ns(vals)


def _distinct(text: pd.Series) -> tuple[np.ndarray, pd.Series, np.ndarray]:
    """(codes, distinct values, position of each distinct value's first occurrence).

    A missing value is read as blank text "" (never code -1, which would index the last
    distinct value and give a blank cell another row's date or amount)."""
    codes, uniques = pd.factorize(text.fillna("").to_numpy(dtype=object))
    first = np.zeros(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object), first


def _dates_from_text(
    text: pd.Series,
    order: str | None,
    *,
    column: str,
    sheet: str,
    rows: np.ndarray,
    date1904: bool = False,
) -> tuple[np.ndarray, _TextDates]:
    text = text.astype(str).str.strip()
    digits = _digit_dates(text, column=column, sheet=sheet, rows=rows, date1904=date1904)
    if digits is not None:
        return digits.values, digits
    values = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    fast = _iso_fast(text, values)
    parsed = _TextDates(values)
    if not fast.all():
        slow = ~fast
        codes, uniques, first = _distinct(text[slow])
        parsed = _text_dates(uniques, order, column=column, sheet=sheet, rows=rows[slow][first])
        values[slow] = parsed.values[codes]
        parsed.values = values
    return values, parsed


def _digit_dates(
    text: pd.Series, *, column: str, sheet: str, rows: np.ndarray, date1904: bool = False
) -> _TextDates | None:
    """A date column written only in digits, all of one length: ``20241018`` (yyyymmdd, as
    ERP exports write dates) or ``45583`` (an Excel serial number saved to CSV as text).
    None for any other column. Four digits (a year alone) or mixed lengths are not read so."""
    if text.empty:
        return None
    width = text.str.len()
    if not (width.iloc[0] in (5, 8) and (width == width.iloc[0]).all()):
        return None
    if not text.str.fullmatch(r"\d+").all():
        return None
    if width.iloc[0] == 8:
        parsed = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
        values, how = _as_ns(parsed.to_numpy(dtype="datetime64[ns]")), "yyyymmdd"
    else:
        values = serial_dates(text.astype(float).to_numpy(), date1904)
        how = "Excel serial numbers" + (" (1904 date system)" if date1904 else "")
    ok = ~np.isnat(values)
    if not ok.any():
        return None
    i = int(np.flatnonzero(ok)[0])
    day = pd.Timestamp(values[i]).strftime("%Y-%m-%d")
    note = (
        f"Dates in column '{column}' of sheet '{sheet}' read as {how}: {text.iloc[i]!r} in "
        f"row {rows[i]} is {day}"
    )
    return _TextDates(values, note=note)


def _iso_fast(text: pd.Series, values: np.ndarray) -> np.ndarray:
    """Vectorised (Arrow) reading of yyyy-mm-dd text with an optional time and offset, the
    form of most exports' timestamps (unique per row, so slow to read one by one). Fills
    ``values`` where read; returns where it applied (the rest goes the general way)."""
    done = np.zeros(len(text), dtype=bool)
    if len(text) < 1000:
        return done
    try:
        arrow = text.astype("string[pyarrow]")
        head = arrow.str.match(r"\d{4}-\d{2}-\d{2}").fillna(False).to_numpy(dtype=bool)
        if not head.any():
            return done
        rest = arrow.str.slice(10).str.fullmatch(_TIME).fillna(False).to_numpy(dtype=bool)
    except (ImportError, TypeError, ValueError):  # no pyarrow, or a pattern Arrow rejects
        return done
    done = head & rest
    if done.any():
        day = pd.to_datetime(arrow[done].str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
        # in the parsed unit: a cast to [ns] here would wrap year 2999 to 1830 silently
        values[done] = _as_ns(np.asarray(day.to_numpy()))
    return done


def _datetime_objects(values: pd.Series) -> np.ndarray:
    """Date/datetime/Timestamp objects as datetime64[ns] (time zones dropped)."""
    try:
        parsed = pd.to_datetime(values, errors="coerce")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        return _as_ns(parsed.to_numpy())
    except (TypeError, ValueError):  # mixed time zones, or objects pandas cannot read
        return _as_ns(pd.to_datetime(values.map(_to_timestamp), errors="coerce").to_numpy())


def _parse_dates(
    s: pd.Series,
    order: str | None = None,
    *,
    column: str = "date",
    sheet: str = "Transactions",
    rows: np.ndarray | None = None,
    date1904: bool = False,
) -> tuple[pd.Series, np.ndarray, _TextDates | None]:
    """Dates from cells: datetimes, dates, Excel serial numbers or text (see
    :func:`clean_transactions`). (values at day precision, bad, how text was read)."""
    rows = np.arange(len(s)) + 2 if rows is None else rows
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        out = pd.Series(_as_ns(out.to_numpy()), index=s.index).dt.normalize()
        return out, out.isna().to_numpy(), None
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        out = s.to_numpy(dtype=float, na_value=np.nan)
        out = pd.Series(serial_dates(out, date1904), index=s.index)
        return out, out.isna().to_numpy(), None
    obj = s.astype(object)
    kind = _kind(obj)
    values = np.full(len(obj), np.datetime64("NaT"), dtype="datetime64[ns]")
    info = None
    where = {"column": column, "sheet": sheet}
    if kind in ("datetime", "datetime64", "date"):
        values = _datetime_objects(obj)
    elif kind in ("floating", "integer", "mixed-integer-float"):
        values = serial_dates(obj.to_numpy(dtype=float), date1904)
    elif kind == "string":
        values, info = _dates_from_text(obj, order, rows=rows, date1904=date1904, **where)
    elif kind != "empty":
        is_str, is_num, other = _type_masks(obj)
        if is_num.any():
            values[is_num] = serial_dates(obj[is_num].to_numpy(dtype=float), date1904)
        if is_str.any():
            values[is_str], info = _dates_from_text(
                obj[is_str], order, rows=rows[is_str], date1904=date1904, **where
            )
        if other.any():
            sub = obj[other]
            dated = sub.map(lambda v: isinstance(v, dt.date | np.datetime64)).to_numpy(bool)
            idx = np.flatnonzero(other)[dated]
            if idx.size:
                values[idx] = _datetime_objects(sub[dated])
    out = pd.Series(values, index=s.index).dt.normalize()
    return out, out.isna().to_numpy(), info


def _to_timestamp(v: Any) -> Any:
    if isinstance(v, pd.Timestamp):
        return v.tz_localize(None) if v.tz is not None else v
    if isinstance(v, dt.datetime):
        return pd.Timestamp(v.replace(tzinfo=None))
    if isinstance(v, dt.date):
        return pd.Timestamp(v)
    if isinstance(v, np.datetime64):
        return pd.Timestamp(v)
    return pd.NaT


def _parse_numbers(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Numbers from cells: numbers, or numeric text with a plain decimal point. (values, bad)."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        out = s.astype(float)
        return out, ~np.isfinite(out.to_numpy())
    obj = s.astype(object)
    kind = _kind(obj)
    if kind in ("floating", "integer", "mixed-integer-float"):
        out = pd.Series(obj.to_numpy(dtype=float), index=s.index)
        return out, ~np.isfinite(out.to_numpy())
    values = np.full(len(obj), np.nan)
    if kind == "string":
        is_str, is_num = np.ones(len(obj), dtype=bool), np.zeros(len(obj), dtype=bool)
    else:
        is_str, is_num, _ = _type_masks(obj)
    if is_num.any():
        values[is_num] = obj[is_num].to_numpy(dtype=float)
    if is_str.any():
        text = obj[is_str].astype(str).str.strip()
        plain = text.str.match(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$").to_numpy(dtype=bool)
        sub = np.full(len(text), np.nan)
        if plain.any():
            sub[plain] = text[plain].astype(float).to_numpy()
        values[is_str] = sub
    out = pd.Series(values, index=s.index)
    return out, ~np.isfinite(values)


def _parse_amounts(
    s: pd.Series,
    decimal: str | None = None,
    *,
    column: str = "amount",
    sheet: str = "Transactions",
    rows: np.ndarray | None = None,
) -> tuple[pd.Series, np.ndarray, _TextAmounts | None]:
    """Amounts from cells: numbers (also Decimal), or text as :func:`_text_amounts` reads it.
    (values, bad, how text was read); bad = not a finite number."""
    rows = np.arange(len(s)) + 2 if rows is None else rows
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        out = pd.Series(s.to_numpy(dtype=float, na_value=np.nan), index=s.index)
        return out, ~np.isfinite(out.to_numpy()), None
    obj = s.astype(object)
    kind = _kind(obj)
    if kind in ("floating", "integer", "mixed-integer-float", "decimal"):
        out = pd.Series(obj.to_numpy(dtype=float), index=s.index)
        return out, ~np.isfinite(out.to_numpy()), None
    values = np.full(len(obj), np.nan)
    info = None
    if kind == "string":
        is_str, is_num = np.ones(len(obj), dtype=bool), np.zeros(len(obj), dtype=bool)
    else:
        is_str, is_num, _ = _type_masks(obj)
    if is_num.any():
        values[is_num] = obj[is_num].to_numpy(dtype=float)
    if is_str.any():
        text = obj[is_str].astype(str).str.strip()
        codes, uniques, first = _distinct(text)
        rows_u = rows[is_str][first]
        info = _text_amounts(uniques, decimal, column=column, sheet=sheet, rows=rows_u)
        values[is_str] = info.values[codes]
        row_marks = np.full(len(obj), None, dtype=object)
        row_marks[is_str] = info.marks[codes]
        info.marks = row_marks
    out = pd.Series(values, index=s.index)
    return out, ~np.isfinite(values), info


def problem_for_bad(v: Any, what: str, order: str | None = None) -> str:
    """The Data issues text of an unusable ``what`` cell (a date, amount, score...): blank,
    an Excel error, or text that does not read (with the date order, if known)."""
    text = _cell_text(v).strip()
    if text == "":
        return f"{what} is blank: row not used"
    if text.startswith("#"):
        return f"{what} is the Excel error {text}: row not used (fix the cell or its formula)"
    if what == "date":
        return _date_text_problem(text, order) or (
            f"date {text!r} is not a date between 1900 and 2262: row not used (use a date "
            "cell, an Excel serial number, yyyy-mm-dd, yyyymmdd, or dd/mm/yyyy or mm/dd/yyyy "
            "with --date-order)"
        )
    if what == "amount" and isinstance(v, _NUMBER_TYPES) and not isinstance(v, bool):
        return f"amount {text!r} is not a finite number: row not used"
    return (
        f"{what} {text!r} is not a number: row not used (use a number such as 1234.50, "
        "$1,234.50 or (12.00); check --decimal-separator)"
    )


def _excel_rows(index_positions: np.ndarray, first_row: int) -> np.ndarray:
    return index_positions + first_row


def _drop_blank_rows(raw: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows with at least one non-blank cell, and their positions in ``raw``."""
    if raw.empty:
        return raw, np.arange(0)
    blank = np.ones(len(raw), dtype=bool)
    for col in raw.columns:  # later columns are only looked at where all before were blank
        rows = np.flatnonzero(blank)
        if rows.size == 0:
            break
        if rows.size == len(raw):
            blank = _blank_mask(raw[col])
        else:
            blank[rows] = _blank_mask(raw[col].iloc[rows])
    if not blank.any():
        return raw, np.arange(len(raw))
    keep = np.flatnonzero(~blank)
    return raw.iloc[keep], keep


def _require(raw: pd.DataFrame, names: tuple[str, ...], sheet: str) -> dict[str, str]:
    found = {}
    missing = []
    for name in names:
        col = find_column(raw, name)
        if col is None:
            missing.append(name)
        else:
            found[name] = col
    if missing:
        have = ", ".join(str(c) for c in raw.columns) or "no columns at all"
        plural = "columns" if len(missing) > 1 else "column"
        raise WorkbookError(
            f"Sheet '{sheet}' has no {plural} {', '.join(repr(m) for m in missing)}; found: {have}. "
            "Rename the header (case, spaces and underscores don't matter), e.g. 'Customer ID' "
            "for customer_id",
            sheet=None,
        )
    return found


def clean_transactions(
    raw: pd.DataFrame,
    *,
    sheet: str = "Transactions",
    first_row: int = 2,
    observation_end: Any = None,
    columns: Mapping[str, str] | str | None = None,
    date_order: str | None = None,
    decimal_separator: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate a raw transaction table; return the usable rows and the issues table.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read: header row as column names, cells as the workbook holds them.
        Required fields ``customer_id``, ``date``, ``amount``, found by :func:`resolve_columns`
        (``columns``, else the header names of common exports); every other column is a
        segment dimension.
    sheet : str
        Sheet (or file) name, for messages.
    first_row : int
        Excel row number of ``raw``'s first row (2 when the header is in row 1).
    observation_end : date-like, optional
        Rows dated after it are reported and not used.
    columns : mapping or str, optional
        Explicit ``{field: header}`` (or ``"customer_id=Email,date=Created at"``).
    date_order : {"YMD", "DMY", "MDY"}, optional
        Order of dates written as day/month/year text. None: the only order every value fits
        (a day above 12 decides, and a note says so); ambiguous values stop the run.
    decimal_separator : {".", ","}, optional
        Decimal separator of amounts written as text. None: the one unambiguous values imply.

    The three options default to ``raw.attrs[READING_ATTR]`` (set by the readers and the CLI).

    Returns
    -------
    clean : pandas.DataFrame
        ``customer_id`` (text), ``date`` (datetime64, day), ``amount`` (float), then the
        segment columns under their original headers (text; a blank segment is "(blank)").
        Negative amounts are returns and are kept; zero amounts are kept and reported.
        ``clean.attrs[READING_ATTR]`` (also set on ``raw``) says what was chosen:
        ``columns`` {field: header}, ``date_order``, ``decimal_separator``, ``notes``.
    issues : pandas.DataFrame
        One row per input row not used or used with a caveat: ``Sheet``, ``Row``, ``Column``,
        ``Value``, ``Problem``.

    Raises
    ------
    WorkbookError
        A required column is missing or two columns fit one field; dates or amounts need an
        order / separator the data cannot decide (the message names ``--date-order`` or
        ``--decimal-separator``).

    Notes
    -----
    Dates: date cells, Excel serial numbers (the 1900 date system, or 1904 in a workbook
    that uses it: ``raw.attrs[READING_ATTR]["date1904"]``, set by the reader), ISO text with
    an optional time and UTC offset or Z (the calendar day written counts:
    ``2024-03-15 14:02:11 +0100`` is 15 March), day/month/year text in the order above, and
    month names (``15 Mar 2024``, ``Mar 15, 2024``). Dates before 1900 are rejected whatever their form. Amounts: numbers,
    currency symbols and codes, thousands separators, accounting negatives ``(12.00)``;
    above :data:`MAX_AMOUNT` or not finite: a data issue.
    """
    given = dict(raw.attrs.get(READING_ATTR) or {})
    columns, date_order, decimal_separator = _reading_choices(
        given, columns, date_order, decimal_separator
    )
    cols = resolve_columns(list(raw.columns), columns, sheet=sheet)
    filled, merged_issues = _fill_merged(
        raw, given.get("merged_ranges") or {}, cols, first_row, sheet
    )
    data, positions = _drop_blank_rows(filled)
    rows = _excel_rows(positions, first_row)
    parsed = _parse_fields(
        data, cols, sheet, rows, date_order, decimal_separator, bool(given.get("date1904"))
    )
    rejected = parsed.rejected(observation_end)
    merged = set((given.get("merged_rows") or {}).get(cols["customer_id"], ()))
    issues = list(merged_issues)
    issues += _rejected_issues(parsed, rejected, rows, cols, sheet, merged)
    issues += _zero_issues(parsed, rejected, rows, cols, sheet)
    clean = _clean_table(parsed, ~rejected, data, raw.columns, cols)
    chosen = _chosen(given, cols, parsed, date_order, decimal_separator, ~rejected, rows, sheet)
    clean.attrs[READING_ATTR] = chosen
    raw.attrs[CHOSEN_ATTR] = chosen
    return clean, _sorted_issues(issues)


def _reading_choices(given: dict, columns: Any, date_order: Any, decimal_separator: Any):
    """The column mapping, date order and decimal separator: the arguments, else what the
    reader left in ``raw.attrs`` (validated)."""
    columns = columns if columns is not None else given.get("columns")
    if isinstance(columns, str):
        columns = parse_column_mapping(columns)
    date_order = _option(date_order or given.get("date_order"), DATE_ORDERS, "--date-order")
    decimal_separator = _option(
        decimal_separator or given.get("decimal_separator"), (".", ","), "--decimal-separator"
    )
    return columns, date_order, decimal_separator


@dataclass
class _Parsed:
    """The three required fields of each non-blank row, parsed, with what is wrong."""

    cid_raw: pd.Series
    cid_text: pd.Series  # None where blank
    cid_blank: np.ndarray
    cid_error: np.ndarray  # an Excel error such as #N/A
    date_raw: pd.Series
    dates: pd.Series
    date_bad: np.ndarray
    date_info: Any
    amt_raw: pd.Series
    amounts: pd.Series
    amt_bad: np.ndarray
    amt_info: Any
    early: np.ndarray  # before 1900
    huge: np.ndarray  # above MAX_AMOUNT
    order: str | None  # the date order used
    late: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    end: pd.Timestamp | None = None

    @property
    def bad_id(self) -> np.ndarray:
        return self.cid_blank | self.cid_error

    def rejected(self, observation_end: Any) -> np.ndarray:
        """Rows not used; sets :attr:`late` (dated after ``observation_end``)."""
        self.end = None if observation_end is None else pd.Timestamp(observation_end).normalize()
        self.late = np.zeros(len(self.dates), dtype=bool)
        if self.end is not None:
            self.late = ~self.date_bad & (self.dates.to_numpy() > self.end.to_datetime64())
        bad = self.bad_id | self.date_bad | self.early | self.amt_bad | self.huge
        return bad | self.late


def _parse_fields(
    data, cols, sheet, rows, date_order, decimal_separator, date1904=False
) -> _Parsed:
    cid_raw, date_raw, amt_raw = (data[cols[k]] for k in REQUIRED)
    _check_exact_ids(cid_raw, str(cols["customer_id"]), sheet, rows)
    cid_text = _id_text(cid_raw)
    dates, date_bad, date_info = _parse_dates(
        date_raw, date_order, column=str(cols["date"]), sheet=sheet, rows=rows, date1904=date1904
    )
    amounts, amt_bad, amt_info = _parse_amounts(
        amt_raw, decimal_separator, column=str(cols["amount"]), sheet=sheet, rows=rows
    )
    return _Parsed(
        cid_raw=cid_raw,
        cid_text=cid_text,
        cid_blank=cid_text.isna().to_numpy(),
        cid_error=cid_text.isin(EXCEL_ERRORS).to_numpy(dtype=bool),
        date_raw=date_raw,
        dates=dates,
        date_bad=date_bad,
        date_info=date_info,
        amt_raw=amt_raw,
        amounts=amounts,
        amt_bad=amt_bad,
        amt_info=amt_info,
        early=~date_bad & (dates.to_numpy() < np.datetime64("1900-01-01")),
        huge=~amt_bad & (np.abs(amounts.to_numpy()) > MAX_AMOUNT),
        order=date_info.order if date_info is not None else date_order,
    )


def _rejected_issues(
    f: _Parsed, rejected: np.ndarray, rows: np.ndarray, cols: Mapping[str, str], sheet: str,
    merged: set[int],
) -> list[tuple]:  # fmt: skip
    """One issue per row not used: the first of a bad id, date or amount, or a late date."""
    above = f.cid_text.where(~f.cid_error).ffill().shift(1) if f.cid_blank.any() else None
    bad_id = f.bad_id
    issues: list[tuple] = []
    for i in np.flatnonzero(rejected):
        row = int(rows[i])
        if bad_id[i]:
            text = _cell_text(f.cid_raw.iloc[i])
            if f.cid_blank[i]:
                problem = blank_id_problem(above.iloc[i], row in merged)
            else:
                problem = f"customer_id is the Excel error {text}: row not used"
            issues.append((sheet, row, cols["customer_id"], text, problem))
        elif f.date_bad[i] or f.early[i]:
            v = f.date_raw.iloc[i]
            problem = (
                f"date {_cell_text(v)!r} is before 1900: row not used (xlclv reads dates from "
                "1900 to 2262; fix the year)"
                if f.early[i]
                else problem_for_bad(v, "date", f.order)
            )
            issues.append((sheet, row, cols["date"], _cell_text(v), problem))
        elif f.amt_bad[i] or f.huge[i]:
            v = f.amt_raw.iloc[i]
            problem = (
                f"amount {_cell_text(v)!r} is implausibly large (above {MAX_AMOUNT:.0e} in "
                "absolute value): row not used (check the cell)"
                if f.huge[i]
                else problem_for_bad(v, "amount")
            )
            issues.append((sheet, row, cols["amount"], _cell_text(v), problem))
        else:
            day = f.dates.iloc[i].strftime("%Y-%m-%d")
            problem = f"date after observation_end ({f.end:%Y-%m-%d}): row not used"
            issues.append((sheet, row, cols["date"], day, problem))
    return issues


def _zero_issues(f: _Parsed, rejected, rows, cols, sheet) -> list[tuple]:
    """Zero amounts among the rows used: kept, listed (the report relabels them)."""
    zero = ~rejected & (f.amounts.to_numpy() == 0)
    problem = "zero amount: kept, but not counted as a purchase"
    return [(sheet, int(rows[i]), cols["amount"], "0", problem) for i in np.flatnonzero(zero)]


def _clean_table(f: _Parsed, keep: np.ndarray, data, raw_columns, cols) -> pd.DataFrame:
    """customer_id, date, amount of the rows kept, then the segment columns as text."""
    clean = pd.DataFrame(
        {
            "customer_id": f.cid_text[keep].to_numpy(dtype=object),
            "date": f.dates[keep].to_numpy(),
            "amount": f.amounts[keep].to_numpy(dtype=float),
        }
    )
    used = set(cols.values())
    seg_cols = [c for c in raw_columns if c not in used and str(c).strip() != ""]
    if seg_cols:
        block = _segment_texts(data.loc[:, seg_cols][keep])
        headers = list(raw_columns)
        block.columns = [_beside_fields(c, headers) for c in seg_cols]
        clean = pd.concat([clean, block], axis=1)
        clean.index = pd.RangeIndex(len(clean))
    return clean


def _sorted_issues(issues: list[tuple]) -> pd.DataFrame:
    issue_df = _issues(issues)
    if not issue_df.empty:
        issue_df = issue_df.sort_values(["Sheet", "Row"], kind="stable").reset_index(drop=True)
    return issue_df


def _chosen(
    given: dict, cols, f: _Parsed, date_order, decimal_separator, keep, rows, sheet
) -> dict[str, Any]:
    """What the reading chose (``clean.attrs[READING_ATTR]``): columns, date order, decimal
    separator, notes and the currency the amounts are written in (stops on a mix)."""
    notes = list(given.get("notes") or [])
    notes += [x.note for x in (f.date_info, f.amt_info) if x is not None and x.note]
    return {
        "columns": {k: str(v) for k, v in cols.items()},
        "date_order": f.order,
        "decimal_separator": f.amt_info.decimal if f.amt_info is not None else decimal_separator,
        "notes": notes,
        "written_in": None
        if f.amt_info is None
        else _written_in(
            f.amt_info.marks[keep], f.amt_raw[keep], rows[keep], cols["amount"], sheet
        ),
    }


#: Key of ``raw.attrs`` where :func:`clean_transactions` leaves its choices (a caller holding
#: only the inputs, such as the CLI, prints them from there).
CHOSEN_ATTR = "xlclv_chosen"


def _beside_fields(column: Any, headers: list[Any]) -> Any:
    """An extra column's name in the clean table: its header, unless that is a field's name
    (an ``amount`` column left over when ``--columns`` maps amount to another): then
    ``amount (column C)``, so it never replaces the field."""
    if column not in REQUIRED:
        return column
    return f"{column} (column {column_letters(headers.index(column) + 1)})"


def _segment_texts(block: pd.DataFrame) -> pd.DataFrame:
    """Segment columns as text ("(blank)" for blanks), all columns in one pass over the cells:
    linear in the cell count, without a per-column cost (16,384 columns take seconds)."""
    n, k = block.shape
    names = [str(c) for c in block.columns]
    if n == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in names}).set_axis(names, axis=1)
    if k == 1:
        flat = block.iloc[:, 0]
    else:
        flat = pd.Series(block.to_numpy(dtype=object).ravel(order="F"), dtype=object)
    text = np.array(_id_text(flat).to_numpy(dtype=object), dtype=object, copy=True)
    text[pd.isna(text)] = "(blank)"
    return pd.DataFrame(text.reshape((n, k), order="F"), columns=names, dtype=object)


def _option(value: Any, allowed: tuple[str, ...], flag: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip().upper()
    if flag == "--date-order":
        text = re.sub(r"[\s/.\-]+", "", text)  # "d/m/y" = DMY, as on the Settings sheet
    else:
        text = {"POINT": ".", "DOT": ".", "PERIOD": ".", "COMMA": ","}.get(text, text)
    if text not in allowed:
        raise WorkbookError(f"{flag} must be one of {', '.join(allowed)}, got {value!r}")
    return text


def _fill_merged(
    raw: pd.DataFrame, ranges: Mapping[str, list], cols: Mapping[str, str], first_row: int,
    sheet: str,
) -> tuple[pd.DataFrame, list[tuple]]:  # fmt: skip
    """Merged cells over several rows: the top cell's value applies to each row of an id, date
    or segment column (Excel shows it on every row), listed in Data issues as merged-cell
    continuations; an amount merged over several rows stops the run (copying it down would
    multiply the revenue, keeping it once would guess which row it belongs to).

    ``ranges``: ``{header: [(top row, last row, "B5:B7", holds the value)]}`` (Excel rows),
    from the workbook reader. Returns the filled table (``raw`` itself when nothing is
    merged) and the issues."""
    over_rows = [span for span in ranges.get(cols["amount"], ()) if span[0] >= first_row]
    if over_rows:  # (a range from the header down leaves the rows under it blank: not used)
        top, last, ref, _ = over_rows[0]
        raise WorkbookError(
            f"Sheet '{sheet}': the amount cells {ref} are merged over rows {top}-{last}, so it "
            "is unclear which row the amount belongs to (copying it to each row would count "
            "it several times). Unmerge them and put each row's own amount in it (or the "
            "amount on one row and 0 on the others)"
        )
    field_of = {v: k for k, v in cols.items()}
    filled, issues = raw, []
    if not any(ranges.get(c) for c in raw.columns):
        return filled, issues
    used_rows = set((_drop_blank_rows(raw)[1] + first_row).tolist())  # a blank row stays blank
    for col, spans in ranges.items():
        if col not in raw.columns:
            continue
        values = None
        for top, last, _ref, holds in spans:
            if not holds or top < first_row:  # the header, or a cell left of the value
                continue
            if values is None:
                values = raw[col].to_numpy(dtype=object, copy=True)
            value = values[top - first_row]
            if _blank_cell(value):
                continue
            for row in range(top + 1, min(last, first_row + len(raw) - 1) + 1):
                if row in used_rows and _blank_cell(values[row - first_row]):
                    values[row - first_row] = value
                    issues.append(
                        (
                            sheet,
                            row,
                            col,
                            _cell_text(value),
                            f"merged cell continuation: {field_of.get(col, col)} "
                            f"{_cell_text(value)!r} of row {top} applied to this row (kept)",
                        )
                    )
        if values is not None:
            if filled is raw:
                filled = raw.copy(deep=False)
            filled[col] = pd.Series(values, index=raw.index, dtype=object)
    return filled, issues


def _blank_cell(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or bool(pd.isna(v) is True)


def blank_id_problem(prev: Any, merged: bool) -> str:
    """The issue text of a row without a customer id; names the last id above it."""
    prev = None if prev is None or (isinstance(prev, float) and np.isnan(prev)) else prev
    if merged:
        shown = f", previous id {prev}" if prev is not None else ""
        return (
            f"merged cell continuation: customer_id blank{shown}: row not used (unmerge the "
            "cells and fill the id into every row)"
        )
    if prev is not None:
        return (
            f"customer_id is blank: row not used (the row above has id {prev}; if the ids "
            "were merged cells, unmerge them and fill the id into every row)"
        )
    return "customer_id is blank: row not used"


def clean_nps(
    raw: pd.DataFrame, *, sheet: str = "NPS", first_row: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """NPS responses (``customer_id``, ``score`` 0–10 whole numbers, ``row`` = Excel row);
    bad rows reported."""
    cols = _require(raw, ("customer_id", "score"), sheet)
    data, positions = _drop_blank_rows(raw)
    rows = _excel_rows(positions, first_row)
    cid_raw, score_raw = data[cols["customer_id"]], data[cols["score"]]
    cid_blank = _blank_mask(cid_raw)
    scores, bad = _parse_numbers(score_raw)
    sv = scores.to_numpy()
    out_of_range = ~bad & ((sv < 0) | (sv > 10) | (sv != np.round(sv)))
    issues = []
    for i in np.flatnonzero(cid_blank | bad | out_of_range):
        if cid_blank[i]:
            issues.append(
                (
                    sheet,
                    int(rows[i]),
                    cols["customer_id"],
                    "",
                    "customer_id is blank: response not used",
                )
            )
        elif bad[i]:
            v = score_raw.iloc[i]
            issues.append(
                (sheet, int(rows[i]), cols["score"], _cell_text(v), problem_for_bad(v, "score"))
            )
        else:
            issues.append(
                (
                    sheet,
                    int(rows[i]),
                    cols["score"],
                    _cell_text(sv[i]),
                    "score must be a whole number from 0 to 10: response not used",
                )
            )
    keep = ~(cid_blank | bad | out_of_range)
    clean = pd.DataFrame(
        {
            "customer_id": _id_text(cid_raw)[keep].to_numpy(dtype=object),
            "score": sv[keep],
            "row": rows[keep].astype(np.int64),
        }
    )
    return clean, _issues(issues)


def clean_marketing(
    raw: pd.DataFrame, *, sheet: str = "Marketing", first_row: int = 2
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Marketing spend per segment: (table with ``segment``, ``spend``, ``new_customers``,
    issues, the segment column's header).

    The first column that is not spend / new customers names the segment dimension it
    matches (e.g. ``channel``).
    """
    cols = _require(raw, ("spend", "new_customers"), sheet)
    others = [c for c in raw.columns if c not in cols.values() and str(c).strip()]
    if not others:
        raise WorkbookError(
            f"Sheet '{sheet}' needs a segment column (e.g. 'channel') next to 'spend' and "
            f"'new_customers'; found: {', '.join(map(str, raw.columns))}"
        )
    seg_col = others[0]
    data, positions = _drop_blank_rows(raw)
    rows = _excel_rows(positions, first_row)
    spend, bad_spend = _parse_numbers(data[cols["spend"]])
    new, bad_new = _parse_numbers(data[cols["new_customers"]])
    seg_blank = _blank_mask(data[seg_col])
    negative = ~bad_spend & ~bad_new & ((spend.to_numpy() < 0) | (new.to_numpy() < 0))
    issues = []
    for i in np.flatnonzero(seg_blank | bad_spend | bad_new | negative):
        if seg_blank[i]:
            issues.append(
                (sheet, int(rows[i]), str(seg_col), "", f"{seg_col} is blank: row not used")
            )
        elif bad_spend[i]:
            v = data[cols["spend"]].iloc[i]
            issues.append(
                (sheet, int(rows[i]), cols["spend"], _cell_text(v), problem_for_bad(v, "spend"))
            )
        elif bad_new[i]:
            v = data[cols["new_customers"]].iloc[i]
            issues.append(
                (
                    sheet,
                    int(rows[i]),
                    cols["new_customers"],
                    _cell_text(v),
                    problem_for_bad(v, "new_customers"),
                )
            )
        else:
            issues.append(
                (
                    sheet,
                    int(rows[i]),
                    cols["spend"],
                    "",
                    "spend and new_customers must not be negative: row not used",
                )
            )
    keep = ~(seg_blank | bad_spend | bad_new | negative)
    clean = pd.DataFrame(
        {
            "segment": _id_text(data[seg_col])[keep].to_numpy(dtype=object),
            "spend": spend[keep].to_numpy(),
            "new_customers": new[keep].to_numpy(),
        }
    )
    clean = clean.groupby("segment", as_index=False, sort=False).sum()
    return clean, _issues(issues), str(seg_col)
