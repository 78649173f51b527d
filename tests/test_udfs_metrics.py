"""The metric Excel functions, called with Excel-shaped values through xlwings' real conversion.

``xl.call`` hands the functions what COM hands xlwings: floats (also for whole numbers),
``None`` for blank cells, tuples of tuples for ranges, ``datetime`` for date cells and COM
error codes (``xl.NA``) for error cells. Results come back as Excel receives them: a list
of rows, ``""`` for a blank cell.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests import excel_harness as xl
from xlclv import InputError


def col(*values):
    """A one-column range as COM hands it over."""
    return tuple((v,) for v in values)


def one(result):
    """The single cell of a 1x1 result."""
    assert len(result) == 1 and len(result[0]) == 1, result
    return result[0][0]


# -- seed examples, in cells --------------------------------------------------------------
def test_seed_examples_in_cells():
    assert one(xl.call("CLV_SIMPLE", 80.0, 1.0, 5.0)) == pytest.approx(400)
    assert one(xl.call("CLV_HISTORICAL", 5000.0, 1.0, 3000.0, 100.0)) == pytest.approx(20)
    assert one(xl.call("LIFETIME", 0.01)) == pytest.approx(100)
    assert one(xl.call("CLV_PREDICTIVE", 2.0, 50.0, 0.3, 24.0)) == pytest.approx(720)


# -- elementwise: a range spills the same shape -------------------------------------------
def test_elementwise_range_spills_same_shape_with_scalars_broadcast():
    got = xl.call("CLV_SIMPLE", col(80.0, 100.0, None), 1.0, 5.0)
    assert got == [[pytest.approx(400)], [pytest.approx(500)], [""]]
    row = xl.call("LIFETIME", ((0.5, 0.25, 0.1),))
    assert row == [[pytest.approx(2), pytest.approx(4), pytest.approx(10)]]
    grid = xl.call("ARPU", ((100.0, 200.0), (300.0, 400.0)), 4.0)
    assert grid == [[25, 50], [75, 100]]


@st.composite
def churn_grids(draw):
    rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    cell = st.one_of(st.none(), st.floats(0.001, 1.0))
    return tuple(tuple(draw(cell) for _ in range(cols)) for _ in range(rows))


@settings(max_examples=50, deadline=None)
@given(churn_grids(), st.floats(0, 0.5))
def test_any_range_spills_its_own_shape_cell_by_cell(grid, d):
    got = xl.call("LIFETIME_DISCOUNTED", grid, d)
    assert [len(r) for r in got] == [len(r) for r in grid]
    for row_in, row_out in zip(grid, got, strict=True):
        for c, v in zip(row_in, row_out, strict=True):
            assert v == "" if c is None else v == pytest.approx((1 + d) / (d + c))


def test_elementwise_ranges_of_the_same_shape_pair_up():
    got = xl.call("CHURN_RATE", col(100.0, 200.0), col(10.0, 50.0))
    assert got == [[pytest.approx(0.1)], [pytest.approx(0.25)]]
    got = xl.call("RETENTION_RATE", col(100.0, 50.0), col(110.0, 50.0), col(20.0, 5.0))
    assert got == [[pytest.approx(0.9)], [pytest.approx(0.9)]]


def test_ranges_of_different_shapes_are_refused():
    with pytest.raises(
        InputError, match=r"different shapes \(customers_at_start is 2×1, customers_lost is 1×2\)"
    ):
        xl.call("CHURN_RATE", col(100.0, 200.0), ((10.0, 20.0),))


def test_all_elementwise_functions_with_hand_values():
    assert one(xl.call("LIFETIME_DISCOUNTED", 0.2, 0.1)) == pytest.approx(1.1 / 0.3)
    assert one(xl.call("LTV_CAC", 900.0, 300.0)) == pytest.approx(3)
    assert one(xl.call("CAC_PAYBACK", 300.0, 50.0, 0.6)) == pytest.approx(10)
    assert one(xl.call("CAC_PAYBACK", 300.0, 50.0)) == pytest.approx(6)  # margin omitted: 1
    # 1.5 x 40 x 0.5 x 1.02 / (0.02 + 0.1) = 255
    assert one(xl.call("CLV_PREDICTIVE", 1.5, 40.0, 0.5, 10.0, 0.02)) == pytest.approx(255)
    assert one(xl.call("CLV_SIMPLE", 120.0, 2.0, 3.0, 0.25, 50.0)) == pytest.approx(130)


def test_blank_optional_argument_means_its_default():
    assert one(xl.call("CLV_SIMPLE", 80.0, 1.0, 5.0, None, None)) == pytest.approx(400)
    assert one(xl.call("CLV_HISTORICAL", 5000.0, None, None, None)) == pytest.approx(5000)
    low, high = xl.call("NPS_INTERVAL", col(10.0, 9.0, 0.0), None)[0]
    assert (low, high) == pytest.approx(xl.call("NPS_INTERVAL", col(10.0, 9.0, 0.0))[0])


# -- list functions: any shape, blanks skipped --------------------------------------------
def test_nps_over_a_2d_range_skipping_blanks():
    scores = ((10.0, 9.0, None), (8.0, 6.0, 0.0), (None, None, 10.0))
    # 3 promoters, 1 passive, 2 detractors of 6 -> 100 x 1/6
    assert one(xl.call("NPS", scores)) == pytest.approx(100 / 6)


def test_nps_category_spills_text_and_keeps_blanks():
    got = xl.call("NPS_CATEGORY", col(10.0, 7.0, None, 3.0))
    assert got == [["Promoter"], ["Passive"], [""], ["Detractor"]]
    assert one(xl.call("NPS_CATEGORY", 9.0)) == "Promoter"


def test_nps_interval_spills_low_and_high_in_one_row():
    scores = col(*([10.0] * 50 + [8.0] * 20 + [3.0] * 30))
    got = xl.call("NPS_INTERVAL", scores)
    assert len(got) == 1 and len(got[0]) == 2
    low, high = got[0]
    assert low < 20 < high and high - 20 == pytest.approx(20 - low)
    low99, high99 = xl.call("NPS_INTERVAL", scores, 0.99)[0]
    assert low99 < low and high99 > high


def test_clv_historical_counts_distinct_customer_ids():
    amounts = ((100.0, 50.0), (25.0, None), (25.0, 300.0))
    ids = col("C1", "C2", "C1", None, 17.0, "17")  # 17 and "17" are the same ID
    # (500 x 0.4 - 20) / 3 customers = 60
    assert one(xl.call("CLV_HISTORICAL", amounts, 0.4, col(5.0, 15.0), ids)) == pytest.approx(60)


def test_clv_historical_customers_as_a_number():
    assert one(xl.call("CLV_HISTORICAL", col(2000.0, 3000.0), 1.0, 3000.0, 100.0)) == pytest.approx(
        20
    )


# -- bad input: the message Excel shows in the cell ---------------------------------------
def test_errors_reach_the_cell_as_short_text_through_xlwings_dispatch():
    """xlwings.udfs.call_udf and CallUDF's reduction: the cell gets "xlclv: ..." text."""
    assert xl.dispatch("LIFETIME", 0.0) == (
        "xlclv: churn_rate must be greater than 0 and at most 1, got 0"
    )
    assert xl.dispatch("LIFETIME", 0.5) == pytest.approx(2.0)
    # a blank cell stays blank: call_udf hands Excel "" for None/NaN
    assert xl.dispatch("LIFETIME", col(0.5, None)) == [[pytest.approx(2.0)], [""]]
    # per cell in a range, text in a number cell included
    got = xl.dispatch("LIFETIME", col(0.5, "x", xl.NA, 2.0))
    assert got[0] == [pytest.approx(2.0)]
    assert got[1] == ["xlclv: churn_rate must be a number, got the text 'x' (cell 2 of the range)"]
    assert got[2] == [
        "xlclv: churn_rate contains the Excel error #N/A (cell 3 of the range): fix that cell first"
    ]
    assert got[3] == ["xlclv: churn_rate must be greater than 0 and at most 1, got 2"]


