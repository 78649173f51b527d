"""Caching and whole-column reads of the Excel functions (xlclv.excel.cache, the used-range
stage of xlclv.excel.conversion), through xlwings' own dispatch (tests/excel_harness.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import excel_harness as xl
from xlclv.excel import cache


def test_digest_tells_apart_what_equal_looking_cells_are():
    base = [[1.0], [2.0]]
    variants = [
        [[True], [2.0]],  # a logical value is not the number 1
        [["1"], [2.0]],  # text
        [[1.0], [2.0], [None]],  # one more (blank) row
        [[1.0, 2.0]],  # a row instead of a column
        [[dt.datetime(1900, 1, 1)], [2.0]],  # a date
        [[1.0], [2.0000000000000004]],  # the last bit
    ]
    digests = {cache.cells_digest(v) for v in variants}
    assert len(digests) == len(variants)
    assert cache.cells_digest(base) not in digests
    assert cache.cells_digest([[1.0], [2.0]]) == cache.cells_digest(base)
    d1 = [[dt.datetime(2024, 1, 1)], [dt.datetime(2024, 1, 2, 0, 0, 0, 1)]]
    d2 = [[dt.datetime(2024, 1, 1)], [dt.datetime(2024, 1, 2)]]
    assert cache.cells_digest(d1) != cache.cells_digest(d2)
    # argument order matters
    assert cache.cells_digest(base, d2) != cache.cells_digest(d2, base)


def test_lru_keeps_the_newest_and_caches_failures():
    lru = cache.LRU(2)
    calls = []

    def make(x):
        calls.append(x)
        if x == "bad":
            raise ValueError("no")
        return x * 2

    assert lru.get_or_make(1, lambda: make(1)) == 2
    assert lru.get_or_make(2, lambda: make(2)) == 4
    assert lru.get_or_make(1, lambda: make(1)) == 2  # hit; 1 is now the newest
    lru.get_or_make(3, lambda: make(3))  # evicts 2
    lru.get_or_make(2, lambda: make(2))
    assert calls == [1, 2, 3, 2]
    for _ in range(2):
        with pytest.raises(ValueError):
            lru.get_or_make("b", lambda: make("bad"))
    assert calls.count("bad") == 1


def _sheet(n: int = 40) -> xl.ComSheet:
    rows = [["customer_id", "date", "amount"]]
    for i in range(n):
        rows.append([float(i % 7), dt.datetime(2024, 1, 1) + dt.timedelta(days=3 * i), 10.0 + i])
    return xl.ComSheet(rows)


def test_whole_columns_read_only_the_used_rows_and_give_the_exact_ranges_result():
    sheet = _sheet()
    whole = [sheet.column(k, first_row=2) for k in (1, 2, 3)]  # A2:A1048576 ...
    exact = [sheet.column(k, first_row=2, last_row=41) for k in (1, 2, 3)]  # A2:A41 ...
    got = xl.call("CLV_RFM", *whole)
    assert sheet.reads == [(40, 1)] * 3  # not 1,048,575 rows
    assert got == xl.call("CLV_RFM", *exact)
    assert len(got) == 1 + 7


def test_a_range_outside_the_used_range_is_blank():
    sheet = _sheet(3)
    assert xl.dispatch("LIFETIME", sheet.column(5)) == ""  # E:E: nothing there
    assert sheet.reads == []


def test_an_elementwise_function_over_a_whole_column_spills_the_used_rows():
    sheet = xl.ComSheet([[0.5], [0.25], [None], [0.1]])
    got = xl.dispatch("LIFETIME", sheet.column(1))
    assert got == [[pytest.approx(2.0)], [pytest.approx(4.0)], [""], [pytest.approx(10.0)]]
