"""The Gamma-Gamma model of the monetary value of repeat purchases.

Each of a customer's transactions is worth ``z ~ Gamma(p, rate=nu)``, so her mean spend per
transaction is ``p / nu``; across customers ``nu ~ Gamma(q, rate=v)`` (``v`` is the papers'
gamma). Spend is assumed independent of the purchase process, so the model is fitted on the
repeat buyers alone, from each one's number of repeat purchases ``x`` and their mean value
``mbar`` (``monetary_value`` of an RFM summary).

The population mean spend per transaction is ``p v / (q - 1)`` (finite only when q > 1). A
customer's expected mean spend given ``x`` and ``mbar`` is a weighted average of the population
mean and her own mean: ``(v + x mbar) p / (p x + q - 1)``.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves for
customer base analysis. Journal of Marketing Research 42(4), 415-430.
Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
(http://brucehardie.com/notes/025/ -- the likelihood, eq. 3, and the conditional mean, eq. 5.)
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special

from .._errors import FitError, InputError
from ._base import BaseModel, unique_rows

__all__ = ["GammaGammaModel"]


def _column(name: str, values) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must hold numbers only") from None
    arr = np.atleast_1d(arr)
    if arr.ndim > 1:
        if sum(d > 1 for d in arr.shape) > 1:
            raise InputError(f"{name} must be one column of numbers, got shape {arr.shape}")
        arr = arr.ravel()
    return arr


def _check_frequency(x: np.ndarray) -> None:
    bad = ~np.isfinite(x) | (x < 0) | (x != np.round(x))
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(
            "frequency must be whole numbers of repeat purchases, 0 or more "
            f"(first bad value at position {i}: {x[i]:g})"
        )


def _repeat_buyers(frequency, monetary_value, weights) -> tuple[np.ndarray, ...]:
    """The frequencies, mean spends and weights of the repeat buyers, validated.

    Parameters
    ----------
    frequency, monetary_value, weights : array-like
        As for :meth:`GammaGammaModel.fit` (``weights`` may be None).

    Returns
    -------
    x, m, w : numpy.ndarray
        The rows with a frequency above 0 and a weight above 0.

    Raises
    ------
    InputError
        Unusable columns (see :func:`_fit_columns`), or a repeat buyer's mean spend is
        missing, zero or negative (the message says how many).
    FitError
        Fewer than two repeat buyers.
    """
    x, m, w = _fit_columns(frequency, monetary_value, weights)
    rep = (x > 0) & (w > 0)
    x, m, w = x[rep], m[rep], w[rep]
    missing = ~np.isfinite(m)
    if missing.any():
        raise InputError(
            f"monetary_value is missing or infinite for {int(missing.sum())} of the "
            f"{x.size} repeat buyers (frequency > 0); every repeat buyer needs the mean "
            "value of her repeat purchases"
        )
    nonpositive = m <= 0
    if nonpositive.any():
        raise InputError(
            f"monetary_value is zero or negative for {int(nonpositive.sum())} of the "
            f"{x.size} repeat buyers (frequency > 0). The Gamma-Gamma model needs a "
            "positive mean spend for every repeat buyer: remove those customers (e.g. "
            "refunds or free orders) or exclude zero-value orders from the summary."
        )
    if x.size < 2:
        raise FitError(
            f"The Gamma-Gamma model needs at least two repeat buyers (frequency > 0) to "
            f"estimate how spend varies across customers; the data has {x.size}. Use the "
            "average order value instead."
        )
    return x, m, w


def _fit_columns(frequency, monetary_value, weights) -> tuple[np.ndarray, ...]:
    """The three columns as float arrays of one length; weights default to 1 each.

    Raises
    ------
    InputError
        Columns of different lengths, no rows, a frequency that is not a whole number of 0
        or more, or a weight that is missing or negative.
    """
    x = _column("frequency", frequency)
    m = _column("monetary_value", monetary_value)
    w = None if weights is None else _column("weights", weights)
    sizes = [x.size, m.size] + ([] if w is None else [w.size])
    if len(set(sizes)) > 1:
        raise InputError(
            "frequency, monetary_value"
            + (", weights" if w is not None else "")
            + " must have the same length, got "
            + ", ".join(str(s) for s in sizes)
        )
    if x.size == 0:
        raise InputError("no customers: frequency and monetary_value are empty")
    _check_frequency(x)
    if w is None:
        w = np.ones(x.size)
    elif np.any(~np.isfinite(w)) or np.any(w < 0):
        raise InputError("weights must be numbers of customers, 0 or more")
    return x, m, w


def _starts(mean_m: float) -> list[tuple[float, float, float]]:
    """Starting values (p, q, v), each with the population mean spend p v / (q - 1) equal to
    the repeat buyers' mean spend ``mean_m``."""
    return [
        (p0, q0, mean_m * (q0 - 1.0) / p0)
        for p0, q0 in ((1.0, 2.0), (5.0, 4.0), (0.5, 1.5), (20.0, 20.0))
    ]


