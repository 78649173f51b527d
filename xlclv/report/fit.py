"""The fit stage's models: the purchase model (BG/NBD or Pareto/NBD) and the spend model
(Gamma-Gamma, or the mean purchase amount when Gamma-Gamma cannot be used)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from xlclv._errors import FitError
from xlclv.report.settings import MODELS

__all__ = ["MeanSpend", "fit_purchase", "fit_spend", "params_table", "purchase_model"]


def purchase_model(model: str) -> Any:
    from xlclv.models import BetaGeoModel, ParetoNBDModel

    return BetaGeoModel() if model == "BGNBD" else ParetoNBDModel()


def fit_purchase(model: str, rfm: pd.DataFrame) -> tuple[Any, list[str]]:
    fitted = purchase_model(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted.fit(rfm["frequency"], rfm["recency"], rfm["T"])
    return fitted, [f"{MODELS[model]}: {w.message}" for w in caught]


class MeanSpend:
    """Fallback spend model: every customer's expected spend is the mean purchase amount."""

    def __init__(self, mean: float) -> None:
        self.mean = float(mean)
        self.params_ = {"mean spend": self.mean}
        self.standard_errors_ = {"mean spend": float("nan")}

    def expected_spend(self, frequency, monetary_value) -> np.ndarray:
        return np.full(np.size(frequency), self.mean)


def fit_spend(
    rfm: pd.DataFrame, purchases: pd.DataFrame, end: pd.Timestamp
) -> tuple[Any, str, list[str]]:
    from xlclv.models import GammaGammaModel

    repeat = rfm["frequency"] > 0
    model = GammaGammaModel()
    caught: list[warnings.WarningMessage] = []
    problem = ""
    if int(repeat.sum()) < 2:
        problem = f"only {int(repeat.sum())} customer(s) bought more than once"
    else:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.fit(rfm["frequency"], rfm["monetary_value"])
            if model.params_["q"] <= 1:
                problem = "the fitted spend distribution has no finite mean (q <= 1)"
        except FitError as exc:
            problem = str(exc)
    if problem:
        days = purchases[purchases["date"] <= end].groupby(["customer_id", "date"])["amount"]
        mean = float(days.sum().mean())
        note = (
            f"The Gamma-Gamma spend model could not be used ({problem}); every customer's "
            f"expected spend per purchase is the mean purchase amount, {mean:,.2f}."
        )
        return MeanSpend(mean), note, []
    return model, "", [f"Gamma-Gamma: {w.message}" for w in caught]


def params_table(purchase: Any, spend: Any, model: str) -> pd.DataFrame:
    rows = []
    for name, fitted in ((MODELS[model], purchase), ("Gamma-Gamma", spend)):
        if isinstance(fitted, MeanSpend):
            name = "Mean spend (fallback)"
        for key, value in fitted.params_.items():
            se = fitted.standard_errors_.get(key, float("nan"))
            rows.append((name, key, float(value), float(se)))
    return pd.DataFrame(rows, columns=["Model", "Parameter", "Estimate", "Std. error"])
