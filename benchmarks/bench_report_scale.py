"""Benchmark: the full ``xlclv report`` of a big Parquet log, plus every customer's scores file.

Usage::

    .venv/bin/python benchmarks/bench_report_scale.py [--rows 10000000] [--customers 1000000]
        [--pandas-rows 10000000] [--keep DIR] [--memory-limit 2GB]

1. Writes the input once (not timed): one Parquet file of ``--rows`` transactions
   (customer_id BIGINT, date DATE, amount DOUBLE, region VARCHAR) by ``--customers``
   customers over two years, with a fixed seed: each customer's first purchase is uniform
   over the two years, repeat purchases follow it, ~4 % of rows are returns (negative) and a
   few rows are bad (a blank amount), so every stage has work.
2. Runs ``xlclv report big.parquet -o report.xlsx --scores scores.parquet`` (the big-data
   path, :mod:`xlclv.report.bigdata`) in a fresh process and prints its wall time and peak
   RSS. Peak RSS is measured around a subprocess: a meter process starts the job and reads
   ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` when it ends.
3. For comparison, in the same run, the in-memory pandas path (``read_table_file`` +
   ``build_report`` + the writer) on ``--pandas-rows`` rows (the size it can handle; default
   the same file if it has at most 10M rows), and the big-data path on that same file, and
   prints the ratios.

Targets (issue 13): 100M transactions / 10M customers in at most 90 s with a peak RSS of at most
3 GB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_SECONDS = 90.0
TARGET_RSS_GB = 3.0
_HERE = Path(__file__).resolve()


def make_parquet(path: Path, rows: int, customers: int, seed: int = 2026) -> Path:
    """The benchmark input, written in row groups of 5M rows (bounded memory).

    Each customer's first purchase day is uniform over two years; the other rows go to
    customers drawn with gamma(0.5) weights (a few buy a lot, most once or twice) on a day
    uniform between the first purchase and the end of an exponential active span (mean 180
    days), so customers churn as the models assume. ~4 % of rows are returns, a few have a
    blank amount.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    first = rng.integers(0, 730, customers)
    span = np.minimum(rng.exponential(180.0, customers), 729 - first)
    weights = rng.gamma(0.5, 1.0, customers)
    cdf = np.cumsum(weights / weights.sum())
    regions = np.array(["North", "South", "East", "West"])
    region_of = rng.integers(0, 4, customers)
    start = np.datetime64("2024-01-01", "D")
    schema = pa.schema(
        [
            ("customer_id", pa.int64()),
            ("date", pa.date32()),
            ("amount", pa.float64()),
            ("region", pa.string()),
        ]
    )
    step = 5_000_000
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        done = 0
        while done < rows:
            k = min(step, rows - done)
            idx = np.arange(done, done + k)
            firsts = idx < customers  # one first purchase per customer, then repeats
            cust = np.where(
                firsts,
                idx % max(customers, 1),
                np.minimum(np.searchsorted(cdf, rng.random(k)), customers - 1),
            )
            offset = np.where(firsts, 0.0, rng.random(k) * span[cust])
            day = first[cust] + offset.astype(np.int64)
            amount = np.round(rng.gamma(2.0, 25.0, k), 2) + 1.0
            returns = ~firsts & (rng.random(k) < 0.04)
            amount[returns] = -np.round(amount[returns] * rng.uniform(0.2, 1.0, returns.sum()), 2)
            mask = rng.random(k) < 1e-5  # a few blank amounts: Data issues
            table = pa.table(
                {
                    "customer_id": pa.array(cust, pa.int64()),
                    "date": pa.array((start + day).astype("datetime64[D]"), pa.date32()),
                    "amount": pa.array(amount, pa.float64(), mask=mask),
                    "region": pa.array(regions[region_of[cust]], pa.string()),
                },
                schema=schema,
            )
            writer.write_table(table)
            done += k
    return path


# -- the jobs, each run in its own process --------------------------------------------------