class GammaGammaModel(BaseModel):
    """Gamma-Gamma model: how much will each customer spend per purchase?

    Fit it to the repeat buyers of an RFM summary: ``frequency`` (number of repeat purchases)
    and ``monetary_value`` (mean value of those repeat purchases). Customers with frequency 0
    are ignored by the fit. Parameters ``p`` (shape of the spend of one transaction), ``q``
    and ``v`` (shape and rate of the gamma heterogeneity across customers; ``v`` is the
    papers' gamma, in currency units).

    Examples
    --------
    >>> from xlclv.datasets import load_cdnow_summary_with_monetary
    >>> d = load_cdnow_summary_with_monetary()
    >>> m = GammaGammaModel().fit(d["frequency"], d["monetary_value"])
    >>> round(m.params_["p"], 2), round(m.params_["q"], 2), round(m.params_["v"], 2)
    (6.25, 3.74, 15.45)
    >>> round(m.mean_spend(), 2), round(m.log_likelihood_, 2)
    (35.17, -4055.92)

    References
    ----------
    Fader, Hardie & Lee (2005), RFM and CLV: using iso-value curves for customer base
    analysis, Journal of Marketing Research 42(4); Fader & Hardie (2013), The Gamma-Gamma
    model of monetary value.
    """

    _param_names = ("p", "q", "v")
    _model_name = "Gamma-Gamma"

    # -- fitting --------------------------------------------------------------------------
    def fit(self, frequency, monetary_value, weights=None) -> GammaGammaModel:
        """Fit by maximum likelihood on the repeat buyers.

        Parameters
        ----------
        frequency : array-like
            Number of repeat purchases per customer (whole numbers, 0 or more).
        monetary_value : array-like
            Mean value of each customer's repeat purchases (ignored where frequency is 0).
        weights : array-like, optional
            Number of customers each row stands for (default 1 each).

        Returns
        -------
        self

        Raises
        ------
        InputError
            For unusable data: missing or negative frequencies, missing, zero or negative
            monetary values among repeat buyers (the message says how many rows), columns
            of different lengths.
        FitError
            With fewer than two repeat buyers: the spread of spend across customers cannot
            be estimated.

        Warns
        -----
        ConvergenceWarning
            When the fit does not converge, e.g. all repeat buyers have exactly the same
            mean spend (no spread to estimate); ``converged_`` is then False.
        UserWarning
            When the fitted q is at most 1: spends are so heavy-tailed that the population
            mean spend is infinite, and customers without repeat purchases cannot be valued.
        """
        x, m, w = _repeat_buyers(frequency, monetary_value, weights)
        (x, m), c = unique_rows(x, m, weights=w)
        data = self._prepare(x, m, c)
        starts = _starts(float(np.sum(c * m) / np.sum(c)))
        with np.errstate(all="ignore"):  # far-off trial log-params overflow; the base checks
            self._fit_mle(data, starts, stop_at_first=True)
        if self.params_["q"] <= 1.0:
            warnings.warn(
                f"Gamma-Gamma fit: q = {self.params_['q']:.3g} is at most 1, so spends are so "
                "heavy-tailed that the population mean spend p v / (q - 1) is infinite. "
                "Expected spend is only defined for repeat buyers; consider removing extreme "
                "order values.",
                UserWarning,
                stacklevel=2,
            )
        return self

    def _negative_log_likelihood(self, params, data) -> float:
        return self._negative_log_likelihood_and_gradient(params, data, gradient=False)[0]

    @staticmethod
    def _prepare(x, m, c) -> dict:
        """Sufficient pieces of the likelihood: per distinct x, and sums that do not move.

        Only ``log(v + x mbar)`` needs every row at each evaluation; the gamma functions
        depend on x alone and the ``log mbar`` terms on no parameter.
        """
        ux, ix = np.unique(x, return_inverse=True)
        lm = np.log(m)
        return {
            "ux": ux,
            "lux": np.log(ux),
            "nx": np.bincount(ix, weights=c),  # customers per distinct x
            "C": float(c.sum()),
            "S_xlm": float(np.sum(c * x * lm)),
            "S_lm": float(np.sum(c * lm)),
            "xm": x * m,
            "c": c,
            "cx": c * x,
        }

    def _negative_log_likelihood_and_gradient(self, params, data, gradient=True):
        """Fader & Hardie (2013), eq. (3), in logs; the gradient is exact (digamma).

        ``ln f = ln Gamma(p x + q) - ln Gamma(p x) - ln Gamma(q) + q ln v + (p x - 1) ln mbar
        + p x ln x - (p x + q) ln(v + x mbar)``, summed with the customer counts as weights.
        """
        p, q, v = params
        ux, lux, nx, C = data["ux"], data["lux"], data["nx"], data["C"]
        xm, c, cx = data["xm"], data["c"], data["cx"]
        pu = p * ux
        lv = np.log(v)
        lvxm = np.log(v + xm)
        ll = (
            np.sum(nx * (special.gammaln(pu + q) - special.gammaln(pu) + pu * lux))
            + C * (q * lv - special.gammaln(q))
            + p * data["S_xlm"]
            - data["S_lm"]
            - np.sum((p * cx + q * c) * lvxm)
        )
        nll = -float(ll)
        if not gradient:
            return nll, None
        dg_puq = special.digamma(pu + q)
        d_p = np.sum(nx * ux * (dg_puq - special.digamma(pu) + lux)) + data["S_xlm"]
        d_p -= np.sum(cx * lvxm)
        d_q = np.sum(nx * dg_puq) + C * (lv - special.digamma(q)) - np.sum(c * lvxm)
        d_v = C * q / v - np.sum((p * cx + q * c) / (v + xm))
        return nll, -np.array([d_p, d_q, d_v])

    # -- predictions ----------------------------------------------------------------------
    def mean_spend(self) -> float:
        """The population mean spend per transaction, ``p v / (q - 1)``.

        Raises
        ------
        FitError
            When q <= 1: the mean is infinite (Fader & Hardie 2013, eq. 2, needs q > 1).
        """
        p, q, v = self._param_array()
        if q <= 1.0:
            raise FitError(
                f"The population mean spend is infinite because the Gamma-Gamma q = {q:.3g} "
                "is at most 1 (spends are extremely heavy-tailed); it is only defined for q > 1."
            )
        return float(p * v / (q - 1.0))

    def expected_spend(self, frequency, monetary_value):
        """Expected mean spend per transaction of each customer, E[Z | x, mbar].

        ``(v + x mbar) p / (p x + q - 1)`` (Fader & Hardie 2013, eq. 5): a weighted average of
        the population mean ``p v / (q - 1)`` and the customer's own mean ``mbar``, with
        weight ``p x / (p x + q - 1)`` on the latter. Customers with frequency 0 get the
        population mean (their ``monetary_value`` is ignored and may be missing).

        Parameters
        ----------
        frequency, monetary_value : array-like or scalar
            Repeat purchases and their mean value, broadcast against each other.

        Returns
        -------
        float or numpy.ndarray
            A float for scalar inputs, else an array of the broadcast shape.

        Raises
        ------
        InputError
            For missing or negative values among repeat buyers.
        FitError
            When q <= 1 and some customer has frequency 0 (or p x + q <= 1): their expected
            spend is infinite.
        """
        p, q, v = self._param_array()
        try:
            x = np.asarray(frequency, dtype=float)
            m = np.asarray(monetary_value, dtype=float)
        except (TypeError, ValueError):
            raise InputError("frequency and monetary_value must hold numbers only") from None
        try:
            x, m = np.broadcast_arrays(x, m)
        except ValueError:
            raise InputError(
                "frequency and monetary_value must have the same length (or be single values), "
                f"got {x.size} and {m.size}"
            ) from None
        shape = x.shape
        x, m = x.ravel(), m.ravel()
        _check_frequency(x)
        rep = x > 0
        bad = rep & (~np.isfinite(m) | (m < 0))
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                "monetary_value must be a number, 0 or more, for every repeat buyer "
                f"(first bad value at position {i}: {m[i]:g})"
            )
        denom = p * x + q - 1.0
        if np.any(denom <= 0):
            n = int(np.sum(denom <= 0))
            raise FitError(
                f"The expected spend of {n} customer(s) is infinite: the Gamma-Gamma q = "
                f"{q:.3g} is at most 1, so the population mean spend is infinite and "
                "customers with few or no repeat purchases cannot be valued."
            )
        out = (v + x * np.where(rep, m, 0.0)) * p / denom
        return float(out[0]) if shape == () else out.reshape(shape)
