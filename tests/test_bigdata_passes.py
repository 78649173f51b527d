"""The big-data path's summarise passes: the source is copied once, split by a hash of the
customer id, and each pass reads only its own customers' rows (xlclv.report.bigdata._passes).

Oracles: pandas on the same rows (each customer's first purchase day and, among that day's
purchase rows, the first in input order: file, then row) and the same report summarised in
one pass. DuckDB runs with two threads here, so rows are read out of order and only the
input-order key can give the right answer.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from xlclv.report import Settings
from xlclv.report import bigdata as bd

S = Settings(model="BGNBD", include_zero_amounts=False, time_unit="D")


def _ties(n_customers: int = 3000, seed: int = 7) -> pd.DataFrame:
    """Every customer's first purchase day has three purchase rows with three different
    regions (and a return before them), shuffled across the whole file; later days too."""
    rng = np.random.default_rng(seed)
    first = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n_customers), "D")
    rows = []
    for c in range(n_customers):
        cid, day = f"c{c:05d}", first[c]
        rows.append((cid, day - pd.Timedelta(days=3), -5.0, "Returns"))
        for region in rng.permutation(["North", "South", "East"]):
            rows.append((cid, day, float(rng.integers(1, 90)), str(region)))
        for later in rng.integers(1, 150, size=2):
            rows.append((cid, day + pd.Timedelta(days=int(later)), 10.0, "West"))
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount", "region"])
    return tx.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _first_regions(tx: pd.DataFrame) -> pd.Series:
    """pandas: the region of the first purchase row (input order) on the first purchase day."""
    bought = tx[tx["amount"] > 0]
    first_day = bought.groupby("customer_id")["date"].transform("min")
    return bought[bought["date"] == first_day].groupby("customer_id")["region"].first()


def _regions(report) -> pd.Series:
    c = report.customers
    return c.set_index("Customer ID")["region"].sort_index()


@pytest.fixture(scope="module")
def ties(tmp_path_factory):
    folder = tmp_path_factory.mktemp("passes")
    tx = _ties()
    text = tx.assign(date=tx["date"].dt.strftime("%Y-%m-%d"))
    text.to_csv(folder / "tx.csv", index=False)
    half = len(tx) // 2  # a customer's first-day rows fall in both files
    (folder / "parts").mkdir()
    tx.iloc[:half].to_parquet(folder / "parts" / "a.parquet", index=False, row_group_size=997)
    tx.iloc[half:].to_parquet(folder / "parts" / "b.parquet", index=False, row_group_size=997)
    return tx, folder


@pytest.mark.parametrize("source", ["tx.csv", "parts"])
def test_first_purchase_segment_is_the_first_row_in_input_order(
    ties, source, monkeypatch, passes_seen
):
    tx, folder = ties
    expected = _first_regions(tx).sort_index()
    assert expected.nunique() == 3  # the ties are real: every region wins somewhere
    monkeypatch.setattr(bd, "ROWS_PER_PASS", 4000)  # about 5 passes
    big = bd.build_report_big(folder / source, S, threads=2, max_customer_rows=10**6)
    reads, copy = passes_seen[0]
    assert reads >= 4 and not copy.exists()  # passes ran; the copy is gone
    got = _regions(big.report)
    pd.testing.assert_series_equal(got, expected, check_names=False)


def test_a_pass_without_customers_is_skipped(tmp_path, monkeypatch):
    """Two customers and many passes: most hash buckets are empty (no folder in the copy)."""
    path = tmp_path / "two.csv"
    days = pd.date_range("2024-01-01", periods=120, freq="D")
    tx = pd.DataFrame(
        {
            "customer_id": ["a"] * 60 + ["b"] * 60,
            "date": [d.strftime("%Y-%m-%d") for d in days[::2]] * 2,
            "amount": np.arange(1, 121, dtype=float),
        }
    )
    tx.to_csv(path, index=False)
    one = bd.build_report_big(path, S).report
    monkeypatch.setattr(bd, "ROWS_PER_PASS", 5)  # 24 passes for 2 customers
    many = bd.build_report_big(path, S).report
    pd.testing.assert_frame_equal(many.customers, one.customers)
    assert many.customers["Orders"].tolist() == [60, 60]


@pytest.mark.parametrize(("kind", "big"), [("UHUGEINT", 2**100), ("HUGEINT", -(2**100))])
def test_128_bit_ids_stay_exact_through_the_copy(tmp_path, monkeypatch, kind, big):
    """Parquet stores DuckDB's 128-bit integers as doubles; ids that differ only past the
    53rd bit must still be two customers, written exactly (signed and unsigned)."""
    db = tmp_path / "ids.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(f"CREATE TABLE sales (customer_id {kind}, date DATE, amount DOUBLE)")
        for k, cid in enumerate((big + 1, big + 2)):
            for d in range(4):
                con.execute(
                    f"INSERT INTO sales VALUES (?::{kind}, DATE '2024-01-01' + ?::INTEGER, ?)",
                    [str(cid), 20 * d + k, 10.0 + d],
                )
    monkeypatch.setattr(bd, "ROWS_PER_PASS", 2)
    report = bd.build_report_big(db, S, table="sales").report
    assert sorted(report.customers["Customer ID"]) == sorted([str(big + 1), str(big + 2)])
    assert report.customers["Orders"].tolist() == [4, 4]


def test_the_profile_counts_every_kind_of_row_by_hand(tmp_path):
    """The clean stage's profile (one grouped scan folded in Python, distinct values in a
    second query) against counts made by hand, one row of each kind."""
    path = tmp_path / "kinds.csv"
    path.write_text(
        "customer_id,date,amount,region,channel\n"
        "a,2024-01-01,-3,N,web\n"  # used: a return before the first purchase
        "a,2024-01-02,0,S,web\n"  # used: zero amount (k7)
        "a,2024-01-05,10,N,shop\n"  # used: the first purchase
        ",2024-01-06,7,Z,x1\n"  # k1: blank id, a readable amount lost
        "b,,5,Z,x2\n"  # k2: blank date
        "b,notadate,-4,Z,x3\n"  # k3: unreadable date, -4 lost
        "b,2024-01-07,,Z,x4\n"  # k4: blank amount (unreadable)
        "b,2024-01-08,abc,Z,x5\n"  # k5: not a number (unreadable)
        "b,2024-01-09,inf,Z,x6\n"  # k5: infinite (unreadable)
        "c,2024-03-01,-8,Z,x7\n"  # k6: after observation_end (not used, not lost)
        ",,,,\n"  # fully blank: ignored
        "c,2024-01-20,20,E,web\n"  # used: a purchase
        "b,2024-01-10,-2,,shop\n"  # used: a return, blank segment
    )
    with bd._engine().connect("256MB", 2) as con:
        plan = bd._plan(con, path, None, "DATE '2024-02-01'", None)
        got = bd._profile(con, plan, [0, 1])
    expected = {
        "rows": 12, "k1": 1, "k2": 1, "k3": 1, "k4": 1, "k5": 2, "k6": 1, "k7": 1,
        "rows_used": 5, "purchase_rows": 2,
        "first_date": pd.Timestamp("2024-01-01").date(),
        "last_date": pd.Timestamp("2024-01-20").date(),
        "first_purchase": pd.Timestamp("2024-01-05").date(),
        "lost_rows": 6, "lost_amount": 7 + 5 + 4, "lost_unreadable": 3,
        "used_amount": 3 + 0 + 10 + 20 + 2, "returned": -3 - 2,
        "n_s0": 4,  # N, S, E and (blank) among the used rows
        "n_s1": 2,  # web and shop
    }  # fmt: skip
    assert got == expected


@pytest.mark.parametrize(
    ("raised", "status", "word"),
    [
        (KeyboardInterrupt(), 130, "interrupted"),
        (duckdb.IOException("No space left on device\nmore"), 2, "No space left on device"),
        (PermissionError("the file is locked"), 2, "the file is locked"),
    ],
)
def test_the_big_path_stops_in_one_line(tmp_path, capsys, monkeypatch, raised, status, word):
    """Ctrl-C and a DuckDB error (a full disk while copying) on the big-data path: one line,
    no traceback, the workbook path's exit statuses, no report."""
    from xlclv.cli import main

    folder = tmp_path / "logs"
    folder.mkdir()
    _ties(50).to_parquet(folder / "a.parquet", index=False)  # a folder: the big-data path

    def stop(*args, **kwargs):
        raise raised

    monkeypatch.setattr(bd, "_passes", stop)
    out = tmp_path / "out.xlsx"
    assert main(["report", str(folder), "-o", str(out)]) == status
    err = capsys.readouterr().err
    assert word in err and "Traceback" not in err
    said = [x for x in err.splitlines() if x.strip() and not x.strip().startswith("✓")]
    assert len(said) == 1  # besides the progress of the stages that finished
    assert not out.exists()


