"""``xlclv demo`` and ``xlclv report``: the headless CLV report from the command line.

- ``xlclv demo [-o PATH] [--dataset sample|cdnow] [--force]`` writes the report of the
  embedded sample (or of CDNOW) and prints a short summary.
- ``xlclv report IN.xlsx|IN.csv|IN.parquet -o OUT.xlsx [--force] [setting flags]`` reads the
  Transactions sheet (and Settings, NPS, Marketing when present), applies the flags over the
  Settings sheet, and writes a new workbook. The input file is only ever read.

Progress goes to stderr, one line per phase; the summary goes to stdout. A fatal input
problem prints one line and exits with code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console

from xlclv._errors import WorkbookError, XlclvError

__all__ = ["PhaseTimer", "register", "run_report"]

DEFAULT_DEMO_OUTPUT = "xlclv-demo-report.xlsx"
_TABLE_SUFFIXES = {".csv", ".parquet", ".pq"}
_WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}


class PhaseTimer:
    """Times the phases of a run; ``progress(phase)`` marks the start of the next one.

    With a console it prints each finished phase with its duration (to stderr in the CLI).
    """

    def __init__(self, console: Console | None = None) -> None:
        self.console = console
        self.times: dict[str, float] = {}
        self._phase: str | None = None
        self._start = 0.0
        self._status: Any = None

    def __call__(self, phase: str) -> None:
        self._finish()
        self._phase, self._start = str(phase), time.perf_counter()
        if self.console is not None:
            if self._status is None:
                self._status = self.console.status(f"{self._phase}...", spinner="dots")
                self._status.start()
            else:
                self._status.update(f"{self._phase}...")

    def _finish(self) -> None:
        if self._phase is None:
            return
        elapsed = time.perf_counter() - self._start
        self.times[self._phase] = self.times.get(self._phase, 0.0) + elapsed
        if self.console is not None:
            self.console.print(f"  [green]✓[/green] {self._phase} [dim]{elapsed:.2f} s[/dim]")
        self._phase = None

    def abort(self) -> None:
        """Stop without marking the current phase as finished (it failed)."""
        self._phase = None
        if self._status is not None:
            self._status.stop()
            self._status = None

    def done(self) -> dict[str, float]:
        self._finish()
        if self._status is not None:
            self._status.stop()
            self._status = None
        return self.times


def register(subparsers: Any) -> None:
    """Add ``demo`` and ``report`` to the ``xlclv`` command's subparsers."""
    p = subparsers.add_parser(
        "demo",
        help="write a CLV report from the built-in sample (or CDNOW) and print a summary",
        description="Write a complete CLV report workbook from a built-in dataset.",
    )
    p.add_argument(
        "-o", "--output", default=DEFAULT_DEMO_OUTPUT, help=f"default: {DEFAULT_DEMO_OUTPUT}"
    )
    p.add_argument(
        "--dataset",
        choices=("sample", "cdnow"),
        default="sample",
        help="sample: simulated shop with segments, NPS and marketing (default); "
        "cdnow: the real CDNOW sample (Fader, Hardie & Lee 2005)",
    )
    p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    p.set_defaults(handler=_cmd_demo)

    p = subparsers.add_parser(
        "report",
        help="build the CLV report from a workbook, CSV or Parquet file",
        description="Build the CLV report from a transactions file. The input is never modified.",
    )
    p.add_argument(
        "input",
        help="a workbook with a Transactions sheet (.xlsx), a .csv or .parquet file, a folder or "
        "glob of Parquet files, or a DuckDB database (with --table)",
    )
    p.add_argument("-o", "--output", required=True, help="the report workbook to write (.xlsx)")
    p.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    b = p.add_argument_group(
        "big data (Parquet, folders, globs, DuckDB tables and CSV files from 256 MiB go "
        "through DuckDB)"
    )
    b.add_argument("--table", help="the transactions table, when the input is a DuckDB database")
    b.add_argument(
        "--scores",
        help="write every customer's scores to this .parquet or .csv file (written beside the "
        "workbook as <report>-scores.parquet anyway when the Customers sheet is truncated)",
    )
    b.add_argument(
        "--max-customer-rows",
        type=int,
        help="most customers on the Customers sheet (default 100,000): the top ones by "
        "predicted CLV",
    )
    b.add_argument("--memory-limit", default="2GB", help="DuckDB's memory limit (default 2GB)")
    g = p.add_argument_group("settings (override the workbook's Settings sheet)")
    g.add_argument("--gross-margin", type=float, help="e.g. 0.3 for 30%%")
    g.add_argument("--discount-rate", type=float, help="annual discount rate, e.g. 0.1")
    g.add_argument("--horizon-months", type=float, help="months to value ahead, e.g. 12")
    g.add_argument("--time-unit", choices=("D", "W", "M"), type=str.upper, help="model time unit")
    g.add_argument("--observation-end", help="last day of the data, YYYY-MM-DD")
    g.add_argument("--segment-by", help="comma-separated segment columns, e.g. region,channel")
    g.add_argument("--currency", help="three-letter currency code for number formats")
    g.add_argument("--model", choices=("BGNBD", "PNBD"), type=str.upper, help="purchase model")
    p.set_defaults(handler=_cmd_report)


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    pairs = {
        "gross_margin": args.gross_margin,
        "annual_discount_rate": args.discount_rate,
        "horizon_months": args.horizon_months,
        "time_unit": args.time_unit,
        "observation_end": args.observation_end,
        "segment_by": args.segment_by,
        "currency": args.currency,
        "model": args.model,
    }
    return {k: v for k, v in pairs.items() if v is not None}


