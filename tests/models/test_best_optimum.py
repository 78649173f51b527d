"""The fit keeps the lowest optimum over its starting values, not the first one found: a
double well whose first start sits in the shallower well (minima by hand: f = (x^2 - 1)^2 +
0.3 x has its lower minimum near x = -1, f ~ -0.3, and the other near x = +1, f ~ +0.3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xlclv.models import BetaGeoModel


def _f(x):
    x = float(np.ravel(x)[0])
    return (x * x - 1.0) ** 2 + 0.3 * x


def _fg(x):
    v = float(np.ravel(x)[0])
    return _f(x), np.array([4.0 * v * (v * v - 1.0) + 0.3])


def test_the_lower_optimum_wins_over_the_first():
    starts = [[math.e], [1.0 / math.e]]  # log-parameters +1 (shallow well), then -1 (deep)
    best = BetaGeoModel()._best_optimum(_f, _fg, starts, stop_at_first=False, first_hessian=None)
    assert float(best.x[0]) == pytest.approx(-1.036, abs=0.01)  # root of 4x^3 - 4x + 0.3 = 0
    assert best.fun == pytest.approx(_f(best.x), rel=1e-9)
    assert best.fun < -0.29
