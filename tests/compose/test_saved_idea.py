"""The composer's saved idea: plain versioned JSON, atomic writes, other writers' ideas kept."""

from __future__ import annotations

import json
import os

import pytest

from musicapp.compose.generate import Progression
from musicapp.compose.rhythm import Meter
from musicapp.compose.saved_idea import (
    KEEP_PREVIOUS,
    IdeaFile,
    SavedIdea,
    SavedIdeaError,
    decode,
    encode,
    progression_from_dict,
    progression_to_dict,
)
from musicapp.compose.theory import ChordToken, Key


def _prog() -> Progression:
    mode = "minor"
    tokens = [ChordToken.parse(t, mode) for t in ("I:min", "V:7/V", "bVI:maj", "V:7")]
    return Progression(Key("F#", mode), tokens, [3.0, 3.0, 1.5, 1.5], -0.4, 0.3, loglik=-5.5,
                       meter=Meter(6, 8), style="pop", notes=["a stated fallback"])


def _idea(**kw) -> SavedIdea:
    return SavedIdea(progression=progression_to_dict(_prog()), locked=[1, 3],
                     settings={"tempo_bpm": 96.0, "pattern": "strum"}, clip="/x/clip.mid", **kw)


def test_a_progression_round_trips_through_json():
    prog = _prog()
    back = progression_from_dict(json.loads(json.dumps(progression_to_dict(prog))))
    assert back.tokens == prog.tokens and back.beats == prog.beats
    assert back.key == prog.key and back.meter == prog.meter
    assert (back.style, back.notes, back.loglik) == ("pop", ["a stated fallback"], -5.5)
    assert back.names == prog.names


def test_save_load_is_atomic_and_plain_json(tmp_path):
    f = IdeaFile(tmp_path / "composer" / "idea.json")
    f.save(_idea())
    assert os.listdir(tmp_path / "composer") == ["idea.json"]  # no temporary file left
    doc = json.loads(f.path.read_text())
    assert (doc["format"], doc["version"]) == ("musicapp-composer-idea", 1)
    got = IdeaFile(f.path).load()
    assert got.locked == [1, 3] and got.clip == "/x/clip.mid"
    assert got.settings == {"tempo_bpm": 96.0, "pattern": "strum"}
    assert progression_from_dict(got.progression).names == _prog().names
    assert got.saved_at and got.saved_at == doc["saved_at"]


def test_no_file_is_no_idea(tmp_path):
    assert IdeaFile(tmp_path / "none.json").load() is None


@pytest.mark.parametrize(("doc", "says"), [
    (b"[1, 2", "not valid JSON"),
    (b'{"format": "musicapp-composer-idea", "version": 2, "idea": {}}', "newer musicapp"),
    (b'{"format": "musicapp-composer-idea", "version": 0, "idea": {}}', "older musicapp"),
    (b'{"format": "musicapp-composer-idea", "version": "1", "idea": {}}', "unknown version"),
    (b'{"format": "something-else", "version": 1}', "not a musicapp composer idea"),
    (b'{"format": "musicapp-composer-idea", "version": 1, "idea": {"locked": [0]}}',
     "bad locks"),
])
def test_unreadable_files_raise_a_clear_error(doc, says):
    with pytest.raises(SavedIdeaError, match=says):
        decode(doc)


def test_bad_fields_of_a_progression_are_named():
    data = progression_to_dict(_prog())
    data["chords"][0]["beats"] = float("nan")
    with pytest.raises(SavedIdeaError, match="expected a number"):
        progression_from_dict(data)
    data = progression_to_dict(_prog())
    data["chords"][1]["quality"] = "weird"
    with pytest.raises(SavedIdeaError, match="unknown chord quality"):
        progression_from_dict(data)
    data = progression_to_dict(_prog())
    del data["key"]
    with pytest.raises(SavedIdeaError, match="missing or wrong field"):
        progression_from_dict(data)


def test_encode_refuses_nan_instead_of_writing_bad_json():
    with pytest.raises(ValueError):
        encode(SavedIdea(settings={"temperature": float("nan")}))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_a_fifo_in_place_of_the_file_does_not_hang(tmp_path):
    path = tmp_path / "idea.json"
    os.mkfifo(path)
    with pytest.raises(SavedIdeaError, match="not a regular file"):
        IdeaFile(path).load()


def test_another_writers_idea_is_kept_before_it_is_replaced(tmp_path):
    path = tmp_path / "idea.json"
    a, b = IdeaFile(path), IdeaFile(path)
    a.save(_idea())
    a_bytes = path.read_bytes()
    b.save(SavedIdea(settings={"mood": "sad"}))  # b never read a's idea: a's is kept
    kept = sorted(b.previous_dir.iterdir())
    assert [k.read_bytes() for k in kept] == [a_bytes]
    b.save(SavedIdea(settings={"mood": "calm"}))  # its own file: nothing more kept
    assert len(list(b.previous_dir.iterdir())) == 1
    c = IdeaFile(path)
    c.load()
    c.save(SavedIdea(settings={"mood": "epic"}))  # c read b's idea first: nothing kept
    assert len(list(b.previous_dir.iterdir())) == 1


def test_clear_keeps_a_copy_and_previous_is_bounded(tmp_path):
    f = IdeaFile(tmp_path / "idea.json")
    for i in range(KEEP_PREVIOUS + 5):
        f.save(SavedIdea(settings={"n": i}))
        f.known = None  # as if another instance wrote each one
    kept = f.clear()
    assert kept is not None and json.loads(kept.read_text())["idea"]["settings"]["n"] == \
        KEEP_PREVIOUS + 4
    assert not f.path.exists()
    assert len(list(f.previous_dir.glob("idea-*.json"))) == KEEP_PREVIOUS
    assert f.load() is None


def test_typed_chords_round_trip_and_still_play_as_typed():
    """A jazz loop whose chords were typed (i7, V7) must not come back coloured (i9, V7b9)."""
    tokens = [ChordToken.parse(t, "minor") for t in ("i7", "iv7", "V7", "i7")]
    prog = Progression(Key("Bb", "minor"), tokens, [4.0] * 4, -0.4, 0.0, style="jazz",
                       typed={0: tokens[0], 3: tokens[3]})
    assert prog.names == ["Bbm7", "Ebm7", "F7(b9)", "Bbm7"]
    back = progression_from_dict(json.loads(json.dumps(progression_to_dict(prog))))
    assert back.typed == prog.typed and back.names == prog.names
    data = progression_to_dict(prog)
    data["typed"] = {"9": "I:m7"}
    with pytest.raises(SavedIdeaError, match="outside the progression"):
        progression_from_dict(data)
    del data["typed"]  # an idea saved before typed chords were kept
    assert progression_from_dict(data).names == ["Bbm9", "Ebm7", "F7(b9)", "Bbm9"]
