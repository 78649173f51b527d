"""Loud guards on the typed transactions (the pipeline's clean stage).

Each check takes the cleaned rows (with their Excel row numbers) and returns which rows it
leaves out and the Data issues rows saying why, so nothing disappears silently:

- :func:`future_dates`: dates after the run date (a mistyped year would otherwise become the
  observation end and shrink every prediction);
- :func:`too_long_text`: text longer than Excel's 32,767-character cell limit;
- :func:`duplicate_orders`: the same order id twice (listed and counted once) and orders
  whose id is reused for another customer or day;
- :func:`totals_rows`: a ``Total`` / ``Grand total`` row whose amount is the sum of the others;
- :func:`choose_segments`: which extra columns are meaningful segments, and why the others
  are not;
- :func:`material_loss`: the share of rows and of absolute amount not used;
- :func:`refunded_rows`: rows kept as purchases although a status column says they were
  refunded, returned or cancelled (Shopify's ``Financial Status``: ``refunded``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "EXCEL_MAX_TEXT",
    "ORDER_ID_KEYS",
    "Loss",
    "choose_segments",
    "duplicate_orders",
    "future_dates",
    "material_loss",
    "parse_amount_text",
    "too_long_text",
    "totals_rows",
]

EXCEL_MAX_TEXT = 32767
#: Headers (lower case, without spaces, underscores and hyphens) of an order-id column.
ORDER_ID_KEYS = frozenset(
    "orderid order ordernumber orderno ordernr orderref orderreference invoice invoiceid "
    "invoiceno invoicenumber invoicenr transactionid receipt receiptid receiptno receiptnumber "
    "salesorder salesorderid salesordernumber documentnumber documentno".split()
)
#: Shopify names its order column "Name" (values such as "#1001").
_SHOPIFY_ORDER = re.compile(r"^#?\s*[A-Za-z]{0,4}-?\d+$")
_TOTAL_WORDS = frozenset({"total", "totals", "grandtotal", "sum", "overalltotal", "sumtotal"})
#: Order-level fields, not customer groups (Shopify, WooCommerce, Stripe exports).
_ORDER_LEVEL = frozenset(
    "financialstatus fulfillmentstatus paymentstatus orderstatus status currency "
    "paymentmethod shippingmethod".split()
)
_ID_HEADER = re.compile(r"(?:^|[\s_\-])(?:id|ID|Id)$|[a-z]Id$|[a-z]ID$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE_LIKE = re.compile(r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})\b")
_NUMBER_LIKE = re.compile(r"^\s*[-+(]?\s*[$€£¥]?\s*\d[\d,.\s]*\)?\s*%?\s*$")


def _key(name: object) -> str:
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def _issues(sheet: str, rows, column: str, values, problems) -> pd.DataFrame:
    rows = np.asarray(rows, dtype=np.int64)
    return pd.DataFrame(
        {
            "Sheet": sheet,
            "Row": rows,
            "Column": column,
            "Value": pd.Series(list(values), dtype=object),
            "Problem": pd.Series(list(problems), dtype=object),
        }
    )


# -- dates after the run date ---------------------------------------------------------------------


def future_dates(
    tx: pd.DataFrame, rows: np.ndarray, today: pd.Timestamp, sheet: str, column: str
) -> tuple[np.ndarray, pd.DataFrame]:
    """Rows dated after ``today`` (the run date): (mask, issues).

    The pipeline calls this only when observation_end is not set: a date after the run date
    cannot be a real purchase, and as the last date it would become the observation end.
    """
    late = (tx["date"] > today).to_numpy()
    if not late.any():
        return late, _issues(sheet, [], column, [], [])
    days = tx["date"][late].dt.strftime("%Y-%m-%d").tolist()
    run = today.strftime("%Y-%m-%d")
    problems = [
        f"date {d} is after today ({run}, the day of this run): row not used. Fix the date "
        f"(a mistyped year?), or if it is right set observation_end to {d} or later"
        for d in days
    ]
    return late, _issues(sheet, rows[late], column, days, problems)


def before_1900(
    tx: pd.DataFrame, rows: np.ndarray, sheet: str, column: str
) -> tuple[np.ndarray, pd.DataFrame]:
    """Rows dated before 1900 (Excel's first day), whatever form the date came in: (mask,
    issues). The same rule as the reading of text and serial dates."""
    early = (tx["date"] < pd.Timestamp("1900-01-01")).to_numpy()
    if not early.any():
        return early, _issues(sheet, [], column, [], [])
    days = tx["date"][early].dt.strftime("%Y-%m-%d").tolist()
    problems = [
        f"date {d} is before 1900: row not used (xlclv reads dates from 1900 to 2262; fix the year)"
        for d in days
    ]
    return early, _issues(sheet, rows[early], column, days, problems)


# -- text longer than a cell holds ----------------------------------------------------------------


def _utf16_len(s: pd.Series) -> pd.Series:
    n = s.str.len()
    long = n > EXCEL_MAX_TEXT // 2
    if long.any():
        n[long] = s[long].map(lambda t: len(t.encode("utf-16-le", "surrogatepass")) // 2)
    return n


def too_long_text(
    tx: pd.DataFrame, rows: np.ndarray, columns: list[str], sheet: str, names: dict[str, str]
) -> tuple[np.ndarray, pd.DataFrame]:
    """Rows with a text cell longer than Excel's limit: (mask, issues). Never cut silently."""
    bad = np.zeros(len(tx), dtype=bool)
    frames = []
    for col in columns:
        s = tx[col]
        if not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)):
            continue
        n = _utf16_len(s.astype(str))
        over = (n > EXCEL_MAX_TEXT).to_numpy() & ~bad
        if not over.any():
            continue
        bad |= over
        texts = s[over].astype(str).tolist()
        lengths = n[over].tolist()
        frames.append(
            _issues(
                sheet,
                rows[over],
                names.get(col, col),
                [t[:60] + "…" for t in texts],
                [
                    f"text of {k:,} characters is longer than an Excel cell holds "
                    f"({EXCEL_MAX_TEXT:,}): row not used (shorten the cell; it is never cut "
                    "silently)"
                    for k in lengths
                ],
            )
        )
    return bad, _concat(frames, sheet)


