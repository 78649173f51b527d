"""SIGTERM during ``xlclv report``: one line, exit status 143, no temp file, output untouched
(issue 10: it used to exit 143 silently)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xlclv.datasets import load_cdnow_transactions

ROOT = Path(__file__).resolve().parent.parent

# Runs `xlclv ARGS...`, pausing (after touching READY) in the fit stage, in the bulk write, in
# the scores file's write or in the big-data path.
SCRIPT = """
import sys, time
from pathlib import Path
ready, stage = Path(sys.argv[1]), sys.argv[2]
def pause():
    ready.touch()
    time.sleep(60)
if stage == "scores":  # the scores file's temp file is on disk
    import pandas as pd
    real_csv = pd.DataFrame.to_csv
    def to_csv(self, path, *a, **k):
        real_csv(self, path, *a, **k)
        pause()
    pd.DataFrame.to_csv = to_csv
elif stage == "big":
    from xlclv.report import bigdata
    real_big = bigdata.build_report_big
    def big(*a, **k):
        pause()
        return real_big(*a, **k)
    bigdata.build_report_big = big
elif stage == "fit":
    import xlclv.report.pipeline as pl
    real_fit = pl.fit
    def fit(*a, **k):
        pause()
        return real_fit(*a, **k)
    pl.fit = fit
else:
    from xlclv.report.writer import bulk, tables
    tables.BULK_ROWS = 3
    real_rows = bulk._sheet_with_rows
    def slow(xml, pending):
        pause()
        return real_rows(xml, pending)
    bulk._sheet_with_rows = slow
from xlclv.cli import main
sys.exit(main(sys.argv[3:]))
"""


def _terminate(tmp_path: Path, stage: str, args: list[str]) -> subprocess.CompletedProcess:
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(ready), stage, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(1200):
            if ready.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert ready.exists(), proc.communicate(timeout=30)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize(
    ("stage", "existing"),
    [
        ("fit", False),
        pytest.param("fit", True, marks=pytest.mark.slow),
        pytest.param("write", False, marks=pytest.mark.slow),
        pytest.param("write", True, marks=pytest.mark.slow),
        pytest.param("scores", False, marks=pytest.mark.slow),
        pytest.param("big", False, marks=pytest.mark.slow),
    ],
)
def test_sigterm_prints_one_line_and_leaves_nothing_behind(tmp_path, stage, existing):
    data = tmp_path / "data" / "in.csv"
    data.parent.mkdir()
    load_cdnow_transactions()[["customer_id", "date", "amount"]].to_csv(data, index=False)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = out_dir / "report.xlsx"
    source = data.parent if stage == "big" else data  # a folder: the big-data path
    args = ["report", str(source), "-o", str(output), "--model", "BGNBD"]
    if stage == "scores":
        args += ["--scores", str(out_dir / "scores.csv")]
    if existing:  # --force over a previous report: it must stay as it was
        output.write_bytes(b"previous report")
        args.append("--force")
    done = _terminate(tmp_path, stage, args)
    assert done.returncode == 128 + signal.SIGTERM
    lines = [line for line in done.stderr.splitlines() if "stopped" in line]
    assert lines == [f"xlclv: stopped (SIGTERM); no report written, '{output}' untouched"]
    assert "Traceback" not in done.stderr
    left = sorted(p.name for p in out_dir.iterdir())
    assert left == (["report.xlsx"] if existing else [])
    if existing:
        assert output.read_bytes() == b"previous report"
