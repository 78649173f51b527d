"""Add a VBA module to an existing ``vbaProject.bin`` without Excel ([MS-OVBA], [MS-CFB]).

``xlclv.xlam`` must carry the wrapper module that xlwings' *Import Functions* would write
(:func:`xlclv.excel.metadata.vba`, add-in flavour), so the functions work in every open
workbook with no per-workbook VBA reference. :func:`add_module` writes that module into the
VBA project of xlwings' Excel-made ribbon add-in:

- the module source, compressed as [MS-OVBA] 2.4.1 says, becomes a new stream ``VBA/<name>``
  with no compiled code (``MODULEOFFSET`` 0: the source starts at byte 0);
- the ``VBA/dir`` stream (compressed) gets a MODULE record and its module count goes up by one;
- the ``PROJECT`` stream gets ``Module=<name>`` and the ``PROJECTwm`` stream the name pair;
- every other stream is kept byte for byte, and the compound file is written anew
  (:func:`write_cfb`): olefile can only overwrite a stream with one of the same size.

Excel compiles the source when it opens the project: the source add-in's ``_VBA_PROJECT``
stream is already the 7-byte version-independent form ([MS-OVBA] 2.3.4.1, version 0xFFFF),
and its own ``xlwings`` module is stored the same way (source only, offset 0), so the new
module is stored exactly like a module Excel already loads from that file.

References: [MS-OVBA] Office VBA File Format Structure, sections 2.3.4 (streams) and 2.4.1
(compression); [MS-CFB] Compound File Binary File Format, sections 2.2-2.6.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable

from xlclv._errors import WorkbookError

__all__ = ["add_module", "compress", "read_cfb", "write_cfb"]

# ------------------------------------------------------------------ [MS-OVBA] 2.4.1 compression

_CHUNK = 4096


def _copy_token_bits(difference: int) -> int:
    """Bits of a CopyToken's offset for a position ``difference`` bytes into the chunk
    ([MS-OVBA] 2.4.1.3.19.1 CopyToken Help): max(ceil(log2(difference)), 4)."""
    bits = max((difference - 1).bit_length(), 4)
    return bits


def _compress_chunk(data: bytes) -> bytes:
    """One CompressedChunk for up to 4096 bytes ([MS-OVBA] 2.4.1.3.7)."""
    out = bytearray()
    pos = 0
    n = len(data)
    heads: dict[bytes, list[int]] = {}
    while pos < n:
        flag_at = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= n:
                break
            bits = _copy_token_bits(pos)
            max_len = (0xFFFF >> bits) + 3
            max_off = 1 << bits
            best_len, best_off = 0, 0
            key = data[pos : pos + 3]
            if len(key) == 3:
                for cand in reversed(heads.get(key, ())):
                    off = pos - cand
                    if off > max_off:
                        break
                    length = 3
                    limit = min(max_len, n - pos)
                    while length < limit and data[cand + length] == data[pos + length]:
                        length += 1
                    if length > best_len:
                        best_len, best_off = length, off
                        if length == limit:
                            break
            step = best_len if best_len >= 3 else 1
            if best_len >= 3:
                token = ((best_off - 1) << (16 - bits)) | (best_len - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
            else:
                out.append(data[pos])
            for k in range(pos, min(pos + step, n - 2)):
                heads.setdefault(data[k : k + 3], []).append(k)
            pos += step
        out[flag_at] = flags
    if len(out) > _CHUNK:  # incompressible: a raw chunk of exactly 4096 bytes
        if n != _CHUNK:
            raise WorkbookError("internal: an incompressible VBA chunk shorter than 4096 bytes")
        return struct.pack("<H", 0x3000 | (_CHUNK - 1)) + data
    return struct.pack("<H", 0xB000 | (len(out) + 2 - 3)) + bytes(out)


def compress(data: bytes) -> bytes:
    """A CompressedContainer ([MS-OVBA] 2.4.1.1.1): signature 0x01, then the chunks."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), _CHUNK):
        out += _compress_chunk(data[start : start + _CHUNK])
    return bytes(out)