@pytest.mark.parametrize(
    "said", ["No space left on device", "There is not enough space on the disk."]
)  # POSIX, Windows
def test_a_full_disk_while_copying_names_the_folder_and_the_fix(tmp_path, monkeypatch, said):
    """The summarise stage's copy on a full disk: an InputError naming the folder, the space
    needed and TMPDIR, and the partial copy removed (DuckDB's own error is one line with the
    system's words)."""
    from xlclv._errors import InputError
    from xlclv.engines import duckdb_engine

    real_connect = duckdb_engine.connect
    folders = []

    class Full:
        def __init__(self, con):
            self._con = con

        def execute(self, sql, *args):
            if sql.startswith("COPY") and "PARTITION_BY" in sql:
                folders.append(Path(sql.split("TO '")[1].split("'")[0]))
                raise duckdb.IOException(f'Could not write file "x": {said}')
            return self._con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self._con, name)

    @contextlib.contextmanager
    def connect(*args, **kwargs):
        with real_connect(*args, **kwargs) as con:
            yield Full(con)

    real_passes = bd._passes
    removed = []  # at the error: the run's DuckDB folder (the copy's parent) goes later anyway

    def passes(*args):
        try:
            return real_passes(*args)
        except InputError:
            removed.append(not folders[0].exists())
            raise

    monkeypatch.setattr(duckdb_engine, "connect", connect)
    monkeypatch.setattr(bd, "_passes", passes)
    monkeypatch.setattr(bd, "ROWS_PER_PASS", 100)
    path = tmp_path / "t.parquet"
    _ties(100).to_parquet(path, index=False)
    with pytest.raises(InputError, match=r"is full: .* 600 usable rows .* set the TMPDIR") as e:
        bd.build_report_big(path, S)
    assert str(folders[0].parent) in str(e.value) and removed == [True]


