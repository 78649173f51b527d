"""Customer ids above 2**53 stay exact, or the run stops; a missing Parquet date is a data
issue (issue 10). 9007199254740993 (2**53 + 1) is not a float64: read through one it becomes
9007199254740992 and two customers silently become one. References: the ids as written."""

from __future__ import annotations

import decimal

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from xlclv import WorkbookError
from xlclv.report import pipeline as p
from xlclv.report.clean import _cell_text
from xlclv.report.inputs import WorkbookInputs, read_table_file, read_workbook
from xlclv.report.settings import Settings

BIG = 2**53
IDS = [BIG, BIG + 1, BIG, BIG + 1, BIG + 3]  # three customers, two of them 1 apart
DATES = ["2024-01-01", "2024-01-05", "2024-02-01", "2024-03-01", "2024-03-02"]
AMOUNTS = [10.0, 20.0, 30.0, 40.0, 50.0]
SETTINGS = Settings(observation_end=pd.Timestamp("2024-12-31").date())


def _customers(inputs) -> list[str]:
    data = p.clean(inputs, SETTINGS)
    assert data.tx["amount"].sum() == pytest.approx(sum(AMOUNTS))
    return sorted(set(data.tx["customer_id"]))


EXPECTED = sorted({str(i) for i in IDS})


def _dates():
    return pa.array(pd.to_datetime(DATES), pa.timestamp("ns"))


@pytest.mark.parametrize(
    "ids",
    [
        pa.array(IDS, pa.int64()),
        pa.array(IDS, pa.uint64()),
        pa.array([decimal.Decimal(i) for i in IDS], pa.decimal128(20, 0)),  # a database's type
    ],
    ids=["int64", "uint64", "decimal"],
)
def test_parquet_integer_ids_above_2_53_stay_exact(tmp_path, ids):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"customer_id": ids, "date": _dates(), "amount": AMOUNTS}), path)
    assert _customers(read_table_file(path)) == EXPECTED


def test_pandas_nullable_int64_ids_with_a_gap_stay_exact(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": pd.array([*IDS, None], dtype="Int64"),
            "date": pd.to_datetime([*DATES, "2024-03-03"]),
            "amount": [*AMOUNTS, 5.0],
        }
    )
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    data = p.clean(read_table_file(path), SETTINGS)
    assert sorted(set(data.tx["customer_id"])) == EXPECTED
    assert data.issues["Problem"].str.startswith("customer_id is blank").sum() == 1


def test_csv_ids_above_2_53_stay_exact(tmp_path):
    path = tmp_path / "t.csv"
    lines = [f"{i},{d},{a}" for i, d, a in zip(IDS, DATES, AMOUNTS, strict=True)]
    path.write_text("customer_id,date,amount\n" + "\n".join(lines) + "\n")
    assert _customers(read_table_file(path)) == EXPECTED


def test_python_ints_mixed_with_floats_stay_exact():
    ids = pd.Series([*IDS, 1.5], dtype=object)  # an object column: ints and one float
    frame = pd.DataFrame(
        {"customer_id": ids, "date": [*DATES, "2024-03-04"], "amount": [*AMOUNTS, 1.0]},
        dtype=object,
    )
    data = p.clean(WorkbookInputs(transactions=frame), SETTINGS)
    assert sorted(set(data.tx["customer_id"])) == sorted([*EXPECTED, "1.5"])


def _xlsx(path, ids):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Transactions"
    ws.append(["customer_id", "date", "amount"])
    for row in zip(ids, DATES, AMOUNTS, strict=True):
        ws.append(list(row))
    wb.save(path)
    return path


def test_xlsx_numeric_ids_from_2_53_stop_the_run(tmp_path):
    # an .xlsx holds numbers as doubles: 2**53 + 1 comes back as 2**53, so the reader cannot
    # tell these customers apart and stops instead of merging them
    path = _xlsx(tmp_path / "t.xlsx", IDS)
    with pytest.raises(WorkbookError, match=r"row 2, column 'customer_id'.*Store the ids as text"):
        p.clean(read_workbook(path), SETTINGS)


