"""The model stage of the batch path in threads of its own, beside the loop that feeds the workers.

On a GPU machine the parent process was the limit (issue 17): one loop received the workers'
results, ran the log-Mel front end and the forward passes, and wrote to the database, so the
workers waited for it (55-68 % busy on 16 cores). Here the model stage (a
:class:`~musicapp.batch.tagging.BatchTagger`) runs in two threads of its own, the front end
(log-Mel and patches of each track, on a CUDA stream of its own) and the network (batches of
patches, per-track results): while they wait for the device (torch releases the interpreter lock
there) the main loop receives results, hands out tracks and commits to the database, and the
device computes one track's spectrogram while it runs the network on earlier ones.

The main loop talks to the stage through :meth:`ModelStage.add` (a track's 16 kHz samples),
:meth:`ModelStage.flush` (run whatever is queued, no more tracks are coming soon) and
:meth:`ModelStage.take` (the tracks finished so far); :attr:`ModelStage.wake` is a connection that
becomes readable when there is something to take, so the main loop can wait on it together with
the workers' pipes (:meth:`musicapp.batch.workers.WorkerPool.poll`).

The model loads in the thread as it starts, while the workers decode their first tracks. If the
model cannot be loaded, or a forward pass fails (for example out of GPU memory), every track the
stage holds and every track added later comes back with the error instead of tags; the batch goes
on (each such track then records ``errors["tags"]``, as on the serial path).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import threading
from collections import deque
from collections.abc import Hashable
from typing import Any

log = logging.getLogger(__name__)

#: (key, TaggerResult, None) for a tagged track, (key, None, message) for one that failed
Finished = tuple[Hashable, Any, str | None]


class ModelStage:
    """A :class:`~musicapp.batch.tagging.BatchTagger` in two threads of its own: the front end
    (log-Mel and patches, on a CUDA stream of its own on a GPU) and the network.

    Args:
        device, threads, batch_size: as for :class:`~musicapp.batch.tagging.BatchTagger`.
    """

    def __init__(self, device: str = "auto", threads: int | None = None,
                 batch_size: int | None = None) -> None:
        self._args = (device, threads, batch_size)
        self._cond = threading.Condition()
        self._inbox: deque[tuple[Hashable, Any]] = deque()  # (key, 16 kHz samples)
        self._ready: deque[tuple[Hashable, Any]] = deque()  # (key, Prepared)
        self._preparing = 0
        self._done: deque[Finished] = deque()
        self._flush = False
        self._stop = False
        self._signalled = False
        self._loaded = False
        self.error: str | None = None
        self.tagger: Any = None  # the BatchTagger once loaded (kept for its figures)
        self.wake, self._wake_w = mp.Pipe(duplex=False)
        self._threads = [
            threading.Thread(target=self._network_loop, name="musicapp-model-stage", daemon=True),
            threading.Thread(target=self._front_loop, name="musicapp-model-front", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # ------------------------------------------------------------------ main loop side
    def add(self, key: Hashable, samples_16k: Any) -> None:
        """Queue a track's 16 kHz samples (a track added after a failure comes back failed)."""
        with self._cond:
            if self.error is None:
                self._inbox.append((key, samples_16k))
                self._cond.notify_all()
                return
            self._done.append((key, None, self.error))
        self._signal()

    def flush(self) -> None:
        """Run the queued patches without waiting for a full batch."""
        with self._cond:
            if not self._flush:
                self._flush = True
                self._cond.notify_all()

    def take(self) -> list[Finished]:
        """The tracks finished since the last call (also empties :attr:`wake`)."""
        with self._cond:
            finished = list(self._done)
            self._done.clear()
            if self._signalled:
                with contextlib.suppress(OSError, EOFError):
                    while self.wake.poll():
                        self.wake.recv_bytes()
                self._signalled = False
        return finished

    def close(self, timeout: float = 30.0) -> None:
        """Stop the threads (tracks still queued are dropped) and close the wake-up pipe."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        for conn in (self.wake, self._wake_w):
            with contextlib.suppress(OSError):
                conn.close()

    # ------------------------------------------------------------------ both threads
    def _signal(self) -> None:
        """Make :attr:`wake` readable (once until the next :meth:`take`)."""
        with self._cond:
            if self._signalled:
                return
            self._signalled = True
            with contextlib.suppress(OSError):
                self._wake_w.send_bytes(b"1")

    def _fail(self, message: str, keys: list[Hashable]) -> None:
        """Record the first failure; return ``keys`` and every track not yet in the network
        stage as failed (the network thread fails the tracks it holds when it sees the error)."""
        with self._cond:
            if self.error is None:
                self.error = message
            keys = keys + [key for key, _ in self._inbox] + [key for key, _ in self._ready]
            self._inbox.clear()
            self._ready.clear()
            self._done.extend((key, None, self.error) for key in keys)
            self._cond.notify_all()
        self._signal()

    def _publish(self, finished: list[tuple[Hashable, Any]]) -> None:
        if finished:
            with self._cond:
                self._done.extend((key, result, None) for key, result in finished)
            self._signal()

    # ------------------------------------------------------------------ front-end thread
    def _front_loop(self) -> None:
        """Log-Mel and patches of each track as it arrives (a CUDA stream of its own, so the
        copy back of one track's spectrogram never waits for the network's batch)."""
        with self._cond:
            while not (self._loaded or self._stop or self.error is not None):
                self._cond.wait()
            if self._stop or self.error is not None:
                return
        tagger = self.tagger
        stream = None
        import torch

        if tagger.engine.device.type == "cuda":
            stream = torch.cuda.Stream(tagger.engine.device)
        elif tagger.engine.threads:  # OpenMP teams are per thread: the engine's count here too
            torch.set_num_threads(int(tagger.engine.threads))
        while True:
            with self._cond:
                while not (self._inbox or self._stop or self.error is not None):
                    self._cond.wait()
                if self._stop or self.error is not None:
                    return
                key, samples = self._inbox.popleft()
                self._preparing += 1
            try:
                if stream is None:
                    prepared = tagger.prepare(samples)
                else:
                    with torch.cuda.stream(stream):
                        prepared = tagger.prepare(samples)
            except Exception as exc:  # never let the thread die silently
                log.exception("tagging failed: the front end")
                with self._cond:
                    self._preparing -= 1
                self._fail(str(exc) or type(exc).__name__, [key])
                return
            with self._cond:
                self._preparing -= 1
                self._ready.append((key, prepared))
                self._cond.notify_all()

    # ------------------------------------------------------------------ network thread
    def _load(self) -> bool:
        from musicapp.batch.tagging import BatchTagger
        from musicapp.errors import MusicappError

        try:
            tagger = BatchTagger(*self._args)
        except Exception as exc:  # any failure (a damaged config raised TypeError): never hang
            log.exception("tagging failed: the model could not be loaded")
            message = str(exc) if isinstance(exc, MusicappError) else (
                f"the tagger could not be loaded ({type(exc).__name__}: {exc})")
            self._fail(message, [])
            return False
        with self._cond:
            self.tagger = tagger
            self._loaded = True
            self._cond.notify_all()
        return True

    def _network_loop(self) -> None:
        if not self._load():
            return
        tagger = self.tagger
        while True:
            with self._cond:
                while not (self._ready or self._stop or self.error is not None
                           or tagger.full_batch() or (self._flush and tagger.queued_patches
                                                      and not (self._inbox or self._preparing))):
                    if self._flush and not (tagger.queued_patches or self._inbox or self._preparing):
                        self._flush = False  # flushed, and nothing on its way
                    self._cond.wait()
                if self._stop:
                    return
                if self.error is not None:  # the front end failed: fail what this stage holds
                    break
                ready = list(self._ready)
                self._ready.clear()
                force = self._flush
            finished: list[tuple[Hashable, Any]] = []
            try:
                for key, prepared in ready:
                    finished.extend(tagger.enqueue(key, prepared))  # too short: done at once
                while tagger.full_batch():
                    finished.extend(tagger.step())
                if force and not self._more_coming():
                    finished.extend(tagger.step(force=True))
            except Exception as exc:  # e.g. out of GPU memory; never let the thread die silently
                log.exception("tagging failed")
                self._publish(finished)
                self._fail(str(exc) or type(exc).__name__, tagger.keys())
                return
            self._publish(finished)
        self._fail(self.error or "the tagger failed", tagger.keys())

    def _more_coming(self) -> bool:
        """Whether tracks are on their way to the network (queued or in the front end)."""
        with self._cond:
            return bool(self._inbox or self._ready or self._preparing)
