"""Scale benchmark: the RFM summary of a Parquet file by DuckDB, pandas and lifetimes.

Issue 13 asks, measured in one run on the same synthetic Parquet file:

- bare DuckDB SQL (the RFM query of ``xlclv.engines.rfm_query`` run straight on
  ``read_parquet`` and fetched as a DataFrame, no cleaning) vs ``rfm_summary_duckdb`` (the
  same query plus the cleaning/profile pass and the result frame): target at most 1.3x;
- pandas: ``pd.read_parquet`` + ``xlclv.rfm_summary``;
- ``compressed_rfm`` (the distinct rows the models need);
- lifetimes' ``summary_data_from_transaction_data`` (on the first ``--lifetimes-rows`` rows);
- the peak resident memory of each: every variant runs in its own subprocess and reports its
  ``getrusage`` peak, so one variant's memory never counts against another.

The file: ``--transactions`` rows by ``--customers`` customers (integer ids) over two years,
purchase datetimes with a time of day (same-day purchases must collapse), amounts from a gamma
distribution rounded to cents, 3 % returns (negative amounts). Written in row groups of
1,000,000 rows, so generating 100M rows needs little memory.

    python benchmarks/bench_scale.py                       # 10M rows, 1M customers
    python benchmarks/bench_scale.py --transactions 2000000 --customers 200000   # quick
    python benchmarks/bench_scale.py --big                 # 100M rows, 10M customers

All results are checked against the pandas path (frequency, recency, T exactly;
monetary_value to 1e-12 relative).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_seconds, machine

START = np.datetime64("2023-01-01T00:00:00", "s")
DAYS = 730
END = "2024-12-30"  # START + DAYS - 1 days
CHUNK = 1_000_000


def write_parquet(path: Path, n: int, customers: int, seed: int) -> None:
    """n synthetic transactions by about ``customers`` customers, in row groups of CHUNK."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    acquired = rng.integers(0, DAYS * 3 // 4, customers)  # first 18 months
    schema = pa.schema(
        [("customer_id", pa.int64()), ("date", pa.timestamp("us")), ("amount", pa.float64())]
    )
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            customer = rng.integers(0, customers, m)
            day = acquired[customer] + (rng.random(m) * (DAYS - acquired[customer])).astype(
                np.int64
            )
            seconds = day * 86_400 + rng.integers(0, 86_400, m)
            amount = np.round(rng.gamma(2.0, 25.0, m), 2) + 0.01
            amount[rng.random(m) < 0.03] *= -1
            table = pa.table(
                {
                    "customer_id": customer,
                    "date": (START + seconds.astype("timedelta64[s]")).astype("datetime64[us]"),
                    "amount": amount,
                },
                schema=schema,
            )
            writer.write_table(table)


# -- variants (each runs in a child process) ---------------------------------------------------
def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak / 1e3


