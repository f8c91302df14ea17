"""Whole-track analysis: decode once, then the tagger (moods, valence/arousal, genre, hash code)
and the music analysis (key, tempo, beats, chords); the result is a
:class:`~musicapp.track_analysis.TrackAnalysis`.

This is the one pipeline: the CLI's ``analyze``, the GUI's analysis worker and the library indexer
all call :func:`analyze_path` or :func:`analyze_samples`. A part that fails (a tampered model
file, an unavailable GPU) is recorded in ``TrackAnalysis.errors`` with its reason and logged with
its traceback; the other part still runs. Silence and clips too short to analyse give
``status`` "silence" / "too short" and no part runs. Only an undecodable file raises.

Cores (``cores``): with one core the two parts run one after the other in the calling thread
(the batch path's serial run and its worker processes, which must use one core each, rely on
this; it is :func:`analyze_samples`'s default). With two or more (:func:`analyze_path`'s default
is every usable core, :func:`musicapp.models.device.usable_cores`) they share the cores: one
thread runs the music analysis while the others run tagger batches, and whichever thread is
free takes the next batch of 3-s patches (:class:`musicapp.models.engine.TaggingRun`), so no
core idles while work is left. Every thread runs torch with one intra-op thread, set
deliberately (two intra-op threads on one batch were several times slower on the 2-core
machines: OpenMP barriers); numpy's BLAS pools are held at one thread while a track is analysed
on either path, so nothing oversubscribes and both paths compute the same numbers. The result
is the same either way: same batches, added in the same order (tested).

Measured on ``data/bench_3min.wav`` (2-core machine shared with other work, in moments when
the other work left the cores free): one core 3.5-3.8 s, all cores 2.0-2.2 s (1.7-1.9x);
``musicapp bench pipeline`` re-measures both in one run. When the machine is
oversubscribed (load average well above the cores) both take about as long and the concurrent
path is sometimes slower: a thread handing the GIL over waits while the other is pre-empted.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from musicapp.errors import MusicappError
from musicapp.params import ANALYSIS, DAMAGE, MEL, SILENCE
from musicapp.track_analysis import OK, TOO_SHORT, TrackAnalysis
from musicapp.track_analysis import SILENCE as SILENT

#: ``status`` of a track with more than ``DAMAGE.max_share`` of unusable samples (NaN, inf,
#: absurd values, replaced by silence while decoding): like silence, no part runs.
DAMAGED = "damaged"

#: progress(fraction 0..1, stage name)
ProgressFn = Callable[[float, str], None]

log = logging.getLogger(__name__)
_engines: dict[tuple[str, int | None], object] = {}
_engines_lock = threading.Lock()


def get_engine(device: str = "auto", threads: int | None = None):
    """A cached tagger engine for ``device`` (models load once per process)."""
    from musicapp.models.engine import TaggerEngine

    key = (device, threads)
    with _engines_lock:
        if key not in _engines:
            _engines[key] = TaggerEngine(device=device, threads=threads)
        return _engines[key]


def _report(progress: ProgressFn | None, fraction: float, stage: str) -> None:
    if progress is not None:
        progress(float(fraction), stage)


class _Progress:
    """The caller's progress hook, safe to call from several threads. The first exception it
    raises (a cancelled GUI task raises from its hook) aborts the analysis: every later call
    raises it again, so the other threads stop at their next report, and :meth:`check`
    re-raises it in the caller's thread."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self.progress = progress
        self.lock = threading.Lock()
        self.raised: BaseException | None = None

    def __call__(self, fraction: float, stage: str) -> None:
        with self.lock:
            if self.raised is not None:
                raise self.raised
            try:
                _report(self.progress, fraction, stage)
            except BaseException as exc:
                self.raised = exc
                raise

    def check(self) -> None:
        """Re-raise what the hook raised, if anything."""
        if self.raised is not None:
            raise self.raised


def _describe(exc: Exception) -> str:
    """The user's message for a failed part: ours verbatim, a bug with its type and the log."""
    if isinstance(exc, MusicappError):
        return str(exc)
    from musicapp.logs import log_path

    return f"internal error ({type(exc).__name__}: {exc}); details in {log_path()}"


