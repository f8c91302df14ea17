"""``musicapp analyze`` of clips too short for the tagger's 3-s patches (issue 16, bad input):
an explicit "too short for moods", never confident moods, on the serial and the batch path."""

from __future__ import annotations

import json

import numpy as np

from musicapp.cli import main
from tests.helpers.signals import chord, write_audio

C_MAJOR = [261.63, 329.63, 392.0]


def test_a_two_second_clip_says_too_short_for_moods(tmp_path, capsys):
    clip = write_audio(tmp_path / "clip.wav", chord(C_MAJOR, 2.0, 22050), 22050)
    assert main(["analyze", str(clip)]) == 0
    out = capsys.readouterr().out
    assert "too short for moods: no moods, genres or valence/arousal" in out
    assert "moods (percentile" not in out and "valence" not in out.replace("valence/arousal", "")
    assert main(["analyze", "--json", str(clip)]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["status"] == "ok" and r["moods_status"] == "too short for moods"
    assert "moods" not in r and "valence" not in r and "errors" not in r


def test_short_clips_in_a_folder_batch(tmp_path, capsys):
    for i, seconds in enumerate((0.6, 1.2, 2.5)):
        write_audio(tmp_path / f"c{i}.wav", chord(C_MAJOR, seconds, 16000), 16000)
    write_audio(tmp_path / "long.wav",
                np.concatenate([chord(C_MAJOR, 2.0, 16000)] * 3), 16000)
    assert main(["analyze", "--json", str(tmp_path)]) == 0
    rows = {r["path"].rsplit("/", 1)[-1]: r for r in
            (json.loads(x) for x in capsys.readouterr().out.splitlines())}
    for name in ("c0.wav", "c1.wav", "c2.wav"):
        assert rows[name]["moods_status"] == "too short for moods" and "moods" not in rows[name]
    assert rows["long.wav"].get("moods") is not None and "moods_status" not in rows["long.wav"]


def test_the_text_output_gives_the_energy_beside_valence_and_arousal_and_no_music_no_patch_note():
    # the musician's second look: the JSON and the GUI had the energy, the text output did not;
    # "no music found" must not say the tagger reads 3-s clips (that is the too-short reason)
    from musicapp.cli.analyze import summarise

    text = summarise({"path": "battle.ogg", "duration_s": 60.0, "valence": -0.02,
                      "arousal": 0.59, "energy": 8})
    assert "  valence -0.02, arousal +0.59, energy 8/10" in text.splitlines()
    text = summarise({"path": "noise.wav", "duration_s": 8.0,
                      "moods_status": "no music found (noise or a lone tone)"})
    assert "3-s clips" not in text and "no music found (noise or a lone tone): no moods" in text
