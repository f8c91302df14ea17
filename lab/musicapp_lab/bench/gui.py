"""GUI responsiveness benchmark: ``musicapp bench gui``.

Measures, with the real main window:

1. **cold start**: from launching a fresh Python process to the main window being shown (and
   whether torch was imported by then), against a bare PySide6 window started the same way;
2. **event-loop stalls** while a file is opened and while a full analysis runs: the lateness of a
   10 ms QTimer (a stall is how much later than 10 ms the next tick came), against the same timer
   in the idle window;
3. **live recording** for ``--record-seconds`` (default 60) from the default input while the demo
   track plays to the default output and the feature-map model runs on the live spectrogram:
   frames drawn per second at 1280x800, input overflows, model runs, and the stalls meanwhile.

Recording needs an input device (on a machine without a sound card: the PulseAudio null sink,
whose monitor is the default input; see the README). Without one that part is skipped.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STALL_LIMIT_MS = 50.0
TIMER_MS = 10

_CHILD_APP = r"""
import sys, time
from PySide6.QtCore import QSettings, QTimer
from musicapp.gui.app import create_app, create_window
app = create_app()
w = create_window(settings=QSettings(sys.argv[1], QSettings.Format.IniFormat),
                  auto_analyze=False)
w.resize(1280, 800)
w.show()
def check():
    if w.spectrogram.paints.count > 0:  # the spectrogram has been painted on screen
        print("VISIBLE", int("torch" in sys.modules), flush=True)
        app.quit()
    else:
        QTimer.singleShot(1, check)
QTimer.singleShot(0, check)
app.exec()
"""

_CHILD_BARE = r"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
w = QMainWindow()
w.resize(1280, 800)
w.show()
def done():
    print("VISIBLE 0", flush=True)
    app.quit()
QTimer.singleShot(0, done)
app.exec()
"""


