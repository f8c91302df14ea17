"""Score analyses against ground truth with mir_eval (key, tempo, beats, downbeats, chords)."""

from __future__ import annotations

import numpy as np

from musicapp.analysis.labels import key_label

TEMPO_TOL = 0.04  # Acc1/Acc2 tolerance (Gouyon et al. 2006)


def key_score(truth: dict, tonic: int, mode: str) -> float:
    """MIREX weighted key score (1 same, 0.5 fifth, 0.3 relative, 0.2 parallel)."""
    import mir_eval

    ref = key_label(int(truth["key"][0]), truth["key"][1])
    return float(mir_eval.key.weighted_score(ref, key_label(tonic, mode)))


def tempo_scores(truth_bpm: float, est_bpm: float, alt_bpm: float) -> dict[str, float]:
    """Acc1, Acc2 and the mir_eval P-score (reference tempi T and 2T, weight 1 on T; estimates
    are the tempo and its alternative metrical level)."""
    import mir_eval

    def close(a: float, b: float) -> bool:
        return b > 0 and abs(a - b) <= TEMPO_TOL * b

    acc1 = float(close(est_bpm, truth_bpm))
    acc2 = float(any(close(est_bpm * f, truth_bpm) for f in (1, 2, 3, 0.5, 1 / 3)))
    p = 0.0
    if est_bpm > 0:
        ests = np.array(sorted([max(est_bpm, 1e-3), max(alt_bpm, 1e-3)]))
        p, _, _ = mir_eval.tempo.detection(np.array([truth_bpm, 2 * truth_bpm]), 1.0, ests)
    return {"acc1": acc1, "acc2": acc2, "p_score": float(p)}


def beat_f(ref: list[float], est: list[float]) -> float:
    """Beat F-measure (70 ms window; beats before 5 s trimmed, the mir_eval convention)."""
    import mir_eval

    r = mir_eval.beat.trim_beats(np.asarray(ref, dtype=float))
    e = mir_eval.beat.trim_beats(np.asarray(est, dtype=float))
    if r.size == 0:
        return float("nan")
    return float(mir_eval.beat.f_measure(r, e))


def chord_overlap(ref: list, est: list, duration: float) -> dict[str, tuple[float, float]]:
    """(correct seconds, scored seconds) for root, majmin, sevenths and bass (majmin_inv), so
    sets can be pooled."""
    import mir_eval

    ref_int = np.array([[a, b] for a, b, _ in ref], dtype=float)
    ref_lab = [lab for _, _, lab in ref]
    est_int = np.array([[a, b] for a, b, _ in est], dtype=float) if est else np.array(
        [[0.0, duration]])
    est_lab = [lab for _, _, lab in est] if est else ["N"]
    ref_int, ref_lab = mir_eval.util.adjust_intervals(
        ref_int, ref_lab, 0.0, max(duration, float(ref_int.max())), "N", "N")
    est_int, est_lab = mir_eval.util.adjust_intervals(
        est_int, est_lab, ref_int.min(), ref_int.max(), "N", "N")
    intervals, r_lab, e_lab = mir_eval.util.merge_labeled_intervals(
        ref_int, ref_lab, est_int, est_lab)
    durations = mir_eval.util.intervals_to_durations(intervals)
    out = {}
    for name, fn in (("root", mir_eval.chord.root), ("majmin", mir_eval.chord.majmin),
                     ("sevenths", mir_eval.chord.sevenths),
                     ("bass", mir_eval.chord.majmin_inv)):
        comp = np.asarray(fn(r_lab, e_lab), dtype=float)
        valid = comp >= 0
        out[name] = (float(np.sum(durations[valid] * comp[valid])),
                     float(np.sum(durations[valid])))
    return out


def key_timeline_score(truth: dict, timeline: list[dict], step: float = 0.5) -> float:
    """Time-averaged MIREX key score of a local-key timeline against the annotated key segments
    (sampled every ``step`` seconds over the annotated span)."""
    import mir_eval

    from musicapp.pitch import note_pc

    segs = truth["key_segments"]
    if not segs or not timeline:
        return float("nan")
    times = np.arange(segs[0][0], segs[-1][1], step)
    scores = []
    for t in times:
        ref = next((s for s in segs if s[0] <= t < s[1]), segs[-1])
        est = next((s for s in timeline if s["start"] <= t < s["end"]), timeline[-1])
        ref_key = key_label(int(ref[2]), ref[3])
        est_key = key_label(note_pc(est["tonic"]), est["mode"])
        scores.append(mir_eval.key.weighted_score(ref_key, est_key))
    return float(np.mean(scores)) if scores else float("nan")
