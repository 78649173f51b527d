"""Fixtures of the engine tests: random transactions, a brute-force reference, a SparkSession."""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ON_CI

DAYS_PER_UNIT = {"D": 1.0, "W": 7.0, "M": 30.4375}


def random_transactions(seed: int, n: int = 400, customers: int = 60) -> pd.DataFrame:
    """Transactions with same-day repeats, returns, zero amounts and times of day."""
    rng = np.random.default_rng(seed)
    day = rng.integers(0, 120, n)
    seconds = rng.integers(0, 86_400, n)
    amount = np.round(rng.gamma(2.0, 20.0, n), 2)
    kind = rng.random(n)
    amount[kind < 0.08] *= -1  # returns
    amount[(kind >= 0.08) & (kind < 0.12)] = 0.0  # free orders
    return pd.DataFrame(
        {
            "customer_id": np.array([f"C{i:03d}" for i in range(customers)])[
                rng.integers(0, customers, n)
            ],
            "date": (
                np.datetime64("2024-01-01T00:00:00", "s")
                + (day * 86_400 + seconds).astype("timedelta64[s]")
            ).astype("datetime64[ns]"),
            "amount": amount,
        }
    )


def brute_force_rfm(
    tx: pd.DataFrame, unit: str, end: str | None = None, include_zero: bool = False
) -> pd.DataFrame:
    """The RFM summary by a plain loop over customers and days (the independent reference)."""
    day = pd.to_datetime(tx["date"]).dt.normalize()
    end_day = day.max() if end is None else pd.Timestamp(end)
    rows = {}
    for cid in sorted(set(tx["customer_id"])):
        per_day: dict[pd.Timestamp, float] = {}
        mine = (tx["customer_id"] == cid).to_numpy()
        for d, a in zip(day[mine], tx["amount"][mine], strict=True):
            if (a > 0 or (include_zero and a == 0)) and d <= end_day:
                per_day[d] = per_day.get(d, 0.0) + a
        if not per_day:
            continue
        days = sorted(per_day)
        repeat = [per_day[d] for d in days[1:]]
        rows[cid] = (
            len(days) - 1.0,
            (days[-1] - days[0]).days / DAYS_PER_UNIT[unit],
            (end_day - days[0]).days / DAYS_PER_UNIT[unit],
            sum(repeat) / len(repeat) if repeat else 0.0,
        )
    out = pd.DataFrame.from_dict(
        rows, orient="index", columns=["frequency", "recency", "T", "monetary_value"]
    )
    out.index.name = "customer_id"
    return out


def assert_rfm_equal(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    """frequency, recency and T exactly; monetary_value to 1e-12 relative (summation order)."""
    assert list(ours.index.astype(str)) == list(ref.index.astype(str))
    assert list(ours.columns[:4]) == ["frequency", "recency", "T", "monetary_value"]
    # exact on any CPU: counts, and whole days divided by 7 or 30.4375 (one IEEE division,
    # correctly rounded, the same double on both sides)
    for col in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[col].to_numpy(), ref[col].to_numpy(), err_msg=col)
    np.testing.assert_allclose(
        ours["monetary_value"].to_numpy(), ref["monetary_value"].to_numpy(), rtol=1e-12, atol=0
    )


def _spark_or_fail():
    """Import pyspark and find Java: skip locally, FAIL under CI when either is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        message = 'pyspark is not installed (pip install -e ".[test]")'
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        message = "Java is not installed (apt-get install openjdk-17-jre-headless)"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for the whole run: one core, one shuffle partition, no UI."""
    _spark_or_fail()
    from pyspark.sql import SparkSession

    # The Python workers (mapInPandas) must run this interpreter, which has xlclv and pandas.
    os.environ["PYSPARK_PYTHON"] = sys.executable

    session = (
        SparkSession.builder.master("local[1]")
        .appName("xlclv-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
