"""A library indexed by an older tagger (before the level-normalised input, issue 16) is
re-analysed: tracks whose stored tags carry another ``model_version`` go back to pending."""

from __future__ import annotations

import json

from musicapp.library.api import Library
from musicapp.library.store import Store
from musicapp.models.engine import MODEL_VERSION
from tests.library.music import write_song


def _stored(store: Store, name: str) -> dict:
    track = next(t for t in store.tracks() if t.path.endswith(name))
    return store.analysis(track.id) or {}


def test_requeue_stale_analyses_picks_only_tags_of_another_version(tmp_path):
    music = tmp_path / "m"
    for i in range(4):
        write_song(music / f"t{i}.wav", i, 1.0)
    with Store(tmp_path / "lib.sqlite3") as st:
        st.scan(music)
        analyses = {
            "t0.wav": {"model": "hashnet + va_fusion", "moods": []},  # version 1: no field
            "t1.wav": {"model": "hashnet + va_fusion", "model_version": MODEL_VERSION},
            "t2.wav": {"status": "silence"},  # no tagger part at all
            "t3.wav": {"tempo_bpm": 120.0},  # fingerprints / a custom analyser
        }
        for track in st.claim_pending():
            name = track.path.rsplit("/", 1)[-1]
            st.save_result(track.id, fingerprint=b"", analysis=analyses[name], duration_s=1.0)
        st.release_claims()
        assert st.requeue_stale_analyses(MODEL_VERSION) == 1
        pending = [t.path.rsplit("/", 1)[-1] for t in st.tracks("pending")]
        assert pending == ["t0.wav"]
        assert st.requeue_stale_analyses(MODEL_VERSION) == 0  # nothing else is stale


def test_library_add_reanalyses_tracks_of_an_older_tagger(tmp_path):
    """The whole pipeline, a real database: an entry made by the older tagger (simulated by
    removing its version) is recomputed by the next ``add`` and gets the current version."""
    music = tmp_path / "m"
    write_song(music / "a.wav", 7, 4.0)
    with Library(tmp_path / "lib.sqlite3") as lib:
        first = lib.add(music, workers=0)
        assert first.done == 1
        stored = _stored(lib.store, "a.wav")
        assert stored["model_version"] == MODEL_VERSION and stored.get("moods") is not None
        old = {k: v for k, v in stored.items() if k != "model_version"}
        old["moods"] = [{"tag": "sad", "score": 0.5, "percentile": 99.0}]  # the old tagger's
        with lib.store.con:
            lib.store.con.execute("UPDATE analysis SET json = ?", (json.dumps(old),))
        again = lib.add(music, workers=0)
        assert again.scan.unchanged == 1 and again.done == 1  # unchanged file, stale tags
        fresh = _stored(lib.store, "a.wav")
        assert fresh["model_version"] == MODEL_VERSION and fresh["moods"] == stored["moods"]
        assert lib.add(music, workers=0).done == 0  # current tags are not recomputed
