from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    if config.getoption("-m"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with -m slow")
    skip_reference = pytest.mark.skip(reason="reference grid: run with -m reference")
    for item in items:
        if "reference" in item.keywords:
            item.add_marker(skip_reference)
        elif "slow" in item.keywords:
            item.add_marker(skip_slow)


# Hypothesis: derandomised by default, so README's test command gives the same verdict on every
# run and machine (CI sets CI=true and gets the same profile). HYPOTHESIS_PROFILE=explore
# draws fresh random examples to hunt for new failures.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, max_examples=500, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def passes_seen(monkeypatch):
    """Records each big-data summarise stage's passes: (number of pass reads, the copy's
    folder or None), by wrapping xlclv.report.bigdata._passes."""
    from xlclv.report import bigdata as bd

    seen: list[tuple[int, object]] = []
    real = bd._passes

    def spy(*args):
        reads, folder = real(*args)
        seen.append((len(reads), folder))
        return reads, folder

    monkeypatch.setattr(bd, "_passes", spy)
    return seen
