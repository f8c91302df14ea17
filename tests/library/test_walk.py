"""Walking a folder: regular audio files only, a reason for everything skipped, no FIFO opened."""

from __future__ import annotations

import os

import pytest

from musicapp.library.walk import classify, content_hash, open_regular, walk_audio


def test_walk_lists_regular_audio_and_explains_the_rest(tmp_path):
    (tmp_path / "b.wav").write_bytes(b"RIFF")
    (tmp_path / "a.txt").write_text("not audio")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.FLAC").write_bytes(b"fLaC")
    os.mkfifo(tmp_path / "p.mp3")
    os.symlink("/dev/null", tmp_path / "null.ogg")
    os.symlink(tmp_path / "b.wav", tmp_path / "link.wav")  # a link to a regular file is fine
    skipped: list = []
    found = [os.path.relpath(p, tmp_path) for p, _ in walk_audio(tmp_path, skipped)]
    assert found == ["b.wav", "b.wav", "sub/c.FLAC"]  # the link resolves to its target
    assert sorted(os.path.basename(p) for p, _ in skipped) == ["null.ogg", "p.mp3"]


def test_fifo_is_never_opened_for_reading(tmp_path):
    fifo = tmp_path / "x.wav"
    os.mkfifo(fifo)
    st, reason = classify(str(fifo))
    assert st is None and "FIFO" in reason
    with pytest.raises(OSError, match="not a regular file"):
        open_regular(fifo)  # O_NONBLOCK: returns at once instead of waiting for a writer
    with pytest.raises(OSError):
        content_hash(fifo)


def test_missing_root_is_reported(tmp_path):
    skipped: list = []
    assert list(walk_audio(tmp_path / "gone", skipped)) == []
    assert skipped and "cannot be examined" in skipped[0][1]
