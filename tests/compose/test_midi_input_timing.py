"""MIDI clips whose timing the reader cannot use, and notes never switched off (real files
written by mido, read by the real reader and the real ``chords --from-midi`` CLI)."""

from __future__ import annotations

import mido
import pytest

from musicapp.cli import main
from musicapp.compose.midi_input import read_clip
from musicapp.errors import MusicappError


def _clip(path, *, off: bool) -> None:
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    for bar, chord in enumerate([(60, 64, 67), (57, 62, 65)]):
        for i, n in enumerate(chord):
            gap = 1920 if (bar and not off and i == 0) else 0
            tr.append(mido.Message("note_on", note=n, velocity=80, time=gap))
        if off:
            for i, n in enumerate(chord):
                tr.append(mido.Message("note_off", note=n, velocity=0, time=1920 if i == 0 else 0))
    tr.append(mido.MetaMessage("end_of_track", time=0 if off else 1920))
    mid.save(path)


def _division(path, value: int):
    raw = bytearray(path.read_bytes())
    raw[12:14] = value.to_bytes(2, "big")
    path.write_bytes(bytes(raw))


def test_smpte_division_is_named(tmp_path, capsys):
    # before: "no chord could be recognised"
    p = tmp_path / "smpte.mid"
    _clip(p, off=True)
    _division(p, 0xE728)  # -25 frames per second, 40 ticks per frame
    with pytest.raises(MusicappError, match="SMPTE time division is not supported"):
        read_clip(p)
    assert main(["chords", "--from-midi", str(p)]) == 2
    assert "SMPTE" in capsys.readouterr().err


def test_zero_ticks_per_beat_is_refused(tmp_path):
    # before: accepted silently (read as 480)
    p = tmp_path / "zero.mid"
    _clip(p, off=True)
    _division(p, 0)
    with pytest.raises(MusicappError, match="0 ticks per beat"):
        read_clip(p)


def test_notes_never_switched_off_last_to_the_end_of_the_track(tmp_path, capsys):
    # before: "the clip has no notes"
    p, ref = tmp_path / "open.mid", tmp_path / "closed.mid"
    _clip(p, off=False)
    _clip(ref, off=True)
    clip = read_clip(p)
    assert any("never switched off" in s for s in clip.notes_text)
    assert len(clip.notes) == 6 and max(n.start + n.dur for n in clip.notes) == pytest.approx(8.0)
    assert not any("never switched off" in s for s in read_clip(ref).notes_text)
    assert main(["chords", "--from-midi", str(p), "--json"]) == 0