def _decompress(data: bytes) -> bytes:
    """[MS-OVBA] 2.4.1.3.1, for reading the ``dir`` stream."""
    if not data or data[0] != 1:
        raise WorkbookError("The VBA project's dir stream is not a compressed container")
    out = bytearray()
    pos = 1
    while pos < len(data):
        (header,) = struct.unpack_from("<H", data, pos)
        size = (header & 0x0FFF) + 3
        end = min(pos + size, len(data))
        pos += 2
        chunk_start = len(out)
        if not header & 0x8000:
            out += data[pos : pos + _CHUNK]
            pos += _CHUNK
            continue
        while pos < end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= end:
                    break
                if flags & (1 << bit):
                    (token,) = struct.unpack_from("<H", data, pos)
                    pos += 2
                    bits = _copy_token_bits(len(out) - chunk_start)
                    length = (token & (0xFFFF >> bits)) + 3
                    offset = (token >> (16 - bits)) + 1
                    for _ in range(length):
                        out.append(out[-offset])
                else:
                    out.append(data[pos])
                    pos += 1
    return bytes(out)


# ------------------------------------------------------------------ [MS-OVBA] 2.3.4.2 dir stream


def _dir_records(raw: bytes) -> list[tuple[int, bytes]]:
    """(id, record bytes) of the decompressed dir stream, in order."""
    records = []
    pos = 0
    while pos < len(raw):
        rid, size = struct.unpack_from("<HI", raw, pos)
        if rid == 0x0009:  # PROJECTVERSION: Size says 4, but 6 bytes follow
            size = 6
        records.append((rid, raw[pos : pos + 6 + size]))
        pos += 6 + size
    return records


def _record(rid: int, payload: bytes) -> bytes:
    return struct.pack("<HI", rid, len(payload)) + payload


def _module_record(name: str, codepage: str) -> bytes:
    """A MODULE record ([MS-OVBA] 2.3.4.2.3.2) of a procedural module with source only."""
    mbcs, utf16 = name.encode(codepage), name.encode("utf-16-le")
    return b"".join(
        [
            _record(0x0019, mbcs),  # MODULENAME
            _record(0x0047, utf16),  # MODULENAMEUNICODE
            _record(0x001A, mbcs),  # MODULESTREAMNAME
            _record(0x0032, utf16),
            _record(0x001C, b""),  # MODULEDOCSTRING
            _record(0x0048, b""),
            _record(0x0031, struct.pack("<I", 0)),  # MODULEOFFSET: the source starts at 0
            _record(0x001E, struct.pack("<I", 0)),  # MODULEHELPCONTEXT
            _record(0x002C, struct.pack("<H", 0xFFFF)),  # MODULECOOKIE
            _record(0x0021, b""),  # MODULETYPE: procedural
            _record(0x002B, b""),  # Terminator
        ]
    )


def _codepage(records: list[tuple[int, bytes]]) -> str:
    for rid, rec in records:
        if rid == 0x0003:  # PROJECTCODEPAGE
            return f"cp{struct.unpack_from('<H', rec, 6)[0]}"
    return "cp1252"


def _module_names(records: list[tuple[int, bytes]]) -> list[str]:
    codepage = _codepage(records)
    return [rec[6:].decode(codepage) for rid, rec in records if rid == 0x0019]


def _add_to_dir(raw: bytes, name: str) -> bytes:
    records = _dir_records(raw)
    if not records or records[-1][0] != 0x0010:
        raise WorkbookError("The VBA project's dir stream does not end with its terminator")
    if name.lower() in (m.lower() for m in _module_names(records)):
        raise WorkbookError(f"The VBA project already has a module named {name}")
    out = []
    for rid, rec in records[:-1]:
        if rid == 0x000F:  # PROJECTMODULES: Count + 1
            (count,) = struct.unpack_from("<H", rec, 6)
            rec = rec[:6] + struct.pack("<H", count + 1)
        out.append(rec)
    out.append(_module_record(name, _codepage(records)))
    out.append(records[-1][1])
    return b"".join(out)


