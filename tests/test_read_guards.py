"""Hostile and damaged input files: resource guards before reading, one line and exit 2 for every
reader failure, Ctrl-C -> exit 130. Memory is measured in a subprocess under an address-space
limit, so a broken guard fails the test instead of exhausting the machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import zipfile

import pytest
import xlsxwriter

from xlclv import WorkbookError
from xlclv.cli import main
from xlclv.report import cli as report_cli
from xlclv.report.guards import MAX_CELLS, check_xlsx, column_letters, column_number
from xlclv.report.inputs import clean_transactions, read_workbook

ROWS = [
    ["customer_id", "date", "amount"],
    ["a", "2024-01-01", 1.0],
    ["a", "2024-02-01", 2.0],
    ["b", "2024-01-05", 3.0],
    ["b", "2024-03-05", 4.0],
]


def _xlsx(path, rows=ROWS, extra=None):
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Transactions")
    for r, row in enumerate(rows):
        ws.write_row(r, 0, row)
    if extra is not None:
        extra(ws)
    wb.close()
    return path


def _patched(src, dst, sheet_xml):
    """A copy of ``src`` whose first sheet's XML is ``sheet_xml(old_xml)`` (bytes or chunks)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
                continue
            new = sheet_xml(data)
            with zout.open(info.filename, "w", force_zip64=True) as fh:
                for piece in [new] if isinstance(new, bytes) else new:
                    fh.write(piece)
    return dst


def stray(tmp_path):
    return _xlsx(tmp_path / "stray.xlsx", extra=lambda ws: ws.write(99999, 16383, "x"))


def past_limits(tmp_path):
    src = _xlsx(tmp_path / "src.xlsx")
    extra = b'<row r="2000000"><c r="A2000000"><v>1</v></c></row></sheetData>'
    return _patched(src, tmp_path / "past.xlsx", lambda d: d.replace(b"</sheetData>", extra))


def bomb(tmp_path):
    """About 60 MB of identical rows packed into a few hundred KB."""
    src = _xlsx(tmp_path / "src.xlsx")

    def rows(d):
        yield d.split(b"<sheetData>")[0] + b"<sheetData>"
        blob = b'<row><c t="s"><v>1</v></c><c><v>45292</v></c><c><v>1</v></c></row>' * 50_000
        for _ in range(20):
            yield blob
        yield b"</sheetData></worksheet>"

    return _patched(src, tmp_path / "bomb.xlsx", rows)


