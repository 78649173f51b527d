"""The shipped datasets load with the documented shapes, types and totals."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xlclv import datasets
from xlclv.transactions import rfm_summary


def test_cdnow_transactions_shape_and_types():
    tx = datasets.load_cdnow_transactions()
    assert list(tx.columns) == ["customer_id", "date", "amount", "cds"]
    assert len(tx) == 6919
    assert tx["customer_id"].nunique() == 2357
    assert set(tx["customer_id"]) == {str(i) for i in range(1, 2358)}
    assert tx["date"].dtype == "datetime64[ns]"
    assert tx["amount"].dtype == np.float64
    assert tx["cds"].dtype == np.int64
    assert tx["date"].min() == pd.Timestamp("1997-01-01")
    assert tx["date"].max() == datasets.CDNOW_END
    # Customers were acquired in the first quarter of 1997.
    assert tx.groupby("customer_id")["date"].min().max() <= pd.Timestamp("1997-03-31")
    assert tx["amount"].sum() == pytest.approx(244091.94)
    assert tx.loc[0].to_dict() == {
        "customer_id": "1",
        "date": pd.Timestamp("1997-01-01"),
        "amount": 29.33,
        "cds": 2,
    }


def test_cdnow_summary():
    summary = datasets.load_cdnow_summary()
    assert summary.shape == (2357, 3)
    assert list(summary.columns) == ["frequency", "recency", "T"]
    assert summary.index.name == "customer_id"
    assert summary.loc["1"].tolist() == [2.0, 30.43, 38.86]
    assert (summary["frequency"] > 0).sum() == 946
    assert summary["frequency"].sum() == 2457


def test_cdnow_summary_with_monetary_matches_summary():
    summary = datasets.load_cdnow_summary()
    with_monetary = datasets.load_cdnow_summary_with_monetary()
    assert list(with_monetary.columns) == ["frequency", "recency", "T", "monetary_value"]
    pd.testing.assert_frame_equal(with_monetary[["frequency", "recency", "T"]], summary)
    assert (with_monetary.loc[with_monetary["frequency"] == 0, "monetary_value"] == 0).all()
    assert with_monetary.loc["1", "monetary_value"] == 22.35


def test_donations():
    donations = datasets.load_donations()
    assert list(donations.columns) == ["frequency", "recency", "periods", "weights"]
    assert len(donations) == 22
    assert donations["weights"].sum() == 11104
    assert (donations["periods"] == 6).all()
    assert (donations["recency"] >= donations["frequency"].clip(upper=1)).all()


def test_cdnow_summary_is_the_rfm_summary_of_the_shipped_transactions():
    """Reference check: the published summary is exactly rfm_summary(unit W, end 1997-09-30).

    The files round to 2 decimals. The 8 customers whose one purchase was a $0.00 CD are in the
    published summary, so zero amounts count as purchases here (include_zero_amounts).
    """
    tx = datasets.load_cdnow_transactions()
    summary = rfm_summary(
        tx,
        time_unit="W",
        observation_end=datasets.CDNOW_CALIBRATION_END,
        include_zero_amounts=True,
    )
    published = datasets.load_cdnow_summary()
    assert summary.index.sort_values().equals(published.index.sort_values())
    summary = summary.loc[published.index]
    pd.testing.assert_frame_equal(summary[["frequency", "recency", "T"]].round(2), published)
    # 38.857... weeks, published as 38.86; exact: whole days / 7 is one correctly rounded
    # IEEE division on any CPU
    assert summary.loc["1", "T"] == 272 / 7
    # monetary_value against zbar, the published mean repeat spend, to 2 decimals (the file
    # rounds half up, e.g. 22.345 -> 22.35, so compare within half a cent).
    zbar = datasets.load_cdnow_summary_with_monetary()["monetary_value"]
    assert np.abs(summary["monetary_value"] - zbar).max() <= 0.005 + 1e-9


def test_cdnow_summary_without_zero_amounts_drops_only_the_free_purchases():
    tx = datasets.load_cdnow_transactions()
    summary = rfm_summary(tx, time_unit="W", observation_end=datasets.CDNOW_CALIBRATION_END)
    published = datasets.load_cdnow_summary()
    dropped = published.index.difference(summary.index)
    assert sorted(dropped) == sorted(tx.loc[tx["amount"] == 0, "customer_id"])
    assert len(dropped) == 8
    pd.testing.assert_frame_equal(
        summary[["frequency", "recency", "T"]].round(2), published.loc[summary.index]
    )


def test_data_files_are_package_data_and_load_from_a_zip(tmp_path):
    """The loaders use importlib.resources, so they work from a wheel (here: a zip on sys.path)."""
    root = Path(__file__).resolve().parent.parent
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["xlclv"]
    data_files = sorted(p.name for p in (root / "xlclv" / "data").iterdir())
    assert {"CDNOW_sample.txt", "donations.csv", "PROVENANCE.md"} <= set(data_files)
    for name in data_files:
        assert any(fnmatch(f"data/{name}", pattern) for pattern in patterns), name

    archive = tmp_path / "xlclv.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in (root / "xlclv").rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(root).as_posix())
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from xlclv import datasets as d; "
        "assert '.zip' in d.__file__; "
        "print(len(d.load_cdnow_transactions()), len(d.load_cdnow_summary()), "
        "len(d.load_cdnow_summary_with_monetary()), len(d.load_donations()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(archive)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert out.stdout.split() == ["6919", "2357", "2357", "22"]
