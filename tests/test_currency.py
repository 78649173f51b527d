"""One currency per report: amounts written in two currencies, or a Currency column with two
codes, stop the run (adding dollars to euros is a silently wrong number); one currency names
the report's number formats unless a setting says otherwise. Expected values by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from xlclv import WorkbookError
from xlclv.report.clean import READING_ATTR, clean_transactions
from xlclv.report.inputs import WorkbookInputs
from xlclv.report.pipeline import build_report

# two customers who buy again, so a report can be built (BG/NBD, weekly)
_DAYS = [
    ("a", "2024-01-03"),
    ("a", "2024-02-10"),
    ("a", "2024-05-01"),
    ("b", "2024-01-20"),
    ("b", "2024-03-15"),
    ("c", "2024-02-01"),
    ("c", "2024-06-20"),
    ("d", "2024-04-04"),
]
_VALUES = [12.5, 1200.0, 30.25, 8.0, 19.99, 45.0, 60.0, 5.0]


def _inputs(amounts, extra=None, **settings):
    rows = [[c, d, a] for (c, d), a in zip(_DAYS, amounts, strict=True)]
    columns = ["customer_id", "date", "amount"]
    if extra is not None:
        name, values = extra
        rows = [[*r, v] for r, v in zip(rows, values, strict=True)]
        columns.append(name)
    df = pd.DataFrame(rows, columns=columns, dtype=object)
    return WorkbookInputs(df, settings={"model": "BGNBD", **settings})


def _report(amounts, extra=None, **settings):
    return build_report(_inputs(amounts, extra, **settings))


def test_amounts_in_two_currencies_stop_naming_both_rows():
    amounts = ["$12.50", "$1,200.00", "€30.25", "$8.00", "$19.99", "$45.00", "$60.00", "$5.00"]
    with pytest.raises(WorkbookError) as err:
        _report(amounts)
    text = str(err.value)
    assert "more than one currency" in text
    assert "'$12.50' (row 2)" in text and "'€30.25' (row 4)" in text
    assert "column 'amount'" in text


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        (["€"] * 8, "EUR"),
        (["EUR "] * 8, "EUR"),
        (["£"] * 7 + ["GBP "], "GBP"),
        (["$"] * 4 + ["CAD "] * 4, "CAD"),  # "$" is also the Canadian dollar's sign
        (["$"] * 8, "USD"),  # the usual reading of a bare "$"
        (["", "", "R$", "", "", "", "", ""], "BRL"),
        ([""] * 8, "USD"),  # no mark: the default
    ],
)
def test_one_currency_names_the_report_and_keeps_every_number(marks, expected):
    amounts = [f"{m}{v:,.2f}" for m, v in zip(marks, _VALUES, strict=True)]
    report = _report(amounts)
    plain = _report([f"{v:.2f}" for v in _VALUES])
    assert report.settings.currency == expected
    assert report.summary["currency"] == expected
    pd.testing.assert_frame_equal(report.customers, plain.customers)
    assert report.customers["Revenue"].sum() == pytest.approx(1380.74, rel=1e-12)  # by hand


def test_a_currency_and_its_code_in_one_cell_are_one_currency():
    clean, issues = clean_transactions(
        pd.DataFrame(
            [["a", "2024-01-01", "$12.00 USD"], ["a", "2024-01-02", "€5 USD"]],
            columns=["customer_id", "date", "amount"],
            dtype=object,
        )
    )
    assert clean["amount"].tolist() == [12.0]
    assert issues["Value"].tolist() == ["€5 USD"]  # two currencies in one cell: not a number
    assert clean.attrs[READING_ATTR]["written_in"].codes == {"USD"}


def test_a_setting_that_contradicts_the_amounts_stops():
    amounts = [f"€{v:.2f}" for v in _VALUES]
    with pytest.raises(WorkbookError, match=r"currency setting is USD.*'€12.50' \(row 2\)"):
        _report(amounts, currency="USD")
    assert _report(amounts, currency="eur").settings.currency == "EUR"


def test_an_ambiguous_mark_asks_which_currency():
    amounts = [f"{v:.2f} kr" for v in _VALUES]
    with pytest.raises(WorkbookError, match=r"DKK, ISK, NOK or SEK.*--currency"):
        _report(amounts)
    assert _report(amounts, currency="SEK").settings.currency == "SEK"


def test_a_currency_column_with_two_codes_stops():
    codes = ["USD", "USD", "USD", "EUR", "USD", "USD", "USD", "USD"]
    with pytest.raises(WorkbookError) as err:
        _report(_VALUES, extra=("Currency", codes))
    assert "'USD' (row 2) and 'EUR' (row 5)" in str(err.value)
    assert "column 'Currency'" in str(err.value)


def test_a_currency_column_names_the_report_and_must_agree_with_the_amounts():
    report = _report(_VALUES, extra=("currency_code", ["CHF"] * 8))
    assert report.settings.currency == "CHF"
    with pytest.raises(WorkbookError, match=r"written in '€12.50' \(row 2\).*says 'GBP'"):
        _report([f"€{v:.2f}" for v in _VALUES], extra=("Currency", ["GBP"] * 8))


def test_a_column_named_currency_that_holds_no_codes_is_an_ordinary_column():
    values = ["web shop", "store", "web shop", "store", "store", "web shop", "store", "store"]
    report = _report(_VALUES, extra=("Currency", values))
    assert report.settings.currency == "USD"


def test_rows_left_out_do_not_decide_the_currency():
    # the euro row is after observation_end, so it is not used: no mix in what is added up
    amounts = [f"${v:.2f}" for v in _VALUES]
    amounts[-1] = "€5.00"
    report = _report(amounts, observation_end=dt.date(2024, 4, 1))
    assert report.settings.currency == "USD"