def lying_bomb(tmp_path):
    """The bomb with its zip directory claiming the sheet unpacks to twice its packed size."""
    data = bytearray(bomb(tmp_path).read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    for sig, size_at, name_at in ((b"PK\x01\x02", 24, 46), (b"PK\x03\x04", 22, 30)):
        start = 0
        while (i := data.find(sig, start)) >= 0:
            start = i + 4
            if data[i + name_at : i + name_at + len(name)] == name:
                packed = int.from_bytes(data[i + size_at - 4 : i + size_at], "little")
                if packed != 0xFFFFFFFF:
                    data[i + size_at : i + size_at + 4] = (2 * packed).to_bytes(4, "little")
    path = tmp_path / "lying.xlsx"
    path.write_bytes(bytes(data))
    return path


def malformed(tmp_path):
    src = _xlsx(tmp_path / "src.xlsx")
    return _patched(src, tmp_path / "malformed.xlsx", lambda d: d[: len(d) // 2])


def not_a_zip(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"PK\x03\x04 truncated")
    return path


def encrypted(tmp_path):
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    return path


def ragged_csv(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("customer_id,date,amount\na,2024-01-01,1\nb,2024-01-02,1,000.00\n")
    return path


def unbalanced_csv(tmp_path):
    path = tmp_path / "quote.csv"
    path.write_text('customer_id,date,amount\na,2024-01-01,1\n"b,2024-01-02,2\n')
    return path


def bad_parquet(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1" + bytes(range(256)) * 4 + b"PAR1")
    return path


HOSTILE = {
    stray: r"holds \d+ cells but reaches XFD100000 .*stray cell.*Ctrl\+End",
    past_limits: r"past Excel's limits .*reaches C2000000",
    bomb: r"unpacks \d+ times .*zip bomb",
    lying_bomb: r"(unpacks \d+ times .*zip bomb|damaged)",
    malformed: r"Could not read sheet 'Transactions' of 'malformed.xlsx': its data is damaged",
    not_a_zip: r"Could not open 'fake.xlsx' as a workbook",
    encrypted: r"'locked.xlsx' as a workbook: it is password-protected",
    ragged_csv: r"line 3 has 4 fields where the header has 3 \(comma-separated\)",
    unbalanced_csv: r"unbalanced double quote starting near line 3",
    bad_parquet: r"Could not read 'bad.parquet' as Parquet",
}


# Files that would need gigabytes without the guards run only in a memory-limited subprocess
# (below): in the test process itself, a broken guard would take the machine's memory.
_BIG = (stray, bomb, lying_bomb, past_limits)
_IN_PROCESS = [f for f in HOSTILE if f not in _BIG]


@pytest.mark.parametrize("make", _IN_PROCESS, ids=[f.__name__ for f in _IN_PROCESS])
def test_reader_failures_are_one_line_with_exit_2(tmp_path, capsys, make):
    src = make(tmp_path)
    out = tmp_path / "out.xlsx"
    assert main(["report", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert re.search(HOSTILE[make], lines[0]), lines[0]
    assert not out.exists()


_MEASURE = textwrap.dedent(
    """
    import resource, sys
    limit = 3 * 1024**3  # a broken guard fails here instead of taking the machine's memory
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from xlclv.cli import main
    rc = main(["report", sys.argv[1], "-o", sys.argv[2]])
    print("RESULT", rc, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


@pytest.mark.parametrize("make", _BIG, ids=[f.__name__ for f in _BIG])
def test_guards_refuse_within_a_bounded_memory_budget(tmp_path, make):
    src = make(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(src), str(tmp_path / "out.xlsx")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "1000"},  # one error line, not wrapped by the console
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    result = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")]
    assert result, (proc.returncode, proc.stderr[-2000:])
    _, rc, maxrss_kb = result[0].split()
    assert int(rc) == 2
    assert int(maxrss_kb) * 1024 < 2 * 1024**3  # Linux reports kilobytes
    lines = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and re.search(HOSTILE[make], lines[0]), proc.stderr[-2000:]
    assert not (tmp_path / "out.xlsx").exists()


def test_guard_measures_the_cells_not_the_dimension_element(tmp_path):
    src = _xlsx(tmp_path / "src.xlsx")
    lying = _patched(
        src,
        tmp_path / "dim.xlsx",
        lambda d: re.sub(rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1:XFD1048576"/>', d),
    )
    stats = check_xlsx(lying).check_sheet("Transactions")
    assert (stats["rows"], stats["columns"], stats["cells"]) == (5, 3, 15)
    clean, issues = clean_transactions(read_workbook(lying).transactions)
    assert len(clean) == 4 and issues.empty


def test_a_large_but_dense_sheet_is_refused_as_too_large(tmp_path):
    # 26 columns x (MAX_CELLS / 26 + 1) rows would pass Excel's limits but not the budget:
    # checked on the scan's numbers directly (writing such a file would take minutes).
    guard = check_xlsx(_xlsx(tmp_path / "src.xlsx"))
    rows = MAX_CELLS // 26 + 1
    with pytest.raises(WorkbookError, match=r"too large to read within the memory budget"):
        guard._check_extent("T", {"rows": rows, "columns": 26, "cells": rows * 26, "bytes": 0})


def test_column_letters_round_trip():
    for n, letters in [(1, "A"), (26, "Z"), (27, "AA"), (702, "ZZ"), (703, "AAA"), (16384, "XFD")]:
        assert column_letters(n) == letters and column_number(letters) == n


def test_sixteen_thousand_columns_are_read_and_cleaned(tmp_path):
    """16,384 columns: header deduplication and segment columns are linear in the column count
    (they were quadratic: more than ten minutes)."""
    names = ["customer_id", "date", "amount"] + ["seg"] * 16_381  # duplicates get (2), (3)...
    rows = [names] + [
        [f"c{r % 3}", f"2024-01-{r:02d}", float(r)] + [r % 2] * 16_381 for r in (1, 2, 3)
    ]
    inputs = read_workbook(_xlsx(tmp_path / "wide.xlsx", rows))
    assert inputs.transactions.shape == (3, 16_384)
    assert inputs.transactions.columns[-1] == "seg (16381)"
    clean, issues = clean_transactions(inputs.transactions)
    assert clean.shape == (3, 16_384) and issues.empty
    assert clean["seg (16381)"].tolist() == ["1", "0", "1"]


def test_ctrl_c_is_one_line_and_exit_130(tmp_path, capsys, monkeypatch):
    src = _xlsx(tmp_path / "in.xlsx")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report_cli, "read_inputs", interrupted)
    assert main(["report", str(src), "-o", str(tmp_path / "out.xlsx")]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    assert len([x for x in err.splitlines() if x.strip()]) == 1
    assert not (tmp_path / "out.xlsx").exists()


def test_an_unexpected_reader_error_is_still_one_line(tmp_path, capsys, monkeypatch):
    src = tmp_path / "t.csv"
    src.write_text("customer_id,date,amount\na,2024-01-01,1\n")

    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(report_cli, "_read_inputs", broken)
    assert main(["report", str(src), "-o", str(tmp_path / "out.xlsx")]) == 2
    err = capsys.readouterr().err
    line = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(line) == 1 and "Could not read 't.csv': RuntimeError: boom second line" in line[0]


def test_no_traceback_in_a_real_process(tmp_path):
    src = ragged_csv(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "xlclv", "report", str(src), "-o", str(tmp_path / "o.xlsx")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert [x for x in proc.stderr.splitlines() if x.strip()][-1].startswith("error:")


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16"])
def test_non_utf8_csv_files_give_a_report(tmp_path, capsys, encoding):
    text = "Kunde;Datum;Betrag;Stadt\n"
    for k in range(30):
        for d in range(1 + k % 3):
            text += f"K{k};{d + 1:02d}.0{1 + k % 9}.2024;{10 + k},50;Köln\n"
    src = tmp_path / "t.csv"
    src.write_bytes(text.encode(encoding))
    rc = main(
        [
            "report",
            str(src),
            "-o",
            str(tmp_path / "out.xlsx"),
            "--columns",
            "customer_id=Kunde,date=Datum,amount=Betrag",
            "--date-order",
            "DMY",
        ]
    )
    out = capsys.readouterr()
    assert rc in WRITTEN, out.err
    assert "customer_id = 'Kunde', date = 'Datum', amount = 'Betrag'" in out.out
    assert "decimal comma" in out.out  # what was read from the data is said


# -- the reading options through the command line -------------------------------------------------


#: Exit statuses of a written report: 0, or 3 when it carries warnings. These files are tiny,
#: so the models may not converge (a warning, tested in test_report_guards.py); what is tested
#: here is that they were read, and read right.
WRITTEN = (0, 3)


def _report(tmp_path, src, *flags, name="out.xlsx"):
    code = main(["report", str(src), "-o", str(tmp_path / name), *flags])
    assert (tmp_path / name).is_file() or code not in WRITTEN
    return code


def _summary_value(out: str, label: str) -> str:
    return next(x.split(label, 1)[1].strip() for x in out.splitlines() if label in x)


def test_shopify_export_through_the_cli_matches_the_clean_file(tmp_path, capsys):
    from tests.test_reading import _clean_and_shopify

    clean_path, shop_path, _ = _clean_and_shopify(tmp_path)
    assert _report(tmp_path, clean_path, name="a.xlsx") in WRITTEN
    a = capsys.readouterr().out
    assert _report(tmp_path, shop_path, name="b.xlsx") in WRITTEN
    b = capsys.readouterr().out
    for label in ("customers", "total predicted CLV"):
        assert _summary_value(a, label) == _summary_value(b, label)
    assert "customer_id = 'Email', date = 'Created at', amount = 'Total'" in b


def test_locale_flags_decide_or_the_run_stops_naming_them(tmp_path, capsys):
    src = tmp_path / "t.csv"
    lines = ["customer;date;amount"]
    for k in range(20):
        lines += [f"c{k};01/0{1 + k % 9}/2024;1.234", f"c{k};0{1 + k % 9}/11/2024;2.500"]
    src.write_text("\n".join(lines) + "\n")
    assert _report(tmp_path, src) == 2
    err = capsys.readouterr().err
    assert "--date-order" in err and "Traceback" not in err
    assert _report(tmp_path, src, "--date-order", "DMY") == 2
    err = capsys.readouterr().err
    assert "--decimal-separator" in err and "'1.234'" in err
    assert _report(tmp_path, src, "--date-order", "DMY", "--decimal-separator", ",") in WRITTEN
    capsys.readouterr()


def test_sheet_and_columns_flags(tmp_path, capsys):
    rows = [["Kunde", "Datum", "Betrag"]] + [
        [f"k{k % 15}", f"2024-{1 + k % 12:02d}-{1 + k % 27:02d}", 10.0 + k] for k in range(60)
    ]
    wb = xlsxwriter.Workbook(str(tmp_path / "in.xlsx"))
    for name in ("Export 1", "Export 2"):
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            ws.write_row(r, 0, row)
    wb.close()
    src = tmp_path / "in.xlsx"
    assert _report(tmp_path, src) == 2
    assert "no sheet 'Transactions'" in capsys.readouterr().err
    flags = ["--columns", "customer_id=Kunde,date=Datum,amount=Betrag"]
    assert _report(tmp_path, src, *flags) == 2
    assert "several sheets" in capsys.readouterr().err
    assert _report(tmp_path, src, *flags, "--sheet", "export 2") in WRITTEN
    assert "customer_id = 'Kunde'" in capsys.readouterr().out
    assert (
        _report(tmp_path, src, "--columns", "who=Kunde", "--sheet", "Export 1", name="x.xlsx") == 2
    )
    assert "unknown field 'who'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("date_order", "YDM", "must be YMD, DMY or MDY"),
        ("decimal_separator", ";", r"must be \. \(point\) or , \(comma\)"),
        ("columns", "customer_id", "is not a column mapping"),
    ],
)
def test_settings_cells_for_reading_are_validated(key, value, message):
    from xlclv._errors import InputError
    from xlclv.report.settings import Settings

    with pytest.raises(InputError, match=rf"Setting '{key}' {message}"):
        Settings.from_values({key: value})
    ok = Settings.from_values(
        {
            "columns": "amount=Net, customer=Client",
            "date_order": "d/m/y",
            "decimal_separator": "comma",
        }
    )
    assert ok.columns == {"amount": "Net", "customer_id": "Client"}
    assert (ok.date_order, ok.decimal_separator) == ("DMY", ",")


@pytest.mark.parametrize("value", ["1899-12-31", "2300-01-01", "1850-06-01 10:00"])
def test_observation_end_outside_1900_2262_is_refused(value):
    from xlclv._errors import InputError
    from xlclv.report.settings import Settings

    with pytest.raises(InputError, match=r"Setting 'observation_end' must be a date from 1900"):
        Settings.from_values({"observation_end": value})
