"""The RFM summary: hand-worked cases, error messages, lifetimes side by side, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

from xlclv._errors import InputError
from xlclv._timeunits import DAYS_PER_UNIT
from xlclv.datasets import CDNOW_CALIBRATION_END, CDNOW_END, load_cdnow_transactions
from xlclv.transactions import HOLDOUT_COLUMNS, RFM_COLUMNS, rfm_summary


def frame(rows, columns=("customer_id", "date", "amount")):
    tx = pd.DataFrame(rows, columns=list(columns))
    tx[columns[1]] = pd.to_datetime(tx[columns[1]])
    return tx


def synthetic_transactions(seed, n_customers=300, n_rows=3000, days=400, zeros=False):
    """Random purchases (several per day happen) with integer ids; amounts > 0 (or >= 0)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2023-01-01")
    amounts = np.round(rng.gamma(2.0, 20.0, n_rows), 2)
    if zeros:
        amounts[rng.random(n_rows) < 0.05] = 0.0
    else:
        amounts = np.maximum(amounts, 0.01)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, n_customers, n_rows),
            "date": start
            + rng.integers(0, days, n_rows).astype("timedelta64[D]")
            # a time of day, which must not matter
            + rng.integers(0, 86_400, n_rows).astype("timedelta64[s]"),
            "amount": amounts,
        }
    )


