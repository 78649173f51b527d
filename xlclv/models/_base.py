"""The small shared base of the xlclv models: maximum likelihood on log-parameters.

Subclasses provide the log-likelihood; the base fits it with scipy, reports convergence
honestly and derives standard errors from the numerical Hessian.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from .._errors import ConvergenceWarning, FitError, InputError, NotFittedError


def unique_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of equal-length columns, and how often each occurs.

    Fitting over distinct (x, t_x, T) rows with counts as weights is the main speed lever:
    real customer bases repeat the same summaries many times.
    """
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in columns])
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype(float)


def numerical_hessian(f: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x`` (steps relative to each coordinate)."""
    x = np.asarray(x, dtype=float)
    n = x.size
    h = 1e-4 * np.maximum(np.abs(x), 1e-2)
    hess = np.empty((n, n))
    f0 = f(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        hess[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i + 1, n):
            ej = np.zeros(n)
            ej[j] = h[j]
            v = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * h[i] * h[j]
            )
            hess[i, j] = hess[j, i] = v
    return hess


class BaseModel:
    """Maximum-likelihood model on the log-parameter scale (scikit-learn conventions).

    Subclasses set ``_param_names`` and implement ``_negative_log_likelihood(params, data)``
    where ``params`` are the natural (positive) parameters and ``data`` whatever the
    subclass's ``fit`` prepared. Learned state ends in an underscore.
    """

    _param_names: tuple[str, ...] = ()
    _model_name: str = "model"

    # -- fitted state -------------------------------------------------------------------
    params_: dict[str, float]
    standard_errors_: dict[str, float]
    log_likelihood_: float
    converged_: bool
    fit_message_: str
    n_iter_: int

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"{type(self).__name__}() [not fitted]"
        ps = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({ps}, log_likelihood={self.log_likelihood_:.2f})"

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet: call .fit(...) first, "
                "or set its parameters with .set_params(...)."
            )

    def _param_array(self) -> np.ndarray:
        self._check_fitted()
        return np.array([self.params_[k] for k in self._param_names], dtype=float)

    def set_params(self, **params: float) -> BaseModel:
        """Use known parameters (e.g. published ones) instead of fitting. Returns self."""
        missing = [k for k in self._param_names if k not in params]
        extra = [k for k in params if k not in self._param_names]
        if missing or extra:
            raise InputError(
                f"{type(self).__name__} needs exactly the parameters "
                f"{', '.join(self._param_names)}; missing: {missing or 'none'}, unknown: {extra or 'none'}"
            )
        for k, v in params.items():
            if not np.isfinite(v) or v <= 0:
                raise InputError(f"parameter {k} must be a positive number, got {v}")
        self.params_ = {k: float(params[k]) for k in self._param_names}
        self.standard_errors_ = {k: float("nan") for k in self._param_names}
        self.log_likelihood_ = float("nan")
        self.converged_ = True
        self.fit_message_ = "parameters set by the user, not fitted"
        self.n_iter_ = 0
        return self

    def summary(self) -> pd.DataFrame:
        """Parameters with standard errors and 95 % Wald intervals, one row each."""
        self._check_fitted()
        est = pd.Series(self.params_)
        se = pd.Series(self.standard_errors_)
        return pd.DataFrame(
            {
                "estimate": est,
                "standard_error": se,
                "lower_95": est - 1.959963984540054 * se,
                "upper_95": est + 1.959963984540054 * se,
            }
        )

    # -- fitting --------------------------------------------------------------------------
    def _negative_log_likelihood(self, params: np.ndarray, data) -> float:  # pragma: no cover
        raise NotImplementedError

    def _fit_mle(self, data, starts: Sequence[Sequence[float]]) -> None:
        """Minimise the negative log-likelihood over log-parameters from each start."""

        def nll_log(logp: np.ndarray) -> float:
            with np.errstate(all="ignore"):
                v = self._negative_log_likelihood(np.exp(logp), data)
            return float(v) if np.isfinite(v) else 1e300

        best = None
        for x0 in starts:
            res = optimize.minimize(
                nll_log, np.log(np.asarray(x0, dtype=float)), method="BFGS",
                options={"gtol": 1e-6, "maxiter": 2000},
            )  # fmt: skip
            if not np.isfinite(res.fun) or res.fun >= 1e299:
                continue
            # polish with Nelder-Mead-free Newton-like step: L-BFGS-B from the BFGS point
            if best is None or res.fun < best.fun - 1e-9:
                best = res
        if best is None:
            raise FitError(
                f"The {self._model_name} model could not be fitted: the likelihood is not finite "
                "for any starting value. Check the data (negative or missing values?)."
            )
        params = np.exp(best.x)
        nll = best.fun
        # Convergence: optimiser's own verdict, or a gradient that is negligible at the optimum.
        grad = optimize.approx_fprime(best.x, nll_log, 1e-7)
        grad_ok = bool(np.all(np.abs(grad) <= 1e-3 * max(1.0, abs(nll))))
        converged = bool(best.success) or grad_ok
        message = "converged" if converged else f"did not converge: {best.message}"

        # Standard errors in natural units from the Hessian of the NLL at the optimum.
        def nll_nat(p: np.ndarray) -> float:
            with np.errstate(all="ignore"):
                return float(self._negative_log_likelihood(p, data))

        ses = np.full(params.size, np.nan)
        try:
            hess = numerical_hessian(nll_nat, params)
            cov = np.linalg.inv(hess)
            d = np.diag(cov)
            ses = np.where(d > 0, np.sqrt(np.abs(d)), np.nan)
            if np.any(d <= 0):
                message += (
                    "; the likelihood surface is flat in some direction (standard errors undefined)"
                )
        except (np.linalg.LinAlgError, FloatingPointError):
            message += "; standard errors unavailable (singular Hessian)"

        self.params_ = {k: float(v) for k, v in zip(self._param_names, params, strict=True)}
        self.standard_errors_ = {k: float(v) for k, v in zip(self._param_names, ses, strict=True)}
        self.log_likelihood_ = -float(nll)
        self.converged_ = converged
        self.fit_message_ = message
        self.n_iter_ = int(best.nit)
        if not converged:
            warnings.warn(
                f"{self._model_name} fit {message}. Treat its predictions with caution.",
                ConvergenceWarning,
                stacklevel=3,
            )
