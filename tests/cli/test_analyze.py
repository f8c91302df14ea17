"""``musicapp analyze``: the JSON contract, folders with progress, bad files, part failures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from musicapp.cli import main
from tests.helpers.signals import chord, write_audio

C_MAJOR = [261.63, 329.63, 392.0]
G_MAJOR = [196.0, 246.94, 293.66]
F_MAJOR = [174.61, 220.0, 261.63]


@pytest.fixture(scope="module")
def progression(tmp_path_factory):
    sr = 22050
    bars = [C_MAJOR, F_MAJOR, G_MAJOR, C_MAJOR] * 3
    y = np.concatenate([chord(f, 1.0, sr) for f in bars])
    return write_audio(tmp_path_factory.mktemp("an") / "prog.flac", y, sr)


def test_analyze_json_contract(progression, capsys):
    assert main(["analyze", "--json", str(progression)]) == 0
    result = json.loads(capsys.readouterr().out.strip())
    assert result["path"] == str(progression)
    assert result["duration_s"] == pytest.approx(12.0, abs=0.05)
    assert "errors" not in result, result.get("errors")
    if True:
        for key in ("key", "tempo_bpm", "meter", "beats", "downbeats", "chords"):
            assert key in result
        assert result["key"]["tonic"] == "C" and result["key"]["mode"] == "major"
        labels = {c["label"] for c in result["chords"]}
        assert {"C:maj", "F:maj", "G:maj"} <= labels
    if True:
        for key in ("moods", "valence", "arousal", "genres", "segments"):
            assert key in result
        assert {"tag", "score", "percentile"} <= set(result["moods"][0])
        assert -1.0 <= result["valence"] <= 1.0


def test_analyze_folder_with_bad_file(tmp_path, progression, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # as in a terminal: a progress bar
    (tmp_path / "sub").mkdir()
    good = write_audio(tmp_path / "sub" / "good.wav", chord(C_MAJOR, 2.0, 16000), 16000)
    (tmp_path / "broken.mp3").write_bytes(b"\x00garbage" * 500)
    (tmp_path / "notes.txt").write_text("not audio")
    assert main(["analyze", "--json", "--no-tags", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    lines = [json.loads(x) for x in captured.out.splitlines()]
    assert [r["path"] for r in lines] == [str(good)]
    assert "broken.mp3" in captured.err
    error_lines = [x for x in captured.err.split("\n") if "musicapp: error:" in x]
    assert len(error_lines) == 1 and error_lines[0].count("broken.mp3") == 1  # named once
    assert "2/2" in captured.err  # the progress bar reached the end
    assert "\r\033[K" in captured.err  # and its line is cleared before a result is printed


def test_no_progress_bar_into_a_pipe_or_file(tmp_path, capsys):
    """Carriage-return redraws ended up in log files and pipes as one long line."""
    write_audio(tmp_path / "a.wav", chord(C_MAJOR, 2.0, 16000), 16000)
    write_audio(tmp_path / "b.wav", chord(C_MAJOR, 2.0, 16000), 16000)
    assert main(["analyze", "--no-tags", "--no-music", str(tmp_path)]) == 0
    assert "\r" not in capsys.readouterr().err


def test_a_batch_error_names_its_file_once():
    """A worker killed twice on a file gave "musicapp: error: worker died (SIGKILL) twice while
    analysing this file" with no file named (the progress bar had moved on); a decoder's
    message, which names it already, is not prefixed again."""
    from musicapp.cli.analyze import batch_error

    died = "worker died (SIGKILL) twice while analysing this file"
    assert batch_error("/music/a b.wav", died) == f"/music/a b.wav: {died}"
    named = "/music/x.mp3: not a recognised audio file (corrupt, or an unsupported format)"
    assert batch_error("/music/x.mp3", named) == named


def test_analyze_human_readable(progression, capsys):
    assert main(["analyze", "--no-tags", str(progression)]) == 0
    out = capsys.readouterr().out
    assert str(progression) in out


def test_silence_and_half_second_clip(tmp_path, capsys):
    silent = write_audio(tmp_path / "silent.wav", np.zeros(16000 * 3, np.float32), 16000)
    short = write_audio(tmp_path / "short.wav", chord(C_MAJOR, 0.5, 16000), 16000)
    assert main(["analyze", "--json", str(silent), str(short)]) == 0
    results = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(results) == 2
    for r in results:
        assert "errors" not in r, r.get("errors")


def test_an_unusable_device_is_refused_before_the_batch_starts(progression, tmp_path):
    """`--device cuda:99` on two files: one clear error (before: each batch worker failed on it
    and printed its traceback through the worker's unconfigured logging)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    other = tmp_path / "other.flac"
    other.write_bytes(progression.read_bytes())
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-m", "musicapp", "analyze", "--device", "cuda:99",
                        str(progression), str(other)], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "PYTHONPATH": str(root)})
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "musicapp: error: device 'cuda:99'" in r.stderr and r.stdout == ""