def variant_duckdb_bare(path: str, args: argparse.Namespace):
    import duckdb

    from xlclv.engines.sql import rfm_query

    start = time.perf_counter()  # connecting counts, as it does in rfm_summary_duckdb
    spill = tempfile.mkdtemp(prefix="bench-duckdb-")
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    con.execute(f"SET memory_limit = '{args.memory_limit}'")
    con.execute(f"SET temp_directory = '{spill}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"CREATE VIEW tx AS SELECT * FROM read_parquet('{path}')")
    query = rfm_query("tx", time_unit="D", observation_end=END, order_by=False)
    frame = con.sql(query).df()
    frame = frame.set_index("customer_id")
    seconds = time.perf_counter() - start
    con.close()
    shutil.rmtree(spill, ignore_errors=True)
    return seconds, frame


def _import_engine() -> None:
    """Import duckdb and the engine before the clock starts, as the bare variant does."""
    import duckdb  # noqa: F401

    import xlclv.engines.duckdb_engine
    import xlclv.transactions  # noqa: F401


def variant_duckdb_engine(path: str, args: argparse.Namespace):
    from xlclv.engines import rfm_summary_duckdb

    _import_engine()
    start = time.perf_counter()
    frame = rfm_summary_duckdb(
        path,
        time_unit="D",
        observation_end=END,
        memory_limit=args.memory_limit,
        threads=args.threads or None,
    )
    return time.perf_counter() - start, frame


def variant_compressed(path: str, args: argparse.Namespace):
    from xlclv.engines import compressed_rfm

    _import_engine()
    start = time.perf_counter()
    c = compressed_rfm(
        path,
        time_unit="D",
        observation_end=END,
        memory_limit=args.memory_limit,
        threads=args.threads or None,
    )
    return time.perf_counter() - start, None, {"distinct_rows": len(c.rows)}


def variant_pandas(path: str, args: argparse.Namespace):
    import pandas as pd

    from xlclv.transactions import rfm_summary

    start = time.perf_counter()
    tx = pd.read_parquet(path)
    frame = rfm_summary(tx, time_unit="D", observation_end=END)
    return time.perf_counter() - start, frame


def variant_lifetimes(path: str, args: argparse.Namespace):
    import pandas as pd
    import pyarrow.parquet as pq
    from lifetimes.utils import summary_data_from_transaction_data

    rows = args.lifetimes_rows
    table = pq.ParquetFile(path).iter_batches(batch_size=rows)
    tx = next(table).to_pandas()
    # Like rfm_summary, returns are not purchases: lifetimes needs them removed first.
    tx = tx[tx["amount"] > 0]
    start = time.perf_counter()
    frame = summary_data_from_transaction_data(
        tx,
        "customer_id",
        "date",
        monetary_value_col="amount",
        observation_period_end=pd.Timestamp(END),
        freq="D",
    )
    return time.perf_counter() - start, frame


VARIANTS = {
    "duckdb_bare": variant_duckdb_bare,
    "duckdb_engine": variant_duckdb_engine,
    "compressed": variant_compressed,
    "pandas": variant_pandas,
    "lifetimes": variant_lifetimes,
}


def child(args: argparse.Namespace) -> None:
    out = VARIANTS[args.variant](args.path, args)
    seconds, frame = out[0], out[1]
    extra = out[2] if len(out) > 2 else {}
    if frame is not None and args.result:
        frame.sort_index().to_parquet(args.result)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": _peak_mb(),
                "customers": None if frame is None else len(frame),
                **extra,
            }
        )
    )


