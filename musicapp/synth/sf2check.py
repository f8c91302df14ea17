"""Check a SoundFont 2 file's structure before the C renderer (tinysoundfont) reads it.

tinysoundfont trusts the file's indices: a damaged preset, bag, generator or sample header (one
wrong byte in the ``pdta`` list) makes it read outside its arrays and the whole process dies
with a segmentation fault (the GUI included). :func:`check_soundfont` walks the RIFF structure
(seeking over the sample data, reading only the small ``pdta`` list) and refuses, with a
:class:`~musicapp.errors.MusicappError` naming the file and the problem, every index that points
outside its table: preset -> bag -> generator/modulator, instrument -> bag -> generator/modulator,
the instrument and sample IDs inside generators, and sample ranges outside the sample data.
SF3 (compressed samples) is checked the same way except for the sample ranges.
"""

from __future__ import annotations

import struct
from itertools import pairwise
from pathlib import Path

from musicapp.errors import MusicappError

#: record sizes of the nine ``pdta`` sub-chunks (SoundFont 2.04, section 7)
_RECORD = {"phdr": 38, "pbag": 4, "pmod": 10, "pgen": 4, "inst": 22, "ibag": 4, "imod": 10,
           "igen": 4, "shdr": 46}
_GEN_INSTRUMENT = 41
_GEN_SAMPLE_ID = 53
#: the largest ``pdta`` list read (FluidR3_GM's is about 200 KB)
MAX_PDTA_BYTES = 64 << 20


def _bad(path: Path, problem: str) -> MusicappError:
    return MusicappError(f"{path}: not a usable soundfont ({problem})")


def _chunks(fh, end: int, path: Path):
    """(id, data offset, size) of the chunks from the current position up to ``end``."""
    while fh.tell() + 8 <= end:
        head = fh.read(8)
        cid, size = head[:4].decode("latin-1"), struct.unpack("<I", head[4:])[0]
        start = fh.tell()
        if start + size > end:
            raise _bad(path, f"chunk {cid!r} runs past the end of its list (truncated file?)")
        yield cid, start, size
        fh.seek(start + size + (size & 1))


def _lists(path: Path) -> tuple[dict[str, bytes], int | None]:
    """The ``pdta`` sub-chunks and the number of 16-bit samples in ``smpl`` (None for SF3)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise _bad(path, "no RIFF sfbk header")
        riff_end = min(size, 8 + struct.unpack("<I", head[4:8])[0])
        pdta: dict[str, bytes] = {}
        samples: int | None = None
        sf3 = False
        for cid, start, length in _chunks(fh, riff_end, path):
            if cid != "LIST" or length < 4:
                continue
            fh.seek(start)
            kind = fh.read(4)
            for sub, sub_start, sub_len in _chunks(fh, start + length, path):
                if kind == b"INFO" and sub == "ifil" and sub_len >= 4:
                    fh.seek(sub_start)
                    sf3 = struct.unpack("<H", fh.read(2))[0] >= 3
                elif kind == b"sdta" and sub == "smpl":
                    samples = sub_len // 2
                elif kind == b"pdta" and sub in _RECORD:
                    if sub_len > MAX_PDTA_BYTES:
                        raise _bad(path, f"{sub} chunk of {sub_len} bytes")
                    fh.seek(sub_start)
                    pdta[sub] = fh.read(sub_len)
                    if len(pdta[sub]) != sub_len:
                        raise _bad(path, f"{sub} chunk is truncated")
                fh.seek(sub_start + sub_len + (sub_len & 1))
            fh.seek(start + length + (length & 1))
    return pdta, None if sf3 else samples


def _records(path: Path, pdta: dict[str, bytes], name: str, fmt: str) -> list[tuple]:
    data = pdta.get(name)
    if data is None:
        raise _bad(path, f"the {name} chunk is missing")
    size = _RECORD[name]
    if len(data) % size or len(data) < size:
        raise _bad(path, f"the {name} chunk is {len(data)} bytes, not a whole number of "
                   f"{size}-byte records")
    return [struct.unpack_from(fmt, data, i) for i in range(0, len(data), size)]


def _check_chain(path: Path, what: str, starts: list[int], table: int) -> None:
    """Index ranges ``starts[i]..starts[i+1]`` must be increasing and inside a table of ``table``
    records (the last record of every table is its terminator)."""
    for i, (a, b) in enumerate(pairwise(starts)):
        if a > b:
            raise _bad(path, f"{what} {i}: its indices run backwards ({a} > {b})")
    if starts and starts[-1] > table - 1:
        raise _bad(path, f"{what}: index {starts[-1]} outside a table of {table} records")


def check_soundfont(path: str | Path) -> None:
    """Refuse (MusicappError) a soundfont whose tables would send the renderer out of bounds."""
    p = Path(path)
    try:
        pdta, samples = _lists(p)
    except OSError as exc:
        raise MusicappError(f"{p}: cannot read the soundfont ({exc.strerror or exc})") from None
    except (struct.error, UnicodeDecodeError) as exc:
        raise _bad(p, f"unreadable structure: {exc}") from None
    phdr = _records(p, pdta, "phdr", "<20sHHHIII")
    pbag = _records(p, pdta, "pbag", "<HH")
    pgen = _records(p, pdta, "pgen", "<HH")
    _records(p, pdta, "pmod", "<HHhHH")
    inst = _records(p, pdta, "inst", "<20sH")
    ibag = _records(p, pdta, "ibag", "<HH")
    igen = _records(p, pdta, "igen", "<HH")
    _records(p, pdta, "imod", "<HHhHH")
    shdr = _records(p, pdta, "shdr", "<20sIIIIIBbHH")
    n_pmod, n_imod = len(pdta["pmod"]) // 10, len(pdta["imod"]) // 10
    if len(phdr) < 2 or len(inst) < 2 or len(shdr) < 2:
        raise _bad(p, "no presets, instruments or samples")
    _check_chain(p, "preset", [r[3] for r in phdr], len(pbag))
    _check_chain(p, "preset zone (generators)", [r[0] for r in pbag], len(pgen))
    _check_chain(p, "preset zone (modulators)", [r[1] for r in pbag], n_pmod)
    _check_chain(p, "instrument", [r[1] for r in inst], len(ibag))
    _check_chain(p, "instrument zone (generators)", [r[0] for r in ibag], len(igen))
    _check_chain(p, "instrument zone (modulators)", [r[1] for r in ibag], n_imod)
    for i, (oper, amount) in enumerate(pgen[:-1]):
        if oper == _GEN_INSTRUMENT and amount >= len(inst) - 1:
            raise _bad(p, f"preset generator {i} names instrument {amount} of {len(inst) - 1}")
    for i, (oper, amount) in enumerate(igen[:-1]):
        if oper == _GEN_SAMPLE_ID and amount >= len(shdr) - 1:
            raise _bad(p, f"instrument generator {i} names sample {amount} of {len(shdr) - 1}")
    if samples is not None:
        for i, rec in enumerate(shdr[:-1]):
            start, end = rec[1], rec[2]
            if not start <= end <= samples:
                raise _bad(p, f"sample {i} ({start}..{end}) lies outside the {samples} samples "
                           "of sample data")
