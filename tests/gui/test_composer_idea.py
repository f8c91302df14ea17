"""The composer's idea survives close, SIGTERM and a restart; a bad saved file is reported.

Real windows, real files in the test's own data folder (``MUSICAPP_DATA_DIR``, set per test by
``private_data_dir``), and for SIGTERM the real app in a child process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.gui.test_composer import _generate, _generator

#: a hang guard, not a speed assertion
HANG_GUARD_S = 180.0


def _new_window(qtbot, settings):
    from musicapp.gui.main_window import MainWindow

    w = MainWindow(settings=settings, auto_analyze=False)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    return w


def _composer(window):
    panel = window.composer
    panel.session.generator = _generator()
    window.tabs.setCurrentWidget(panel)
    return panel


def _idea_path(data_dir: Path) -> Path:
    return data_dir / "composer" / "idea.json"


def _tokens(prog) -> list[tuple[str, float]]:
    return [(t.token, b) for t, b in zip(prog.tokens, prog.beats, strict=True)]


def test_generate_lock_close_and_a_new_window_has_the_same_idea(qtbot, window, settings,
                                                                private_data_dir):
    """Before: close returned True without asking and the new window had no progression."""
    composer = _composer(window)
    composer.mood.setCurrentText("dreamy")
    composer.tonic.setCurrentText("E")
    composer.mode.setCurrentText("minor")
    composer.length.setValue(6)
    _generate(qtbot, composer)
    composer.blocks[0].lock.click()
    composer.blocks[2].lock.click()
    composer.pattern.setCurrentIndex(composer.pattern.findData("arpeggio"))
    composer.instrument.setCurrentIndex(composer.instrument.findData(48))
    composer.tempo.setValue(123)  # a settings change: saved after a delay, or by the close
    prog = composer.session.progression
    saved_tokens, saved_arr = _tokens(prog), composer.arrangement
    assert window.close()

    doc = json.loads(_idea_path(private_data_dir).read_text())
    assert doc["format"] == "musicapp-composer-idea" and doc["version"] == 1
    assert doc["idea"]["settings"]["tempo_bpm"] == 123  # written by the close

    w2 = _new_window(qtbot, settings)
    c2 = w2.composer
    restored = c2.session.progression
    assert restored is not None
    assert _tokens(restored) == saved_tokens
    assert restored.key.name == "E minor" and restored.meter == prog.meter
    assert c2.session.locked == {0, 2}
    assert [b.lock.isChecked() for b in c2.blocks] == [True, False, True, False, False, False]
    assert c2.chord_names == list(prog.names)
    assert (c2.tempo.value(), c2.pattern.currentData(), c2.instrument.currentData()) == \
           (123, "arpeggio", 48)
    assert (c2.mood.currentText(), c2.length.value()) == ("dreamy", 6)
    assert c2.info.full_text.startswith("Restored your last idea from ")
    assert c2.session.generator is None  # restoring loaded no model
    # the voicing, bass and melody the composer showed are the same notes
    assert c2.arrangement.melody == saved_arr.melody and c2.arrangement.bass == saved_arr.bass
    assert c2.arrangement.chords == saved_arr.chords

    # generating again keeps the restored locks
    c2.session.generator = _generator()
    _generate(qtbot, c2)
    after = c2.session.progression
    assert after.tokens[0] == restored.tokens[0] and after.tokens[2] == restored.tokens[2]
    w2.close()


def test_notes_saved_by_another_arranger_are_said_to_differ(qtbot, window, settings,
                                                           private_data_dir):
    composer = _composer(window)
    _generate(qtbot, composer)
    names = list(composer.session.progression.names)
    assert window.close()
    path = _idea_path(private_data_dir)
    doc = json.loads(path.read_text())
    doc["idea"]["arrangement"]["melody"][0][2] += 1  # as another version would have written
    path.write_text(json.dumps(doc))
    w2 = _new_window(qtbot, settings)
    assert w2.composer.chord_names == names
    assert w2.composer.info.full_text.endswith("(arranged again: the voicing or melody may "
                                               "differ)")
    w2.close()


def test_new_clears_the_idea_and_keeps_the_old_one_aside(qtbot, window, settings,
                                                         private_data_dir):
    composer = _composer(window)
    _generate(qtbot, composer)
    names = list(composer.session.progression.names)
    assert composer.new_button.isEnabled()
    composer.new_button.click()
    assert composer.session.progression is None and composer.blocks == []
    assert not _idea_path(private_data_dir).exists()
    kept = list((private_data_dir / "composer" / "previous").glob("idea-*.json"))
    assert len(kept) == 1
    assert [c["name"] for c in json.loads(kept[0].read_text())["idea"]["progression"]
            ["chords"]] == names
    assert window.close()
    w2 = _new_window(qtbot, settings)
    assert w2.composer.session.progression is None and w2.composer.blocks == []
    w2.close()


@pytest.mark.parametrize(("content", "says"), [
    (b"{\"format\": \"musicapp-composer-idea\", \"version\": 1, \"idea\": {\"progr", "not valid JSON"),
    (b"\x00\xff garbage", "not valid JSON"),
    (json.dumps({"format": "musicapp-composer-idea", "version": 7, "idea": {}}).encode(),
     "newer musicapp"),
    (json.dumps({"some": "other app"}).encode(), "not a musicapp composer idea"),
    (json.dumps({"format": "musicapp-composer-idea", "version": 1, "idea": {"progression": {
        "key": {"tonic": "H", "mode": "major"}, "chords": [], "meter": "4/4",
        "valence": 0, "arousal": 0}}}).encode(), "bad progression"),
])
def test_a_bad_saved_idea_is_reported_and_kept(qtbot, settings, private_data_dir, content, says):
    path = _idea_path(private_data_dir)
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    w = _new_window(qtbot, settings)
    composer = _composer(w)
    assert "could not be restored" in composer.info.full_text
    assert says in composer.info.full_text
    assert composer.session.progression is None
    assert path.read_bytes() == content  # left alone until the composer saves
    _generate(qtbot, composer)  # saving now keeps the unreadable file aside
    kept = list((private_data_dir / "composer" / "previous").glob("idea-*.json"))
    assert [k.read_bytes() for k in kept] == [content]
    assert json.loads(path.read_text())["idea"]["progression"] is not None
    w.close()


def test_two_windows_do_not_silently_destroy_each_others_idea(qtbot, settings,
                                                              private_data_dir):
    """Last writer wins the idea file; the idea it replaced is kept in previous/."""
    a = _new_window(qtbot, settings)
    b = _new_window(qtbot, settings)
    ca, cb = _composer(a), _composer(b)
    ca.mood.setCurrentText("sad")
    _generate(qtbot, ca)
    names_a = list(ca.session.progression.names)
    cb.tonic.setCurrentText("A")
    _generate(qtbot, cb)
    saved = json.loads(_idea_path(private_data_dir).read_text())["idea"]
    assert [c["name"] for c in saved["progression"]["chords"]] == \
           list(cb.session.progression.names)
    kept = list((private_data_dir / "composer" / "previous").glob("idea-*.json"))
    assert len(kept) == 1
    assert [c["name"] for c in json.loads(kept[0].read_text())["idea"]["progression"]
            ["chords"]] == names_a
    # b writing again does not copy its own idea aside
    cb.blocks[0].lock.click()
    assert len(list((private_data_dir / "composer" / "previous").glob("idea-*.json"))) == 1
    a.close()
    b.close()


# ---------------------------------------------------------------------- the real app, SIGTERM
#: runs the real app (musicapp.cli.main(["gui"]), its signal handling included); the only
#: addition is the user's part, done once the window is up: "make" generates a progression with
#: the shipped model and locks chord 1, "report" prints what the composer shows
DRIVER = textwrap.dedent("""
    import json, sys
    import musicapp.gui.app as app
    from PySide6.QtCore import QTimer

    mode = sys.argv[1]
    real_create = app.create_window

    def create_window(*args, **kwargs):
        window = real_create(*args, **kwargs)

        def act():
            c = window.composer
            if mode == "report":
                p = c.session.progression
                print("REPORT " + json.dumps({
                    "info": c.info.full_text, "locked": sorted(c.session.locked),
                    "tempo": c.tempo.value(),
                    "names": list(p.names) if p else None}), flush=True)
                return

            def made(names):
                c.progression_changed.disconnect(made)
                c.blocks[0].lock.click()
                # a tempo change just before the kill: only the close can save it in time
                c._save_timer.setInterval(10**8)
                c.tempo.setValue(97)
                print("IDEA " + json.dumps({"names": list(names)}), flush=True)

            c.progression_changed.connect(made)
            c.mood.setCurrentText("epic")
            c.length.setValue(4)
            c.generate()

        QTimer.singleShot(0, act)
        return window

    app.create_window = create_window
    from musicapp.cli import main
    sys.exit(main(["gui"]))
