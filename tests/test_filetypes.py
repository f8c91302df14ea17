"""One list of audio file types for the CLI, the library scan and the GUI."""

from __future__ import annotations

from musicapp.filetypes import AUDIO_EXTENSIONS, dialog_filter, is_audio_name


def test_common_formats_and_case() -> None:
    for name in ("a.wav", "b.FLAC", "c.Mp3", "d.ogg", "e.opus", "f.m4a", "g.aiff"):
        assert is_audio_name(name), name
    for name in ("notes.txt", "cover.jpg", "song", "clip.mid"):
        assert not is_audio_name(name), name


def test_dialog_filter_lists_every_type() -> None:
    text = dialog_filter()
    assert all(f"*{ext}" in text for ext in AUDIO_EXTENSIONS)
    assert text.endswith(";;All files (*)")


def test_every_consumer_uses_the_one_list() -> None:
    from musicapp.cli import analyze
    from musicapp.library import store

    assert store.AUDIO_EXTENSIONS is AUDIO_EXTENSIONS
    assert analyze.AUDIO_EXTENSIONS is AUDIO_EXTENSIONS


def test_cli_start_up_imports_no_decoder():
    """The file-type list is on every command's start-up path: it must not pull in numpy or the
    decoders (a module-level import of musicapp.audio did, +0.3 s per command)."""
    import subprocess
    import sys

    code = ("import sys, musicapp.cli; musicapp.cli.build_parser(); "
            "print('numpy' in sys.modules, 'soundfile' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
