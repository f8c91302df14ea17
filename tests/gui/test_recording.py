"""Record from the PulseAudio null sink while a tone plays; watch the live spectrogram."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.gui.spectrogram import band_of_frequency
from tests.gui.conftest import load
from tests.helpers.signals import sine

pytestmark = pytest.mark.audio_device

TONE_HZ = 1000.0


def test_live_spectrogram_shows_played_tone(qtbot, pulse_audio, window, tmp_path):
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
        qtbot.wait(200)
        env_t, env = window.overview.upper.getData()  # the overview grows while recording
        assert env_t is not None and env_t[-1] > 2.5 and env.max() > 0.1
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
    assert window.message.text().startswith("Could not start recording: ")
    assert "no audio input device matches" in window.message.text()
    assert not window.act_record.isChecked()
    load(qtbot, window, track_file)  # still usable
    assert window.track is not None


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGXFSZ"), reason="POSIX only")
def test_disk_full_while_recording_keeps_the_take(qtbot, pulse_audio, window, tmp_path):
    """A write error (here: the file-size limit, as when the disk fills) stops the take with a
    clear message; what was written is kept and opened; the window stays usable."""
    import resource
    import signal

    take = tmp_path / "full.wav"
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, hard))  # ~2 s of 48 kHz 16-bit mono
    try:
        assert window.start_recording(str(take))
        qtbot.waitUntil(lambda: window.capture is None, timeout=30_000)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    text = window.message.text()
    assert window.message.isVisible() and "Recording stopped" in text
    assert "cannot write" in text and "kept" in text
    assert take.exists() and 100_000 < take.stat().st_size <= 200_000
    # the kept part is a valid WAV that the window opens
    qtbot.waitUntil(lambda: window.track is not None, timeout=30_000)
    assert 1.0 < window.track.duration_s < 2.2
    assert window.act_record.isEnabled() and not window.act_record.isChecked()


def test_space_plays_and_pauses_with_moving_cursor(qtbot, pulse_audio, window, track_file):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    load(qtbot, window, track_file)
    window.seek(2.0)
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: window.player is not None and window.player.playing, timeout=10_000)
    qtbot.waitUntil(lambda: window.spectrogram.cursor.value() > 2.5, timeout=10_000)
    assert window.overview.cursor.value() > 2.5
    QTest.keyClick(window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not window.player.playing, timeout=5000)
    paused_at = window.player.position_s
    qtbot.wait(300)
    assert window.player.position_s == pytest.approx(paused_at, abs=0.01)
    assert window.act_play.text().startswith("▶")


def _loaded_state(window):
    return window.track, window.spectrogram.frames.copy(), window.analysis


def test_record_without_input_device_keeps_the_track(qtbot, window, track_file, tmp_path):
    """With no input device Record is disabled with the reason; Ctrl+R and R do nothing and the
    loaded track, its spectrogram and its analysis stay; no take folder appears."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    load(qtbot, window, track_file)
    window.set_analysis({"duration_s": 12.0, "tempo_bpm": 120.0})
    window._fill_devices([])  # what the device scan reports on a machine without inputs
    assert not window.act_record.isEnabled()
    assert "No audio input device" in window.act_record.toolTip()
    # the hints no longer offer a key that does nothing
    assert "Ctrl+R" not in window.spectrogram.hint.toPlainText()
    track, frames, analysis = _loaded_state(window)
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(window, Qt.Key.Key_R)
    qtbot.wait(200)
    assert window.capture is None
    assert window.track is track and window.analysis is analysis
    np.testing.assert_array_equal(window.spectrogram.frames, frames)
    assert window.act_play.isEnabled() and window.act_analyze.isEnabled()
    assert not (tmp_path / "takes").exists()


def test_take_that_never_starts_keeps_the_track_and_creates_nothing(qtbot, window, track_file,
                                                                    tmp_path):
    load(qtbot, window, track_file)
    track, frames, _ = _loaded_state(window)
    takes = tmp_path / "takes"
    assert not takes.exists()
    assert window.start_recording(device="no such device 12345")
    qtbot.waitUntil(lambda: window.capture is None, timeout=15_000)
    assert window.message.text().startswith("Could not start recording: ")  # nothing had started
    assert window.track is track
    np.testing.assert_array_equal(window.spectrogram.frames, frames)
    assert not window.spectrogram.live
    assert window.act_play.isEnabled() and window.act_record.text() == "● Record"
    assert not takes.exists()  # neither the folder nor an empty take file


def test_record_shortcut_is_not_a_bare_letter(window):
    from PySide6.QtGui import QKeySequence

    assert window.act_record.shortcut() == QKeySequence("Ctrl+R")
    bare = [a.text() for a in window.actions() if a.shortcut().toString()
            and len(a.shortcut().toString()) == 1 and a.shortcut().toString().isalpha()]
    assert bare == []


def test_with_no_input_the_start_up_hints_do_not_offer_recording(qtbot, window):
    assert "Ctrl+R" in window.status_label.text()  # before the scan: recording is offered
    window._fill_devices([])
    assert window.status_label.text() == window.START_STATUS_NO_INPUT
    assert window.spectrogram.hint.toPlainText() == window.START_HINT_NO_INPUT
