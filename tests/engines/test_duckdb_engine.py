"""The DuckDB engine gives rfm_summary's table, counts what it cannot use, and scores in chunks.

References: hand calculations and a brute-force loop (conftest.brute_force_rfm); CDNOW's
published BG/NBD and Gamma-Gamma estimates for the compressed fit.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlclv import BetaGeoModel, GammaGammaModel, InputError
from xlclv.datasets import CDNOW_CALIBRATION_END, load_cdnow_transactions
from xlclv.engines import (
    compressed_rfm,
    rfm_summary_duckdb,
    scan_transactions_duckdb,
    score_chunks,
)
from xlclv.transactions import rfm_summary

from .conftest import assert_rfm_equal, brute_force_rfm, random_transactions

HAND = pd.DataFrame(
    {
        "customer_id": ["a", "a", "a", "b", "a", "b", "c"],
        "date": pd.to_datetime(
            [
                "2024-01-01 09:00",
                "2024-01-01 18:30",
                "2024-01-15 12:00",
                "2024-01-08 00:00",
                "2024-01-20 00:00",  # a return: not a purchase day
                "2024-02-10 00:00",  # after observation_end
                "2024-01-03 00:00",  # a free order: not a purchase unless asked
            ]
        ),
        "amount": [10.0, 5.0, 20.0, 7.0, -4.0, 9.0, 0.0],
    }
)


def test_hand_example_in_days_and_weeks():
    # a: days 1 Jan (15) and 15 Jan (20) -> frequency 1, recency 14 d, T 28 d, monetary 20.
    # b: 8 Jan only (10 Feb is after the end) -> frequency 0, recency 0, T 21 d.
    r = rfm_summary_duckdb(HAND, time_unit="D", observation_end="2024-01-29")
    assert list(r.index) == ["a", "b"]
    assert r.loc["a"].tolist() == [1.0, 14.0, 28.0, 20.0]
    assert r.loc["b"].tolist() == [0.0, 0.0, 21.0, 0.0]
    w = rfm_summary_duckdb(HAND, time_unit="W", observation_end="2024-01-29")
    assert w.loc["a", "T"] == 4.0 and w.loc["b", "T"] == 3.0
    z = rfm_summary_duckdb(
        HAND, time_unit="D", observation_end="2024-01-29", include_zero_amounts=True
    )
    assert z.loc["c"].tolist() == [0.0, 0.0, 26.0, 0.0]


def test_totals_and_issues_of_the_hand_example():
    scan = scan_transactions_duckdb(HAND, time_unit="D", observation_end="2024-01-29")
    t = scan.totals
    # Rows used: all but the one after the end (6); purchases 4 (10, 5, 20, 7); one return.
    assert (t["rows"], t["rows_used"], t["rows_not_used"]) == (7, 6, 1)
    assert (t["purchase_rows"], t["return_rows"], t["zero_rows"]) == (4, 1, 1)
    assert t["gross_sales"] == 42.0 and t["returns"] == 4.0 and t["revenue"] == 38.0
    assert t["customers"] == 2 and t["observation_end"] == dt.date(2024, 1, 29)
    assert scan.issues.to_dict("records") == [
        {"Problem": "date after observation_end", "Column": "date", "Rows": 1}
    ]
    row = scan.issue_rows.iloc[0]
    assert (row.Row, row.Column, row.Value) == (6, "date", "2024-02-10")
    assert "after observation_end (2024-01-29)" in row.Problem


@pytest.mark.parametrize("unit", ["D", "W", "M"])
@pytest.mark.parametrize("end", [None, "2024-03-15"])
@pytest.mark.parametrize("include_zero", [False, True])
def test_matches_rfm_summary_and_brute_force(unit, end, include_zero):
    tx = random_transactions(seed=7)
    kw = {"time_unit": unit, "observation_end": end, "include_zero_amounts": include_zero}
    ours = rfm_summary_duckdb(tx, **kw)
    assert_rfm_equal(ours, brute_force_rfm(tx, unit, end, include_zero))
    theirs = rfm_summary(tx, **kw)
    assert ours.index.equals(theirs.index)
    assert_rfm_equal(ours, theirs)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 200), customers=st.integers(1, 30))
def test_property_equals_rfm_summary(seed, n, customers):
    tx = random_transactions(seed, n, customers)
    if not (tx["amount"] > 0).any():
        with pytest.raises(InputError, match="no purchase"):
            rfm_summary_duckdb(tx)
        return
    assert_rfm_equal(rfm_summary_duckdb(tx, time_unit="D"), rfm_summary(tx, time_unit="D"))


def test_files_of_every_kind_give_the_same_table(tmp_path):
    tx = random_transactions(seed=11, n=600)
    expected = rfm_summary(tx, time_unit="W", observation_end="2024-04-01")
    tx.to_parquet(tmp_path / "one.parquet")
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, start in enumerate(range(0, len(tx), 200)):
        chunk = tx.iloc[start : start + 200]
        chunk.to_parquet(parts / f"part-{i}.parquet")
    tx.to_csv(tmp_path / "tx.csv", index=False)
    with duckdb.connect(str(tmp_path / "shop.duckdb")) as con:
        con.register("frame", tx)
        con.execute("CREATE SCHEMA sales")
        con.execute("CREATE TABLE sales.tx AS SELECT * FROM frame")
    sources = [
        (tmp_path / "one.parquet", {}),
        (str(parts), {}),
        (str(parts / "*.parquet"), {}),
        (tmp_path / "tx.csv", {}),
        (tmp_path / "shop.duckdb", {"table": "sales.tx"}),
    ]
    for source, extra in sources:
        ours = rfm_summary_duckdb(
            source,
            time_unit="W",
            observation_end="2024-04-01",
            memory_limit="256MB",
            threads=1,
            **extra,
        )
        assert_rfm_equal(ours, expected)


def test_integer_ids_keep_their_type_and_order():
    tx = pd.DataFrame(
        {
            "customer_id": [10, 2, 10, 33],
            "date": pd.to_datetime(["2024-01-01"] * 3 + ["2024-01-05"]),
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    ours = rfm_summary_duckdb(tx, time_unit="D")
    assert list(ours.index) == [2, 10, 33] and ours.index.dtype.kind == "i"
    assert ours.loc[10].tolist() == [0.0, 0.0, 4.0, 0.0]  # both rows on one day: one occasion


BAD_CSV = """customer_id,date,amount
a,2024-01-01,10
,2024-01-02,5
b,01/02/2024,5
c,,5
d,2024-01-03,
e,2024-01-04,$5
f,2024-01-05 13:45:00,7
g,2024-01-06,inf
h,2024-02-01,3
a,2024-01-08,2.5
"""


def test_bad_rows_are_counted_by_kind_and_listed(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_CSV)
    scan = scan_transactions_duckdb(path, time_unit="D", observation_end="2024-01-31")
    counts = dict(zip(scan.issues["Problem"], scan.issues["Rows"], strict=True))
    assert counts == {
        "missing customer id": 1,
        "unreadable date": 1,
        "missing date": 1,
        "missing amount": 1,
        "unreadable or infinite amount": 2,
        "date after observation_end": 1,
    }
    listed = scan.issue_rows
    assert listed["Row"].tolist() == [2, 3, 4, 5, 6, 8, 9]  # data rows (line = row + 1)
    assert listed["Column"].tolist() == [
        "customer_id",
        "date",
        "date",
        "amount",
        "amount",
        "amount",
        "date",
    ]
    assert listed["Value"].tolist() == ["", "01/02/2024", "", "", "$5", "inf", "2024-02-01"]
    assert set(listed["Sheet"]) == {"bad.csv"}
    # Used: a (1 Jan 10, 8 Jan 2.5) and f (5 Jan, the time of day dropped).
    assert scan.rfm.loc["a"].tolist() == [1.0, 7.0, 30.0, 2.5]
    assert scan.rfm.loc["f"].tolist() == [0.0, 0.0, 26.0, 0.0]
    assert list(scan.rfm.index) == ["a", "f"]
    assert scan.totals["rows"] == 10 and scan.totals["rows_used"] == 3
    assert scan.totals["gross_sales"] == 19.5


def test_strict_summary_refuses_bad_rows_with_counts_and_first_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_CSV)
    with pytest.raises(InputError) as err:
        rfm_summary_duckdb(path, observation_end="2024-01-31")
    text = str(err.value)
    assert "6 row(s) that cannot be used" in text
    assert "2 with an unreadable or infinite amount" in text
    assert "row 2 of bad.csv" in text and "scan_transactions_duckdb" in text


def test_issue_rows_are_capped_and_numbered_in_parquet(tmp_path):
    n = 10_050
    tx = pd.DataFrame(
        {
            "customer_id": ["x"] * n,
            "date": pd.to_datetime(["2024-01-01"] * n),
            "amount": [np.nan] * (n - 1) + [5.0],
        }
    )
    tx.to_parquet(tmp_path / "t.parquet")
    scan = scan_transactions_duckdb(tmp_path / "t.parquet")
    assert scan.issues["Rows"].tolist() == [n - 1]
    assert len(scan.issue_rows) == 10_000
    assert scan.issue_rows["Row"].tolist() == list(range(1, 10_001))
    assert scan.rfm.loc["x", "frequency"] == 0.0


def test_missing_column_names_it_and_the_columns_found():
    with pytest.raises(
        InputError, match=r"no column 'amt'; columns found: 'customer_id', 'date', 'amount'"
    ):
        rfm_summary_duckdb(HAND, amount="amt")
    # Names are exact, as in rfm_summary (DuckDB itself would match 'AMOUNT' to 'amount').
    with pytest.raises(InputError, match="no column 'AMOUNT'"):
        rfm_summary_duckdb(HAND, amount="AMOUNT")


def test_unusable_column_types_and_sources(tmp_path):
    numbers = HAND.assign(date=np.arange(len(HAND)))
    with pytest.raises(InputError, match="holds numbers, not dates"):
        rfm_summary_duckdb(numbers)
    aware = HAND.assign(date=HAND["date"].dt.tz_localize("Europe/Paris"))
    aware.to_parquet(tmp_path / "aware.parquet")
    with pytest.raises(InputError, match="time zone .* pass time_zone="):
        rfm_summary_duckdb(tmp_path / "aware.parquet")
    # Dated in the zone they were written in, the days are the wall-clock days again.
    in_paris = rfm_summary_duckdb(tmp_path / "aware.parquet", time_zone="Europe/Paris")
    assert_rfm_equal(in_paris, rfm_summary(aware))
    # 1 Jan 2024 09:00 in Paris is 08:00 UTC, same day; 00:00 on 8 Jan is 23:00 on 7 Jan UTC.
    in_utc = rfm_summary_duckdb(
        tmp_path / "aware.parquet", time_zone="UTC", time_unit="D", observation_end="2024-01-29"
    )
    assert in_utc.loc["b", "T"] == 22.0  # first purchase 7 Jan in UTC, 8 Jan in Paris
    with pytest.raises(InputError, match="not a time zone name"):
        rfm_summary_duckdb(tmp_path / "aware.parquet", time_zone="Mars/Olympus")
    # A DataFrame with aware timestamps is dated by its wall clock, as rfm_summary does.
    assert_rfm_equal(rfm_summary_duckdb(aware), rfm_summary(aware))
    with pytest.raises(InputError, match="amounts must be numbers"):
        rfm_summary_duckdb(HAND.assign(amount=True))
    with pytest.raises(InputError, match="file not found"):
        rfm_summary_duckdb(tmp_path / "nope.parquet")
    with pytest.raises(InputError, match="no file matches"):
        rfm_summary_duckdb(str(tmp_path / "none-*.parquet"))
    with pytest.raises(InputError, match="pass table="):
        duckdb.connect(str(tmp_path / "x.duckdb")).close()
        rfm_summary_duckdb(tmp_path / "x.duckdb")
    with pytest.raises(InputError, match="has no table 'tx'"):
        rfm_summary_duckdb(tmp_path / "x.duckdb", table="tx")
    with pytest.raises(InputError, match="memory_limit"):
        rfm_summary_duckdb(HAND, memory_limit="lots")
    with pytest.raises(InputError, match="source must be"):
        rfm_summary_duckdb([1, 2, 3])


def test_no_purchase_messages_match_rfm_summary():
    only_returns = HAND.assign(amount=-1.0)
    with pytest.raises(InputError, match="no purchase"):
        rfm_summary_duckdb(only_returns)
    with pytest.raises(
        InputError,
        match=r"observation_end \(2023-12-01\) is before the first purchase \(2024-01-01\)",
    ):
        rfm_summary_duckdb(HAND, observation_end="2023-12-01")
    with pytest.raises(InputError, match="empty"):
        rfm_summary_duckdb(HAND.iloc[:0])


def test_compressed_rows_fit_cdnow_to_the_published_estimates():
    tx = load_cdnow_transactions()
    c = compressed_rfm(
        tx, time_unit="W", observation_end=CDNOW_CALIBRATION_END, include_zero_amounts=True
    )
    full = rfm_summary(
        tx, time_unit="W", observation_end=CDNOW_CALIBRATION_END, include_zero_amounts=True
    )
    assert c.totals["customers"] == 2357 == int(c.rows["count"].sum())
    assert len(c.rows) < len(full)
    # Every distinct row and its count, against pandas' own grouping of the full table.
    ref = full.groupby(["frequency", "recency", "T"]).size().reset_index(name="count")
    pd.testing.assert_frame_equal(c.rows, ref, check_dtype=False)
    bg = BetaGeoModel().fit(
        c.rows["frequency"], c.rows["recency"], c.rows["T"], weights=c.rows["count"]
    )
    # Fader, Hardie & Lee (2005): r=0.2426, alpha=4.4136, a=0.7929, b=2.4259, LL=-9582.43.
    published = {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}
    for name, value in published.items():
        assert bg.params_[name] == pytest.approx(value, rel=2e-3), name
    assert bg.log_likelihood_ == pytest.approx(-9582.43, abs=0.05)
    assert int(c.spend["count"].sum()) == int((full["frequency"] > 0).sum())


def test_score_chunks_is_the_same_in_any_chunk_size():
    tx = load_cdnow_transactions()
    rfm = rfm_summary(tx, time_unit="W", include_zero_amounts=True)
    bg = BetaGeoModel().set_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    gg = GammaGammaModel().set_params(p=6.25, q=3.74, v=15.44)
    kw = {"gross_margin": 0.3, "horizon_months": 12, "annual_discount_rate": 0.1, "time_unit": "W"}
    whole = score_chunks(rfm, bg, gg, chunk_size=10**7, **kw)
    small = score_chunks(rfm, bg, gg, chunk_size=97, **kw)
    assert list(whole.columns) == ["p_alive", "expected_purchases", "expected_spend", "clv"]
    assert whole.index.equals(rfm.index) and small.index.equals(rfm.index)
    np.testing.assert_allclose(small.to_numpy(), whole.to_numpy(), rtol=1e-12, atol=0)
    # Hand check of one customer with no repeat purchase: P(alive) = 1 for the BG/NBD, and the
    # Gamma-Gamma expected spend is the population mean p v / (q - 1).
    one = whole[rfm["frequency"] == 0].iloc[0]
    assert one["p_alive"] == pytest.approx(1.0, abs=1e-15)
    assert one["expected_spend"] == pytest.approx(6.25 * 15.44 / 2.74, rel=1e-12)
    # Discounted at 10 % a year over one year, CLV lies between the undiscounted value
    # (expected purchases x spend x margin) and that value / 1.1.
    undiscounted = whole["expected_purchases"] * whole["expected_spend"] * 0.3
    assert (whole["clv"] <= undiscounted * (1 + 1e-12)).all()
    assert (whole["clv"] >= undiscounted / 1.1).all()
    no_spend = score_chunks(rfm, bg, None, **kw)
    assert list(no_spend.columns) == ["p_alive", "expected_purchases"]
    with pytest.raises(InputError, match="chunk_size"):
        score_chunks(rfm, bg, gg, chunk_size=0, **kw)
    with pytest.raises(InputError, match="no column 'monetary_value'"):
        score_chunks(rfm.drop(columns="monetary_value"), bg, gg, **kw)


def _assert_holdout_equal(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Exact for counts and durations; means to 1e-12 relative (summation order)."""
    assert list(ours.index.astype(str)) == list(ref.index.astype(str))
    assert list(ours.columns) == list(ref.columns)
    for col in ref.columns:
        if col.startswith("monetary"):
            np.testing.assert_allclose(ours[col], ref[col], rtol=1e-12, atol=0, err_msg=col)
        else:  # counts, and whole days / 7 or 30.4375: one correctly rounded IEEE division
            np.testing.assert_array_equal(ours[col], ref[col], err_msg=col)


