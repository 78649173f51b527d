"""The report's inputs: reading files (:mod:`xlclv.report.read`) and cleaning raw tables
(:mod:`xlclv.report.clean`), under one import path.

``xlclv.report.inputs`` keeps every name it had before the split (``WorkbookInputs``,
``read_workbook``, ``read_table_file``, ``clean_transactions``...), so callers need not know
which half a function lives in.
"""

from __future__ import annotations

from xlclv.report.clean import (
    CHOSEN_ATTR,
    COLUMN_ALIASES,
    DATE_ORDERS,
    EXCEL_ERRORS,
    ISSUE_COLUMNS,
    MAX_AMOUNT,
    READING_ATTR,
    REQUIRED,
    WorkbookInputs,
    alias_key,
    clean_marketing,
    clean_nps,
    clean_transactions,
    find_column,
    normalise_header,
    parse_column_mapping,
    recognised_fields,
    resolve_columns,
)
from xlclv.report.guards import check_xlsx
from xlclv.report.read import (
    _grid_to_frame,
    _read_settings,
    _sheet_lookup,
    read_table_file,
    read_workbook,
    sniff_delimiter,
)

__all__ = [
    "CHOSEN_ATTR",
    "COLUMN_ALIASES",
    "DATE_ORDERS",
    "EXCEL_ERRORS",
    "ISSUE_COLUMNS",
    "MAX_AMOUNT",
    "READING_ATTR",
    "REQUIRED",
    "WorkbookInputs",
    "alias_key",
    "check_xlsx",
    "clean_marketing",
    "clean_nps",
    "clean_transactions",
    "find_column",
    "normalise_header",
    "parse_column_mapping",
    "read_table_file",
    "read_workbook",
    "recognised_fields",
    "resolve_columns",
    "sniff_delimiter",
]

_PRIVATE_FOR_EXCEL = (_grid_to_frame, _read_settings, _sheet_lookup)  # used by xlclv.excel.button
