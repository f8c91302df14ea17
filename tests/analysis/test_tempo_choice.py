"""Half/double tempo toggle: the core function and the library's stored tempo (real SQLite)."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.analysis.tempo_choice import choose_tempo, close_level
from musicapp.errors import MusicappError


def _result() -> dict:
    beats = [0.5 + i * 0.25 for i in range(32)]  # 240 BPM eighth notes of a 120 BPM song
    return {"tempo_bpm": 240.0, "tempo_confidence": 0.7, "beats": beats,
            "downbeats": beats[::8], "meter": "4/4",
            "tempo_candidates": [{"bpm": 240.0, "relation": "tactus", "score": 0.5},
                                 {"bpm": 120.0, "relation": "half", "score": 0.4},
                                 {"bpm": 480.0, "relation": "double", "score": 0.1}],
            "tempo_segments": [{"start": 0.5, "end": 8.25, "bpm": 240.0, "beats": 32}],
            "tempo_curve": [[1.0, 240.0], [2.0, 240.0]]}


def test_half_keeps_the_downbeats_and_relabels_candidates():
    r = _result()
    h = choose_tempo(r, level="half")
    assert h["tempo_bpm"] == 120.0 and r["tempo_bpm"] == 240.0  # a copy
    assert len(h["beats"]) == 16 and set(h["downbeats"]) <= set(h["beats"])
    rel = {c["relation"]: c["bpm"] for c in h["tempo_candidates"]}
    assert rel == {"tactus": 120.0, "double": 240.0, "other": 480.0}
    assert h["tempo_segments"][0]["bpm"] == 120.0 and h["tempo_curve"][0][1] == 120.0
    assert h["tempo_choice"] == {"bpm": 120.0, "factor": 0.5, "analysed_bpm": 240.0}
    back = choose_tempo(h, 240.0)
    assert back["tempo_bpm"] == 240.0 and back["tempo_choice"]["analysed_bpm"] == 240.0
    assert np.allclose(back["beats"], r["beats"][: len(back["beats"])], atol=1e-3)


def test_a_coin_toss_between_levels_is_named():
    """240 vs 120 scoring 0.5 vs 0.4 is said out loud (the town.ogg case: 0.50 vs 0.457); a
    clear choice, or a result without candidates, names nothing."""
    assert close_level(_result()) == {"bpm": 120.0, "relation": "half", "score": 0.4}
    clear = _result()
    clear["tempo_candidates"][1]["score"] = 0.2
    assert close_level(clear) is None
    assert close_level({"tempo_bpm": 120.0}) is None and close_level({}) is None
    # the CLI says it in words under the tempo line
    from musicapp.cli.analyze import summarise

    text = summarise({"path": "t.ogg", "duration_s": 60.0, **_result()})
    assert "unsure of the level: 120.0 BPM (half) fits almost as well" in text
    assert "unsure" not in summarise({"path": "t.ogg", "duration_s": 60.0, **clear})


def test_double_and_bad_choices():
    d = choose_tempo(_result(), level="double")
    assert d["tempo_bpm"] == 480.0 and len(d["beats"]) == 63
    with pytest.raises(MusicappError, match="metrical level"):
        choose_tempo(_result(), 170.0)
    with pytest.raises(MusicappError):
        choose_tempo(_result(), -5.0)
    with pytest.raises(MusicappError, match="no tempo"):
        choose_tempo({"tempo_bpm": None, "tempo_reason": "no steady beat"}, level="half")


def test_library_stores_the_chosen_tempo(tmp_path):
    from musicapp.library.api import Library
    from musicapp.library.store import LibraryError
    from tests.helpers.signals import sine, write_audio

    (tmp_path / "music").mkdir()
    audio = write_audio(tmp_path / "music" / "a.wav", sine(220.0, 2.0, 22050, amp=0.3), 22050)
    with Library(tmp_path / "lib.db") as lib:
        lib.store.scan(tmp_path / "music")
        track = lib.store.track_by_path(audio)
        assert lib.store.save_result(track.id, fingerprint=None, analysis=_result(),
                                     duration_s=2.0)
        assert [t["path"] for t in lib.search(bpm="230-250")]
        new = lib.set_tempo(track.id, 120.0)
        assert new["tempo_bpm"] == 120.0
        assert lib.store.analysis(track.id)["tempo_bpm"] == 120.0
        # the stored tempo is 120 now; 240 is found only as the level the analysis listed
        assert lib.search(bpm="230-250", bpm_levels=False) == []
        assert [t.get("bpm_match") is not None for t in lib.search(bpm="230-250")] == [True]
        assert len(lib.search(bpm="115-125", bpm_levels=False)) == 1
        assert lib.set_tempo(str(audio), 240.0)["tempo_bpm"] == 240.0
        with pytest.raises(LibraryError):
            lib.set_tempo(str(tmp_path / "other.wav"), 120.0)
