"""xlclv.spark in Spark local mode: the same RFM summary, fit and scores as the pandas path.

Marked slow (a JVM starts once, ~10 s); CI runs them and FAILS, not skips, without pyspark or
Java (see conftest.spark).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import xlclv.spark as xs
from xlclv import BetaGeoModel, GammaGammaModel, InputError, ParetoNBDModel
from xlclv.datasets import CDNOW_CALIBRATION_END, load_cdnow_transactions
from xlclv.engines import rfm_sql, score_frame
from xlclv.transactions import rfm_summary

from .conftest import assert_rfm_equal, brute_force_rfm, random_transactions

pytestmark = pytest.mark.slow


def _local(sdf, customer_id="customer_id") -> pd.DataFrame:
    return sdf.toPandas().set_index(customer_id).sort_index()


@pytest.mark.parametrize(("unit", "end"), [("D", None), ("W", "2024-03-01"), ("M", None)])
def test_rfm_summary_on_timestamps_matches(spark, unit, end):
    tx = random_transactions(seed=21)
    got = _local(xs.rfm_summary(spark.createDataFrame(tx), time_unit=unit, observation_end=end))
    assert_rfm_equal(got, brute_force_rfm(tx, unit, end))
    assert_rfm_equal(got, rfm_summary(tx, time_unit=unit, observation_end=end))


def test_rfm_summary_on_dates_and_text(spark):
    tx = random_transactions(seed=22)
    as_dates = tx.assign(date=tx["date"].dt.date)
    got = _local(xs.rfm_summary(spark.createDataFrame(as_dates), include_zero_amounts=True))
    assert_rfm_equal(got, rfm_summary(tx, include_zero_amounts=True))
    as_text = tx.assign(date=tx["date"].dt.strftime("%Y-%m-%d"))
    got = _local(xs.rfm_summary(spark.createDataFrame(as_text), time_unit="D"))
    assert_rfm_equal(got, rfm_summary(tx, time_unit="D"))


def test_spark_rendering_of_the_warehouse_sql_runs(spark):
    tx = random_transactions(seed=23)
    spark.createDataFrame(tx).createOrReplaceTempView("xl_test_tx")
    got = _local(spark.sql(rfm_sql("xl_test_tx", dialect="spark", time_unit="W")))
    assert_rfm_equal(got, rfm_summary(tx, time_unit="W"))


def test_bad_rows_and_missing_columns_are_errors(spark):
    tx = random_transactions(seed=24, n=50)
    with pytest.raises(InputError, match="no column 'amt'; columns found: 'customer_id'"):
        xs.rfm_summary(spark.createDataFrame(tx), amount="amt")
    holes = tx.astype({"customer_id": object, "amount": float})
    holes.loc[3, "customer_id"] = None
    holes.loc[4, "amount"] = np.nan
    sdf = spark.createDataFrame(holes)
    with pytest.raises(InputError, match="1 missing customer id"):
        xs.rfm_summary(sdf)
    with pytest.raises(InputError, match="must be a Spark DataFrame"):
        xs.rfm_summary(tx)
    # check=False leaves rows with missing values out.
    got = _local(xs.rfm_summary(sdf.where("customer_id IS NOT NULL"), check=False))
    clean = holes.dropna()
    clean = clean[~clean["amount"].isna()]
    assert_rfm_equal(got, rfm_summary(clean.astype({"customer_id": str})))
    text = spark.createDataFrame(
        pd.DataFrame({"customer_id": ["a"], "date": ["31/01/2024"], "amount": ["5"]})
    )
    with pytest.raises(InputError, match="1 unreadable date"):
        xs.rfm_summary(text)


def test_fit_on_compressed_rows_reaches_the_published_cdnow_estimates(spark):
    tx = load_cdnow_transactions()
    tx = tx.assign(date=tx["date"].dt.date)
    sdf = spark.createDataFrame(tx)
    rfm = xs.rfm_summary(
        sdf, observation_end=CDNOW_CALIBRATION_END, include_zero_amounts=True
    ).cache()
    bg = xs.fit(BetaGeoModel(), rfm)
    # Fader, Hardie & Lee (2005): r=0.2426, alpha=4.4136, a=0.7929, b=2.4259.
    for name, value in {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}.items():
        assert bg.params_[name] == pytest.approx(value, rel=2e-3), name
    pnbd = xs.fit(ParetoNBDModel(), rfm)
    # Published Pareto/NBD: r=0.5532 alpha=10.5763 s=0.6062 beta=11.6715.
    for name, value in {"r": 0.5532, "alpha": 10.5763, "s": 0.6062, "beta": 11.6715}.items():
        assert pnbd.params_[name] == pytest.approx(value, rel=1e-2), name
    gg = xs.fit(GammaGammaModel(), rfm)
    local = rfm_summary(
        load_cdnow_transactions(),
        observation_end=CDNOW_CALIBRATION_END,
        include_zero_amounts=True,
    )
    ref = GammaGammaModel().fit(local["frequency"], local["monetary_value"])
    for name in ("p", "q", "v"):
        assert gg.params_[name] == pytest.approx(ref.params_[name], rel=1e-6), name
    with pytest.raises(InputError, match="fit takes"):
        xs.fit(object(), rfm)

    scored = _local(
        xs.score(
            rfm,
            bg,
            gg,
            gross_margin=0.3,
            horizon_months=12,
            annual_discount_rate=0.1,
            time_unit="W",
        )
    )
    expected = score_frame(
        local,
        bg,
        gg,
        gross_margin=0.3,
        horizon_months=12,
        annual_discount_rate=0.1,
        time_unit="W",
    )
    assert list(scored.columns[-4:]) == ["p_alive", "expected_purchases", "expected_spend", "clv"]
    scored = scored.loc[expected.index]
    np.testing.assert_allclose(scored[expected.columns].to_numpy(), expected.to_numpy(), rtol=1e-10)
    only = _local(
        xs.score(rfm, bg, gross_margin=1, horizon_months=6, annual_discount_rate=0, time_unit="W")
    )
    assert "clv" not in only.columns and only["p_alive"].between(0, 1).all()
    rfm.unpersist()


def test_dates_keep_their_day_in_the_session_time_zone(spark):
    # 23:30 on 31 Jan stays 31 Jan: timestamps are dated in the session zone (UTC here).
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a"],
            "date": [dt.datetime(2024, 1, 1, 23, 30), dt.datetime(2024, 1, 31, 23, 30)],
            "amount": [1.0, 2.0],
        }
    )
    got = _local(xs.rfm_summary(spark.createDataFrame(tx), time_unit="D"))
    assert got.loc["a"].tolist() == [1.0, 30.0, 30.0, 2.0]


def test_calibration_split_matches_rfm_summary(spark):
    tx = random_transactions(seed=35, n=600, customers=70)
    sdf = spark.createDataFrame(tx)
    kw = {"time_unit": "W", "calibration_end": "2024-02-20"}
    got = _local(xs.rfm_summary(sdf, **kw))
    ref = rfm_summary(tx, **kw)
    assert list(got.index) == list(ref.index) and list(got.columns) == list(ref.columns)
    for col in ref.columns:
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-12, atol=0, err_msg=col)
    last = tx["date"].max().date().isoformat()
    with pytest.raises(InputError, match=r"calibration_end .* must be before observation_end"):
        xs.rfm_summary(sdf, calibration_end=last)


def test_column_names_with_braces_and_spaces(spark):
    tx = random_transactions(seed=36, n=80).rename(
        columns={"customer_id": "client {id}", "date": "order date", "amount": "net`amount"}
    )
    got = xs.rfm_summary(
        spark.createDataFrame(tx), customer_id="client {id}", date="order date", amount="net`amount"
    )
    ref = rfm_summary(tx, customer_id="client {id}", date="order date", amount="net`amount")
    assert_rfm_equal(_local(got, "client {id}"), ref)
