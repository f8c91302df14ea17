"""The command line: help everywhere, info, record, and start-up hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from musicapp.cli import build_parser, main
from tests.helpers.signals import stereo_test_signal, write_audio

ROOT = Path(__file__).resolve().parents[2]


def _subcommand_paths(parser, prefix=()):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _subcommand_paths(sub, (*prefix, name))


def test_every_command_has_help(capsys):
    paths = list(_subcommand_paths(build_parser()))
    assert ("info",) in paths and ("record",) in paths
    for path in paths:
        with pytest.raises(SystemExit) as exc:
            main([*path, "--help"])
        assert exc.value.code == 0
        assert "usage:" in capsys.readouterr().out


def test_info_json_and_text(tmp_path, capsys):
    path = write_audio(tmp_path / "t.flac", stereo_test_signal(1.5, 44100), 44100)
    assert main(["info", "--json", str(path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "FLAC" and info["channels"] == 2 and info["sample_rate"] == 44100
    assert info["duration_s"] == pytest.approx(1.5)
    assert main(["info", str(path)]) == 0
    assert "44100 Hz" in capsys.readouterr().out


def test_info_bad_file_reports_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"not audio at all" * 100)
    assert main(["info", str(bad)]) == 2
    assert "bad.mp3" in capsys.readouterr().err


def test_python_m_and_no_torch_on_startup():
    code = (
        "import sys, musicapp.cli; musicapp.cli.build_parser(); "
        "print(sorted(m for m in ('torch', 'librosa', 'PySide6') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    assert out.strip() == "[]"
    r = subprocess.run(
        [sys.executable, "-m", "musicapp", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 0 and "musicapp" in r.stdout


@pytest.mark.audio_device
def test_record_command(pulse_audio, tmp_path):
    out = tmp_path / "cli.wav"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run(
        [sys.executable, "-m", "musicapp", "record", str(out), "--seconds", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert sf.info(str(out)).duration == pytest.approx(1.0, abs=1e-3)
    r = subprocess.run(
        [sys.executable, "-m", "musicapp", "record", str(out), "--seconds", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 2 and "already exists" in r.stderr


def test_a_file_opens_the_gui_and_an_unknown_word_is_an_error(tmp_path, capsys):
    from musicapp.cli import _default_to_gui, build_parser

    parser = build_parser()
    song = tmp_path / "song.flac"
    song.write_bytes(b"")
    assert _default_to_gui([], parser) == ["gui"]
    assert _default_to_gui([str(song)], parser) == ["gui", str(song)]
    assert _default_to_gui(["-v", "missing.mp3"], parser) == ["-v", "gui", "missing.mp3"]
    assert _default_to_gui(["trian", "--help"], parser) == ["trian", "--help"]
    with pytest.raises(SystemExit) as exc:
        main(["trian"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err


HOSTILE_NAMES = {
    "newline+bidi": "new\nline \u00fc\u202e.wav",  # forges a second output line / reverses it
    "ansi": "bad\x1b[31mRED.wav",  # recolours the terminal
    "not-utf8": os.fsdecode(b"\xff\xfe.wav"),  # crashed print() under a strict UTF-8 locale
}


@pytest.mark.parametrize("label", sorted(HOSTILE_NAMES))
def test_file_names_are_escaped_in_human_output(tmp_path, label):
    """`info` and `analyze` print file names escaped, in the good and the error case, and do not
    crash with a strict UTF-8 stdout (a desktop's en_US.UTF-8, unlike the C.UTF-8 of CI)."""
    from musicapp.library.textsafe import display

    plain = write_audio(tmp_path / "plain.wav", stereo_test_signal(1.5, 44100), 44100)
    good = plain.rename(tmp_path / HOSTILE_NAMES[label])  # soundfile cannot open a non-UTF-8 name
    bad = tmp_path / ("x" + HOSTILE_NAMES[label])
    bad.write_bytes(b"not audio at all" * 100)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "PYTHONPATH": str(ROOT)}
    for args in (["info", good.name, bad.name], ["analyze", "--no-tags", "--no-music", good.name],
                 ["analyze", "--no-tags", "--no-music", bad.name]):
        r = subprocess.run([sys.executable, "-m", "musicapp", *args], cwd=tmp_path, env=env,
                           capture_output=True, timeout=300)
        out, err = r.stdout.decode("utf-8"), r.stderr.decode("utf-8")
        assert "Traceback" not in err, err
        for text in (out, err):
            assert "\x1b" not in text and "\u202e" not in text
            assert not any(line.startswith("line") for line in text.splitlines())
        if args[-1] == good.name:
            assert r.returncode == 0 and display(good.name) in out
        else:
            assert r.returncode == 2 and "musicapp: error: x" in err


