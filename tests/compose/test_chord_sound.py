"""The chord track's instrument: a strum is a guitar (GM 25) unless a sound is chosen, and the
MIDI file, `--json` and the `--wav` rendering agree (real CLI, real MIDI reader, real soundfont)."""

from __future__ import annotations

import json

import mido
import numpy as np
import pytest
import soundfile as sf

from musicapp.cli import main
from musicapp.compose.midi_export import PATTERN_PROGRAMS, chord_program


def _chord_programs(mid: mido.MidiFile) -> list[int]:
    track = next(t for t in mid.tracks if any(m.type == "track_name" and m.name == "Chords"
                                              for m in t))
    return [m.program for m in track if m.type == "program_change"]


def test_each_pattern_writes_its_program_and_a_chosen_sound_wins():
    assert PATTERN_PROGRAMS == {"block": 4, "arpeggio": 4, "pop": 4, "strum": 25}
    assert chord_program("strum") == 25 and chord_program("strum", 48) == 48
    assert chord_program("block", 0) == 0
    with pytest.raises(ValueError, match=r"0\.\.127"):
        chord_program("strum", 128)


@pytest.mark.parametrize(("pattern", "program"), [("strum", 25), ("block", 4)])
def test_cli_midi_and_json_name_the_patterns_program(tmp_path, capsys, pattern, program):
    out = tmp_path / f"{pattern}.mid"
    assert main(["chords", "--mood", "happy", "--seed", "2", "--length", "4", "--pattern",
                 pattern, "-o", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["chord_program"] == program
    assert _chord_programs(mido.MidiFile(out)) == [program]


def test_wav_renders_the_guitar_the_midi_names(tmp_path, capsys):
    from musicapp.synth import render_midi
    from musicapp.synth.soundfont import find_soundfont

    font = find_soundfont()
    if font is None:
        pytest.skip("no General MIDI soundfont installed (the fallback synth has one sound)")
    mid_path, wav_path = tmp_path / "s.mid", tmp_path / "s.wav"
    assert main(["chords", "--mood", "happy", "--seed", "2", "--length", "4", "--pattern",
                 "strum", "-o", str(mid_path), "--wav", str(wav_path),
                 "--soundfont", str(font)]) == 0
    wav, sr = sf.read(wav_path, dtype="float32", always_2d=True)
    assert _chord_programs(mido.MidiFile(mid_path)) == [25]
    assert float(np.abs(wav).max()) < 0.99  # scaled, not clipped (the guitar peaks at ~1.4)

    def rendered(program: int) -> np.ndarray:
        mid = mido.MidiFile(mid_path)  # a fresh file: mido caches the merged tracks it plays
        for track in mid.tracks:
            for i, msg in enumerate(track):
                if msg.type == "program_change" and msg.channel == 0:
                    track[i] = msg.copy(program=program)
        y = np.asarray(render_midi(mid, sample_rate=sr, soundfont=str(font)), np.float32)
        return y.T if y.shape[0] in (1, 2) else y

    n = min(len(wav), len(rendered(25)))
    guitar, piano = rendered(25)[:n], rendered(4)[:n]
    err_guitar = float(np.abs(wav[:n] - guitar).max())
    err_piano = float(np.abs(wav[:n] - piano).max())
    # the same sound up to 16-bit rounding and the synth's state between renders; the piano is not
    assert err_guitar < 0.02 < 0.5 < err_piano, (err_guitar, err_piano)
