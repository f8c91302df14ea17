"""An MP3 behind an ID3 tag whose size claims more than the file holds decodes from its first
MPEG frame, with a warning; a non-audio file behind such a tag is still refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musicapp.audio import load_audio, probe
from musicapp.audio.mpeg import OffsetFile, first_frame, frame_header, id3_declared_end
from musicapp.errors import AudioDecodeError
from tests.library.music import song

SR = 44100
HUGE = 256 * 1024 * 1024 - 1  # the largest synchsafe size: 256 MB


def _synchsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def _id3(size: int, body: bytes = b"") -> bytes:
    """An ID3v2.3 header declaring ``size`` bytes of tag, then ``body`` (its real frames)."""
    return b"ID3\x03\x00\x00" + _synchsafe(size) + body


def _title_frame(text: bytes) -> bytes:
    return b"TIT2" + (len(text) + 1).to_bytes(4, "big") + b"\x00\x00\x00" + text


def _mp3(tmp_path: Path, seconds: float = 6.0) -> Path:
    y = (song(5, seconds, sr=SR) * 0.7).astype(np.float32)
    p = tmp_path / "clean.mp3"
    sf.write(str(p), y, SR, format="MP3", subtype="MPEG_LAYER_III")
    return p


def test_a_tag_claiming_256_mb_is_skipped_and_the_audio_decodes_with_a_warning(tmp_path):
    clean = _mp3(tmp_path)
    # the tag's own text holds bytes that look like a frame sync, but no chain of frames follows
    body = _title_frame(b"Song \xff\xfb\x90\xc4 title") + _title_frame(b"\xff\xfb\x90")
    broken = tmp_path / "broken_tag.mp3"
    broken.write_bytes(_id3(HUGE, body) + clean.read_bytes())

    reference = load_audio(clean)
    assert reference.warnings == []
    info = probe(broken)
    assert info.data_offset == 10 + len(body)  # the first real frame, not the fake sync
    audio = load_audio(broken)
    assert abs(audio.duration_s - reference.duration_s) <= 1152 / SR  # within one frame
    np.testing.assert_allclose(audio.samples, reference.samples, atol=1e-6)
    (note,) = audio.warnings
    assert "damaged ID3 tag" in note and str(10 + HUGE) in note and "skipped" in note
    # a range decodes from the same place as in the clean file
    part = load_audio(broken, offset=2.0, duration=1.0)
    ref_part = load_audio(clean, offset=2.0, duration=1.0)
    np.testing.assert_allclose(part.samples, ref_part.samples, atol=1e-6)


def test_a_correct_tag_needs_no_repair(tmp_path):
    clean = _mp3(tmp_path, 2.0)
    body = _title_frame(b"Fine")
    tagged = tmp_path / "tagged.mp3"
    tagged.write_bytes(_id3(len(body), body) + clean.read_bytes())
    info = probe(tagged)
    assert info.data_offset == 0 and info.warnings == ()
    assert load_audio(tagged).warnings == []


@pytest.mark.parametrize("payload", [
    b"This is a text file, not a song.\n" * 200,
    np.random.default_rng(3).integers(0, 256, 50_000, dtype=np.uint8).tobytes(),
])
def test_no_audio_behind_a_broken_tag_is_still_not_recognised(tmp_path, payload):
    p = tmp_path / "not_audio.mp3"
    p.write_bytes(_id3(HUGE, _title_frame(b"x")) + payload)
    with pytest.raises(AudioDecodeError, match="not a recognised audio file") as err:
        load_audio(p)
    assert str(p) in str(err.value)


def test_frame_header_reads_an_encoded_frame_and_refuses_invalid_ones(tmp_path):
    data = _mp3(tmp_path, 1.0).read_bytes()
    length, (version, layer, rate) = frame_header(data, 0)
    assert (version, layer, rate) == (3, 3, SR) and 96 <= length <= 1441
    assert frame_header(data, length) is not None  # the next frame follows where it says
    assert first_frame(data) == 0
    for bad in (b"\xff\xfb\xf0\x00",  # bitrate index 15
                b"\xff\xfb\x0c\x00",  # sample-rate index 3
                b"\xff\xf9\x90\x00",  # layer bits 00 (reserved)
                b"\xff\xeb\x90\x00",  # version bits 01 (reserved)
                b"\xfe\xfb\x90\x00"):  # no sync
        assert frame_header(bad, 0) is None
    assert id3_declared_end(_id3(HUGE)) == 10 + HUGE
    assert id3_declared_end(b"RIFF\x00\x00\x00\x00WAVE") is None


def test_offset_file_reads_and_seeks_from_its_offset(tmp_path):
    p = tmp_path / "bytes.bin"
    p.write_bytes(bytes(range(100)))
    with OffsetFile(p, 40) as f:
        assert f.read(3) == bytes([40, 41, 42]) and f.tell() == 3
        assert f.seek(-5, 2) == 55 and f.read() == bytes(range(95, 100))
        assert f.seek(-1000, 2) == 0 and f.read(1) == bytes([40])
        assert f.seek(10) == 10 and f.seek(2, 1) == 12 and f.read(1) == bytes([52])


def _id3v24(size: int, flags: int, body: bytes) -> bytes:
    """An ID3v2.4 header with ``flags`` (0x10: a footer follows) declaring ``size`` bytes."""
    return b"ID3\x04\x00" + bytes([flags]) + _synchsafe(size) + body


def test_a_footer_flag_without_a_footer_loses_no_audio(tmp_path):
    clean = _mp3(tmp_path, 8.0)
    reference = load_audio(clean)
    body = b"\x00" * 100
    p = tmp_path / "footer_flag.mp3"
    p.write_bytes(_id3v24(len(body), 0x10, body) + clean.read_bytes())
    info = probe(p)
    assert info.data_offset == 10 + len(body)
    assert abs(info.duration_s - reference.duration_s) <= 1152 / SR
    audio = load_audio(p)
    np.testing.assert_allclose(audio.samples, reference.samples, atol=1e-6)
    (note,) = audio.warnings
    assert "footer" in note and "missing" in note and str(10 + len(body)) in note
    # a real footer ("3DI" + the header's fields) is a correct tag: nothing to repair
    footed = tmp_path / "footed.mp3"
    footed.write_bytes(_id3v24(len(body), 0x10, body) + b"3DI\x04\x00\x10" + _synchsafe(len(body))
                       + clean.read_bytes())
    assert probe(footed).warnings == () and load_audio(footed).warnings == []


def test_a_tag_size_ending_inside_the_audio_is_resynced_from_the_tag_start(tmp_path):
    clean = _mp3(tmp_path, 8.0)
    reference = load_audio(clean)
    p = tmp_path / "inside.mp3"
    p.write_bytes(_id3v24(1000, 0, b"") + clean.read_bytes())  # the audio starts at byte 10
    info = probe(p)
    assert info.data_offset == 10
    audio = load_audio(p)
    assert abs(audio.duration_s - reference.duration_s) <= 1152 / SR
    np.testing.assert_allclose(audio.samples, reference.samples, atol=1e-6)
    (note,) = audio.warnings
    assert "byte 1010" in note and "no MPEG frame starts there" in note


def test_the_vectorised_search_matches_a_byte_by_byte_search(tmp_path):
    def reference(data: bytes, start: int = 0) -> int | None:
        for at in range(start, len(data)):
            found = frame_header(data, at)
            if found is None:
                continue
            kind, pos, links = found[1], at + found[0], 1
            while links < 3 and pos < len(data):
                nxt = frame_header(data, pos)
                if nxt is None or nxt[1] != kind:
                    break
                pos, links = pos + nxt[0], links + 1
            if links >= 3 or pos == len(data):
                return at
        return None

    mp3 = _mp3(tmp_path, 1.0).read_bytes()
    rng = np.random.default_rng(7)
    for _ in range(60):  # fragments of real audio, and random bytes rich in sync patterns
        a = int(rng.integers(0, len(mp3)))
        frag = mp3[a:a + int(rng.integers(1, 4000))]
        noise = rng.choice(np.array([0xFF, 0xFB, 0x90, 0xE3, 0x00, 0x64], dtype=np.uint8),
                           size=int(rng.integers(1, 6000))).tobytes()
        for data in (frag, noise, noise + mp3[:3000]):
            assert first_frame(data) == reference(data)
            assert first_frame(data, 5) == reference(data, 5)


def test_a_tag_before_30_mb_of_ff_bytes_is_refused_after_a_bounded_read(tmp_path, monkeypatch):
    """The attack that took 156 s: each chunk of 0xFF costs a few numpy passes, and no more than
    SCAN_LIMIT bytes are read whatever the file's size."""
    from musicapp.audio import mpeg

    payload = b"\xff" * (30 * 1024 * 1024)
    assert first_frame(payload) is None
    p = tmp_path / "ff.mp3"
    p.write_bytes(_id3(HUGE, _title_frame(b"x")) + payload)
    read: list[int] = []
    real_open = open

    class Counting:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def read(self, n=-1):
            out = self.f.read(n)
            read.append(len(out))
            return out

        def seek(self, *args):
            return self.f.seek(*args)

    # the real file, its reads counted
    monkeypatch.setattr(mpeg, "open", lambda path, mode="r": Counting(real_open(path, mode)),
                        raising=False)
    assert mpeg.audio_start_after_broken_tag(p) is None
    monkeypatch.undo()
    assert 0 < sum(read) <= mpeg.SCAN_LIMIT + 10
    with pytest.raises(AudioDecodeError, match="not a recognised audio file"):
        probe(p)