def test_record_takes_overwrite_like_every_other_command(tmp_path, capsys):
    # `chords`, `analyze` and the GUI say --overwrite; `record` knew only --force
    args = build_parser().parse_args(["record", str(tmp_path / "t.wav"), "--seconds", "1",
                                      "--overwrite"])
    assert args.force is True
    take = tmp_path / "take.wav"
    take.write_bytes(b"old take")
    assert main(["record", str(take), "--seconds", "1"]) == 2
    assert "use --force" in capsys.readouterr().err and take.read_bytes() == b"old take"


@pytest.mark.parametrize("argv", [
    ["chords", "--from-audio", ""], ["chords", "--from-json", ""], ["chords", "--from-image", ""],
    ["chords", "--from-midi", ""], ["chords", "--mood", "sad", "--soundfont", " "],
    ["chords", "--mood", "sad", "--model", ""], ["info", ""], ["library", "add", ""],
    ["library", "identify", ""], ["library", "similar", ""], ["library", "remove", ""],
])
def test_empty_file_names_are_refused(argv, capsys, tmp_path, monkeypatch):
    # before: `chords --from-audio ""` silently ignored the source and wrote a loop for the
    # default emotion; `library add ""` indexed the current folder
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "the file name is empty" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_termination_during_an_export_keeps_the_old_file_and_leaves_no_temporary(tmp_path,
                                                                                 signame):
    """SIGTERM (``kill``, a shutdown) or SIGHUP (the terminal closed) while the WAV's temporary
    file is being written: the default action killed the process and left the hidden
    ``.out.wav.*.tmp.wav`` behind; now it ends like Ctrl+C, cleaning up."""
    import signal
    import time

    sig = getattr(signal, signame)
    target = tmp_path / "out.wav"
    target.write_bytes(b"OLD")
    proc = subprocess.Popen(
        [sys.executable, "-m", "musicapp", "chords", "--mood", "happy", "--length", "16",
         "--tempo", "60", "-o", str(tmp_path / "a.mid"), "--wav", str(target), "--overwrite"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
    caught = False
    while proc.poll() is None:  # signal it as soon as its temporary file exists
        if any(p.name.startswith(".out.wav.") for p in tmp_path.iterdir()):
            proc.send_signal(sig)
            caught = True
            break
        time.sleep(0.0005)
    _out, err = proc.communicate(timeout=120)
    if not caught:
        pytest.skip("the export finished before its temporary file was seen")
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # either way
    if proc.returncode == 0:
        # the signal landed after the last write (a loaded machine): the export is whole
        import soundfile as sf

        assert sf.info(str(target)).frames > 0
        return
    assert proc.returncode == 128 + sig, err.decode()
    assert "terminated" in err.decode()
    if target.read_bytes() != b"OLD":
        # the signal landed between the atomic rename and the exit (seen on a loaded CI
        # machine): the new export is there whole, never a partial file
        import soundfile as sf

        assert sf.info(str(target)).frames > 0 and sf.read(str(target))[0].size > 0


@pytest.mark.parametrize(("argv", "said"), [
    (["analyze", "x.wav", "--midi", ""], "argument --midi: the file name is empty"),
    (["analyze", "x.wav", "--jams", " "], "argument --jams: the file name is empty"),
    (["analyze", "x.wav", "--csv", ""], "argument --csv: the file name is empty"),
    (["analyze", "x.wav", "--device", ""], "argument --device: the device is empty"),
    (["record", "x.wav", "--seconds", "1", "--device", " "],
     "argument --device: the device is empty"),
])
def test_empty_outputs_and_devices_are_refused(argv, said, capsys, tmp_path, monkeypatch):
    """`analyze --midi ''` skipped the export silently; `--device ''` meant the default device."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and said in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_info_warns_about_an_mp3_cut_in_half(tmp_path, capsys):
    """``info`` read 60.000 s from a half MP3's header without a word (analyze found 30 s)."""
    import numpy as np

    t = np.arange(20 * 44100) / 44100
    full = tmp_path / "song.mp3"
    sf.write(full, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 44100,
             format="MP3", subtype="MPEG_LAYER_III")
    raw = full.read_bytes()
    cut = tmp_path / "bad_trunc.mp3"
    cut.write_bytes(raw[: len(raw) // 2])
    assert main(["info", str(full)]) == 0
    assert "warning" not in capsys.readouterr().out
    assert main(["info", str(cut)]) == 0
    out = capsys.readouterr().out
    assert "duration: 0:20.0 (header says; about 0:10 decodes)" in out  # a claim, said so
    assert "warning: the file is shorter than its header says (about 10 s of 20 s)" in out
    assert main(["info", "--json", str(cut)]) == 0
    said = json.loads(capsys.readouterr().out)["warnings"]
    assert said == ["the file is shorter than its header says (about 10 s of 20 s)"]