@pytest.mark.parametrize("unit", ["D", "W"])
@pytest.mark.parametrize("end", [None, "2024-04-10"])
def test_calibration_split_matches_rfm_summary(unit, end):
    tx = random_transactions(seed=31, n=800, customers=90)
    kw = {"time_unit": unit, "observation_end": end, "calibration_end": "2024-02-15"}
    _assert_holdout_equal(rfm_summary_duckdb(tx, **kw), rfm_summary(tx, **kw))


def test_calibration_split_on_cdnow_by_hand_counts():
    from xlclv.datasets import CDNOW_END

    tx = load_cdnow_transactions()
    kw = {
        "calibration_end": CDNOW_CALIBRATION_END,
        "observation_end": CDNOW_END,
        "include_zero_amounts": True,
    }
    ours = rfm_summary_duckdb(tx, **kw)
    _assert_holdout_equal(ours, rfm_summary(tx, **kw))
    # CDNOW: all 2,357 customers joined in the first 12 weeks; the holdout is 39 weeks
    # (1 Oct 1997 to 30 Jun 1998 is 273 days).
    assert len(ours) == 2357
    assert (ours["duration_holdout"] == 273 / 7).all()


def test_calibration_end_errors():
    with pytest.raises(InputError, match=r"calibration_end \(2024-01-29\) must be before"):
        rfm_summary_duckdb(HAND, observation_end="2024-01-29", calibration_end="2024-01-29")
    with pytest.raises(InputError, match=r"calibration_end \(2023-06-01\) is before the first"):
        rfm_summary_duckdb(HAND, calibration_end="2023-06-01")


