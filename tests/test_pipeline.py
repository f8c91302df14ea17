"""The one pipeline on one core and on several: the same result, the parts really side by side,
BLAS pools held at one thread, a failing part reported while the other stays (real files, real
models, real threads)."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest
import torch

from musicapp.pipeline import analysis_threads, analyze_path, analyze_samples
from tests.helpers.signals import chord, write_audio

SR = 22050
PROGRESSION = ([220.0, 277.18, 329.63], [246.94, 293.66, 369.99], [196.0, 246.94, 293.66],
               [220.0, 261.63, 329.63])  # fmt: skip


def song(seconds: float) -> np.ndarray:
    """Chords changing every 2 s with a click on every beat at 120 BPM (something to tag and
    to find key, tempo and chords in)."""
    parts, total = [], 0
    while total < seconds * SR:
        for freqs in PROGRESSION:
            parts.append(chord(freqs, 2.0, SR, 0.45))
            total += parts[-1].size
    y = np.concatenate(parts)[: int(seconds * SR)]
    click = np.exp(-np.arange(300) / 50.0) * np.random.default_rng(1).standard_normal(300)
    for start in range(0, y.size - 300, SR // 2):
        y[start:start + 300] += 0.3 * click.astype(np.float32)
    return np.clip(y, -1, 1).astype(np.float32)


@pytest.fixture(scope="module")
def track(tmp_path_factory):
    # 20 s: 7 patches, so 4 batches of the tagger to share (the last one partial)
    return write_audio(tmp_path_factory.mktemp("pipeline") / "song.wav", song(20.0), SR)


def _batches_by_thread(caplog) -> dict[str, int]:
    """What the pipeline logged about the threads that ran the tagger's batches."""
    rows = [r.args for r in caplog.records if r.getMessage().startswith("tagger batches")]
    assert len(rows) == 1
    caplog.clear()
    return dict(rows[0])  # one mapping argument: logging keeps it as the args


def test_concurrent_path_gives_the_one_core_result(track, caplog):
    fractions: list[float] = []
    caplog.set_level(logging.DEBUG, logger="musicapp.pipeline")
    one = analyze_path(track, cores=1).to_dict()
    one_threads = _batches_by_thread(caplog)
    two = analyze_path(track, cores=2, progress=lambda f, _s: fractions.append(f)).to_dict()
    two_threads = _batches_by_thread(caplog)
    assert not one.get("errors") and not two.get("errors")
    assert one["status"] == "ok" and one["moods"] and one["chords"] and one["tempo_bpm"]
    # the contract: same codes, tags within 1e-4, same key/tempo/beats/chords ...
    assert two["hash"] == one["hash"]
    assert [s["hash"] for s in two["segments"]] == [s["hash"] for s in one["segments"]]
    for field in ("moods", "genres"):
        assert [m["tag"] for m in two[field]] == [m["tag"] for m in one[field]]
        np.testing.assert_allclose([m["score"] for m in two[field]],
                                   [m["score"] for m in one[field]], atol=1e-4)
    np.testing.assert_allclose(two["embedding"], one["embedding"], atol=1e-4)
    for field in ("valence", "arousal"):
        assert two[field] == pytest.approx(one[field], abs=1e-4)
    for field in ("key", "tempo_bpm", "beats", "downbeats", "chords", "meter", "key_timeline"):
        assert two[field] == one[field]
    # ... and in fact every number: same batches, added in the same order
    assert two == one
    # the one-core path tags in the caller's thread; the other in a tagger thread (which the
    # caller's thread, after the music analysis, may have helped), the same 4 batches in all
    assert one_threads == {threading.current_thread().name: 4}
    assert two_threads.get("musicapp-tagger-0", 0) >= 1 and sum(two_threads.values()) == 4
    assert set(two_threads) <= {"musicapp-tagger-0", threading.current_thread().name}
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions[0] == 0.0