# -- hand-worked cases ------------------------------------------------------------------------
def test_hand_worked_summary_in_days_weeks_and_months():
    tx = frame(
        [
            ("a", "2024-01-01", 10.0),
            ("a", "2024-01-01", 5.0),  # same day: one purchase occasion of 15
            ("a", "2024-01-15", 20.0),
            ("a", "2024-01-29", 40.0),
            ("b", "2024-01-08", 7.0),
        ]
    )
    days = rfm_summary(tx, time_unit="D", observation_end="2024-02-05")
    expected = pd.DataFrame(
        {
            "frequency": [2.0, 0.0],
            "recency": [28.0, 0.0],
            "T": [35.0, 28.0],
            "monetary_value": [30.0, 0.0],
        },
        index=pd.Index(["a", "b"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(days, expected, check_index_type=False)
    weeks = rfm_summary(tx, time_unit="W", observation_end="2024-02-05")
    pd.testing.assert_frame_equal(weeks[["recency", "T"]], days[["recency", "T"]] / 7)
    months = rfm_summary(tx, time_unit="m", observation_end="2024-02-05")
    pd.testing.assert_frame_equal(months[["recency", "T"]], days[["recency", "T"]] / (365.25 / 12))
    assert list(days.columns) == RFM_COLUMNS


def test_observation_end_defaults_to_last_date_and_later_rows_are_excluded():
    tx = frame([("a", "2024-01-01", 10.0), ("a", "2024-01-11", 20.0), ("b", "2024-01-21", 5.0)])
    default = rfm_summary(tx, time_unit="D")
    assert default.loc["a", "T"] == 20.0
    cut = rfm_summary(tx, time_unit="D", observation_end=pd.Timestamp("2024-01-05 18:00"))
    assert list(cut.index) == ["a"]  # b's purchase is after observation_end
    assert cut.loc["a"].tolist() == [0.0, 0.0, 4.0, 0.0]


def test_returns_and_zero_amounts_are_not_purchases():
    tx = frame(
        [
            ("a", "2024-01-01", 10.0),
            ("a", "2024-01-05", -10.0),  # a return: not a purchase day
            ("a", "2024-01-08", 30.0),
            ("a", "2024-01-08", -30.0),  # returned the same day: the purchase still counts
            ("b", "2024-01-02", 0.0),  # only a zero order: not a customer yet
            ("c", "2024-01-03", 8.0),
            ("c", "2024-01-09", 0.0),
        ]
    )
    summary = rfm_summary(tx, time_unit="D", observation_end="2024-01-10")
    assert list(summary.index) == ["a", "c"]
    assert summary.loc["a"].tolist() == [1.0, 7.0, 9.0, 30.0]
    assert summary.loc["c"].tolist() == [0.0, 0.0, 7.0, 0.0]
    with_zeros = rfm_summary(
        tx, time_unit="D", observation_end="2024-01-10", include_zero_amounts=True
    )
    assert list(with_zeros.index) == ["a", "b", "c"]
    assert with_zeros.loc["a"].tolist() == [1.0, 7.0, 9.0, 30.0]
    assert with_zeros.loc["b"].tolist() == [0.0, 0.0, 8.0, 0.0]
    assert with_zeros.loc["c"].tolist() == [1.0, 6.0, 7.0, 0.0]


def test_dates_as_strings_dates_and_tz_aware_datetimes():
    base = frame([("a", "2024-01-01", 10.0), ("a", "2024-01-15", 20.0), ("b", "2024-01-08", 7)])
    expected = rfm_summary(base, time_unit="D", observation_end="2024-01-29")
    variants = [
        base.assign(date=base["date"].dt.strftime("%Y-%m-%d")),
        base.assign(date=[d.date() for d in base["date"]]),
        base.assign(date=base["date"].dt.tz_localize("Europe/Berlin") + pd.Timedelta("23h")),
        base.assign(date=base["date"].astype("datetime64[s]")),
    ]
    for tx in variants:
        got = rfm_summary(tx, time_unit="D", observation_end="2024-01-29")
        pd.testing.assert_frame_equal(got, expected)


def test_custom_column_names_and_other_columns_ignored():
    tx = frame(
        [("x1", "2024-03-01", 5.0, "north"), ("x1", "2024-03-04", 9.0, "south")],
        columns=("Kunde", "Datum", "Betrag", "region"),
    )
    summary = rfm_summary(tx, customer_id="Kunde", date="Datum", amount="Betrag", time_unit="D")
    assert summary.index.name == "Kunde"
    assert summary.loc["x1"].tolist() == [1.0, 3.0, 3.0, 9.0]


def test_mixed_type_ids_are_kept_unsorted():
    tx = frame([(1, "2024-01-01", 5.0), ("a", "2024-01-02", 5.0), (1, "2024-01-03", 5.0)])
    summary = rfm_summary(tx, time_unit="D")
    assert summary.loc[1, "frequency"] == 1.0
    assert summary.loc["a", "frequency"] == 0.0


def test_calibration_holdout_hand_worked():
    tx = frame(
        [
            ("a", "2024-01-01", 10.0),
            ("a", "2024-01-05", 20.0),
            ("a", "2024-01-12", 30.0),  # holdout
            ("a", "2024-01-12", 6.0),  # holdout, same day
            ("a", "2024-01-20", 50.0),  # holdout
            ("b", "2024-01-09", 4.0),  # first purchase on calibration_end
            ("c", "2024-01-15", 9.0),  # first purchase in the holdout: not in the table
        ]
    )
    split = rfm_summary(
        tx, time_unit="D", calibration_end="2024-01-09", observation_end="2024-01-23"
    )
    assert list(split.columns) == HOLDOUT_COLUMNS
    assert list(split.index) == ["a", "b"]
    assert split.loc["a"].tolist() == [1.0, 4.0, 8.0, 20.0, 2.0, 43.0, 14.0]
    assert split.loc["b"].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 14.0]


# -- error messages ---------------------------------------------------------------------------
def test_missing_column_names_it_and_the_columns_found():
    tx = frame([("a", "2024-01-01", 1.0)], columns=("Customer", "date", "amount"))
    with pytest.raises(
        InputError, match=r"no column 'customer_id'; columns found: 'Customer', 'date', 'amount'"
    ):
        rfm_summary(tx)


@pytest.mark.parametrize("column", ["customer_id", "date", "amount"])
def test_missing_values_are_an_error(column):
    tx = frame([("a", "2024-01-01", 1.0), ("b", "2024-01-02", 2.0), ("c", "2024-01-03", 3.0)])
    tx.loc[1, column] = None
    with pytest.raises(InputError, match=rf"column '{column}' has 1 missing value\(s\), the first"):
        rfm_summary(tx)


def test_observation_end_before_first_purchase():
    tx = frame([("a", "2024-01-10", 1.0), ("b", "2024-01-02", -2.0)])
    with pytest.raises(
        InputError,
        match=r"observation_end \(2024-01-05\) is before the first purchase \(2024-01-10\)",
    ):
        rfm_summary(tx, observation_end="2024-01-05")


def test_calibration_end_must_be_within_the_data():
    tx = frame([("a", "2024-01-10", 1.0), ("a", "2024-01-20", 1.0)])
    with pytest.raises(InputError, match=r"calibration_end \(2024-01-05\) is before the first"):
        rfm_summary(tx, calibration_end="2024-01-05")
    with pytest.raises(InputError, match=r"calibration_end \(2024-01-20\) must be before obs"):
        rfm_summary(tx, calibration_end="2024-01-20")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_unit": "Y"}, "time_unit must be one of D"),
        ({"observation_end": 45000}, "observation_end must be a date such as 2024-12-31"),
        ({"observation_end": "soon"}, "observation_end must be a date"),
        ({"observation_end": pd.NaT}, "got a missing value"),
    ],
)
def test_bad_settings(kwargs, message):
    tx = frame([("a", "2024-01-10", 1.0)])
    with pytest.raises(InputError, match=message):
        rfm_summary(tx, **kwargs)