def test_no_usable_row_says_so():
    holes = pd.DataFrame(
        {"customer_id": [None, None], "date": ["2024-01-01"] * 2, "amount": [1, 2]}
    )
    with pytest.raises(
        InputError, match=r"no usable row: all 2 rows .*\(2 with a missing customer id\)"
    ):
        scan_transactions_duckdb(holes)


def test_streams_under_a_small_memory_limit_and_says_when_it_is_too_small(tmp_path):
    rng = np.random.default_rng(5)
    n = 400_000
    tx = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 150_000, n),
            "date": np.datetime64("2023-01-01", "D") + rng.integers(0, 700, n),
            "amount": rng.gamma(2.0, 20.0, n).round(2) + 0.01,
        }
    )
    tx.to_parquet(tmp_path / "tx.parquet")
    ours = rfm_summary_duckdb(tmp_path / "tx.parquet", memory_limit="32MB", threads=1)
    assert_rfm_equal(ours, rfm_summary(tx))
    with pytest.raises(
        InputError, match=r"more memory than memory_limit='4MB'.*raise memory_limit"
    ):
        rfm_summary_duckdb(tmp_path / "tx.parquet", memory_limit="4MB", threads=1)


def test_iter_score_chunks_scores_batches_as_they_come():
    from xlclv.engines import iter_score_chunks, score_frame

    rfm = rfm_summary(load_cdnow_transactions(), include_zero_amounts=True)
    bg = BetaGeoModel().set_params(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
    kw = {"gross_margin": 1, "horizon_months": 6, "annual_discount_rate": 0, "time_unit": "W"}
    batches = (rfm.iloc[i : i + 500] for i in range(0, len(rfm), 500))
    parts = list(iter_score_chunks(batches, bg, **kw))
    assert [len(p) for p in parts] == [500, 500, 500, 500, 357]
    whole = score_frame(rfm, bg, **kw)
    np.testing.assert_allclose(pd.concat(parts).to_numpy(), whole.to_numpy(), rtol=1e-12)
    # Expected purchases over 6 months of 365.25/12 days, in weeks: E[X(t)] at t = 26.09.
    t = 6 * 365.25 / 12 / 7
    row = rfm.iloc[0]
    assert whole["expected_purchases"].iloc[0] == pytest.approx(
        float(bg.expected_purchases(t, row["frequency"], row["recency"], row["T"])), rel=1e-12
    )
