"""Hostile CSV files: no line break, a huge value, millions of columns (issue 10). Each stops
with one line (what, where, how to fix) and exit 2, in bounded memory and time, on both the
in-memory path and the big-data (DuckDB) path; ordinary files read as before."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlclv import WorkbookError
from xlclv.cli import main
from xlclv.report import read as read_mod
from xlclv.report.cli import one_line
from xlclv.report.inputs import clean_transactions, read_table_file

CLEAN = "customer_id,date,amount\nA,2024-01-01,10\nA,2024-02-01,20\nB,2024-01-05,5\n"


def _one_error(capsys, src, tmp_path) -> str:
    out = tmp_path / "out.xlsx"
    assert main(["report", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert not out.exists()
    return lines[0]


def test_a_file_without_line_breaks_stops_in_one_short_line(tmp_path, capsys):
    src = tmp_path / "blob.csv"
    src.write_bytes(b"x" * (read_mod.MAX_CSV_LINE_BYTES + 10))
    line = _one_error(capsys, src, tmp_path)
    assert "'blob.csv' has no line break at all" in line
    assert "export the data again as CSV" in line and len(line) < 400


def test_one_over_long_line_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(read_mod, "MAX_CSV_LINE_BYTES", 1000)
    src = tmp_path / "t.csv"
    src.write_text(CLEAN + "C,2024-01-09," + "9" * 2000 + "\n" + "D,2024-01-01,1\n")
    with pytest.raises(WorkbookError, match=r"'t\.csv' line 5 is 2,013 bytes long"):
        read_table_file(src)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_ordinary_line_ends_still_read_the_same(tmp_path, monkeypatch, newline):
    monkeypatch.setattr(read_mod, "MAX_CSV_LINE_BYTES", 40)  # every line is shorter
    src = tmp_path / "t.csv"
    src.write_bytes(CLEAN.replace("\n", newline).encode())
    tx, issues = clean_transactions(read_table_file(src).transactions)
    assert issues.empty
    assert sorted(tx["customer_id"]) == ["A", "A", "B"] and tx["amount"].sum() == 35


@pytest.mark.parametrize("at", [0, 1])  # the header itself, or a title line above it
def test_a_header_with_more_fields_than_excel_columns_stops(tmp_path, capsys, at):
    lines = CLEAN.splitlines(keepends=True)
    wide = ",".join(f"c{i}" for i in range(20_000)) + "\n"
    if at == 0:
        lines[0] = lines[0].rstrip("\n") + "," + wide
    else:
        lines.insert(0, wide)
    src = tmp_path / "wide.csv"
    src.write_text("".join(lines))
    line = _one_error(capsys, src, tmp_path)
    fields = 20_000 + (3 if at == 0 else 0)
    assert f"'wide.csv' line 1 has {fields:,} comma-separated fields" in line
    assert "16,384 columns" in line and len(line) < 400


def test_a_data_line_wider_than_the_header_stops_naming_it(tmp_path, capsys):
    src = tmp_path / "t.csv"
    src.write_text(CLEAN + "C,2024-01-09," + ",".join(["1"] * 20_000) + "\nD,2024-01-01,1\n")
    line = _one_error(capsys, src, tmp_path)
    assert "'t.csv' line 5 has 20002 fields where the header has 3" in line


def test_a_huge_value_stops_naming_row_and_column(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(read_mod, "MAX_CSV_FIELD_CHARS", 1000)
    note = ("y" * 99 + "\n") * 30  # 3,000 characters over 30 lines: no line is long
    src = tmp_path / "t.csv"
    src.write_text(
        "customer_id,date,amount,note\nA,2024-01-01,10,ok\n"
        f'A,2024-02-01,20,"{note}"\nB,2024-01-05,5,ok\n'
    )
    line = _one_error(capsys, src, tmp_path)
    assert "'t.csv' row 3, column 'note' holds a value of 3,000 characters" in line


def test_a_long_value_within_the_limit_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(read_mod, "MAX_CSV_FIELD_CHARS", 1000)
    src = tmp_path / "t.csv"
    src.write_text(f'customer_id,date,amount,note\nA,2024-01-01,10,"{"y" * 1000}"\n')
    frame = read_table_file(src).transactions
    assert frame["note"].str.len().tolist() == [1000]


@settings(max_examples=200)
@given(st.lists(st.sampled_from([b"x", b"\n", b"\r", b"ab"]), max_size=60), st.integers(1, 7))
def test_longest_line_matches_a_brute_force_split(parts, chunk):
    data = b"".join(parts)
    length, start = read_mod._longest_line(data, chunk=chunk)
    pieces = re.split(rb"[\r\n]", data)
    assert length == max((len(x) for x in pieces), default=0)
    if length:
        assert (
            b"\n" not in data[start : start + length] and b"\r" not in data[start : start + length]
        )
        assert start == 0 or data[start - 1 : start] in (b"\n", b"\r")
        assert start + length == len(data) or data[start + length : start + length + 1] in (
            b"\n",
            b"\r",
        )


def test_a_header_of_megabytes_is_clipped_in_the_message(tmp_path, capsys):
    src = tmp_path / "t.csv"
    src.write_text("x" * 3_000_000 + "\nA\n")
    line = _one_error(capsys, src, tmp_path)
    assert "(3,000,000 characters)" in line and len(line) < 1000


def test_one_line_clips_what_a_message_quotes():
    assert one_line(ValueError("bad " + "z" * 5000 + " end")) == (
        "bad " + "z" * 299 + "…(5,000 characters) end"
    )
    path = "/" + "d" * 250 + "/out.xlsx"  # a long path is not clipped
    assert one_line(ValueError(f"'{path}' already exists")) == f"'{path}' already exists"
    long = one_line(ValueError(" ".join(["word"] * 1000)))
    assert len(long) == 4000 and long.endswith("…")


_MEASURE = textwrap.dedent(
    """
    import resource, sys
    limit = 3 * 1024**3  # a broken guard fails here instead of taking the machine's memory
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from xlclv.report import bigdata
    if sys.argv[3] == "big":
        bigdata.BIG_CSV_BYTES = 1  # the DuckDB path, without a 256 MiB file
    from xlclv.cli import main
    rc = main(["report", sys.argv[1], "-o", sys.argv[2]])
    print("RESULT", rc, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


def _measured(tmp_path, src, path):
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(src), str(tmp_path / "out.xlsx"), path],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "1000"},  # one error line, not wrapped by the console
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    result = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
    assert result, (proc.returncode, proc.stderr[-2000:])
    _, rc, maxrss_kb = result[0].split()
    lines = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert int(rc) == 2 and len(lines) == 1, proc.stderr[-2000:]
    assert not (tmp_path / "out.xlsx").exists()
    return lines[0], int(maxrss_kb) * 1024  # Linux reports kilobytes


@pytest.mark.slow
@pytest.mark.parametrize("path", ["memory", "big"])
def test_a_100_mb_line_stops_in_bounded_memory_on_both_paths(tmp_path, path):
    src = tmp_path / "blob.csv"
    with open(src, "wb") as f:
        for _ in range(100):
            f.write(b"customer_id,date,amount," * 40_000 + b"x" * 40_000)  # 1 MB, no break
    line, peak = _measured(tmp_path, src, path)
    assert len(line) < 600, line
    assert re.search(r"blob\.csv' has (no line break at all|a line longer than)", line), line
    assert peak < 2**30, peak  # 1 GiB; the old reader took about 12x the file