def test_an_empty_input_name_is_refused(tmp_path, capsys, monkeypatch):
    # Path("") is ".": `analyze ""` (an unset shell variable) analysed the whole current folder
    monkeypatch.chdir(tmp_path)
    write_audio(tmp_path / "a.wav", chord(C_MAJOR, 1.0, 22050), 22050)
    assert main(["analyze", ""]) == 2
    out = capsys.readouterr()
    assert "input file name is empty" in out.err and out.out == ""


def test_short_clip_level_reads_naturally(tmp_path, capsys):
    # a full-scale 0.5 s clip: was "too short: ...; loudest 3 s at -0 dBFS" (a file of 0.5 s has
    # no 3 s, and "-0" is not a level)
    # (a full-scale square wave: a constant -1.0 would be a DC offset, which is silence)
    square = np.where(np.arange(800) % 80 < 40, 1.0, -1.0).astype(np.float32)
    loud = write_audio(tmp_path / "loud.wav", square, 16000)
    quiet = write_audio(tmp_path / "quiet.wav", np.zeros(16000 * 4, np.float32), 16000)
    assert main(["analyze", "--no-tags", str(loud)]) == 0
    out = capsys.readouterr().out
    assert "too short" in out and "level 0 dBFS" in out and "-0" not in out, out
    assert main(["analyze", "--no-tags", str(quiet)]) == 0
    assert "silence: no moods" in capsys.readouterr().out
    # half a second of a constant: no chord at all, and no empty "chords:" line
    half = write_audio(tmp_path / "half.wav", np.full(8000, 0.5, np.float32), 16000)
    assert main(["analyze", "--no-tags", str(half)]) == 0
    assert not any(line.strip() == "chords:" for line in capsys.readouterr().out.splitlines())


def test_a_missing_key_or_tempo_reads_as_one_clause():
    """"tempo: none (no steady beat (free time or rubato))" nested its brackets."""
    from musicapp.cli.analyze import summarise

    text = summarise({"path": "x.ogg", "duration_s": 90.0, "key_reason": "no clear tonal centre",
                      "tempo_reason": "no steady beat (free time or rubato)"})
    assert "  key: none, no clear tonal centre" in text.splitlines()
    assert "  tempo: none, no steady beat (free time or rubato)" in text.splitlines()