# -- duplicate orders -----------------------------------------------------------------------------


def order_id_column(tx: pd.DataFrame, extra: list[str]) -> str | None:
    """The extra column holding order ids (``order_id``, ``Invoice``, Shopify's ``Name``...)."""
    for col in extra:
        if _key(col) in ORDER_ID_KEYS:
            return col
    for col in extra:
        if _key(col) == "name":
            values = tx[col][tx[col] != "(blank)"].astype(str)
            if len(values) and values.str.match(_SHOPIFY_ORDER.pattern).mean() >= 0.9:
                return col
    return None


@dataclass
class Duplicates:
    dropped: np.ndarray  # exact repeats of an earlier row of the same order
    conflicting: np.ndarray  # same order id, another customer or day
    issues: pd.DataFrame
    line_items: int  # rows that are further lines of an order (kept)


def duplicate_orders(tx: pd.DataFrame, rows: np.ndarray, order_col: str, sheet: str) -> Duplicates:
    """Repeated order ids: an exact repeat (same customer, day and amount) is listed and
    counted once; a reused id for another customer or day is listed and not used; further
    lines of one order (same customer and day, another amount) are kept and added up."""
    n = len(tx)
    order = tx[order_col].astype(str)
    has = (order != "(blank)").to_numpy()
    key = pd.DataFrame(
        {"o": order, "c": tx["customer_id"].astype(str), "d": tx["date"], "a": tx["amount"]}
    )
    exact = key.duplicated(keep="first").to_numpy() & has
    firsts = key.groupby("o", sort=False).transform("first")
    first_row = pd.Series(rows).groupby(order.to_numpy(), sort=False).transform("first").to_numpy()
    other = ((key["c"] != firsts["c"]) | (key["d"] != firsts["d"])).to_numpy() & has & ~exact
    repeated = order.duplicated(keep="first").to_numpy() & has
    lines = int((repeated & ~exact & ~other).sum())
    frames = []
    if exact.any():
        frames.append(
            _issues(
                sheet,
                rows[exact],
                order_col,
                order[exact].tolist(),
                [
                    f"duplicate of row {r}: order {o} with the same customer, date and amount "
                    "is counted once; this row is not used"
                    for r, o in zip(first_row[exact].tolist(), order[exact].tolist(), strict=True)
                ],
            )
        )
    if other.any():
        cust, day = firsts["c"][other].tolist(), firsts["d"][other].tolist()
        frames.append(
            _issues(
                sheet,
                rows[other],
                order_col,
                order[other].tolist(),
                [
                    f"order {o} is already on row {r} for customer {c} on "
                    f"{pd.Timestamp(d):%Y-%m-%d}: row not used (an order id belongs to one "
                    "customer and day; fix the id)"
                    for o, r, c, d in zip(
                        order[other].tolist(), first_row[other].tolist(), cust, day, strict=True
                    )
                ],
            )
        )
    issues = _concat(frames, sheet)
    del n
    return Duplicates(exact, other, issues, lines)


