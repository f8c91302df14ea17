"""Title, artist and album read from real tagged files, stored at scan time and searchable."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest
import soundfile as sf

from musicapp.cli import main
from musicapp.library.tags import read_tags

SR = 16000
TAGS = {"title": "Blue\nMonday", "artist": "Nüw Ørder", "album": "Power"}


def _tone(seconds: float = 1.0) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * SR)) / SR)).astype(np.float32)


def write_tagged(path, codec: str, fmt: str, tags: dict = TAGS) -> None:
    """An audio file written by FFmpeg (PyAV) with container tags."""
    with av.open(str(path), "w", format=fmt) as c:
        c.metadata.update(tags)
        stream = c.add_stream(codec, rate=SR)
        frame = av.AudioFrame.from_ndarray(_tone()[None, :], format="flt", layout="mono")
        frame.sample_rate = SR
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            c.mux(packet)


@pytest.mark.parametrize(("name", "codec", "fmt"), [
    ("a.flac", "flac", "flac"), ("a.mp3", "libmp3lame", "mp3"), ("a.m4a", "aac", "ipod"),
    ("a.wav", "pcm_s16le", "wav"),
])  # fmt: skip
def test_read_tags_from_containers(tmp_path, name, codec, fmt):
    write_tagged(tmp_path / name, codec, fmt)
    assert read_tags(str(tmp_path / name)) == TAGS


def test_read_tags_ogg_stream_comments_and_untagged(tmp_path):
    with sf.SoundFile(tmp_path / "v.ogg", "w", SR, 1, format="OGG", subtype="VORBIS") as f:
        f.title, f.artist, f.album = "T", "A", "B"
        f.write(_tone())
    assert read_tags(str(tmp_path / "v.ogg")) == {"title": "T", "artist": "A", "album": "B"}
    sf.write(tmp_path / "plain.wav", _tone(), SR)
    assert read_tags(str(tmp_path / "plain.wav")) == {"title": None, "artist": None, "album": None}
    (tmp_path / "junk.mp3").write_bytes(b"\x00" * 100)
    assert read_tags(str(tmp_path / "junk.mp3"))["title"] is None


def test_tags_stored_listed_and_searched(tmp_path, capsys):
    music = tmp_path / "m"
    music.mkdir()
    write_tagged(music / "one.flac", "flac", "flac")
    write_tagged(music / "two.flac", "flac", "flac", {"title": "Other", "artist": "Someone"})
    db = str(tmp_path / "lib.sqlite3")
    assert main(["library", "add", str(music), "--fingerprint-only", "--workers", "0", "--db", db]) == 0
    capsys.readouterr()
    assert main(["library", "list", "--db", db, "--json"]) == 0
    listed = {t["path"].rsplit("/", 1)[-1]: t for t in json.loads(capsys.readouterr().out)}
    assert {k: listed["one.flac"][k] for k in TAGS} == TAGS
    assert listed["two.flac"]["album"] is None
    assert main(["library", "search", "--text", "nüw ør", "--db", db, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [t["title"] for t in found] == ["Blue\nMonday"]
    assert main(["library", "search", "--text", "monday", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Blue\\nMonday" in out and len(out.splitlines()) == 1  # the newline is escaped
    assert main(["library", "search", "--text", "zzz", "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
