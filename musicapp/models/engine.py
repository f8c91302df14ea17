"""The tagger engine: a whole track in, moods, valence/arousal, genres, a hash and an embedding out.

No Qt. Usage::

    result = TaggerEngine(device="auto").analyze_path("song.flac")
    print(result.to_dict())

How a track is processed:

1. Decoding streams the file in 30-s blocks (:func:`musicapp.audio.iter_blocks`) through the
   streaming log-Mel front end (:class:`musicapp.features.StreamingLogMel`), so a 2-hour file never
   sits in memory: only the current block, at most one batch of patches and the small per-segment
   results are kept. Seen: a 2-hour 44.1 kHz stereo FLAC through ``analyze_path`` peaked at
   468 MB resident against 422 MB for a 35-s input (torch and the models are most of it), 2407
   segments in 262 s on one shared CPU core.
2. Level: the model's input does not depend on the playback level. Before the log-Mel, the
   samples are scaled so that the track's loudest 3-s window (:class:`LevelMeter`, the same
   measure as the silence rule) sits at :data:`INPUT_REFERENCE_DBFS` (-14 dBFS, the median of the
   reference collection's excerpts, so a typical track is hardly changed). The spectrogram is a
   feature, not playback, so a gain above full scale is harmless. The same track 30 dB quieter
   (a microphone take, a quietly mastered classical recording) then gets the same moods,
   valence/arousal, genres and hash code; silence and "too short" are still decided on the raw
   level. :data:`MODEL_VERSION` changes whenever outputs change for the same input (stored
   analyses of another version are recomputed by the library).
   The log-Mel frames are cut into consecutive 3-s patches (187 frames). A final partial patch is
   taken as the *last* 187 frames of the track (overlapping the previous patch) so that it holds
   real audio, not padding. A clip shorter than one patch (:data:`MIN_MOOD_SECONDS`, 2.99 s) is
   not tagged: half a patch of padding made confident moods out of a 0.5-s click; its status is
   :data:`TOO_SHORT_FOR_MOODS` (the music analysis may still give key and tempo).
3. Patches run through the model in batches of ``batch_size`` (small on CPU, where small batches
   stay in cache; large on a GPU). Full float32 precision everywhere, TF32 off on CUDA: on an H200
   half precision brought no speed (the model is not the bottleneck of a whole analysis) but moved
   a valence by 4e-4 and flipped segment hash bits between batch compositions; in float32 a GPU
   gives the CPU's tags within 1e-4 (``lab/device/gpu_batch.sh``).
4. Model: the distilled CNN-LSTM hashing model (:mod:`musicapp.models.hashnet`) when it and its
   weights load; otherwise the ported musicnn teachers MSD_musicnn + MTT_musicnn, whose mood and
   genre tags are reported and whose mood percentiles give valence/arousal through the documented
   circumplex mapping (:mod:`musicapp.models.circumplex`); no hash or embedding then.
5. Scores are calibrated: each tag's score becomes the percentile it reaches among the scores of
   a reference set of 3-s segments of real music (:mod:`musicapp.models.calibration`). The
   whole-track score of a tag is the duration-weighted mean of its segment scores.
   ``mood_reference`` in the result says which reference ("among N 3-s clips of game music ...").
6. Readable moods and genres: tags are ranked by percentile, but a tag whose raw probability is
   negligible (below :data:`NEGLIGIBLE_MOOD` = 0.3 % for moods, :data:`NEGLIGIBLE_GENRE` = 1 % for
   genres: the teacher is then saying "no", however rare the tag is in the reference) is not
   listed; of a contradictory pair (:data:`CONTRADICTIONS`, e.g. happy/sad) only the member with
   the higher percentile is listed, and it carries ``"over"`` (the other tag) and both raw scores.
7. Valence and arousal are calibrated so that typical music spreads over the plane: a segment's
   value is ``2 P - 1`` where ``P`` is the fraction of the reference clips with a lower raw
   model output (so the reference collection itself is spread uniformly over [-1, 1]); the
   track's value is the duration-weighted mean of its segments'. ``energy`` (1-10, as DJs use it)
   is ``1 + 9 P`` of arousal (the track's: rounded to an integer). ``curves`` hold per-3-s
   valence, arousal and energy.
8. Silence and too-short input (:data:`musicapp.params.SILENCE`: the loudest 3-s window below
   -60 dBFS, or under 0.5 s) give ``status`` "silence" / "too short" and no moods, genres,
   valence/arousal or energy; 0.5 s up to one 3-s patch give "too short for moods".
   Non-finite samples count as silence, and a block (30 s, or the
   whole signal given to :meth:`TaggerEngine.analyze`) with more than 1 % of them is silenced
   entirely (damaged beyond use); samples beyond full scale are clipped, as a converter would.
"""

from __future__ import annotations

import functools
import json
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musicapp.errors import ModelError
from musicapp.hashcode import bits_to_hex
from musicapp.params import MEL

# Mood-bearing and genre tags of the musicnn teachers (used when the distilled model is absent;
# the distilled model carries its own lists). (source model, tag as the teacher spells it)
FALLBACK_MOODS: tuple[tuple[str, str], ...] = (
    ("MSD", "happy"), ("MSD", "sad"), ("MSD", "Mellow"), ("MSD", "chill"), ("MSD", "beautiful"),
    ("MSD", "party"), ("MSD", "sexy"), ("MSD", "catchy"), ("MSD", "easy listening"),
    ("MTT", "fast"), ("MTT", "slow"), ("MTT", "loud"), ("MTT", "quiet"), ("MTT", "soft"),
    ("MTT", "ambient"),
)  # fmt: skip
FALLBACK_GENRES: tuple[tuple[str, str], ...] = (
    *(("MSD", t) for t in (
        "rock", "pop", "alternative", "indie", "electronic", "dance", "jazz", "metal", "soul",
        "folk", "punk", "blues", "hard rock", "experimental", "Hip-Hop", "country", "funk",
        "electro", "heavy metal", "Progressive rock", "rnb", "House", "electronica", "chillout")),
    *(("MTT", t) for t in ("classical", "techno", "new age", "opera", "indian")),
)  # fmt: skip

