"""Recording from an input device straight to a WAV file on disk.

Three parties, no locks between the first and the others:

* the PortAudio callback copies each block into a :class:`~musicapp.audio.ringbuffer.RingBuffer`
  and updates a peak level and an overflow counter (no array allocation, no I/O, no waiting);
* a writer thread drains the ring into an :class:`~musicapp.audio.wav.IncrementalWavWriter`
  every ``flush_interval_s`` and makes it durable, so a crash or kill loses at most that much;
  it also notices a device that stops delivering audio and a disk that fills up;
* any consumer (the GUI, a streaming spectrogram) calls :meth:`Recorder.read_new`.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicapp.audio.devices import DeviceInfo, close_stream, list_input_devices, resolve_device
from musicapp.audio.ringbuffer import RingBuffer
from musicapp.audio.wav import IncrementalWavWriter
from musicapp.errors import AudioDeviceError
from musicapp.params import RECORDING

__all__ = ["Recorder", "RecordingResult", "list_input_devices"]

#: Seconds without a callback after which a running device is declared gone.
STALL_TIMEOUT_S = 2.0
#: Seconds a device may take to deliver its first block (PulseAudio took ~2 s here).
STARTUP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RecordingResult:
    """What a finished take left on disk."""

    path: Path
    duration_s: float
    sample_rate: int
    channels: int
    overflows: int
    error: str | None


class Recorder:
    """Record one take from an input device to ``path`` (16-bit PCM WAV)."""

    def __init__(
        self,
        path: str | Path,
        device: int | str | None = None,
        sample_rate: int = RECORDING.sample_rate,
        channels: int = RECORDING.channels,
        block_frames: int = RECORDING.block_frames,
        ring_seconds: float = RECORDING.ring_seconds,
        flush_interval_s: float = RECORDING.flush_interval_s,
        max_seconds: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.device_request = device
        self.sample_rate = int(sample_rate)
        self.channels = int(channels)
        self.block_frames = int(block_frames)
        self.flush_interval_s = float(flush_interval_s)
        self.max_frames = None if max_seconds is None else int(round(max_seconds * sample_rate))
        self._ring = RingBuffer(int(ring_seconds * sample_rate), self.channels)
        self._disk_reader = self._ring.reader()
        self._display_reader = self._ring.reader()
        self._peak = 0.0
        self._callbacks = 0
        self.overflows = 0
        self.error: str | None = None
        self.device: DeviceInfo | None = None
        self._stream = None
        self._writer: IncrementalWavWriter | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.finished = threading.Event()

    # -- audio thread -------------------------------------------------------------------------
    def _callback(self, indata, frames, time_info, status) -> None:
        if status.input_overflow:
            self.overflows += 1
        self._ring.write(indata)
        hi = float(indata.max())
        lo = float(indata.min())
        self._peak = hi if hi > -lo else -lo
        self._callbacks += 1

    # -- control ------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the device and start recording.

        Raises:
            AudioDeviceError: no input device, the named device does not exist, or it refused
                the format (rate/channels).
        """
        import sounddevice as sd

        self.device = resolve_device(self.device_request, "input")
        if self.channels > self.device.max_input_channels:
            raise AudioDeviceError(
                f"input device {self.device.name!r} has {self.device.max_input_channels} channel(s); "
                f"{self.channels} requested"
            )
        try:
            self._writer = IncrementalWavWriter(self.path, self.sample_rate, self.channels)
        except OSError as exc:
            raise AudioDeviceError(f"{self.path}: cannot create the recording file: {exc.strerror}") from exc
        try:
            self._stream = sd.InputStream(
                device=self.device.index,
                samplerate=self.sample_rate,
                channels=self.channels,
                dtype="float32",
                blocksize=self.block_frames,
                latency="low",  # small host buffers: little audio waits outside our ring
                callback=self._callback,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._writer.close()
            raise AudioDeviceError(f"cannot open input device {self.device.name!r}: {exc}") from exc
        self._thread = threading.Thread(target=self._write_loop, name="recorder-writer", daemon=True)
        self._thread.start()

    def stop(self) -> RecordingResult:
        """Stop recording, write what is left and close the file. Safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._close_stream()
        return self.result()

    def result(self) -> RecordingResult:
        """The take as it stands on disk."""
        w = self._writer
        return RecordingResult(
            path=self.path,
            duration_s=w.duration_s if w else 0.0,
            sample_rate=self.sample_rate,
            channels=self.channels,
            overflows=self.overflows,
            error=self.error,
        )

    def wait(self, timeout: float | None = None) -> bool:
        """Block until ``max_seconds`` are recorded or the take ended with an error."""
        return self.finished.wait(timeout)

    # -- consumer side ------------------------------------------------------------------------
    def read_new(self) -> np.ndarray:
        """Mono float32 samples recorded since the previous call (for live display)."""
        block = self._display_reader.read()
        return block[:, 0].copy() if self.channels == 1 else block.mean(axis=1)

    @property
    def level_dbfs(self) -> float:
        """Peak level of the latest block in dBFS (``-inf`` for digital silence)."""
        return 20.0 * math.log10(self._peak) if self._peak > 0 else float("-inf")

    @property
    def elapsed_s(self) -> float:
        """Seconds captured so far."""
        return self._ring.written / float(self.sample_rate)

    @property
    def recording(self) -> bool:
        """True while the writer runs."""
        return self._thread is not None and not self.finished.is_set()

    # -- writer thread ------------------------------------------------------------------------
    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        close_stream(stream)

    def _drain(self) -> bool:
        """Move ring contents to disk; return False when the take is complete."""
        assert self._writer is not None
        block = self._disk_reader.read()
        if self.max_frames is not None:
            block = block[: max(0, self.max_frames - self._writer.frames_written)]
        if block.shape[0]:
            self._writer.write(block)
        self._writer.flush()
        return self.max_frames is None or self._writer.frames_written < self.max_frames

    def _write_loop(self) -> None:
        last_count, last_change = self._callbacks, time.monotonic()
        try:
            while not self._stop.wait(self.flush_interval_s):
                if not self._drain():
                    break
                now = time.monotonic()
                if self._callbacks != last_count:
                    last_count, last_change = self._callbacks, now
                stream = self._stream
                limit = STALL_TIMEOUT_S if self._callbacks else STARTUP_TIMEOUT_S
                if stream is not None and (not stream.active or now - last_change > limit):
                    self.error = (
                        f"input device {self.device.name if self.device else '?'!r} stopped delivering "
                        f"audio (unplugged or failed); the take up to {self._writer.duration_s:.1f} s "
                        f"is kept in {self.path}"
                    )
                    break
            self._close_stream()
            self._drain()
        except OSError as exc:
            kept = self._writer.duration_s if self._writer else 0.0
            self.error = (
                f"{self.path}: cannot write the recording ({exc.strerror or exc}); "
                f"recording stopped, the first {kept:.1f} s are kept"
            )
            self._close_stream()
        finally:
            if self._writer is not None:
                with contextlib.suppress(OSError):
                    self._writer.close()
            if self._disk_reader.dropped and self.error is None:
                self.error = f"{self._disk_reader.dropped} frames were lost: the disk was too slow"
            self.finished.set()
