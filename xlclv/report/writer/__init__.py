"""Write a :class:`xlclv.report.pipeline.Report` to a new .xlsx workbook (XlsxWriter).

The workbook has the output sheets in :data:`OUTPUT_SHEETS`: a Dashboard with KPI tiles and
native Excel charts, then Customers, Segments, Cohorts, Model (with the settings used) and
Data issues, each as Excel Tables with stable names, number formats and frozen headers. The
Dashboard's charts read only its own "Chart data" tables (right of the print area), so the
sheet can be copied into another workbook on its own without links back to this file.

Safety rules, all tested:

- Every cell is written with an explicitly typed call (``write_string``, ``write_number``...),
  and the workbook is created with ``strings_to_formulas=False``, ``strings_to_numbers=False``
  and ``strings_to_urls=False``. A customer id or segment value such as ``=HYPERLINK(...)`` or
  ``@SUM(A1)`` stays text: user data never becomes a formula.
- The file is written to a temporary file in the target folder and published with an
  exclusive create (:func:`os.link`; ``os.replace`` only with ``force=True``), so a crash never
  leaves a half-written report, of concurrent runs to one new file exactly one wins, and the
  temporary files go on errors, Ctrl-C and SIGTERM.
- One escaping rule for cell text on both write paths (:func:`~.cells.escape_cell_text`), and
  text over Excel's 32,767-character limit stops the write instead of being cut.

Modules: :mod:`~.workbook` (the file, atomically), one module per sheet (:mod:`~.dashboard`,
:mod:`~.customers`, :mod:`~.segments`, :mod:`~.cohorts`, :mod:`~.model`, :mod:`~.issues`),
:mod:`~.charts`, and the shared table and cell writers (:mod:`~.tables`, :mod:`~.cells`,
:mod:`~.bulk`).
"""

from xlclv.report.writer.bulk import BULK_ROWS, close_workbook
from xlclv.report.writer.cells import Formats, write_value
from xlclv.report.writer.tables import (
    OUTPUT_SHEETS,
    TABLE_NAMES,
    segment_table_name,
    write_table,
)
from xlclv.report.writer.workbook import (
    SAFE_OPTIONS,
    add_report_sheets,
    new_workbook,
    write_report,
)

__all__ = [
    "BULK_ROWS",
    "OUTPUT_SHEETS",
    "SAFE_OPTIONS",
    "TABLE_NAMES",
    "Formats",
    "add_report_sheets",
    "close_workbook",
    "new_workbook",
    "segment_table_name",
    "write_report",
    "write_table",
    "write_value",
]
