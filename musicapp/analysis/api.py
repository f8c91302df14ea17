"""``analyze_music``: key, key timeline, tempo, beats, downbeats, meter and chords of a track."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from musicapp import pitch
from musicapp.analysis import beat_model as beat_mod
from musicapp.analysis import chords as chords_mod
from musicapp.analysis import features as F
from musicapp.analysis import key as key_mod
from musicapp.analysis import meter as meter_mod
from musicapp.analysis import tempo as tempo_mod
from musicapp.analysis.grid import TempoReport, describe_tempo
from musicapp.analysis.key_report import (
    KeyReport,
    analyse_key,
    key_at,
    key_timeline,
    no_key_reason,
    timeline_entries,
)

ProgressFn = Callable[[float, str], None]

SILENCE_DB = -45.0  # segments this far below the loudest frame are "no chord"
FALLBACK_SEGMENT_S = 0.5  # chord grid when no beat grid can be found


@dataclass
class MusicAnalysis:
    """Result of :func:`analyze_music`; ``to_dict()`` gives the ``analyze --json`` fields.

    ``key_report.pc``/``tempo.bpm`` are None (with a reason) when no key or steady beat exists.
    """

    key_report: KeyReport
    key_timeline: list[key_mod.KeySegment]
    tempo: TempoReport
    meter: str | None
    beats: list[float]
    downbeats: list[float]
    chords: list[tuple[float, float, str]]
    duration: float = 0.0
    meter_confidence: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def tempo_bpm(self) -> float | None:
        """The tactus tempo, or None."""
        return self.tempo.bpm

    @property
    def key(self) -> pitch.KeyName | None:
        """The global key, or None."""
        return self.key_report.key

    def to_dict(self) -> dict:
        """JSON-ready dict with exactly the public keys (see the package README)."""
        k = self.key
        out = self.key_report.to_dict()
        out["key_timeline"] = timeline_entries(self.key_timeline, self.key_report)
        out.update(self.tempo.to_dict())
        out["meter"] = self.meter
        out["meter_confidence"] = round(float(self.meter_confidence), 3)
        out["beats"] = [round(float(b), 3) for b in self.beats]
        out["downbeats"] = [round(float(b), 3) for b in self.downbeats]
        # each chord spelled in the key of its timeline section (the global key but for a
        # modulation)
        out["chords"] = [{"start": round(a, 3), "end": round(b, 3),
                          "label": pitch.spell_chord(lab, key_at(self.key_timeline, a, k)),
                          "symbol": pitch.chord_symbol(lab, key_at(self.key_timeline, a, k))}
                         for a, b, lab in self.chords]
        return out


def _report(progress: ProgressFn | None, fraction: float, stage: str) -> None:
    if progress is not None:
        progress(fraction, stage)


def _silent_result(duration: float, reason: str = "silence") -> MusicAnalysis:
    chords = [(0.0, duration, "N")] if duration > 0 else []
    return MusicAnalysis(KeyReport(None, None, 0.0, reason=reason), [],
                         TempoReport(None, 0.0, reason, [], [], []), None, [], [], chords,
                         duration)


PARTIAL_STRENGTH = 0.0
TACTUS_HALVE_MIN_BPM = 115.0  # chosen on the development split
TACTUS_HALVE_BEATS_PER_CHORD = 5.0
TACTUS_DOUBLE_MAX_BPM = 48.0


@dataclass
class _Segments:
    bounds: np.ndarray  # frame bounds (m + 1)
    bounds_s: np.ndarray
    treble: np.ndarray  # (12, m)
    bass: np.ndarray
    silent: np.ndarray  # (m,) bool
    labels: list[str]
    notes: np.ndarray  # (84, m) beat-synchronous semitone spectrum (the learned emission's input)


def _segments(fr: F.Frames, beat_frames: np.ndarray, duration: float,
              chord_params: chords_mod.ChordParams | None) -> _Segments:
    """Beat-synchronous chroma and chord labels (a fixed grid when there is no beat grid)."""
    n = fr.n_frames
    if beat_frames.size >= 4:
        bounds = np.unique(np.concatenate([[0], beat_frames, [n]]))
    else:
        step = max(1, int(round(FALLBACK_SEGMENT_S * F.FPS)))
        bounds = np.unique(np.concatenate([np.arange(0, n, step), [n]]))
    seg_spec = F.segment_mean(fr.semitones, bounds)
    treble, bass = F.bass_treble_chroma(F.suppress_partials(seg_spec, PARTIAL_STRENGTH))
    seg_rms = F.segment_mean(fr.rms[None, :], bounds)[0]
    ref = max(float(fr.rms.max()), 1e-12)
    silent = 20 * np.log10(np.maximum(seg_rms, 1e-12) / ref) < SILENCE_DB
    bounds_s = bounds / F.FPS
    bounds_s[-1] = duration
    labels = chords_mod.decode_chords(treble, bass, silent, chord_params, notes=seg_spec)
    return _Segments(bounds, bounds_s, treble, bass, silent, labels, seg_spec)


def _key_chroma(seg: _Segments) -> np.ndarray:
    """Treble chroma of each segment weighted by its length, silent segments zeroed (12, m)."""
    out = seg.treble * np.diff(seg.bounds_s)[None, :]
    out[:, seg.silent] = 0.0
    return out


def beats_per_chord(labels: list[str]) -> float:
    """Duration-weighted median length (in segments) of the runs of equal chord labels."""
    runs: list[int] = []
    for i, lab in enumerate(labels):
        if i and lab == labels[i - 1]:
            runs[-1] += 1
        else:
            runs.append(1)
    runs = [r for r, lab in zip(runs, _run_labels(labels), strict=True) if lab != "N"]
    if not runs:
        return 0.0
    return float(np.median(np.repeat(runs, runs)))


def _run_labels(labels: list[str]) -> list[str]:
    return [lab for i, lab in enumerate(labels) if i == 0 or lab != labels[i - 1]]


def _halve(beat_frames: np.ndarray, labels: list[str], accent: np.ndarray) -> np.ndarray:
    """Every other beat, on the phase with the stronger accents (bass/kick onsets) plus more
    chord changes (labels: one per segment, segment i + 1 starts at beat i)."""
    changes = np.array([i for i in range(1, len(labels)) if labels[i] != labels[i - 1]]) - 1
    changes = changes[(changes >= 0) & (changes < beat_frames.size)]
    score = np.zeros(2)
    if changes.size:
        score += np.bincount(changes % 2, minlength=2) / changes.size
    acc = tempo_mod.normalize_onset(accent)
    strength = _peak_near(acc, beat_frames)
    total = strength[0::2].mean() + strength[1::2].mean()
    if total > 0:
        score += np.array([strength[0::2].mean(), strength[1::2].mean()]) / total
    return beat_frames[int(np.argmax(score))::2]


def _peak_near(x: np.ndarray, frames: np.ndarray, radius: int = 2) -> np.ndarray:
    out = np.zeros(frames.size)
    for i, f in enumerate(frames):
        lo, hi = max(0, f - radius), min(x.size, f + radius + 1)
        out[i] = x[lo:hi].max() if hi > lo else 0.0
    return out


def _halve_grid(fr: F.Frames, beat_frames: np.ndarray, labels: list[str]) -> np.ndarray:
    """Every other beat on the accented phase, moved by half a beat when the bass/kick sits
    clearly between the beats (the same off-beat check as for the tracked grid)."""
    return tempo_mod.fix_offbeat(_halve(beat_frames, labels, fr.low_onset + 0.5 * fr.onset),
                                 fr.low_onset)


def _double_grid(beat_frames: np.ndarray) -> np.ndarray:
    mids = (beat_frames[:-1] + beat_frames[1:]) // 2
    return np.sort(np.concatenate([beat_frames, mids])).astype(int)


def _rule_level(fr: F.Frames, est: tempo_mod.TempoEstimate, beat_frames: np.ndarray,
                seg: _Segments, harmonic: bool, duration: float,
                tactus_params: chords_mod.ChordParams,
                ) -> tuple[np.ndarray, tempo_mod.TempoEstimate, _Segments]:
    """The chord-length rule: at a fast tracked tempo, chords that last 5 or more beats mean the
    tracked beats are subdivisions (eighth notes of a ballad): keep every other one (the
    accented phase). Below 48 BPM (a beat longer than 1.25 s, slower than listeners count) the
    tracked beats are half notes: add the midpoints. Chord lengths say nothing about the tactus
    of noise, clicks or a single tone."""
    for _ in range(2):
        bpc = beats_per_chord(seg.labels[1:-1])
        if (harmonic and beat_frames.size >= 16 and est.bpm >= TACTUS_HALVE_MIN_BPM
                and bpc >= TACTUS_HALVE_BEATS_PER_CHORD):
            # the same off-beat check as for the tracked grid (bass/kick clearly between beats)
            beat_frames = _halve_grid(fr, beat_frames, seg.labels)
            est = tempo_mod.TempoEstimate(est.bpm / 2, est.confidence, est.bpm)
        elif beat_frames.size >= 8 and est.bpm < TACTUS_DOUBLE_MAX_BPM:
            beat_frames = _double_grid(beat_frames)
            est = tempo_mod.TempoEstimate(est.bpm * 2, est.confidence, est.bpm)
        else:
            break
        seg = _segments(fr, beat_frames, duration, tactus_params)
    return beat_frames, est, seg


def _steady(fr: F.Frames, act: beat_mod.BeatActivations | None,
            beat_frames: np.ndarray) -> np.ndarray:
    """The tracked beats of a steady song re-tracked at its one fitted tempo
    (:func:`musicapp.analysis.tempo.steady_beats`; the onset cue's grid gets the same off-beat
    check as in :func:`musicapp.analysis.beat_model.track`)."""
    if act is None:
        steady = tempo_mod.steady_beats(fr.onset, beat_frames)
        return beat_frames if steady is beat_frames else tempo_mod.fix_offbeat(steady,
                                                                             fr.low_onset)
    return tempo_mod.steady_beats(act.beat[:fr.n_frames].astype(np.float64), beat_frames)


def analyze_music(samples: np.ndarray, sample_rate: int,
                  progress: ProgressFn | None = None,
                  chord_params: chords_mod.ChordParams | None = None,
                  beat_cue: str | None = None) -> MusicAnalysis:
    """Analyse mono or multichannel audio at any sample rate.

    Never raises on odd audio (silence, noise, a single note, very short clips): such input gives
    low confidences. ``progress(fraction, stage)`` is called as the stages finish.
    ``beat_cue`` ("onset" or "learned", None: the default) picks what drives the beat tracker
    (:mod:`musicapp.analysis.beat_model`).
    """
    y = F.to_analysis_rate(samples, sample_rate, copy=False)  # only read below (tested)
    duration = y.size / F.SAMPLE_RATE
    if y.size == 0 or not F.has_signal(y):  # (in pieces: no whole-track temporaries)
        _report(progress, 1.0, "silent")
        return _silent_result(duration)
    if duration < 1.0:
        _report(progress, 1.0, "too short")
        return _silent_result(duration, "clip too short")
    _report(progress, 0.05, "features")
    fr = F.compute_frames(y)
    _report(progress, 0.5, "tempo")

    act = beat_mod.learned_activations(y, beat_cue)  # None: the onset envelope drives it
    est, beat_frames = beat_mod.track(fr, act)
    beat_frames = _steady(fr, act, beat_frames)
    _report(progress, 0.6, "chroma")
    # The tactus rule below reads chord lengths from the template decoder, the one it was
    # chosen with on the development split (the learned emission's steadier chords made it halve
    # ballads' tactus: dev Acc1 0.833 -> 0.667); the chords shown are decoded afterwards.
    params = chord_params or chords_mod.ChordParams()
    tactus_params = replace(params, emission="templates")
    seg = _segments(fr, beat_frames, duration, tactus_params)
    # The tactus a musician counts (_rule_level; learned choosers over the grid's features were
    # no better on the development data; see the package README).
    harmonic = no_key_reason(_key_chroma(seg).sum(axis=1)) is None
    beat_frames, est, seg = _rule_level(fr, est, beat_frames, seg, harmonic, duration,
                                        tactus_params)
    if params.emission != "templates":
        seg = replace(seg, labels=chords_mod.decode_chords(seg.treble, seg.bass, seg.silent, params,
                                                           notes=seg.notes))
    beats_s = beat_frames / F.FPS
    tempo = describe_tempo(beats_s, est.confidence, fr.onset, duration, unpitched=not harmonic)
    bounds, bounds_s, treble, bass = seg.bounds, seg.bounds_s, seg.treble, seg.bass
    silent, labels = seg.silent, seg.labels

    _report(progress, 0.75, "chords")
    chord_list: list[tuple[float, float, str]] = []
    for i, lab in enumerate(labels):
        a, b = float(bounds_s[i]), float(bounds_s[i + 1])
        if chord_list and chord_list[-1][2] == lab:
            chord_list[-1] = (chord_list[-1][0], b, lab)
        else:
            chord_list.append((a, b, lab))

    _report(progress, 0.85, "key")
    weights = np.diff(bounds_s)
    key_chroma = _key_chroma(seg)
    bass_chroma = bass * weights[None, :]
    bass_chroma[:, silent] = 0.0
    key_report = analyse_key(key_chroma.sum(axis=1), bass_chroma.sum(axis=1), labels, weights)
    if key_report.pc is None:
        # no tonal centre (noise, drums) or fewer than three pitch classes (one sustained tone):
        # nothing the chord templates match is a chord, so the whole track is "no chord"
        chord_list = [(0.0, duration, "N")]
    # local keys scored like the global key, on each section's own evidence; a section shows
    # another key only when it confidently differs (a modulation), else the global key
    timeline = key_timeline(key_chroma, bass_chroma, labels, weights, bounds_s, key_report,
                            duration)

    meter: str | None = None
    downbeats: list[float] = []
    meter_conf = 0.0
    if beat_frames.size >= 6 and tempo.bpm is not None:
        # beat segments: bounds index of each beat
        seg_index = np.searchsorted(bounds, beat_frames)
        seg_index = np.clip(seg_index, 0, treble.shape[1] - 1)
        strength = meter_mod.downbeat_strength(
            treble[:, seg_index], bass[:, seg_index],
            _peak_near(fr.low_onset, beat_frames), _peak_near(fr.onset, beat_frames),
            None if act is None else _peak_near(act.downbeat, beat_frames))
        m = meter_mod.estimate_meter(strength)
        meter = f"{m.beats_per_bar}/4"
        meter_conf = m.confidence
        downbeats = [float(b) for b in beats_s[m.phase::m.beats_per_bar]]
    _report(progress, 1.0, "done")
    return MusicAnalysis(
        key_report=key_report,
        key_timeline=timeline,
        tempo=tempo,
        meter=meter,
        beats=[float(b) for b in beats_s],
        downbeats=downbeats,
        chords=chord_list,
        duration=duration,
        meter_confidence=meter_conf,
        extra={"tuning": fr.tuning, "tracker_bpm": est.bpm},
    )
