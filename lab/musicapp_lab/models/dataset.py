"""Distillation data for the hashnet: real music -> log-Mel patches -> cached teacher features.

Sources: the freely licensed Debian music packages that the project may train on (see
``shared/ENVIRONMENT.md``). They are extracted by the lead under
``data/debian-music/extracted/``; nexuiz and ufoai keep their music inside ``.pk3`` (zip)
archives, which :func:`extract_pk3_music` unpacks into the cache folder.

Split **by package** (each package is one composer/team, one "album"): no track, and no composer,
of the held-out test packages is ever trained on or used for model selection.

Stages (each cached under ``data/hashnet/``, git-ignored):

1. :func:`build_mel_cache`: decode each track to 16 kHz mono with :func:`musicapp.audio.load_audio`
   and compute :func:`musicapp.features.log_mel` (``log10(10000 S + 1)`` in float32); one ``.npy``
   per track.
2. :func:`build_feature_cache`: cut non-overlapping 187-frame patches (the partial tail is
   dropped, near-silent patches are skipped), run the frozen MSD_musicnn front end and both
   teachers, store per patch the two parameter-free reader inputs of
   :func:`musicapp.models.hashnet.build_sequence` ("layers" and "time" variants, float16) and the
   teachers' logits (MSD 50 + MTT 50, float32).
"""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from musicapp.filetypes import AUDIO_EXTENSIONS
from musicapp.params import MEL
from musicapp_lab.paths import REPO as _REPO

REPO = _REPO
DEFAULT_EXTRACTED = REPO / "data" / "debian-music" / "extracted"
DEFAULT_CACHE = REPO / "data" / "hashnet"
AUDIO_SUFFIXES = tuple(sorted(AUDIO_EXTENSIONS))
MIN_BYTES = 300_000  # skips sound effects; every music track of these packages is larger

#: Package -> split. Test: two packages nobody trains or tunes on; validation: one package.
SPLITS: dict[str, str] = {
    "warzone2100": "train",
    "ufoai": "train",
    "planetblupi": "train",
    "nexuiz": "train",
    "hedgewars": "train",
    "freedroidrpg": "val",
    "singularity": "test",
    "hyperrogue": "test",
}
PK3_ARCHIVES = {
    "nexuiz": ("usr/share/games/nexuiz/data/music.pk3", "sound/cdtracks/"),
    "ufoai": ("usr/share/games/ufoai/base/0music.pk3", "music/"),
}
SILENCE_LOGMEL = 0.05  # a patch whose mean log-Mel is below this is (near) silence


@dataclass(frozen=True)
class Track:
    """One music file of a training package."""

    path: str
    package: str
    key: str  # short stable id (sha1 of the path inside its package)

    @property
    def split(self) -> str:
        """train / val / test."""
        return SPLITS[self.package]

    @property
    def cache_name(self) -> str:
        """File name of the track's cached log-Mel."""
        return f"{self.package}_{self.key}.npy"


def extract_pk3_music(extracted: Path = DEFAULT_EXTRACTED, cache: Path = DEFAULT_CACHE) -> Path:
    """Unpack the music of the nexuiz/ufoai ``.pk3`` archives into ``cache/pk3/<package>/``."""
    root = cache / "pk3"
    for package, (archive, prefix) in PK3_ARCHIVES.items():
        src = extracted / archive
        if not src.is_file():
            continue
        with zipfile.ZipFile(src) as zf:
            for name in zf.namelist():
                if name.startswith(prefix) and name.lower().endswith(AUDIO_SUFFIXES):
                    dest = root / package / name
                    if not dest.exists():
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        dest.write_bytes(zf.read(name))
    return root


def _package_of(rel: Path, from_pk3: bool) -> str | None:
    parts = rel.parts
    if from_pk3:
        return parts[0]
    # usr/share/<pkg>/... or usr/share/games/<pkg>/...
    if len(parts) > 3 and parts[2] == "games":
        return parts[3]
    return parts[2] if len(parts) > 2 else None