TOP_GENRES = 5
SEGMENT_MOODS = 3
#: Raw probabilities below these are "no" whatever their percentile (see the module docs, 6.).
NEGLIGIBLE_MOOD = 0.003
NEGLIGIBLE_GENRE = 0.01
#: Mood tags that contradict each other: only the stronger (by percentile) is listed.
CONTRADICTIONS: tuple[tuple[str, str], ...] = (
    ("happy", "sad"), ("fast", "slow"), ("loud", "quiet"), ("loud", "soft"), ("party", "sad"),
    ("party", "quiet"),
)  # fmt: skip
CURVE_STEP_S = 3.0
#: Blocks with more than this fraction of NaN/inf samples are treated as silence.
DAMAGED_FRACTION = 0.01
DEFAULT_FEATURE_MAP_COLUMNS = 2048
CPU_BATCH = 2  # small batches keep the (B, 204, 187, 59) conv maps in cache
GPU_BATCH = 64
BLOCK_SECONDS = 30.0
#: The tagger's input is scaled so that its loudest 3-s window sits here (module docs, 2.).
INPUT_REFERENCE_DBFS = -14.0
#: Bumped whenever the tagger's outputs change for the same audio (2: level-normalised input,
#: no moods for clips shorter than a patch). Stored with every result (``model_version``).
MODEL_VERSION = 2
#: Status of a clip long enough for the music analysis but shorter than one 3-s patch.
TOO_SHORT_FOR_MOODS = "too short for moods"
#: The tagger fields a result without moods keeps beside its ``moods_status`` (which model would
#: have answered): a clip too short for moods here, noise or a lone tone in
#: :mod:`musicapp.models.no_music`.
FIELDS_WITHOUT_MOODS = ("model", "device", "model_version", "mood_reference")
#: The shortest clip the tagger reads: one whole patch.
MIN_MOOD_SECONDS = MEL.patch_frames * MEL.frame_seconds


