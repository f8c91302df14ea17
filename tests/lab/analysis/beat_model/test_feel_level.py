"""The tempo-feel level study: the rule on rendered tracks analysed by the real music analysis
(the tagger's moods given as evidence), the scoring and its paired bootstrap, and the rows the
study refuses."""

from __future__ import annotations

import json

import numpy as np
import pytest
from musicapp_lab.analysis.beat_model.feel_level import (
    RULE,
    FeelRule,
    feel_level,
    load_rows,
    moved_bpm,
    outcome,
    paired_bootstrap,
)

from musicapp.pipeline import analyze_samples

SR = 22050


def _render(bpm: float, offbeat: float, seconds: float = 30.0) -> np.ndarray:
    """Kick and hi-hat on every beat, ``offbeat`` times as loud between the beats, and a
    four-chord progression changing every bar of 4 beats."""
    rng = np.random.default_rng(0)
    y = np.zeros(int(seconds * SR), np.float32)
    beat = 60.0 / bpm
    t = np.arange(int(0.15 * SR)) / SR
    hit = (np.sin(2 * np.pi * 60 * t) * np.exp(-t * 25)
           + 0.25 * rng.standard_normal(t.size) * np.exp(-t * 60)).astype(np.float32)
    chords = [[60, 64, 67], [57, 60, 64], [53, 57, 60], [55, 59, 62]]
    k = 0
    while k * beat < seconds - 1:
        s = int(k * beat * SR)
        y[s:s + hit.size] += hit
        m = int((k + 0.5) * beat * SR)
        y[m:m + hit.size] += offbeat * hit[: max(0, y.size - m)]
        if k % 4 == 0:
            tt = np.arange(min(int(4 * beat * SR), y.size - s)) / SR
            for p in chords[(k // 4) % 4]:
                y[s:s + tt.size] += (0.08 * np.sin(2 * np.pi * 440 * 2 ** ((p - 69) / 12) * tt)
                                     * np.exp(-tt * 0.5)).astype(np.float32)
        k += 1
    return (0.8 * y / np.abs(y).max()).astype(np.float32)


@pytest.fixture(scope="module")
def slow_count() -> dict:
    """65 BPM with strong off-beats: counted at 65, 130 a candidate."""
    return analyze_samples(_render(65.0, 0.7), SR, tags=False).music


@pytest.fixture(scope="module")
def fast_count() -> dict:
    """165 BPM: counted at 165, 82.5 a candidate."""
    return analyze_samples(_render(165.0, 0.0), SR, tags=False).music


def _mood(tag: str, pct: float, other: str) -> list[dict]:
    return [{"tag": tag, "score": 0.2, "percentile": pct, "over": other, "over_score": 0.05}]


def test_a_fast_feel_doubles_a_slow_count(slow_count):
    assert slow_count["tempo_bpm"] == pytest.approx(65.0, abs=0.5)
    assert feel_level(slow_count, _mood("fast", 62.0, "slow")) == "double"
    row = {**slow_count, "moods": _mood("fast", 62.0, "slow")}
    assert moved_bpm(row, RULE) == pytest.approx(130.0, abs=1.0)


def test_a_clearly_slow_feel_halves_a_fast_count(fast_count):
    assert fast_count["tempo_bpm"] == pytest.approx(165.0, abs=0.5)
    assert feel_level(fast_count, _mood("slow", 97.0, "fast")) == "half"


def test_no_move_when_the_feel_is_unclear(slow_count, fast_count):
    assert feel_level(fast_count, []) is None  # neither fast nor slow listed
    assert feel_level(fast_count, _mood("slow", 80.0, "fast")) is None  # not clearly slow
    assert feel_level(fast_count, _mood("fast", 99.0, "slow")) is None  # 330 BPM: no count
    assert feel_level(slow_count, _mood("slow", 99.0, "fast")) is None  # slow never doubles
    # a level that is no close candidate is never taken
    assert feel_level(slow_count, _mood("fast", 62.0, "slow"), FeelRule(close=0.9)) is None
    assert feel_level(fast_count, _mood("slow", 99.0, "fast"), FeelRule(slow_percentile=None)) \
        is None


def _row(song: str, truth: float, bpm: float, feel: str | None) -> dict:
    cands = [{"bpm": bpm, "relation": "tactus", "score": 0.5},
             {"bpm": bpm / 2, "relation": "half", "score": 0.25},
             {"bpm": bpm * 2, "relation": "double", "score": 0.25}]
    return {"song": song, "set": "x", "truth_bpm": truth, "tempo_bpm": bpm,
            "tempo_candidates": cands, "moods": _mood(feel, 60.0, "slow") if feel else []}


def test_outcome_and_the_paired_bootstrap_over_songs():
    rows = [_row("a", 120.0, 60.0, "fast"),  # fixed
            _row("b", 60.0, 60.0, "fast"),  # broken
            _row("b", 60.0, 60.0, None),  # untouched, right
            _row("c", 90.0, 60.0, None)]  # untouched, wrong
    before, after = outcome(rows, RULE)
    assert before.tolist() == [0, 1, 1, 0] and after.tolist() == [1, 0, 1, 0]
    mean, lo, hi = paired_bootstrap(rows, before, after, n=2000)
    assert mean == 0.0 and lo < 0.0 < hi
    same = paired_bootstrap(rows, before, before, n=200)
    assert same == (0.0, 0.0, 0.0)


def test_rows_already_moved_are_refused(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(_row("a", 120.0, 60.0, None)) + "\n"
                    + json.dumps({**_row("b", 120.0, 60.0, None), "truth_bpm": None}) + "\n")
    assert len(load_rows(path)) == 1  # no annotated tempo: left out
    moved = {**_row("a", 120.0, 120.0, None), "tempo_choice": {"factor": 2.0}}
    path.write_text(json.dumps(moved) + "\n")
    with pytest.raises(SystemExit, match="already moved"):
        load_rows(path)
