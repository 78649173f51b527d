"""Benchmark: a workbook with 1,000,000 transaction rows through the full ``xlclv report``.

Usage::

    .venv/bin/python benchmarks/bench_report.py [--rows 1000000] [--keep DIR] [--cli]

1. Writes the input workbook once (XlsxWriter ``constant_memory``; not timed): a Transactions
   sheet of ``--rows`` purchases (customer_id, date, amount, region, channel) by about
   ``rows / 8`` customers over two years, simulated with a fixed seed, with some returns.
2. Runs the report end to end and prints the time of each phase (read, then the phases
   ``xlclv.report.pipeline.build_report`` announces, then writing the workbook) and the total.
   The target is at most 30 s. ``--cli`` also times the ``xlclv report`` command itself in a
   fresh process (interpreter start and imports included).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xlsxwriter

TARGET_SECONDS = 30.0


def make_workbook(path: Path, rows: int, seed: int = 2026) -> Path:
    """The benchmark input: one Transactions sheet with ``rows`` purchases."""
    rng = np.random.default_rng(seed)
    n_customers = max(rows // 8, 1)
    # heavy-tailed purchase counts: a few customers buy a lot, most buy once or twice
    weights = rng.gamma(0.6, 1.0, n_customers)
    cust = rng.choice(n_customers, size=rows, p=weights / weights.sum())
    first = rng.integers(0, 730, n_customers)
    day = first[cust] + rng.integers(0, 365, rows)
    day = np.minimum(day, 729)
    excel_day = 45292 + day  # 2024-01-01 is serial 45292
    amount = np.round(rng.gamma(2.0, 25.0, rows), 2)
    returns = rng.random(rows) < 0.02
    amount[returns] = -np.round(amount[returns] * 0.5, 2)
    regions = np.array(["North", "South", "East", "West"])
    channels = np.array(["Search", "Social", "Referral", "Email"])
    region = regions[rng.integers(0, 4, n_customers)][cust]
    channel = channels[rng.integers(0, 4, n_customers)][cust]
    order = np.argsort(day, kind="stable")

    wb = xlsxwriter.Workbook(
        str(path), {"constant_memory": True, "strings_to_formulas": False, "use_zip64": True}
    )
    ws = wb.add_worksheet("Transactions")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for c, h in enumerate(["customer_id", "date", "amount", "region", "channel"]):
        ws.write_string(0, c, h)
    ids = [f"C{k:07d}" for k in range(n_customers)]
    ws_s, ws_n = ws.write_string, ws.write_number
    for r, i in enumerate(order.tolist(), start=1):
        ws_s(r, 0, ids[cust[i]])
        ws_n(r, 1, float(excel_day[i]), date_fmt)
        ws_n(r, 2, float(amount[i]))
        ws_s(r, 3, str(region[i]))
        ws_s(r, 4, str(channel[i]))
    wb.close()
    return path


def run(path: Path, out: Path) -> dict[str, float]:
    from xlclv.report.cli import PhaseTimer, read_inputs, run_report

    timer = PhaseTimer()
    start = time.perf_counter()
    timer("read")
    inputs = read_inputs(path)
    report, _ = run_report(inputs, out, force=True, progress=timer, input_path=path)
    times = timer.done()
    times["TOTAL"] = time.perf_counter() - start
    print(f"customers: {report.summary['customers']:,}   issues: {report.summary['issues']:,}")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="folder to keep (and reuse) the input in")
    parser.add_argument("--cli", action="store_true", help="also time `xlclv report` itself")
    args = parser.parse_args(argv)

    folder = args.keep or Path(tempfile.mkdtemp(prefix="xlclv-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"transactions-{args.rows}.xlsx"
    if not src.exists():
        t = time.perf_counter()
        make_workbook(src, args.rows)
        print(f"wrote {src} ({src.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
    times = run(src, folder / "report.xlsx")
    print(f"\n{'phase':<32}{'seconds':>9}")
    for phase, sec in times.items():
        print(f"{phase:<32}{sec:>9.2f}")
    ok = times["TOTAL"] <= TARGET_SECONDS
    print(f"\ntarget <= {TARGET_SECONDS:.0f} s: {'met' if ok else 'MISSED'}")
    if args.cli:
        exe = Path(sys.executable).with_name("xlclv")
        t = time.perf_counter()
        subprocess.run(
            [str(exe), "report", str(src), "-o", str(folder / "report-cli.xlsx"), "--force"],
            check=True,
        )
        print(f"xlclv report (fresh process): {time.perf_counter() - t:.2f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
