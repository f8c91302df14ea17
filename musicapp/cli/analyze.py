"""``musicapp analyze FILE|DIR...``: moods, valence/arousal, genre, hash, key, tempo, beats, chords."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from musicapp.cli._args import int_range

AUDIO_EXTENSIONS = {".wav", ".flac", ".aif", ".aiff", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".mp4"}


def register(subparsers) -> None:
    """Add the ``analyze`` command."""
    p = subparsers.add_parser(
        "analyze",
        help="analyse tracks: moods, valence/arousal, genre, hash code, key, tempo, beats, chords",
        description="Analyse audio files (folders are searched recursively). Prints a summary per "
        "file, or with --json one JSON object per line. Parts that are not installed or fail are "
        "reported and the rest still runs.",
    )
    p.add_argument("paths", nargs="+", metavar="FILE|DIR", help="audio files or folders")
    p.add_argument("--json", action="store_true", help="print one JSON object per file (JSON Lines)")
    p.add_argument(
        "--device", default="auto", help="model device: auto (CUDA, then MPS, then CPU), cuda, mps or cpu"
    )
    p.add_argument(
        "--threads", type=int_range(1, 256), default=None, help="CPU threads for the model (1..256)"
    )
    p.add_argument("--no-tags", action="store_true", help="skip moods/genre/hash (the neural tagger)")
    p.add_argument("--no-music", action="store_true", help="skip key/tempo/beats/chords")
    p.set_defaults(func=run)


def expand_paths(paths: list[str]) -> list[Path]:
    """Files as given, plus the audio files found recursively in folders (sorted)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(
                sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS)
            )
        else:
            out.append(p)
    return out


def _progress_bar(done: int, total: int, name: str) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name[:40]:40}")
    sys.stderr.flush()
    if done == total:
        sys.stderr.write("\n")


def summarise(result: dict) -> str:
    """A human-readable summary of one ``analyze`` result."""
    lines = [f"{result['path']}  ({result.get('duration_s', 0):.1f} s)"]
    if result.get("status", "ok") != "ok":
        level = result.get("level_dbfs")
        loudest = f"; loudest 3 s at {level:.0f} dBFS" if level is not None else ""
        lines.append(f"  {result['status']}: no moods, key, tempo or chords{loudest}")
    if "key" in result:
        k = result["key"]
        lines.append(f"  key: {k['tonic']} {k['mode']} (confidence {k['confidence']:.2f})")
    if "tempo_bpm" in result:
        lines.append(f"  tempo: {result['tempo_bpm']:.1f} BPM, meter {result.get('meter', '?')}")
    if result.get("moods"):
        top = ", ".join(f"{m['tag']} {m['percentile']:.0f}%" for m in result["moods"][:5])
        lines.append(f"  moods (percentile): {top}")
    if "valence" in result:
        lines.append(f"  valence {result['valence']:+.2f}, arousal {result['arousal']:+.2f}")
    if result.get("genres"):
        lines.append("  genres: " + ", ".join(g["tag"] for g in result["genres"][:3]))
    if result.get("hash"):
        lines.append(f"  hash: {result['hash']}")
    if result.get("chords"):
        seq = [c["label"] for c in result["chords"] if c["label"] != "N"]
        dedup = [c for i, c in enumerate(seq) if i == 0 or c != seq[i - 1]]
        lines.append("  chords: " + " ".join(dedup[:16]) + (" ..." if len(dedup) > 16 else ""))
    for part, message in result.get("errors", {}).items():
        lines.append(f"  {part}: FAILED: {message}")
    for warning in result.get("warnings", []):
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Analyse each file; exit 2 if any file could not be read."""
    from musicapp.errors import AudioDecodeError, ModelError
    from musicapp.pipeline import analyze_path

    files = expand_paths(args.paths)
    if not files:
        print("musicapp: error: no audio files found", file=sys.stderr)
        return 2
    show_bar = len(files) > 1  # a bar on stderr; stdout stays clean for --json
    status = 0
    for i, path in enumerate(files):
        try:
            result = analyze_path(
                path, tags=not args.no_tags, music=not args.no_music, device=args.device, threads=args.threads
            ).to_dict()
        except AudioDecodeError as exc:
            print(f"musicapp: error: {exc}", file=sys.stderr)
            status = 2
            continue
        errors = result.get("errors", {})
        if args.device != "auto" and "tags" in errors and "device" in errors["tags"].lower():
            raise ModelError(errors["tags"])
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print(summarise(result), flush=True)
        if show_bar:
            _progress_bar(i + 1, len(files), path.name)
    return status
