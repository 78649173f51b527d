"""The shortcuts xlclv takes in xlwings' value conversion (xlclv.excel.conversion): the
per-cell cleaning skipped where xlwings would change nothing, and the heap settled in the UDF
server. References: xlwings' own Windows code, read from its source file (``_xlwindows.py``
cannot be imported off Windows), and xlwings' stock converters through its own dispatch."""

from __future__ import annotations

import ast
import datetime as dt
import gc
import math
import sys
import types
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pytest
import xlwings
from hypothesis import given
from xlwings import conversion

from tests import excel_harness as xl
from xlclv.excel import conversion as xc

_ERRORS = list(xl.CELL_ERRORS)


def _xlwindows() -> dict:
    """``_clean_value_data_element``, ``cell_errors`` and ``Engine.prepare_xl_data_element`` of
    xlwings' Windows engine, compiled from its source with dates as plain datetimes (pywin32's
    time type is a datetime subclass)."""
    tree = ast.parse((Path(xlwings.__file__).parent / "_xlwindows.py").read_text("utf-8"))
    wanted = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in (
            "_clean_value_data_element",
            "_com_time_to_datetime",
        ):
            wanted.append(node)
        elif isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "cell_errors" for t in node.targets
        ):
            wanted.append(node)
        elif isinstance(node, ast.ClassDef) and node.name == "Engine":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "prepare_xl_data_element":
                    item.decorator_list = []
                    wanted.append(item)
    ns = {
        "dt": dt,
        "np": np,
        "pd": pd,
        "time_types": (dt.date, dt.datetime, np.datetime64),
        "_datetime_to_com_time": lambda x: ("COM time", x),  # needs pywin32; not compared
    }
    exec(compile(ast.Module(body=wanted, type_ignores=[]), "_xlwindows.py", "exec"), ns)
    assert {"_clean_value_data_element", "prepare_xl_data_element", "cell_errors"} <= set(ns)
    return ns


XLWIN = _xlwindows()


@pytest.fixture(autouse=True, scope="module")
def _excel_engine():
    xl.call_udf("LIFETIME", 0.5)  # loads the functions and registers the harness' "excel" engine


cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
    st.sampled_from(_ERRORS),
    st.integers(-5, 5),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
)
# most blocks in real use hold only numbers and text: make the fast path common
plain = st.one_of(st.floats(allow_nan=False), st.text(min_size=1, max_size=3))
# a date column: naive, or with a time zone as pywin32's COM times carry one (UTC), or a mix
# of zones (which the fast path leaves to xlwings)
_ZONES = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5))])
dates = st.one_of(
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1)),
    st.datetimes(
        min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2100, 1, 1), timezones=_ZONES
    ),
)


def _grids(elements):
    return st.integers(1, 4).flatmap(
        lambda w: st.lists(st.lists(elements, min_size=w, max_size=w), min_size=1, max_size=6)
    )


def _same(a, b) -> bool:
    """Equal, with NaN equal to NaN and the types alike (1.0 is not True)."""
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _windows_read(grid) -> list[list]:
    clean = XLWIN["_clean_value_data_element"]
    return [[clean(c, dt.datetime, None, None, True) for c in row] for row in grid]


@given(st.one_of(_grids(cells), _grids(plain), _grids(dates)))
def test_reading_gives_what_xlwings_windows_cleaning_gives(grid):
    # a block as COM hands it over (tuples), through xlclv's reader
    got = conversion.read(None, tuple(map(tuple, grid)), xc.ARRAY)
    assert _same(got, _windows_read(grid))


@given(st.one_of(_grids(cells), _grids(plain)))
def test_writing_gives_what_xlwings_stock_writer_gives(grid):
    prepare = XLWIN["prepare_xl_data_element"]
    ours = conversion.write([list(r) for r in grid], None, {"convert": xc.CELLS})
    stock = conversion.write([list(r) for r in grid], None, {})
    assert _same(ours, stock)
    # and where xlclv skipped the per-cell pass, xlwings' Windows code changes nothing
    windows = [[prepare(x, None) for x in row] for row in grid]
    for row_ours, row_win, row in zip(ours, windows, grid, strict=True):
        for a, b, x in zip(row_ours, row_win, row, strict=True):
            if not isinstance(x, dt.datetime):  # COM times need pywin32
                assert _same(a, b), (x, a, b)


def test_nan_and_none_in_a_result_still_become_empty_cells():
    out = conversion.write([["a", 1.0], [float("nan"), None]], None, {"convert": xc.CELLS})
    assert out == [["a", 1.0], ["", ""]]


def test_every_function_writes_through_xlclvs_converter():
    for name, f in xl.excel_functions().items():
        assert f.__xlfunc__["ret"]["options"].get("convert") == xc.CELLS, name


def test_the_udf_server_settles_the_heap_once_new_modules_came_in(monkeypatch):
    xl.call_udf("LIFETIME", 0.5)  # through xlwings' call_udf, as in its UDF server
    assert gc.get_freeze_count() > 0  # what was loaded is out of the collector's way
    freezes = []
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append(len(sys.modules)))
    xl.call_udf("LIFETIME", 0.5)  # no new module: nothing to do
    assert freezes == []
    monkeypatch.setitem(sys.modules, "xlclv_test_new_module", types.ModuleType("m"))
    xl.call_udf("LIFETIME", 0.5)  # a function imported something: settle again, once
    xl.call_udf("LIFETIME", 0.5)
    assert freezes == [len(sys.modules)]


def test_a_function_called_from_python_leaves_the_heap_alone(monkeypatch):
    from xlclv import udfs

    freezes = []
    monkeypatch.setattr(gc, "freeze", lambda: freezes.append(1))
    monkeypatch.setattr(xc, "_settled_modules", 0)
    assert udfs.LIFETIME([[0.5]]) == 2.0
    assert freezes == []
    xl.call_udf("LIFETIME", 0.5)  # the same function dispatched by xlwings does settle
    assert freezes == [1]


def test_a_whole_column_call_cleans_no_cell_one_by_one(monkeypatch):
    # the shortcuts are taken, not only correct: with xlwings' stages renamed or reordered,
    # every cell would go through the engine's hooks again (the benchmark's 2x)
    rows = [["customer_id", "date", "amount"]]
    for i in range(30):
        rows.append([float(i % 4), dt.datetime(2024, 1, 1) + dt.timedelta(days=5 * i), 10.0 + i])
    sheet = xl.ComSheet(rows)
    ranges = [sheet.column(k, first_row=2) for k in (1, 2, 3)]
    xl.dispatch("CLV_RFM", *ranges)  # loads what the call needs
    hooks = type(xl._HOOKS)
    cleaned, prepared = [], []
    clean, prepare = hooks.clean_value_data, hooks.prepare_xl_data_element
    monkeypatch.setattr(
        hooks,
        "clean_value_data",
        staticmethod(lambda data, *a: cleaned.append(data) or clean(data, *a)),
    )
    monkeypatch.setattr(
        hooks,
        "prepare_xl_data_element",
        staticmethod(lambda x, *a: prepared.append(x) or prepare(x, *a)),
    )
    out = xl.dispatch("CLV_RFM", *ranges)
    assert len(out) == 1 + 4
    assert cleaned == []  # the date column too goes through the dates-at-once path
    assert prepared == []  # the table holds numbers and text only