@dataclass
class TaggerResult:
    """What the engine found in one track. :meth:`to_dict` gives the JSON-ready form."""

    duration_s: float
    moods: list[dict[str, Any]]
    valence: float | None
    arousal: float | None
    genres: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    model: str
    device: str
    hash: str | None = None
    embedding: list[float] | None = None
    feature_maps: dict[str, np.ndarray] | None = field(default=None, repr=False)
    feature_map_seconds_per_column: float | None = None
    energy: int | None = None
    curves: dict[str, Any] | None = None
    mood_reference: str | None = None
    status: str = "ok"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict: duration_s, moods, valence, arousal, energy, genres, mood_reference,
        curves, segments, model, device, hash / embedding when the model gives them, and
        ``status`` when it is not "ok". ``feature_maps`` ({layer: (C, T) float32 array}) and
        ``feature_map_seconds_per_column`` are included only when they were requested (numpy
        arrays: drop them before JSON encoding)."""
        out: dict[str, Any] = {
            "duration_s": round(self.duration_s, 3),
            "moods": self.moods,
            "valence": self.valence,
            "arousal": self.arousal,
            "energy": self.energy,
            "genres": self.genres,
        }
        if self.status != "ok":
            out["status"] = self.status
        out["model_version"] = MODEL_VERSION
        if self.mood_reference is not None:
            out["mood_reference"] = self.mood_reference
        if self.curves is not None:
            out["curves"] = self.curves
        if self.hash is not None:
            out["hash"] = self.hash
        if self.embedding is not None:
            out["embedding"] = self.embedding
        out["segments"] = self.segments
        out["model"] = self.model
        out["device"] = self.device
        if self.feature_maps is not None:
            out["feature_maps"] = self.feature_maps
            out["feature_map_seconds_per_column"] = self.feature_map_seconds_per_column
        return out


    def tag_fields(self) -> dict[str, Any]:
        """The tagger part of a :class:`~musicapp.track_analysis.TrackAnalysis` (pipeline and
        batch path alike): :meth:`to_dict` without duration and feature maps. A result with no
        moods (too short for moods; silence at the tagger's rate) carries its reason as
        ``moods_status`` and no moods, genres or valence/arousal fields at all."""
        fields = self.to_dict()
        for key in ("duration_s", "feature_maps", "feature_map_seconds_per_column"):
            fields.pop(key, None)
        status = fields.pop("status", "ok")
        if status != "ok":
            fields = {k: fields[k] for k in FIELDS_WITHOUT_MOODS if k in fields}
            fields["moods_status"] = status
        return fields


# --------------------------------------------------------------------------- patch cutting


@dataclass
class Patch:
    """One model input: 187 log-Mel frames and the span of the track it newly covers."""

    logmel: np.ndarray  # (187, 96)
    start_s: float  # where the new (not yet covered) part starts
    end_s: float
    weight: float  # fraction of the patch that is new, real audio (0..1]


class PatchCutter:
    """Turns a stream of log-Mel frames into :class:`Patch` es (see the module docs, step 2)."""

    def __init__(self, patch_frames: int = MEL.patch_frames) -> None:
        self.n = patch_frames
        self.buffer = np.zeros((0, MEL.n_mels), dtype=np.float32)
        self.frames_done = 0  # frames already covered by emitted patches
        self.tail = np.zeros((0, MEL.n_mels), dtype=np.float32)  # last n frames seen

    def push(self, frames: np.ndarray) -> list[Patch]:
        """Add frames; return the complete patches."""
        if frames.shape[0] == 0:
            return []
        self.buffer = np.concatenate([self.buffer, frames]) if self.buffer.size else frames
        out = []
        while self.buffer.shape[0] >= self.n:
            patch = np.ascontiguousarray(self.buffer[: self.n])
            start = self.frames_done * MEL.frame_seconds
            self.frames_done += self.n
            out.append(Patch(patch, start, self.frames_done * MEL.frame_seconds, 1.0))
            self.tail = patch
            self.buffer = self.buffer[self.n :]
        return out

    def finish(self, duration_s: float) -> list[Patch]:
        """End of the track (``duration_s`` long): the final partial patch, if any."""
        rest = self.buffer.shape[0]
        if self.frames_done == 0:  # shorter than one patch: zero-pad
            patch = np.zeros((self.n, MEL.n_mels), dtype=np.float32)
            patch[:rest] = self.buffer[: self.n]
            weight = max(rest, 1) / self.n
            return [Patch(patch, 0.0, duration_s, weight)]
        if duration_s <= self.frames_done * MEL.frame_seconds + 1e-6 or rest == 0:
            return []
        joined = np.concatenate([self.tail, self.buffer])[-self.n :]
        start = self.frames_done * MEL.frame_seconds
        return [Patch(np.ascontiguousarray(joined), start, duration_s, rest / self.n)]


def _frames_of_samples(samples: np.ndarray, block: int) -> Iterator[np.ndarray]:
    for i in range(0, max(len(samples), 1), block):
        yield samples[i : i + block]


def rechunk(blocks: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
    """The concatenation of ``blocks`` (1-D float32) cut into consecutive pieces of ``size``
    samples (the last one shorter; one empty piece when there are no samples at all), as
    :func:`_frames_of_samples` cuts a whole signal."""
    pending: list[np.ndarray] = []
    held = 0
    emitted = False
    for block in blocks:
        if len(block) == 0:
            continue
        pending.append(block)
        held += len(block)
        while held >= size:
            joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
            yield joined[:size]
            emitted = True
            rest = joined[size:]
            pending, held = ([rest] if len(rest) else []), len(rest)
    if held or not emitted:
        yield (np.concatenate(pending) if pending else np.zeros(0, dtype=np.float32))


def clean_samples(samples: np.ndarray) -> np.ndarray:
    """Mono float32 with non-finite values replaced by 0. Accepts (n,), (channels, n) or (n, ch)."""
    y = np.asarray(samples, dtype=np.float32)
    if y.ndim == 2:
        y = y.mean(axis=0 if y.shape[0] <= y.shape[1] else 1)
    elif y.ndim != 1:
        raise ModelError(f"expected mono samples (n,) or (channels, n), got shape {y.shape}")
    finite = np.isfinite(y)
    if not finite.all():
        # A few bad samples are dropouts (silenced); more than DAMAGED_FRACTION of them make
        # the block unusable: all of it is silenced, so it reports nothing rather than a mood.
        if 1.0 - float(finite.mean()) > DAMAGED_FRACTION:
            return np.zeros_like(y)
        y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
    if y.size and float(np.max(np.abs(y))) > 1.0:
        y = np.clip(y, -1.0, 1.0)
    return np.ascontiguousarray(y)


class LevelMeter:
    """Running RMS level (dBFS) of the loudest ``window_s`` window of a stream of samples, each
    window's mean (DC offset) removed (windows hop by half a window, as
    :func:`musicapp.pipeline.loudest_window_dbfs`)."""

    def __init__(self, sample_rate: int = MEL.sample_rate) -> None:
        from musicapp.params import SILENCE

        self.half = max(1, int(round(SILENCE.window_s * sample_rate / 2)))
        self.sums: list[tuple[float, float]] = []  # (power sum, sample sum) of complete half windows
        self.rest = np.zeros(0, dtype=np.float64)
        self.n = 0
        self.peak = 0.0
        self.full = False  # a whole window has been seen

    def push(self, y: np.ndarray) -> None:
        """Add samples."""
        self.n += len(y)
        buf = np.concatenate([self.rest, np.asarray(y, dtype=np.float64)])
        k = len(buf) // self.half
        for i in range(k):
            block = buf[i * self.half:(i + 1) * self.half]
            self.sums.append((float(np.dot(block, block)), float(block.sum())))
            if len(self.sums) >= 2:
                (e1, t1), (e2, t2) = self.sums[-2], self.sums[-1]
                n = 2 * self.half
                self.peak = max(self.peak, max(e1 + e2 - (t1 + t2) ** 2 / n, 0.0) / n)
                self.full = True
            self.sums = self.sums[-1:]
        self.rest = buf[k * self.half:]

    def dbfs(self) -> float:
        """Level of the loudest full window seen (the whole stream when shorter than one)."""
        peak = self.peak
        if not self.full and self.n:  # shorter than one window: the AC power of everything
            energy = sum(e for e, _ in self.sums) + float(np.dot(self.rest, self.rest))
            total = sum(t for _, t in self.sums) + float(self.rest.sum())
            peak = max(energy - total * total / self.n, 0.0) / self.n
        return float(10.0 * np.log10(peak)) if peak > 0 else float("-inf")


def level_status(duration_s: float, level_dbfs: float) -> str:
    """"too short", "silence" (:data:`musicapp.params.SILENCE`), :data:`TOO_SHORT_FOR_MOODS`
    (shorter than one patch) or "ok"."""
    from musicapp.params import SILENCE

    if duration_s < SILENCE.min_duration_s:
        return "too short"
    if not np.isfinite(level_dbfs) or level_dbfs < SILENCE.threshold_dbfs:
        return "silence"
    if duration_s < MIN_MOOD_SECONDS - 1e-9:
        return TOO_SHORT_FOR_MOODS
    return "ok"


#: samples a whole signal is pushed through :class:`LevelMeter` at once (its float64 copies stay
#: small; the meter carries the partial window between pushes, so the level is the same)
METER_PIECE = 1 << 20


def input_level_dbfs(y16: np.ndarray) -> float:
    """Level of the loudest 3-s window of cleaned 16 kHz samples (:class:`LevelMeter`), read in
    pieces of :data:`METER_PIECE` samples (a 3-hour track is not copied to float64 at once)."""
    meter = LevelMeter()
    for start in range(0, max(len(y16), 1), METER_PIECE):
        meter.push(y16[start:start + METER_PIECE])
    return meter.dbfs()


def input_gain(level_dbfs: float) -> float:
    """Linear gain that brings a track whose loudest 3-s window is at ``level_dbfs`` to
    :data:`INPUT_REFERENCE_DBFS` (1 when the level is unknown or -inf: silence)."""
    if not np.isfinite(level_dbfs):
        return 1.0
    return float(10.0 ** ((INPUT_REFERENCE_DBFS - float(level_dbfs)) / 20.0))


def normalise_level(y16: np.ndarray) -> tuple[np.ndarray, float, str]:
    """(scaled samples, raw level in dBFS, status by :func:`level_status`) of cleaned 16 kHz
    samples: the tagger's input as every path feeds it (module docs, 2.)."""
    level = input_level_dbfs(y16)
    status = level_status(len(y16) / MEL.sample_rate, level)
    gain = np.float32(input_gain(level))
    return (y16 * gain if gain != 1.0 else y16), level, status


