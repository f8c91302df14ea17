"""Collect, per piece, the product's tempo decision and the tagger's tempo-feel evidence.

For every piece of the given sets (evaluation cache format, see :mod:`.tactus_study`) the whole
pipeline runs (:func:`musicapp.pipeline.analyze_samples`, one core): the row keeps the tempo,
its candidates, the annotated tempo and the tagger's "fast"/"slow" moods (raw score and
percentile), arousal and energy. One JSON line per piece is appended to ``--out`` (pieces
already there are skipped, so a run can be resumed). The evaluation splits are refused.

Run (also ``--file PATH`` for unannotated tracks): ``OMP_NUM_THREADS=1 nice -n 5 python -m
musicapp_lab.analysis.beat_model.feel_collect --set data/tactus:train-gen --set
data/tactus:train-real --out data/tactus/feel/train.jsonl``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def feel_row(result: Any) -> dict[str, Any]:
    """The tempo and the tempo-feel fields of a :class:`~musicapp.track_analysis.TrackAnalysis`."""
    music = result.music or {}
    tags = result.tags or {}
    moods = {m["tag"]: m for m in tags.get("moods") or [] if isinstance(m, dict)}
    row: dict[str, Any] = {
        "tempo_bpm": music.get("tempo_bpm"),
        "tempo_candidates": music.get("tempo_candidates"),
        # set when the pipeline's tempo-feel step moved the tempo (analysed_bpm: before it)
        "tempo_choice": music.get("tempo_choice"),
        "arousal": tags.get("arousal"), "energy": tags.get("energy"),
    }
    for tag, other in (("fast", "slow"), ("slow", "fast")):
        m = moods.get(tag) or {}
        loser = moods.get(other) or {}
        score = m.get("score")
        if score is None and loser.get("over") == tag:  # the pair's loser: raw score only
            score = loser.get("over_score")
        row[f"{tag}_score"] = score
        row[f"{tag}_pct"] = m.get("percentile")
    row["moods"] = tags.get("moods")
    return row


def main(argv: list[str] | None = None) -> None:
    """Command line: append one row per piece of every ``--set DIR:SPLIT`` to ``--out``."""
    import torch

    from musicapp.pipeline import analyze_path, analyze_samples
    from musicapp_lab.analysis.beat_model.tactus_study import development_items

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", action="append", default=[], help="CACHE_DIR:SPLIT")
    ap.add_argument("--file", action="append", default=[], type=Path,
                    help="an unannotated track (truth_bpm null)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    done = set()
    if args.out.exists():
        done = {json.loads(line)["name"] for line in args.out.read_text().splitlines() if line}
    with args.out.open("a") as fh:
        for split, it in development_items(args.set, "tempo"):
            if it.name in done:
                continue
            y, sr = it.load()
            res = analyze_samples(y, sr, cores=1, threads=1)
            row = feel_row(res)
            row.update(name=it.name, set=split, truth_bpm=float(it.truth["tempo"]),
                       song=it.name.split("-")[-1] if it.truth.get("source") == "pop909"
                       else it.name)
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            print(f"{split:10s} {it.name:18s} true {row['truth_bpm']:6.1f} "
                  f"est {row['tempo_bpm']} fast {row['fast_pct']} slow {row['slow_pct']}",
                  flush=True)
        for path in args.file:
            if str(path) in done:
                continue
            res = analyze_path(path, cores=1, threads=1)
            row = feel_row(res)
            row.update(name=str(path), set="file", truth_bpm=None, song=str(path))
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            print(f"{path.name:24s} est {row['tempo_bpm']} fast {row['fast_pct']} "
                  f"slow {row['slow_pct']}", flush=True)


if __name__ == "__main__":
    main()