def _settings():
    """BG/NBD on both paths: the same work (model = AUTO chooses by the holdout in memory but
    by AIC on the big-data path), as in the figures of benchmarks/README.md."""
    from xlclv.report import Settings

    return Settings(model="BGNBD")


#: Statements of the clean and summarise stages that the bare RFM query has no counterpart
#: for, by the start of their SQL: the profile of the rows (problem counts, each segment
#: candidate's distinct values) and the segment values of the first purchase.
EXTRA_STATEMENTS = {
    "profile": "SELECT which, xl_p, sg, fin",
    "segment values": "CREATE TEMP TABLE xl_segs",
}


def _timed_statements(times: dict[str, float]):
    """DuckDB connections whose statements of :data:`EXTRA_STATEMENTS` add their time to
    ``times`` (a wrapper around ``duckdb_engine.connect``; measurement only)."""
    import contextlib

    from xlclv.engines import duckdb_engine

    real = duckdb_engine.connect

    class Timed:
        def __init__(self, con):
            self._con = con

        def execute(self, sql, *args):
            start = time.perf_counter()
            try:
                return self._con.execute(sql, *args)
            finally:
                for name, head in EXTRA_STATEMENTS.items():
                    if str(sql).lstrip().startswith(head):
                        times[name] = times.get(name, 0.0) + time.perf_counter() - start

        def __getattr__(self, name):
            return getattr(self._con, name)

    @contextlib.contextmanager
    def connect(*args, **kwargs):
        with real(*args, **kwargs) as con:
            yield Timed(con)

    return connect


def job_big(source: str, out: str, scores: str, memory_limit: str) -> dict:
    from xlclv.engines import duckdb_engine
    from xlclv.report.bigdata import build_report_big
    from xlclv.report.cli import PhaseTimer
    from xlclv.report.writer import write_report

    extras: dict[str, float] = {}
    duckdb_engine.connect = _timed_statements(extras)
    start = time.perf_counter()
    timer = PhaseTimer()
    big = build_report_big(
        source, _settings(), scores=scores, memory_limit=memory_limit, progress=timer
    )
    timer("write")
    write_report(big.report, out, force=True)
    times = timer.done()
    return {
        "seconds": time.perf_counter() - start,
        "phases": times,
        "extras": extras,
        "customers": big.customers_total,
        "truncated": big.truncated,
    }


def job_pandas(source: str, out: str) -> dict:
    from xlclv.report import build_report
    from xlclv.report.cli import PhaseTimer
    from xlclv.report.inputs import read_table_file
    from xlclv.report.writer import write_report

    start = time.perf_counter()
    timer = PhaseTimer()
    timer("read")
    inputs = read_table_file(source)
    report = build_report(inputs, _settings(), progress=timer)
    timer("write")
    write_report(report, out, force=True)
    times = timer.done()
    return {
        "seconds": time.perf_counter() - start,
        "phases": times,
        "customers": len(report.customers),
    }


def job_duckdb_sql(source: str, memory_limit: str) -> dict:
    """DuckDB's bare RFM aggregation (the engine's one query, no cleaning), for the ratio."""
    from xlclv.engines import duckdb_engine
    from xlclv.engines.sql import rfm_query

    start = time.perf_counter()
    with duckdb_engine.connect(memory_limit, None) as con:
        con.execute(f"CREATE VIEW tx AS SELECT * FROM read_parquet('{source}')")
        con.execute("CREATE TABLE rfm AS " + rfm_query("tx"))
        n = con.execute("SELECT COUNT(*) FROM rfm").fetchone()[0]
    return {"seconds": time.perf_counter() - start, "customers": n}