# --------------------------------------------------------------------------- models


class _Backend:
    """A loaded model that scores batches of patches (B, 187, 96)."""

    name: str
    mood_tags: list[str]
    genre_tags: list[str]
    mood_quantiles: np.ndarray | None
    genre_quantiles: np.ndarray | None
    va_quantiles: np.ndarray | None = None  # (2, 101) of the raw valence/arousal output
    reference: str | None = None  # what the percentiles are relative to
    has_code: bool

    def run(self, x: Any, feature_maps: bool) -> dict[str, np.ndarray]:
        """Return per-patch arrays: mood (B, M), genre (B, G), optionally va (B, 2), code,
        embedding, and maps.<layer> (B, C, T)."""
        raise NotImplementedError


def _np(t: Any) -> np.ndarray:
    return t.detach().float().cpu().numpy()


class _HashnetBackend(_Backend):
    def __init__(self, model: Any, meta: dict[str, Any], device: Any) -> None:
        self.model = model
        self.device = device
        self.name = f"hashnet ({Path(meta.get('path', 'hashnet')).name}, "
        self.name += f"{meta.get('variant', '?')}/{meta.get('cell', '?')}, {meta.get('bits', '?')} bits)"
        self.mood_tags = [str(t) for t in meta["mood_tags"]]
        self.genre_tags = [str(t) for t in meta["genre_tags"]]
        calib = meta.get("calibration") or {}
        mq = meta.get("mood_quantiles", calib.get("mood") if isinstance(calib, dict) else None)
        gq = meta.get("genre_quantiles", calib.get("genre") if isinstance(calib, dict) else None)
        self.mood_quantiles = None if mq is None else _np(mq) if hasattr(mq, "detach") else mq
        self.genre_quantiles = None if gq is None else _np(gq) if hasattr(gq, "detach") else gq
        # Tags of the MSD teacher are taken from the frozen front end's own output layer (exact
        # and free) when the weights say their calibration tables were fitted that way.
        self.msd_columns: dict[str, list[tuple[int, int]]] = {"mood": [], "genre": []}
        if str(meta.get("msd_tags_from_frontend", "")) == "1":
            from musicapp.models.hashnet import GENRE_SOURCES, MOOD_SOURCES
            from musicapp.models.musicnn import MSD_TAGS

            for kind, sources in (("mood", MOOD_SOURCES), ("genre", GENRE_SOURCES)):
                self.msd_columns[kind] = [(j, MSD_TAGS.index(t)) for j, (src, t)
                                          in enumerate(sources) if src == "MSD"]
        vq = meta.get("va_quantiles")
        self.va_quantiles = None if vq is None else _np(vq) if hasattr(vq, "detach") else vq
        self.reference = str(meta.get("reference") or "") or None
        self.has_code = True

    def run(self, x: Any, feature_maps: bool) -> dict[str, np.ndarray]:
        import torch

        out = self.model(x, return_features=True) if feature_maps else self.model(x)
        mood, genre = out["mood_logits"].float().clone(), out["genre_logits"].float().clone()
        msd = out["msd_logits"].float()
        for kind, logits in (("mood", mood), ("genre", genre)):
            for j, k in self.msd_columns[kind]:
                logits[:, j] = msd[:, k]
        res = {
            "mood": _np(torch.sigmoid(mood)),
            "genre": _np(torch.sigmoid(genre)),
            "va": _np(out["valence_arousal"]),
            "code": _np(out["code"]),
            "embedding": _np(out["embedding"]),
        }
        if feature_maps:
            for layer, m in out.get("feature_maps", {}).items():
                res[f"maps.{layer}"] = _np(m)
        return res


class _TeacherBackend(_Backend):
    def __init__(self, msd: Any, mtt: Any, calibration: dict[str, Any] | None) -> None:
        from musicapp.models.musicnn import MSD_TAGS, MTT_TAGS

        self.models = {"MSD": msd, "MTT": mtt}
        index = {"MSD": {t: i for i, t in enumerate(MSD_TAGS)},
                 "MTT": {t: i for i, t in enumerate(MTT_TAGS)}}  # fmt: skip
        self.mood_idx = [(s, index[s][t]) for s, t in FALLBACK_MOODS]
        self.genre_idx = [(s, index[s][t]) for s, t in FALLBACK_GENRES]
        self.mood_tags = [t.lower() for _, t in FALLBACK_MOODS]
        self.genre_tags = [t.lower() for _, t in FALLBACK_GENRES]
        self.name = "musicnn teachers (MSD_musicnn + MTT_musicnn)"
        self.has_code = False
        self.mood_quantiles = self.genre_quantiles = None
        self.va_quantiles = None
        self.reference = None
        if calibration is not None:
            n = calibration.get("segments")
            self.reference = (f"among {int(n)} 3-s clips of game music" if n
                              else "among 3-s clips of game music")
            tables = {"MSD": calibration["MSD_musicnn"], "MTT": calibration["MTT_musicnn"]}
            self.mood_quantiles = np.stack([tables[s][i] for s, i in self.mood_idx])
            self.genre_quantiles = np.stack([tables[s][i] for s, i in self.genre_idx])

    def run(self, x: Any, feature_maps: bool) -> dict[str, np.ndarray]:
        probs = {}
        res: dict[str, np.ndarray] = {}
        for src, model in self.models.items():
            out = model(x)
            probs[src] = _np(out["prob"])
            if feature_maps and src == "MSD":
                for layer in ("timbral", "temporal", "mid1", "mid2", "mid3"):
                    res[f"maps.{layer}"] = _np(out[layer])
        res["mood"] = np.stack([probs[s][:, i] for s, i in self.mood_idx], axis=1)
        res["genre"] = np.stack([probs[s][:, i] for s, i in self.genre_idx], axis=1)
        return res


