"""Small helpers shared by the benchmarks: timing (median of N runs) and peak memory."""

from __future__ import annotations

import gc
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, list[float], Any]:
    """Run ``fn`` ``repeat`` times; return (median seconds, all times, the last result)."""
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak / 1e3


def machine() -> str:
    """One line describing where the numbers were measured."""
    import numpy as np
    import pandas as pd

    return (
        f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, "
        f"{platform.machine()} {platform.system()}, {_cpus()} CPUs"
    )


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def fmt_seconds(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"