def run_child(variant: str, path: Path, args: argparse.Namespace, result: Path | None) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--path",
        str(path),
        "--memory-limit",
        args.memory_limit,
        "--lifetimes-rows",
        str(args.lifetimes_rows),
        "--threads",
        str(args.threads),
    ]
    if result is not None:
        cmd += ["--result", str(result)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(a_path: Path, b_path: Path, what: str) -> str:
    import pandas as pd

    a, b = pd.read_parquet(a_path), pd.read_parquet(b_path)
    if not np.array_equal(a.index.to_numpy(), b.index.to_numpy()):
        raise AssertionError(f"{what}: different customers")
    for col in ("frequency", "recency", "T"):
        if not np.array_equal(a[col].to_numpy(), b[col].to_numpy()):
            raise AssertionError(f"{what}: {col} differs")
    x, y = a["monetary_value"].to_numpy(), b["monetary_value"].to_numpy()
    rel = float(np.max(np.abs(x - y) / np.maximum(np.abs(y), 1e-300), initial=0.0))
    if rel > 1e-12:
        raise AssertionError(f"{what}: monetary_value differs by {rel:.1e} relative")
    return f"{what}: identical ({len(a):,} customers; monetary_value within {rel:.1e} relative)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--big", action="store_true", help="100M transactions, 10M customers")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB memory limit")
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: all CPUs)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each DuckDB variant")
    parser.add_argument(
        "--lifetimes-rows", type=int, default=10_000_000, help="rows given to lifetimes"
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=sorted(VARIANTS))
    parser.add_argument("--data", type=Path, help="reuse or keep the Parquet file here")
    parser.add_argument("--child", dest="variant", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:
        child(args)
        return
    if args.big:
        args.transactions, args.customers = 100_000_000, 10_000_000

    print(f"Scale benchmark ({machine()}, DuckDB memory_limit {args.memory_limit})")
    work = Path(tempfile.mkdtemp(prefix="xlclv-bench-scale-"))
    path = args.data or work / "tx.parquet"
    if not path.exists():
        start = time.perf_counter()
        write_parquet(path, args.transactions, args.customers, args.seed)
        print(f"wrote {path} in {fmt_seconds(time.perf_counter() - start)}")
    print(
        f"data: {args.transactions:,} transactions, {args.customers:,} customers drawn, "
        f"{path.stat().st_size / 1e6:,.0f} MB Parquet; observation_end {END}"
    )
    # The DuckDB variants alternate (bare, engine, compressed, bare, ...), so a burst of load
    # from elsewhere on the machine hits them alike; pandas and lifetimes run once.
    duck = [v for v in ("duckdb_bare", "duckdb_engine", "compressed") if v not in args.skip]
    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS if v not in args.skip}
    for _ in range(args.repeat):
        for variant in duck:
            runs[variant].append(run_child(variant, path, args, work / f"{variant}.parquet"))
    for variant in ("pandas", "lifetimes"):
        if variant in runs:
            runs[variant].append(run_child(variant, path, args, work / f"{variant}.parquet"))
    results: dict[str, dict] = {}
    for variant, done in runs.items():
        seconds = statistics.median(r["seconds"] for r in done)
        results[variant] = {**done[-1], "seconds": seconds, "all": [r["seconds"] for r in done]}
        extra = ""
        if variant == "lifetimes":
            extra = f" on the first {min(args.lifetimes_rows, args.transactions):,} rows"
        if "distinct_rows" in done[-1]:
            extra = f" -> {done[-1]['distinct_rows']:,} distinct (frequency, recency, T) rows"
        print(
            f"{variant:>14}: {fmt_seconds(seconds)} (median of {len(done)}: "
            f"{', '.join(f'{t:.2f}' for t in results[variant]['all'])}), peak RSS "
            f"{max(r['peak_mb'] for r in done):,.0f} MB{extra}",
            flush=True,
        )
    if "pandas" in results:
        for variant in ("duckdb_engine", "duckdb_bare"):
            if variant in results:
                print(compare(work / f"{variant}.parquet", work / "pandas.parquet", variant))
    if {"duckdb_bare", "duckdb_engine"} <= results.keys():
        ratio = results["duckdb_engine"]["seconds"] / results["duckdb_bare"]["seconds"]
        best = min(results["duckdb_engine"]["all"]) / min(results["duckdb_bare"]["all"])
        print(
            f"rfm_summary_duckdb / bare DuckDB SQL: {ratio:.2f}x of the medians, {best:.2f}x of "
            f"the fastest runs (target <= 1.3x): {'MET' if ratio <= 1.3 else 'NOT MET'}"
        )
    if {"pandas", "duckdb_engine"} <= results.keys():
        p, d = results["pandas"], results["duckdb_engine"]
        print(
            f"pandas read+rfm_summary / rfm_summary_duckdb: time {p['seconds'] / d['seconds']:.2f}x,"
            f" peak memory {p['peak_mb'] / d['peak_mb']:.1f}x"
        )
    whole = args.lifetimes_rows >= args.transactions
    if {"lifetimes", "pandas"} <= results.keys() and whole:
        print(compare(work / "lifetimes.parquet", work / "pandas.parquet", "lifetimes"))
    if {"lifetimes", "duckdb_engine"} <= results.keys() and whole:
        ratio = results["lifetimes"]["seconds"] / results["duckdb_engine"]["seconds"]
        print(f"lifetimes / rfm_summary_duckdb: {ratio:.1f}x")
    # The results (and the data, unless --data put it elsewhere) go; --data's file stays.
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