def test_the_key_line_lists_the_alternatives():
    from musicapp.cli.analyze import summarise

    text = summarise({"path": "x.ogg", "duration_s": 90.0,
                      "key": {"tonic": "G", "mode": "minor", "confidence": 0.998,
                              "camelot": "6A", "open_key": "3m"},
                      "key_candidates": [
                          {"name": "G minor", "probability": 0.998, "relation": "best"},
                          {"name": "D minor", "probability": 0.05, "relation": "dominant"},
                          {"name": "Bb major", "probability": 0.002, "relation": "relative"}]})
    lines = text.splitlines()
    assert "  key: G minor, 6A / 3m (confidence >0.99)" in lines
    assert "       also D minor 0.05 (dominant)" in lines  # 0.002 is not worth a mention


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_an_export_never_replaces_the_input_track(tmp_path, capsys, link):
    """`analyze in.flac --csv in.flac --overwrite` turned the user's FLAC into a CSV: an output
    that is the input (by name, through a symbolic link or a hard link) is refused, even with
    --overwrite, before anything is analysed or written."""
    import os

    track = tmp_path / "in.flac"
    write_audio(track, chord([220, 277, 330], 2.0, 22050), 22050)
    before = track.read_bytes()
    out = track
    if link == "symlink":
        out = tmp_path / "alias.flac"
        out.symlink_to(track)
    elif link == "hardlink":
        out = tmp_path / "hard.csv"
        os.link(track, out)
    capsys.readouterr()
    assert main(["analyze", "--no-tags", str(track), "--csv", str(out), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "is the input file" in err and "Traceback" not in err
    assert track.read_bytes() == before


@pytest.mark.parametrize("option", [["--device", "cpu"], ["--threads", "2"]])
def test_tagger_options_with_no_tags_are_refused(tmp_path, capsys, option):
    """`--no-tags --device cuda` ran on and ignored the device silently."""
    track = write_audio(tmp_path / "in.flac", chord([220, 277, 330], 2.0, 22050), 22050)
    assert main(["analyze", "--no-tags", *option, str(track)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"musicapp: error: {option[0]} sets where the mood tagger runs")


def test_tempo_level_and_key_changes_reach_the_text_and_the_midi(tmp_path, capsys):
    """A rendered piece, 40 s in C major then 40 s in E major at 110 BPM, through the CLI:
    the key line names the change ("changes to E major at ..."), the MIDI file has a key
    signature at it, and --tempo-level half counts the tempo at 55 with the meter kept: bar
    markers every 4 beats of the new level, downbeats among the beats (read with mido)."""
    import mido

    from tests.analysis.conftest import HAVE_SF, render, steady_piece

    if not HAVE_SF:
        pytest.skip("GM soundfont not installed")
    a = render(steady_piece(110.0, 0, "major", 4, max_seconds=40.0))
    b = render(steady_piece(110.0, 4, "major", 4, max_seconds=40.0))
    wav = write_audio(tmp_path / "mod.wav", np.concatenate([a, b]), 22050)
    mid_path = tmp_path / "mod.mid"
    assert main(["analyze", "--no-tags", "--json", str(wav)]) == 0
    found = json.loads(capsys.readouterr().out)
    assert main(["analyze", "--no-tags", "--tempo-level", "half", "--midi", str(mid_path),
                 str(wav)]) == 0
    text = capsys.readouterr().out
    assert "· changes to E major at 0:" in text  # 38-42 s
    assert f"counted at {found['tempo_bpm'] / 2:.1f} BPM; the analysis found" in text
    mid = mido.MidiFile(str(mid_path))
    now, keys, bars, sigs, tempi = 0, [], [], [], []
    for msg in mid.tracks[0]:
        now += msg.time
        if msg.type == "key_signature":
            keys.append(msg.key)
        elif msg.type == "marker" and msg.text.startswith("Bar "):
            bars.append(now)
        elif msg.type == "time_signature":
            sigs.append((msg.numerator, msg.denominator))
        elif msg.type == "set_tempo":
            tempi.append(mido.tempo2bpm(msg.tempo))
    assert keys[0] == "C" and keys[-1] == "E"
    assert sigs[-1] == (4, 4) and set(np.diff(bars)) == {4 * mid.ticks_per_beat}
    assert tempi[-1] == pytest.approx(found["tempo_bpm"] / 2, rel=0.03)  # after the lead-in


def test_tempo_level_errors_are_clear(progression, tmp_path, capsys):
    """--bpm that is no half/double level of the found tempo, --bpm with --tempo-level, and either
    with --no-music are refused with a message naming them (exit 2, no traceback)."""
    assert main(["analyze", "--no-tags", "--bpm", "77.7", str(progression)]) == 2
    err = capsys.readouterr().err
    assert "musicapp: error:" in err and "--bpm 77.7" in err and "only half/double levels" in err
    assert main(["analyze", "--no-music", "--no-tags", "--tempo-level", "half",
                 str(progression)]) == 2
    assert "--no-music" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["analyze", "--tempo-level", "half", "--bpm", "60", str(progression)])
    assert "not allowed with" in capsys.readouterr().err


def test_bpm_at_a_triple_level_is_refused_and_half_double_count_the_beats(progression, capsys):
    """`--bpm 60` on a track found at 90 printed 60 but kept the 90-BPM beats and wrote a MIDI
    file at ~90 BPM; a --bpm at x2/3 or x3 of the found tempo is refused now (exit 2, the
    message names the ratio and the levels that work), and --bpm at half the found tempo
    gives half the beats in the JSON."""
    assert main(["analyze", "--no-tags", "--json", str(progression)]) == 0
    found = json.loads(capsys.readouterr().out)
    bpm = float(found["tempo_bpm"])
    for asked, name in ((round(bpm * 2 / 3, 1), "x2/3"), (round(bpm * 3, 1), "x3")):
        assert main(["analyze", "--no-tags", "--json", "--bpm", str(asked),
                     str(progression)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith(f"musicapp: error: {progression}: --bpm {asked:g}: "
                                       f"{asked:g} BPM is {name} of the found {bpm:.1f} BPM; "
                                       f"only half/double levels ({bpm / 2:.1f}, {bpm * 2:.1f}, ")
    assert main(["analyze", "--no-tags", "--json", "--bpm", f"{bpm / 2:.2f}",
                 str(progression)]) == 0
    half = json.loads(capsys.readouterr().out)
    assert half["tempo_bpm"] == pytest.approx(bpm / 2, abs=0.01)
    assert abs(len(half["beats"]) - len(found["beats"]) / 2) <= 1
    assert set(half["beats"]) <= set(found["beats"])

def test_summary_never_prints_a_negative_zero_for_valence_or_arousal():
    from musicapp.cli.analyze import summarise

    text = summarise({"path": "x.wav", "duration_s": 30.0, "valence": 0.351,
                      "arousal": -0.0031, "energy": 5})
    assert "valence +0.35, arousal 0.00, energy 5/10" in text
    assert "-0.00" not in text


def test_key_change_clock_rounds_before_splitting_minutes():
    from musicapp.cli.analyze import _clock

    assert _clock(59.96) == "1:00.0"
    assert _clock(299.6) == "4:59.6"
    assert _clock(0.04) == "0:00.0"
