"""``xlclv demo`` and ``xlclv report``: the headless CLV report from the command line.

- ``xlclv demo [-o PATH] [--dataset sample|cdnow] [--force]`` writes the report of the
  embedded sample (or of CDNOW) and prints a short summary.
- ``xlclv report IN.xlsx|IN.csv|IN.parquet -o OUT.xlsx [--force] [setting flags]`` reads the
  Transactions sheet (and Settings, NPS, Marketing when present), applies the flags over the
  Settings sheet, and writes a new workbook. The input file is only ever read.

Progress goes to stderr, one line per phase; the summary goes to stdout, with the column
mapping used and what was read from the data (a date order, a decimal separator). A fatal
input problem, and every failure to read the input file, prints one line and exits with code
2, never a traceback; Ctrl-C prints one line and exits with code 130, SIGTERM one line and
143 (no report written, no temp file left, the output untouched). A report written with
warnings (more rows not used than max_rejected_share, or a model that did not converge)
prints them and exits with code 3.
"""

from __future__ import annotations

import argparse
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from xlclv._errors import WorkbookError, XlclvError

__all__ = ["PhaseTimer", "register", "run_report"]

DEFAULT_DEMO_OUTPUT = "xlclv-demo-report.xlsx"
#: Each dataset its own default file, so `demo --dataset cdnow` after `demo` does not collide.
DEMO_OUTPUTS = {"sample": DEFAULT_DEMO_OUTPUT, "cdnow": "xlclv-cdnow-report.xlsx"}
#: Exit status of a run that wrote the report with warnings (rows not used beyond
#: max_rejected_share, a model that did not converge).
EXIT_WARNINGS = 3
_TABLE_SUFFIXES = {".csv", ".tsv", ".parquet", ".pq"}
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
        "-o",
        "--output",
        default=None,
        help=f"default: {DEMO_OUTPUTS['sample']} (sample) or {DEMO_OUTPUTS['cdnow']} (cdnow)",
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
    g.add_argument(
        "--currency",
        help="three-letter currency code for number formats (default: the currency "
        "the amounts are written in, else USD)",
    )
    g.add_argument(
        "--model",
        choices=("AUTO", "BGNBD", "PNBD", "MBGNBD"),
        type=str.upper,
        help="purchase model; AUTO (default) fits them all and picks one on the holdout and AIC",
    )
    g.add_argument(
        "--holdout-weeks", type=int, help="holdout check length in weeks (default: last 25%%)"
    )
    g.add_argument(
        "--max-rejected-share",
        type=float,
        help="warn (exit status 3) when more rows or amount than this share are not used "
        "(default 0.01)",
    )
    g.add_argument(
        "--exclude-zero-amounts",
        action="store_true",
        help="do not count $0 purchases as purchase occasions (counted by default, as in "
        "the published CDNOW analysis)",
    )
    g.add_argument(
        "--churn-horizon-days",
        type=float,
        help="horizon of the churn-risk column P(no purchase, next N days) (default: 90)",
    )
    g.add_argument(
        "--periods",
        type=str.upper,
        choices=("Y", "Q", "M"),
        help="discrete opportunities (calendar years, quarters or months, e.g. yearly "
        "donations): use the BG/BB model (default: continuous time)",
    )
    r = p.add_argument_group("reading the input (also Settings cells: columns, date_order, ...)")
    r.add_argument(
        "--sheet",
        help="the transactions sheet (default: Transactions, else the only sheet "
        "with customer, date and amount headers)",
    )
    r.add_argument(
        "--columns",
        help='which header is which field, e.g. customer_id=Email,date="Created at",amount=Total'
        " (default: recognised header names of common exports)",
    )
    r.add_argument(
        "--date-order",
        choices=("YMD", "DMY", "MDY"),
        type=str.upper,
        help="order of dates written as text like 03/04/2024 (default: the only order the "
        "data fit; ambiguous data stop and ask)",
    )
    r.add_argument(
        "--decimal-separator",
        choices=(".", ","),
        help="decimal separator of amounts written as text (default: the one the data imply; "
        "ambiguous data stop and ask)",
    )
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
        "holdout_weeks": args.holdout_weeks,
        "churn_horizon_days": args.churn_horizon_days,
        "periods": args.periods,
        "columns": args.columns,
        "date_order": args.date_order,
        "decimal_separator": args.decimal_separator,
        "max_rejected_share": args.max_rejected_share,
        "include_zero_amounts": False if args.exclude_zero_amounts else None,
    }
    return {k: v for k, v in pairs.items() if v is not None}


