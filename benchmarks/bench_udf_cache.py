"""Speed of the Excel functions in real use: whole-column references, the fit cache, cold start.

Issue 11 targets, all measured in this run:

- ``CLV_MODEL(A:A, B:B, C:C)`` over a sheet with 10,000 transactions (BG/NBD + Gamma-Gamma),
  called through xlwings' own dispatch (``xlwings.udfs.call_udf`` under the pywin32 stand-ins
  of ``tests/excel_harness.py``; the ranges arrive as range objects of 1,048,576 rows, as Excel
  passes ``A:A``): at most 0.5 s of Python time on a first call (empty cache, modules loaded);
- the same call again (a recalculation with unchanged data): at most 20 ms;
- a changed margin / horizon / discount rate: no refit (printed);
- the cold import of the button path (``import xlclv; xlclv.main`` and what ``run`` imports:
  xlwings, the report pipeline, the writer) in a fresh process: at most 1 s.

With ``--full-column-values`` it also times the same call when Excel hands over all
1,048,576 rows as values (what reading a whole column costs without the used-range stage).

    .venv/bin/python benchmarks/bench_udf_cache.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

N_TX = 10_000
#: What runs before the button's first status message ("xlclv: reading the workbook...").
BUTTON_START = "import xlclv; xlclv.main; import xlwings"
#: Everything the button imports to build and write the report.
BUTTON_IMPORTS = (
    BUTTON_START + "; from xlclv.report import Settings, build_report; import xlclv.report.writer"
)


def transactions(n_tx: int = N_TX, seed: int = 2026) -> list[list]:
    """Rows (id, date, amount) of BG/NBD customers with CDNOW parameters, cut at n_tx."""
    from xlclv.simulate import bgnbd_purchase_times

    rng = np.random.default_rng(seed)
    n = n_tx // 2
    T = rng.uniform(26, 78, size=n)
    times = bgnbd_purchase_times(n, 0.2426, 4.4136, 0.7929, 2.4259, T, rng)
    start = dt.datetime(2024, 1, 1)
    rows: list[list] = []
    for cid, (t_end, repeat) in enumerate(zip(T, times, strict=True), start=1001):
        first = start + dt.timedelta(weeks=float(78 - t_end))
        for w in [0.0, *np.asarray(repeat, dtype=float).tolist()]:
            day = (first + dt.timedelta(weeks=w)).replace(hour=0, minute=0, second=0, microsecond=0)
            rows.append([float(cid), day, round(float(rng.gamma(6.0, 6.0)), 2)])
        if len(rows) >= n_tx:
            break
    return rows[:n_tx]


def _converted(rng):
    """A range argument as xlwings hands it to the function (ndim=2, err_to_str)."""
    from xlwings import conversion
    from xlwings.main import Range

    from xlclv.excel.conversion import ARRAY

    return conversion.read(Range(impl=rng), None, ARRAY)


def median_time(fn, repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def cold_import(repeat: int = 3) -> tuple[float, float, float]:
    """Median wall times of fresh processes: the button's start, all its imports, and
    ``python -c pass``."""

    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
        return time.perf_counter() - start

    base = statistics.median(run("pass") for _ in range(repeat))
    start = statistics.median(run(BUTTON_START) for _ in range(repeat))
    full = statistics.median(run(BUTTON_IMPORTS) for _ in range(repeat))
    return start, full, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--full-column-values", action="store_true")
    args = parser.parse_args()

    from tests import excel_harness as xl
    from xlclv.excel import cache

    print(machine())
    rows = transactions()
    sheet = xl.ComSheet([["customer_id", "date", "amount"], *rows])
    # A2:A1048576, B2:B1048576, C2:C1048576: whole columns below the header
    a, b, c = (sheet.column(k, first_row=2) for k in (1, 2, 3))
    customers = len({r[0] for r in rows})
    print(f"{len(rows):,} transactions of {customers:,} customers in A2:C{len(rows) + 1}")

    # load every module once (a different data set), so "first call" is the fit, not imports
    warm = xl.ComSheet([["id", "date", "amount"], *rows[:2000]])
    xl.dispatch("CLV_MODEL", *(warm.column(k, first_row=2) for k in (1, 2, 3)))

    def first_call():
        cache.clear()
        out = xl.dispatch("CLV_MODEL", a, b, c, 0.3, 12.0, 0.1)
        assert isinstance(out, list) and len(out) == customers + 1, out
        return out

    first, first_all = median_time(first_call, args.repeat)
    reads = sheet.reads[-3:]
    hit, _ = median_time(lambda: xl.dispatch("CLV_MODEL", a, b, c, 0.3, 12.0, 0.1), 20)
    fits_before = cache.fits.misses
    other, _ = median_time(lambda: xl.dispatch("CLV_MODEL", a, b, c, 0.5, 36.0, 0.05), 5)
    refits = cache.fits.misses - fits_before

    # xlclv's own part of a cache hit: the function on the values xlwings converted
    from xlclv import udfs

    converted = [_converted(r) for r in (a, b, c)]
    own_hit, _ = median_time(lambda: udfs.CLV_MODEL(*converted, 0.3, 12.0, 0.1), 20)

    print(f"ranges read: {reads} (of {sheet.MAX_ROWS - 1:,} rows referenced)")
    print(
        f"CLV_MODEL first call (empty cache): median {first:.3f} s of {args.repeat} "
        f"({', '.join(f'{t:.3f}' for t in first_all)}); target 0.5 s -> {first / 0.5:.2f} of target"
    )
    print(
        f"CLV_MODEL cache hit, xlclv's function: median {own_hit * 1e3:.1f} ms of 20; "
        f"target 20 ms -> {own_hit / 0.02:.2f} of target"
    )
    print(
        f"CLV_MODEL cache hit, whole dispatch (xlwings reads 30,000 cells and writes "
        f"{customers + 1:,} x 9 in Python): median {hit * 1e3:.1f} ms"
    )
    print(f"other margin/horizon/discount: median {other * 1e3:.1f} ms, refits: {refits}")
    print(f"first call / cache hit (xlclv's function): {first / own_hit:.0f}x")

    if args.full_column_values:
        values = [
            tuple((r[k],) for r in rows) + ((None,),) * (sheet.MAX_ROWS - len(rows) - 1)
            for k in range(3)
        ]
        cache.clear()
        full, _ = median_time(lambda: xl.dispatch("CLV_MODEL", *values, 0.3, 12.0, 0.1), 1)
        print(
            f"same call with A:A handed over as 1,048,576 values each: {full:.2f} s "
            f"({full / first:.1f}x the used-range read)"
        )

    start, full, base = cold_import()
    print(
        f"cold start of the button to its first status message (xlclv, xlwings): {start:.2f} s; "
        f"target 1 s -> {start:.2f} of target"
    )
    print(
        f"cold import of everything the button needs (+ pandas, scipy.optimize/special, "
        f"the report, XlsxWriter): {full:.2f} s -> {full:.2f} of the 1 s target "
        f"(python itself {base:.2f} s)"
    )


if __name__ == "__main__":
    main()
