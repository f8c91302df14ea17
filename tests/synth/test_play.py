"""Preview playback through a real (PulseAudio null-sink) device, recorded back from its monitor."""

from __future__ import annotations

import mido
import numpy as np
import pytest
import soundfile as sf

from musicapp.synth import play, render_midi


@pytest.mark.audio_device
def test_play_is_heard_on_the_monitor(pulse_audio, tmp_path):
    from musicapp.audio.recorder import Recorder

    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.Message("note_on", note=69, velocity=100, time=0))
    tr.append(mido.Message("note_off", note=69, velocity=0, time=2400))  # 2.5 s at 120 bpm
    sr = 48000
    y = render_midi(mid, sample_rate=sr, use_soundfont=False, tail_s=0.2)
    rec = Recorder(tmp_path / "take.wav", sample_rate=sr, max_seconds=2.0)
    rec.start()
    play(y, sr)  # blocks until played
    assert rec.wait(15)
    result = rec.stop()
    x, rate = sf.read(result.path, dtype="float32")
    x = x.mean(axis=1) if x.ndim == 2 else x
    assert np.max(np.abs(x)) > 1e-2, "nothing came back from the monitor"
    x = x[np.abs(x) > 0][-sr:]
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    band = (freqs > 100) & (freqs < 2000)
    assert abs(freqs[band][np.argmax(spec[band])] - 440.0) < 3.0
