"""Record from the PulseAudio null sink while a tone plays; watch the live spectrogram."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.gui.spectrogram import band_of_frequency
from tests.gui.conftest import load
from tests.helpers.signals import sine

pytestmark = pytest.mark.audio_device

TONE_HZ = 1000.0


def test_live_spectrogram_shows_played_tone(qtbot, window, pulse_audio, tmp_path):
    from musicapp.audio.player import Player

    take = tmp_path / "take.wav"
    assert window.start_recording(str(take))
    qtbot.waitUntil(lambda: window.capture is not None and window.capture.recorder is not None,
                    timeout=10_000)
    player = Player(sine(TONE_HZ, 6.0, 48000, amp=0.5), 48000)
    player.play()
    paints_before = window.spectrogram.paints.count
    try:
        qtbot.waitUntil(lambda: window.spectrogram.duration_s >= 3.2, timeout=20_000)
        live = window.spectrogram.frames.copy()  # what the live view holds right now
        assert window.spectrogram.live
    finally:
        player.stop()
    with qtbot.waitSignal(window.take_finished, timeout=15_000) as done:
        window.stop_recording()
    # the live view was redrawn many times while recording
    assert window.spectrogram.paints.count - paints_before > 20
    # the tone's Mel band dominates the last 1.5 s of the live frames
    tail = live[-int(1.5 / window.spectrogram.frame_s):]
    band = band_of_frequency(TONE_HZ)
    profile = tail.mean(axis=0)
    assert abs(int(np.argmax(profile)) - band) <= 1, (np.argmax(profile), band)
    assert profile[band] > profile[band_of_frequency(250)] + 1.0
    assert profile[band] > profile[band_of_frequency(4000)] + 1.0
    path, seconds = done.args
    assert path == str(take) and take.exists()
    assert seconds >= 3.0
    assert window.record_overflows == 0
    # the take is opened for playback and analysis
    qtbot.waitUntil(lambda: window.track is not None, timeout=30_000)
    assert window.track.duration_s == pytest.approx(seconds, abs=0.1)


def test_missing_input_device_shows_message(qtbot, window, tmp_path, track_file):
    window.start_recording(str(tmp_path / "x.wav"), device="no such device 12345")
    qtbot.waitUntil(lambda: window.capture is None, timeout=15_000)
    assert window.message.isVisible()
    assert "Recording stopped" in window.message.text()
    assert "no such device" in window.message.text() or "device" in window.message.text()
    assert not window.act_record.isChecked()
    load(qtbot, window, track_file)  # still usable
    assert window.track is not None