def _load_teacher_calibration() -> dict[str, Any] | None:
    from musicapp.models.calibration import CALIBRATION_FILE
    from musicapp.models.musicnn import models_dir
    from musicapp.models.weights import load_metadata, load_state

    path = models_dir() / CALIBRATION_FILE
    if not path.exists():
        return None
    tables: dict[str, Any] = {k: _np(v) for k, v in load_state(path).items()}
    segments = load_metadata(path).get("segments")
    if segments and str(segments).isdigit():
        tables["segments"] = int(segments)
    return tables


@functools.lru_cache(maxsize=4)
def _load_backend(device_str: str, prefer_student: bool) -> tuple[_Backend, str]:
    """Load (and cache per device) the model; returns (backend, note on fallback)."""
    import torch

    from musicapp.models.musicnn import load_musicnn

    device = torch.device(device_str)
    note = ""
    backend: _Backend | None = None
    if prefer_student:
        # The distilled model ships with the app: missing, tampered, truncated or incompatible
        # weights raise ModelError naming the file. The teachers are used only when the caller
        # asks for them (use_student=False), never silently in place of the student.
        from musicapp.models import hashnet

        if not Path(hashnet.WEIGHTS_PATH).exists():
            raise ModelError(
                f"the distilled tagging model is missing ({hashnet.WEIGHTS_PATH}); reinstall "
                "musicapp, or choose the musicnn teachers explicitly")
        model, meta = hashnet.load_hashnet(device)
        backend = _HashnetBackend(model, meta, device)
    if backend is None:
        backend = _TeacherBackend(load_musicnn("MSD_musicnn", device),
                                  load_musicnn("MTT_musicnn", device),
                                  _load_teacher_calibration())  # fmt: skip
    return backend, note


# --------------------------------------------------------------------------- engine


class TaggerEngine:
    """Tag, score, hash and embed tracks (see the module docs).

    Args:
        device: ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
            An unavailable device raises ModelError.
        threads: torch CPU threads (None: chosen by :func:`musicapp.models.device.configure_threads`).
        half: half precision on a GPU (None: off; see the module docs, step 3).
        batch_size: patches per forward pass (None: 2 on CPU, 64 on a GPU).
        use_student: try the distilled hashing model first (else only the teachers).
        feature_map_columns: time columns kept per feature map when maps are requested; longer
            tracks are average-pooled in time to this many columns.
    """

    def __init__(
        self,
        device: str = "auto",
        threads: int | None = None,
        half: bool | None = None,
        batch_size: int | None = None,
        use_student: bool = True,
        feature_map_columns: int = DEFAULT_FEATURE_MAP_COLUMNS,
    ) -> None:
        from musicapp.models.device import configure_threads, select_device

        self.device = select_device(device)
        self.threads = configure_threads(threads) if self.device.type == "cpu" else threads
        self.half = bool(half)
        if self.half and self.device.type == "cpu":
            raise ModelError("half precision is only supported on a GPU; use half=False on CPU")
        if self.device.type == "cuda":
            import torch

            # TF32 convolutions/matmuls differ from float32 by ~1e-3: results would depend on
            # the machine. Process-wide, as torch offers it; the app runs only its own models.
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
        default_batch = CPU_BATCH if self.device.type == "cpu" else GPU_BATCH
        self.batch_size = max(1, int(batch_size or default_batch))
        self.feature_map_columns = max(1, int(feature_map_columns))
        self.backend, self.note = _load_backend(str(self.device), use_student)

    # ------------------------------------------------------------------ public API

    def analyze(
        self,
        samples_16k_mono: np.ndarray,
        feature_maps: bool = False,
        sample_rate: int = MEL.sample_rate,
        progress: Callable[[float], None] | None = None,
    ) -> TaggerResult:
        """Analyse a whole signal (mono float samples at 16 kHz, or at ``sample_rate``);
        ``progress(fraction)`` is called after every 30-s block."""
        run = self.start(samples_16k_mono, feature_maps, sample_rate, progress)
        run.work()
        return run.result()

    def analyze_path(
        self,
        path: str | Path,
        feature_maps: bool = False,
        progress: Callable[[float], None] | None = None,
    ) -> TaggerResult:
        """Decode ``path`` in blocks and analyse it; ``progress(fraction)`` is called per block.

        Raises AudioDecodeError for unreadable files (from :mod:`musicapp.audio`).
        """
        from musicapp.audio import iter_blocks, probe

        info = probe(path)
        expected = max(info.duration_s, 1e-9)
        meter = LevelMeter()  # first pass: the level the input is normalised from
        for block in iter_blocks(path, sr=MEL.sample_rate, mono=True,
                                 block_seconds=BLOCK_SECONDS):  # fmt: skip
            meter.push(clean_samples(block))
        gain = input_gain(meter.dbfs())

        def blocks() -> Iterator[np.ndarray]:
            done = 0
            for block in iter_blocks(path, sr=MEL.sample_rate, mono=True,
                                     block_seconds=BLOCK_SECONDS):  # fmt: skip
                done += len(block)
                yield clean_samples(block)
                if progress:
                    progress(min(1.0, done / MEL.sample_rate / expected))

        return self._analyze_blocks(blocks(), info.duration_s, feature_maps, gain)

    def start(
        self,
        samples_16k_mono: np.ndarray,
        feature_maps: bool = False,
        sample_rate: int = MEL.sample_rate,
        progress: Callable[[float], None] | None = None,
    ) -> TaggingRun:
        """Prepare the tagging of a whole signal as a :class:`TaggingRun` whose batches one or
        several threads work through (:meth:`TaggingRun.work`); :meth:`TaggingRun.result` then
        gives the same :class:`TaggerResult` as :meth:`analyze` (which is ``start``, ``work``,
        ``result`` in one thread). ``progress(fraction)`` is called after every 30-s block."""
        y = clean_samples(samples_16k_mono)
        if sample_rate != MEL.sample_rate:
            from musicapp.audio import resample

            y = resample(y, sample_rate, MEL.sample_rate)
        gain = input_gain(input_level_dbfs(y))
        step = int(BLOCK_SECONDS * MEL.sample_rate)

        def blocks() -> Iterator[np.ndarray]:
            for i, block in enumerate(_frames_of_samples(y, step)):
                yield block
                if progress:
                    progress(min(1.0, (i + 1) * step / max(len(y), 1)))

        return TaggingRun(self, blocks(), len(y) / MEL.sample_rate, feature_maps, gain)

    def start_stream(
        self,
        source: Callable[[], Iterator[np.ndarray]],
        duration_s: float,
        feature_maps: bool = False,
        progress: Callable[[float], None] | None = None,
    ) -> TaggingRun:
        """:meth:`start` for a signal read as a stream: ``source()`` gives a fresh iterator over
        its consecutive 16 kHz mono blocks (any sizes; read twice: once for the level the input
        is normalised from, once for the Mel), so no whole-track copy is held (a 3-hour track at
        16 kHz is 0.7 GB). Each block is cleaned (:func:`clean_samples`) and the stream is cut
        into the same :data:`BLOCK_SECONDS` blocks :meth:`start` cuts, so for finite samples
        the result equals :meth:`start`'s on the concatenated signal bit for bit (tested); only
        the damaged-block rule of :func:`clean_samples` applies per source block instead of to
        the whole signal. ``duration_s``: the signal's length (for progress and map pooling)."""
        meter = LevelMeter()
        for block in source():
            y = clean_samples(block)
            for start in range(0, len(y), METER_PIECE):
                meter.push(y[start:start + METER_PIECE])
        gain = input_gain(meter.dbfs())
        step = int(BLOCK_SECONDS * MEL.sample_rate)
        total = max(duration_s * MEL.sample_rate, 1.0)

        def blocks() -> Iterator[np.ndarray]:
            done = 0
            for block in rechunk((clean_samples(b) for b in source()), step):
                done += len(block)
                yield block
                if progress:
                    progress(min(1.0, done / total))

        return TaggingRun(self, blocks(), duration_s, feature_maps, gain)

    # ------------------------------------------------------------------ internals

    def _analyze_blocks(
        self,
        blocks: Iterable[np.ndarray],
        duration_hint: float,
        feature_maps: bool,
        gain: float = 1.0,
    ) -> TaggerResult:
        run = TaggingRun(self, blocks, duration_hint, feature_maps, gain)
        run.work()
        return run.result()


