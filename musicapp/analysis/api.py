"""``analyze_music``: key, key timeline, tempo, beats, downbeats, meter and chords of a track."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from musicapp.analysis import chords as chords_mod
from musicapp.analysis import features as F
from musicapp.analysis import key as key_mod
from musicapp.analysis import meter as meter_mod
from musicapp.analysis import tempo as tempo_mod
from musicapp.analysis.labels import PITCH_NAMES

ProgressFn = Callable[[float, str], None]

SILENCE_DB = -45.0  # segments this far below the loudest frame are "no chord"
FALLBACK_SEGMENT_S = 0.5  # chord grid when no beat grid can be found


@dataclass
class MusicAnalysis:
    """Result of :func:`analyze_music`; ``to_dict()`` gives the ``analyze --json`` fields."""

    key: key_mod.KeyEstimate
    key_timeline: list[key_mod.KeySegment]
    tempo_bpm: float
    tempo_confidence: float
    meter: str
    beats: list[float]
    downbeats: list[float]
    chords: list[tuple[float, float, str]]
    duration: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict with exactly the public keys."""

        def key_dict(k: key_mod.KeyEstimate) -> dict:
            return {"tonic": PITCH_NAMES[k.tonic], "mode": k.mode,
                    "confidence": round(float(k.confidence), 3)}

        return {
            "key": key_dict(self.key),
            "key_timeline": [
                {"start": round(s.start, 3), "end": round(s.end, 3), **key_dict(s.key)}
                for s in self.key_timeline
            ],
            "tempo_bpm": round(float(self.tempo_bpm), 2),
            "tempo_confidence": round(float(self.tempo_confidence), 3),
            "meter": self.meter,
            "beats": [round(float(b), 3) for b in self.beats],
            "downbeats": [round(float(b), 3) for b in self.downbeats],
            "chords": [{"start": round(a, 3), "end": round(b, 3), "label": lab}
                       for a, b, lab in self.chords],
        }


def _report(progress: ProgressFn | None, fraction: float, stage: str) -> None:
    if progress is not None:
        progress(fraction, stage)


def _silent_result(duration: float) -> MusicAnalysis:
    k = key_mod.KeyEstimate(0, "major", 0.0)
    timeline = [key_mod.KeySegment(0.0, duration, k)] if duration > 0 else []
    chords = [(0.0, duration, "N")] if duration > 0 else []
    return MusicAnalysis(k, timeline, 0.0, 0.0, "4/4", [], [], chords, duration)


def _peak_near(x: np.ndarray, frames: np.ndarray, radius: int = 2) -> np.ndarray:
    out = np.zeros(frames.size)
    for i, f in enumerate(frames):
        lo, hi = max(0, f - radius), min(x.size, f + radius + 1)
        out[i] = x[lo:hi].max() if hi > lo else 0.0
    return out


def analyze_music(samples: np.ndarray, sample_rate: int,
                  progress: ProgressFn | None = None,
                  chord_params: chords_mod.ChordParams | None = None) -> MusicAnalysis:
    """Analyse mono or multichannel audio at any sample rate.

    Never raises on odd audio (silence, noise, a single note, very short clips): such input gives
    low confidences. ``progress(fraction, stage)`` is called as the stages finish.
    """
    y = F.to_analysis_rate(samples, sample_rate)
    duration = y.size / F.SAMPLE_RATE
    if y.size == 0 or not np.any(np.abs(y) > 1e-6):
        _report(progress, 1.0, "silent")
        return _silent_result(duration)
    _report(progress, 0.05, "features")
    fr = F.compute_frames(y)
    n = fr.n_frames
    _report(progress, 0.5, "tempo")

    est = tempo_mod.estimate_tempo(fr.onset, fr.low_onset)
    beat_frames = np.zeros(0, dtype=int)
    if est.confidence > 0:
        beat_frames = tempo_mod.fix_offbeat(tempo_mod.track_beats(fr.onset, est.bpm),
                                            fr.low_onset)
    beats_s = beat_frames / F.FPS
    tempo_bpm, tempo_conf = est.bpm, est.confidence
    if beat_frames.size >= 4:
        ibi = np.diff(beats_s)
        tempo_bpm = float(60.0 / np.median(ibi))
        # irregular beat intervals (rubato) lower the confidence
        cv = float(np.std(ibi) / max(1e-9, np.mean(ibi)))
        tempo_conf *= float(np.clip(1.0 - 4.0 * cv, 0.0, 1.0))
    else:
        tempo_conf = 0.0

    # Segments for chords/key: beat intervals, or a fixed grid when there is no beat grid.
    if beat_frames.size >= 4:
        bounds = np.unique(np.concatenate([[0], beat_frames, [n]]))
    else:
        step = max(1, int(round(FALLBACK_SEGMENT_S * F.FPS)))
        bounds = np.unique(np.concatenate([np.arange(0, n, step), [n]]))
    _report(progress, 0.6, "chroma")
    seg_spec = F.segment_mean(fr.semitones, bounds)
    treble, bass = F.bass_treble_chroma(seg_spec)
    seg_rms = F.segment_mean(fr.rms[None, :], bounds)[0]
    ref = max(float(fr.rms.max()), 1e-12)
    silent = 20 * np.log10(np.maximum(seg_rms, 1e-12) / ref) < SILENCE_DB
    bounds_s = bounds / F.FPS
    bounds_s[-1] = duration

    _report(progress, 0.75, "chords")
    labels = chords_mod.decode_chords(treble, bass, silent, chord_params)
    chord_list: list[tuple[float, float, str]] = []
    for i, lab in enumerate(labels):
        a, b = float(bounds_s[i]), float(bounds_s[i + 1])
        if chord_list and chord_list[-1][2] == lab:
            chord_list[-1] = (chord_list[-1][0], b, lab)
        else:
            chord_list.append((a, b, lab))

    _report(progress, 0.85, "key")
    weights = np.diff(bounds_s)
    key_chroma = treble * weights[None, :]
    key_chroma[:, silent] = 0.0
    gkey = key_mod.global_key(key_chroma.sum(axis=1))
    timeline = key_mod.local_keys(key_chroma, bounds_s)
    if not timeline:
        timeline = [key_mod.KeySegment(0.0, duration, gkey)]

    meter = "4/4"
    downbeats: list[float] = []
    meter_conf = 0.0
    if beat_frames.size >= 6:
        # beat segments: bounds index of each beat
        seg_index = np.searchsorted(bounds, beat_frames)
        seg_index = np.clip(seg_index, 0, treble.shape[1] - 1)
        strength = meter_mod.downbeat_strength(
            treble[:, seg_index], bass[:, seg_index],
            _peak_near(fr.low_onset, beat_frames), _peak_near(fr.onset, beat_frames))
        m = meter_mod.estimate_meter(strength)
        meter = f"{m.beats_per_bar}/4"
        meter_conf = m.confidence
        downbeats = [float(b) for b in beats_s[m.phase::m.beats_per_bar]]
    _report(progress, 1.0, "done")
    return MusicAnalysis(
        key=gkey,
        key_timeline=timeline,
        tempo_bpm=float(tempo_bpm),
        tempo_confidence=float(np.clip(tempo_conf, 0.0, 1.0)),
        meter=meter,
        beats=[float(b) for b in beats_s],
        downbeats=downbeats,
        chords=chord_list,
        duration=duration,
        extra={"meter_confidence": meter_conf, "tempo_alternative": est.alternative_bpm,
               "tuning": fr.tuning},
    )