# -- totals rows ----------------------------------------------------------------------------------


def _is_total_word(values: pd.Series) -> np.ndarray:
    text = values.astype(str)
    # cheap vectorised filter first ("Grand total" and friends are short and say tot/sum)
    maybe = (text.str.len() <= 20) & text.str.lower().str.contains("tot|sum", regex=True)
    out = np.zeros(len(values), dtype=bool)
    hits = np.flatnonzero(maybe.to_numpy(dtype=bool))
    out[hits] = [_key(v) in _TOTAL_WORDS for v in text.iloc[hits].tolist()]
    return out


def totals_rows(
    tx: pd.DataFrame, rows: np.ndarray, text_columns: list[str], sheet: str, cid_name: str
) -> tuple[np.ndarray, pd.DataFrame]:
    """Rows labelled Total / Grand total whose amount is the sum of the other rows: (mask,
    issues). A row so labelled whose amount is not that sum is kept, with a caveat listed."""
    label = np.zeros(len(tx), dtype=bool)
    where = {}
    for col in text_columns:
        hit = _is_total_word(tx[col]) & ~label
        for i in np.flatnonzero(hit):
            where[i] = col
        label |= hit
    if not label.any():
        return label, _concat([], sheet)
    amount = tx["amount"].to_numpy(dtype=float)
    others = float(amount[~label].sum())
    tol = max(0.01, 1e-9 * abs(others))
    total = np.zeros(len(tx), dtype=bool)
    problems, values, cols = [], [], []
    for i in np.flatnonzero(label):
        col = where[i]
        text = str(tx[col].iloc[i])
        if abs(amount[i] - others) <= tol:
            total[i] = True
            problems.append(
                f"totals row ('{text}', amount {amount[i]:,.2f} = the sum of the other rows): "
                "left out"
            )
        else:
            problems.append(
                f"'{text}' looks like a totals row, but its amount {amount[i]:,.2f} is not the "
                f"sum of the other rows ({others:,.2f}): kept as a customer; delete the row if "
                "it is a total"
            )
        values.append(text)
        cols.append(cid_name if col == "customer_id" else col)
    issues = pd.DataFrame(
        {
            "Sheet": sheet,
            "Row": rows[label].astype(np.int64),
            "Column": cols,
            "Value": pd.Series(values, dtype=object),
            "Problem": pd.Series(problems, dtype=object),
        }
    )
    return total, issues


# -- segment columns ------------------------------------------------------------------------------


def choose_segments(
    tx: pd.DataFrame, extra: list[str], max_values: int, order_col: str | None
) -> tuple[list[str], list[tuple[str, str]]]:
    """Which extra columns become segments when segment_by is blank: (chosen, skipped with
    the reason). A segment is a text column with 2 to ``max_values`` values; single-valued,
    numeric, date-like, id-like, e-mail-like and order-level columns (status, currency) are
    skipped."""
    chosen, skipped = [], []
    for col in extra:
        reason = _not_a_segment(tx[col], col, max_values, order_col)
        if reason:
            skipped.append((col, reason))
        else:
            chosen.append(col)
    return chosen, skipped


def _not_a_segment(s: pd.Series, col: str, max_values: int, order_col: str | None) -> str:
    key = _key(col)
    if col == order_col or key in ORDER_ID_KEYS or _ID_HEADER.search(str(col)):
        return "an id column"
    values = s[s != "(blank)"].astype(str)
    n = values.nunique()
    if n <= 1:
        return "one value only" if n == 1 else "blank"
    sample = values.drop_duplicates().head(2000)
    if sample.str.match(EMAIL.pattern).mean() >= 0.5:
        return "e-mail addresses"
    if sample.str.match(_DATE_LIKE.pattern).mean() >= 0.9:
        return "dates"
    if sample.str.match(_NUMBER_LIKE.pattern).mean() >= 0.9:
        return "numbers (an amount or a count, not a group)"
    if key in _ORDER_LEVEL:
        return "an order-level field (it changes from order to order), not a customer group"
    if n > max_values:
        return f"{n:,} different values, too many for a segment (at most {max_values})"
    if n == len(values) and n > 2:
        return "a different value on every row (an id)"
    return ""


