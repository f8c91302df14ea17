"""Benchmark: time key + tempo/beats + chords on a 3-minute track against a librosa baseline.

Both methods run on the same audio in the same process (after a warm-up that triggers numba
compilation), so the ratio is meaningful on any machine. Optionally the accuracy of both on the
rendered evaluation set is printed side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from musicapp_lab.bench.timing import best_of

BENCH_SEED = 99  # not an evaluation or development seed


def synth_track(seconds: float = 180.0, sample_rate: int = 22050) -> np.ndarray:
    """A rendered multi-section track (generated progressions with drums/bass) of ``seconds``."""
    from musicapp_lab.analysis.evalset.progressions import make_progression_piece
    from musicapp_lab.analysis.render import render_notes

    parts: list[np.ndarray] = []
    total = 0
    i = 0
    while total < seconds * sample_rate:
        piece = make_progression_piece(BENCH_SEED, i, tempo=[96, 128, 84, 140, 110][i % 5])
        y = render_notes(piece.notes, piece.programs, sample_rate=sample_rate, tail=0.0)
        parts.append(y)
        total += y.size
        i += 1
    return np.concatenate(parts)[: int(seconds * sample_rate)]


def _best_of(fn: Callable[[], object], repeats: int) -> float:
    return best_of(fn, repeats)


def run_bench(path: str | Path | None = None, seconds: float = 180.0, repeats: int = 3,
              accuracy: bool = True, split: str = "eval", cache_dir: Path | None = None,
              out: Callable[[str], None] = print) -> dict:
    """Time both methods on one track; optionally score both on ``split``. Returns figures."""
    from musicapp.analysis import analyze_music
    from musicapp.analysis.features import to_analysis_rate
    from musicapp_lab.analysis.baseline import baseline_analysis

    if path is not None:
        from musicapp.audio import load_audio

        audio = load_audio(path, sr=None)
        y, sr = audio.samples, audio.sample_rate
        label = str(path)
    else:
        sr = 22050
        y = synth_track(seconds, sr)
        label = f"rendered progression track, {seconds:.0f} s"
    duration = y.size / sr
    out(f"track: {label} ({duration:.1f} s at {sr} Hz)")
    # warm-up (numba JIT, FFT plans) on a short excerpt
    short = y[: int(10 * sr)]
    analyze_music(short, sr)
    baseline_analysis(to_analysis_rate(short, sr), 22050)

    ours = _best_of(lambda: analyze_music(y, sr), repeats)

    def base() -> None:
        # the baseline gets the same resampling step so both include it
        baseline_analysis(to_analysis_rate(y, sr), 22050)

    ref = _best_of(base, repeats)
    out(f"musicapp.analysis (key + key timeline + tempo/beats/downbeats + chords): "
        f"{ours:6.2f} s  ({duration / ours:5.0f}x real time)  target <= 1.5 s for 3 min")
    out(f"baseline (librosa.beat.beat_track + chroma_cqt templates + K-S key):     "
        f"{ref:6.2f} s  ({duration / ref:5.0f}x real time)")
    out(f"ratio ours / baseline: {ours / ref:.2f} (best of {repeats} runs each)")
    result = {"seconds_ours": ours, "seconds_baseline": ref, "duration": duration}
    if accuracy:
        from musicapp_lab.analysis.evalset.evaluate import evaluate_split, format_table

        out("")
        out(f"accuracy on the rendered '{split}' set (ours vs baseline):")
        res = evaluate_split(split, cache_dir=cache_dir, baseline=True)
        out(format_table(res))
        result["table"] = res
    return result