def test_a_right_tag_followed_by_a_broken_one_is_skipped_to_the_audio(tmp_path):
    clean = _mp3(tmp_path, 3.0)
    reference = load_audio(clean)
    first = _id3(100, b"\x00" * 100)
    p = tmp_path / "two_tags.mp3"
    p.write_bytes(first + _id3(HUGE) + clean.read_bytes())  # the second claims 256 MB
    assert probe(p).data_offset == len(first) + 10
    audio = load_audio(p)
    np.testing.assert_allclose(audio.samples, reference.samples, atol=1e-6)
    (note,) = audio.warnings
    assert "damaged ID3 tag" in note and str(len(first) + 10 + HUGE) in note


def test_junk_after_a_right_tag_is_left_to_the_decoder_without_a_warning(tmp_path):
    clean = _mp3(tmp_path, 3.0)
    reference = load_audio(clean)
    body = _title_frame(b"Fine")
    p = tmp_path / "junk.mp3"
    p.write_bytes(_id3v24(len(body), 0, body) + b"\x00" * 500 + clean.read_bytes())
    assert probe(p).data_offset == 0
    audio = load_audio(p)
    assert abs(audio.duration_s - reference.duration_s) <= 1152 / SR
    assert not any("ID3" in w for w in audio.warnings)
