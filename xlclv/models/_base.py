"""The small shared base of the xlclv models: maximum likelihood on log-parameters.

Subclasses provide the log-likelihood (and, optionally, its gradient); the base fits it with
scipy, checks convergence with a Newton step at the optimum, reports it honestly and derives
standard errors from the Hessian.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple

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

        The steps: :meth:`_log_objectives` (the objective in log-parameters),
        :meth:`_best_optimum` (BFGS from each start), :meth:`_newton_polish`,
        :meth:`_check_convergence` (the robust criteria) and :meth:`_store_fit`.
        """
        f, fg = self._log_objectives(data)
        best = self._best_optimum(f, fg, starts, stop_at_first, first_hessian)
        x, nll, hess, decrement = self._newton_polish(f, fg, best.x)
        verdict = self._check_convergence(f, x, nll, hess, decrement, check_ridge)
        message = self._store_fit(x, nll, hess, verdict, best)
        if not verdict.converged:
            warnings.warn(
                f"{self._model_name} fit {message}. Treat its predictions with caution.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _log_objectives(self, data) -> tuple[Callable, Callable]:
        """The negative log-likelihood as a function of the log-parameters.

        Parameters
        ----------
        data
            Whatever the subclass's ``fit`` prepared for its likelihood.

        Returns
        -------
        f : callable
            ``f(logp)`` -> the NLL, inf where it is not finite.
        fg : callable
            ``fg(logp)`` -> (NLL, gradient in log-parameters); (inf, 0) where either is
            not finite.
        """

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

        return f, fg

    def _best_optimum(
        self,
        f: Callable,
        fg: Callable,
        starts: Sequence[Sequence[float]],
        stop_at_first: bool,
        first_hessian: np.ndarray | None,
    ) -> optimize.OptimizeResult:
        """The lowest optimum BFGS finds from the starting values (see :meth:`_fit_mle`).

        Starts where the likelihood is not finite are skipped. With ``stop_at_first``, the
        first successful run that stayed within exp(+-_EDGE) ends the search.

        Raises
        ------
        FitError
            No start gives a finite optimum.
        """
        analytic = self._has_gradient()
        best = None
        for i, x0 in enumerate(starts):
            x0 = np.log(np.asarray(x0, dtype=float))
            v0 = f(x0)
            if not np.isfinite(v0):
                continue
            scale = max(abs(v0), 1.0)  # the objective divided by |NLL| at the start
            hessian = first_hessian if i == 0 else None
            res = _run_bfgs(f, fg, x0, scale, analytic, hessian)
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
        return best

    def _newton_polish(
        self, f: Callable, fg: Callable, x: np.ndarray
    ) -> tuple[np.ndarray, float, np.ndarray, float]:
        """Newton steps on one Hessian (in log-parameters) at the optimiser's point.

        Parameters
        ----------
        f, fg : callable
            The objectives of :meth:`_log_objectives`.
        x : numpy.ndarray
            The optimiser's log-parameters.

        Returns
        -------
        x : numpy.ndarray
            The polished log-parameters (at most 6 steps, each accepted only if it does not
            raise the NLL).
        nll : float
            The NLL there.
        hess : numpy.ndarray
            The central-difference Hessian at the optimiser's point (:meth:`_log_hessian`).
        decrement : float
            The Newton decrement ``g' H^-1 g`` at ``x`` (inf if H is singular); the
            convergence test wants it negligible.
        """
        nll, g = fg(x)
        hess = self._log_hessian(fg, x, g if self._has_gradient() else None)
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
        return x, nll, hess, decrement

    def _check_convergence(
        self,
        f: Callable,
        x: np.ndarray,
        nll: float,
        hess: np.ndarray,
        decrement: float,
        check_ridge: bool,
    ) -> _Verdict:
        """The convergence verdict at the polished optimum, with robust criteria.

        Converged means: a positive-definite Hessian, a Newton decrement below 1e-6, no
        log-parameter at or beyond +-_EDGE, no log-parameter standard error above
        _MAX_LOG_SE and (with ``check_ridge``) no ridge along the Hessian's flattest
        direction (:func:`_on_a_ridge`). The last two decide an unidentified model the same
        way whatever sign rounding gives the Hessian's smallest eigenvalue.
        """
        eigen = np.linalg.eigvalsh(hess) if np.all(np.isfinite(hess)) else np.array([np.nan])
        positive_definite = bool(np.all(eigen > 0))
        log_se = _log_standard_errors(hess) if positive_definite else np.full(x.size, np.inf)
        edge = [k for k, v in zip(self._param_names, x, strict=True) if abs(v) >= _EDGE]
        loose = [k for k, s in zip(self._param_names, log_se, strict=True) if s > _MAX_LOG_SE]
        if check_ridge and positive_definite and not loose:
            loose = _on_a_ridge(f, x, nll, hess, self._param_names)
        converged = positive_definite and decrement < 1e-6 and not edge and not loose
        return _Verdict(converged, positive_definite, edge, loose, log_se)

    def _store_fit(
        self,
        x: np.ndarray,
        nll: float,
        hess: np.ndarray,
        verdict: _Verdict,
        best: optimize.OptimizeResult,
    ) -> str:
        """Set the fitted attributes (``params_``, ``standard_errors_``, ...); the message.

        Standard errors in natural units: cov(theta) = J H_log^-1 J with J = diag(theta).
        """
        params = np.exp(x)
        message = _fit_message(verdict, best.message)
        ses = params * verdict.log_se if verdict.positive_definite else np.full(x.size, np.nan)
        if not np.all(np.isfinite(ses)):
            message += "; standard errors unavailable (singular Hessian)"
        self.params_ = {k: float(v) for k, v in zip(self._param_names, params, strict=True)}
        self.standard_errors_ = {k: float(v) for k, v in zip(self._param_names, ses, strict=True)}
        self._log_hessian_ = hess
        self.log_likelihood_ = -float(nll)
        self.converged_ = verdict.converged
        self.fit_message_ = message
        self.n_iter_ = int(best.nit)
        return message

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


class _Verdict(NamedTuple):
    """The convergence verdict of a fit (see :meth:`BaseModel._check_convergence`)."""

    converged: bool
    positive_definite: bool  #: of the Hessian in log-parameters
    edge: list[str]  #: parameters that ran off to the edge of the parameter space
    loose: list[str]  #: parameters that the data do not pin down
    log_se: np.ndarray  #: standard errors of the log-parameters (inf if unavailable)


def _run_bfgs(
    f: Callable,
    fg: Callable,
    x0: np.ndarray,
    scale: float,
    analytic: bool,
    first_hessian: np.ndarray | None,
) -> optimize.OptimizeResult:
    """One BFGS run from ``x0`` on the objective divided by ``scale`` (scale-free tolerances).

    Parameters
    ----------
    f, fg : callable
        The objectives of :meth:`BaseModel._log_objectives`.
    x0 : numpy.ndarray
        The starting log-parameters.
    scale : float
        max(|NLL at x0|, 1).
    analytic : bool
        Whether ``fg`` has an analytic gradient (else BFGS differences ``f`` itself).
    first_hessian : numpy.ndarray, optional
        A log-parameter Hessian guess whose inverse seeds BFGS's curvature, if it is
        positive definite.

    Returns
    -------
    scipy.optimize.OptimizeResult
        With ``fun`` the unscaled NLL at ``x`` (from ``fg`` where ``f`` is not finite, e.g. a
        special function failing far out: the objective the optimiser saw).
    """

    def objective(logp):
        if analytic:
            v, g = fg(logp)
            return v / scale, g / scale
        return f(logp) / scale

    options = {"gtol": 1e-7 if analytic else 1e-6, "maxiter": 1000}
    if first_hessian is not None:
        try:
            inv = scale * np.linalg.inv(first_hessian)
            inv = (inv + inv.T) / 2
            np.linalg.cholesky(inv)  # BFGS needs it positive definite
            options["hess_inv0"] = inv
        except np.linalg.LinAlgError:
            pass
    res = optimize.minimize(objective, x0, jac=analytic, method="BFGS", options=options)
    res.fun = f(res.x)
    if not np.isfinite(res.fun):
        res.fun = fg(res.x)[0]
    return res


def _fit_message(verdict: _Verdict, optimiser_message: str) -> str:
    """What the fit's ``fit_message_`` says about its convergence."""
    if verdict.converged:
        return "converged"
    edge, loose = verdict.edge, verdict.loose
    if edge or (verdict.positive_definite and loose):
        return (
            "did not converge: the estimate of "
            + ", ".join(edge or loose)
            + (" ran off to the edge of the parameter space" if edge else " is not pinned down")
            + " (the data cannot pin the model down: too few, too similar or too regular "
            "customers?)"
        )
    if not verdict.positive_definite:
        return (
            "did not converge: the likelihood has no clear maximum (flat or saddle-shaped "
            f"surface); optimiser: {optimiser_message}"
        )
    return f"did not converge (log-likelihood still improving); optimiser: {optimiser_message}"


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


# -- expectations over a beta mixing distribution ------------------------------------------
# The BG/NBD and sBG predictions are means of a simple function g of a churn probability p over
# its beta (posterior) distribution. Their 2F1 forms have no evaluation that is both fast and
# accurate everywhere, so they are integrated directly, in the logit y = log(p / (1 - p)):
# there the beta density is log-concave with exponential tails and the integrands are smooth
# and analytic in the strip |Im y| < pi / 2, so the trapezoidal rule converges geometrically.
# Where g has become constant (to 1e-13) in a tail, that tail is the exact incomplete beta
# function times the constant: long tails (a or B near 0) cost nothing. Each result is checked
# against the same rule on every other node (whose error is about the square root of the full
# rule's); a disagreement means the rule cannot be trusted there: NaN and a warning, never a
# different formula.
_TAIL = 50.0  # integrand cut where it has fallen e^-50 below its peak
_FLAT = 1e-13  # g counts as constant where log g is within this of its limit
_CHECK = 1e-7  # relative agreement demanded between the step-h and step-2h sums
_MAX_STEPS = 200_000  # more nodes than this per value: give up (NaN and a warning)
_CHUNK = 4_000_000  # nodes x rows evaluated at once (memory)
_DECADES = np.arange(1.0, 321.0)  # p = 10^-k probed for the flat tails


def beta_mixture_mean(log_g, a, B) -> np.ndarray:
    """E[g(p)] for p ~ Beta(a, B), element-wise, for a positive g non-increasing in p.

    Parameters
    ----------
    log_g : callable
        ``log_g(log_p, log_1mp, rows)`` -> log g at the nodes for the elements ``rows`` (an
        index array); node arrays have shape ``(len(rows), n_nodes)``. It must accept
        ``log_p = -inf`` (p = 0) and ``log_1mp = -inf`` (p = 1).
    a, B : float or array-like
        The beta parameters (positive), broadcast together.

    Returns
    -------
    numpy.ndarray
        The means (NaN, with a RuntimeWarning, where the quadrature failed its self-check).

    Notes
    -----
    With ``f(y) = a y - (a + B) log(1 + e^y)`` the log-density in y (mode ``y0 = log(a/B)``,
    width ``sigma = sqrt(1/a + 1/B)``), the range is where ``f + log g`` is within ``_TAIL``
    of its value at the mode (found by bisection; g is largest at p -> 0), the step
    ``min(0.2, sigma / 4)``, halved where the self-check fails. The tails beyond the points where g is constant are
    ``g(0) I_p(a, B)`` and ``g(1) I_(1-p)(B, a)``; the trapezoidal sum then gets its
    Euler-Maclaurin end corrections (the integrand is ``g * e^f`` there, its derivatives
    ``kappa^k`` times it with ``kappa = a - (a + B) p``).
    """
    a, B = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float)) for v in (a, B)))
    a, B = a.ravel(), B.ravel()
    if a.size == 0:
        return np.full(0, np.nan)
    limits = _integration_limits(log_g, a, B)
    out = _mean_over_limits(log_g, a, B, limits)
    out = _add_flat_tails(out, a, B, limits)
    bad = ~np.isfinite(out)
    if np.any(bad):
        warnings.warn(
            f"{int(bad.sum())} value(s) could not be computed to the required accuracy and "
            "are NaN (extreme parameters); please report the inputs.",
            RuntimeWarning,
            stacklevel=3,
        )
    return out