def test_the_copy_holds_only_usable_rows(tmp_path, monkeypatch):
    """Rows after observation_end, with an infinite amount or a blank id are not copied for
    the passes: each customer's orders and revenue in many passes against pandas on the
    usable rows (id not blank, a finite amount, a date on or before observation_end)."""
    rng = np.random.default_rng(3)
    n = 3000
    tx = pd.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in rng.integers(0, 300, n)],
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 200, n), "D"),
            "amount": rng.integers(-20, 90, n).astype(float),
        }
    )
    tx.loc[rng.choice(n, 60, replace=False), "amount"] = np.inf
    tx.loc[rng.choice(n, 60, replace=False), "customer_id"] = "  "
    path = tmp_path / "tx.parquet"
    tx.to_parquet(path, index=False)
    end = "2024-05-31"  # about a third of the rows are later
    monkeypatch.setattr(bd, "ROWS_PER_PASS", 400)
    settings = Settings(model="BGNBD", include_zero_amounts=False, observation_end=end)
    got = bd.build_report_big(path, settings).report.customers.set_index("Customer ID")
    used = tx[
        (tx["customer_id"].str.strip() != "")
        & np.isfinite(tx["amount"])
        & (tx["date"] <= pd.Timestamp(end))
    ]
    bought = used[used["amount"] > 0]
    buyers = sorted(set(bought["customer_id"]))
    assert got.index.tolist() == buyers
    orders = bought.groupby("customer_id").size()
    revenue = used[used["customer_id"].isin(buyers)].groupby("customer_id")["amount"].sum()
    assert got["Orders"].tolist() == orders.loc[buyers].tolist()
    np.testing.assert_allclose(got["Revenue"], revenue.loc[buyers], rtol=1e-12)


def test_the_copy_is_removed_before_the_fit_stage(tmp_path, monkeypatch, passes_seen):
    """The copy takes about 9 bytes a row of disk: it is removed once the passes are done,
    not only when the run's DuckDB folder goes at the end."""
    path = tmp_path / "t.parquet"
    _ties(200).to_parquet(path, index=False)
    at_fit = []
    real = bd._compress

    def compress(con):
        at_fit.append(passes_seen[0][1].exists())
        return real(con)

    monkeypatch.setattr(bd, "_compress", compress)
    monkeypatch.setattr(bd, "ROWS_PER_PASS", 300)
    bd.build_report_big(path, S)
    assert passes_seen[0][0] >= 3 and at_fit == [False]


