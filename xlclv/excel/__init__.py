"""The Excel face and its delivery: functions, the report button, add-in, templates, installer.

It converts Excel values and calls the core (:mod:`xlclv.models`, :mod:`xlclv.metrics` ...) or
the report application (:mod:`xlclv.report`). Users name the functions by their public path,
``xlclv.udfs`` (the ``UDF Modules`` setting), which re-exports :mod:`~xlclv.excel.udf_metrics`
and :mod:`~xlclv.excel.udf_models`.
"""