class _Limits(NamedTuple):
    """Where :func:`beta_mixture_mean` integrates, in the logit y = log(p / (1 - p))."""

    lo: np.ndarray  #: lower end of the trapezoidal rule, per value
    hi: np.ndarray  #: upper end
    use_lo: np.ndarray  #: whether ``lo`` cuts into a flat tail of g (else the density's tail)
    use_hi: np.ndarray  #: whether ``hi`` does
    lg_zero: np.ndarray  #: log g at p = 0, the constant of the lower flat tail
    lg_one: np.ndarray  #: log g at p = 1, the constant of the upper flat tail


def _integration_limits(log_g, a: np.ndarray, B: np.ndarray) -> _Limits:
    """The range of the trapezoidal rule and its flat tails (see :func:`beta_mixture_mean`).

    Parameters
    ----------
    log_g : callable
        As for :func:`beta_mixture_mean`.
    a, B : numpy.ndarray
        The beta parameters, flat arrays of one size.

    Returns
    -------
    _Limits
        The range where ``f + log g`` is within ``_TAIL`` of its value at the mode, cut
        short where g has become constant (to ``_FLAT``) and the density exponential in y.
    """
    idx = np.arange(a.size)
    with np.errstate(all="ignore"):
        y0 = np.log(a) - np.log(B)
        lg_mode = _call(log_g, special.log_expit(y0), special.log_expit(-y0), idx)
        lg_zero = _call(log_g, np.full(a.size, -np.inf), np.zeros(a.size), idx)
        lg_one = _call(log_g, np.zeros(a.size), np.full(a.size, -np.inf), idx)
        extra = np.where(np.isfinite(lg_mode), np.maximum(lg_zero - lg_mode, 0.0), 0.0)
        lo = _drop_point(a, B, y0, _TAIL + extra, -1.0)
        hi = _drop_point(a, B, y0, np.full(a.size, _TAIL), 1.0)
        # flat tails: p below p_flat (above 1 - q_flat) changes g by less than _FLAT
        cut_lo = _flat_logit(log_g, lg_zero, idx, left=True)
        cut_hi = _flat_logit(log_g, lg_one, idx, left=False)
        # ... and deep enough in the tail that the density is exponential in y there (its
        # log-derivative kappa constant to 1e-4), which the end corrections assume
        deep = np.log(1e-4) - np.log(a + B)
        cut_lo = np.minimum(cut_lo, deep)
        cut_hi = np.maximum(cut_hi, -deep)
    use_lo = cut_lo > lo
    use_hi = (cut_hi < hi) & np.isfinite(lg_one)
    lo = np.where(use_lo, cut_lo, lo)
    hi = np.where(use_hi, cut_hi, hi)
    return _Limits(lo, hi, use_lo, use_hi, lg_zero, lg_one)