class TaggingRun:
    """One track's tagging as a stream of batches that one or several threads work through.

    The blocks of samples are turned into log-Mel frames, cut into patches and grouped into
    batches of ``engine.batch_size`` consecutive patches, lazily and under a lock, so any thread
    calling :meth:`work` takes the next batch as soon as it is free (work sharing: a thread that
    finished its other job helps with the rest). The model runs outside the lock (torch releases
    the GIL), and the outputs are added to the result in batch order whatever thread computed
    them, so the result is the same as one thread's: same batches, same order.

    Thread counts are the caller's: each thread that calls :meth:`work` runs torch with
    ``torch_threads`` intra-op threads (the engine's choice when None). ``gain`` scales the
    samples before the log-Mel (:func:`input_gain` of the whole track's level; the level meter
    that decides silence reads the raw samples).
    """

    def __init__(self, engine: TaggerEngine, blocks: Iterable[np.ndarray], duration_hint: float,
                 feature_maps: bool, gain: float = 1.0) -> None:
        from musicapp.features import StreamingLogMel

        self.engine = engine
        self.feature_maps = feature_maps
        self._blocks = iter(blocks)
        self._mel = StreamingLogMel()
        self._meter = LevelMeter()
        self._gain = np.float32(gain)
        self._cutter = PatchCutter()
        self._acc = _Accumulator(engine.backend, feature_maps, duration_hint,
                                 engine.feature_map_columns)
        self._pending: list[Patch] = []
        self._n_samples = 0
        self._exhausted = False
        self._status = "ok"
        self._issued = 0  # batches handed out
        self._added = 0  # batches added to the accumulator (in order)
        self._outputs: dict[int, tuple[list[Patch], dict[str, np.ndarray]]] = {}
        self._error: BaseException | None = None
        self._stream_lock = threading.Lock()  # blocks, Mel, cutting, handing out batches
        self._result_lock = threading.Lock()  # the accumulator
        self.batches_by_thread: dict[str, int] = {}

    def _take(self) -> tuple[int, list[Patch]] | None:
        """The next batch (index, patches), or None when there is none left."""
        size = self.engine.batch_size
        with self._stream_lock:
            while self._error is None:
                if len(self._pending) >= size or (self._exhausted and self._pending):
                    batch = self._pending[:size]
                    del self._pending[:size]
                    self._issued += 1
                    return self._issued - 1, batch
                if self._exhausted:
                    return None
                block = next(self._blocks, None)
                if block is None:
                    self._end_of_stream()
                    continue
                self._n_samples += len(block)
                self._meter.push(block)
                if self._gain != 1.0:
                    block = block * self._gain
                self._pending.extend(self._cutter.push(self._mel.push(block)))
            return None

    def _end_of_stream(self) -> None:
        self._exhausted = True
        duration = self._n_samples / MEL.sample_rate
        self._status = level_status(duration, self._meter.dbfs())
        if self._status != "ok":  # nothing musical to report (module docs, 8.)
            self._pending.clear()
            return
        self._pending.extend(self._cutter.push(self._mel.flush()))
        self._pending.extend(self._cutter.finish(duration))

    def _run(self, index: int, batch: list[Patch]) -> None:
        import torch

        engine = self.engine
        x = torch.from_numpy(np.stack([p.logmel for p in batch])).to(engine.device)
        # Half precision through autocast: convolutions, matmuls and the LSTM run in float16 on
        # the GPU while reductions and normalisations stay float32.
        with torch.inference_mode(), torch.autocast(
            device_type=engine.device.type, dtype=torch.float16, enabled=engine.half
        ):
            out = engine.backend.run(x, self.feature_maps)
        with self._result_lock:
            self._outputs[index] = (batch, out)
            while self._added in self._outputs:
                done, done_out = self._outputs.pop(self._added)
                self._acc.add(done, done_out)
                self._added += 1

    def work(self, torch_threads: int | None = None) -> int:
        """Run batches until none is left (callable from several threads at once); returns how
        many this thread ran. A failure is kept and raised by :meth:`result`, and stops the
        other threads at their next batch."""
        if torch_threads is not None and self.engine.device.type == "cpu":
            import torch

            torch.set_num_threads(int(torch_threads))  # this thread's OpenMP team, deliberately
        ran = 0
        try:
            while (item := self._take()) is not None:
                self._run(*item)
                ran += 1
        except BaseException as exc:  # re-raised by result() in the caller's thread
            with self._stream_lock:
                if self._error is None:
                    self._error = exc
        name = threading.current_thread().name
        with self._result_lock:
            self.batches_by_thread[name] = self.batches_by_thread.get(name, 0) + ran
        return ran

    def result(self) -> TaggerResult:
        """The track's result, once every :meth:`work` call has returned.

        Raises:
            the first exception any thread met while working.
        """
        if self._error is not None:
            raise self._error
        if not self._exhausted or self._outputs or self._added != self._issued:
            raise RuntimeError("TaggingRun.result() called before the work was done")
        duration = self._n_samples / MEL.sample_rate
        device = str(self.engine.device)
        if self._status != "ok":
            return self._acc.empty(duration, device, self._status)
        return self._acc.result(duration, device, self.engine.note)