def test_more_threads_than_batches_and_feature_maps(track):
    from musicapp.audio import load_audio

    audio = load_audio(track, sr=SR, mono=True)
    one = analyze_samples(audio.samples, SR, feature_maps=True, cores=1)
    many = analyze_samples(audio.samples, SR, feature_maps=True, cores=6)
    assert many.to_dict() == one.to_dict()
    assert one.feature_maps and set(many.feature_maps["maps"]) == set(one.feature_maps["maps"])
    for layer, maps in one.feature_maps["maps"].items():
        np.testing.assert_array_equal(many.feature_maps["maps"][layer], maps)


def test_blas_pools_hold_one_thread_while_a_track_is_analysed(track):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    seen: list[int] = []

    def progress(_fraction: float, stage: str) -> None:
        if stage in ("decode", "done"):  # before and after the analysis
            return
        seen.extend(p["num_threads"] for p in threadpoolctl.threadpool_info()
                    if p["user_api"] == "blas")

    import numpy  # noqa: F401  (its BLAS is loaded, so there is a pool to limit)

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        analyze_path(track, cores=2, progress=progress)
        after = [p["num_threads"] for p in threadpoolctl.threadpool_info()
                 if p["user_api"] == "blas"]
    assert seen and set(seen) == {1}
    assert after and set(after) == {2}  # restored


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_failing_tagger_leaves_the_music_analysis_on_the_concurrent_path(track):
    result = analyze_path(track, device="cuda", cores=2).to_dict()
    assert "CUDA" in result["errors"]["tags"]
    assert "moods" not in result and result["chords"] and result["tempo_bpm"]


def test_silence_and_thread_counts():
    quiet = np.zeros(SR * 5, dtype=np.float32)
    assert analyze_samples(quiet, SR, cores=2).to_dict() == analyze_samples(quiet, SR).to_dict()
    assert analyze_samples(quiet, SR, cores=2).status == "silence"
    assert analysis_threads(1) == 1 and analysis_threads(3) == 3 and analysis_threads(0) == 1
    from musicapp.models.device import MAX_AUTO_THREADS, usable_cores

    assert analysis_threads(None) == min(usable_cores(), MAX_AUTO_THREADS)


class Cancelled(Exception):
    """What a GUI task's progress hook raises when its cancel button was pressed."""


@pytest.mark.parametrize("cores", [1, 2])
def test_a_cancel_from_the_progress_hook_stops_the_analysis(track, cores, caplog):
    calls: list[str] = []

    def progress(_fraction: float, stage: str) -> None:
        calls.append(threading.current_thread().name)
        if stage not in ("decode", "tags", "tags and music", "music"):  # inside a part
            raise Cancelled()

    with caplog.at_level(logging.ERROR, logger="musicapp"), pytest.raises(Cancelled):
        analyze_path(track, cores=cores, progress=progress)
    assert not [r for r in caplog.records if "failed" in r.getMessage()]  # not a failure
    assert not [t for t in threading.enumerate() if t.name.startswith("musicapp-tagger")]


def test_analyze_samples_stays_on_one_core_unless_asked(track, caplog):
    """The batch path calls analyze_samples without ``cores``: its serial run and each of its
    worker processes must keep to one core (tagger batches in the calling thread only)."""
    from musicapp.audio import load_audio

    audio = load_audio(track, sr=SR, mono=True)
    caplog.set_level(logging.DEBUG, logger="musicapp.pipeline")
    before = {t.name for t in threading.enumerate()}
    analyze_samples(audio.samples, SR)
    assert _batches_by_thread(caplog) == {threading.current_thread().name: 4}
    assert {t.name for t in threading.enumerate()} == before


def test_a_constant_dc_offset_is_silence_and_dc_does_not_change_a_level(tmp_path):
    """A file holding only a DC offset is inaudible: silence, no moods, key, tempo or chords (it
    got moods, genre hip-hop and chord Abm7). An offset under music does not change its level."""
    import soundfile as sf

    from musicapp.models.engine import LevelMeter
    from musicapp.pipeline import loudest_window_dbfs

    sr = 22050
    dc = tmp_path / "dc.wav"
    sf.write(str(dc), np.full(sr * 8, 0.5, np.float32), sr, subtype="PCM_16")
    result = analyze_path(dc).to_dict()
    assert result["status"] == "silence"
    assert not result.get("moods") and not result.get("chords") and result.get("key") is None
    tone = chord([220, 277, 330], 8.0, sr).astype(np.float32) * 0.3
    level = loudest_window_dbfs(tone, sr)
    assert abs(loudest_window_dbfs(tone + 0.4, sr) - level) < 0.01
    meter = LevelMeter(sr)
    for start in range(0, tone.size, 7777):
        meter.push(tone[start:start + 7777] + 0.4)
    assert abs(meter.dbfs() - level) < 0.01