""")


def _run_until(tmp_path: Path, mode: str, tag: str) -> tuple[subprocess.Popen, dict]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MUSICAPP_DATA_DIR": str(tmp_path / "data"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, mode], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + HANG_GUARD_S
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(tag + " "):
            return proc, json.loads(line[len(tag) + 1:])
        if not line and proc.poll() is not None:
            pytest.fail(f"the GUI ended early: {proc.stderr.read()[-3000:]}")
    proc.kill()
    pytest.fail(f"the GUI never printed {tag}")


def _terminate(proc: subprocess.Popen) -> str:
    try:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM, err[-3000:]
    assert "Traceback" not in err
    return err


@pytest.mark.skipif(os.name != "posix", reason="sends SIGTERM")
def test_sigterm_keeps_the_idea_and_the_restarted_app_restores_it(tmp_path):
    proc, made = _run_until(tmp_path, "make", "IDEA")
    _terminate(proc)
    doc = json.loads(_idea_path(tmp_path / "data").read_text())
    assert [c["name"] for c in doc["idea"]["progression"]["chords"]] == made["names"]
    assert doc["idea"]["locked"] == [0]
    assert doc["idea"]["settings"]["tempo_bpm"] == 97  # saved by the SIGTERM-initiated close

    proc, shown = _run_until(tmp_path, "report", "REPORT")
    _terminate(proc)
    assert shown["names"] == made["names"]
    assert shown["locked"] == [0] and shown["tempo"] == 97
    assert shown["info"].startswith("Restored your last idea from ")
    # the restarted app's close wrote the same idea back (nothing copied aside)
    assert not (tmp_path / "data" / "composer" / "previous").exists()
