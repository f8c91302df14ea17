"""The model stage of the batch path: log-Mel patches of many tracks batched together for the tagger.

Tracks arrive as 16 kHz samples. Their log-Mel is computed with the torch front end
(:class:`musicapp.features.torch_mel.TorchLogMel`) on the model's device, cut into 3-s patches
exactly as the engine cuts a single track (:class:`musicapp.models.engine.PatchCutter`), and the
patches of consecutive tracks fill the same batches (64 on a GPU, so the model is not fed one
short track at a time). Per-patch outputs go to one accumulator per track (the engine's own), so a
track's moods, valence/arousal, genres, hash and embedding are computed by the same code as on the
serial path; a track is finished as soon as its last patch has been through the model.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from musicapp.params import MEL


@dataclass
class Prepared:
    """A track after the front end: its accumulator, duration, patches and the seconds it took."""

    acc: Any  # engine._Accumulator
    duration: float
    patches: list[Any]  # engine.Patch
    seconds: float
    status: str = "ok"  # not "ok" (e.g. too short for moods): no patches, an empty result


@dataclass
class _Track:
    acc: Any  # engine._Accumulator
    duration: float
    remaining: int


class BatchTagger:
    """Tags many tracks with batches that cross track boundaries.

    Args:
        device: ``auto``, ``cpu``, ``cuda``, ... (as :class:`musicapp.models.engine.TaggerEngine`).
        threads: torch CPU threads (None: the engine's choice).
        batch_size: patches per forward pass (None: the engine's, 2 on CPU and 64 on a GPU).

    Raises:
        ModelError: the model cannot be loaded or the device is not available.
    """

    def __init__(self, device: str = "auto", threads: int | None = None,
                 batch_size: int | None = None) -> None:
        from musicapp.features.torch_mel import TorchLogMel
        from musicapp.pipeline import get_engine

        self.engine = get_engine(device, threads)
        self.backend = self.engine.backend
        self.front = TorchLogMel(self.engine.device)
        self.batch_size = max(1, int(batch_size or self.engine.batch_size))
        self._queue: deque[tuple[Hashable, Any]] = deque()  # (track key, Patch)
        self._tracks: dict[Hashable, _Track] = {}
        self.patches_run = 0
        self.batches_run = 0
        #: wall seconds of this stage: "model: log-Mel" (front end, patch cutting) and
        #: "model: forward" (the network and the per-track accumulation, synchronised with the
        #: device because the outputs are read back)
        self.timings: dict[str, float] = {"model: log-Mel": 0.0, "model: forward": 0.0}

    @property
    def pending_tracks(self) -> int:
        """Tracks added but not finished."""
        return len(self._tracks)

    @property
    def queued_patches(self) -> int:
        """Patches waiting for a forward pass."""
        return len(self._queue)

    def keys(self) -> list[Hashable]:
        """The keys of the tracks added but not finished."""
        return list(self._tracks)

    def full_batch(self) -> bool:
        """Whether a whole batch of patches is waiting."""
        return len(self._queue) >= self.batch_size

    def prepare(self, samples_16k: np.ndarray) -> Prepared:
        """The front end of one track (log-Mel on the device, 3-s patches, its accumulator).

        Touches no queue, so it may run in another thread than :meth:`enqueue` and :meth:`step`
        (:class:`musicapp.batch.model_stage.ModelStage` runs it in its front-end thread)."""
        from musicapp.models.engine import (
            PatchCutter,
            _Accumulator,
            clean_samples,
            normalise_level,
        )

        start = time.perf_counter()
        # the engine's own input: level-normalised, status on the raw level (engine docs, 2.)
        y, _level, status = normalise_level(clean_samples(samples_16k))
        duration = len(y) / MEL.sample_rate
        acc = _Accumulator(self.backend, False, duration, self.engine.feature_map_columns)
        if status != "ok":
            return Prepared(acc, duration, [], time.perf_counter() - start, status)
        logmel = self.front(y).cpu().numpy()
        cutter = PatchCutter()
        patches = cutter.push(logmel) + cutter.finish(duration)
        return Prepared(acc, duration, patches, time.perf_counter() - start)

    def enqueue(self, key: Hashable, prepared: Prepared) -> list[tuple[Hashable, Any]]:
        """Queue a prepared track under ``key``; a track with nothing to tag (too short for
        moods) is finished at once and returned as ``[(key, TaggerResult)]``."""
        self.timings["model: log-Mel"] += prepared.seconds
        if not prepared.patches:
            eng = self.engine
            status = prepared.status if prepared.status != "ok" else "too short"
            return [(key, prepared.acc.empty(prepared.duration, str(eng.device), status))]
        self._tracks[key] = _Track(prepared.acc, prepared.duration, len(prepared.patches))
        self._queue.extend((key, p) for p in prepared.patches)
        return []

    def add(self, key: Hashable, samples_16k: np.ndarray) -> list[tuple[Hashable, Any]]:
        """Queue a track (mono samples at 16 kHz) under ``key`` (returns it when finished at
        once, as :meth:`enqueue`)."""
        return self.enqueue(key, self.prepare(samples_16k))

    def step(self, force: bool = False) -> list[tuple[Hashable, Any]]:
        """Run one batch (a full one, or with ``force`` whatever is queued); returns the tracks it
        finished as ``(key, TaggerResult)``."""
        import torch

        if not self._queue or (not force and not self.full_batch()):
            return []
        clock = time.perf_counter()
        n = min(self.batch_size, len(self._queue))
        batch = [self._queue.popleft() for _ in range(n)]
        eng = self.engine
        x = torch.from_numpy(np.stack([p.logmel for _, p in batch])).to(eng.device)
        with torch.inference_mode(), torch.autocast(device_type=eng.device.type,
                                                     dtype=torch.float16, enabled=eng.half):
            out = self.backend.run(x, False)
        self.patches_run += n
        self.batches_run += 1
        finished = []
        start = 0
        while start < n:  # consecutive patches of one track go to its accumulator together
            key = batch[start][0]
            stop = start
            while stop < n and batch[stop][0] == key:
                stop += 1
            track = self._tracks[key]
            track.acc.add([p for _, p in batch[start:stop]], {k: v[start:stop] for k, v in out.items()})
            track.remaining -= stop - start
            if track.remaining == 0:
                del self._tracks[key]
                finished.append((key, track.acc.result(track.duration, str(eng.device), eng.note)))
            start = stop
        self.timings["model: forward"] += time.perf_counter() - clock
        return finished

    def drain(self) -> list[tuple[Hashable, Any]]:
        """Run every queued patch; returns all the tracks finished."""
        finished = []
        while self._queue:
            finished.extend(self.step(force=True))
        return finished
