"""Recording and playback on a real audio device: the PulseAudio null sink and its monitor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from musicapp.audio.devices import list_input_devices, list_output_devices, resolve_device
from musicapp.audio.player import Player
from musicapp.audio.recorder import Recorder
from musicapp.errors import AudioDeviceError
from tests.helpers.signals import dominant_frequency, sine

pytestmark = pytest.mark.audio_device
ROOT = Path(__file__).resolve().parents[2]


def test_devices_listed(pulse_audio):
    assert list_input_devices()
    assert list_output_devices()
    assert resolve_device(None, "input").max_input_channels > 0


def test_unknown_device_is_a_clear_error(pulse_audio):
    with pytest.raises(AudioDeviceError, match="no audio input device matches"):
        resolve_device("no-such-microphone", "input")
    with pytest.raises(AudioDeviceError, match="#9999 does not exist"):
        Recorder("/tmp/never.wav", device=9999).start()


def test_tone_loopback(pulse_audio, tmp_path):
    sr = 48000
    rec = Recorder(tmp_path / "take.wav", sample_rate=sr, max_seconds=2.0)
    rec.start()
    positions = []
    player = Player(sine(440, 3.0, sr), sr, on_position=positions.append)
    player.play()
    assert rec.wait(15)
    live = rec.read_new()
    result = rec.stop()
    player.stop()
    assert result.error is None
    assert result.duration_s == pytest.approx(2.0, abs=1e-3)
    y, rate = sf.read(result.path, dtype="float32")
    assert rate == sr
    loud = y[np.abs(y) > 0.05]
    assert len(loud) > sr // 2, "the tone did not come back on the monitor input"
    assert dominant_frequency(y[-sr:], sr) == pytest.approx(440.0, abs=1.0)
    assert len(live) >= len(y)
    assert positions and 0 < max(positions) <= 3.0
    assert rec.level_dbfs > -20


def test_player_seek_pause_and_position(pulse_audio):
    sr = 48000
    player = Player(sine(330, 2.0, sr), sr)
    player.seek(1.5)
    assert player.position_s == pytest.approx(1.5)
    player.play()
    assert player.wait(5)
    assert player.position_s == pytest.approx(2.0)
    player.stop()
    assert player.position_s == 0


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from musicapp.audio.recorder import Recorder
    rec = Recorder(sys.argv[1], sample_rate=48000)
    rec.start()
    while rec.elapsed_s == 0:  # the device delivers its first block some time after start
        time.sleep(0.005)
    print("started", flush=True)
    time.sleep(120)
    """
)


def test_sigkill_leaves_readable_wav(pulse_audio, tmp_path):
    out = tmp_path / "killed.wav"
    tone = Player(sine(440, 8.0, 48000, amp=0.3), 48000)
    tone.play()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(out)], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert child.stdout.readline().strip() == "started"
        started = time.monotonic()
        time.sleep(3.0)
        elapsed = time.monotonic() - started
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        tone.stop()
        if child.poll() is None:
            child.kill()
    y, sr = sf.read(out, dtype="float32")
    assert sr == 48000
    assert len(y) / sr >= elapsed - 1.0, f"only {len(y) / sr:.2f} s of {elapsed:.2f} s survived"
    assert np.abs(y).max() > 0.1  # real audio, not zeros


def test_full_disk_stops_cleanly_and_keeps_take(pulse_audio, tmp_path, monkeypatch):
    """ENOSPC while writing: the recorder reports it and keeps what was written."""
    import errno

    from musicapp.audio import wav

    rec = Recorder(tmp_path / "full.wav", sample_rate=48000)
    original = wav.IncrementalWavWriter.write
    calls = {"n": 0}

    def failing_write(self, block):
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        original(self, block)

    monkeypatch.setattr(wav.IncrementalWavWriter, "write", failing_write)
    rec.start()
    assert rec.wait(10)
    result = rec.stop()
    assert "no space left on device" in result.error.lower()
    assert "are kept" in result.error
    y, _ = sf.read(result.path)
    assert len(y) > 0


def test_no_input_device_is_a_clear_error(pulse_audio, monkeypatch, tmp_path):
    from musicapp.audio import devices

    outputs_only = [d for d in devices.list_devices() if d.max_input_channels == 0]
    monkeypatch.setattr(devices, "list_devices", lambda: outputs_only)
    with pytest.raises(AudioDeviceError, match="no audio input device found"):
        Recorder(tmp_path / "x.wav").start()
    assert not (tmp_path / "x.wav").exists()


def test_device_disappearing_mid_take_keeps_the_take(pulse_audio, tmp_path):
    """Kill the audio server while recording: a clear error, and the take so far stays on disk."""
    from musicapp.audio.devices import refresh
    from tests.helpers.pulse import ensure_null_sink

    rec = Recorder(tmp_path / "gone.wav", sample_rate=48000)
    rec.start()
    try:
        deadline = time.monotonic() + 10
        while rec.elapsed_s < 1.0 and time.monotonic() < deadline:
            time.sleep(0.05)
        subprocess.run(["pulseaudio", "--kill"], check=False, timeout=10)
        assert rec.wait(15), "the recorder did not notice the device was gone"
        result = rec.stop()
    finally:
        rec.stop()
        assert ensure_null_sink() is None
        refresh()
    assert result.error and "stopped delivering audio" in result.error
    y, _ = sf.read(result.path)
    assert len(y) / 48000 >= 0.9
