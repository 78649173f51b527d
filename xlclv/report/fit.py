"""The fit stage's models: the purchase model (BG/NBD, Pareto/NBD or MBG/NBD, given or chosen
automatically) and the spend model (Gamma-Gamma, or the mean purchase amount when Gamma-Gamma
cannot be used)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xlclv._errors import ConvergenceWarning, FitError, InputError
from xlclv.report.settings import MODELS, PURCHASE_MODELS, available_models

__all__ = [
    "TIE",
    "Candidate",
    "Choice",
    "MeanSpend",
    "choose_model",
    "compare_models",
    "fit_purchase",
    "fit_spend",
    "params_table",
    "purchase_model",
]

#: Holdout errors within this share of the lowest count as a tie, decided by AIC.
TIE = 0.05


def purchase_model(model: str) -> Any:
    """A new, unfitted purchase model by key (see :data:`xlclv.report.settings.PURCHASE_MODELS`)."""
    import xlclv.models

    cls = getattr(xlclv.models, PURCHASE_MODELS[model][1], None)
    if cls is None:
        raise InputError(f"{MODELS[model]} is not available in this version of xlclv")
    return cls()


def fit_purchase(model: str, rfm: pd.DataFrame) -> tuple[Any, list[str]]:
    fitted = purchase_model(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted.fit(rfm["frequency"], rfm["recency"], rfm["T"])
    return fitted, [f"{MODELS[model]}: {w.message}" for w in _not_convergence(caught)]


# -- automatic model choice ----------------------------------------------------------------------


@dataclass
class Candidate:
    """One purchase model in the automatic choice: its fit on all the data and its holdout."""

    key: str
    fitted: Any = None  # fitted on all the data (None if the fit failed)
    warnings: list[str] = field(default_factory=list)
    problem: str = ""  # why it cannot be chosen ("" if it can)
    holdout: Any = None  # xlclv.report.holdout.Holdout of the calibration fit

    @property
    def n_params(self) -> int:
        return len(self.fitted.params_) if self.fitted is not None else 0

    @property
    def log_likelihood(self) -> float:
        return float(self.fitted.log_likelihood_) if self.fitted is not None else math.nan

    @property
    def aic(self) -> float:
        """Akaike's information criterion, 2 k - 2 log L (Akaike 1974)."""
        return 2.0 * self.n_params - 2.0 * self.log_likelihood

    @property
    def holdout_error(self) -> float:
        return float(getattr(self.holdout, "error", math.nan)) if self.holdout else math.nan


@dataclass
class Choice:
    key: str
    reason: str  # one or two sentences for the Model sheet
    table: pd.DataFrame  # the comparison table
    candidates: list[Candidate]

    @property
    def chosen(self) -> Candidate:
        return next(c for c in self.candidates if c.key == self.key)


def compare_models(
    rfm: pd.DataFrame, holdout: Callable[[str], Any], models: list[str] | None = None
) -> Choice:
    """Fit every available purchase model, check each on the holdout, choose one.

    Parameters
    ----------
    rfm : DataFrame
        The RFM summary of all the data (frequency, recency, T).
    holdout : callable
        ``holdout(key)`` runs the holdout check of model ``key`` (an
        :class:`xlclv.report.holdout.Holdout` with its ``error``).
    models : list of str, optional
        The keys to compare; default :func:`xlclv.report.settings.available_models`.

    Returns
    -------
    Choice
        The chosen key, the reason in words, and the comparison table.

    Raises
    ------
    FitError
        No model could be fitted to the data (every candidate's error, in one message).
    """
    candidates = []
    for key in models or available_models():
        cand = fit_candidate(key, lambda k: fit_purchase(k, rfm))
        if not cand.problem:
            cand.holdout = holdout(key)
        candidates.append(cand)
    key, reason = choose_model(candidates)
    return Choice(key, reason, comparison_table(candidates, key), candidates)


def fit_candidate(key: str, fit: Callable[[str], tuple[Any, list[str]]]) -> Candidate:
    """Model ``key`` as a candidate: ``fit(key)`` gives (fitted model, warnings); a fit that
    fails, or ends without a finite log-likelihood, is kept with its problem in words."""
    cand = Candidate(key)
    try:
        cand.fitted, cand.warnings = fit(key)
    except (FitError, InputError) as exc:
        cand.problem = f"the fit failed ({exc})"
    else:
        if not math.isfinite(cand.log_likelihood):
            cand.problem = "the fit failed (no finite log-likelihood)"
    return cand


