"""Benchmark: reading cost that must stay linear — wide sheets and text-heavy exports.

Usage::

    .venv/bin/python benchmarks/bench_read.py [--rows 1000000]

1. Column count: ``read_workbook`` + ``clean_transactions`` of a 20-row sheet with 2,048 and
   with 16,384 columns. Linear handling gives a time ratio near 8 (the column ratio); the
   former quadratic header and segment handling gave about 64 (more than ten minutes at
   16,384 columns).
2. Guard overhead: :func:`xlclv.report.guards.check_xlsx` + ``check_sheet`` against the whole
   ``read_workbook`` on a ``--rows`` sheet (5 columns), as a share of the read.
3. Text-heavy CSV: a Shopify-shaped export (``Email``, ``Created at`` with a UTC offset,
   ``Total`` as ``$1,038.40``) of ``--rows`` rows against the same data as plain text
   (yyyy-mm-dd, 1038.40): read + clean time ratio, with identical clean tables.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fmt_seconds, machine, peak_rss_mb, timed

from xlclv.report.clean import clean_transactions
from xlclv.report.guards import check_xlsx
from xlclv.report.read import read_table_file, read_workbook


def wide_sheet(path: Path, columns: int, rows: int = 20) -> Path:
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Transactions")
    ws.write_row(0, 0, ["customer_id", "date", "amount"] + ["segment"] * (columns - 3))
    for r in range(1, rows + 1):
        ws.write_row(r, 0, [f"c{r % 5}", f"2024-01-{r:02d}", 10.0 + r] + [r % 3] * (columns - 3))
    wb.close()
    return path


def read_and_clean(path: Path, reader=read_workbook) -> pd.DataFrame:
    inputs = reader(path)
    clean, _ = clean_transactions(
        inputs.transactions,
        sheet=inputs.transactions_sheet,
        first_row=inputs.transactions_first_row,
    )
    return clean


def tall_sheet(path: Path, rows: int) -> Path:
    rng = np.random.default_rng(2026)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "use_zip64": True})
    ws = wb.add_worksheet("Transactions")
    ws.write_row(0, 0, ["customer_id", "date", "amount", "region", "channel"])
    cust = rng.integers(0, max(rows // 8, 1), rows)
    day = 45292 + rng.integers(0, 730, rows)
    amount = np.round(rng.gamma(2.0, 25.0, rows), 2)
    for r in range(rows):
        ws.write_string(r + 1, 0, f"C{cust[r]:07d}")
        ws.write_number(r + 1, 1, float(day[r]))
        ws.write_number(r + 1, 2, float(amount[r]))
        ws.write_string(r + 1, 3, "North")
        ws.write_string(r + 1, 4, "Email")
    wb.close()
    return path


def shopify_pair(folder: Path, rows: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(2026)
    day = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), "D")
    seconds = pd.to_timedelta(rng.integers(0, 86_400, rows), "s")
    amount = np.round(rng.gamma(2.0, 300.0, rows), 2)
    email = [f"c{k}@example.com" for k in rng.integers(0, max(rows // 8, 1), rows)]
    plain = folder / "plain.csv"
    pd.DataFrame({"customer_id": email, "date": day.strftime("%Y-%m-%d"), "amount": amount}).to_csv(
        plain, index=False
    )
    shop = folder / "shopify.csv"
    pd.DataFrame(
        {
            "Email": email,
            "Created at": (day + seconds).strftime("%Y-%m-%d %H:%M:%S -0500"),
            "Total": [f"${a:,.2f}" for a in amount],
        }
    ).to_csv(shop, index=False)
    return plain, shop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        narrow = wide_sheet(folder / "w2048.xlsx", 2_048)
        wide = wide_sheet(folder / "w16384.xlsx", 16_384)
        t_narrow, _, _ = timed(lambda: read_and_clean(narrow))
        t_wide, _, clean = timed(lambda: read_and_clean(wide))
        assert clean.shape == (20, 16_384)
        print(
            f"columns: 2,048 in {fmt_seconds(t_narrow)}, 16,384 in {fmt_seconds(t_wide)}: "
            f"ratio {t_wide / t_narrow:.1f} (linear ~8, quadratic ~64)"
        )

        tall = tall_sheet(folder / "tall.xlsx", args.rows)

        def guard() -> dict:
            with check_xlsx(tall) as g:
                return g.check_sheet("Transactions")

        t_guard, _, stats = timed(guard, repeat=1)
        t_read, _, _ = timed(lambda: read_workbook(tall), repeat=1)
        print(
            f"guard on {stats['rows'] - 1:,} rows: {fmt_seconds(t_guard)} of a "
            f"{fmt_seconds(t_read)} read ({t_guard / t_read:.0%})"
        )

        plain, shop = shopify_pair(folder, args.rows)
        t_plain, _, a = timed(lambda: read_and_clean(plain, read_table_file), repeat=1)
        t_shop, _, b = timed(lambda: read_and_clean(shop, read_table_file), repeat=1)
        same = a[["customer_id", "date", "amount"]].equals(b[["customer_id", "date", "amount"]])
        print(
            f"text-heavy CSV, {args.rows:,} rows: plain {fmt_seconds(t_plain)}, Shopify-shaped "
            f"{fmt_seconds(t_shop)}: ratio {t_shop / t_plain:.1f}; same clean table: {same}"
        )
    print(f"peak memory {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