# -- material loss --------------------------------------------------------------------------------


def parse_amount_text(v: object) -> float:
    """A best-effort amount for measuring what was lost (never used for the report's figures):
    numbers as they are; text with currency signs, thousands separators or accounting
    brackets read leniently; NaN when unreadable."""
    if isinstance(v, bool | np.bool_):
        return float("nan")
    if isinstance(v, int | float | np.integer | np.floating):
        return float(v)
    text = str(v).strip()
    if not text:
        return float("nan")
    neg = text.startswith("(") and text.endswith(")") or text.startswith("-")
    core = re.sub(r"[^\d.,]", "", text)
    if not core:
        return float("nan")
    if "," in core and "." in core:
        core = (
            core.replace(",", "")
            if core.rfind(".") > core.rfind(",")
            else (core.replace(".", "").replace(",", "."))
        )
    elif "," in core:
        parts = core.split(",")
        core = (
            core.replace(",", "")
            if all(len(p) == 3 for p in parts[1:])
            else (core.replace(",", "."))
        )
    try:
        x = float(core)
    except ValueError:
        return float("nan")
    return -x if neg else x


def rejected_totals(
    raw: pd.DataFrame, positions: np.ndarray, amounts: pd.Series, used_sum: float
) -> np.ndarray:
    """Positions (of ``positions``) of raw rows that are totals rows: a cell reads Total /
    Grand total and the amount is the sum of the rows used."""
    out = []
    tol = max(0.01, 1e-9 * abs(used_sum))
    lost = amounts.iloc[positions].tolist() if len(positions) else []
    near = [p for p, v in zip(positions.tolist(), lost, strict=True)
            if abs(parse_amount_text(v) - used_sum) <= tol]  # fmt: skip
    for pos in near:
        cells = raw.iloc[pos]
        words = [v for v in cells.tolist() if isinstance(v, str) and _key(v) in _TOTAL_WORDS]
        if words:
            out.append(pos)
    return np.asarray(out, dtype=np.int64)


@dataclass
class Loss:
    rows: int  # rows not used (duplicates and totals rows excluded: those are handled)
    of_rows: int  # non-blank data rows
    amount: float  # absolute amount of the rows not used (where readable)
    of_amount: float  # absolute amount of all rows
    unreadable: int = 0  # rows not used whose amount could not be read at all

    @property
    def row_share(self) -> float:
        return self.rows / self.of_rows if self.of_rows else 0.0

    @property
    def amount_share(self) -> float:
        return self.amount / self.of_amount if self.of_amount > 0 else 0.0

    def material(self, limit: float) -> bool:
        return self.rows > 0 and (self.row_share > limit or self.amount_share > limit)

    def message(self) -> str:
        amounts = f"{self.amount_share:.1%} of the amounts (revenue) in the file"
        if self.unreadable:
            amounts += (
                f", not counting the {self.unreadable:,} row(s) whose amount could not be read"
            )
        return (
            f"{self.rows:,} of {self.of_rows:,} transaction rows ({self.row_share:.1%}) were "
            f"not used, {amounts}: the CLV figures leave them out. See Data issues and fix "
            "the rows, then run again."
        )


def material_loss(
    raw_amounts: pd.Series,
    lost_positions: np.ndarray,
    used_amounts: np.ndarray,
    handled: int,
) -> Loss:
    """How much of the file was not used: rows and absolute amounts (the lost rows' amounts
    read leniently from the raw cells)."""
    lost = raw_amounts.iloc[lost_positions] if len(lost_positions) else raw_amounts.iloc[:0]
    lost_amount = np.abs(np.array([parse_amount_text(v) for v in lost.tolist()], dtype=float))
    lost_sum = float(np.nansum(lost_amount)) if lost_amount.size else 0.0
    unreadable = int(np.isnan(lost_amount).sum())
    used_sum = float(np.abs(used_amounts).sum())
    return Loss(
        rows=len(lost_positions),
        of_rows=len(lost_positions) + len(used_amounts) + handled,
        amount=lost_sum,
        of_amount=lost_sum + used_sum,
        unreadable=unreadable,
    )


