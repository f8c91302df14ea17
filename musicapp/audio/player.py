"""Playback of a file or a buffer through an output device, with a position for a cursor.

The PortAudio callback only copies the next slice of a preallocated array (or silence) and moves
an integer position. ``on_position`` is called from a separate low-rate thread, never from the
audio callback, so a slow GUI cannot cause dropouts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from musicapp.audio.devices import DeviceInfo, close_stream, resolve_device
from musicapp.errors import AudioDeviceError


class Player:
    """Play ``samples`` (``(n,)`` or ``(channels, n)`` float32) at ``sample_rate``."""

    def __init__(
        self,
        samples: np.ndarray,
        sample_rate: int,
        device: int | str | None = None,
        on_position: Callable[[float], None] | None = None,
        on_finished: Callable[[], None] | None = None,
        position_interval_s: float = 1 / 30,
    ) -> None:
        data = np.asarray(samples, dtype=np.float32)
        self._data = np.ascontiguousarray(data[:, None] if data.ndim == 1 else data.T)
        self.sample_rate = int(sample_rate)
        self.device_request = device
        self.on_position = on_position
        self.on_finished = on_finished
        self.position_interval_s = position_interval_s
        self._pos = 0
        self._stream = None
        self._notifier: threading.Thread | None = None
        self._closing = threading.Event()
        self.device: DeviceInfo | None = None
        self.underflows = 0

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> Player:
        """Decode ``path`` at its own rate, keeping up to two channels, and make a player."""
        from musicapp.audio.decode import load_audio

        audio = load_audio(path, sr=None, mono=False)
        samples = audio.samples if audio.channels <= 2 else audio.samples.mean(axis=0)
        return cls(samples, audio.sample_rate, **kwargs)

    @property
    def duration_s(self) -> float:
        """Length of the material in seconds."""
        return self._data.shape[0] / float(self.sample_rate)

    @property
    def position_s(self) -> float:
        """Current play position in seconds."""
        return self._pos / float(self.sample_rate)

    @property
    def playing(self) -> bool:
        """True while the stream runs and material is left."""
        return self._stream is not None and self._stream.active and self._pos < self._data.shape[0]

    def _callback(self, outdata, frames, time_info, status) -> None:
        if status.output_underflow:
            self.underflows += 1
        pos = self._pos
        n = min(frames, self._data.shape[0] - pos)
        if n > 0:
            outdata[:n] = self._data[pos : pos + n]
        if n < frames:
            outdata[max(n, 0) :] = 0.0
        self._pos = pos + max(n, 0)

    def _open(self) -> None:
        import sounddevice as sd

        self.device = resolve_device(self.device_request, "output")
        channels = self._data.shape[1]
        if channels > self.device.max_output_channels:
            self._data = np.ascontiguousarray(self._data.mean(axis=1, keepdims=True))
            channels = 1
        try:
            self._stream = sd.OutputStream(
                device=self.device.index,
                samplerate=self.sample_rate,
                channels=channels,
                dtype="float32",
                callback=self._callback,
            )
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"cannot open output device {self.device.name!r}: {exc}") from exc

    def play(self) -> None:
        """Start or resume playback from :attr:`position_s`."""
        if self._pos >= self._data.shape[0]:
            self._pos = 0
        if self._stream is None:
            self._open()
        if not self._stream.active:
            self._stream.start()
        if self._notifier is None or not self._notifier.is_alive():
            self._closing.clear()
            self._notifier = threading.Thread(target=self._notify_loop, name="player-pos", daemon=True)
            self._notifier.start()

    def pause(self) -> None:
        """Pause, keeping the position."""
        if self._stream is not None and self._stream.active:
            self._stream.stop()

    def stop(self) -> None:
        """Stop, rewind to the start and release the device."""
        self._closing.set()
        stream, self._stream = self._stream, None
        close_stream(stream)
        if self._notifier is not None and self._notifier is not threading.current_thread():
            self._notifier.join(timeout=1.0)
        self._notifier = None
        self._pos = 0

    def seek(self, seconds: float) -> None:
        """Move the play position (clamped to the material)."""
        frame = int(round(max(0.0, seconds) * self.sample_rate))
        self._pos = min(frame, self._data.shape[0])

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the material has played out; False on timeout."""
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while self._stream is not None and self._pos < self._data.shape[0]:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _notify_loop(self) -> None:
        finished_sent = False
        while not self._closing.wait(self.position_interval_s):
            if self.on_position is not None:
                self.on_position(self.position_s)
            done = self._pos >= self._data.shape[0]
            if done and not finished_sent:
                finished_sent = True
                if self.on_finished is not None:
                    self.on_finished()
            elif not done:
                finished_sent = False
