"""WAV writing: atomic whole files and incremental takes that are valid after every flush."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from musicapp.audio import write_wav
from musicapp.audio.wav import IncrementalWavWriter
from musicapp.errors import FileExistsRefusal


def test_write_wav_atomic_and_refuses_overwrite(tmp_path):
    p = tmp_path / "x.wav"
    write_wav(p, np.zeros((2, 100), np.float32), 8000)
    assert sf.info(str(p)).channels == 2
    with pytest.raises(FileExistsRefusal):
        write_wav(p, np.zeros(10, np.float32), 8000, overwrite=False)
    assert not list(tmp_path.glob(".x.wav.*"))


def test_incremental_writer_is_readable_before_close(tmp_path):
    p = tmp_path / "take.wav"
    w = IncrementalWavWriter(p, 16000, 1)
    w.write(np.full(16000, 0.5, np.float32))
    w.flush()
    y, sr = sf.read(str(p), dtype="float32")  # read while still open, as after a crash
    assert sr == 16000 and len(y) == 16000
    np.testing.assert_allclose(y, 0.5, atol=1e-4)
    w.write(np.full(8000, -0.5, np.float32))
    w.close()
    y, _ = sf.read(str(p), dtype="float32")
    assert len(y) == 24000


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 256 KB file system (tmpfs), where the machine lets the test mount one (root)."""
    from tests.helpers.tmpfs import small_tmpfs as mount

    with mount(tmp_path / "small", "256k") as mnt:
        yield mnt


def test_full_disk_is_named_and_the_old_file_kept(small_tmpfs):
    # libsndfile reports a full disk as "System error."; the message now says what happened
    from musicapp.audio import write_wav
    from musicapp.errors import MusicappError

    keep = small_tmpfs / "take.wav"
    keep.write_bytes(b"the old take")
    with pytest.raises(MusicappError, match=r"no space left on the device: .* free, the file "
                       r"needs about 1\.[0-9] MB"):
        write_wav(keep, np.zeros((2, 44100 * 9), np.float32), 44100)
    assert keep.read_bytes() == b"the old take"
    assert [p.name for p in small_tmpfs.iterdir()] == ["take.wav"]  # no temporary file left
