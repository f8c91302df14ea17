"""Issue 14, decoding: hostile and damaged audio files (C1, C3, C5, C6, H4, U1, U5; issue 15 item 8).

Every file is made here. A hostile header is refused before any buffer or resampler is created,
a damaged file is decoded as far as it can be (with a warning), and a non-regular file is refused
with its kind, never read.
"""

from __future__ import annotations

import os
import socket
import subprocess

import numpy as np
import pytest

from musicapp.audio import load_audio, probe
from musicapp.errors import AudioDecodeError
from tests.attack import hostile
from tests.attack._cli import assert_clear_error, run_cli

# ---- C1 / H4: a header claiming 1 Hz ---------------------------------------------------------


@pytest.mark.parametrize("maker", [hostile.wav_1hz, hostile.flac_1hz], ids=["wav", "flac"])
def test_one_hz_header_is_refused_before_decoding(tmp_path, maker):
    p = maker(tmp_path)
    with pytest.raises(AudioDecodeError, match="sample rate of 1 Hz"):
        probe(p)
    with pytest.raises(AudioDecodeError, match="sample rate of 1 Hz"):
        load_audio(p, sr=16000)


def test_analyze_one_hz_wav_is_bounded_in_memory_and_time(tmp_path):
    p = hostile.wav_1hz(tmp_path)
    # Before: soxr asked for 8.4 GB and the process segfaulted or ran for over 10 minutes.
    run = run_cli(["analyze", p.name], tmp_path, timeout=120, mem_limit_mib=3072)
    assert_clear_error(run, "sample rate of 1 Hz")
    assert run.peak_mib < 400, run.peak_mib


# ---- C3: streamed and inflated FLAC ------------------------------------------------------------


def test_streamed_flac_decodes_by_streaming(tmp_path):
    p = hostile.flac_streamed(tmp_path, seconds=3.0)
    info = probe(p)
    assert abs(info.duration_s - 3.0) < 0.01  # was 418,293,516,410,647 s
    assert not info.warnings
    audio = load_audio(p, sr=16000)
    assert abs(audio.duration_s - 3.0) < 0.01
    assert np.isfinite(audio.samples).all() and np.abs(audio.samples).max() > 0.4


def test_inflated_flac_total_never_allocates_it(tmp_path):
    p = hostile.flac_inflated(tmp_path)  # claims 2**36 - 1 samples (186 GiB at 16 kHz)
    info = probe(p)
    assert info.duration_s < 4 and any("truncated" in w for w in info.warnings)
    run = run_cli(["info", p.name], tmp_path, timeout=60, mem_limit_mib=2048)
    assert run.rc == 0 and "Traceback" not in run.stderr, run.stderr
    assert "0:03.000" in run.stdout and "truncated" in run.stdout
    audio = load_audio(p, sr=16000)
    assert abs(audio.duration_s - 3.0) < 0.01


# ---- issue 15 item 8: info on truncated FLAC/WAV -----------------------------------------------


@pytest.mark.parametrize("maker", [hostile.flac_truncated, hostile.wav_truncated], ids=["flac", "wav"])
def test_info_reports_a_truncated_file_as_truncated(tmp_path, maker):
    p = maker(tmp_path)
    run = run_cli(["info", "--json", p.name], tmp_path, timeout=60)
    assert run.rc == 0 and "Traceback" not in run.stderr, run.stderr
    import json

    record = json.loads(run.stdout)
    assert any("truncated" in w for w in record["warnings"]), record
    declared = 30.0 if p.suffix == ".flac" else 4.0
    assert record["duration_s"] < 0.6 * declared  # what the file holds, not what the header says
    audio = load_audio(p, sr=16000)
    assert abs(audio.duration_s - record["duration_s"]) < 0.05
    assert any("truncated" in w for w in audio.warnings)


# ---- C5: WAVs that only FFmpeg would try ----------------------------------------------------


