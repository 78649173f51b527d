"""The harness itself: real xlwings metadata and conversion reach xlclv's functions."""

import pytest

from tests import excel_harness as xl
from xlclv import InputError


def test_real_xlwings_metadata_is_recorded():
    f = xl.excel_functions()["LIFETIME"]
    info = f.__xlfunc__
    assert info["category"] == "xlclv"
    assert [a["name"] for a in info["args"]] == ["churn_rate"]
    assert info["args"][0]["options"]["ndim"] == 2


def test_scalar_in_scalar_out_and_column_spills_as_column():
    assert xl.call("LIFETIME", 0.01) == [[pytest.approx(100.0)]]  # xlwings hands Excel a 1x1
    assert xl.call("LIFETIME", ((0.5,), (0.25,), (None,))) == [
        [2.0],
        [4.0],
        [""],
    ]  # blank in, blank out


def test_bad_value_message_reaches_the_cell():
    with pytest.raises(InputError, match="churn_rate must be greater than 0"):
        xl.call("LIFETIME", 1.5)
    with pytest.raises(InputError, match=r"Excel error #N/A"):
        xl.call("LIFETIME", xl.NA)
    # in a range, only the bad cell shows the error
    got = xl.call("LIFETIME", ((0.5,), (xl.NA,)))
    assert got[0] == [2.0] and "Excel error #N/A" in got[1][0]


def test_vba_calls_xlpy_for_the_module():
    code = xl.vba()
    assert (
        'XLPy.CallUDF("xlclv.udfs", "LIFETIME", Array(churn_rate), ThisWorkbook, Application.Caller)'
        in code
    )


def test_value_hooks_are_xlwings_own_code():
    """The "excel" engine's value hooks run from the installed xlwings/_xlwindows.py, not a
    copy: the functions were compiled from that file, and behave as that file says (a COM
    date keeps its microseconds; a date going out becomes a UTC-tagged datetime; NaN and None
    go out blank; error codes come in as None or their text)."""
    import datetime as dt
    import importlib.util
    from pathlib import Path

    import numpy as np

    source = Path(importlib.util.find_spec("xlwings").origin).parent / "_xlwindows.py"
    hooks = xl._ExcelValueHooks
    for fn in (hooks.clean_value_data, hooks.prepare_xl_data_element):
        assert Path(fn.__code__.co_filename) == source
    assert xl.CELL_ERRORS[xl.NA] == "#N/A" and len(xl.CELL_ERRORS) == 7
    stamp = dt.datetime(2024, 1, 2, 3, 4, 5, 678)
    row = [stamp, "", None, xl.NA, 1.5]
    assert hooks.clean_value_data([row], dt.datetime, "blank", None, False) == [
        [stamp, "blank", "blank", None, 1.5]
    ]
    assert hooks.clean_value_data([row], dt.datetime, None, None, True)[0][3] == "#N/A"
    out = hooks.prepare_xl_data_element(dt.date(2024, 1, 2), None)
    assert out == dt.datetime(2024, 1, 2, tzinfo=dt.UTC) and out.tzinfo is not None
    assert hooks.prepare_xl_data_element(np.nan, None) == ""
    assert hooks.prepare_xl_data_element(None, None) == ""
    assert type(hooks.prepare_xl_data_element(np.float32(0.5), None)) is float


def test_value_hooks_stop_if_xlwings_drops_a_part(monkeypatch):
    monkeypatch.setattr(xl, "_XLWINDOWS_PARTS", (*xl._XLWINDOWS_PARTS, "no_such_part"))
    with pytest.raises(LookupError, match="no no_such_part: update the harness"):
        xl.xlwings_value_hooks()
