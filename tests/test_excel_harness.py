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
