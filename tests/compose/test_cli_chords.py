"""`musicapp chords` end to end (argument parsing, emotion sources, files)."""

from __future__ import annotations

import json

import mido
import numpy as np
import soundfile as sf
from PIL import Image

from musicapp.cli import main


def test_chords_mood_key_midi(tmp_path, capsys):
    out = tmp_path / "idea.mid"
    assert main(["chords", "--mood", "happy", "--key", "G", "--seed", "1", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    lines = text.strip().splitlines()
    assert lines[0].startswith("G major")
    names = lines[1].split()
    assert len(names) == 8 and names[0] in ("G", "Gmaj7", "Gadd9", "Gsus2")
    markers = [m.text for m in mido.MidiFile(out).tracks[0] if m.type == "marker"]
    assert markers == names
    # refuses to overwrite without --overwrite, exit code 2 and a message naming the file
    assert main(["chords", "--mood", "sad", "-o", str(out)]) == 2
    assert "idea.mid" in capsys.readouterr().err
    assert main(["chords", "--mood", "sad", "-o", str(out), "--overwrite"]) == 0


def test_chords_json_valence_arousal_locks(capsys):
    assert main(["chords", "--valence", "-0.7", "--arousal", "0.6", "--length", "4",
                 "--lock", "2=bVI", "--json", "--seed", "5"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["key"] == "C minor"  # negative valence and no key -> minor
    assert res["tokens"][1] == "bVI:maj" and res["chords"][1] == "Ab"
    assert len(res["chords"]) == 4


def test_chords_from_image_and_wav(tmp_path, capsys):
    img = tmp_path / "sun.png"
    Image.fromarray(np.full((32, 32, 3), (250, 220, 30), dtype=np.uint8)).save(img)
    wav = tmp_path / "idea.wav"
    assert main(["chords", "--from-image", str(img), "--length", "4", "--wav", str(wav),
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["valence"] > 0 and res["source"] == "image:sun.png"
    y, sr = sf.read(wav)
    assert sr == 44100 and len(y) > sr and np.abs(y).max() > 0.01


def test_chords_from_json_and_bad_input(tmp_path, capsys):
    analysis = tmp_path / "a.json"
    analysis.write_text(json.dumps({"moods": {"sad": 0.8}, "key": "E minor"}))
    assert main(["chords", "--from-json", str(analysis), "--json", "--length", "4"]) == 0
    assert json.loads(capsys.readouterr().out)["key"] == "E minor"
    assert main(["chords", "--mood", "purple"]) == 2
    assert "unknown mood" in capsys.readouterr().err
    assert main(["chords", "--mood", "happy", "--valence", "0.1", "--arousal", "0"]) == 2
    assert main(["chords", "--key", "H"]) == 2


def test_chords_regenerate_one_and_rest(capsys):
    assert main(["chords", "--mood", "happy", "--progression", "I V vi IV V7/V V I IV",
                 "--regenerate", "3", "--json", "--seed", "2"]) == 0
    res = json.loads(capsys.readouterr().out)
    roman = res["roman"]
    assert len(roman) == 8
    assert [r for i, r in enumerate(roman) if i != 2] == ["I", "V", "IV", "V7/V", "V", "I", "IV"]
    assert main(["chords", "--mood", "sad", "--key", "Am", "--progression", "i iv V i",
                 "--regenerate-from", "3", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["chords"][:2] == ["Am", "Dm"] and len(res["chords"]) == 4
    assert main(["chords", "--progression", "I V", "--regenerate", "5"]) == 2


def test_chords_minor_progression_and_alternatives(capsys):
    assert main(["chords", "--key", "E minor", "--progression", "i VI III VII",
                 "--alternatives", "2", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["chords"] == ["Em", "C", "G", "D"]
    assert res["roman"] == ["i", "VI", "III", "VII"]
    ranked = res["alternatives"]["ranked"]
    assert len(ranked) == 5 and res["alternatives"]["current"] == "C"
    assert all(r["chord"] != "C" for r in ranked)
    assert all(0 < r["probability"] < 1 for r in ranked)
    current = res["alternatives"]["current_probability"]
    assert 0 < current < 1 and current + sum(r["probability"] for r in ranked) <= 1 + 1e-9
    assert main(["chords", "--key", "E minor", "--progression", "i VI III VII",
                 "--alternatives", "2"]) == 0
    assert (f"alternatives for position 2 (C, itself {100 * current:.1f}%; probabilities given "
            "the rest of the loop):") in capsys.readouterr().out


def test_chords_bar_aligned_rhythm_and_meter(capsys):
    assert main(["chords", "--mood", "epic", "--length", "16", "--json", "--seed", "1"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert sum(res["beats"]) % 4 == 0 and res["bars"] % 2 == 0
    assert main(["chords", "--mood", "calm", "--meter", "3/4", "--chords-per-bar", "1",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["beats"] == [3.0] * 8 and res["meter"] == "3/4"


def test_chords_bad_input_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "keep.mid"
    out.write_bytes(b"precious")
    for argv in (["--key", "H#"], ["--progression", "i VX", "--regenerate", "1"],
                 ["--lock", "2=I:xyz"], ["--valence", "nan", "--arousal", "0"],
                 ["--valence", "2", "--arousal", "0"], ["--meter", "5/7"],
                 ["--style", "polka"], ["--progression", "I V", "--alternatives", "3"],
                 ["--lock", "9=I"]):
        try:
            rc = main(["chords", *argv, "-o", str(out), "--overwrite"])
        except SystemExit as exc:  # argparse's own validation
            rc = exc.code
        assert rc == 2, argv
        err = capsys.readouterr().err
        assert "error:" in err and "Traceback" not in err
    assert out.read_bytes() == b"precious"


def test_chords_from_midi_and_bad_clips(tmp_path, capsys):
    from tests.compose.test_midi_input import write_clip

    clip = write_clip(tmp_path / "c.mid", [(60, 64, 67), (57, 60, 64), (53, 57, 60),
                                           (55, 59, 62)], tempo=150.0, meter=(4, 4))
    out = tmp_path / "idea.mid"
    assert main(["chords", "--from-midi", str(clip), "--length", "4", "--json",
                 "-o", str(out)]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["chords"][:4] == ["C", "Am", "F", "G"] and len(res["chords"]) == 8
    assert res["tempo_bpm"] == 150.0 and res["meter"] == "4/4" and res["key"] == "C major"
    assert res["arousal"] > 0.9  # 150 bpm by the clip rule
    tempos = [m for m in mido.MidiFile(out).tracks[0] if m.type == "set_tempo"]
    assert round(mido.tempo2bpm(tempos[0].tempo)) == 150
    drums = write_clip(tmp_path / "d.mid", [(60, 64, 67)], drums=True)
    empty = write_clip(tmp_path / "e.mid", [], empty=True)
    for bad, msg in ((drums, "drum notes only"), (empty, "no notes")):
        assert main(["chords", "--from-midi", str(bad)]) == 2
        assert msg in capsys.readouterr().err
    change = write_clip(tmp_path / "t.mid", [(60, 64, 67), (55, 59, 62)], tempo=100,
                        tempo_change=130)
    assert main(["chords", "--from-midi", str(change), "--midi-action", "reharmonise"]) == 0
    assert "changes tempo" in capsys.readouterr().err


def test_chords_from_json_takes_tempo_and_meter(tmp_path, capsys):
    analysis = tmp_path / "a.json"
    analysis.write_text(json.dumps({"valence": 0.2, "arousal": 0.9, "key": "D major",
                                    "tempo_bpm": 170.0, "meter": "3/4"}))
    assert main(["chords", "--from-json", str(analysis), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["tempo_bpm"] == 170.0 and res["meter"] == "3/4" and res["key"] == "D major"
    assert sum(res["beats"]) % 3 == 0


def test_a_key_without_a_signature_is_written_as_its_usual_name(capsys):
    """E# major would give E# B# C##m ...: the loop is written in F major, with a note saying so;
    keys that have a signature (G# minor, Cb major) keep the spelling given."""
    assert main(["chords", "--key", "E#", "--mood", "happy", "--seed", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("F major")
    assert "##" not in captured.out and "E#" not in captured.out.splitlines()[1]
    assert "E# major has no key signature" in captured.err and "F major" in captured.err
    assert main(["chords", "--key", "Fb minor", "--seed", "2"]) == 0
    assert capsys.readouterr().out.startswith("E minor")
    for key, shown in (("G# minor", "G# minor"), ("Cb", "Cb major")):
        assert main(["chords", "--key", key, "--seed", "2"]) == 0
        captured = capsys.readouterr()
        assert captured.out.startswith(shown) and "no key signature" not in captured.err


def test_chords_from_midi_reads_back_a_written_minor_loop(tmp_path, capsys):
    """A loop written by `chords -o` reads back by `chords --from-midi` as its own chords and
    minor key (its melody's passing notes and the relative major used to win)."""
    loop = tmp_path / "loop.mid"
    assert main(["chords", "--key", "E minor", "--progression", "i III VI VII",
                 "--regenerate", "4", "--seed", "1", "--json", "-o", str(loop)]) == 0
    written = json.loads(capsys.readouterr().out)["chords"]
    assert written[:3] == ["Em", "G", "C"]
    assert main(["chords", "--from-midi", str(loop), "--length", "4", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["key"] == "E minor" and res["chords"][:4] == written


def test_chords_from_midi_with_a_pickup_bar(tmp_path, capsys):
    from tests.compose.test_midi_input import _pickup_clip

    clip = _pickup_clip(tmp_path / "p.mid", [(60, 64, 67), (57, 60, 64), (53, 57, 60),
                                             (55, 59, 62)])
    assert main(["chords", "--from-midi", str(clip), "--length", "4", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["meter"] == "4/4" and res["chords"][:4] == ["C", "Am", "F", "G"]
    assert any("15/16 pickup" in n for n in res["notes"])


def test_the_starting_clip_or_track_is_never_the_output(tmp_path, capsys):
    """`chords --from-midi clip.mid -o clip.mid --overwrite` replaced the user's clip, and
    `--from-audio in.flac --wav in.flac` turned a FLAC into a WAV: refused, files unchanged."""
    from tests.compose.test_midi_input import write_clip
    from tests.helpers.signals import chord, write_audio

    clip = write_clip(tmp_path / "c.mid", [(60, 64, 67), (57, 60, 64), (53, 57, 60),
                                           (55, 59, 62)], tempo=150.0, meter=(4, 4))
    track = write_audio(tmp_path / "in.flac", chord([220, 277, 330], 2.0, 22050), 22050)
    before = clip.read_bytes(), track.read_bytes()
    capsys.readouterr()
    assert main(["chords", "--from-midi", str(clip), "-o", str(clip), "--overwrite"]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert main(["chords", "--from-audio", str(track), "--wav", str(track), "--overwrite"]) == 2
    assert "is the input file" in capsys.readouterr().err
    assert (clip.read_bytes(), track.read_bytes()) == before


def test_a_progression_is_a_loop_of_at_most_64_chords(capsys):
    """10,000 chords with --wav ran out of memory with a traceback after 96 s; an empty
    --progression skipped the checks."""
    long = " ".join(["I", "V", "vi", "IV"] * 17)  # 68 chords
    assert main(["chords", "--progression", long, "--regenerate", "3"]) == 2
    assert "--progression has 68 chords: give 1 to 64" in capsys.readouterr().err
    assert main(["chords", "--progression", "", "--regenerate", "1"]) == 2
    assert "--progression has 0 chords" in capsys.readouterr().err
