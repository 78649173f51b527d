"""The warehouse SQL: runs in DuckDB with rfm_summary's numbers, parses in every dialect."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest
import sqlglot
from sqlglot import exp

from xlclv import InputError
from xlclv.cli import main
from xlclv.engines import SQL_DIALECTS, rfm_sql
from xlclv.transactions import rfm_summary

from .conftest import assert_rfm_equal, brute_force_rfm, random_transactions


def _run_duckdb(sql: str, **frames):
    con = duckdb.connect()
    for name, frame in frames.items():
        con.register(name, frame)
    out = con.sql(sql).df()
    con.close()
    return out


@pytest.mark.parametrize("unit", ["D", "W", "M"])
@pytest.mark.parametrize("end", [None, "2024-02-20"])
def test_duckdb_rendering_computes_rfm_summary(unit, end):
    tx = random_transactions(seed=3)
    sql = rfm_sql("tx", dialect="duckdb", time_unit=unit, observation_end=end)
    got = _run_duckdb(sql, tx=tx).set_index("customer_id")
    assert_rfm_equal(got, brute_force_rfm(tx, unit, end))
    assert_rfm_equal(got, rfm_summary(tx, time_unit=unit, observation_end=end))


def test_other_column_names_and_zero_amounts():
    tx = random_transactions(seed=5).rename(
        columns={"customer_id": "Client ID", "date": "order date", "amount": "net"}
    )
    sql = rfm_sql(
        "sales.orders",
        customer_id="Client ID",
        date="order date",
        amount="net",
        time_unit="W",
        include_zero_amounts=True,
    )
    con = duckdb.connect()
    con.execute("CREATE SCHEMA sales")
    con.register("frame", tx)
    con.execute("CREATE TABLE sales.orders AS SELECT * FROM frame")
    got = con.sql(sql).df().set_index("Client ID")
    con.close()
    ref = rfm_summary(
        tx, customer_id="Client ID", date="order date", amount="net", include_zero_amounts=True
    )
    assert_rfm_equal(got, ref)


def _output_columns(sql: str, dialect: str) -> list[str]:
    tree = sqlglot.parse_one(sql, read=dialect)
    assert isinstance(tree, exp.Select)
    return [e.alias_or_name for e in tree.expressions]


@pytest.mark.parametrize("dialect", SQL_DIALECTS)
def test_every_dialect_parses_and_has_the_columns(dialect):
    sql = rfm_sql("db.sales.tx", dialect=dialect, customer_id="cust", observation_end="2024-06-30")
    assert _output_columns(sql, dialect) == ["cust", "frequency", "recency", "T", "monetary_value"]
    tree = sqlglot.parse_one(sql, read=dialect)
    tables = {t.name for t in tree.find_all(exp.Table)}
    assert "tx" in tables
    assert "2024-06-30" in sql
    assert "xl_day" in sql and "xl_first_day" in sql


def test_dialect_specific_spelling():
    assert "DATE_DIFF(" in rfm_sql("t", dialect="bigquery") and "FLOAT64" in rfm_sql(
        "t", dialect="bigquery"
    )
    assert "DATEDIFF(" in rfm_sql("t", dialect="snowflake")
    assert "DOUBLE PRECISION" in rfm_sql("t", dialect="postgres")
    assert "`customer_id`" in rfm_sql("t", dialect="spark")
    assert "/ CAST(30.4375" in rfm_sql("t", dialect="postgres", time_unit="M")


def test_names_are_identifiers_never_sql_text():
    sql = rfm_sql('tx"; DROP TABLE x; --', customer_id='a"b')
    tree = sqlglot.parse_one(sql, read="duckdb")  # one statement, not two
    assert not list(tree.find_all(exp.Drop))
    assert _output_columns(sql, "duckdb")[0] == 'a"b'


def test_bad_arguments_are_input_errors():
    with pytest.raises(InputError, match="dialect must be one of"):
        rfm_sql("t", dialect="oracle")
    with pytest.raises(InputError, match="time_unit"):
        rfm_sql("t", time_unit="Y")
    with pytest.raises(InputError, match="observation_end must be a date"):
        rfm_sql("t", observation_end="soon")
    with pytest.raises(InputError, match="three different columns"):
        rfm_sql("t", date="amount")
    with pytest.raises(InputError, match="empty part"):
        rfm_sql("db..t")


def test_cli_prints_the_query(capsys):
    code = main(
        [
            "sql",
            "--dialect",
            "snowflake",
            "--table",
            "shop.tx",
            "--customer-id",
            "cust",
            "--time-unit",
            "D",
            "--observation-end",
            "2024-12-31",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert _output_columns(out, "snowflake") == [
        "cust",
        "frequency",
        "recency",
        "T",
        "monetary_value",
    ]
    assert "2024-12-31" in out and "in D" in out


def test_cli_runs_in_duckdb(capsys):
    tx = random_transactions(seed=9)
    assert main(["sql", "--dialect", "duckdb", "--table", "tx", "--time-unit", "D"]) == 0
    got = _run_duckdb(capsys.readouterr().out, tx=tx).set_index("customer_id")
    assert_rfm_equal(got, rfm_summary(tx, time_unit="D"))


def test_cli_bad_dialect_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as err:
        main(["sql", "--dialect", "oracle", "--table", "t"])
    assert err.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_order_by_can_be_left_out():
    tx = random_transactions(seed=4)
    sql = rfm_sql("tx", order_by=False)
    assert "ORDER BY" not in sql
    got = _run_duckdb(sql, tx=tx).set_index("customer_id").sort_index()
    assert_rfm_equal(got, rfm_summary(tx))


@pytest.mark.parametrize("dialect", SQL_DIALECTS)
def test_calibration_query_parses_everywhere(dialect):
    sql = rfm_sql("t", dialect=dialect, calibration_end="2024-03-01", observation_end="2024-06-30")
    assert _output_columns(sql, dialect) == [
        "customer_id",
        "frequency_cal",
        "recency_cal",
        "T_cal",
        "monetary_value_cal",
        "frequency_holdout",
        "monetary_value_holdout",
        "duration_holdout",
    ]


@pytest.mark.parametrize("end", [None, "2024-04-15"])
def test_calibration_query_runs_in_duckdb(end):
    tx = random_transactions(seed=33, n=700, customers=80)
    sql = rfm_sql("tx", time_unit="W", calibration_end="2024-02-20", observation_end=end)
    got = _run_duckdb(sql, tx=tx).set_index("customer_id")
    ref = rfm_summary(tx, time_unit="W", calibration_end="2024-02-20", observation_end=end)
    assert list(got.index) == list(ref.index)
    for col in ref.columns:
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-12, atol=0, err_msg=col)
    with pytest.raises(InputError, match="must be before observation_end"):
        rfm_sql("tx", calibration_end="2024-05-01", observation_end="2024-05-01")


def test_cli_calibration_end(capsys):
    assert (
        main(["sql", "--dialect", "spark", "--table", "t", "--calibration-end", "2024-03-01"]) == 0
    )
    assert "frequency_holdout" in capsys.readouterr().out
