"""Independent held-out evaluations of the shipped valence/arousal model (issue 16).

One machinery for every pre-registered held-out set; the set's rules are a :class:`Protocol`
(:data:`PROTOCOLS`), picked by ``--protocol`` or by the name of the ``--data`` folder:

* ``heldout2`` (protocol ``lab/musicapp_lab/models/heldout2.md``, scored once);
* ``heldout3`` (protocol ``lab/musicapp_lab/models/heldout3.md``): other packages (the twelve
  scored by heldout2 are refused too), and a file whose *name* contains ``music`` also counts as
  a music track.

Protocol of heldout2 (written down before any score was computed): ``heldout2.md``.
In short: Debian game-music packages that the project never trains or tunes on (not among the
eight allowed soundtracks of ``shared/ENVIRONMENT.md``), extracted under ``data/heldout2/``
(git-ignored; evaluation only, nothing from them is committed or shipped). A music track is an
audio file of at least :data:`MIN_BYTES` inside a folder named ``music``/``musics``/
``music.ocg``; it is labelled by the *unchanged* title-word mapping
(:func:`musicapp_lab.models.weak_labels.label_path` on
:func:`~musicapp_lab.models.weak_labels.music_relpath`), and the tracks with a label on at least
one axis are scored. Scoring is the code path of the card's figures
(:mod:`musicapp_lab.models.emotion_features` excerpts through the product pipeline,
:mod:`musicapp_lab.models.emotion_fusion` track values and
:func:`musicapp_lab.models.emotion.bootstrap_auc`): ROC-AUC by track with a 95 % interval from
2000 track resamples, seed 0, for the shipped model and the card's baselines in one run.

    nice -n 5 .venv/bin/python -m musicapp_lab.models.heldout2 --data data/heldout2
    nice -n 5 .venv/bin/python -m musicapp_lab.models.heldout2 --data data/heldout3

analyses the excerpts not cached yet (``DATA/analyses/``, resumable, prints no model output) and
then scores once; a second scoring refuses unless ``--another-look`` is given (the count of
looks is kept in ``DATA/looks.txt`` and written into the results).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musicapp_lab.models.dataset import AUDIO_SUFFIXES, MIN_BYTES, REPO, SPLITS
from musicapp_lab.models.weak_labels import WeakLabel, label_path, music_relpath

#: Folder names (lower case) that hold a package's music.
MUSIC_DIRS = frozenset({"music", "musics", "music.ocg"})
#: Split name written into the cached analyses of heldout2 (each protocol writes its name).
SPLIT = "heldout2"
#: Bootstrap resamples and seed (pre-registered).
N_BOOT = 2000
SEED = 0
#: Debian package names of the allowed training soundtracks (never evaluated here).
TRAINING_PACKAGES = frozenset({"warzone2100-music", "ufoai-music", "nexuiz-music",
                               "singularity-music", "hyperrogue-music", "planetblupi-music-ogg",
                               "freedroidrpg-data", "hedgewars-data"})
#: The twelve packages whose tracks heldout2 scored (heldout2.md); refused by later sets.
HELDOUT2_PACKAGES = frozenset({"0ad-data", "asc-music", "extremetuxracer-data", "flare-game",
                               "megaglest-data", "openclonk-data", "supertux-data",
                               "supertuxkart-data", "unknown-horizons", "wesnoth-1.16-music",
                               "widelands-data", "xmoto-data"})


@dataclass(frozen=True)
class Protocol:
    """The rules of one pre-registered held-out set."""

    name: str
    #: A file whose name (lower case, without folders) contains this word is a music track
    #: even outside a music folder (None: music folders only).
    name_word: str | None = None
    #: Packages refused besides the training packages (used by an earlier set).
    refused: frozenset[str] = field(default_factory=frozenset)
    #: Whether scoring adds the within-package ROC-AUC (pre-registered for heldout3 only).
    within_package: bool = False
    #: Secondary rows: one fusion descriptor alone (axis, descriptor of
    #: :data:`musicapp.models.va_fusion.FEATURES`), its track mean as the score.
    singles: tuple[tuple[str, str], ...] = ()


PROTOCOLS: dict[str, Protocol] = {
    "heldout2": Protocol("heldout2"),
    "heldout3": Protocol("heldout3", name_word="music", refused=HELDOUT2_PACKAGES,
                         within_package=True, singles=(("valence", "key_major"),)),
}


@dataclass(frozen=True)
class HeldTrack:
    """One music file of a held-out package and its weak labels."""

    path: Path
    package: str
    rel: str
    label: WeakLabel

    @property
    def key(self) -> str:
        """Short stable id (sha1 of the path inside the package's extraction folder)."""
        return hashlib.sha1(self.rel_in_package.encode()).hexdigest()[:12]

    @property
    def rel_in_package(self) -> str:
        """Path below ``extracted/<package>/``."""
        parts = self.path.parts
        i = parts.index(self.package)
        return "/".join(parts[i + 1:])

    @property
    def labelled(self) -> bool:
        """True when the title gives a label on at least one axis."""
        return self.label.arousal is not None or self.label.valence is not None


def is_music_file(path: Path, size: int, protocol: Protocol = PROTOCOLS["heldout2"]) -> bool:
    """An audio file of at least :data:`MIN_BYTES` inside a folder named like a music folder
    (or, when the protocol says so, whose file name contains its ``name_word``)."""
    if path.suffix.lower() not in AUDIO_SUFFIXES or size < MIN_BYTES:
        return False
    if any(p.lower() in MUSIC_DIRS for p in path.parts[:-1]):
        return True
    return protocol.name_word is not None and protocol.name_word in path.name.lower()


def discover(extracted: Path, protocol: Protocol = PROTOCOLS["heldout2"]) -> list[HeldTrack]:
    """Every music track under ``extracted/<package>/`` (sorted), with its weak labels.
    Training packages (:data:`TRAINING_PACKAGES` or a package of the card's split) and the
    protocol's ``refused`` packages are refused."""
    tracks = []
    for pkg_dir in sorted(p for p in extracted.iterdir() if p.is_dir()):
        pkg = pkg_dir.name
        if pkg in TRAINING_PACKAGES or pkg.split("-")[0] in SPLITS:
            raise ValueError(f"{pkg} is a training/validation/test package of the card")
        if pkg in protocol.refused:
            raise ValueError(f"{pkg} was used by an earlier held-out set; {protocol.name} "
                             "refuses it")
        for p in sorted(pkg_dir.rglob("*")):
            if p.is_file() and is_music_file(p.relative_to(pkg_dir), p.stat().st_size,
                                             protocol):
                rel = music_relpath(str(p))
                tracks.append(HeldTrack(p, pkg, rel, label_path(rel)))
    return tracks


def label_counts(tracks: list[HeldTrack]) -> dict[str, int]:
    """Labelled tracks per class: energetic/calm (arousal), bright/dark (valence)."""
    return {"energetic": sum(t.label.arousal == 1 for t in tracks),
            "calm": sum(t.label.arousal == -1 for t in tracks),
            "bright": sum(t.label.valence == 1 for t in tracks),
            "dark": sum(t.label.valence == -1 for t in tracks)}


def analyse(tracks: list[HeldTrack], out: Path, log: Callable[[str], None] = print,
            split: str = SPLIT) -> int:
    """Cache the product pipeline's analyses of each track's excerpts (the card's excerpts:
    :func:`musicapp_lab.models.emotion_features.windows`). Prints progress only, no model
    output. Returns the number of new files."""
    from musicapp_lab.models.emotion_features import analyse_windows

    out.mkdir(parents=True, exist_ok=True)
    new, t0 = 0, time.time()
    for n, t in enumerate(tracks):
        done = out / f"{t.package}_{t.key}.done"
        if done.exists():
            continue
        added, dur = analyse_windows(str(t.path), t.package, t.key, split, out)
        new += added
        done.write_text("")
        log(f"{n + 1}/{len(tracks)} {t.package} {t.rel} {dur:.0f}s ({time.time() - t0:.0f} s)")
    return new


def score(held_analyses: list[dict[str, Any]], ref_analyses: list[dict[str, Any]],
          select_lambda: dict[str, float] | None, within_package: bool = False,
          singles: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """Score the held-out tracks with the shipped model and the card's baselines (one run).

    Rows as in the card's final figures: the tagger alone, the prior weights (what is shipped;
    checked against :func:`musicapp.models.va_fusion.load_model`) and, when the selection file
    is at hand, the fitted model as selected. Standardisation, percentile tables and fits use
    the card's reference analyses only (training and validation packages). With
    ``within_package``, each row also gets the ROC-AUC over pairs of tracks of the same package
    (:func:`musicapp_lab.models.emotion_lopo.boot_within`) under ``res["within"]``. Each
    ``singles`` entry (axis, descriptor) adds that descriptor's track mean as a score on that
    axis only, under ``res["singles"]``."""
    from musicapp.models.va_fusion import load_model
    from musicapp_lab.models.emotion_fusion import (
        PRIOR,
        TAGGER_ONLY,
        TRAIN_SPLITS,
        aucs,
        fit_model,
        load_tracks,
        standardisation,
        track_outputs,
    )

    ref = load_tracks(ref_analyses)
    held = load_tracks(held_analyses)
    mean, scale = standardisation(ref)
    tv = np.array([t.split in TRAIN_SPLITS for t in ref])
    inf = {"valence": math.inf, "arousal": math.inf}
    rows: dict[str, tuple[dict[str, dict[str, float]], dict[str, float]]] = {
        "tagger only (baseline)": (TAGGER_ONLY, inf),
        "prior weights (shipped)": (PRIOR, inf)}
    if select_lambda is not None:
        rows["fitted as selected"] = (PRIOR, select_lambda)
    res: dict[str, Any] = {"rows": {}, "std": {}, "n_tracks": len(held),
                           "packages": sorted({t.package for t in held})}
    keep = np.ones(len(held), bool)
    for name, (spec, lams) in rows.items():
        s = track_outputs(fit_model(ref, mean, scale, spec, lams, tv), held)
        res["rows"][name] = aucs(s, held, keep, n_boot=N_BOOT)
        if within_package:
            from musicapp_lab.models.emotion_lopo import boot_within

            pk = np.array([t.package for t in held])
            res.setdefault("within", {})[name] = {
                axis: boot_within(s[:, ax], np.array([t.labels[ax] for t in held]), pk,
                                  n_boot=N_BOOT, seed=SEED)
                for ax, axis in enumerate(("valence", "arousal"))}
        res["std"][name] = {"valence": float(np.nanstd(s[:, 0])),
                            "arousal": float(np.nanstd(s[:, 1]))}
        if name == "prior weights (shipped)":
            shipped = track_outputs(load_model(), held)
            res["shipped_max_abs_diff"] = float(np.nanmax(np.abs(shipped - s)))
    if singles:
        from musicapp.models.va_fusion import FEATURES
        from musicapp_lab.models.emotion import bootstrap_auc

        for axis, feat in singles:
            ax = ("valence", "arousal").index(axis)
            col = np.array([t.rows()[0][FEATURES.index(feat)] for t in held])
            lab = np.array([t.labels[ax] for t in held])
            res.setdefault("singles", {})[f"{feat} alone / {axis}"] = bootstrap_auc(
                col, lab, n_boot=N_BOOT, seed=SEED)
    res["labelled"] = {axis: {"pos": int(sum(t.labels[ax] == 1 for t in held)),
                              "neg": int(sum(t.labels[ax] == -1 for t in held))}
                       for ax, axis in enumerate(("valence", "arousal"))}
    res["tracks"] = [{"package": t.package, "rel": t.rel, "valence_label": t.labels[0],
                      "arousal_label": t.labels[1]} for t in held]
    return res


def _fmt(r: dict[str, float]) -> str:
    return f"{r['auc']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]"


def table(res: dict[str, Any]) -> str:
    """Markdown table of the results."""
    lines = ["| model | arousal: energetic vs calm | valence: bright vs dark | std valence / "
             "arousal |", "|---|---|---|---|"]
    for name, r in res["rows"].items():
        sd = res["std"][name]
        lines.append(f"| {name} | {_fmt(r['arousal'])} | {_fmt(r['valence'])} | "
                     f"{sd['valence']:.2f} / {sd['arousal']:.2f} |")
    for name, r in (res.get("singles") or {}).items():
        cells = ["", _fmt(r)] if name.endswith("valence") else [_fmt(r), ""]
        lines.append(f"| {name} (secondary) | {cells[0]} | {cells[1]} | |")
    for name, w in (res.get("within") or {}).items():
        lines.append(f"| {name}, within-package pairs | {_fmt(w['arousal'])} | "
                     f"{_fmt(w['valence'])} | |")
    return "\n".join(lines)


def protocol_for(data: Path, name: str | None) -> Protocol:
    """The protocol named ``name``, else the one named like the data folder, else heldout2."""
    if name is not None:
        return PROTOCOLS[name]
    return PROTOCOLS.get(data.resolve().name, PROTOCOLS["heldout2"])


def main(argv: list[str] | None = None) -> int:
    """Analyse the held-out tracks (resumable) and score them once."""
    ap = argparse.ArgumentParser(prog="python -m musicapp_lab.models.heldout2")
    ap.add_argument("--data", type=Path, required=True, help="folder with extracted/<package>/")
    ap.add_argument("--analyse-only", action="store_true", help="cache analyses, score nothing")
    ap.add_argument("--list", action="store_true", help="list tracks and labels, score nothing")
    ap.add_argument("--another-look", action="store_true",
                    help="score although the set was scored before (counted)")
    ap.add_argument("--protocol", choices=sorted(PROTOCOLS),
                    help="the set's rules (default: the data folder's name, else heldout2)")
    args = ap.parse_args(argv)
    protocol = protocol_for(args.data, args.protocol)
    tracks = discover(args.data / "extracted", protocol)
    scored = [t for t in tracks if t.labelled]
    print(f"{protocol.name}: {len(tracks)} music tracks, {len(scored)} labelled and scored: "
          f"{label_counts(scored)}", flush=True)
    if args.list:
        for t in scored:
            print(f"{t.package}\t{t.rel}\tarousal {t.label.arousal}\tvalence {t.label.valence}")
        return 0
    looks = args.data / "looks.txt"
    n_looks = int(looks.read_text()) if looks.exists() else 0
    if n_looks and not args.analyse_only and not args.another_look:
        print(f"{protocol.name} ({args.data}) was scored {n_looks} time(s) already; "
              "--another-look to score again")
        return 2
    import torch

    torch.set_num_threads(1)
    np.seterr(all="ignore")
    from musicapp_lab.models.emotion_features import ANALYSES_NAME

    out = args.data / ANALYSES_NAME  # per tagger version (emotion_features.ANALYSES_NAME)
    print(f"{analyse(scored, out, split=protocol.name)} new analyses", flush=True)
    if args.analyse_only:
        return 0
    looks.write_text(str(n_looks + 1))
    from musicapp_lab.models.emotion_features import load_all

    keys = {(t.package, t.key) for t in scored}
    held = [a for a in load_all(out) if (a["package"], a["track_key"]) in keys]
    sel = REPO / "data" / "va_fusion" / "select.json"
    lam = ({k: float(v) for k, v in json.loads(sel.read_text())["lambda"].items()}
           if sel.exists() else None)
    res = score(held, load_all(), lam, within_package=protocol.within_package,
                singles=protocol.singles)
    res["protocol"] = protocol.name
    res["looks"] = n_looks + 1
    res["label_counts"] = label_counts(scored)
    (args.data / "results.json").write_text(json.dumps(res, indent=1, default=float))
    print(table(res))
    print(json.dumps({k: res[k] for k in ("n_tracks", "labelled", "looks",
                                          "shipped_max_abs_diff")}, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
