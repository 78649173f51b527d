"""The small shared base of the xlclv models: maximum likelihood on log-parameters.

Subclasses provide the log-likelihood (and, optionally, its gradient); the base fits it with
scipy, checks convergence with a Newton step at the optimum, reports it honestly and derives
standard errors from the Hessian.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special

from .._errors import ConvergenceWarning, FitError, InputError, NotFittedError

# Parameters beyond exp(+-_EDGE) mean the optimiser ran off to the edge of the parameter space:
# the data cannot pin the model down (e.g. identical customers).
_EDGE = 18.0
# Step, in log-parameters, of the finite differences for gradients and Hessians. Central
# differences with this step have truncation error ~1e-10 and round-off ~1e-11 (relative), so
# standard errors agree to ~9 digits on every CPU (a forward difference's round-off, ~1e-8,
# showed in the 9th digit between AVX2 and AVX-512 builds).
_STEP = 1e-5
# A log-parameter whose standard error exceeds this is not pinned down by the data: its 95%
# interval spans a factor above exp(2 * 1.96 * 5) ~ 3e8. The Hessian's smallest eigenvalue on
# such a ridge is ~0 and its sign is decided by the last bits of the arithmetic; this criterion
# flags the fit on every CPU whichever sign comes out.
_MAX_LOG_SE = 5.0
# The same question asked without the quadratic approximation, so that no rounding can flip it:
# moving the log-parameters _RIDGE_STEP along the Hessian's flattest direction (a factor of
# e^10 ~ 22,000) must cost more than _RIDGE_RISE in log-likelihood (half the 95% chi-square
# quantile with one degree of freedom); otherwise the data cannot tell those values apart.
_RIDGE_STEP = 10.0
_RIDGE_RISE = 1.92


def unique_rows(
    *columns: np.ndarray, weights: np.ndarray | None = None
) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of equal-length columns, and how often each occurs.

    With ``weights``, the second result is the sum of the weights of each distinct row instead
    of its count. Fitting over distinct (x, t_x, T) rows with counts as weights is the main
    speed lever: real customer bases repeat the same summaries many times.
    """
    cols = [np.asarray(c, dtype=float).ravel() for c in columns]
    n = cols[0].size if cols else 0
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float).ravel()
    if n == 0:
        return [c[:0] for c in cols], w[:0]
    # One int64 key per row from the per-column codes (hashing, no sort of the raw rows).
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for c in cols:
        codes, uniq = pd.factorize((c + 0.0).view(np.int64))  # bit patterns hash faster
        if size * max(len(uniq), 1) >= 2**62:  # pragma: no cover - astronomically many rows
            key, _ = pd.factorize(pd.MultiIndex.from_arrays([key, codes]))
            size = int(key.max()) + 1
        key = key * len(uniq) + codes
        size *= max(len(uniq), 1)
    group, firsts = pd.factorize(key)
    rep = np.empty(len(firsts), dtype=np.int64)
    rep[group] = np.arange(n)
    counts = np.bincount(group, weights=w, minlength=len(firsts))
    return [c[rep] for c in cols], counts


def hyp2f1(A, B, C, z, *, max_terms: int = 5_000) -> np.ndarray:
    """Gauss's hypergeometric function 2F1(A, B; C; z) for real 0 <= z < 1, element-wise.

    ``scipy.special.hyp2f1`` overflows to inf/NaN for large ``C`` (many purchases) with ``z``
    near 1 (long horizons), because its transformation around z = 1 takes Gamma(C). Where it
    fails, the Gauss series is summed directly: with a large ``C`` it converges fast.
    """
    A, B, C, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (A, B, C, z)))
    out = np.array(special.hyp2f1(A, B, C, z), dtype=float, ndmin=1).reshape(A.shape)
    bad = ~np.isfinite(out)
    if bad.any():
        with np.errstate(all="ignore"):
            out[bad] = _hyp2f1_series(A[bad], B[bad], C[bad], z[bad], max_terms)
    return out


def _hyp2f1_series(a, b, c, z, max_terms):
    """The Gauss series summed term by term (NaN where it diverges or has not converged)."""
    term = np.ones(a.size)
    total = np.ones(a.size)
    active = np.arange(a.size)
    for k in range(max_terms):
        if active.size == 0:
            break
        ai = active
        term[ai] *= (a[ai] + k) * (b[ai] + k) / ((c[ai] + k) * (k + 1)) * z[ai]
        total[ai] += term[ai]
        blown = ~np.isfinite(total[ai])
        total[ai[blown]] = np.nan
        done = blown | (np.abs(term[ai]) <= 1e-17 * np.abs(total[ai]))
        active = ai[~done]
    total[active] = np.nan
    return total