def test_scipy_is_imported_before_the_parts_threads_start(track):
    """In a fresh process both parts imported scipy for the first time from two threads at once,
    which can leave it half-initialised ("Module 'scipy' has no attribute '_lib'") for every
    later analysis of that process (seen in the GUI's warm analysis worker). The state of
    sys.modules is recorded when the first part thread starts."""
    import subprocess
    import sys

    code = (
        "import sys, threading\n"
        "seen = []\n"
        "start = threading.Thread.start\n"
        "def spy(self):\n"
        "    if self.name.startswith('musicapp-tagger') and not seen:\n"
        "        seen.append(sorted(m for m in ('scipy.fft', 'scipy.signal', 'scipy.stats')\n"
        "                           if m in sys.modules))\n"
        "    return start(self)\n"
        "threading.Thread.start = spy\n"
        "from musicapp.pipeline import analyze_path\n"
        f"r = analyze_path({str(track)!r}, cores=2)\n"
        "print(seen, sorted(r.errors))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True).stdout.strip().splitlines()[-1]
    assert out == "[['scipy.fft', 'scipy.signal', 'scipy.stats']] []", out


def _loudest_window_dbfs_plain(samples, sample_rate, window_s):
    """The level as first written: every block summed from one float64 copy of the signal."""
    y = np.asarray(samples).reshape(-1)
    win = max(2, min(y.size, int(round(window_s * sample_rate))))
    hop = win // 2
    n_blocks = -(-y.size // hop)
    part = y.astype(np.float64)
    starts = np.arange(0, part.size, hop)
    total, energy = np.add.reduceat(part, starts), np.add.reduceat(np.square(part), starts)
    count = np.full(n_blocks, float(hop))
    count[-1] = y.size - hop * (n_blocks - 1)
    if n_blocks > 1:
        e, t, n = energy[:-1] + energy[1:], total[:-1] + total[1:], count[:-1] + count[1:]
    else:
        e, t, n = energy, total, count
    peak = float(np.max(np.maximum(e - t * t / n, 0.0) / n))
    return float(10.0 * np.log10(peak)) if peak > 0 else float("-inf")


def test_loudest_window_level_equals_the_whole_signal_sums():
    from musicapp.pipeline import loudest_window_dbfs

    rng = np.random.default_rng(6)
    y = (rng.standard_normal(22050 * 70) * np.linspace(0.01, 0.5, 22050 * 70)).astype(np.float32)
    for size in (3, 1001, 22050 * 2 + 5, y.size):
        for sr, window_s in ((22050, 3.0), (8000, 0.01), (22050, 0.5)):
            assert (loudest_window_dbfs(y[:size], sr, window_s)
                    == _loudest_window_dbfs_plain(y[:size], sr, window_s))


def test_the_long_track_path_gives_the_same_result(monkeypatch):
    """The block-wise forms that tracks over 10 minutes take (the tagger fed a stream resampled
    on the fly, the CQT in blocks: here forced on a 20-s song, with 3-s CQT blocks so several are
    exercised) give the same tags bit for bit and the same key, tempo, beats and chords."""
    from musicapp import pipeline
    from musicapp.analysis import features

    y = song(20.0)
    whole = analyze_samples(y, SR, device="cpu", cores=1).to_dict()
    monkeypatch.setattr(pipeline, "LONG_TRACK_S", 5.0)
    monkeypatch.setattr(features, "LONG_TRACK_S", 5.0)
    monkeypatch.setattr(features, "CQT_BLOCK_FRAMES", 64)
    blocks = analyze_samples(y, SR, device="cpu", cores=1).to_dict()
    assert whole["moods"] and whole["key"] and whole["chords"] and whole["beats"]
    assert blocks == whole