def measured(args: list[str]) -> dict:
    """Run ``bench_report_scale.py --job ...`` under a meter process; its result + peak RSS."""
    meter = (
        "import resource, subprocess, sys, json\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps({'rc': p.returncode, 'out': p.stdout, 'err': p.stderr[-2000:],"
        " 'peak_kb': peak}))\n"
    )
    cmd = [sys.executable, "-c", meter, sys.executable, str(_HERE), "--job", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    info = json.loads(done.stdout)
    if info["rc"] != 0:
        raise SystemExit(f"job {args[0]} failed:\n{info['err']}")
    result = json.loads(info["out"].strip().splitlines()[-1])
    result["peak_rss_gb"] = info["peak_kb"] / 1e6  # Linux: KB
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--pandas-rows", type=int, default=None)
    p.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the inputs here")
    p.add_argument("--memory-limit", default="2GB")
    p.add_argument("--no-pandas", action="store_true", help="skip the in-memory comparison")
    p.add_argument("--job", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.job:
        kind, *rest = args.job
        if kind == "big":
            result = job_big(*rest)
        elif kind == "pandas":
            result = job_pandas(*rest)
        else:
            result = job_duckdb_sql(*rest)
        print(json.dumps(result, default=str))
        return 0

    folder = args.keep or Path(tempfile.mkdtemp(prefix="xlclv-bench-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs; inputs in {folder}")
    big = folder / f"tx-{args.rows}-{args.customers}.parquet"
    if not big.exists():
        t = time.perf_counter()
        make_parquet(big, args.rows, args.customers)
        print(
            f"wrote {big.name} ({big.stat().st_size / 1e6:,.0f} MB) in {time.perf_counter() - t:.0f} s"
        )
    pandas_rows = args.pandas_rows or min(args.rows, 10_000_000)
    small = big
    if pandas_rows != args.rows:
        small = folder / f"tx-{pandas_rows}-{pandas_rows // 10}.parquet"
        if not small.exists():
            make_parquet(small, pandas_rows, max(pandas_rows // 10, 1))

    out = folder / "report.xlsx"
    scores = folder / "scores.parquet"
    r = measured(["big", str(big), str(out), str(scores), args.memory_limit])
    print(
        f"\nbig-data path, {args.rows:,} rows / {r['customers']:,} customers: "
        f"{r['seconds']:.1f} s, peak RSS {r['peak_rss_gb']:.2f} GB "
        f"(targets at 100M/10M: {TARGET_SECONDS:.0f} s, {TARGET_RSS_GB:.0f} GB)"
    )
    print("  phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in r["phases"].items()))
    print(
        f"  scores file {scores.stat().st_size / 1e6:,.0f} MB; Customers sheet truncated: {r['truncated']}"
    )
    sql = measured(["sql", str(big), args.memory_limit])
    summarise = r["phases"].get("clean", 0) + r["phases"].get("summarise", 0)
    bare = sql["seconds"]
    print(
        f"  clean + summarise {summarise:.1f} s vs DuckDB's bare RFM query "
        f"(rfm_query, no cleaning) {bare:.1f} s: ratio {summarise / bare:.2f}"
    )
    extra = sum(r["extras"].values())
    print(
        "  of which with no counterpart in the bare query: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in r["extras"].items())
        + f"; the rest {summarise - extra:.1f} s: ratio {(summarise - extra) / bare:.2f}"
    )

    if args.no_pandas:
        return 0
    if small != big:
        r_small = measured(["big", str(small), str(out), str(scores), args.memory_limit])
    else:
        r_small = r
    pd_r = measured(["pandas", str(small), str(folder / "report-pandas.xlsx")])
    print(
        f"\nat {pandas_rows:,} rows: pandas path {pd_r['seconds']:.1f} s, peak RSS "
        f"{pd_r['peak_rss_gb']:.2f} GB; big-data path {r_small['seconds']:.1f} s, peak RSS "
        f"{r_small['peak_rss_gb']:.2f} GB; ratio time {pd_r['seconds'] / r_small['seconds']:.1f}x, "
        f"memory {pd_r['peak_rss_gb'] / r_small['peak_rss_gb']:.1f}x"
    )
    print("  pandas phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in pd_r["phases"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
