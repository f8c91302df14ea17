"""Reference score distributions (calibration tables) of the musicnn teachers.

Raw musicnn probabilities of mood tags are tiny (MSD "sad" rarely exceeds 0.02), so the tagger
reports each tag's score as a percentile of that tag's scores over a reference set of 3-s
segments of real music (:mod:`musicapp.models.calibration`). This module builds those tables:
up to ``per_file`` segments evenly spread over each file, decoded with
:func:`musicapp.audio.load_audio`, turned into log-Mel patches with :mod:`musicapp.features`,
scored by MSD_musicnn and MTT_musicnn; then a (50, 101) percentile table per model.

The shipped table (``resources/models/musicnn_calibration.safetensors``) was made from the
freely licensed Debian game-music packages that shared/ENVIRONMENT.md lists for training; which
files and how many segments are recorded in its metadata.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from musicapp.errors import MusicappError
from musicapp.filetypes import AUDIO_EXTENSIONS
from musicapp.models.calibration import CALIBRATION_FILE
from musicapp.params import MEL


def find_audio(folder: str | Path, min_bytes: int = 200_000) -> list[Path]:
    """Audio files under ``folder`` (sorted), skipping tiny ones (jingles, effects)."""
    root = Path(folder)
    return sorted(p for p in root.rglob("*")
                  if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()
                  and p.stat().st_size >= min_bytes)  # fmt: skip


def segment_offsets(duration_s: float, per_file: int) -> list[float]:
    """Start times of up to ``per_file`` 3-s segments spread evenly over ``duration_s``."""
    patch = MEL.patch_seconds
    if duration_s < patch:
        return [0.0]
    count = max(1, min(per_file, int(duration_s // patch)))
    span = duration_s - patch
    return [span * (i + 0.5) / count for i in range(count)]


def collect_patches(
    files: Sequence[Path],
    per_file: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Log-Mel patches (N, 187, 96) from ``files``; also the files actually used."""
    from musicapp.audio import load_audio, probe
    from musicapp.features import log_mel, mel_patches

    patches: list[np.ndarray] = []
    used: list[str] = []
    for i, path in enumerate(files):
        try:
            info = probe(path)
            for start in segment_offsets(info.duration_s, per_file):
                audio = load_audio(path, offset=start, duration=MEL.patch_seconds + 0.05)
                patches.append(mel_patches(log_mel(audio.samples))[:1])
            used.append(str(path))
        except MusicappError:
            continue  # an unreadable file is skipped, not fatal
        if progress:
            progress(i + 1, len(files))
    if not patches:
        raise MusicappError("no readable audio found for calibration")
    return np.concatenate(patches), used


def teacher_scores(patches: np.ndarray, batch: int = 8) -> dict[str, np.ndarray]:
    """Sigmoid outputs of MSD_musicnn and MTT_musicnn on ``patches``: name -> (N, 50)."""
    import torch

    from musicapp.models.musicnn import load_musicnn

    out: dict[str, np.ndarray] = {}
    for name in ("MSD_musicnn", "MTT_musicnn"):
        model = load_musicnn(name)
        probs = []
        with torch.inference_mode():
            for i in range(0, len(patches), batch):
                probs.append(model(torch.from_numpy(patches[i : i + batch]))["prob"].numpy())
        out[name] = np.concatenate(probs)
    return out


def build_calibration(
    folder: str | Path,
    out_dir: str | Path,
    per_file: int = 8,
    verbose: bool = True,
    min_bytes: int = 200_000,
) -> Path:
    """Measure the teachers' score distributions on the audio under ``folder`` and write
    ``musicnn_calibration.safetensors`` (tables ``MSD_musicnn``, ``MTT_musicnn``: (50, 101))."""
    import torch

    from musicapp.models.calibration import fit_quantiles
    from musicapp.models.musicnn import MSD_TAGS, MTT_TAGS
    from musicapp.models.weights import save_state

    files = find_audio(folder, min_bytes)
    if not files:
        raise MusicappError(f"{folder}: no audio files found")

    def report(done: int, total: int) -> None:
        if verbose and (done % 10 == 0 or done == total):
            print(f"  decoded {done}/{total} files", flush=True)

    patches, used = collect_patches(files, per_file, report)
    if verbose:
        print(f"  scoring {len(patches)} segments with MSD_musicnn and MTT_musicnn", flush=True)
    scores = teacher_scores(patches)
    tables = {name: torch.from_numpy(fit_quantiles(s)) for name, s in scores.items()}
    root = Path(folder)
    rel = [str(Path(u).relative_to(root)) if Path(u).is_relative_to(root) else u for u in used]
    meta = {
        "format": "musicapp.musicnn-calibration/1",
        "segments": str(len(patches)),
        "files": json.dumps(rel),
        "per_file": str(per_file),
        "MSD_tags": json.dumps(list(MSD_TAGS)),
        "MTT_tags": json.dumps(list(MTT_TAGS)),
        "description": "percentiles 0..100 (101 columns) of each tag's sigmoid output over "
        "3-s segments of the reference audio",
    }
    path = Path(out_dir) / CALIBRATION_FILE
    digest = save_state(path, tables, meta)
    update_model_card(Path(out_dir) / "MUSICNN_MODEL_CARD.md", rel, len(patches), per_file, digest)
    return path


def _source_of(rel_path: str) -> str:
    """A short name for where a reference file came from (the folder after usr/share[/games])."""
    parts = Path(rel_path).parts
    for i, part in enumerate(parts):
        if part == "share":
            rest = parts[i + 1 :]
            if rest and rest[0] == "games":
                rest = rest[1:]
            return rest[0] if rest else rel_path
    return parts[0] if len(parts) > 1 else "."


SECTION = "## Calibration table"


def update_model_card(card: Path, files: list[str], segments: int, per_file: int, digest: str):
    """Add or replace the calibration section of the musicnn model card."""
    from collections import Counter

    counts = Counter(_source_of(f) for f in files)
    listing = ", ".join(f"{name} ({n})" for name, n in sorted(counts.items()))
    section = f"""{SECTION}

`{CALIBRATION_FILE}` (sha256 `{digest}`) holds, for MSD_musicnn and
MTT_musicnn, the 0th..100th percentile of every tag's sigmoid output over {segments} 3-s
segments (up to {per_file} evenly spread segments per file) of {len(files)} files of freely
licensed music from the Debian packages listed for training in the project's environment notes:
{listing}. The tagger engine reports a tag's score as the percentile it reaches in this table.
The reference is game and ambient music, mostly instrumental: a percentile says "more X than
typical of that reference", not an absolute judgement. Reproduce with
`musicapp calibrate-musicnn --src data/debian-music/extracted --per-file {per_file}`.
"""
    text = card.read_text(encoding="utf-8") if card.exists() else "# musicnn taggers\n"
    if SECTION in text:
        start = text.index(SECTION)
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + ("\n" + text[nxt + 1 :] if nxt >= 0 else "")
    else:
        marker = "## Checksums"
        i = text.find(marker)
        text = text[:i] + section + "\n" + text[i:] if i >= 0 else text + "\n" + section
    from musicapp_lab.cli._out import write_text

    write_text(card, text, force=True, kind="model card")  # an update of the card, by design
