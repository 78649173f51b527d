"""One currency per report: the currency the amounts are written in, and the stop when a file
mixes several.

Amounts such as ``$12.00``, ``12,00 €`` or ``USD 12.00`` carry a currency mark, and exports
often have a ``Currency`` column. Adding dollars to euros is a silently wrong number, so a
file whose marks (or whose currency column) name more than one currency stops the run with
the rows that show it. A single currency names the report's number formats unless the user
set one, and a setting that contradicts the data stops the run too.

A mark can stand for several currencies (``$`` is written for the US, Canadian, Australian...
dollar, ``kr`` for four crowns): marks agree when some currency fits all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from xlclv._errors import WorkbookError

_DOLLARS = frozenset(
    "USD CAD AUD NZD HKD SGD MXN TWD ARS CLP COP UYU".split()  # currencies written with "$"
)
#: What a currency mark can mean (codes stand for themselves).
MARKS: dict[str, frozenset[str]] = {
    "$": _DOLLARS,
    "US$": frozenset({"USD"}),
    "U$": frozenset({"USD"}),
    "C$": frozenset({"CAD"}),
    "CA$": frozenset({"CAD"}),
    "A$": frozenset({"AUD"}),
    "AU$": frozenset({"AUD"}),
    "NZ$": frozenset({"NZD"}),
    "HK$": frozenset({"HKD"}),
    "S$": frozenset({"SGD"}),
    "SG$": frozenset({"SGD"}),
    "MX$": frozenset({"MXN"}),
    "NT$": frozenset({"TWD"}),
    "R$": frozenset({"BRL"}),
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}),
    "E£": frozenset({"EGP"}),
    "¥": frozenset({"JPY", "CNY"}),
    "JP¥": frozenset({"JPY"}),
    "CN¥": frozenset({"CNY"}),
    "₹": frozenset({"INR"}),
    "₽": frozenset({"RUB"}),
    "₩": frozenset({"KRW"}),
    "₺": frozenset({"TRY"}),
    "₪": frozenset({"ILS"}),
    "₫": frozenset({"VND"}),
    "₱": frozenset({"PHP"}),
    "KR": frozenset({"SEK", "NOK", "DKK", "ISK"}),
    "ZŁ": frozenset({"PLN"}),
    "FR": frozenset({"CHF"}),
    "RS": frozenset({"INR", "PKR", "LKR"}),
    "RMB": frozenset({"CNY"}),
}

#: Headers of a column that says each row's currency (compared lower-case, without spaces,
#: dots, dashes and underscores).
CURRENCY_HEADERS = frozenset(
    "currency currencycode currencyiso isocurrency ccy curr cur orderscurrency "
    "presentmentcurrency transactioncurrency waehrung währung devise moneda moeda valuta "
    "valuuta".split()
)


def normal_mark(mark: str) -> str:
    """``mark`` as a key of :data:`MARKS`: upper case, no spaces or trailing dot."""
    return "".join(mark.split()).rstrip(".").upper()


def meanings(mark: str) -> frozenset[str]:
    """The currencies a mark or code can stand for (an unknown one stands for itself)."""
    key = normal_mark(mark)
    return MARKS.get(key, frozenset({key}))


@dataclass(frozen=True)
class Written:
    """The currency the amounts are written in: every currency that fits all their marks,
    and the first value that shows it."""

    codes: frozenset[str]
    example: str
    row: int

    def shown(self) -> str:
        """``'€12.00' (row 2)``."""
        return f"{self.example!r} (row {self.row})"


def one_currency(
    marked: Iterable[tuple[str, str, int]], *, what: str, how_to_fix: str
) -> Written | None:
    """The one currency of ``(mark, value, excel row)`` triples in row order; None if none.

    Raises
    ------
    WorkbookError
        Two marks have no currency in common (``$`` and ``€``): the message names both
        values and rows, and ``how_to_fix``.
    """
    found: Written | None = None
    for mark, value, row in marked:
        codes = meanings(mark)
        if found is None:
            found = Written(codes, value, row)
            continue
        common = found.codes & codes
        if not common:
            raise WorkbookError(
                f"{what} are in more than one currency: {found.shown()} and {value!r} "
                f"(row {row}). Adding them would mix currencies, so the report stops. " + how_to_fix
            )
        found = Written(common, found.example, found.row)
    return found


def report_currency(setting: str | None, written: Written | None, *, where: str) -> str:
    """The report's currency: the setting, else the one the data are written in, else USD.

    Raises
    ------
    WorkbookError
        The setting contradicts the data (``--currency USD`` on amounts written in €), or
        the data's mark fits several currencies other than USD (``kr``) and no setting says
        which.
    """
    if written is None:
        return setting or "USD"
    if setting:
        if not (meanings(setting) & written.codes):
            raise WorkbookError(
                f"The currency setting is {setting}, but {where} are written in "
                f"{_names(written.codes)}: {written.shown()}. Clear the setting (the report "
                "then uses the data's currency) or set --currency (Settings: currency) to "
                "the data's currency"
            )
        return setting
    if len(written.codes) == 1:
        return next(iter(written.codes))
    if "USD" in written.codes:
        return "USD"
    raise WorkbookError(
        f"{where} are written in {written.shown()}, which can be {_names(written.codes)}. "
        "Say which with --currency (Settings: currency)"
    )


def _names(codes: frozenset[str]) -> str:
    ordered = sorted(codes)
    return ordered[0] if len(ordered) == 1 else ", ".join(ordered[:-1]) + " or " + ordered[-1]


def is_currency_header(name: object) -> bool:
    """True for a header such as ``Currency``, ``currency_code`` or ``Währung``."""
    key = "".join(ch for ch in str(name).lower() if ch.isalnum())
    return key in CURRENCY_HEADERS