def test_lost_rows_with_a_zero_amount_are_not_zero_amount_rows(tmp_path):
    """k7 (zero amount, kept) counts usable rows only: a zero amount on a row lost to a blank
    id or after observation_end is counted once, under that problem. Counted by hand."""
    path = tmp_path / "zeros.csv"
    path.write_text(
        "customer_id,date,amount\n"
        "a,2024-01-02,0\n"  # used: zero amount (k7)
        "a,2024-01-05,10\n"  # used: a purchase
        ",2024-01-06,0\n"  # k1, zero amount
        "b,2024-03-01,0\n"  # k6, zero amount
        "b,2024-01-07,5\n"  # used: a purchase
    )
    with bd._engine().connect("256MB", 2) as con:
        plan = bd._plan(con, path, None, "DATE '2024-02-01'", None)
        got = bd._profile(con, plan, [])
    assert (got["rows"], got["k1"], got["k6"], got["k7"], got["rows_used"]) == (5, 1, 1, 1, 3)


def test_a_column_named_file_index_does_not_change_the_input_order(tmp_path):
    """DuckDB's virtual column file_index is shadowed by a column of that name in the files:
    the segments' input order (file, then row) must not come from the data. The column runs
    against the file order here; pandas gives the first row in input order."""
    tx = _ties(400)
    tx["file_index"] = np.arange(len(tx))[::-1]  # a log's own column, e.g. an export's
    folder = tmp_path / "parts"
    folder.mkdir()
    half = len(tx) // 2  # a customer's first-day rows fall in both files
    tx.iloc[:half].to_parquet(folder / "a.parquet", index=False)
    tx.iloc[half:].to_parquet(folder / "b.parquet", index=False)
    settings = Settings(model="BGNBD", include_zero_amounts=False, time_unit="D")
    got = _regions(bd.build_report_big(folder, settings, max_customer_rows=10**6).report)
    expected = _first_regions(tx).sort_index()
    pd.testing.assert_series_equal(got, expected, check_names=False)


def test_the_one_thread_of_the_segments_query_is_undone(ties, monkeypatch):
    """A CSV file's segments are read on one thread that keeps the input order; the stages
    after it get the run's threads back (and DuckDB's free row order)."""
    _, folder = ties
    after = []
    real = bd._compress

    def compress(con):
        after.append(
            con.execute(
                "SELECT current_setting('threads'), current_setting('preserve_insertion_order')"
            ).fetchone()
        )
        return real(con)

    monkeypatch.setattr(bd, "_compress", compress)
    bd.build_report_big(folder / "tx.csv", S, threads=2)
    assert after == [(2, False)]


def test_a_temporary_folder_with_glob_characters_in_its_path(tmp_path, monkeypatch):
    """The copy lives under the temporary folder (TMPDIR), whose path may hold characters
    that DuckDB's file patterns read as wildcards ('[1]'): each pass still finds its files.
    Orders per customer against pandas."""
    odd = tmp_path / "tmp[1]"
    odd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(odd))
    tx = _ties(300)
    path = tmp_path / "t.parquet"
    tx.to_parquet(path, index=False)
    monkeypatch.setattr(bd, "ROWS_PER_PASS", 400)
    got = bd.build_report_big(path, S).report.customers.set_index("Customer ID")["Orders"]
    expected = tx[tx["amount"] > 0].groupby("customer_id").size()
    assert got.sort_index().tolist() == expected.sort_index().tolist()
    assert got.index.sort_values().tolist() == expected.index.sort_values().tolist()


@pytest.mark.parametrize("kind", ["DataFrame", "table"])
def test_data_frames_and_tables_keep_the_input_order_too(ties, tmp_path, kind, monkeypatch):
    """Data frames and DuckDB tables are numbered by row_number() like CSV files: the first
    purchase segment is the first row in their order (pandas), over several passes."""
    tx, _ = ties
    tx = tx.iloc[:6000]
    source, table = tx, None
    if kind == "table":
        source, table = tmp_path / "tx.duckdb", "sales"
        with duckdb.connect(str(source)) as con:
            con.register("tx", tx)
            con.execute("SET preserve_insertion_order = true")
            con.execute("CREATE TABLE sales AS SELECT * FROM tx")
    monkeypatch.setattr(bd, "ROWS_PER_PASS", 1500)
    big = bd.build_report_big(source, S, table=table, threads=2, max_customer_rows=10**6)
    pd.testing.assert_series_equal(
        _regions(big.report), _first_regions(tx).sort_index(), check_names=False
    )