def test_xlsx_ids_as_text_or_below_2_53_stay_exact(tmp_path):
    as_text = _xlsx(tmp_path / "text.xlsx", [str(i) for i in IDS])
    assert _customers(read_workbook(as_text)) == EXPECTED
    small = [i - BIG + 999_999_999_999_999 for i in IDS]  # 15 digits, exact as doubles
    numeric = _xlsx(tmp_path / "num.xlsx", small)
    assert _customers(read_workbook(numeric)) == sorted({str(i) for i in small})


def test_float_parquet_ids_from_2_53_stop_the_run(tmp_path):
    path = tmp_path / "t.parquet"
    ids = pa.array([float(i) for i in IDS], pa.float64())
    pq.write_table(pa.table({"customer_id": ids, "date": _dates(), "amount": AMOUNTS}), path)
    with pytest.raises(WorkbookError, match=r"too large to be exact .*\(5 such id\(s\)\)"):
        p.clean(read_table_file(path), SETTINGS)


@pytest.mark.parametrize("kind", [pa.timestamp("ns"), pa.timestamp("us", tz="UTC"), pa.date32()])
def test_a_missing_parquet_date_is_a_data_issue_not_a_crash(tmp_path, kind):
    values = [pd.Timestamp(d) for d in DATES]
    values[2] = None
    if kind == pa.date32():
        values = [None if v is None else v.date() for v in values]
    ids = ["a", "a", "b", "b", "b"]
    path = tmp_path / "t.parquet"
    table = pa.table({"customer_id": ids, "date": pa.array(values, kind), "amount": AMOUNTS})
    pq.write_table(table, path)
    data = p.clean(read_table_file(path), SETTINGS)
    [issue] = data.issues.to_dict("records")
    assert (issue["Row"], issue["Column"], issue["Value"]) == (4, "date", "")
    assert issue["Problem"] == "date is blank: row not used"
    assert len(data.tx) == 4


def test_cell_text_of_missing_values_is_blank():
    assert [_cell_text(v) for v in (pd.NaT, pd.NA, None, np.nan)] == ["", "", "", ""]


@pytest.mark.parametrize(
    ("arrow_type", "ids", "expected"),
    [
        (pa.decimal128(38, 0), ["1" + "0" * 29 + "1", "1" + "0" * 29 + "2", "9" * 38],
         ["1" + "0" * 29 + "1", "1" + "0" * 29 + "2", "9" * 38]),
        (pa.decimal128(12, 2), ["7.00", "12.50", "-3.10"], ["-3.1", "12.5", "7"]),
    ],
)  # fmt: skip
def test_decimal_ids_are_the_same_customers_on_the_big_data_path(
    tmp_path, arrow_type, ids, expected
):
    """Warehouse exports (Snowflake's NUMBER(38,0)) write ids as Parquet decimals: ids that
    differ past a double's 16 digits stay apart on the big-data path as on the workbook path
    (they went through DOUBLE there and became one customer, '1e+30')."""
    from xlclv.report import bigdata as bd

    values = [decimal.Decimal(v) for v in ids for _ in range(2)]
    days = pd.to_datetime(["2024-01-02", "2024-03-05"] * len(ids))
    table = pa.table(
        {
            "customer_id": pa.array(values, arrow_type),
            "date": pa.array(days.date, pa.date32()),
            "amount": pa.array([10.0, 12.0] * len(ids)),
        }
    )
    path = tmp_path / "dec.parquet"
    pq.write_table(table, path)
    settings = Settings(model="BGNBD", include_zero_amounts=False)
    big = bd.build_report_big(path, settings).report
    assert sorted(big.customers["Customer ID"]) == sorted(expected)
    assert big.customers["Orders"].tolist() == [2] * len(ids)
    mem = p.build_report(read_table_file(path), settings)
    assert sorted(mem.customers["Customer ID"]) == sorted(expected)
