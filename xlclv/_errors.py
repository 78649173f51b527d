"""One exception family. Every message tells a finance user what is wrong and how to fix it."""

from __future__ import annotations


class XlclvError(Exception):
    """Base class of every error xlclv raises on purpose."""


class InputError(XlclvError, ValueError):
    """A value, column or table given to xlclv is not usable.

    ``sheet``, ``row`` and ``column`` say where, when the input came from a workbook.
    """

    def __init__(
        self,
        message: str,
        *,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.sheet, self.row, self.column = sheet, row, column
        where = []
        if sheet is not None:
            where.append(f"sheet '{sheet}'")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column '{column}'")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)


class WorkbookError(InputError):
    """A workbook lacks a sheet, table or column that xlclv needs."""


class FitError(XlclvError):
    """A model could not be fitted to the data (too little data, or no convergence)."""


class NotFittedError(XlclvError, AttributeError):
    """A model was used before ``fit`` was called."""


class ConvergenceWarning(UserWarning):
    """A model fit stopped without meeting its convergence test; its estimates may be poor."""
