"""The public surface changes only on purpose: this list is the contract with users."""

import xlclv

PUBLIC = [
    "BetaGeoBetaBinomModel",
    "BetaGeoModel",
    "ConvergenceWarning",
    "FitError",
    "GammaGammaModel",
    "InputError",
    "ModifiedBetaGeoModel",
    "NotFittedError",
    "ParetoNBDModel",
    "Report",
    "Settings",
    "ShiftedBetaGeometricModel",
    "WorkbookError",
    "WorkbookInputs",
    "XlclvError",
    "__version__",
    "arpu",
    "build_report",
    "cac_payback",
    "cdnow_inputs",
    "clean_transactions",
    "clv_group_interval",
    "churn_rate",
    "clv_historical",
    "clv_interval",
    "clv_predictive",
    "clv_simple",
    "customer_lifetime_value",
    "lifetime",
    "lifetime_discounted",
    "load_cdnow_summary",
    "load_cdnow_summary_with_monetary",
    "load_cdnow_transactions",
    "load_donations",
    "ltv_cac",
    "main",
    "nps",
    "nps_category",
    "nps_interval",
    "read_table_file",
    "read_workbook",
    "retention_rate",
    "rfm_summary",
    "sample_inputs",
    "write_report",
]


def test_exported_names_are_pinned():
    assert sorted(xlclv.__all__) == sorted(PUBLIC)


def test_every_exported_name_resolves():
    for name in xlclv.__all__:
        assert getattr(xlclv, name) is not None, name


def test_unknown_attribute_is_a_clear_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        xlclv.nope  # noqa: B018
