"""Threads for live input: the capture loop and the feature-map model.

:class:`LiveCapture` owns a :class:`musicapp.audio.recorder.Recorder`. Its thread drains the
recorder's ring buffer every few milliseconds, turns the samples into log-Mel frames with
:class:`musicapp.features.StreamingLogMel` and sends them to the GUI thread, which only draws.
:class:`FeatureMapEngine` runs the musicnn front end on the newest 3-s patch in its own thread
(torch is imported there, lazily) and always works on the latest request, dropping stale ones.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QThread, Signal

from musicapp.gui.workers import describe_error
from musicapp.params import MEL, RECORDING

log = logging.getLogger(__name__)

#: layers of musicnn that are (channels, time) maps, in network order
MAP_LAYERS = ("timbral", "temporal", "frontend", "mid1", "mid2", "mid3")


class LiveCapture(QThread):
    """Record to a WAV file and stream log-Mel frames, level and peaks to the GUI."""

    #: (k, 96) float32 log-Mel frames
    frames = Signal(object)
    #: mono float32 block at the device rate (for the waveform envelope)
    samples = Signal(object)
    #: level in dBFS, input overflows so far, seconds recorded
    level = Signal(float, int, float)
    #: the recorder is running at this sample rate
    started_ok = Signal(int)
    #: recording failed (device missing or unplugged, disk full ...); the take is kept
    failed = Signal(str)
    #: the take is closed: path, seconds recorded, overflows
    finished_take = Signal(str, float, int)

    def __init__(self, path: str | Path, device=None, sample_rate: int = RECORDING.sample_rate,
                 poll_s: float = 0.01, parent=None) -> None:
        super().__init__(parent)
        self.path = str(path)
        self.device = device
        self.sample_rate = int(sample_rate)
        self.poll_s = poll_s
        self._stop = threading.Event()
        self.recorder = None
        self.error: str | None = None

    def request_stop(self) -> None:
        """Stop recording at the next poll (the take is finalised by the thread)."""
        self._stop.set()

    def run(self) -> None:
        elapsed, overflows = 0.0, 0
        created = _missing_parents(Path(self.path))
        existed = Path(self.path).exists()
        try:
            from musicapp.audio.recorder import Recorder
            from musicapp.features import StreamingLogMel

            for folder in reversed(created):  # the take folder appears with the first take
                folder.mkdir(exist_ok=True)
            rec = Recorder(self.path, device=self.device, sample_rate=self.sample_rate,
                           channels=1)
            rec.start()
        except Exception as exc:  # a missing device must not kill the app
            log.warning("recording did not start: %s", exc)
            self.error = describe_error(exc)
            _remove_unstarted(Path(self.path), existed, created)
            self.failed.emit(self.error)
            self.finished_take.emit(self.path, 0.0, 0)
            return
        self.recorder = rec
        rate = int(getattr(rec, "sample_rate", self.sample_rate) or self.sample_rate)
        self.started_ok.emit(rate)
        mel = StreamingLogMel(input_rate=rate)
        last_level = 0.0
        try:
            while not self._stop.is_set():
                block = rec.read_new()
                if block is not None and len(block):
                    y = np.asarray(block, np.float32)
                    if y.ndim > 1:
                        y = y.mean(axis=1)
                    self.samples.emit(y)
                    out = mel.push(y)
                    if len(out):
                        self.frames.emit(out)
                err = getattr(rec, "error", None)
                if err:
                    self.error = describe_error(err) if isinstance(err, BaseException) else str(err)
                    self.failed.emit(self.error)
                    break
                now = time.monotonic()
                if now - last_level > 0.05:
                    last_level = now
                    self.level.emit(float(rec.level_dbfs), int(rec.overflows),
                                    float(rec.elapsed_s))
                time.sleep(self.poll_s)
        except Exception as exc:
            self.error = describe_error(exc)
            self.failed.emit(self.error)
        finally:
            try:
                rec.stop()
            except Exception as exc:
                if self.error is None:
                    self.error = describe_error(exc)
                    self.failed.emit(self.error)
            try:
                rest = rec.read_new()
                if rest is not None and len(rest):
                    y = np.asarray(rest, np.float32)
                    out = mel.push(y.mean(axis=1) if y.ndim > 1 else y)
                    if len(out):
                        self.frames.emit(out)
                tail = mel.flush()
                if len(tail):
                    self.frames.emit(tail)
            except Exception:  # the take on disk matters more than the last frames
                pass
            elapsed, overflows = float(rec.elapsed_s), int(rec.overflows)
        self.finished_take.emit(self.path, elapsed, overflows)


def _missing_parents(path: Path) -> list[Path]:
    """The folders above ``path`` that do not exist yet, nearest first."""
    missing = []
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_unstarted(path: Path, existed: bool, created: list[Path]) -> None:
    """Undo what a take that never started left on disk: its empty file and new folders."""
    if not existed:
        with contextlib.suppress(OSError):
            path.unlink()
    for folder in created:  # nearest first; only empty folders go
        with contextlib.suppress(OSError):
            folder.rmdir()


class FeatureMapEngine(QThread):
    """Runs musicnn on the newest requested patch; emits ``{layer: (C, T)}`` maps and tags."""

    #: maps: dict layer -> (C, T) float32; tags: list of (tag, probability), best first
    maps_ready = Signal(object, object)
    failed = Signal(str)
    #: description of the compute device (for the status bar)
    device_ready = Signal(str)

    def __init__(self, model_name: str = "MSD_musicnn", parent=None,
                 device_name: str | None = None) -> None:
        super().__init__(parent)
        self.model_name = model_name
        self.device_name = device_name  # None: the user's preference (MUSICAPP_DEVICE) or auto
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: np.ndarray | None = None
        self._quit = False
        self.runs = 0
        self.last_seconds = 0.0

    def submit(self, logmel: np.ndarray) -> None:
        """Ask for the maps of ``logmel`` (frames, 96); older pending requests are dropped."""
        with self._lock:
            self._pending = np.array(logmel, dtype=np.float32, copy=True)
        self._wake.set()

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Stop the thread."""
        self._quit = True
        self._wake.set()
        self.wait(wait_ms)

    def run(self) -> None:
        try:
            import torch

            from musicapp.models.device import describe_device, preferred_device, select_device
            from musicapp.models.musicnn import load_musicnn, tags_for

            torch.set_num_threads(1)
            device = select_device(self.device_name or preferred_device())
            model = load_musicnn(self.model_name, device=device)
            tags = list(tags_for(self.model_name))
            # torch leaves a large heap of long-lived objects: move them out of the collector's
            # reach so that full collections (which stop every thread) stay short
            gc.collect()
            gc.freeze()
            self.device_ready.emit(describe_device(device))
        except Exception as exc:
            self.failed.emit(f"feature maps unavailable: {describe_error(exc)}")
            return
        while not self._quit:
            self._wake.wait(0.5)
            self._wake.clear()
            with self._lock:
                patch, self._pending = self._pending, None
            if patch is None or self._quit:
                continue
            try:
                t0 = time.perf_counter()
                patch = _fit_patch(patch)
                with torch.inference_mode():
                    out = model(torch.from_numpy(patch[None]).to(device))
                maps = {k: out[k][0].float().cpu().numpy() for k in MAP_LAYERS if k in out}
                probs = out["prob"][0].float().cpu().numpy() if "prob" in out else None
                ranked = []
                if probs is not None:
                    order = np.argsort(-probs)
                    ranked = [(tags[i] if i < len(tags) else str(i), float(probs[i]))
                              for i in order[:10]]
                self.last_seconds = time.perf_counter() - t0
                self.runs += 1
                self.maps_ready.emit(maps, ranked)
            except Exception as exc:
                self.failed.emit(f"feature maps failed: {describe_error(exc)}")


def _fit_patch(logmel: np.ndarray, frames: int = MEL.patch_frames) -> np.ndarray:
    """The last ``frames`` frames of ``logmel``, zero-padded at the front when shorter."""
    x = np.asarray(logmel, np.float32)
    if len(x) >= frames:
        return np.ascontiguousarray(x[-frames:])
    out = np.zeros((frames, x.shape[1] if x.ndim == 2 else MEL.n_mels), np.float32)
    if len(x):
        out[-len(x):] = x
    return out
