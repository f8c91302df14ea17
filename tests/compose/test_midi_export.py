"""MIDI export: read back by mido and pretty_midi, rendered by a real synthesiser, markers match
the notes, atomic and never overwriting silently."""

from __future__ import annotations

import shutil
import subprocess

import mido
import numpy as np
import pretty_midi
import pytest
import soundfile as sf

from musicapp.compose.arrange import arrange
from musicapp.compose.midi_export import TICKS_PER_BEAT, TRACKS, chord_program, write_midi
from musicapp.compose.theory import chord_name_pcs
from musicapp.errors import FileExistsRefusal
from musicapp.synth import find_soundfont

from .helpers import progression

CASES = [
    (["I", "V", "vi", "IV", "ii7", "V7/V", "V7", "I"], "D", "pop", 0.5),
    (["i", "bVI", "bIII", "bVII", "iv", "viiø7/V", "V7", "i"], "F#m", "arpeggio", -0.2),
    (["Imaj7", "bVII", "IVadd9", "iv", "Isus4", "V9", "bVI", "V"], "Bb", "strum", 0.9),
    (["i", "bII", "V7", "i"], "Ebm", "block", -0.8),
]


def _write(tmp_path, roman, key, pattern, arousal, name="out.mid"):
    beats = [4.0 if i % 3 == 0 else 2.0 for i in range(len(roman))]
    arr = arrange(progression(roman, key, beats=beats, arousal=arousal), pattern=pattern, seed=1)
    path = write_midi(arr, tmp_path / name)
    return arr, path


@pytest.mark.parametrize(("roman", "key", "pattern", "arousal"), CASES)
def test_read_back_mido(tmp_path, roman, key, pattern, arousal):
    arr, path = _write(tmp_path, roman, key, pattern, arousal)
    mid = mido.MidiFile(path)
    assert mid.type == 1 and mid.ticks_per_beat == TICKS_PER_BEAT == 480
    names = [next(m.name for m in t if m.type == "track_name") for t in mid.tracks]
    assert names[1:] == ["Chords", "Bass", "Melody"]
    metas = {m.type: m for m in mid.tracks[0] if m.is_meta}
    assert mido.tempo2bpm(metas["set_tempo"].tempo) == pytest.approx(arr.tempo_bpm, abs=0.01)
    assert metas["time_signature"].numerator == 4 and metas["time_signature"].denominator == 4
    assert metas["key_signature"].key == arr.key.mido_key()
    for track, name in zip(mid.tracks[1:], ["Chords", "Bass", "Melody"], strict=True):
        chans = {m.channel for m in track if hasattr(m, "channel")}
        assert chans == {TRACKS[name][0]}
        progs = [m.program for m in track if m.type == "program_change"]
        assert progs == [chord_program(pattern) if name == "Chords" else TRACKS[name][1]]
    # markers carry the chord names and match the Chords-track notes in their span
    markers, now = [], 0
    for m in mid.tracks[0]:
        now += m.time
        if m.type == "marker":
            markers.append((now, m.text))
    assert [t for _, t in markers] == [tok.name(arr.key) for _, _, tok in arr.spans]
    onsets, now = [], 0
    for m in mid.tracks[1]:
        now += m.time
        if m.type == "note_on" and m.velocity > 0:
            onsets.append((now, m.note))
    bounds = [t for t, _ in markers] + [round(arr.total_beats * 480)]
    for (start, name), end in zip(markers, bounds[1:], strict=True):
        pcs = {n % 12 for t, n in onsets if start <= t < end}
        want = chord_name_pcs(name)
        assert pcs <= want and len(pcs) >= min(3, len(want))


@pytest.mark.parametrize(("roman", "key", "pattern", "arousal"), CASES[:2])
def test_read_back_pretty_midi(tmp_path, roman, key, pattern, arousal):
    arr, path = _write(tmp_path, roman, key, pattern, arousal)
    pm = pretty_midi.PrettyMIDI(str(path))
    assert [i.name for i in pm.instruments] == ["Chords", "Bass", "Melody"]
    assert [i.program for i in pm.instruments] == [chord_program(pattern), 33, 73]
    assert pm.estimate_tempo() > 0
    _, tempi = pm.get_tempo_changes()
    assert tempi[0] == pytest.approx(arr.tempo_bpm, abs=0.01)
    expected_end = arr.total_beats * 60.0 / arr.tempo_bpm
    assert pm.get_end_time() == pytest.approx(expected_end, abs=0.3)
    assert pm.key_signature_changes[0].key_number == pretty_midi.key_name_to_key_number(
        arr.key.tonic + (" minor" if arr.key.mode == "minor" else " major"))
    # chroma of the Chords track inside the first chord = that chord's pitch classes
    first_end = arr.spans[1][0] * 60.0 / arr.tempo_bpm
    notes = [n for n in pm.instruments[0].notes if n.start < first_end - 1e-3]
    assert {n.pitch % 12 for n in notes} <= chord_name_pcs(arr.markers[0][1])


def _real_synth(midi_path, wav_path) -> list[str]:
    sf2 = find_soundfont()
    if shutil.which("fluidsynth") and sf2 is not None:
        return ["fluidsynth", "-ni", "-q", "-r", "44100", "-F", str(wav_path), str(sf2),
                str(midi_path)]
    if shutil.which("timidity"):
        return ["timidity", "-Ow", "-o", str(wav_path), str(midi_path)]
    pytest.skip("neither fluidsynth (with a soundfont) nor timidity is installed")


@pytest.mark.parametrize(("roman", "key", "pattern", "arousal"), CASES[::3])
def test_rendered_by_real_synth(tmp_path, roman, key, pattern, arousal):
    arr, path = _write(tmp_path, roman, key, pattern, arousal)
    wav = tmp_path / "out.wav"
    subprocess.run(_real_synth(path, wav), check=True, capture_output=True, timeout=120)
    y, sr = sf.read(wav, dtype="float32")
    y = y.mean(axis=1) if y.ndim == 2 else y
    dur = arr.total_beats * 60.0 / arr.tempo_bpm
    assert len(y) / sr >= dur - 0.2
    body = y[: int(dur * sr)]
    frames = body[: len(body) // 2048 * 2048].reshape(-1, 2048)
    rms = np.sqrt((frames ** 2).mean(axis=1))
    assert np.mean(rms > 1e-3) > 0.9  # sound throughout the loop


def test_no_silent_overwrite_and_atomic(tmp_path):
    _arr, path = _write(tmp_path, ["I", "IV", "V", "I"], "C", "block", 0.0)
    before = path.read_bytes()
    arr2 = arrange(progression(["I", "vi", "ii", "V"], "C"), pattern="pop")
    with pytest.raises(FileExistsRefusal, match="out"):
        write_midi(arr2, path)
    assert path.read_bytes() == before
    write_midi(arr2, path, overwrite=True)
    assert path.read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mid"]  # no temp files left


def test_keys_without_their_own_signature_are_written_enharmonically(tmp_path):
    from musicapp.compose.arrange import arrange
    from musicapp.compose.midi_export import write_midi
    from tests.compose.helpers import progression

    for key, expected in (("Db minor", "C#m"), ("E# major", "F"), ("A# minor", "A#m")):
        out = tmp_path / f"{expected}.mid"
        write_midi(arrange(progression(["i", "iv", "V", "i"], key)), out)
        sig = [m for m in mido.MidiFile(out).tracks[0] if m.type == "key_signature"]
        assert sig[0].key == expected