class _Accumulator:
    """Collects per-patch outputs (small) and pooled feature maps; builds the result."""

    def __init__(self, backend: _Backend, maps: bool, duration_hint: float, columns: int) -> None:
        self.backend = backend
        self.maps = maps
        self.patches: list[tuple[float, float, float]] = []  # start, end, weight
        self.mood: list[np.ndarray] = []
        self.genre: list[np.ndarray] = []
        self.va: list[np.ndarray] = []
        self.code: list[np.ndarray] = []
        self.embedding: list[np.ndarray] = []
        frames = max(1, math.ceil(duration_hint / MEL.frame_seconds) + MEL.patch_frames)
        self.pool = max(1, math.ceil(frames / columns))
        self.map_chunks: dict[str, list[np.ndarray]] = {}
        self.map_rest: dict[str, np.ndarray] = {}

    def add(self, batch: list[Patch], out: dict[str, np.ndarray]) -> None:
        self.patches.extend((p.start_s, p.end_s, p.weight) for p in batch)
        self.mood.append(out["mood"])
        self.genre.append(out["genre"])
        for key, store in (("va", self.va), ("code", self.code), ("embedding", self.embedding)):
            if key in out:
                store.append(out[key])
        if self.maps:
            for key, value in out.items():
                if key.startswith("maps."):
                    for patch, fmap in zip(batch, value, strict=True):
                        self._add_map(key[5:], patch, fmap)

    def _add_map(self, layer: str, patch: Patch, fmap: np.ndarray) -> None:
        # Keep only the new part of a final overlapping patch, then pool in time.
        new = max(1, round(patch.weight * fmap.shape[1])) if patch.weight < 1 else fmap.shape[1]
        part = fmap[:, -new:] if patch.start_s > 0 and patch.weight < 1 else fmap[:, :new]
        if layer in self.map_rest:
            part = np.concatenate([self.map_rest.pop(layer), part], axis=1)
        usable = part.shape[1] // self.pool * self.pool
        if usable:
            c = part.shape[0]
            pooled = part[:, :usable].reshape(c, -1, self.pool).mean(axis=2)
            self.map_chunks.setdefault(layer, []).append(pooled.astype(np.float32))
        if usable < part.shape[1]:
            self.map_rest[layer] = part[:, usable:]

    def _calibrated(self, scores: np.ndarray, quantiles: np.ndarray | None) -> np.ndarray:
        from musicapp.models.calibration import to_percentile

        if quantiles is None:  # no reference table: rank by raw score, percentile = 100 * score
            return (100.0 * scores).astype(np.float32)
        return to_percentile(scores, quantiles)

    def empty(self, duration: float, device: str, status: str) -> TaggerResult:
        """The result of silence or too-short input: no moods, genres or valence/arousal."""
        return TaggerResult(
            duration_s=duration, moods=[], valence=None, arousal=None, genres=[], segments=[],
            model=self.backend.name, device=device, status=status,
            mood_reference=self.backend.reference,
        )

    def _unit_va(self, va_raw: np.ndarray) -> np.ndarray:
        """Fraction P in [0, 1] of the reference clips below each raw valence/arousal."""
        from musicapp.models.calibration import to_percentile

        q = self.backend.va_quantiles
        if q is None:  # an uncalibrated mapping in [-1, 1]
            return np.clip((va_raw + 1.0) / 2.0, 0.0, 1.0)
        return to_percentile(va_raw, q).astype(np.float64) / 100.0

    def result(self, duration: float, device: str, note: str) -> TaggerResult:
        b = self.backend
        w = np.array([p[2] for p in self.patches], dtype=np.float64)
        w = w / w.sum()
        mood = np.nan_to_num(np.concatenate(self.mood), nan=0.0)
        genre = np.nan_to_num(np.concatenate(self.genre), nan=0.0)
        mood_pct = self._calibrated(mood, b.mood_quantiles)
        track_mood = w @ mood
        track_mood_pct = self._calibrated(track_mood[None], b.mood_quantiles)[0]
        track_genre = w @ genre
        track_genre_pct = self._calibrated(track_genre[None], b.genre_quantiles)[0]

        if self.va:
            unit = self._unit_va(np.nan_to_num(np.concatenate(self.va).astype(np.float64)))
        else:
            seg_va, _ = self._circumplex(mood_pct, track_mood_pct, b.mood_tags)
            unit = None if seg_va is None else np.clip((seg_va + 1.0) / 2.0, 0.0, 1.0)
        va = None if unit is None else 2.0 * unit - 1.0
        track_va = None if va is None else w @ va
        seg_energy = None if unit is None else 1.0 + 9.0 * unit[:, 1]

        segments = []
        codes = np.concatenate(self.code) if self.code else None
        for i, (start, end, _) in enumerate(self.patches):
            seg: dict[str, Any] = {
                "start": _r(start, 3),
                "end": _r(min(end, duration), 3),
                "moods": readable_moods(b.mood_tags, mood[i], mood_pct[i])[:SEGMENT_MOODS],
                "valence": None if va is None else _r(va[i, 0]),
                "arousal": None if va is None else _r(va[i, 1]),
                "energy": None if seg_energy is None else _r(seg_energy[i], 1),
            }
            if codes is not None:
                seg["hash"] = bits_to_hex(codes[i])
            segments.append(seg)

        curves = None
        if va is not None and seg_energy is not None:
            curves = {
                "step_s": CURVE_STEP_S,
                "start": [s["start"] for s in segments],
                "valence": [s["valence"] for s in segments],
                "arousal": [s["arousal"] for s in segments],
                "energy": [s["energy"] for s in segments],
            }
        result = TaggerResult(
            duration_s=duration,
            moods=readable_moods(b.mood_tags, track_mood, track_mood_pct),
            valence=None if track_va is None else _r(track_va[0]),
            arousal=None if track_va is None else _r(track_va[1]),
            genres=readable_tags(b.genre_tags, track_genre, track_genre_pct,
                                 NEGLIGIBLE_GENRE)[:TOP_GENRES],
            segments=segments,
            model=b.name + (f" [{note}]" if note else ""),
            device=device,
            energy=None if unit is None else int(np.clip(round(1.0 + 9.0 * float(w @ unit[:, 1])),
                                                         1, 10)),
            curves=curves,
            mood_reference=b.reference,
        )
        if codes is not None:
            result.hash = bits_to_hex(w @ codes)
        if self.embedding:
            emb = w @ np.concatenate(self.embedding).astype(np.float64)
            emb /= max(float(np.linalg.norm(emb)), 1e-12)
            result.embedding = [_r(v, 6) for v in emb]
        if self.maps:
            for layer, rest in self.map_rest.items():  # the last, partial pooling window
                self.map_chunks.setdefault(layer, []).append(rest.mean(axis=1, keepdims=True))
            result.feature_maps = {k: np.concatenate(v, axis=1) for k, v in self.map_chunks.items()}
            result.feature_map_seconds_per_column = self.pool * MEL.frame_seconds
        return result

    @staticmethod
    def _circumplex(
        mood_pct: np.ndarray, track_pct: np.ndarray, tags: list[str]
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        try:
            from musicapp.models import circumplex
        except ImportError:
            return None, None
        order = list(circumplex.MOOD_TAGS)
        if sorted(order) != sorted(tags):
            return None, None
        idx = [tags.index(t) for t in order]
        seg = circumplex.valence_arousal(mood_pct[:, idx] / 100.0).astype(np.float64)
        track = circumplex.valence_arousal(track_pct[idx] / 100.0).astype(np.float64)
        return seg, track


def readable_tags(
    tags: list[str], score: np.ndarray, pct: np.ndarray, negligible: float
) -> list[dict[str, Any]]:
    """Tags ranked by percentile, without those whose raw probability is below ``negligible``."""
    rows = [{"tag": t, "score": _sig(s), "percentile": _r(p, 1)}
            for t, s, p in zip(tags, score, pct, strict=True)
            if np.isfinite(s) and np.isfinite(p) and s >= negligible]  # fmt: skip
    return sorted(rows, key=lambda r: (-r["percentile"], -r["score"]))


def readable_moods(tags: list[str], score: np.ndarray, pct: np.ndarray) -> list[dict[str, Any]]:
    """Mood tags as :func:`readable_tags` with :data:`NEGLIGIBLE_MOOD`; of each contradictory
    pair (:data:`CONTRADICTIONS`) only the one with the higher percentile stays, with ``over``
    naming the other and ``over_score`` its raw probability."""
    rows = readable_tags(tags, score, pct, NEGLIGIBLE_MOOD)
    by_tag = {r["tag"]: r for r in rows}
    dropped: set[str] = set()
    for a, b in CONTRADICTIONS:
        ra, rb = by_tag.get(a), by_tag.get(b)
        if ra is None or rb is None or a in dropped or b in dropped:
            continue
        win, lose = (ra, rb) if (ra["percentile"], ra["score"]) >= (rb["percentile"], rb["score"]) \
            else (rb, ra)
        win.setdefault("over", lose["tag"])
        win.setdefault("over_score", lose["score"])
        dropped.add(lose["tag"])
    return [r for r in rows if r["tag"] not in dropped]


def _r(x: float, digits: int = 4) -> float:
    return round(float(x), digits)


def _sig(x: float, digits: int = 4) -> float:
    """Round to significant digits: raw mood probabilities are often around 0.001."""
    return float(f"{float(x):.{digits}g}")


def result_json(result: TaggerResult) -> str:
    """JSON text of a result without feature maps (for logs and tests)."""
    d = result.to_dict()
    d.pop("feature_maps", None)
    return json.dumps(d)