# ------------------------------------------------------------------ PROJECT, PROJECTwm


def _add_to_project(text: bytes, name: str) -> bytes:
    lines = text.split(b"\r\n")
    entry = b"Module=" + name.encode("ascii")
    last = max(
        (i for i, ln in enumerate(lines) if ln.split(b"=", 1)[0] in (b"Module", b"Document")),
        default=0,
    )
    lines.insert(last + 1, entry)
    if b"[Workspace]" in lines:
        at = lines.index(b"[Workspace]") + 1
        while at < len(lines) and lines[at]:
            at += 1
        lines.insert(at, name.encode("ascii") + b"=0, 0, 0, 0, C")
    return b"\r\n".join(lines)


def _add_to_name_map(data: bytes, name: str, codepage: str) -> bytes:
    """PROJECTwm ([MS-OVBA] 2.3.1.3): pairs of MBCS and UTF-16 names, then 0x0000."""
    if not data.endswith(b"\x00\x00"):
        raise WorkbookError("The VBA project's PROJECTwm stream has no terminator")
    pair = name.encode(codepage) + b"\x00" + name.encode("utf-16-le") + b"\x00\x00"
    return data[:-2] + pair + b"\x00\x00"


def add_module(vba_project: bytes, name: str, source: str) -> bytes:
    """``vba_project`` (a ``vbaProject.bin``) with a new standard module ``name``.

    Parameters
    ----------
    vba_project : bytes
        The compound file of a VBA project, e.g. ``xl/vbaProject.bin`` of an ``.xlam``.
    name : str
        The module (and stream) name, ASCII letters, digits and underscores.
    source : str
        The module's VBA code without the ``Attribute VB_Name`` line (added here); line ends
        become CRLF as VBA stores them.

    Returns
    -------
    bytes
        The new ``vbaProject.bin``.
    """
    if not name.replace("_", "").isalnum() or not name.isascii() or not name[0].isalpha():
        raise WorkbookError(f"A VBA module name must be letters, digits and _, got {name!r}")
    storages, streams = read_cfb(vba_project)
    dir_raw = _decompress(streams[("VBA", "dir")])
    codepage = _codepage(_dir_records(dir_raw))
    text = source.replace("\r\n", "\n").replace("\n", "\r\n")
    code = f'Attribute VB_Name = "{name}"\r\n{text}'.encode(codepage)
    streams[("VBA", "dir")] = compress(_add_to_dir(dir_raw, name))
    streams[("VBA", name)] = compress(code)
    streams[("PROJECT",)] = _add_to_project(streams[("PROJECT",)], name)
    if ("PROJECTwm",) in streams:
        streams[("PROJECTwm",)] = _add_to_name_map(streams[("PROJECTwm",)], name, codepage)
    return write_cfb(storages, streams)


def module_names(vba_project: bytes) -> list[str]:
    """The module names listed in the project's ``dir`` stream, in order."""
    _, streams = read_cfb(vba_project)
    return _module_names(_dir_records(_decompress(streams[("VBA", "dir")])))


# ------------------------------------------------------------------ [MS-CFB] read and write

_FREE, _END, _FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF
_SECTOR, _MINI, _CUTOFF = 512, 64, 4096

Path_ = tuple[str, ...]