def test_wav_with_unknown_format_tag_is_a_clear_error(tmp_path):
    p = hostile.wav_unknown_tag(tmp_path)
    with pytest.raises(AudioDecodeError, match="format tag 0x1234"):
        probe(p)
    for command in (["info", p.name], ["analyze", "--no-tags", p.name]):
        assert_clear_error(run_cli(command, tmp_path, timeout=60), "unsupported or invalid encoding")


def test_analyze_dir_goes_on_after_a_bad_wav(tmp_path):
    hostile.wav_unknown_tag(tmp_path)
    good = tmp_path / "zz_good.wav"
    import soundfile as sf

    sf.write(good, hostile.tone(2.0, 22050), 22050)
    run = run_cli(["analyze", "--no-tags", "--no-music", "."], tmp_path, timeout=120)
    assert run.rc == 2 and "Traceback" not in run.stderr, run.stderr
    assert "unknown_tag.wav" in run.stderr and "zz_good.wav" in run.stdout


# ---- C6: float WAV with samples near 3e38 -------------------------------------------------


def test_huge_float_samples_are_clipped_with_a_warning(tmp_path):
    p = hostile.wav_float_huge(tmp_path)
    audio = load_audio(p, sr=16000)
    assert np.isfinite(audio.samples).all()
    assert np.abs(audio.samples).max() < 64
    assert any("clipped" in w for w in audio.warnings)


# ---- U1: damaged and truncated files: recover what can be, and say so -----------------------


def test_damaged_mp3_recovers_most_of_it(tmp_path):
    p = hostile.mp3_damaged(tmp_path)  # 8 s; libsndfile alone stopped at 2.3 s, silently
    audio = load_audio(p, sr=16000)
    assert audio.duration_s > 6.0
    assert any("damaged" in w for w in audio.warnings)


def test_flac_with_one_damaged_block_is_recovered(tmp_path):
    p = hostile.flac_damaged_block(tmp_path)  # 10 s; was refused ("lost sync")
    audio = load_audio(p, sr=16000)
    assert audio.duration_s > 7.8
    assert any("damaged" in w for w in audio.warnings)


@pytest.mark.parametrize("maker", [hostile.mp3_truncated, hostile.wav_truncated], ids=["mp3", "wav"])
def test_truncated_files_warn(tmp_path, maker):
    audio = load_audio(maker(tmp_path), sr=16000)
    assert audio.duration_s > 1.0
    assert any("truncated" in w for w in audio.warnings), audio.warnings


# ---- U5 / H1: FIFOs, devices and sockets are refused, never read ----------------------------


def _fifo(tmp_path):
    p = tmp_path / "pipe.wav"
    os.mkfifo(p)
    return p, "FIFO"


def _dev_zero_link(tmp_path):
    p = tmp_path / "zero.wav"
    p.symlink_to("/dev/zero")
    return p, "character device"


def _socket(tmp_path):
    p = tmp_path / "sock.wav"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(p))
    return p, "socket"


@pytest.mark.parametrize("make", [_fifo, _dev_zero_link, _socket], ids=["fifo", "dev-zero", "socket"])
def test_non_regular_files_are_refused_with_their_kind(tmp_path, make):
    p, kind = make(tmp_path)
    for call in (probe, load_audio):
        with pytest.raises(AudioDecodeError, match=kind) as exc:
            call(p)
        assert "empty" not in str(exc.value)


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/urandom"])
def test_devices_are_refused(target):
    with pytest.raises(AudioDecodeError, match="character device"):
        probe(target)


def test_cli_on_a_fifo_does_not_hang(tmp_path):
    p, _ = _fifo(tmp_path)
    for command in (["info", p.name], ["analyze", "--no-tags", p.name]):
        try:
            run = run_cli(command, tmp_path, timeout=60)
        except subprocess.TimeoutExpired:  # pragma: no cover - the failure being tested for
            pytest.fail(f"musicapp {' '.join(command)} hung on a FIFO")
        assert_clear_error(run, "FIFO")