def test_bad_tables():
    with pytest.raises(InputError, match="must be a table"):
        rfm_summary([("a", "2024-01-10", 1.0)])
    with pytest.raises(InputError, match="transactions is empty"):
        rfm_summary(frame([]))
    with pytest.raises(InputError, match="no purchase: every amount is 0 or less"):
        rfm_summary(frame([("a", "2024-01-10", -1.0), ("b", "2024-01-11", 0.0)]))
    numbers = pd.DataFrame({"customer_id": ["a"], "date": [45000], "amount": [1.0]})
    with pytest.raises(InputError, match="column 'date' holds numbers, not dates"):
        rfm_summary(numbers)
    text_dates = pd.DataFrame({"customer_id": ["a"], "date": ["tuesday"], "amount": [1.0]})
    with pytest.raises(InputError, match="column 'date' has a value that is not a date"):
        rfm_summary(text_dates)
    for bad in ("ten", True):
        with pytest.raises(InputError, match="column 'amount' has a value that is not a number"):
            rfm_summary(frame([("a", "2024-01-10", bad)]))
    text_numbers = frame([("a", "2024-01-10", "10.5"), ("a", "2024-01-12", "3")])
    assert rfm_summary(text_numbers)["monetary_value"].tolist() == [3.0]


# -- side by side with lifetimes --------------------------------------------------------------
@pytest.mark.parametrize("unit", ["D", "W", "M"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_table_as_lifetimes(unit, seed):
    tx = synthetic_transactions(seed, zeros=seed == 3)
    end = pd.Timestamp("2024-03-01")
    ours = rfm_summary(tx, time_unit=unit, observation_end=end, include_zero_amounts=seed == 3)
    theirs = summary_data_from_transaction_data(
        tx,
        "customer_id",
        "date",
        monetary_value_col="amount",
        observation_period_end=end,
        freq="D",
        freq_multiplier=DAYS_PER_UNIT[unit],
    )
    theirs.index.name = "customer_id"
    assert ours.index.equals(theirs.index)
    pd.testing.assert_frame_equal(
        ours[["frequency", "recency", "T"]], theirs[["frequency", "recency", "T"]]
    )
    np.testing.assert_allclose(ours["monetary_value"], theirs["monetary_value"], rtol=1e-12)


def _lifetimes_holdout(tx, calibration_end, observation_end, unit):
    # lifetimes averages holdout *rows*; ours averages purchase *days* (as for
    # monetary_value). Giving lifetimes one row per customer and day makes the two agree.
    daily = (
        tx.assign(date=tx["date"].dt.normalize())
        .groupby(["customer_id", "date"], as_index=False)["amount"]
        .sum()
    )
    theirs = calibration_and_holdout_data(
        daily,
        "customer_id",
        "date",
        calibration_period_end=calibration_end,
        observation_period_end=observation_end,
        freq="D",
        freq_multiplier=DAYS_PER_UNIT[unit],
        monetary_value_col="amount",
    )
    theirs.index.name = "customer_id"
    return theirs[HOLDOUT_COLUMNS]


def test_calibration_holdout_matches_lifetimes_on_cdnow():
    tx = load_cdnow_transactions()
    ours = rfm_summary(
        tx,
        time_unit="W",
        calibration_end=CDNOW_CALIBRATION_END,
        observation_end=CDNOW_END,
        include_zero_amounts=True,
    )
    theirs = _lifetimes_holdout(tx, CDNOW_CALIBRATION_END, CDNOW_END, "W")
    assert len(ours) == 2357
    assert ours.index.equals(theirs.index)
    pd.testing.assert_frame_equal(ours, theirs, rtol=1e-12)
    # Weeks 40-78: 1997-10-01 to 1998-06-30 is 273 days, 39 weeks.
    assert (ours["duration_holdout"] == 39.0).all()


@pytest.mark.parametrize("unit", ["D", "W", "M"])
def test_calibration_holdout_matches_lifetimes_on_synthetic_data(unit):
    tx = synthetic_transactions(7)
    cal, end = pd.Timestamp("2023-09-30"), pd.Timestamp("2024-01-31")
    ours = rfm_summary(tx, time_unit=unit, calibration_end=cal, observation_end=end)
    theirs = _lifetimes_holdout(tx, cal, end, unit)
    assert ours.index.equals(theirs.index)
    pd.testing.assert_frame_equal(ours, theirs, rtol=1e-12)


# -- properties -------------------------------------------------------------------------------
transactions_strategy = st.lists(
    st.tuples(
        st.integers(0, 20),
        st.integers(0, 500),
        st.floats(-50, 500, allow_nan=False).map(lambda x: round(x, 2)),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(rows=transactions_strategy, extra_days=st.integers(0, 100))
def test_summary_properties(rows, extra_days):
    tx = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    tx["date"] = pd.Timestamp("2020-02-27") + pd.to_timedelta(tx["day"], unit="D")
    end = tx["date"].max() + pd.Timedelta(days=extra_days)
    if not (tx["amount"] > 0).any():
        with pytest.raises(InputError):
            rfm_summary(tx, observation_end=end)
        return
    days = rfm_summary(tx, time_unit="D", observation_end=end)
    weeks = rfm_summary(tx, time_unit="W", observation_end=end)
    months = rfm_summary(tx, time_unit="M", observation_end=end)
    buyers = tx.loc[tx["amount"] > 0, "customer_id"].unique()
    assert sorted(days.index) == sorted(buyers)
    assert (days["recency"] >= 0).all() and (days["recency"] <= days["T"]).all()
    assert (days["frequency"] >= 0).all() and (days["frequency"] == days["frequency"].round()).all()
    one_timers = days["frequency"] == 0
    assert (days.loc[one_timers, ["recency", "monetary_value"]] == 0).all(axis=None)
    assert (days.loc[~one_timers, "monetary_value"] > 0).all()
    assert (days["recency"] == days["recency"].round()).all()
    np.testing.assert_allclose(weeks[["recency", "T"]] * 7, days[["recency", "T"]], rtol=1e-12)
    np.testing.assert_allclose(
        months[["recency", "T"]] * (365.25 / 12), days[["recency", "T"]], rtol=1e-12
    )
    pd.testing.assert_frame_equal(
        weeks[["frequency", "monetary_value"]], days[["frequency", "monetary_value"]]
    )
    # Repeat spend x repeat count + first-day spend = all positive spend.
    first_day = (
        tx[tx["amount"] > 0]
        .groupby(["customer_id", "day"])["amount"]
        .sum()
        .groupby(level=0)
        .first()
    )
    total = tx.loc[tx["amount"] > 0].groupby("customer_id")["amount"].sum()
    np.testing.assert_allclose(
        days["monetary_value"] * days["frequency"] + first_day.reindex(days.index),
        total.reindex(days.index),
        rtol=1e-9,
    )


@settings(max_examples=60, deadline=None)
@given(rows=transactions_strategy, cut=st.integers(0, 500), extra=st.integers(1, 60))
def test_calibration_holdout_properties(rows, cut, extra):
    tx = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    start = pd.Timestamp("2021-01-01")
    tx["date"] = start + pd.to_timedelta(tx["day"], unit="D")
    buys = tx[tx["amount"] > 0]
    cal = start + pd.Timedelta(days=cut)
    end = max(tx["date"].max(), cal) + pd.Timedelta(days=extra)
    if buys.empty or (buys["date"] > cal).all():
        with pytest.raises(InputError):
            rfm_summary(tx, calibration_end=cal, observation_end=end)
        return
    split = rfm_summary(tx, time_unit="D", calibration_end=cal, observation_end=end)
    calibration = rfm_summary(tx, time_unit="D", observation_end=cal)
    full = rfm_summary(tx, time_unit="D", observation_end=end).loc[split.index]
    # The calibration columns are the summary at calibration_end.
    np.testing.assert_array_equal(split.iloc[:, :4].to_numpy(), calibration.to_numpy())
    # Calibration and holdout purchase days add up to the full period's.
    np.testing.assert_array_equal(
        split["frequency_cal"] + split["frequency_holdout"], full["frequency"]
    )
    assert (split["duration_holdout"] == (end - cal).days).all()
    assert (split["T_cal"] + split["duration_holdout"] == full["T"]).all()


@pytest.mark.parametrize(
    "ids",
    [
        [7, 3, 7, -2],  # compact integer range: coded by bincount
        [10**15, 3, 10**15, -2],  # wide range: hashed
        np.array([2**64 - 1, 3, 2**64 - 1, 0], dtype=np.uint64),
        np.array([2**64 - 1, 2**64 - 9, 2**64 - 1, 2**64 - 5], dtype=np.uint64),  # compact
        np.array([2**63 - 1, -(2**63), 2**63 - 1, 0], dtype=np.int64),
        np.array([7, 3, 7, 2], dtype=np.uint16),
        ["7", "3", "7", "-2"],
        [7.0, 3.0, 7.0, -2.0],
    ],
)
def test_customer_ids_of_any_type_are_sorted_and_kept(ids):
    tx = pd.DataFrame(
        {
            "customer_id": ids,
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-05", "2024-01-03"]),
            "amount": [1.0, 2.0, 3.0, 4.0],
        }
    )
    summary = rfm_summary(tx, time_unit="D")
    expected_ids = sorted(set(tx["customer_id"]))
    assert list(summary.index) == expected_ids
    assert summary.index.dtype == tx["customer_id"].dtype
    assert summary.loc[tx["customer_id"][0]].tolist() == [1.0, 4.0, 4.0, 3.0]


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(
        st.text(st.characters(exclude_categories=["Cs"]), max_size=10), min_size=1, max_size=30
    ),
    dtype=st.sampled_from(["str", "string[python]", "string[pyarrow]", object]),
)
def test_text_ids_are_kept_exactly_and_sorted(ids, dtype):
    """Short text ids take a packed-bytes fast path; every kind of text must survive it."""
    tx = pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype=dtype),
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(ids)), unit="D"),
            "amount": 1.0,
        }
    )
    summary = rfm_summary(tx, time_unit="D")
    assert list(summary.index) == sorted(set(ids))
    assert summary.index.dtype == tx["customer_id"].dtype
    counts = pd.Series(ids).value_counts()
    assert summary["frequency"].tolist() == [counts[i] - 1.0 for i in summary.index]
