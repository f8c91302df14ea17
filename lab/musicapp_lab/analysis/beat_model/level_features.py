"""Features of a tracked beat grid's metrical level (lab study, not shipped).

The beat tracker follows the strongest periodicity, which in ballads with sixteenth-note
accompaniment is often twice the tempo a musician counts (and in slow material sometimes half).
:func:`level_features` describes a tracked grid with cues the analysis already has: its tempo,
how many beats a chord lasts, how strongly every other beat is accented and on which phase the
chords change, the onset periodicity at half and double the tracked tempo and the raw onset
autocorrelation at 1-4 beats (a backbeat repeats every 2 counted beats). Choosers fitted on
these (:mod:`.tactus_fit`) did not beat the product's chord-length rule on the development
data (a boosted-tree chooser, run through the whole analysis on the dev splits, lost 3 of 30
realistic pieces' tempo), so nothing of it ships.
"""

from __future__ import annotations

import numpy as np

from musicapp.analysis import tempo as tempo_mod

#: names of :func:`level_features`' values, in order
FEATURES = ("log_bpm", "log_beats_per_chord", "accent_alternation", "change_parity",
            "acf_half", "acf_double", "low_acf_half", "low_acf_double", "confidence",
            "onset_between", "low_between", "low_r1", "low_r2", "low_r3", "low_r4", "onset_r1",
            "onset_r2", "onset_r3", "onset_r4")
#: metrical levels a chooser picks among (factor applied to the tracked tempo)
LEVELS = (0.5, 1.0, 2.0)


def _peaks(x: np.ndarray, frames: np.ndarray) -> np.ndarray:
    frames = np.clip(np.asarray(frames, dtype=int), 0, max(0, x.size - 1))
    return tempo_mod._peaks_near(x, frames) if x.size else np.zeros(frames.size)


def _ratio(a: float, b: float) -> float:
    return float(np.log((a + 1e-3) / (b + 1e-3)))


def level_features(onset: np.ndarray, low_onset: np.ndarray, bpm: float, confidence: float,
                   beat_frames: np.ndarray, labels: list[str],
                   beats_per_chord: float) -> np.ndarray:
    """Features of a tracked beat grid (``beat_frames`` at ``bpm``; ``labels``: one chord label
    per segment, segment i + 1 starting at beat i) in the order of :data:`FEATURES`."""
    o = tempo_mod.normalize_onset(onset)
    low = tempo_mod.normalize_onset(low_onset)
    bf = np.asarray(beat_frames, dtype=int)
    out = np.zeros(len(FEATURES))
    out[0] = np.log2(max(bpm, 1.0) / 100.0)
    out[1] = np.log2(max(beats_per_chord, 1.0))
    if bf.size >= 4:
        acc = _peaks(o + low, bf)
        even, odd = acc[0::2].mean(), acc[1::2].mean()
        out[2] = _ratio(max(even, odd), min(even, odd))
        changes = np.array([i for i in range(1, len(labels)) if labels[i] != labels[i - 1]]) - 1
        changes = changes[(changes >= 0) & (changes < bf.size)]
        if changes.size:
            out[3] = abs(float(np.mean(changes % 2)) - 0.5) * 2.0
        mids = (bf[:-1] + bf[1:]) // 2
        out[9] = _ratio(float(_peaks(o, mids).mean()), float(_peaks(o, bf).mean()))
        out[10] = _ratio(float(_peaks(low, mids).mean()), float(_peaks(low, bf).mean()))
    half, here, double = tempo_mod.level_scores(onset, [bpm / 2, bpm, bpm * 2])
    out[4], out[5] = _ratio(half, here), _ratio(double, here)
    lhalf, lhere, ldouble = tempo_mod.level_scores(low_onset, [bpm / 2, bpm, bpm * 2])
    out[6], out[7] = _ratio(lhalf, lhere), _ratio(ldouble, lhere)
    out[8] = float(confidence)
    # raw autocorrelation at 1-4 beats: a backbeat (kick and snare alternating) repeats every
    # 2 counted beats, i.e. every 4 beats of a grid tracked at twice the tempo
    period = tempo_mod.FPS * 60.0 / max(bpm, 1.0)
    for band, start in ((low, 11), (o, 15)):
        r = tempo_mod.onset_autocorrelation(band, int(np.ceil(4.5 * period)))
        out[start:start + 4] = np.interp(period * np.arange(1, 5), np.arange(r.size), r)
    return out