def test_an_unexpected_error_shows_no_traceback_and_no_path(monkeypatch, tmp_path):
    from xlclv import metrics

    def broken(*args):
        raise ZeroDivisionError(f"boom in {tmp_path}/secret.py")

    monkeypatch.setattr(metrics, "lifetime", broken)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    text = xl.dispatch("LIFETIME", 0.5)
    xl.check_error_text(text)
    assert text.startswith("xlclv: unexpected error (ZeroDivisionError)")
    assert str(tmp_path) not in text
    log = tmp_path / ".xlclv" / "logs" / "functions.log"
    assert "ZeroDivisionError: boom" in log.read_text()


def test_text_in_a_number_argument():
    with pytest.raises(InputError, match="avg_order_value must be a number, got the text 'eighty'"):
        xl.call("CLV_SIMPLE", "eighty", 1.0, 5.0)


def test_text_inside_a_range_names_the_cell():
    with pytest.raises(
        InputError, match=r"scores must be a number, got the text 'n/a' \(cell 2 of the range\)"
    ):
        xl.call("NPS", col(9.0, "n/a", 10.0))


def test_error_cells_are_reported_not_skipped():
    with pytest.raises(
        InputError, match=r"scores contains the Excel error #N/A \(cell 2 of the range\)"
    ):
        xl.call("NPS", col(9.0, xl.NA, 10.0))
    with pytest.raises(InputError, match="churn_rate contains the Excel error #N/A"):
        xl.call("LIFETIME_DISCOUNTED", xl.NA, 0.01)
    with pytest.raises(InputError, match="customers contains the Excel error #N/A"):
        xl.call("CLV_HISTORICAL", 100.0, 1.0, 0.0, col("C1", xl.NA))


