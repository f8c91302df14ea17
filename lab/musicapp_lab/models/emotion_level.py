"""Level invariance of moods, valence/arousal and energy (issue 16), and the re-tagging of cached
excerpt analyses after the tagger's input became level-normalised.

``invariance``: real music (excerpts of allowed Debian soundtrack tracks and rendered POP909
songs) played at 0, -10, -20 and -30 dB through the one pipeline
(:func:`musicapp.pipeline.analyze_samples`, CPU, one thread); per track the largest change of
valence, arousal and energy against 0 dB and whether the top-3 moods change. Runs with whatever
``musicapp`` is importable, so the code before the change is measured from an exported copy of
the old tree (``PYTHONPATH=/tmp/before``)::

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python -m musicapp_lab.models.emotion_level \
        invariance --out data/va_fusion/level_after.json

``retag SRC DST [K N]``: for every cached excerpt analysis under ``SRC`` (the slim form of
:mod:`musicapp_lab.models.emotion_features` or ``heldout2``), decode the track, cut the same
excerpt and replace the tagger part by the current tagger's (the music part does not depend on
the tagger and is kept); written under ``DST``. Resumable.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

GAINS_DB = (0.0, -10.0, -20.0, -30.0)
EXCERPT_S = 60.0
#: Allowed Debian soundtrack tracks (any eight packages of ENVIRONMENT.md) and POP909 songs.
DEBIAN = (
    "usr/share/games/warzone2100/music",
    "usr/share/games/ufoai/base/music",
    "usr/share/games/hedgewars/Data/Music",
    "usr/share/games/nexuiz/data",
    "usr/share/games/singularity/music",
)
POP909 = ("001", "050", "100", "200")


def _debian_files(root: Path, per_folder: int = 1) -> list[Path]:
    out: list[Path] = []
    for folder in DEBIAN:
        files = sorted(p for p in (root / folder).rglob("*")
                       if p.suffix.lower() in (".ogg", ".mp3", ".flac", ".wav")
                       and p.stat().st_size > 300_000)
        out.extend(files[len(files) // 3: len(files) // 3 + per_folder])
    return out


def _inputs(repo: Path) -> list[tuple[str, np.ndarray, int]]:
    """(name, mono samples, rate) of the excerpts measured."""
    from musicapp.audio import load_audio
    from musicapp.params import ANALYSIS
    from musicapp.synth.render import render_midi

    items = []
    for path in _debian_files(repo / "data" / "debian-music" / "extracted"):
        a = load_audio(path, sr=ANALYSIS.sample_rate, mono=True)
        y = a.samples
        mid = len(y) // 2
        half = int(EXCERPT_S / 2 * a.sample_rate)
        items.append((f"debian:{path.name}", y[max(0, mid - half): mid + half], a.sample_rate))
    for song in POP909:
        midi = repo / "data" / "pop909" / "POP909" / song / f"{song}.mid"
        if midi.exists():
            sr = ANALYSIS.sample_rate
            y = render_midi(midi, sample_rate=sr, mono=True)
            y = y[: int(EXCERPT_S * sr)]
            y = y / max(float(np.max(np.abs(y))), 1e-9) * 0.9  # rendered at full level
            items.append((f"pop909:{song}", y.astype(np.float32), sr))
    return items


def _summary(res: Any) -> dict[str, Any]:
    d = res.to_dict()
    return {"status": d.get("status"), "valence": d.get("valence"), "arousal": d.get("arousal"),
            "energy": d.get("energy"), "moods": [m["tag"] for m in d.get("moods") or []][:3],
            "genres": [g["tag"] for g in d.get("genres") or []][:1],
            "level_dbfs": d.get("level_dbfs")}


def invariance(repo: Path) -> dict[str, Any]:
    """Analyse every input at each of :data:`GAINS_DB`; per-track and overall worst changes."""
    from musicapp.pipeline import analyze_samples

    rows = []
    for name, y, sr in _inputs(repo):
        runs = {}
        for g in GAINS_DB:
            res = analyze_samples((y * 10 ** (g / 20)).astype(np.float32), sr, device="cpu",
                                  threads=1)
            runs[g] = _summary(res)
        base = runs[0.0]
        row: dict[str, Any] = {"track": name, "runs": {str(k): v for k, v in runs.items()}}
        for f in ("valence", "arousal", "energy"):
            vals = [r[f] for r in runs.values() if r[f] is not None]
            row[f"max_change_{f}"] = (max(abs(v - base[f]) for v in vals)
                                      if base[f] is not None and vals else None)
        row["top3_moods_change"] = any(r["moods"] != base["moods"] for r in runs.values())
        row["top_mood_change"] = any(r["moods"][:1] != base["moods"][:1] for r in runs.values())
        row["arousal_sign_flip"] = any(
            r["arousal"] is not None and base["arousal"] is not None
            and np.sign(r["arousal"]) != np.sign(base["arousal"]) for r in runs.values())
        rows.append(row)
        print(f"{name}: dV {row['max_change_valence']} dA {row['max_change_arousal']} "
              f"dE {row['max_change_energy']} moods changed {row['top3_moods_change']}",
              flush=True)
    summary = {f"max_change_{f}": max((r[f"max_change_{f}"] or 0.0) for r in rows)
               for f in ("valence", "arousal", "energy")}
    for k in ("top3_moods_change", "top_mood_change", "arousal_sign_flip"):
        summary[k] = f"{sum(r[k] for r in rows)} of {len(rows)}"
    return {"gains_db": GAINS_DB, "summary": summary, "tracks": rows}


def retag(src: Path, dst: Path, part: tuple[int, int] = (0, 1)) -> int:
    """Re-tag every cached excerpt analysis of ``src`` into ``dst`` (see the module docs)."""
    from musicapp.audio import load_audio
    from musicapp.params import ANALYSIS
    from musicapp.pipeline import analyze_samples
    from musicapp.track_analysis import TAG_FIELDS, json_default

    dst.mkdir(parents=True, exist_ok=True)
    files = sorted(src.glob("*.json"))
    by_track: dict[str, list[Path]] = {}
    for p in files:
        by_track.setdefault(json.loads(p.read_text())["track_path"], []).append(p)
    new, t0 = 0, time.time()
    for n, (track, paths) in enumerate(sorted(by_track.items())):
        if n % part[1] != part[0]:  # another process's share
            continue
        todo = [p for p in paths if not (dst / p.name).exists()]
        if not todo:
            continue
        audio = load_audio(track, sr=ANALYSIS.sample_rate, mono=True)
        y, sr = audio.samples, audio.sample_rate
        for p in todo:
            old = json.loads(p.read_text())
            off, dur = float(old["offset_s"]), float(old["duration_s"])
            excerpt = y[int(off * sr): int(off * sr) + int(round(dur * sr))]
            res = analyze_samples(excerpt, sr, music=False, device="cpu", threads=1).to_dict()
            out = {k: v for k, v in old.items() if k not in TAG_FIELDS and k != "model_version"
                   and k != "moods_status"}
            out.update({k: v for k, v in res.items() if k in TAG_FIELDS})
            out["segments"] = [{k: v for k, v in s.items() if k != "hash"}
                               for s in res.get("segments") or []]
            if res.get("status") != old.get("status"):
                out["status"] = res.get("status")
            tmp = (dst / p.name).with_suffix(".tmp")
            tmp.write_text(json.dumps(out, default=json_default))
            os.replace(tmp, dst / p.name)
            new += 1
        print(f"{n + 1}/{len(by_track)} {Path(track).name} ({time.time() - t0:.0f} s)",
              flush=True)
    return new


REFERENCE_CACHES = ("features_train", "features_val", "features_val_p50")


def reference_outputs(repo: Path, normalise: bool = True,
                      part: tuple[int, int] = (0, 1)) -> dict[str, np.ndarray]:
    """The shipped tagger's raw outputs (mood and genre probabilities, raw valence/arousal) on the
    reference collection's 3-s clips (the 1686 clips of the training and validation packages
    that the shipped percentile tables were fitted on: ``data/hashnet/features_*.json/npz``,
    tracks and clip starts), each track's input level-normalised as the engine does
    (``normalise=False``: as before, to check that this reproduces the shipped tables).
    ``part`` (k, n): only every n-th track from the k-th (to share the work between processes;
    the tables do not depend on the order of the clips)."""
    import torch

    from musicapp.audio import load_audio
    from musicapp.features import log_mel
    from musicapp.models.engine import clean_samples, normalise_level
    from musicapp.params import MEL
    from musicapp.pipeline import get_engine

    backend = get_engine("cpu", 1).backend
    outs: dict[str, list[np.ndarray]] = {"mood": [], "genre": [], "va": []}
    cache = repo / "data" / "hashnet"
    counter = 0
    for name in REFERENCE_CACHES:
        tracks = json.loads((cache / f"{name}.json").read_text())
        z = np.load(cache / f"{name}.npz")
        for ti, t in enumerate(tracks):
            starts = z["start_s"][z["track"] == ti]
            if not len(starts):
                continue
            counter += 1
            if (counter - 1) % part[1] != part[0]:
                continue
            y = clean_samples(load_audio(t["path"], sr=MEL.sample_rate, mono=True).samples)
            if normalise:
                y = normalise_level(y)[0]
            mel = log_mel(y)
            idx = np.rint(starts / MEL.frame_seconds).astype(int)
            x = np.stack([np.pad(mel[i:i + MEL.patch_frames],
                                 ((0, max(0, i + MEL.patch_frames - len(mel))), (0, 0)))
                          for i in idx])
            with torch.inference_mode():
                for b in range(0, len(x), 16):
                    o = backend.run(torch.from_numpy(x[b:b + 16]), False)
                    for k in outs:
                        outs[k].append(o[k])
        print(f"{name}: {sum(len(a) for a in outs['mood'])} clips", flush=True)
    return {k: np.concatenate(v).astype(np.float64) for k, v in outs.items()}


def recalibrate(repo: Path, write: bool) -> dict[str, Any]:
    """Refit the tagger's percentile tables (moods, genres, valence/arousal) on the reference
    clips with level-normalised input; check first that the old procedure reproduces the
    shipped tables. With ``write``, rewrite ``hashnet.safetensors`` (head weights unchanged,
    tables replaced; sidecar checksum updated)."""
    import torch

    from musicapp.models import hashnet
    from musicapp.models.calibration import fit_quantiles
    from musicapp.models.weights import load_metadata, load_state, save_state

    path = Path(hashnet.WEIGHTS_PATH)
    state = load_state(path)
    meta = load_metadata(path)
    res: dict[str, Any] = {}
    parts = sorted((repo / "data" / "va_fusion").glob("refout_*.npz"))
    for normalise in ((True,) if parts else (False, True)):
        if parts:  # computed by `refout K N` processes (normalised input)
            loaded = [np.load(p_) for p_ in parts]
            o = {k: np.concatenate([z[k] for z in loaded]) for k in ("mood", "genre", "va")}
        else:
            o = reference_outputs(repo, normalise)
        tables = {"mood_quantiles": fit_quantiles(o["mood"]),
                  "genre_quantiles": fit_quantiles(o["genre"]),
                  "va_quantiles": fit_quantiles(o["va"])}
        tag = "normalised" if normalise else "as before"
        res[tag] = {k: float(np.max(np.abs(v - state[f"calib.{k}"].numpy())))
                    for k, v in tables.items()}
        res[tag]["clips"] = int(len(o["mood"]))
        print(f"{tag}: max |table - shipped| {res[tag]}", flush=True)
    if write:
        new = dict(state)
        for k, v in tables.items():
            new[f"calib.{k}"] = torch.from_numpy(v).float()
        meta = dict(meta)
        meta["input_level"] = ("the loudest 3-s window of each track scaled to -14 dBFS before "
                               "the log-Mel (musicapp.models.engine.INPUT_REFERENCE_DBFS)")
        meta["model_version"] = "2"
        meta["recalibrated"] = time.strftime("%Y-%m-%d")
        res["sha256"] = save_state(path, new, meta)
    return res


def main(argv: list[str]) -> int:
    """``invariance [--out FILE [--force]]``, ``retag SRC DST`` or ``recalibrate [--write]``."""
    import torch

    torch.set_num_threads(1)
    np.seterr(all="ignore")
    repo = Path(__file__).resolve().parents[3]
    if argv[:1] == ["invariance"]:
        from musicapp_lab.cli._out import check_out, cli_errors, write_json

        out = Path(argv[argv.index("--out") + 1]) if "--out" in argv else None
        with cli_errors():
            check_out(out, force="--force" in argv)  # before the run
        res = invariance(repo)
        print(json.dumps(res["summary"], indent=1))
        if out is not None:
            write_json(out, res, force="--force" in argv, indent=1)
        return 0
    if argv[:1] == ["refout"] and len(argv) == 3:
        k, n = int(argv[1]), int(argv[2])
        o = reference_outputs(repo, True, (k, n))
        np.savez(repo / "data" / "va_fusion" / f"refout_{k}.npz", **o)
        return 0
    if argv[:1] == ["recalibrate"]:
        res = recalibrate(repo, "--write" in argv)
        (repo / "data" / "va_fusion" / "recalibrate.json").write_text(json.dumps(res, indent=1))
        return 0
    if argv[:1] == ["retag"] and len(argv) in (3, 5):
        part = (int(argv[3]), int(argv[4])) if len(argv) == 5 else (0, 1)
        print(f"{retag(Path(argv[1]), Path(argv[2]), part)} re-tagged", flush=True)
        return 0
    print("usage: python -m musicapp_lab.models.emotion_level invariance [--out F] | retag SRC DST")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
