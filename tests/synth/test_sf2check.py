"""Damaged soundfonts are refused before tinysoundfont reads them (it segfaults on bad indices).

The soundfonts are built by the test: one preset -> one instrument -> one 440 Hz sample, as the
SoundFont 2.04 specification lays out, then one index is damaged.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from musicapp.errors import MusicappError
from musicapp.synth.sf2check import check_soundfont

ROOT = Path(__file__).resolve().parents[2]


def _chunk(cid: bytes, data: bytes) -> bytes:
    return cid + struct.pack("<I", len(data)) + data + (b"\0" if len(data) & 1 else b"")


def _list(kind: bytes, *subs: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(subs))


def _name(s: str) -> bytes:
    return s.encode().ljust(20, b"\0")


def tiny_sf2(*, sample_id: int = 0, bag_gen: int = 0, inst_id: int = 0,
             sample_end: int | None = None) -> bytes:
    """A valid one-preset soundfont; the keyword arguments damage one field each."""
    n = 4000
    wave = (np.sin(2 * np.pi * 440 * np.arange(n) / 44100) * 12000).astype("<i2").tobytes()
    info = _list(b"INFO", _chunk(b"ifil", struct.pack("<HH", 2, 1)), _chunk(b"INAM", b"tiny\0\0"))
    sdta = _list(b"sdta", _chunk(b"smpl", wave + bytes(92)))
    phdr = (struct.pack("<20sHHHIII", _name("Piano"), 0, 0, 0, 0, 0, 0)
            + struct.pack("<20sHHHIII", _name("EOP"), 0, 0, 1, 0, 0, 0))
    pbag = struct.pack("<HH", bag_gen, 0) + struct.pack("<HH", 1, 0)
    pgen = struct.pack("<HH", 41, inst_id) + struct.pack("<HH", 0, 0)
    inst = struct.pack("<20sH", _name("Sine"), 0) + struct.pack("<20sH", _name("EOI"), 1)
    ibag = struct.pack("<HH", 0, 0) + struct.pack("<HH", 2, 0)
    igen = struct.pack("<HH", 54, 1) + struct.pack("<HH", 53, sample_id) + struct.pack("<HH", 0, 0)
    shdr = (struct.pack("<20sIIIIIBbHH", _name("sine"), 0, sample_end or n, 100, n - 100, 44100,
                        69, 0, 0, 1)
            + struct.pack("<20sIIIIIBbHH", _name("EOS"), 0, 0, 0, 0, 0, 0, 0, 0, 0))
    pdta = _list(b"pdta", _chunk(b"phdr", phdr), _chunk(b"pbag", pbag), _chunk(b"pmod", bytes(10)),
                 _chunk(b"pgen", pgen), _chunk(b"inst", inst), _chunk(b"ibag", ibag),
                 _chunk(b"imod", bytes(10)), _chunk(b"igen", igen), _chunk(b"shdr", shdr))
    body = b"sfbk" + info + sdta + pdta
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_a_sound_soundfont_passes_and_renders(tmp_path):
    from musicapp.synth import render_midi
    from tests.synth.test_render import _dominant_hz, _one_note_midi

    good = tmp_path / "tiny.sf2"
    good.write_bytes(tiny_sf2())
    check_soundfont(good)
    y = render_midi(_one_note_midi(69), 44100, soundfont=good, mono=True)
    assert abs(_dominant_hz(y, 44100) - 440.0) < 5


@pytest.mark.parametrize(("damage", "needle"), [
    ({"sample_id": 60000}, "names sample 60000"),
    ({"bag_gen": 9000}, "indices run backwards"),
    ({"inst_id": 5000}, "names instrument 5000"),
    ({"sample_end": 10**9}, "outside the 4046 samples"),
])
def test_damaged_tables_are_refused(tmp_path, damage, needle):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(tiny_sf2(**damage))
    with pytest.raises(MusicappError, match=needle):
        check_soundfont(bad)


def test_a_damaged_soundfont_is_an_error_not_a_crash(tmp_path):
    """`chords --soundfont damaged.sf2 --wav x.wav`: before, the process died of SIGSEGV inside
    tinysoundfont (rc -11) and the GUI with it."""
    bad = tmp_path / "damaged.sf2"
    bad.write_bytes(tiny_sf2(sample_id=60000))
    r = subprocess.run([sys.executable, "-m", "musicapp", "chords", "--mood", "happy",
                        "--soundfont", str(bad), "--wav", str(tmp_path / "x.wav")],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT),
                            "MUSICAPP_DATA_DIR": str(tmp_path / "data")})
    assert r.returncode == 2, (r.returncode, r.stderr[-500:])
    assert "damaged.sf2: not a usable soundfont" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize("data", [b"", b"RIFF", b"RIFF\xff\xff\xff\x7fsfbkLIST", b"not a font" * 9])
def test_truncated_or_foreign_files_are_refused(tmp_path, data):
    bad = tmp_path / "x.sf2"
    bad.write_bytes(data)
    with pytest.raises(MusicappError, match="not a usable soundfont"):
        check_soundfont(bad)


def test_a_folder_or_device_is_named_as_such(tmp_path):
    from musicapp.synth import find_soundfont

    with pytest.raises(MusicappError, match="is a folder"):
        find_soundfont(tmp_path)
    with pytest.raises(MusicappError, match="not a regular file"):
        find_soundfont("/dev/zero")
