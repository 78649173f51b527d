"""xlclv.excel.vba_project: [MS-OVBA] compression and a new module in a VBA project, checked
against the spec's examples, oletools' independent decompressor and olefile's reader."""

from __future__ import annotations

import io
import warnings
import zipfile

import olefile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlclv._errors import WorkbookError
from xlclv.excel import addin, vba_project


def oletools_decompress(data: bytes) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from oletools.olevba import decompress_stream
    return bytes(decompress_stream(bytearray(data)))


def test_no_compression_example_of_the_spec():
    """[MS-OVBA] 3.2.1: the exact bytes the spec gives."""
    expected = bytes.fromhex(
        "01 19 B0 00 61 62 63 64 65 66 67 68 00 69 6A 6B 6C 6D 6E 6F 70 00 71 72 73 74 75 76 2E"
    )
    assert vba_project.compress(b"abcdefghijklmnopqrstuv.") == expected


def test_normal_compression_example_of_the_spec_decompresses():
    """[MS-OVBA] 3.2.3. The spec's own output picks other (equally valid) copy tokens than its
    matching pseudo-code, so the check is that both decompress to the input."""
    text = b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
    spec = bytes.fromhex(
        "01 2F B0 00 23 61 61 61 62 63 64 65 82 66 00 70 61 67 68 69 6A 01 38 08 61 6B 6C 00 30"
        " 6D 6E 6F 70 06 71 02 70 04 10 72 73 74 75 76 10 77 78 79 7A 00 3C"
    )
    assert oletools_decompress(spec) == text
    assert vba_project._decompress(spec) == text
    ours = vba_project.compress(text)
    assert len(ours) == len(spec)
    assert oletools_decompress(ours) == text


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=10000),
        st.text(alphabet="ab \r\nFunction()", max_size=12000).map(str.encode),
    )
)
def test_compression_round_trips_through_oletools(data):
    packed = vba_project.compress(data)
    assert oletools_decompress(packed) == data
    assert vba_project._decompress(packed) == data


def test_compression_of_text_is_smaller():
    text = b"Function F(x)\r\n    F = x\r\nEnd Function\r\n" * 400
    assert len(vba_project.compress(text)) < len(text) / 5


def _source_bin() -> bytes:
    with zipfile.ZipFile(addin.source_addin()) as z:
        return z.read("xl/vbaProject.bin")


def _olefile_streams(data: bytes) -> dict[str, bytes]:
    ole = olefile.OleFileIO(io.BytesIO(data))
    try:
        return {"/".join(e): ole.openstream("/".join(e)).read() for e in ole.listdir()}
    finally:
        ole.close()


@settings(max_examples=25, deadline=None)
@given(
    st.dictionaries(
        st.text(alphabet="abcXYZ_01", min_size=1, max_size=12),
        st.binary(max_size=9000),
        min_size=1,
        max_size=12,
    )
)
def test_written_compound_file_reads_back_with_olefile(files):
    streams = {("S", name): data for name, data in files.items()}
    streams[("top",)] = b"x" * 5000
    out = vba_project.write_cfb({(): bytes(16), ("S",): bytes(16)}, streams)
    assert len(out) % 512 == 0
    got = _olefile_streams(out)
    assert got == {"/".join(k): v for k, v in streams.items()}
    _check_red_black(out)


def _check_red_black(data: bytes) -> None:
    """Every storage's children form a binary search tree in [MS-CFB] order that is a valid
    red-black tree (black root, no red child of a red node, equal black height)."""
    ole = olefile.OleFileIO(io.BytesIO(data))
    try:
        entries = ole.direntries

        def check(sid: int, lo, hi, parent_red: bool) -> int:
            if sid == olefile.NOSTREAM:
                return 1
            e = entries[sid]
            key = vba_project._sort_key(e.name)
            assert (lo is None or lo < key) and (hi is None or key < hi)
            red = e.color == 0  # [MS-CFB] 2.6.1: 0x00 red, 0x01 black
            assert not (red and parent_red)
            left = check(e.sid_left, lo, key, red)
            right = check(e.sid_right, key, hi, red)
            assert left == right
            return left + (0 if red else 1)

        for e in entries:
            if e is not None and e.entry_type in (olefile.STGTY_STORAGE, olefile.STGTY_ROOT):
                if e.sid_child != olefile.NOSTREAM:
                    assert entries[e.sid_child].color == 1  # black root
                    check(e.sid_child, None, None, False)
    finally:
        ole.close()


def test_add_module_keeps_the_other_streams_and_lists_the_module():
    src = _source_bin()
    out = vba_project.add_module(src, "xlclv_test", "Function ONE()\n    ONE = 1\nEnd Function\n")
    before, after = _olefile_streams(src), _olefile_streams(out)
    for name in set(before) - {"VBA/dir", "PROJECT", "PROJECTwm"}:
        assert after[name] == before[name]
    assert oletools_decompress(after["VBA/xlclv_test"]) == (
        b'Attribute VB_Name = "xlclv_test"\r\nFunction ONE()\r\n    ONE = 1\r\nEnd Function\r\n'
    )
    names = vba_project.module_names(out)
    assert names == [*vba_project.module_names(src), "xlclv_test"]
    _check_red_black(out)


def test_add_module_refuses_a_duplicate_and_bad_names():
    src = _source_bin()
    with pytest.raises(WorkbookError, match="already has a module named xlwings"):
        vba_project.add_module(src, "xlwings", "")
    with pytest.raises(WorkbookError, match="letters, digits"):
        vba_project.add_module(src, "bad name", "")
    with pytest.raises(WorkbookError, match="Not a compound file"):
        vba_project.add_module(b"PK\x03\x04", "m", "")