def discover_tracks(
    extracted: Path = DEFAULT_EXTRACTED, cache: Path = DEFAULT_CACHE
) -> list[Track]:
    """All music files of the packages in :data:`SPLITS`, sorted by path."""
    tracks: list[Track] = []
    for root, from_pk3 in ((extracted, False), (cache / "pk3", True)):
        if not root.is_dir():
            continue
        for p in sorted(root.rglob("*")):
            if p.suffix.lower() not in AUDIO_SUFFIXES or p.stat().st_size < MIN_BYTES:
                continue
            rel = p.relative_to(root)
            package = _package_of(rel, from_pk3)
            if package not in SPLITS:
                continue
            key = hashlib.sha1(str(rel).encode()).hexdigest()[:12]
            tracks.append(Track(str(p), package, key))
    return tracks


def track_logmel(path: str | Path) -> np.ndarray:
    """Decode ``path`` to 16 kHz mono and return its log-Mel (frames, 96) float32."""
    from musicapp.audio import load_audio
    from musicapp.features import log_mel

    audio = load_audio(path, sr=MEL.sample_rate, mono=True)
    return log_mel(audio.samples)


MARGIN_FRAMES = 8  # decoded context on each side of a segment (128 ms), dropped after the Mel


def segment_patches(path: str | Path, starts_frames: np.ndarray) -> np.ndarray:
    """Log-Mel patches (n, 187, 96) starting at the given frame indices of the whole-track Mel.

    Decodes only each segment plus :data:`MARGIN_FRAMES` of context on both sides, so the frames
    kept are those the whole-track :func:`track_logmel` would give (up to the resampler's edge
    transient inside the margin) at a fraction of the decoding cost on long tracks.
    """
    from musicapp.audio import load_audio
    from musicapp.features import log_mel

    hop, n_frames = MEL.hop_length, MEL.patch_frames
    out = np.empty((len(starts_frames), n_frames, MEL.n_mels), dtype=np.float32)
    for i, f0 in enumerate(starts_frames):
        first = max(int(f0) - MARGIN_FRAMES, 0)
        skip = int(f0) - first
        offset = first * hop / MEL.sample_rate
        duration = (skip + n_frames + MARGIN_FRAMES) * hop / MEL.sample_rate
        audio = load_audio(path, sr=MEL.sample_rate, mono=True, offset=offset, duration=duration)
        mel = log_mel(audio.samples)
        seg = mel[skip : skip + n_frames]
        if seg.shape[0] < n_frames:  # end of file
            seg = np.pad(seg, ((0, n_frames - seg.shape[0]), (0, 0)))
        out[i] = seg
    return out


def build_mel_cache(
    tracks: Iterable[Track], cache: Path = DEFAULT_CACHE, log: Callable[[str], None] = print
) -> Path:
    """Compute (or reuse) every track's log-Mel under ``cache/mel``; returns that folder."""
    folder = cache / "mel"
    folder.mkdir(parents=True, exist_ok=True)
    for t in tracks:
        dest = folder / t.cache_name
        if dest.exists():
            continue
        t0 = time.time()
        mel = track_logmel(t.path)
        tmp = dest.with_suffix(".tmp.npy")
        np.save(tmp, mel)
        tmp.replace(dest)
        log(f"mel {t.package} {Path(t.path).name}: {mel.shape[0]} frames, {time.time() - t0:.1f}s")
    return folder


def spread(n: int, count: int, phase: float = 0.0) -> np.ndarray:
    """``count`` indices evenly spread over ``range(n)``, skipping the first and last (intro and
    fade-out). ``phase`` in (0, 1) shifts them by that fraction of the spacing and drops those the
    first pass (``phase=0``) takes, so a second pass with ``phase=0.5`` takes other segments,
    half-way between those of the first."""

    def at(ph: float) -> np.ndarray:
        step = (n - 1) / (count + 1)
        idx = (np.linspace(0, n - 1, count + 2)[1:-1] + ph * step).round().astype(int)
        return np.unique(np.clip(idx, 0, n - 1))

    return at(0.0) if phase == 0 else np.setdiff1d(at(phase), at(0.0))


