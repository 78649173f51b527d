"""Closed-form customer metrics: CLV, lifetime, churn, retention, NPS and unit economics.

Every function takes scalars or arrays and returns the same (broadcast) shape.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._errors import InputError

ArrayLike = npt.ArrayLike


def _as_float(x: ArrayLike, name: str) -> np.ndarray:
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number or an array of numbers, got {x!r}") from None


def _out(x: np.ndarray):
    return x.item() if x.ndim == 0 else x


def lifetime(churn_rate: ArrayLike):
    r"""Expected customer lifetime in periods under constant churn.

    .. math:: L = 1 / c

    Parameters
    ----------
    churn_rate : float or array
        Share of customers lost per period, ``0 < c <= 1``.

    Returns
    -------
    float or ndarray
        Expected lifetime in the same periods as the churn rate.

    References
    ----------
    Geometric lifetime with constant retention; the seed example: churn 1 % a month
    gives 100 months.
    """
    c = _as_float(churn_rate, "churn_rate")
    bad = ~np.isnan(c) & ((c <= 0) | (c > 1))
    if bad.any():
        raise InputError(f"churn_rate must be greater than 0 and at most 1, got {c[bad].flat[0]:g}")
    return _out(1.0 / c)