def read_cfb(data: bytes) -> tuple[dict[Path_, bytes], dict[Path_, bytes]]:
    """({storage path: CLSID}, {stream path: bytes}) of a compound file, read with olefile."""
    import olefile

    if not olefile.isOleFile(io.BytesIO(data)):
        raise WorkbookError("Not a compound file (vbaProject.bin)")
    ole = olefile.OleFileIO(io.BytesIO(data))
    try:
        storages: dict[Path_, bytes] = {(): _clsid_bytes(ole.root.clsid)}
        streams: dict[Path_, bytes] = {}
        for entry in ole.listdir(streams=True, storages=True):
            path = tuple(entry)
            if ole.get_type("/".join(entry)) == olefile.STGTY_STORAGE:
                storages[path] = _clsid_bytes(ole.getclsid("/".join(entry)))
            else:
                streams[path] = ole.openstream("/".join(entry)).read()
        return storages, streams
    finally:
        ole.close()


def _clsid_bytes(text: str) -> bytes:
    import uuid

    return uuid.UUID(text).bytes_le if text else bytes(16)


def _sort_key(name: str) -> tuple[int, str]:
    """[MS-CFB] 2.6.4: shorter names first, then by upper-cased UTF-16 code units."""
    return (len(name.encode("utf-16-le")), name.upper())


class _Entry:
    def __init__(self, name: str, kind: int, clsid: bytes = bytes(16), data: bytes = b""):
        self.name, self.kind, self.clsid, self.data = name, kind, clsid, data
        self.left = self.right = self.child = _NOSTREAM
        self.black = True
        self.start, self.size = _END, 0
        self.children: list[_Entry] = []


def _tree(entries: list[_Entry], index: dict[int, int], depth: int, deepest: int) -> int:
    """A balanced binary search tree of sorted ``entries``: median at the root. Leaves sit on
    two adjacent levels, so colouring the deepest level red (when that level is not full)
    and every other node black is a valid red-black tree, as [MS-CFB] 2.6.4 asks."""
    if not entries:
        return _NOSTREAM
    mid = len(entries) // 2
    node = entries[mid]
    node.black = depth < deepest or depth == 0
    node.left = _tree(entries[:mid], index, depth + 1, deepest)
    node.right = _tree(entries[mid + 1 :], index, depth + 1, deepest)
    return index[id(node)]


def _depth(n: int) -> int:
    """Depth of the deepest node of a median-split tree of ``n`` nodes (root at 0)."""
    return max(n.bit_length() - 1, 0)


def _chain(fat: list[int], first: int, count: int) -> None:
    for k in range(count):
        fat[first + k] = first + k + 1 if k < count - 1 else _END