def choose_model(candidates: list[Candidate]) -> tuple[str, str]:
    """The choice rule: the lowest holdout error; a tie (within :data:`TIE`) goes to the lower AIC.

    Models that could not be fitted or did not converge are not chosen. When no model has a
    holdout error (the holdout check could not run), the lowest AIC wins.

    The holdout error (:attr:`xlclv.report.holdout.Holdout.error`) is out-of-sample evidence,
    so it comes first; AIC (Akaike 1974) separates models that predict the holdout equally
    well. With equal numbers of parameters AIC ranks by log-likelihood.

    Returns
    -------
    (key, reason)
    """
    fitted = [c for c in candidates if not c.problem]
    if not fitted:
        problems = "; ".join(f"{MODELS[c.key]}: {c.problem}" for c in candidates)
        raise FitError(f"No purchase model could be fitted to this data ({problems})")
    usable = [c for c in fitted if c.fitted.converged_]
    caveat = ""
    if not usable:  # choose among the unconverged fits, and say so
        usable = fitted
        caveat = " None of the fits fully converged; treat the predictions with care."
    key, reason = _rule(usable)
    return key, reason + caveat


def _rule(usable: list[Candidate]) -> tuple[str, str]:
    by_aic = min(usable, key=lambda c: c.aic)
    scored = [c for c in usable if math.isfinite(c.holdout_error)]
    if not scored:
        reason = (
            f"{MODELS[by_aic.key]} has the lowest AIC (the holdout check could not run, so AIC "
            "alone decided)."
        )
        return by_aic.key, reason
    best = min(scored, key=lambda c: c.holdout_error)
    limit = best.holdout_error * (1.0 + TIE) + 1e-12
    tied = [c for c in scored if c.holdout_error <= limit]
    if len(tied) == 1:
        second = min(
            (c for c in scored if c is not best), key=lambda c: c.holdout_error, default=None
        )
        reason = f"{MODELS[best.key]} predicted the holdout best"
        if second is None:
            return best.key, reason + "."
        reason += (
            f": its holdout error is {_err(best.holdout_error)} repeat purchases per customer, "
            f"against {_err(second.holdout_error)} for {MODELS[second.key]}."
        )
        if by_aic is not best:
            reason += (
                f" {MODELS[by_aic.key]} fits the data used a little better (AIC "
                f"{by_aic.aic:,.1f} against {best.aic:,.1f}), but the holdout tests the models "
                "on purchases they did not see."
            )
        return best.key, reason
    pick = min(tied, key=lambda c: c.aic)
    others = ", ".join(MODELS[c.key] for c in tied if c is not pick)
    reason = (
        f"{MODELS[pick.key]} and {others} predicted the holdout about equally well (holdout "
        f"errors within {TIE:.0%} of each other), so the lower AIC decided: "
        f"{MODELS[pick.key]} has AIC {pick.aic:,.1f}."
    )
    return pick.key, reason


def _err(x: float) -> str:
    return f"{x:.3f}"


def comparison_table(candidates: list[Candidate], chosen: str) -> pd.DataFrame:
    rows = []
    for c in candidates:
        rows.append(
            {
                "Model": MODELS[c.key],
                "Log-likelihood": c.log_likelihood,
                "Parameters": c.n_params if c.fitted is not None else math.nan,
                "AIC": c.aic if c.fitted is not None else math.nan,
                "Holdout error": c.holdout_error,
                "Chosen": _chosen_text(c, c.key == chosen),
            }
        )
    return pd.DataFrame(
        rows, columns=["Model", "Log-likelihood", "Parameters", "AIC", "Holdout error", "Chosen"]
    )


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
    return model, "", [f"Gamma-Gamma: {w.message}" for w in _not_convergence(caught)]


def _not_convergence(caught: list[warnings.WarningMessage]) -> list[warnings.WarningMessage]:
    """The warnings other than ConvergenceWarning: a fit that did not converge gets one plain
    message of its own (:func:`xlclv.report.pipeline.not_converged_message`), not the
    optimiser's words, which can read "terminated successfully" next to "converged: NO"."""
    return [w for w in caught if not issubclass(w.category, ConvergenceWarning)]


def params_table(purchase: Any, spend: Any, model: str) -> pd.DataFrame:
    rows = []
    for name, fitted in ((MODELS[model], purchase), ("Gamma-Gamma", spend)):
        if isinstance(fitted, MeanSpend):
            name = "Mean spend (fallback)"
        for key, value in fitted.params_.items():
            se = fitted.standard_errors_.get(key, float("nan"))
            rows.append((name, key, float(value), float(se)))
    return pd.DataFrame(rows, columns=["Model", "Parameter", "Estimate", "Std. error"])


def _chosen_text(c: Candidate, chosen: bool) -> str:
    if c.problem:
        return f"no: {c.problem}"
    word = "yes" if chosen else "no"
    return word if c.fitted.converged_ else f"{word} (the fit did not converge)"
