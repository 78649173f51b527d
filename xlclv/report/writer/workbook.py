"""The report workbook: a new file, the output sheets, written atomically."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from xlclv._errors import WorkbookError
from xlclv.report.writer.bulk import close_workbook
from xlclv.report.writer.cells import Formats, SafeWorksheet
from xlclv.report.writer.cohorts import write_cohorts
from xlclv.report.writer.customers import write_customers
from xlclv.report.writer.dashboard import write_dashboard
from xlclv.report.writer.issues import write_issues
from xlclv.report.writer.model import write_model
from xlclv.report.writer.segments import write_segments
from xlclv.report.writer.tables import OUTPUT_SHEETS

__all__ = ["SAFE_OPTIONS", "add_report_sheets", "new_workbook", "write_report"]

#: Options that make XlsxWriter write strings as strings, whatever they look like.
SAFE_OPTIONS: dict[str, Any] = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
}


def new_workbook(path: str | os.PathLike[str], **options: Any) -> Workbook:
    """An XlsxWriter workbook that never turns text into formulas, numbers or links, and
    whose sheets write text by the one escaping rule (:class:`~.cells.SafeWorksheet`)."""
    workbook = xlsxwriter.Workbook(os.fspath(path), {**SAFE_OPTIONS, **options})
    workbook.worksheet_class = SafeWorksheet
    return workbook


def write_report(report: Any, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write ``report`` to a new workbook at ``path``, atomically.

    Parameters
    ----------
    report : xlclv.report.pipeline.Report
        The report built by :func:`xlclv.report.pipeline.build_report`.
    path : path-like
        The .xlsx file to write. Its folder must exist.
    force : bool
        Replace ``path`` if it already exists. Without it an existing file is never touched.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise WorkbookError(f"The report must be an .xlsx file, got '{target.name}'")
    if target.exists() and not force:  # early, friendly; _publish is the real guard
        raise _exists(target)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise WorkbookError(f"The output folder '{folder}' does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".~{target.stem}-", suffix=".xlsx", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp makes the file private (0600); give the report the permissions any new file gets.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with terminate_as_exception():
            workbook = new_workbook(tmp, use_zip64=True)
            add_report_sheets(workbook, report)
            try:
                close_workbook(workbook)
            except FileCreateError as exc:  # XlsxWriter's wrapper of an OSError (full disk)
                raise WorkbookError(
                    f"Could not write the report next to '{target}': {exc}. Free some disk "
                    "space or choose another folder; any previous file is unchanged"
                ) from exc
            _publish(tmp, target, force=force)
    finally:  # written, failed, interrupted or terminated: no temp file stays behind
        tmp.unlink(missing_ok=True)
    return target


def _publish(tmp: Path, target: Path, *, force: bool) -> None:
    """Put the finished file at ``target``: replace it (``force``), or create it exclusively.

    Without ``force`` the file appears with a hard link, which fails if ``target`` exists at
    that instant: of several runs writing the same new file exactly one wins and the others
    get "already exists" (a check before a rename would let the last one silently win).
    Where hard links are not supported, the name is claimed with ``O_CREAT | O_EXCL`` first.
    """
    if force:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
        return
    except FileExistsError:
        raise _exists(target) from None
    except OSError:  # no hard links on this file system (FAT, some network shares)
        pass
    try:
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except FileExistsError:
        raise _exists(target) from None
    os.close(fd)
    try:
        os.replace(tmp, target)
    except BaseException:
        target.unlink(missing_ok=True)  # the empty file that claimed the name
        raise


def _exists(target: Path) -> WorkbookError:
    return WorkbookError(
        f"'{target}' already exists; xlclv does not overwrite files unless asked. "
        "Use --force (force=True) to replace it, or choose another output name."
    )


class Terminated(SystemExit):
    """SIGTERM arrived while the report was being written: raised so the temp files are
    removed on the way out; the process then exits with status 143 (128 + SIGTERM)."""


@contextlib.contextmanager
def terminate_as_exception() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated` (a SystemExit, so every ``finally`` and cleanup runs)
    instead of killing the process outright; Ctrl-C already raises KeyboardInterrupt. Main
    thread only; a no-op where signals cannot be set (an embedded interpreter)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # not allowed here (embedded interpreter)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def add_report_sheets(workbook: Workbook, report: Any) -> dict[str, Worksheet]:
    """Add the output sheets (:data:`OUTPUT_SHEETS`) for ``report`` to an open workbook.

    The template builder uses this to put a filled report next to its input sheets; the
    headless path (:func:`write_report`) uses it on an empty workbook.
    """
    settings = report.settings
    fmts = Formats(workbook, getattr(settings, "currency", "USD"))
    sheets = {name: workbook.add_worksheet(name, SafeWorksheet) for name in OUTPUT_SHEETS}
    write_customers(sheets["Customers"], report, fmts)
    write_segments(sheets["Segments"], report, fmts)
    write_cohorts(sheets["Cohorts"], report, fmts)
    write_model(sheets["Model"], report, fmts)
    write_issues(sheets["Data issues"], report, fmts)
    write_dashboard(workbook, sheets["Dashboard"], report, fmts)
    sheets["Dashboard"].activate()
    return sheets
