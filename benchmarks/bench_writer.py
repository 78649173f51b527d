"""Benchmark: the Customers table through each write path, to decide whether the bulk path
(:mod:`xlclv.report.writer.bulk`) is needed (issue 10: "one write path, if it can be").

Usage::

    .venv/bin/python benchmarks/bench_writer.py [--rows 125000]

The default, 125,000 customers, is the customer table of the 1,000,000-transaction target
(``bench_report.py``); ``--rows 1000000`` times a million-row table. Each path runs in a fresh
process (so peak memory is its own) on the same table (13 columns like the report's: text,
dates, counts, money, shares):

- ``bulk``: the report's path: XlsxWriter for the sheet, the rows spliced in as XML;
- ``constant_memory``: XlsxWriter's ``constant_memory`` mode, row by row with typed writes
  (it cannot make an Excel Table: ``add_table`` is refused in that mode, and the report's
  tables ``tblCustomers``... are a documented contract);
- ``xlsxwriter``: XlsxWriter's ordinary per-cell API (the path below the bulk threshold).

It prints seconds and peak memory of each, and the ratios to the bulk path measured in the
same run.
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
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mb

MODES = ("bulk", "constant_memory", "xlsxwriter")


def customers(rows: int, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = rows
    return pd.DataFrame(
        {
            "Customer ID": [f"C{i:07d}" for i in range(n)],
            "region": rng.choice(["North", "South", "East", "West"], n).astype(object),
            "First purchase": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
            "Orders": rng.integers(1, 30, n).astype(np.int64),
            "Revenue": np.round(rng.gamma(2, 50, n), 2),
            "Historical CLV": np.round(rng.gamma(2, 15, n), 2),
            "P(alive)": rng.uniform(0, 1, n),
            "Expected purchases": rng.gamma(1, 1, n),
            "Expected spend": rng.gamma(3, 20, n),
            "Predicted CLV": rng.gamma(2, 30, n),
            "Tier": rng.choice(["Top 10%", "Next 20%", "Rest"], n).astype(object),
            "Frequency": rng.integers(0, 29, n).astype(float),
            "Recency (W)": rng.uniform(0, 100, n),
        }
    )


def run_mode(mode: str, rows: int, out: Path) -> dict:
    from xlclv.report.writer import close_workbook, new_workbook
    from xlclv.report.writer.cells import Formats
    from xlclv.report.writer.tables import write_table

    df = customers(rows)
    start = time.perf_counter()
    if mode in ("bulk", "xlsxwriter"):
        wb = new_workbook(out, use_zip64=True)
        ws = wb.add_worksheet("Customers")
        fmts = Formats(wb, "USD")
        write_table(ws, 0, 0, df, "tblCustomers", fmts, allow_bulk=(mode == "bulk"))
        close_workbook(wb)
    else:
        wb = new_workbook(out, use_zip64=True, constant_memory=True)
        ws = wb.add_worksheet("Customers")
        fmts = Formats(wb, "USD")
        for j, h in enumerate(df.columns):
            ws.write_string(0, j, h)
        cols = [df[c] for c in df.columns]
        kinds = []
        for s in cols:
            if pd.api.types.is_datetime64_any_dtype(s.dtype):
                days = (s - pd.Timestamp("1899-12-30")).dt.days.astype(float).tolist()
                kinds.append(("n", days, fmts.date))
            elif pd.api.types.is_numeric_dtype(s.dtype):
                kinds.append(("n", s.astype(float).tolist(), fmts.for_column(s.name, s)))
            else:
                kinds.append(("s", s.tolist(), None))
        wn, wstr = ws.write_number, ws.write_string
        for i in range(len(df)):
            r = i + 1
            for j, (kind, values, fmt) in enumerate(kinds):
                if kind == "n":
                    wn(r, j, values[i], fmt)
                else:
                    wstr(r, j, values[i])
        wb.close()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": peak_rss_mb(), "bytes": out.stat().st_size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=125_000)
    ap.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mode:  # one measurement, in its own process
        print(json.dumps(run_mode(args.mode, args.rows, Path(args.out))))
        return
    print(machine())
    print(f"Customers table: {args.rows:,} rows x 13 columns")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in MODES:
            out = Path(tmp) / f"{mode}.xlsx"
            cmd = [sys.executable, __file__, "--rows", str(args.rows), "--mode", mode]
            done = subprocess.run(
                [*cmd, "--out", str(out)], capture_output=True, text=True, check=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            )  # fmt: skip
            results[mode] = json.loads(done.stdout.strip().splitlines()[-1])
            r = results[mode]
            print(
                f"  {mode:16s} {r['seconds']:7.2f} s  peak {r['peak_mb']:7.0f} MB  "
                f"{r['bytes'] / 1e6:6.1f} MB file"
            )
    base = results["bulk"]
    for mode in MODES[1:]:
        r = results[mode]
        print(
            f"  {mode} / bulk: time x{r['seconds'] / base['seconds']:.2f}, "
            f"peak memory x{r['peak_mb'] / base['peak_mb']:.2f}"
        )


if __name__ == "__main__":
    main()