def _time_child(code: str, settings: str) -> tuple[float, bool]:
    """Seconds from launching ``python -c code`` to its "VISIBLE" line, and whether torch was
    imported by then (the child may take longer to exit: background imports finish first).
    The child runs with bytecode caches, as an installed app does (``PYTHONDONTWRITEBYTECODE``
    would make every start compile the sources again)."""
    t0 = time.perf_counter()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: with bytecode caches
    proc = subprocess.Popen([sys.executable, "-c", code, settings], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    dt = time.perf_counter() - t0
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if not line.startswith("VISIBLE"):
        raise RuntimeError(f"start-up child failed (exit code {proc.returncode})")
    return dt, line.split()[1] == "1"


def cold_start(runs: int = 3) -> dict:
    """Median seconds from process launch to a visible window (app and bare PySide6)."""
    with tempfile.TemporaryDirectory() as tmp:
        ini = str(Path(tmp) / "settings.ini")
        _time_child(_CHILD_BARE, ini)  # warm the OS file cache for both
        app_times, bare_times, torch_seen = [], [], False
        for _ in range(runs):
            bare_times.append(_time_child(_CHILD_BARE, ini)[0])
            dt, torch_loaded = _time_child(_CHILD_APP, ini)
            app_times.append(dt)
            torch_seen |= torch_loaded
    return {"app_s": statistics.median(app_times), "bare_s": statistics.median(bare_times),
            "torch_imported": torch_seen, "runs": runs}


class StallMeter:
    """Lateness of a 10 ms precise QTimer: how long the event loop was blocked."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TIMER_MS)
        self.timer.timeout.connect(self._tick)
        self.late_ms: list[float] = []
        self._last = 0.0

    def start(self) -> None:
        """Reset and start measuring."""
        self.late_ms = []
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> dict:
        """Stop; returns max, p99, mean lateness and the count above the 50 ms limit."""
        self.timer.stop()
        a = np.asarray(self.late_ms or [0.0])
        return {"ticks": len(self.late_ms), "max_ms": float(a.max()),
                "p99_ms": float(np.percentile(a, 99)), "mean_ms": float(a.mean()),
                "over_limit": int((a > STALL_LIMIT_MS).sum())}

    def _tick(self) -> None:
        now = time.perf_counter()
        self.late_ms.append(max(0.0, (now - self._last) * 1000.0 - TIMER_MS))
        self._last = now


def _spin(app, seconds: float, until=None) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if until is not None and until():
            return
        app.processEvents()
        time.sleep(0.001)


def _make_window(tmp: Path):
    from PySide6.QtCore import QSettings

    from musicapp.gui.app import create_app
    from musicapp.gui.main_window import MainWindow

    app = create_app()
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("folders/takes", str(tmp / "takes"))
    w = MainWindow(settings=settings, auto_analyze=False)
    w.resize(1280, 800)
    w.show()
    _spin(app, 1.0)
    _spin(app, 60, until=lambda: not w.runner.busy)  # the warm-up imports run in a worker
    _spin(app, 0.5)
    return app, w


def analysis_stalls(track_seconds: float = 30.0) -> dict:
    """Stalls while idle (reference), while opening a file, and during a full analysis."""
    from musicapp.audio import write_wav
    from musicapp_lab.gui.screenshots import SR, demo_track

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        path = tmp / "demo.wav"
        write_wav(path, demo_track(bars=max(1, int(track_seconds / 2))), SR)
        old_data = os.environ.get("MUSICAPP_DATA_DIR")
        os.environ["MUSICAPP_DATA_DIR"] = str(tmp / "data")  # empty cache: a real analysis
        app, w = _make_window(tmp)
        meter = StallMeter()
        meter.start()
        _spin(app, 3.0)
        idle = meter.stop()
        meter.start()
        t0 = time.perf_counter()
        w.open_file(str(path))
        _spin(app, 120, until=lambda: w.load_task is None)
        load = meter.stop()
        load["seconds"] = time.perf_counter() - t0
        meter.start()
        t0 = time.perf_counter()
        w.start_analysis()
        shown: list = []
        finished = getattr(w, "analysis_finished", None)  # older trees (--base) lack it
        if finished is not None:
            finished.connect(shown.append)  # emitted once the result is on screen
        else:
            shown.append(None)  # older trees draw the result when the task ends
        _spin(app, 900, until=lambda: w.analysis_task is None and shown)
        _spin(app, 0.3)  # the repaint after the last step
        ana = meter.stop()
        ana["seconds"] = time.perf_counter() - t0
        result = _as_dict(w.analysis)
        ana["parts"] = [part for part, key in (("tags", "moods"), ("music", "tempo_bpm"))
                        if result.get(key) is not None]
        errors = result.get("errors") or {}
        ana["errors"] = ([f"{k}: {v}" for k, v in errors.items()] if isinstance(errors, dict)
                         else [str(e) for e in errors])
        ana["message"] = w.message.text() if w.message.isVisible() else ""
        w.close()
        if old_data is None:
            os.environ.pop("MUSICAPP_DATA_DIR", None)
        else:
            os.environ["MUSICAPP_DATA_DIR"] = old_data
    return {"idle": idle, "load": load, "analysis": ana}


def _as_dict(analysis) -> dict:
    """The flat dict of a TrackAnalysis (or of an older tree's plain dict)."""
    if analysis is None:
        return {}
    return analysis.to_dict() if hasattr(analysis, "to_dict") else dict(analysis)


def analysis_speed(tracks: int = 3, track_seconds: float = 180.0) -> dict:
    """Wall time of the GUI's analysis (Analyse pressed to result shown) of ``tracks``
    different generated tracks one after the other, then of the first one opened again (what
    a cache gives). The first track includes starting the analysis process."""
    import soundfile as sf

    from musicapp_lab.gui.screenshots import SR, demo_track

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        os.environ["MUSICAPP_DATA_DIR"] = str(tmp / "data")  # an empty analysis cache
        paths = []
        for i in range(tracks):
            spc = (2.0, 2.5, 1.5, 3.0)[i % 4]
            y = demo_track(seconds_per_chord=spc, bars=int(track_seconds / spc),
                           bpm=(120.0, 96.0, 140.0, 84.0)[i % 4])
            path = tmp / f"track{i}.ogg"
            with sf.SoundFile(str(path), "w", SR, 1, format="OGG", subtype="VORBIS") as f:
                for j in range(0, len(y), 8192):  # in blocks: libsndfile's Vorbis encoder
                    f.write(y[j:j + 8192])
            paths.append(path)
        app, w = _make_window(tmp)
        times, meter, where = [], StallMeter(), []
        meter.start()
        for path in [*paths, paths[0]]:
            w.open_file(str(path))
            _spin(app, 120, until=lambda: w.load_task is None)
            worker = getattr(w, "analysis_worker", None)
            if worker is not None and hasattr(worker, "last_seconds"):
                worker.last_seconds = {}
            t0 = time.perf_counter()
            w.start_analysis()
            _spin(app, 900, until=lambda: w.analysis_task is None)
            times.append(time.perf_counter() - t0)
            where.append(dict(getattr(worker, "last_seconds", None) or {}))
        stalls = meter.stop()
        ok = bool(_as_dict(w.analysis).get("moods"))
        w.close()
        os.environ.pop("MUSICAPP_DATA_DIR", None)
    return {"first_s": times[0], "later_s": times[1:-1], "reopened_s": times[-1],
            "track_s": track_seconds, "stalls": stalls, "ok": ok, "where": where[1:-1]}


def _where(wall: float, seconds: dict) -> str:
    """Where one later track's wall time went (the worker reports its part)."""
    if not seconds.get("round_trip"):
        return f"{wall:.2f} s"
    worker = seconds.get("decode", 0.0) + seconds.get("analysis", 0.0)
    return (f"{wall:.2f} s = worker decode {seconds.get('decode', 0.0):.2f} + analysis "
            f"{seconds.get('analysis', 0.0):.2f} + IPC {seconds['round_trip'] - worker:.2f} + "
            f"GUI (cache key and write, drawing) {wall - seconds['round_trip']:.2f}")


def recording(seconds: float = 60.0) -> dict:
    """Record ``seconds`` while the demo plays and the feature-map model runs."""
    from musicapp.audio.devices import list_input_devices
    from musicapp.audio.player import Player
    from musicapp_lab.gui.screenshots import SR, demo_track

    try:
        if not list_input_devices():
            return {"skipped": "no input device"}
    except Exception as exc:
        return {"skipped": f"no audio devices: {exc}"}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        app, w = _make_window(tmp)
        w.tabs.setCurrentWidget(w.feature_view)
        size = (w.width(), w.height())
        music = np.tile(demo_track(), int(np.ceil((seconds + 10) / 16.0)))
        player = Player(music, SR)
        meter = StallMeter()
        if not w.start_recording(str(tmp / "take.wav")):
            return {"skipped": w.message.text()}
        _spin(app, 30, until=lambda: w.spectrogram.duration_s > 0.2)
        player.play()
        _spin(app, 60, until=lambda: w.feature_engine is not None and w.feature_engine.runs > 0)
        paints0, maps0 = w.spectrogram.paints.count, w.feature_view.updates
        frames0, t0 = w.spectrogram.duration_s, time.perf_counter()
        meter.start()
        _spin(app, seconds)
        stalls = meter.stop()
        dt = time.perf_counter() - t0
        paints, maps = w.spectrogram.paints.count - paints0, w.feature_view.updates - maps0
        audio_s = w.spectrogram.duration_s - frames0
        w.stop_recording()
        _spin(app, 30, until=lambda: w.capture is None)
        player.stop()
        out = {"seconds": dt, "fps": paints / dt, "window": size,
               "spectrogram_s_per_s": audio_s / dt, "overflows": int(w.record_overflows),
               "model_runs_per_s": maps / dt,
               "model_ms": (w.feature_engine.last_seconds * 1000 if w.feature_engine else None),
               "stalls": stalls, "error": w.last_error}
        w.close()
    return out


PARTS = ("start", "stalls", "speed", "record")


def run(record_seconds: float = 60.0, track_seconds: float = 30.0, runs: int = 3,
        speed_tracks: int = 3, parts: tuple[str, ...] = PARTS) -> int:
    """Run the ``parts`` asked for (all by default) and print the figures; returns 0 when all
    their targets are met."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    ok = True
    print("musicapp bench gui")
    print(f"platform: {os.environ.get('QT_QPA_PLATFORM') or 'default'}, "
          f"DISPLAY={os.environ.get('DISPLAY', '')}; load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    if "start" in parts:
        ok &= _report_start(runs)
    if "stalls" in parts:
        ok &= _report_stalls(track_seconds)
    if "speed" in parts and speed_tracks > 0:
        ok &= _report_speed(speed_tracks)
    if "record" in parts and record_seconds > 0:
        ok &= _report_recording(record_seconds)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("all targets met" if ok else "some targets missed")
    return 0 if ok else 1


def _report_start(runs: int) -> bool:
    cs = cold_start(runs)
    ratio = cs["app_s"] / cs["bare_s"]
    print(f"cold start to visible window: {cs['app_s']:.2f} s (median of {cs['runs']}); "
          f"bare PySide6 window: {cs['bare_s']:.2f} s; ratio {ratio:.2f}x; "
          f"torch imported: {cs['torch_imported']}  [target < 2 s, no torch]")
    return cs["app_s"] < 2.0 and not cs["torch_imported"]


def _report_stalls(track_seconds: float) -> bool:
    st = analysis_stalls(track_seconds)
    idle = st["idle"]
    for name in ("load", "analysis"):
        s = st[name]
        print(f"event loop while {name:8s}: max stall {s['max_ms']:.1f} ms, p99 {s['p99_ms']:.1f} "
              f"ms, ticks > {STALL_LIMIT_MS:.0f} ms: {s['over_limit']} of {s['ticks']} "
              f"({s['seconds']:.1f} s); idle reference max {idle['max_ms']:.1f} ms "
              f"(ratio {s['max_ms'] / max(idle['max_ms'], 0.1):.1f}x)")
    a = st["analysis"]
    print(f"analysis parts: {', '.join(a['parts']) or 'none'}"
          + (f"; problems: {'; '.join(a['errors'])}" if a["errors"] else ""))
    return st["analysis"]["max_ms"] <= STALL_LIMIT_MS


def _report_speed(speed_tracks: int) -> bool:
    sp = analysis_speed(speed_tracks)
    later = max(sp["later_s"]) if sp["later_s"] else float("nan")
    print(f"GUI analysis of {sp['track_s'] / 60:.0f}-minute tracks: first {sp['first_s']:.2f} s "
          f"(starts the analysis process), later tracks "
          f"{', '.join(f'{t:.2f}' for t in sp['later_s'])} s, the first one reopened "
          f"{sp['reopened_s']:.2f} s; max stall {sp['stalls']['max_ms']:.1f} ms  "
          f"[targets: later <= 4 s, reopened < 0.5 s]")
    for i, (wall, seconds) in enumerate(zip(sp["later_s"], sp["where"], strict=True)):
        print(f"  track {i + 2}: {_where(wall, seconds)}")
    return sp["ok"] and later <= 4.0 and sp["reopened_s"] < 0.5


def _report_recording(record_seconds: float) -> bool:
    rec = recording(record_seconds)
    if "skipped" in rec:
        print(f"recording: skipped ({rec['skipped']})")
        return True
    s = rec["stalls"]
    print(f"recording {rec['seconds']:.0f} s with the model running: live spectrogram "
          f"{rec['fps']:.1f} frames/s at {rec['window'][0]}x{rec['window'][1]} "
          f"(ratio to 30 fps target {rec['fps'] / 30:.2f}x), "
          f"{rec['spectrogram_s_per_s']:.2f} s of spectrogram per s, "
          f"input overflows {rec['overflows']}, model {rec['model_runs_per_s']:.1f} runs/s"
          + (f" ({rec['model_ms']:.0f} ms each)" if rec["model_ms"] else "")
          + f", max stall {s['max_ms']:.1f} ms (p99 {s['p99_ms']:.1f} ms, "
          f"{s['over_limit']} of {s['ticks']} ticks > {STALL_LIMIT_MS:.0f} ms)")
    if rec["error"]:
        print(f"  error: {rec['error']}")
    return rec["fps"] >= 30 and rec["overflows"] == 0
