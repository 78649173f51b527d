"""Compare a rebuilt workbook with the checked-in one: numbers within a relative tolerance,
everything else byte for byte (XlsxWriter's comparison tests, minus the volatile parts).

Why a tolerance: fitted parameters, their standard errors and values computed from them
differ in the last digits between CPUs and BLAS builds. The optimiser stops within its
tolerance of the optimum along a path that rounding decides, and the Hessian comes from finite
differences. Measured on one machine with numpy's AVX-512, AVX2 and baseline paths and
OpenBLAS' Haswell and Prescott kernels: standard errors differed by 1e-9 relative (before the
central-difference Hessian, by 1e-5). An exact comparison of those digits tests the CPU, not
the code. 1e-7 relative leaves a factor 100 for other CPUs and still catches every real
change: a changed formula, setting or input moves numbers by far more.
"""

from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path

#: Parts that change on every save (XlsxWriter's comparison tests strip the same).
VOLATILE = frozenset({"docProps/core.xml"})
#: Relative tolerance for decimal numbers (integers, and all text, must match exactly).
REL_TOL = 1e-7
_NUM = rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
#: Decimal numbers anywhere (also inside text such as chart caches), and every number that is a
#: cell's or chart point's value, integers included: a total that is 1 on one CPU can be
#: 0.9999999999999999 on another.
_DECIMAL = re.compile(
    rb"(?<=<v>)"
    + _NUM
    + rb"(?=</v>)|(?<=<c:v>)"
    + _NUM
    + rb"(?=</c:v>)|-?\d+\.\d+(?:[eE][-+]?\d+)?"
)


def parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n not in VOLATILE}


def part_difference(fresh: bytes, shipped: bytes) -> str | None:
    """None if equal up to REL_TOL on decimal numbers, else a description of the first change."""
    if fresh == shipped:
        return None
    if _DECIMAL.split(fresh) != _DECIMAL.split(shipped):
        i = next(
            (k for k, (a, b) in enumerate(zip(fresh, shipped, strict=False)) if a != b),
            min(len(fresh), len(shipped)),
        )
        return (
            f"text differs at byte {i}: {fresh[i - 40 : i + 40]!r} vs {shipped[i - 40 : i + 40]!r}"
        )
    for a, b in zip(_DECIMAL.findall(fresh), _DECIMAL.findall(shipped), strict=True):
        if not math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=1e-300):
            return f"number {a.decode()} vs checked-in {b.decode()} (beyond {REL_TOL:g} relative)"
    return None


def drift(fresh_path: Path, shipped_path: Path) -> dict[str, str]:
    """{part: what changed} between two workbooks; {} when they match."""
    fresh, shipped = parts(fresh_path), parts(shipped_path)
    if sorted(fresh) != sorted(shipped):
        return {"(parts)": f"{sorted(set(fresh) ^ set(shipped))}"}
    found = {n: part_difference(fresh[n], shipped[n]) for n in sorted(fresh)}
    return {n: d for n, d in found.items() if d is not None}