def read_inputs(path: Path) -> Any:
    """The WorkbookInputs of a workbook, CSV or Parquet file (read only)."""
    from xlclv.report import inputs as _inputs

    if not path.is_file():
        raise WorkbookError(f"Input file '{path}' not found")
    suffix = path.suffix.lower()
    if suffix in _TABLE_SUFFIXES:
        result = _inputs.read_table_file(path)
        if not hasattr(result, "transactions"):
            result = _inputs.WorkbookInputs(
                transactions=result,
                transactions_first_row=2,
                transactions_sheet=path.name,
                settings={},
                nps=None,
                marketing=None,
                source=path.name,
            )
        return result
    if suffix in _WORKBOOK_SUFFIXES:
        return _inputs.read_workbook(path)
    raise WorkbookError(
        f"Cannot read '{path.name}': use an Excel workbook (.xlsx) with a Transactions sheet, "
        "or a .csv / .parquet file"
    )


def run_report(
    inputs: Any,
    output: Path,
    *,
    force: bool = False,
    overrides: dict[str, object] | None = None,
    progress: Callable[[str], None] | None = None,
    input_path: Path | None = None,
    limits: dict[str, Any] | None = None,
) -> tuple[Any, Path]:
    """Build and write the report; returns (report, path written).

    ``limits``: keyword arguments of :func:`xlclv.report.bigdata.limit_customers`.
    """
    from xlclv.report import Settings, build_report
    from xlclv.report.writer import write_report

    output = Path(output)
    if input_path is not None and output.resolve() == input_path.resolve():
        raise WorkbookError("The output must be a new file: xlclv never writes into its input")
    if output.exists() and not force:
        raise WorkbookError(
            f"'{output}' already exists; use --force to replace it, or choose another -o name"
        )
    if output.suffix.lower() != ".xlsx":
        raise WorkbookError(f"The report must be an .xlsx file, got '{output.name}'")
    settings = Settings.from_values(dict(inputs.settings or {}), **(overrides or {}))
    report = build_report(inputs, settings, progress=progress)
    if limits is not None:  # --scores / max_customer_rows (xlclv.report.bigdata)
        from xlclv.report import bigdata

        bigdata.limit_customers(report, **limits)
    if progress is not None:
        progress("write")
    written = write_report(report, output, force=force)
    return report, written


def _print_summary(console: Console, report: Any, path: Path, seconds: float) -> None:
    s = dict(report.summary)
    cur = s.get("currency") or getattr(report.settings, "currency", "")
    total = float(s.get("total_predicted_clv", 0.0))
    horizon = getattr(report.settings, "horizon_months", None)
    console.print(f"[bold]CLV report[/bold] written to [cyan]{path}[/cyan] in {seconds:.1f} s")
    note = f"  (next {horizon:g} months, discounted)" if horizon else ""
    console.print(f"  customers            {int(s.get('customers', 0)):,}", highlight=False)
    console.print(f"  total predicted CLV  {cur} {total:,.0f}{note}", highlight=False)
    console.print(f"  top segment          {s.get('top_segment') or '-'}", highlight=False)
    console.print(f"  data issues          {int(s.get('issues', 0)):,}", highlight=False)


def _run(
    args: argparse.Namespace,
    console: Console,
    load: Callable[[], Any],
    overrides: dict[str, object],
    input_path: Path | None,
) -> int:
    err = Console(stderr=True, soft_wrap=True)
    start = time.perf_counter()
    timer = PhaseTimer(err)
    try:
        output = Path(args.output)
        if output.exists() and not args.force:
            raise WorkbookError(
                f"'{output}' already exists; use --force to replace it, or choose another -o name"
            )
        timer("read input")
        inputs = load()
        report, written = run_report(
            inputs,
            output,
            force=args.force,
            overrides=overrides,
            progress=timer,
            input_path=input_path,
            limits=_limits(args, inputs, output),
        )
    except XlclvError as exc:
        timer.abort()
        err.print(f"[bold red]error:[/bold red] {_one_line(exc)}", highlight=False)
        return 2
    except OSError as exc:  # unreadable or locked file, full disk...
        timer.abort()
        err.print(f"[bold red]error:[/bold red] {_one_line(exc)}", highlight=False)
        return 2
    timer.done()
    _print_summary(console, report, written, time.perf_counter() - start)
    return 0


def _limits(args: argparse.Namespace, inputs: Any, output: Path) -> dict[str, Any]:
    """The Customers sheet's limit and the scores file, for the in-memory path."""
    from xlclv.report import bigdata

    rows = getattr(args, "max_customer_rows", None)
    if rows is None:
        rows = bigdata.max_customer_rows_setting(getattr(inputs, "settings", None))
    return {
        "max_customer_rows": bigdata.MAX_CUSTOMER_ROWS if rows is None else rows,
        "scores": getattr(args, "scores", None),
        "scores_if_truncated": bigdata.default_scores_path(output),
    }


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
    def load() -> Any:
        from xlclv.report import sample

        return sample.cdnow_inputs() if args.dataset == "cdnow" else sample.sample_inputs()

    return _run(args, console, load, {}, None)


def _cmd_report(args: argparse.Namespace, console: Console) -> int:
    from xlclv.report import bigdata

    path = Path(args.input)
    if bigdata.use_big_path(args.input, args.table):
        return bigdata.run_cli(args, console, _overrides(args))
    return _run(args, console, lambda: read_inputs(path), _overrides(args), path)
