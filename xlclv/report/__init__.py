"""The report application: transactions in, a CLV report workbook out.

A pipeline of named stages (:mod:`xlclv.report.pipeline`) over the pure core: read and clean the
inputs (:mod:`~xlclv.report.inputs`), summarise, fit, value, validate on a holdout, segment and
build cohorts (:mod:`~xlclv.report.segments`), then write the workbook
(:mod:`~xlclv.report.writer`). It imports the core, never :mod:`xlclv.excel` or xlwings.
"""

from xlclv.report.pipeline import Report, Settings, build_report

__all__ = ["Report", "Settings", "build_report"]