def full_patches(logmel: np.ndarray, patch_frames: int = MEL.patch_frames) -> np.ndarray:
    """Non-overlapping full patches (n, patch_frames, 96); the partial tail is dropped."""
    n = logmel.shape[0] // patch_frames
    return np.ascontiguousarray(logmel[: n * patch_frames].reshape(n, patch_frames, -1))


@dataclass
class FeatureCache:
    """The cached per-patch training data of one split (all arrays share the first axis)."""

    layers_seq: np.ndarray  # (N, 8, 2048) float16: "layers" variant reader input
    time_seq: np.ndarray  # (N, 32, 753) float16: "time" variant reader input
    msd_logits: np.ndarray  # (N, 50) float32
    mtt_logits: np.ndarray  # (N, 50) float32
    track: np.ndarray  # (N,) int32 index into ``tracks``
    start_s: np.ndarray  # (N,) float32 patch start within its track
    tracks: list[dict]  # Track fields + duration_s

    def __len__(self) -> int:
        return int(self.track.shape[0])

    def save(self, path: Path) -> None:
        """Write to ``path`` (.npz, uncompressed) plus ``path.json`` (the track list)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez(
            tmp, layers_seq=self.layers_seq, time_seq=self.time_seq, msd_logits=self.msd_logits,
            mtt_logits=self.mtt_logits, track=self.track, start_s=self.start_s,
        )
        tmp.replace(path)
        path.with_suffix(".json").write_text(json.dumps(self.tracks, indent=1))

    @classmethod
    def load(cls, path: Path) -> FeatureCache:
        """Read a cache written by :meth:`save`."""
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        tracks = json.loads(path.with_suffix(".json").read_text())
        return cls(tracks=tracks, **arrays)


def teacher_features(
    patches: np.ndarray,
    msd: object,
    mtt: object,
    seq_cfgs: dict[str, object],
    batch: int = 32,
    device: str = "cpu",
) -> dict[str, np.ndarray]:
    """Run the frozen front end and both teachers on (n, 187, 96) patches.

    Returns ``layers_seq``, ``time_seq`` (float16) and ``msd_logits``, ``mtt_logits`` (float32).
    """
    import torch

    from musicapp.models.hashnet import build_sequence

    out: dict[str, list[np.ndarray]] = {"layers_seq": [], "time_seq": [], "msd_logits": [],
                                        "mtt_logits": []}  # fmt: skip
    with torch.inference_mode():
        for i in range(0, patches.shape[0], batch):
            x = torch.from_numpy(patches[i : i + batch]).to(device)
            f = msd(x)  # type: ignore[operator]
            out["layers_seq"].append(
                build_sequence(f, seq_cfgs["layers"]).half().cpu().numpy()  # type: ignore[arg-type]
            )
            out["time_seq"].append(
                build_sequence(f, seq_cfgs["time"]).half().cpu().numpy()  # type: ignore[arg-type]
            )
            out["msd_logits"].append(f["logits"].float().cpu().numpy())
            out["mtt_logits"].append(mtt(x)["logits"].float().cpu().numpy())  # type: ignore[operator]
    return {k: np.concatenate(v) for k, v in out.items()}


def load_teacher(name: str, device: str = "cpu", musicnn_dir: Path | None = None) -> object:
    """The ported musicnn ``name``: the shipped one, or the safetensors in ``musicnn_dir``."""
    from musicapp.models.musicnn import load_musicnn

    if musicnn_dir is None:
        return load_musicnn(name, device=device)
    from musicapp.models.musicnn import WEIGHT_FILES, build_model, load_state_into
    from musicapp.models.weights import load_state

    path = musicnn_dir / WEIGHT_FILES[name]
    model = build_model(name)
    load_state_into(model, load_state(path), str(path))
    return model.eval().to(device)


def build_feature_cache(
    tracks: list[Track],
    cache: Path = DEFAULT_CACHE,
    device: str = "cpu",
    max_patches_per_track: dict[str, int] | None = None,
    log: Callable[[str], None] = print,
    musicnn_dir: Path | None = None,
    splits: tuple[str, ...] = ("train", "val", "test"),
    phase: float = 0.0,
) -> dict[str, Path]:
    """Compute the per-split feature caches ``cache/features_<split>.npz``; returns their paths.

    Needs the mel cache (:func:`build_mel_cache`). ``max_patches_per_track`` subsamples patches
    evenly from long tracks, per split (a missing split keeps them all). ``musicnn_dir``
    overrides where the teachers' weights are read from (default: the shipped
    ``resources/models``). ``phase`` > 0 samples other segments (see :func:`spread`) into
    ``features_<split>_p<phase%>.npz``; tracks too short to have other segments are skipped.
    """
    from musicapp.models.hashnet import HashNetConfig

    msd = load_teacher("MSD_musicnn", device, musicnn_dir)
    mtt = load_teacher("MTT_musicnn", device, musicnn_dir)
    seq_cfgs = {"layers": HashNetConfig(variant="layers"), "time": HashNetConfig(variant="time")}
    paths: dict[str, Path] = {}
    caps = max_patches_per_track or {}
    for split in splits:
        cap = caps.get(split)
        suffix = "" if phase == 0 else f"_p{round(phase * 100):02d}"
        dest = cache / f"features_{split}{suffix}.npz"
        paths[split] = dest
        if dest.exists():
            continue
        chunks: dict[str, list[np.ndarray]] = {}
        track_rows: list[dict] = []
        split_tracks = [t for t in tracks if t.split == split]
        if not cap:
            build_mel_cache(split_tracks, cache, log=log)
        for t in split_tracks:
            t0 = time.time()
            mel_path = cache / "mel" / t.cache_name
            if mel_path.exists():
                mel = np.load(mel_path)
                total_frames = mel.shape[0]
                patches = full_patches(mel)
                starts_f = np.arange(patches.shape[0]) * MEL.patch_frames
                keep = patches.mean(axis=(1, 2)) >= SILENCE_LOGMEL
                patches, starts_f = patches[keep], starts_f[keep]
                if cap and patches.shape[0] > cap:
                    idx = spread(patches.shape[0], cap, phase)
                    patches, starts_f = patches[idx], starts_f[idx]
                elif phase:
                    patches, starts_f = patches[:0], starts_f[:0]
            else:  # decode only the segments taken
                from musicapp.audio import probe

                total_frames = int(probe(t.path).duration_s * MEL.sample_rate) // MEL.hop_length + 1
                n_full = total_frames // MEL.patch_frames
                if cap and n_full > cap:
                    idx = spread(n_full, cap, phase)
                else:
                    idx = np.arange(0 if phase else n_full)
                starts_f = idx * MEL.patch_frames
                patches = segment_patches(t.path, starts_f)
                keep = patches.mean(axis=(1, 2)) >= SILENCE_LOGMEL
                patches, starts_f = patches[keep], starts_f[keep]
            starts = (starts_f * MEL.frame_seconds).astype(np.float32)
            row = {**asdict(t), "split": split, "duration_s": total_frames * MEL.frame_seconds,
                   "patches": int(patches.shape[0])}  # fmt: skip
            track_rows.append(row)
            if patches.shape[0] == 0:
                continue
            feats = teacher_features(patches, msd, mtt, seq_cfgs, device=device)
            feats["track"] = np.full(patches.shape[0], len(track_rows) - 1, dtype=np.int32)
            feats["start_s"] = starts
            for k, v in feats.items():
                chunks.setdefault(k, []).append(v)
            log(f"features {split} {t.package} {Path(t.path).name}: {patches.shape[0]} patches, "
                f"{time.time() - t0:.1f}s")  # fmt: skip
        fc = FeatureCache(tracks=track_rows, **{k: np.concatenate(v) for k, v in chunks.items()})
        fc.save(dest)
        log(f"saved {dest} ({len(fc)} patches from {len(track_rows)} tracks)")
    return paths