def case_variants(ids: pd.Series) -> tuple[pd.Series, str | None]:
    """Customer ids that differ only in upper/lower case: (ids, note or None).

    E-mail addresses (most ids of the column look like one) are one customer whatever their
    case (``John@x.com`` = ``john@x.com``, as shops treat them): each takes the spelling of its
    first row. Other ids stay apart, and the note says which look alike.
    """
    text = ids.astype(str)
    distinct = pd.Series(text.unique())
    lower = distinct.str.lower()
    clash = lower.duplicated(keep=False).to_numpy()
    if not clash.any():
        return ids, None
    pair = distinct[clash]
    first = pair[lower[clash] == lower[clash].iloc[0]].tolist()[:2]
    groups = int(lower[clash].nunique())
    shown = " and ".join(repr(x) for x in first)
    if distinct.str.match(EMAIL).mean() < 0.9:
        return ids, (
            f"{groups:,} customer id(s) differ from another only in upper/lower case (e.g. "
            f"{shown}): they are counted as different customers. If they are the same, make "
            "the ids identical."
        )
    spelling = dict(zip(lower[::-1], distinct[::-1], strict=True))  # the first spelling wins
    merged = text.str.lower().map(spelling)
    return merged.astype(ids.dtype), (
        f"{groups:,} e-mail address(es) appear in different upper/lower case (e.g. {shown}): "
        "each is one customer, whatever its case."
    )


#: Status words of a row whose positive amount was refunded, returned or cancelled.
UNDONE = re.compile(
    r"(?i)\b(?:(?:partially[\s_-]*)?refund(?:s|ed)?|returns?|returned|credit[\s_-]?(?:note|memo)|"
    r"cancell?(?:ed|ation)|voided|void|charge[\s_-]?back|revers(?:ed|al)|storn\w*|gutschrift|"
    r"retoure|rembours\w*|annul\w*|devoluci[oó]n|devuelt[oa]|reembols\w*|cancelad[oa])\b"
)


@dataclass
class Undone:
    """Purchases a status column calls refunded, returned or cancelled, kept as purchases."""

    column: str
    words: list[str]  # the status values, most frequent first
    rows: np.ndarray  # their Excel rows
    amount: float  # their (positive) amounts' sum
    of_amount: float  # all purchases' sum
    count: int | None = None  # how many rows (None: len(rows); the big path lists first rows)

    @property
    def share(self) -> float:
        return self.amount / self.of_amount if self.of_amount > 0 else 0.0

    def message(self) -> str:
        shown = ", ".join(repr(w) for w in self.words[:3])
        count = self.count if self.count is not None else len(self.rows)
        more = ", ..." if count > min(len(self.rows), 5) else ""
        rows = ", ".join(str(r) for r in self.rows[:5]) + more
        return (
            f"{count:,} purchase row(s) have {shown} in column '{self.column}' "
            f"(rows {rows}): {self.share:.1%} of purchase revenue. They are counted as "
            "purchases. If they were refunded, remove them or add the refund as a negative "
            "amount, then run again."
        )


def refunded_rows(
    tx: pd.DataFrame, rows: np.ndarray, extra: list[str], sheet: str
) -> tuple[Undone | None, pd.DataFrame]:
    """Purchases (amount > 0) whose status says refunded / returned / cancelled, in the first
    extra text column that has such values; (summary or None, Data issues rows)."""
    amount = tx["amount"].to_numpy(dtype=float)
    bought = amount > 0
    for col in extra:
        values = tx[col].astype(str)
        distinct = values[bought].unique()
        if len(distinct) > 50:
            continue  # a status has few values; free text is not a status
        undone = [v for v in distinct if UNDONE.search(v)]
        if not undone:
            continue
        hit = bought & values.isin(undone).to_numpy()
        words = values[hit].value_counts().index.tolist()
        found = Undone(col, words, rows[hit], float(amount[hit].sum()), float(amount[bought].sum()))
        problems = [
            f"status {v!r} in column '{col}': counted as a purchase (if it was refunded, remove "
            "the row or add the refund as a negative amount)"
            for v in values[hit]
        ]
        return found, _issues(sheet, rows[hit], col, values[hit].tolist(), problems)
    return None, _issues(sheet, [], "", [], [])


def _concat(frames: list[pd.DataFrame], sheet: str) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return _issues(sheet, [], "", [], [])
    return pd.concat(frames, ignore_index=True)


def relabel(issues: pd.DataFrame, mask: np.ndarray, problem: Callable[[str], str]) -> pd.DataFrame:
    """``issues`` with the Problem of the rows in ``mask`` rewritten."""
    if not mask.any():
        return issues
    out = issues.copy()
    out.loc[mask, "Problem"] = out.loc[mask, "Problem"].map(problem)
    return out