def read_inputs(path: Path, *, sheet: str | None = None, columns: Any = None) -> Any:
    """The WorkbookInputs of a workbook, CSV or Parquet file (read only).

    Every failure is a :class:`~xlclv.WorkbookError` (one line: what, where, how to fix),
    also for errors the file readers raise of their own (a damaged file).
    """
    try:
        return _read_inputs(path, sheet=sheet, columns=columns)
    except (XlclvError, KeyboardInterrupt):
        raise
    except MemoryError:
        raise WorkbookError(
            f"Not enough memory to read '{path.name}': save the data as CSV or Parquet, or "
            "drop the columns the report does not need"
        ) from None
    except Exception as exc:  # a reader's own error on a damaged or unusual file
        text = " ".join(str(exc).split())[:300]
        raise WorkbookError(
            f"Could not read '{path.name}': {type(exc).__name__}: {text}. Open it in Excel and "
            "save it again (as .xlsx or CSV UTF-8)"
        ) from None


def _read_inputs(path: Path, *, sheet: str | None, columns: Any) -> Any:
    from xlclv.report import inputs as _inputs

    if not path.is_file():
        raise WorkbookError(f"Input file '{path}' not found")
    suffix = path.suffix.lower()
    if suffix in _TABLE_SUFFIXES:
        if sheet is not None:
            raise WorkbookError(f"--sheet applies to workbooks; '{path.name}' has no sheets")
        result = _inputs.read_table_file(path, columns=columns)
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
        return _inputs.read_workbook(path, sheet=sheet, columns=columns)
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
    _reading_options(inputs, settings)
    report = build_report(inputs, settings, progress=progress)
    if limits is not None:  # --scores / max_customer_rows (xlclv.report.bigdata)
        from xlclv.report import bigdata

        bigdata.limit_customers(report, **limits)
    if progress is not None:
        progress("write")
    written = write_report(report, output, force=force)
    return report, written


def _reading_options(inputs: Any, settings: Any) -> None:
    """Hand the reading settings (flags over the Settings sheet) to the transactions cleaning,
    through the raw table's ``attrs`` (see :func:`xlclv.report.clean.clean_transactions`)."""
    from xlclv.report.clean import READING_ATTR

    tx = getattr(inputs, "transactions", None)
    if tx is None:
        return
    opts = dict(tx.attrs.get(READING_ATTR) or {})
    for key in ("columns", "date_order", "decimal_separator"):
        value = getattr(settings, key, None)
        if value is not None:
            opts[key] = value
    tx.attrs[READING_ATTR] = opts


def reading_lines(inputs: Any) -> list[str]:
    """What reading chose, as lines for the console: the column mapping and the notes."""
    from xlclv.report.clean import CHOSEN_ATTR

    tx = getattr(inputs, "transactions", None)
    chosen = tx.attrs.get(CHOSEN_ATTR) if tx is not None else None
    if not chosen:
        return []
    cols = ", ".join(f"{k} = {v!r}" for k, v in chosen.get("columns", {}).items())
    return [f"columns              {cols}"] + [f"note: {n}" for n in chosen.get("notes", [])]


def print_summary(console: Console, report: Any, path: Path, seconds: float) -> None:
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
    if s.get("margin_note"):
        console.print(
            "  [bold yellow]note:[/bold yellow] CLV is REVENUE at 100% margin, not profit "
            "(no gross margin given; use --gross-margin 0.3 for 30%)",
            highlight=False,
        )
    chosen = ", ".join(s.get("segments_chosen") or []) or "none"
    console.print(f"  segments             {chosen}", highlight=False, markup=False)
    for col, why in s.get("segments_skipped") or []:
        console.print(f"    not a segment: {col!r} ({why})", highlight=False, markup=False)
    for w in s.get("warnings") or []:
        console.print(f"[bold red]warning:[/bold red] {escape(w)}", highlight=False)


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
    except (XlclvError, OSError, KeyboardInterrupt) as exc:  # OSError: a locked file, full disk
        return stopped(exc, timer, err)
    except SystemExit:  # SIGTERM (see _stoppable)
        timer.abort()
        raise
    timer.done()
    print_summary(console, report, written, time.perf_counter() - start)
    for line in reading_lines(inputs):
        console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)
    return EXIT_WARNINGS if report.summary.get("warnings") else 0


