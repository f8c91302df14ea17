"""Take screenshots of the app's main states: ``python -m musicapp_lab.gui.screenshots OUTDIR``.

Run it with a real X server (``Xvfb :99 -screen 0 1280x800x24 -nolisten tcp &`` and
``DISPLAY=:99``): the pictures are grabbed from the screen, i.e. what the X server shows. With
``QT_QPA_PLATFORM=offscreen`` the widgets are rendered instead. Recording screenshots need an
input device (e.g. the PulseAudio null sink); without one that state is skipped.

The demo track is synthesised here (chords, bass, a melody and drums), so nothing is downloaded.
The user's settings are not touched (a temporary QSettings file is used).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SR = 44100


def demo_track(seconds_per_chord: float = 2.0, bars: int = 8, bpm: float = 120.0) -> np.ndarray:
    """A little piece in A minor: Am F C G with bass, melody, kick, snare and hi-hat."""
    rng = np.random.default_rng(1)
    prog = [(57, [0, 3, 7]), (53, [0, 4, 7]), (48, [0, 4, 7]), (55, [0, 4, 7])]
    n = int(SR * seconds_per_chord * bars)
    y = np.zeros(n, np.float32)
    t_chord = np.arange(int(SR * seconds_per_chord)) / SR
    env = np.minimum(1, t_chord / 0.02) * np.exp(-t_chord * 0.9)

    def tone(midi: float, t: np.ndarray, harmonics=(1.0, 0.5, 0.25)) -> np.ndarray:
        f = 440.0 * 2 ** ((midi - 69) / 12)
        return sum(a * np.sin(2 * np.pi * f * (k + 1) * t) for k, a in enumerate(harmonics))

    for b in range(bars):
        root, shape = prog[b % len(prog)]
        s = int(b * seconds_per_chord * SR)
        seg = sum(tone(root + 12 + iv, t_chord) for iv in shape) * env * 0.08
        seg += tone(root - 12, t_chord, (1.0, 0.3)) * env * 0.18
        for k in range(4):  # melody: chord tones, one per beat
            st = int(k * seconds_per_chord / 4 * SR)
            tn = t_chord[: int(seconds_per_chord / 4 * SR)]
            note = root + 24 + shape[rng.integers(0, 3)]
            seg[st:st + len(tn)] += tone(note, tn, (1.0, 0.2)) * np.exp(-tn * 4) * 0.12
        y[s:s + len(seg)] += seg.astype(np.float32)
    beat = 60.0 / bpm
    for i in range(int(n / SR / beat)):
        s = int(i * beat * SR)
        tk = np.arange(int(0.15 * SR)) / SR
        if i % 2 == 0:  # kick
            kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-tk * 30)) * tk) * np.exp(-tk * 18)
            y[s:s + len(tk)] += 0.5 * kick[: n - s]
        else:  # snare
            sn = rng.standard_normal(len(tk)) * np.exp(-tk * 25)
            y[s:s + len(tk)] += 0.2 * sn[: n - s]
        hh = rng.standard_normal(int(0.03 * SR)) * np.exp(-np.arange(int(0.03 * SR)) / 200)
        h = s + int(beat / 2 * SR)
        y[h:h + len(hh)] += 0.05 * hh[: max(0, n - h)]
    return (0.8 * y / np.max(np.abs(y))).astype(np.float32)


class Shooter:
    """Drives the window and saves PNGs."""

    def __init__(self, app, window, outdir: Path) -> None:
        self.app = app
        self.window = window
        self.outdir = outdir
        self.saved: list[Path] = []

    def pump(self, seconds: float = 0.3) -> None:
        """Process events for a while (let the window repaint)."""
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.app.processEvents()
            time.sleep(0.01)

    def wait(self, cond, timeout: float = 120.0) -> bool:
        """Process events until ``cond()`` is true."""
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if cond():
                return True
            self.app.processEvents()
            time.sleep(0.02)
        return False

    def shot(self, name: str, widget=None) -> Path:
        """Save the window (or ``widget``) as ``NAME.png`` grabbed from the screen."""
        widget = widget or self.window
        self.pump(0.4)
        screen = widget.screen()
        if self.app.platformName() in ("xcb", "wayland") and screen is not None:
            pix = screen.grabWindow(widget.winId())
        else:
            pix = widget.grab()
        path = self.outdir / f"{name}.png"
        pix.save(str(path))
        self.saved.append(path)
        print(f"saved {path} ({pix.width()}x{pix.height()})", flush=True)
        return path


#: window sizes every main view is shot at (small laptop, common laptop, full HD)
SIZES = ((1024, 640), (1280, 800), (1920, 1080))


def run(outdir: Path, record_seconds: float = 4.0, sizes=SIZES) -> list[Path]:
    """Produce every screenshot into ``outdir``; returns the files written.

    The main views (analysis, musician's views, feature maps, composer, library) are shot at
    each of ``sizes`` with the whole track in view; the other states at 1280x800.
    """
    from PySide6.QtCore import QSettings, QTimer

    from musicapp.audio import write_wav
    from musicapp.gui.app import create_app
    from musicapp.gui.main_window import MainWindow

    outdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="musicapp-shots-"))
    demo = tmp / "demo-song.wav"
    write_wav(demo, demo_track(bars=40), SR)
    app = create_app()
    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("folders/takes", str(tmp / "takes"))
    window = MainWindow(settings=settings, auto_analyze=False)
    window.resize(1280, 800)
    window.move(0, 0)
    window.show()
    s = Shooter(app, window, outdir)
    s.pump(1.0)
    s.shot("01-empty")

    window.open_file(str(demo))
    s.wait(lambda: window.load_task is None)
    s.shot("02-loaded")

    shown: list = []  # the result is shown in steps; the composer gets it in the last one
    window.analysis_finished.connect(shown.append)
    window.start_analysis()
    s.wait(lambda: bool(shown), timeout=300)
    window.seek(5.0)
    composer = window.composer
    composer.generate()
    s.wait(lambda: not composer.busy, timeout=60)
    if len(composer.blocks) > 2:  # show a locked chord and a selected one
        composer.blocks[2].lock.click()
        if hasattr(composer, "select"):
            composer.select(1)
    _fill_library(s, window, tmp, settings)
    for w, h in sizes:
        window.resize(w, h)
        s.pump(0.5)
        window.zoom_fit()
        tag = f"{w}x{h}"
        window.tabs.setCurrentWidget(window.analysis_panel)
        s.shot(f"{tag}-1-analysis")
        if window.panels_compact:  # a short window: the panels collapsed; and opened
            window.set_panels_compact(False, remember=False)
            s.pump(0.3)
            s.shot(f"{tag}-1b-analysis-details")
        views = getattr(window, "musician_view", None)
        if views is not None:
            window.tabs.setCurrentWidget(views)
            # the chromagram comes from a worker: wait for it, not only for the spectrum
            s.wait(lambda v=views: v.updates > 0 and getattr(v, "result", None) is not None,
                   timeout=120)
            s.pump(0.3)
            s.shot(f"{tag}-2-musician-views")
        window.tabs.setCurrentWidget(window.feature_view)
        window.feature_view.layer.setCurrentText("mid1")
        s.wait(lambda: window.feature_view.updates > 0, timeout=60)
        s.shot(f"{tag}-3-feature-maps")
        window.tabs.setCurrentWidget(composer)
        s.shot(f"{tag}-4-composer")
        window.tabs.setCurrentWidget(window.library)
        s.shot(f"{tag}-5-library")
    window.resize(1280, 800)
    s.pump(0.3)
    if len(composer.blocks) > 4:  # a chord card's ranked alternatives, as the menu shows them
        window.tabs.setCurrentWidget(composer)
        s.pump(0.3)
        composer.show_alternatives(4)
        s.wait(lambda: composer.alt_menu is not None and composer.alt_menu.isVisible(), 60)
        s.shot("1280x800-6-composer-alternatives")
        composer.alt_menu.close()
        s.pump(0.2)

    bad = tmp / "broken.mp3"
    bad.write_bytes(b"ID3" + bytes(range(256)) * 4)
    window.tabs.setCurrentWidget(window.analysis_panel)
    window.open_file(str(bad))
    s.wait(lambda: window.load_task is None)
    s.shot("07-bad-file")

    if _can_record():
        from musicapp.audio.player import Player

        window.tabs.setCurrentWidget(window.feature_view)
        window.feature_view.layer.setCurrentText("frontend")
        if window.start_recording():
            s.wait(lambda: window.capture is not None and window.capture.recorder is not None, 10)
            player = Player(demo_track()[: int(SR * (record_seconds + 2))], SR)
            player.play()
            s.wait(lambda: window.spectrogram.live
                   and window.spectrogram.duration_s >= record_seconds, record_seconds + 20)
            s.shot("08-recording")
            window.stop_recording()
            s.wait(lambda: window.capture is None, 20)
            player.stop()
            s.wait(lambda: window.load_task is None)
    else:
        print("no input device: skipped the recording screenshot", flush=True)

    from musicapp.gui.about import AboutDialog

    about = AboutDialog(window)
    about.show()
    s.pump(0.5)
    s.shot("09-about", about)
    QTimer.singleShot(0, about.close)
    s.pump(0.2)
    window.close()
    return s.saved


def _fill_library(s: Shooter, window, tmp: Path, settings) -> None:
    """Index three tagged demo songs (fingerprints only: quick) and identify an excerpt of one,
    so that the library view shows titles and an identification."""
    import soundfile as sf

    folder = tmp / "library"
    folder.mkdir()
    songs = (("Night Drive", "The Demo Band", "Synthetic Songs", 2.0, 120.0),
             ("Slow Morning", "The Demo Band", "Synthetic Songs", 3.0, 84.0),
             ("Run", None, None, 1.5, 140.0))
    excerpt = None
    for i, (title, artist, album, spc, bpm) in enumerate(songs):
        y = demo_track(seconds_per_chord=spc, bars=int(24 / spc), bpm=bpm)
        if i == 1:
            excerpt = y[int(5.0 * SR): int(13.0 * SR)] * 0.6
        with sf.SoundFile(str(folder / f"song{i + 1}.flac"), "w", SR, 1, format="FLAC") as f:
            f.title = title
            if artist:
                f.artist, f.album = artist, album
            f.write(y)
    settings.setValue("library/db", str(tmp / "library.sqlite3"))
    settings.setValue("library/analyse", False)
    library = window.library
    library.add_folder(str(folder))
    s.wait(lambda: library.task is None, timeout=300)
    s.wait(lambda: library.task is None and len(library.rows) == len(songs), timeout=60)
    clip = tmp / "phone-recording.wav"
    from musicapp.audio import write_wav

    write_wav(clip, excerpt.astype(np.float32), SR)
    library.identify(str(clip))
    s.wait(lambda: library.task is None, timeout=120)


def _can_record() -> bool:
    try:
        from musicapp.audio.devices import list_input_devices

        return bool(list_input_devices())
    except Exception:
        return False


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m musicapp_lab.gui.screenshots",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="folder for the PNG files")
    parser.add_argument("--record-seconds", type=float, default=4.0)
    args = parser.parse_args(argv)
    saved = run(args.outdir, args.record_seconds)
    print(f"{len(saved)} screenshots in {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