def _mean_over_limits(log_g, a, B, limits: _Limits) -> np.ndarray:
    """The mean of g over [lo, hi] under the beta density, by the self-checked trapezoid.

    The step suits the beta density, ``min(0.2, sigma / 4)``; values whose self-check fails
    are tried again with half the step, up to ``_MAX_STEPS`` nodes; NaN where no rule passes.
    """
    lo, hi, use_lo, use_hi = limits.lo, limits.hi, limits.use_lo, limits.use_hi
    out = np.full(a.size, np.nan)
    step = np.minimum(0.2, 0.25 * np.sqrt(1.0 / a + 1.0 / B))
    n_steps = np.ceil(np.maximum(hi - lo, 0.0) / step / 2.0) * 2.0  # even: step-2h check
    feasible = np.isfinite(n_steps) & (n_steps <= _MAX_STEPS)
    n_steps = np.where(feasible, np.maximum(n_steps, 16.0), 16.0).astype(np.int64)
    # The step suits the beta density; where g makes the integrand narrower (the self-check
    # fails), halve it, up to _MAX_STEPS nodes.
    todo = feasible
    while np.any(todo):
        for k in np.unique(n_steps[todo]):  # rows with the same number of nodes go together
            rows_k = np.flatnonzero(todo & (n_steps == k))
            per = max(1, _CHUNK // int(k + 1))
            for start in range(0, rows_k.size, per):
                rows = rows_k[start : start + per]
                ends = (use_lo[rows], use_hi[rows])
                out[rows] = _trapezoid(
                    log_g, a[rows], B[rows], lo[rows], hi[rows], int(k), rows, ends
                )
        n_steps = np.where(todo & np.isnan(out), 2 * n_steps, n_steps)
        todo = todo & np.isnan(out) & (n_steps <= _MAX_STEPS)
    return out


def _add_flat_tails(out: np.ndarray, a, B, limits: _Limits) -> np.ndarray:
    """The full mean: the trapezoid's mean over [lo, hi] and the flat tails, each weighted by
    its probability (regularised incomplete beta functions)."""
    lo, hi, use_lo, use_hi = limits.lo, limits.hi, limits.use_lo, limits.use_hi
    lg_zero, lg_one = limits.lg_zero, limits.lg_one
    # The trapezoid gives the mean of g over [lo, hi]; the beta function normalising the
    # density is not used (lgamma differences lose ~1e-9 for B ~ 1e6): the probabilities of
    # the three pieces come from the regularised incomplete beta function instead.
    with np.errstate(all="ignore"):
        p_lo = np.where(use_lo, special.betainc(a, B, special.expit(lo)), 0.0)
        p_hi = np.where(use_hi, special.betainc(B, a, special.expit(-hi)), 0.0)
        # I_x(a, B) only at x <= 1/2 (x = expit(y) near 1 carries the rounding of 1 - x)
        p_mid = np.where(
            hi <= 0.0,
            special.betainc(a, B, special.expit(hi)) - p_lo,
            np.where(
                lo >= 0.0,
                special.betainc(B, a, special.expit(-lo)) - p_hi,
                (special.betainc(a, B, 0.5) - p_lo) + (special.betainc(B, a, 0.5) - p_hi),
            ),
        )
        p_mid = np.where(use_lo | use_hi, np.maximum(p_mid, 0.0), 1.0)
        out = p_mid * out + np.where(use_lo, np.exp(lg_zero) * p_lo, 0.0)
        out += np.where(use_hi, np.exp(lg_one) * p_hi, 0.0)
    return out


def _call(log_g, lp, lq, rows):
    return np.asarray(log_g(lp[:, None], lq[:, None], rows), dtype=float).reshape(-1)


def _flat_logit(log_g, lg_limit, rows, *, left):
    """The logit beyond which g is within _FLAT of its limit at p = 0 (``left``) or p = 1.

    Probes p (or 1 - p) = 10^-1 ... 10^-320; +-inf when g is not flat at any of them.
    """
    lt = -_DECADES * np.log(10.0)  # log of the small side
    small = np.broadcast_to(lt, (rows.size, lt.size))
    big = np.broadcast_to(np.log1p(-np.exp(lt)), small.shape)
    lg = log_g(small, big, rows) if left else log_g(big, small, rows)
    flat = np.abs(np.asarray(lg, dtype=float) - lg_limit[:, None]) <= _FLAT
    flat &= np.isfinite(lg_limit)[:, None]
    # g is monotone: the first flat decade (the largest p) starts the flat tail
    first = np.argmax(flat, axis=1)
    found = flat[np.arange(rows.size), first]
    edge = lt[first] - np.log1p(-np.exp(lt[first]))  # logit of 10^-k
    if left:
        return np.where(found, edge, -np.inf)
    return np.where(found, -edge, np.inf)


def _log_beta_density_y(a, B, y):
    """log of the Beta(a, B) density in the logit y (dp = p (1 - p) dy)."""
    return a * special.log_expit(y) + B * special.log_expit(-y) - special.betaln(a, B)


def _drop_point(a, B, y0, drop, side):
    """The y on ``side`` (-1 left, +1 right) of the mode where f falls ``drop`` below f(y0).

    Bracketed by the linear bounds ``f(y) - f(y0) <= a (y - y0) + (a+B) log(1 + a/B)`` (left)
    and ``<= -B (y - y0) + (a+B) log(1 + B/a)`` (right), then bisected.
    """
    f0 = _log_beta_density_y(a, B, y0)
    if side < 0:
        far = y0 - (drop + (a + B) * np.log1p(a / B)) / a - 1.0
    else:
        far = y0 + (drop + (a + B) * np.log1p(B / a)) / B + 1.0
    near = y0.copy()
    for _ in range(64):
        mid = 0.5 * (near + far)
        inside = _log_beta_density_y(a, B, mid) > f0 - drop
        near = np.where(inside, mid, near)
        far = np.where(inside, far, mid)
    return far


def _trapezoid(log_g, a, B, lo, hi, k, rows, ends):
    """The mean of g over [lo, hi] under the beta density: a ratio of trapezoidal sums.

    Both sums are checked against the step-2h rule. ``ends`` flags the ends that are cuts
    into a flat tail (integrand not negligible there): they get the Euler-Maclaurin
    corrections ``h^2/12 f' - h^4/720 f^(3)`` (opposite signs at the upper end).
    """
    y = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, k + 1)[None, :]
    h = (hi - lo) / k
    with np.errstate(all="ignore"):
        lp, lq = special.log_expit(y), special.log_expit(-y)
        lw = a[:, None] * lp + B[:, None] * lq
        lw = lw - np.max(lw, axis=1, keepdims=True)
        k_lo = a - (a + B) * np.exp(lp[:, 0])  # d log(integrand) / dy in the flat tails
        k_hi = a - (a + B) * np.exp(lp[:, -1])

        def rule(e, stride):
            hh = h * stride
            f_lo, f_hi = e[:, 0], e[:, -1]
            s = hh * (e[:, ::stride].sum(axis=1) - 0.5 * (f_lo + f_hi))
            c2, c4 = hh**2 / 12.0, hh**4 / 720.0
            s += np.where(ends[0], (c2 * k_lo - c4 * k_lo**3) * f_lo, 0.0)
            s -= np.where(ends[1], (c2 * k_hi - c4 * k_hi**3) * f_hi, 0.0)
            return s

        terms = lw + np.asarray(log_g(lp, lq, rows), dtype=float)
        top = np.max(terms, axis=1, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        e_num, e_den = np.exp(terms - top), np.exp(lw)
        num, num2 = rule(e_num, 1), rule(e_num, 2)
        den, den2 = rule(e_den, 1), rule(e_den, 2)
        value = np.exp(top[:, 0]) * num / den
        ok = (np.abs(num - num2) <= _CHECK * np.abs(num)) & (
            np.abs(den - den2) <= _CHECK * np.abs(den)
        )
    return np.where(ok & np.isfinite(value), value, np.nan)