def stopped(exc: BaseException, timer: PhaseTimer, err: Console) -> int:
    """A report run stopped by ``exc``: the progress display ends, one line on stderr (no
    traceback), and the exit status: 130 for Ctrl-C, else 2 (bad input, unreadable or
    locked file, full disk). Both report commands (this module's and the big-data path's)
    stop this way."""
    timer.abort()
    if isinstance(exc, KeyboardInterrupt):
        err.print("[bold red]interrupted[/bold red] (Ctrl-C): no report written", highlight=False)
        return 130
    err.print(f"[bold red]error:[/bold red] {escape(one_line(exc))}", highlight=False)
    return 2


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


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns)


def _stoppable(args: argparse.Namespace, run: Callable[[], int]) -> int:
    """``run()`` with SIGTERM stopping it cleanly: one line on stderr, exit status 143.

    The report writer removes its own temp files on the way out; the scores file's temp file
    (``.~NAME`` beside it) is removed here when this run created it.
    """
    from xlclv.report import bigdata
    from xlclv.report.writer.workbook import Terminated, terminate_as_exception

    output = Path(args.output)
    scores = [getattr(args, "scores", None), bigdata.default_scores_path(output)]
    temps = [Path(p).with_name(f".~{Path(p).name}") for p in scores if p]
    before = {t: t.exists() for t in temps}
    was = _stat(output)
    try:
        with terminate_as_exception():
            return run()
    except Terminated as stop:
        for t in temps:
            if not before[t]:
                t.unlink(missing_ok=True)
        if _stat(output) == was:
            what = f"no report written, '{output}' untouched"
        else:  # the signal came in the instant after the report was put in place
            what = f"the report '{output}' was written just before"
        err = Console(stderr=True, soft_wrap=True)
        err.print(f"xlclv: stopped (SIGTERM); {what}", highlight=False, markup=False)
        return stop.code if isinstance(stop.code, int) else 128 + signal.SIGTERM


#: A message is cut to this many characters, and each word in it to :data:`_MAX_WORD` (a
#: message can quote a hostile file's content: DuckDB quotes a whole over-long line).
_MAX_MESSAGE, _MAX_WORD = 4000, 300


def one_line(exc: BaseException) -> str:
    text = str(exc)
    m = re.search(r"Maximum line size of ([\d,]+) bytes exceeded\. Actual Size:\s*([\d,]+)", text)
    if m:  # DuckDB (the big-data path) on a CSV line it will not read
        file = re.search(r"\bfile = (\S+)", text)
        where = f"'{file.group(1)}'" if file else "The CSV file"
        most, actual = (int(g.replace(",", "")) for g in m.groups())
        return (
            f"{where} has a line longer than {most:,} bytes, the most that is read (at least "
            f"{actual:,} bytes without a line break): a CSV of transactions has one row per "
            "line. This is not such a file (or it was cut or joined): export the data again "
            "as CSV"
        )
    words = [
        w if len(w) <= _MAX_WORD else f"{w[: _MAX_WORD - 1]}…({len(w):,} characters)"
        for w in text.split()
    ]
    line = " ".join(words) or type(exc).__name__
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"


def _cmd_demo(args: argparse.Namespace, console: Console) -> int:
    def load() -> Any:
        from xlclv.report import sample

        return sample.cdnow_inputs() if args.dataset == "cdnow" else sample.sample_inputs()

    args.output = args.output or DEMO_OUTPUTS[args.dataset]
    return _stoppable(args, lambda: _run(args, console, load, {}, None))


def _cmd_report(args: argparse.Namespace, console: Console) -> int:
    from xlclv.report import bigdata

    path = Path(args.input)
    if args.columns is not None:
        from xlclv.report.clean import parse_column_mapping

        try:
            columns = parse_column_mapping(args.columns)
        except ValueError as exc:
            err = Console(stderr=True, soft_wrap=True)
            err.print(
                f"[bold red]error:[/bold red] --columns {escape(str(exc))}; write it as "
                "customer_id=Email,"
                'date="Created at",amount=Total',
                highlight=False,
                markup=True,
            )
            return 2
    else:
        columns = None

    if bigdata.use_big_path(args.input, args.table):
        return _stoppable(args, lambda: bigdata.run_cli(args, console, _overrides(args), columns))

    def load() -> Any:
        return read_inputs(path, sheet=args.sheet, columns=columns)

    return _stoppable(args, lambda: _run(args, console, load, _overrides(args), path))