def _as_column(name: str, values, *, integer: bool = False) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must hold numbers only") from None
    arr = np.atleast_1d(arr)
    if arr.ndim > 1:
        if sum(d > 1 for d in arr.shape) > 1:
            raise InputError(f"{name} must be one column of numbers, got shape {arr.shape}")
        arr = arr.ravel()
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(f"{name} has missing or infinite values (first at position {i})")
    neg = arr < 0
    if neg.any():
        i = int(np.argmax(neg))
        raise InputError(f"{name} must not be negative (first at position {i}: {arr[i]:g})")
    if integer:
        frac = arr != np.round(arr)
        if frac.any():
            i = int(np.argmax(frac))
            raise InputError(
                f"{name} must be whole numbers of repeat purchases "
                f"(first non-integer at position {i}: {arr[i]:g})"
            )
    return arr


def validate_rfm(
    frequency, recency, T, weights=None, *, broadcast: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Check an RFM summary (frequency, recency, T [, weights]) and return float arrays.

    Raises :class:`InputError` naming the column and the first offending position for missing
    or negative values, non-integer frequencies, recency beyond T, a positive recency with no
    repeat purchase, columns of different lengths and empty data. With ``broadcast`` (for
    predictions), scalars and arrays are broadcast against each other instead.
    """
    x = _as_column("frequency", frequency, integer=True)
    tx = _as_column("recency", recency)
    T = _as_column("T", T)
    w = None if weights is None else _as_column("weights", weights)
    arrays = [x, tx, T] + ([] if w is None else [w])
    if broadcast:
        try:
            arrays = list(np.broadcast_arrays(*arrays))
        except ValueError:
            raise InputError(
                "frequency, recency and T must have the same length (or be single values), "
                f"got {', '.join(str(a.size) for a in arrays)}"
            ) from None
    elif len({a.size for a in arrays}) > 1:
        names = ["frequency", "recency", "T", "weights"]
        raise InputError(
            "frequency, recency, T"
            + (", weights" if w is not None else "")
            + " must have the same length, got "
            + ", ".join(f"{n}={a.size}" for n, a in zip(names, arrays, strict=False))
        )
    x, tx, T = arrays[:3]
    w = arrays[3] if w is not None else None
    if x.size == 0:
        raise InputError("no customers: frequency, recency and T are empty")
    late = tx > T * (1 + 1e-12) + 1e-12
    if late.any():
        i = int(np.argmax(late))
        raise InputError(
            f"recency cannot exceed T (first at position {i}: recency {tx[i]:g} > T {T[i]:g}); "
            "are recency and T in the same time unit, measured from the first purchase?"
        )
    lone = (x == 0) & (tx > 0)
    if lone.any():
        i = int(np.argmax(lone))
        raise InputError(
            "recency must be 0 for customers with no repeat purchase (frequency 0) "
            f"(first at position {i}: recency {tx[i]:g})"
        )
    return x, np.minimum(tx, T), T, w


def result_shape(*inputs) -> tuple[int, ...]:
    """The broadcast shape of a prediction's inputs (InputError if they do not match)."""
    try:
        return np.broadcast_shapes(*(np.shape(v) for v in inputs))
    except ValueError:
        raise InputError(
            "the inputs must have the same length (or be single values), got lengths "
            + ", ".join(str(np.size(v)) for v in inputs)
        ) from None


def shaped(values: np.ndarray, shape: tuple[int, ...]):
    """Results take the broadcast shape of the inputs; a scalar question gets a float."""
    return float(values.reshape(-1)[0]) if shape == () else values.reshape(shape)


def check_times(name: str, t) -> np.ndarray:
    """A horizon (or horizons) as a flat float array: finite and non-negative."""
    try:
        arr = np.atleast_1d(np.asarray(t, dtype=float)).ravel()
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number of time units") from None
    if np.any(~np.isfinite(arr)) or np.any(arr < 0):
        raise InputError(f"{name} must be a non-negative number of time units, got {t!r}")
    return arr


def check_counts(name: str, n) -> np.ndarray:
    """Purchase counts as a flat float array: whole, non-negative numbers."""
    try:
        arr = np.atleast_1d(np.asarray(n, dtype=float)).ravel()
    except (TypeError, ValueError):
        arr = np.array([np.nan])
    if np.any(~np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise InputError(f"{name} must be a whole number of purchases (0, 1, 2, ...), got {n!r}")
    return arr


class BaseModel:
    """Maximum-likelihood model on the log-parameter scale (scikit-learn conventions).

    Subclasses set ``_param_names`` and implement ``_negative_log_likelihood(params, data)``
    where ``params`` are the natural (positive) parameters and ``data`` whatever the
    subclass's ``fit`` prepared. A subclass that can also return the gradient overrides
    ``_negative_log_likelihood_and_gradient(params, data) -> (nll, d nll / d params)``; the
    base then uses it for the optimiser and the Hessian. Learned state ends in an underscore.
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
        self.__dict__.pop("_log_hessian_", None)  # a fit's Hessian does not belong to these
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

    @property
    def log_covariance_(self) -> pd.DataFrame:
        """Asymptotic covariance of the log-parameters: the inverse Hessian of the negative
        log-likelihood in log-parameters at the optimum (the matrix behind
        ``standard_errors_``). All NaN when unavailable: parameters set with ``set_params``,
        or a Hessian that is not positive definite."""
        self._check_fitted()
        names = list(self._param_names)
        cov = np.full((len(names), len(names)), np.nan)
        hess = getattr(self, "_log_hessian_", None)
        if hess is not None and np.all(np.isfinite(hess)) and np.all(np.linalg.eigvalsh(hess) > 0):
            cov = np.linalg.inv(hess)
            cov = (cov + cov.T) / 2
        return pd.DataFrame(cov, index=names, columns=names)

    # -- fitting --------------------------------------------------------------------------
    def _negative_log_likelihood(self, params: np.ndarray, data) -> float:  # pragma: no cover
        raise NotImplementedError

    def _negative_log_likelihood_and_gradient(
        self, params: np.ndarray, data
    ) -> tuple[float, np.ndarray]:
        """The NLL and its gradient in the natural parameters. Default: central differences."""
        nll = self._negative_log_likelihood(params, data)
        grad = np.empty(params.size)
        for i in range(params.size):
            step = np.zeros(params.size)
            step[i] = params[i] * _STEP
            grad[i] = (
                self._negative_log_likelihood(params + step, data)
                - self._negative_log_likelihood(params - step, data)
            ) / (2 * step[i])
        return nll, grad

    def _has_gradient(self) -> bool:
        return (
            type(self)._negative_log_likelihood_and_gradient
            is not BaseModel._negative_log_likelihood_and_gradient
        )

    def _fit_mle(
        self,
        data,
        starts: Sequence[Sequence[float]],
        *,
        stop_at_first: bool = False,
        first_hessian: np.ndarray | None = None,
        check_ridge: bool = True,
    ) -> None:
        """Minimise the negative log-likelihood over log-parameters from each start.

        Keeps the best optimum over ``starts`` (or the first converged one with
        ``stop_at_first``), polishes it with Newton steps on the Hessian in log-parameters,
        and declares convergence only if the Newton decrement there is negligible and the
        estimates stayed away from the edges of the parameter space. ``first_hessian`` (a
        log-parameter Hessian guess for the first start, e.g. from a fit to a subsample)
        seeds BFGS's curvature. The final log-parameter Hessian is kept in ``_log_hessian_``.
        ``check_ridge=False`` skips the ridge test, for likelihoods of shares rather than counts
        (whose log-likelihood differences carry no sample size).
        """
        analytic = self._has_gradient()
        scale = 1.0  # each start divides the objective by |NLL| there (scale-free tolerances)

        def f(logp: np.ndarray) -> float:
            with np.errstate(all="ignore"):
                v = self._negative_log_likelihood(np.exp(logp), data)
            return float(v) if np.isfinite(v) else np.inf

        def fg(logp: np.ndarray) -> tuple[float, np.ndarray]:
            p = np.exp(logp)
            with np.errstate(all="ignore"):
                v, g = self._negative_log_likelihood_and_gradient(p, data)
            g = np.asarray(g, dtype=float) * p
            if not np.isfinite(v) or not np.all(np.isfinite(g)):
                return np.inf, np.zeros_like(logp)
            return float(v), g

        def objective(logp):
            if analytic:
                v, g = fg(logp)
                return v / scale, g / scale
            return f(logp) / scale

        best = None
        for i, x0 in enumerate(starts):
            x0 = np.log(np.asarray(x0, dtype=float))
            v0 = f(x0)
            if not np.isfinite(v0):
                continue
            scale = max(abs(v0), 1.0)
            options = {"gtol": 1e-7 if analytic else 1e-6, "maxiter": 1000}
            if i == 0 and first_hessian is not None:
                try:
                    inv = scale * np.linalg.inv(first_hessian)
                    inv = (inv + inv.T) / 2
                    np.linalg.cholesky(inv)  # BFGS needs it positive definite
                    options["hess_inv0"] = inv
                except np.linalg.LinAlgError:
                    pass
            res = optimize.minimize(
                objective, x0, jac=analytic, method="BFGS", options=options
            )  # fmt: skip
            res.fun = f(res.x)
            if not np.isfinite(res.fun):  # e.g. a special function failing far out: use
                res.fun = fg(res.x)[0]  # the objective the optimiser saw
            if not np.isfinite(res.fun):
                continue
            if best is None or res.fun < best.fun - 1e-9 * scale:
                best = res
            if stop_at_first and res.success and np.all(np.abs(res.x) < _EDGE):
                break
        if best is None:
            raise FitError(
                f"The {self._model_name} model could not be fitted: the likelihood is not finite "
                "for any starting value. Check the data (negative or missing values?)."
            )

        x = best.x
        # Newton polish on one Hessian (in log-parameters) at the optimiser's point, then the
        # convergence test: a positive-definite Hessian and a negligible Newton decrement.
        nll, g = fg(x)
        hess = self._log_hessian(fg, x, g if analytic else None)
        decrement = np.inf
        for _ in range(6):
            try:
                step = np.linalg.solve(hess, g)
            except np.linalg.LinAlgError:
                break
            decrement = float(g @ step)
            if not np.isfinite(decrement) or decrement < 0 or decrement < 1e-12:
                break  # not a minimum (no Newton step), or nothing left to gain
            trial = x - step
            v_trial, g_trial = fg(trial)
            if not v_trial <= nll + 1e-12 * max(abs(nll), 1.0):
                break
            x, nll, g = trial, v_trial, g_trial
        else:
            decrement = float(g @ np.linalg.solve(hess, g))
        nll = f(x) if np.isfinite(f(x)) else nll
        params = np.exp(x)
        eigen = np.linalg.eigvalsh(hess) if np.all(np.isfinite(hess)) else np.array([np.nan])
        positive_definite = bool(np.all(eigen > 0))
        log_se = _log_standard_errors(hess) if positive_definite else np.full(x.size, np.inf)
        edge = [k for k, v in zip(self._param_names, x, strict=True) if abs(v) >= _EDGE]
        loose = [k for k, s in zip(self._param_names, log_se, strict=True) if s > _MAX_LOG_SE]
        if check_ridge and positive_definite and not loose:
            loose = _on_a_ridge(f, x, nll, hess, self._param_names)
        converged = positive_definite and decrement < 1e-6 and not edge and not loose
        if converged:
            message = "converged"
        elif edge or (positive_definite and loose):
            message = (
                "did not converge: the estimate of "
                + ", ".join(edge or loose)
                + (" ran off to the edge of the parameter space" if edge else " is not pinned down")
                + " (the data cannot pin the model down: too few, too similar or too regular "
                "customers?)"
            )
        elif not positive_definite:
            message = (
                "did not converge: the likelihood has no clear maximum (flat or saddle-shaped "
                f"surface); optimiser: {best.message}"
            )
        else:
            message = (
                f"did not converge (log-likelihood still improving); optimiser: {best.message}"
            )

        # Standard errors in natural units: cov(theta) = J H_log^-1 J with J = diag(theta).
        ses = params * log_se if positive_definite else np.full(params.size, np.nan)
        if not np.all(np.isfinite(ses)):
            message += "; standard errors unavailable (singular Hessian)"

        self.params_ = {k: float(v) for k, v in zip(self._param_names, params, strict=True)}
        self.standard_errors_ = {k: float(v) for k, v in zip(self._param_names, ses, strict=True)}
        self._log_hessian_ = hess
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

    @staticmethod
    def _log_hessian(fg, x: np.ndarray, g0: np.ndarray | None = None) -> np.ndarray:
        """Hessian in log-parameters by central differences of the gradient, symmetrised.

        Central, not forward, differences even when the gradient is exact: a forward
        difference's round-off (~1e-8 relative) made standard errors differ between CPUs.
        ``g0`` is accepted for callers that have it and is not needed.
        """
        n = x.size
        hess = np.empty((n, n))
        for i in range(n):
            e = np.zeros(n)
            e[i] = _STEP
            hess[i] = (fg(x + e)[1] - fg(x - e)[1]) / (2 * _STEP)
        return (hess + hess.T) / 2


def _on_a_ridge(f, x: np.ndarray, nll: float, hess: np.ndarray, names) -> list[str]:
    """Names of the parameters along the flattest direction, if the likelihood stays within
    _RIDGE_RISE of its optimum over a step of _RIDGE_STEP that way (else [])."""
    _, vectors = np.linalg.eigh(hess)
    v = vectors[:, 0]
    rises = [f(x + sign * _RIDGE_STEP * v) - nll for sign in (1.0, -1.0)]
    if min(rises) >= _RIDGE_RISE:  # inf (likelihood impossible out there) counts as a rise
        return []
    return [k for k, c in zip(names, v, strict=True) if abs(c) > 0.3]


def _log_standard_errors(hess: np.ndarray) -> np.ndarray:
    """Standard errors of the log-parameters, sqrt(diag(H^-1)); inf where H is singular."""
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return np.full(hess.shape[0], np.inf)
    diag = np.diag(cov)
    return np.where(diag > 0, np.sqrt(np.abs(diag)), np.inf)


# Above this many distinct (x, t_x, T) rows, an RFM model's fit starts from a subsample fit.
_SUBSAMPLE = 20_000


class RFMModel(BaseModel):
    """Shared ``fit`` of the models of an RFM summary (BG/NBD, Pareto/NBD).

    Subclasses provide ``_prepare(x, t_x, T, counts) -> data`` for their likelihood and
    ``_starts(rate, mean_T)``, a few starting points given the repeat-purchase rate per unit
    of time and the mean observation length.
    """

    @staticmethod
    def _prepare(x, tx, T, c):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _starts(rate: float, mean_T: float) -> list[tuple[float, ...]]:  # pragma: no cover
        raise NotImplementedError

    def fit(self, frequency, recency, T, weights=None):
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency, recency, T : array-like
            The RFM summary, one value per customer: repeat purchases, time from the first to
            the last purchase, time from the first purchase to the end of observation
            (recency and T in the same time unit).
        weights : array-like, optional
            Number of customers each row stands for (default 1 each).

        Returns
        -------
        self

        Raises
        ------
        InputError
            For unusable data (negative, missing, non-integer frequency, recency > T, ...).
        FitError
            When the data cannot identify the model (e.g. nobody made a repeat purchase).
        """
        x, tx, T, w = validate_rfm(frequency, recency, T, weights)
        (x, tx, T), c = unique_rows(x, tx, T, weights=w)
        keep = c > 0
        x, tx, T, c = x[keep], tx[keep], T[keep], c[keep]
        name = self._model_name
        if c.sum() == 0:
            raise FitError(f"{name} cannot be fitted: all weights are zero")
        if not np.any(x > 0):
            raise FitError(
                f"{name} cannot be fitted: no customer made a repeat purchase (all frequencies "
                "are 0), so the purchase and dropout rates cannot be estimated. Use a longer "
                "observation period or a business-level metric instead."
            )
        exposure = float(np.sum(c * T))
        rate = float(np.sum(c * x)) / exposure if exposure > 0 else 1.0
        starts = self._starts(max(rate, 1e-8), max(exposure / float(c.sum()), 1e-8))
        hessian = None
        if x.size > _SUBSAMPLE:  # big data: start from a fit to a subsample of the customers
            warm = self._subsample_fit(x, tx, T, c, starts)
            if warm is not None:
                starts, hessian = [warm[0], *starts], warm[1]
        self._fit_mle(self._prepare(x, tx, T, c), starts, stop_at_first=True, first_hessian=hessian)
        return self

    @classmethod
    def _subsample_fit(cls, x, tx, T, c, starts):
        """Parameters and (rescaled) log-Hessian of a fit to ~_SUBSAMPLE customers drawn from
        the distinct rows, or None if that fit fails. Deterministic (fixed local seed)."""
        rng = np.random.default_rng(0)
        total = c.sum()
        sub_c = rng.multinomial(_SUBSAMPLE, c / total).astype(float)
        keep = sub_c > 0
        if not np.any(x[keep] > 0):
            return None
        sub = cls()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sub._fit_mle(
                cls._prepare(x[keep], tx[keep], T[keep], sub_c[keep]), starts, stop_at_first=True
            )
        if not sub.converged_:
            return None
        return sub._param_array(), sub._log_hessian_ * (total / _SUBSAMPLE)