def write_cfb(storages: dict[Path_, bytes], streams: dict[Path_, bytes]) -> bytes:
    """A version 3 compound file (512-byte sectors) holding ``storages`` and ``streams``.

    Streams under 4096 bytes go to the mini stream (64-byte sectors), the others to their own
    chains of sectors. Times are zero (allowed by [MS-CFB] 2.6.3).
    """
    root = _Entry("Root Entry", 5, storages.get((), bytes(16)))
    nodes: dict[Path_, _Entry] = {(): root}
    for path in sorted(storages, key=len):
        if path:
            nodes[path] = _Entry(path[-1], 1, storages[path])
            nodes[path[:-1]].children.append(nodes[path])
    for path, data in streams.items():
        if path[:-1] not in nodes:
            raise WorkbookError(f"internal: stream {'/'.join(path)} has no storage")
        nodes[path] = _Entry(path[-1], 2, data=data)
        nodes[path[:-1]].children.append(nodes[path])
    entries = [root] + [nodes[p] for p in sorted(nodes, key=lambda p: (len(p), p)) if p]
    index = {id(e): i for i, e in enumerate(entries)}
    for e in entries:
        if len(e.name) > 31:
            raise WorkbookError(f"internal: compound file name too long: {e.name}")
        kids = sorted(e.children, key=lambda c: _sort_key(c.name))
        e.child = _tree(kids, index, 0, _depth(len(kids))) if kids else _NOSTREAM
        if kids and len(kids) == (1 << (_depth(len(kids)) + 1)) - 1:
            for k in kids:  # a full tree: all black
                k.black = True

    # the mini stream
    mini = bytearray()
    minifat: list[int] = []
    for e in entries:
        if e.kind == 2 and 0 < len(e.data) < _CUTOFF:
            e.start, e.size = len(mini) // _MINI, len(e.data)
            count = -(-len(e.data) // _MINI)
            first = len(minifat)
            minifat += [0] * count
            _chain(minifat, first, count)
            mini += e.data + bytes(count * _MINI - len(e.data))
        elif e.kind == 2:
            e.size = len(e.data)
    big = [e for e in entries if e.kind == 2 and len(e.data) >= _CUTOFF]

    def sectors(nbytes: int) -> int:
        return -(-nbytes // _SECTOR)

    n_dir = sectors(len(entries) * 128)
    n_minifat = sectors(len(minifat) * 4)
    n_mini = sectors(len(mini))
    n_big = sum(sectors(len(e.data)) for e in big)
    n_fat = 1
    while n_fat * (_SECTOR // 4) < n_fat + n_dir + n_minifat + n_mini + n_big:
        n_fat += 1
    if n_fat > 109:
        raise WorkbookError("internal: VBA project too large for a header-only DIFAT")
    total = n_fat + n_dir + n_minifat + n_mini + n_big
    fat = [_FREE] * (n_fat * (_SECTOR // 4))
    for k in range(n_fat):
        fat[k] = _FATSECT
    at = n_fat
    dir_start = at
    _chain(fat, at, n_dir)
    at += n_dir
    minifat_start = at if n_minifat else _END
    _chain(fat, at, n_minifat)
    at += n_minifat
    root.start = at if n_mini else _END
    root.size = len(mini)
    _chain(fat, at, n_mini)
    at += n_mini
    for e in big:
        count = sectors(len(e.data))
        e.start = at
        _chain(fat, at, count)
        at += count
    assert at == total

    body = io.BytesIO()

    def put(data: bytes) -> None:
        body.write(data + bytes((-len(data)) % _SECTOR))

    put(struct.pack(f"<{len(fat)}I", *fat))
    put(b"".join(_dir_entry(e) for e in entries) + _EMPTY_ENTRY * (-len(entries) % 4))
    if n_minifat:
        padded = minifat + [_FREE] * (-len(minifat) % (_SECTOR // 4))
        put(struct.pack(f"<{len(padded)}I", *padded))
    if n_mini:
        put(bytes(mini))
    for e in big:
        put(e.data)

    difat = list(range(n_fat)) + [_FREE] * (109 - n_fat)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        bytes(16),
        0x003E,  # minor version
        0x0003,  # major version 3
        0xFFFE,  # byte order
        9,  # sector shift: 512
        6,  # mini sector shift: 64
        bytes(6),
        0,  # directory sectors (0 in version 3)
        n_fat,
        dir_start,
        0,  # transaction signature
        _CUTOFF,
        minifat_start,
        n_minifat,
        _END,  # first DIFAT sector: none
        0,
    ) + struct.pack("<109I", *difat)
    assert len(header) == _SECTOR
    return header + body.getvalue()


def _dir_entry(e: _Entry) -> bytes:
    name = e.name.encode("utf-16-le") + b"\x00\x00"
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name,
        len(name),
        e.kind,
        1 if e.black else 0,
        e.left,
        e.right,
        e.child,
        e.clsid,
        0,  # state bits
        0,  # creation time
        0,  # modified time
        e.start if e.kind != 1 else 0,
        e.size if e.kind != 1 else 0,
    )


_EMPTY_ENTRY = struct.pack(
    "<64sHBBIII16sIQQIQ", b"", 0, 0, 0, _NOSTREAM, _NOSTREAM, _NOSTREAM, bytes(16), 0, 0, 0, 0, 0
)


def names_in_order(items: Iterable[str]) -> list[str]:
    """``items`` in the compound file's directory order (for tests and diagnostics)."""
    return sorted(items, key=_sort_key)