def loudest_window_dbfs(samples: np.ndarray, sample_rate: int,
                        window_s: float = SILENCE.window_s) -> float:
    """RMS level in dBFS of the loudest ``window_s`` window (windows overlap by half), with each
    window's mean (DC offset) removed: a constant offset is inaudible, so a file holding only
    DC is silence, not a loud track.

    Works in blocks of half a window, so a 3-hour file needs no more than a few megabytes here.
    """
    y = np.asarray(samples).reshape(-1)
    if y.size == 0:
        return float("-inf")
    win = max(2, min(y.size, int(round(window_s * sample_rate))))
    hop = win // 2
    n_blocks = -(-y.size // hop)
    energy = np.empty(n_blocks, dtype=np.float64)  # sum of squares of each half-window block
    total = np.empty(n_blocks, dtype=np.float64)  # sum of the samples of each block
    count = np.full(n_blocks, float(hop))
    count[-1] = y.size - hop * (n_blocks - 1)
    # ~64 k samples per step (the float64 copies stay in the CPU caches), whole blocks: each
    # block's sums are the same whatever the step
    chunk = hop * max(1, (1 << 16) // hop)
    for start in range(0, y.size, chunk):
        part = np.asarray(y[start:start + chunk], dtype=np.float64)
        first = start // hop
        starts = np.arange(0, part.size, hop)
        sums = np.add.reduceat(part, starts)
        total[first:first + sums.size] = sums
        energy[first:first + sums.size] = np.add.reduceat(np.square(part), starts)
    if n_blocks > 1:
        e, t, n = energy[:-1] + energy[1:], total[:-1] + total[1:], count[:-1] + count[1:]
    else:
        e, t, n = energy, total, count
    power = np.maximum(e - t * t / n, 0.0) / n
    peak = float(np.max(power))
    return float(10.0 * np.log10(peak)) if peak > 0 else float("-inf")


def classify_level(samples: np.ndarray, sample_rate: int) -> tuple[str, float]:
    """(status, level_dbfs): "too short" under ``SILENCE.min_duration_s``, "silence" below
    ``SILENCE.threshold_dbfs``, else "ok"."""
    level = loudest_window_dbfs(samples, sample_rate)
    if samples.shape[-1] < SILENCE.min_duration_s * sample_rate:
        return TOO_SHORT, level
    if not np.isfinite(level) or level < SILENCE.threshold_dbfs:
        return SILENT, level
    return OK, level


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """numpy/scipy's BLAS thread pools held at one thread (threadpoolctl) for the duration.

    The music analysis runs beside the tagger threads (or in a batch worker that owns one core):
    a BLAS pool as wide as the machine would only oversubscribe the cores. Process-wide, as
    BLAS pools are; torch's own pools are not touched.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a dependency, but the analysis must not depend on a speed helper
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def analysis_threads(cores: int | None) -> int:
    """Threads the pipeline runs a track on: ``cores`` as asked, or with None every usable core
    (:func:`musicapp.models.device.usable_cores`) up to
    :data:`musicapp.models.device.MAX_AUTO_THREADS`."""
    if cores is not None:
        return max(1, int(cores))
    from musicapp.models.device import MAX_AUTO_THREADS, usable_cores

    return max(1, min(usable_cores(), MAX_AUTO_THREADS))


def analyze_samples(
    samples: np.ndarray,
    sample_rate: int,
    *,
    tags: bool = True,
    music: bool = True,
    device: str = "auto",
    threads: int | None = None,
    feature_maps: bool = False,
    progress: ProgressFn | None = None,
    cores: int | None = 1,
    damaged_share: float = 0.0,
) -> TrackAnalysis:
    """Analyse mono float32 ``samples`` at ``sample_rate``.

    Args:
        threads: torch intra-op threads of the tagger (None: the engine's choice on one core,
            one per thread on several).
        cores: cores to share between the tagger and the music analysis (see the module docs):
            1 (the default: one after the other in this thread, the batch path's workers and
            serial run), None (every usable core) or a number. The result does not depend on it.
        damaged_share: the share of samples the decoder replaced by silence
            (:attr:`musicapp.audio.Audio.damaged_share`); above ``DAMAGE.max_share`` the status is
            :data:`DAMAGED` and no part runs.
    """
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    status, level = classify_level(samples, sample_rate)
    result = TrackAnalysis(duration_s=samples.shape[-1] / float(sample_rate), status=status,
                           level_dbfs=level if np.isfinite(level) else None)
    if status == OK and damaged_share > DAMAGE.max_share:
        result.status = status = DAMAGED
        result.warnings.append(
            f"damaged: {100 * damaged_share:.1f}% of the samples were not audio (NaN, infinite or "
            f"absurdly large; now silence), more than the {100 * DAMAGE.max_share:g}% an analysis "
            "can trust: no moods, key, tempo or chords are given")
    if status != OK:
        _report(progress, 1.0, status)
        return result
    n_threads = analysis_threads(cores)
    hook = _Progress(progress)
    with one_blas_thread():
        if tags and music and n_threads > 1:
            _both_parts_concurrently(result, samples, sample_rate, device, threads, feature_maps,
                                     hook, n_threads)
        else:
            if tags:
                hook(0.1, "tags")
                _tag_part(result, samples, sample_rate, device, threads, feature_maps, hook)
            if music:
                hook(0.5, "music")
                _music_part(result, samples, sample_rate,
                            lambda f, stage: hook(0.5 + 0.5 * f, stage), hook)
        hook.check()
    if result.tags:  # no moods without music; valence/arousal/energy from both parts
        from musicapp.models.no_music import withhold_moods_without_music
        from musicapp.models.va_fusion import apply_fusion

        withhold_moods_without_music(result)
        apply_fusion(result)
    _report(progress, 1.0, "done")
    return result


#: Tracks longer than this (seconds) reach the tagger as a stream of blocks resampled on the fly
#: (:func:`musicapp.audio.blockwise.resampled_blocks`) instead of one whole 16 kHz copy (a
#: 3-hour track: 0.7 GB). The tags are the same either way (soxr's streaming form gives the
#: whole-signal samples; tested).
LONG_TRACK_S = 600.0


def _start_tagging(samples: np.ndarray, sample_rate: int, device: str, threads: int | None,
                   feature_maps: bool, progress: Callable[[float], None] | None = None):
    """The engine and a :class:`~musicapp.models.engine.TaggingRun` for ``samples`` (longer
    than :data:`LONG_TRACK_S`: resampled on the fly, never whole at 16 kHz)."""
    from musicapp.audio import resample

    engine = get_engine(device, threads)
    duration = samples.shape[-1] / float(sample_rate)
    if duration > LONG_TRACK_S:
        from musicapp.audio.blockwise import resampled_blocks

        source = resampled_blocks(samples, sample_rate, MEL.sample_rate)
        return engine, engine.start_stream(source, duration, feature_maps=feature_maps,
                                           progress=progress)
    y16 = resample(samples, sample_rate, MEL.sample_rate)
    return engine, engine.start(y16, feature_maps=feature_maps, progress=progress)


def _store_tags(result: TrackAnalysis, run, feature_maps: bool) -> None:
    """The finished run's tags into ``result`` (raises what the run met)."""
    tagged = run.result()
    log.debug("tagger batches by thread: %s", run.batches_by_thread)
    result.tags = tagged.tag_fields()  # a clip too short for moods: "moods_status", no moods
    if feature_maps and tagged.feature_maps is not None:
        result.feature_maps = {"maps": tagged.feature_maps,
                               "seconds_per_column": tagged.feature_map_seconds_per_column}


def _tag_failed(result: TrackAnalysis, exc: Exception, hook: _Progress) -> None:
    # one part failing must not lose the other: reported, logged; a cancel is not a failure
    if exc is hook.raised:
        raise exc
    log.error("tagging failed", exc_info=exc)
    result.errors["tags"] = _describe(exc)


def _tag_part(result: TrackAnalysis, samples: np.ndarray, sample_rate: int, device: str,
              threads: int | None, feature_maps: bool, hook: _Progress) -> None:
    """The tagger in this thread with the engine's thread count."""
    try:
        engine, run = _start_tagging(samples, sample_rate, device, threads, feature_maps)
        run.work(torch_threads=engine.threads)
        _store_tags(result, run, feature_maps)
    except Exception as exc:
        _tag_failed(result, exc, hook)


def _music_part(result: TrackAnalysis, samples: np.ndarray, sample_rate: int,
                progress: ProgressFn, hook: _Progress) -> None:
    from musicapp.analysis import analyze_music
    from musicapp.analysis.notices import collect

    try:
        with collect() as notices:  # a part that fell back says so beside the result
            result.music = analyze_music(samples, sample_rate, progress=progress).to_dict()
        result.warnings.extend(n for n in notices if n not in result.warnings)
    except Exception as exc:
        if exc is hook.raised:  # cancelled: not a failure of the part
            raise
        log.exception("key/tempo/chord analysis failed")
        result.errors["music"] = _describe(exc)


class _SharedTagging:
    """The tagger part of one track, started by one thread and worked on by several."""

    def __init__(self, samples: np.ndarray, sample_rate: int, device: str, threads: int | None,
                 feature_maps: bool, torch_threads: int,
                 progress: Callable[[float], None]) -> None:
        self.args = (samples, sample_rate, device, threads, feature_maps, progress)
        self.torch_threads = torch_threads
        self.run = None
        self.error: Exception | None = None
        self.started = threading.Event()

    def start_and_work(self) -> None:
        """Prepare the run (resampling; Mel and patches come lazily with the batches), then
        work on it."""
        try:
            _engine, self.run = _start_tagging(*self.args)
        except Exception as exc:  # reported by the caller with the part's other failures
            self.error = exc
        finally:
            self.started.set()
        if self.run is not None:
            self.run.work(torch_threads=self.torch_threads)

    def help(self) -> None:
        """Take batches until none is left (after the run has been prepared); on the CPU only:
        a GPU's batches are not sped up by a second thread."""
        self.started.wait()
        if self.run is not None and self.run.engine.device.type == "cpu":
            self.run.work(torch_threads=self.torch_threads)

    def store(self, result: TrackAnalysis, feature_maps: bool, hook: _Progress) -> None:
        """Put the tags into ``result`` (or the failure into ``result.errors``)."""
        try:
            if self.error is not None:
                raise self.error
            if self.run is None:
                raise RuntimeError("the tagger did not start")
            _store_tags(result, self.run, feature_maps)
        except Exception as exc:
            _tag_failed(result, exc, hook)


def _import_shared_modules() -> None:
    """Import in this thread, before the parts' threads start, the scipy modules both parts
    import on first use (the tagger's Mel: scipy.fft; the music part: scipy.fft, and librosa,
    whose scipy.signal pulls in scipy.stats, while the filter cache is cold). Two threads
    importing scipy for the first time at once leave it half-initialised ("partially initialized
    module", "Module 'scipy' has no attribute '_lib'"), and every later analysis in that process
    then fails: seen in the GUI's analysis worker, whose warm-up is its first analysis, on a busy
    machine. (The batch workers' one-thread path does not need this and skips scipy.signal.)"""
    import scipy.signal  # noqa: F401  (-> scipy.stats)

    import musicapp.features  # noqa: F401  (scipy.fft)


def _both_parts_concurrently(result: TrackAnalysis, samples: np.ndarray, sample_rate: int,
                             device: str, threads: int | None, feature_maps: bool,
                             progress: _Progress, n_threads: int) -> None:
    """Both parts on ``n_threads`` threads with work sharing (see the module docs).

    This thread runs the music analysis, then helps with the tagger's remaining batches (on
    the CPU); ``n_threads - 1`` tagger threads prepare the tagger's input and run its batches.
    Each runs torch with ``threads`` intra-op threads (one when None). A cancel raised by the
    progress hook stops every thread at its next report and is raised here.
    """
    _import_shared_modules()
    lock = threading.Lock()
    done = {"tags": 0.0, "music": 0.0}

    def report(part: str, fraction: float, stage: str) -> None:
        with lock:  # progress comes from several threads; the caller sees one sequence
            done[part] = max(done[part], float(fraction))
            total = 0.05 + 0.95 * (0.7 * done["tags"] + 0.3 * done["music"])
            progress(min(total, 0.99), stage)

    tagging = _SharedTagging(samples, sample_rate, device, threads, feature_maps, threads or 1,
                             lambda f: report("tags", f, "tags"))
    workers = [threading.Thread(target=tagging.start_and_work if i == 0 else tagging.help,
                                name=f"musicapp-tagger-{i}", daemon=True)
               for i in range(max(1, n_threads - 1))]
    report("tags", 0.0, "tags and music")
    for t in workers:
        t.start()
    try:
        _music_part(result, samples, sample_rate, lambda f, stage: report("music", f, stage),
                    progress)
        tagging.help()
    finally:
        for t in workers:
            t.join()
    tagging.store(result, feature_maps, progress)


def analyze_path(
    path: str | Path,
    *,
    tags: bool = True,
    music: bool = True,
    device: str = "auto",
    threads: int | None = None,
    feature_maps: bool = False,
    progress: ProgressFn | None = None,
    cores: int | None = None,
) -> TrackAnalysis:
    """Decode ``path`` once and analyse it on ``cores`` cores (None, the default: every usable
    core; 1: the one-core path; see :func:`analyze_samples`).

    Raises:
        AudioDecodeError: the file cannot be decoded at all.
    """
    from musicapp.audio import load_audio

    _report(progress, 0.0, "decode")
    audio = load_audio(path, sr=ANALYSIS.sample_rate, mono=True)
    result = analyze_samples(audio.samples, audio.sample_rate, tags=tags, music=music,
                             device=device, threads=threads, feature_maps=feature_maps,
                             progress=progress, cores=cores, damaged_share=audio.damaged_share)
    result.path = str(Path(path))
    result.format = audio.info.format
    result.warnings = [*audio.warnings, *result.warnings]  # the decoder's first
    return result