def test_date_cell_where_a_number_belongs():
    with pytest.raises(InputError, match="revenue must be a number, got the date 2024-01-31"):
        xl.call("ARPU", dt.datetime(2024, 1, 31), 10.0)


def test_out_of_range_values():
    # a range fails per cell: the good cell keeps its value (1 / 0.1 = 10)
    assert xl.call("LIFETIME", col(0.1, 1.5)) == [
        [pytest.approx(10.0)],
        ["xlclv: churn_rate must be greater than 0 and at most 1, got 1.5"],
    ]
    with pytest.raises(
        InputError, match="churn_rate must be greater than 0 and at most 1, got 1.5"
    ):
        xl.call("LIFETIME", 1.5)
    with pytest.raises(InputError, match="customers must be greater than 0, got 0"):
        xl.call("ARPU", 100.0, 0.0)
    with pytest.raises(
        InputError,
        match=r"gross_margin must be a share between 0 and 1 \(e.g. 0.3 for 30 %\), got 30",
    ):
        xl.call("CLV_SIMPLE", 80.0, 1.0, 5.0, 30.0)
    with pytest.raises(InputError, match="scores must be whole numbers from 0 to 10, got 11"):
        xl.call("NPS", col(9.0, 11.0))
    with pytest.raises(InputError, match="customers must be a whole number of at least 1, got 0"):
        xl.call("CLV_HISTORICAL", 5000.0, 1.0, 3000.0, 0.0)


def test_single_cell_arguments_refuse_ranges():
    with pytest.raises(
        InputError, match="confidence must be a single cell, got a range of 2 cells"
    ):
        xl.call("NPS_INTERVAL", col(9.0, 10.0), col(0.9, 0.95))


def test_empty_lists():
    with pytest.raises(InputError, match="scores has no responses"):
        xl.call("NPS", col(None, None))
    with pytest.raises(InputError, match="customers is a range with no customer IDs"):
        xl.call("CLV_HISTORICAL", 100.0, 1.0, 0.0, col(None, None))
