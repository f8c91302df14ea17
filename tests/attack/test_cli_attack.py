"""Issue 14, C9/U2/U6 (and H2): hostile arguments, inputs and output paths of the CLI.

Every numeric option is refused by argparse with a message naming the option and the allowed
range; every output is checked before anything is written; inputs must be regular files;
exports honour the umask; a closed stdout pipe exits quietly.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from musicapp.cli import main
from tests.attack._cli import ROOT, assert_clear_error, run_cli

# ---- C9 / U2: numeric options ----------------------------------------------------------------

BAD_OPTIONS = [
    ["chords", "--candidates", "0"],
    ["chords", "--candidates", "-3"],
    ["chords", "--candidates", "100000000"],
    ["chords", "--seed", "-1"],
    ["chords", "--tempo", "1"],
    ["chords", "--tempo", "-120"],
    ["chords", "--tempo", "nan"],
    ["chords", "--tempo", "inf"],
    ["chords", "--temperature", "nan"],
    ["chords", "--temperature", "-1"],
    ["chords", "--top-p", "0"],
    ["chords", "--top-p", "nan"],
    ["chords", "--top-p", "-1"],
    ["chords", "--progression", "I V vi IV", "--regenerate-from", "0"],
    ["chords", "-o", ""],
    ["chords", "--wav", " "],
    ["chords", "--valence", "nan", "--arousal", "0"],
    ["chords", "--valence", "0", "--arousal", "inf"],
    ["chords", "--max-nondiatonic", "-1"],
    ["record", "take.wav", "--seconds", "nan"],
    ["record", "take.wav", "--seconds", "inf"],
    ["record", "take.wav", "--seconds", "0"],
    ["record", "take.wav", "--seconds", "1", "--rate", "0"],
    ["record", "take.wav", "--seconds", "1", "--channels", "0"],
    ["record", "take.wav", "--seconds", "1", "--channels", "100000"],
    ["record", "", "--seconds", "1"],
    ["analyze", "--threads", "100000", "x.wav"],
    ["analyze", "--threads", "0", "x.wav"],
]


@pytest.mark.parametrize("argv", BAD_OPTIONS, ids=[" ".join(a[1:]) or "empty" for a in BAD_OPTIONS])
def test_bad_numeric_option_is_refused_by_argparse(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and ("must be" in err or "file name" in err), err
    assert not list(tmp_path.iterdir())  # nothing was written


# ---- --from-json ------------------------------------------------------------------------------

JSON_CASES = {
    "list.json": (b"[1, 2, 3]", "expected a JSON object"),
    "types.json": (b'{"valence": [1], "arousal": "x"}', "analysis result"),
    "moods.json": (b'{"moods": [{"tag": 5, "percentile": "x"}]}', "not a usable analysis result"),
    "deep.json": (b'{"valence":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "cannot read analysis JSON"),
    "binary.json": (bytes(range(128, 256)) * 8, "cannot read analysis JSON"),
    "nan.json": (b'{"valence": NaN, "arousal": 0.1}', "cannot read analysis JSON"),
    "empty.json": (b"", "cannot read analysis JSON"),
}


@pytest.mark.parametrize("name", sorted(JSON_CASES))
def test_from_json_bad_content_is_a_clear_error(name, tmp_path, capsys):
    data, message = JSON_CASES[name]
    p = tmp_path / name
    p.write_bytes(data)
    assert main(["chords", "--from-json", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("musicapp: error:") and message in err, err


# ---- --from-image: decompression bombs and FIFOs ------------------------------------------------


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height RGB pixels (the pixels are never stored)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))  # fmt: skip
    return path


@pytest.mark.parametrize("side", [20_000, 10_000], ids=["400MP", "100MP"])
def test_from_image_pixel_bomb_is_refused(side, tmp_path, capsys):
    p = _png_header_only(tmp_path / "bomb.png", side, side)
    assert main(["chords", "--from-image", str(p)]) == 2
    assert "too large" in capsys.readouterr().err


def test_from_image_and_from_json_on_a_fifo_do_not_hang(tmp_path):
    fifo = tmp_path / "pic.png"
    os.mkfifo(fifo)
    for option in ("--from-image", "--from-json"):
        try:
            run = run_cli(["chords", option, fifo.name], tmp_path, timeout=60)
        except subprocess.TimeoutExpired:  # pragma: no cover - the failure being tested for
            pytest.fail(f"chords {option} hung on a FIFO")
        assert_clear_error(run, "not a regular file")


# ---- outputs: checked before anything is written -------------------------------------------


def test_no_partial_output_when_a_later_output_exists(tmp_path, capsys):
    existing = tmp_path / "existing.wav"
    existing.write_bytes(b"keep me")
    mid = tmp_path / "a.mid"
    assert main(["chords", "--mood", "happy", "-o", str(mid), "--wav", str(existing)]) == 2
    err = capsys.readouterr().err
    assert "use --overwrite" in err and "overwrite=True" not in err, err
    assert not mid.exists() and existing.read_bytes() == b"keep me"


@pytest.mark.parametrize(
    "target, message",
    [("missing/x.wav", "does not exist"), ("/proc/x.wav", "cannot write"),
     ("/sys/x.wav", "cannot write"), (".", "is a directory")],
    ids=["missing-folder", "proc", "sys", "directory"],
)  # fmt: skip
def test_unwritable_wav_target_is_a_clear_error(target, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mid = tmp_path / "ok.mid"
    assert main(["chords", "--mood", "calm", "-o", str(mid), "--wav", target]) == 2
    assert message in capsys.readouterr().err
    assert not mid.exists()


def test_same_file_for_two_outputs_is_refused(tmp_path, capsys):
    p = tmp_path / "x.out"
    assert main(["chords", "--mood", "calm", "-o", str(p), "--wav", str(p)]) == 2
    assert "two outputs" in capsys.readouterr().err


def test_full_disk_leaves_no_partial_output(tmp_path):
    # RLIMIT_FSIZE makes writes past 20 kB fail (EFBIG), like a disk that fills up mid-write.
    run = run_cli(["chords", "--mood", "happy", "-o", "a.mid", "--wav", "a.wav"], tmp_path,
                  timeout=120, fsize_limit=20_000)  # fmt: skip
    assert_clear_error(run, "cannot write")
    leftovers = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
    leftovers += [p.name for p in tmp_path.glob(".a.*")]  # the writers' temporary files
    assert leftovers == [], leftovers


def test_exports_honour_the_umask(tmp_path):
    run = run_cli(["chords", "--mood", "happy", "-o", "a.mid", "--wav", "a.wav"], tmp_path,
                  timeout=120, umask=0o002)  # fmt: skip
    assert run.rc == 0, run.stderr
    for name in ("a.mid", "a.wav"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o664, name


def test_record_refuses_an_existing_file_before_opening_a_device(tmp_path, capsys):
    take = tmp_path / "take.wav"
    take.write_bytes(b"old take")
    assert main(["record", str(take), "--seconds", "1"]) == 2
    assert "use --force" in capsys.readouterr().err
    assert take.read_bytes() == b"old take"


# ---- broken pipe ----------------------------------------------------------------------------


def test_info_into_a_closed_pipe_exits_quietly(tmp_path):
    import soundfile as sf

    from tests.attack.hostile import tone

    wav = tmp_path / "t.wav"
    sf.write(wav, tone(0.5, 22050), 22050)
    cmd = f"{sys.executable} -m musicapp info {' '.join([wav.name] * 200)} | head -1"
    r = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert r.stdout.strip() == "t.wav"
    assert r.stderr == "", r.stderr


def test_analysis_json_lines_are_accepted(tmp_path, capsys):
    p = tmp_path / "a.jsonl"
    p.write_text(json.dumps({"valence": 0.5, "arousal": -0.2}) + "\n" + json.dumps({"valence": 0}) + "\n")
    assert main(["chords", "--from-json", str(p), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["valence"] == 0.5


def test_analysis_exports_on_a_full_disk_keep_the_old_file(tmp_path):
    """`analyze --midi/--jams/--csv` on a disk that fills up: a clear error, the file that
    --overwrite was to replace is intact, the MIDI file this run created is removed again and no
    temporary file is left (before: an OSError traceback, a truncated old file, a partial one)."""
    import numpy as np

    from tests.helpers.signals import chord, write_audio

    sr = 22050
    bars = [[261.6, 329.6, 392.0], [220.0, 261.6, 329.6], [174.6, 220.0, 261.6], [196.0, 246.9, 293.7]]
    song = np.concatenate([chord(c, 2.0, sr) for c in bars * 2])
    write_audio(tmp_path / "song.wav", song, sr)
    old = tmp_path / "old.jams"
    old.write_text("my edited annotations")
    # RLIMIT_FSIZE: writes past 1.5 kB fail (EFBIG); the MIDI (~0.4 kB) fits, the JAMS (~3 kB) not
    run = run_cli(["analyze", "song.wav", "--no-tags", "--midi", "new.mid", "--jams", "old.jams",
                   "--csv", "new.csv", "--overwrite"], tmp_path, timeout=300, fsize_limit=1500)
    assert_clear_error(run, "old.jams: cannot write the JAMS file")
    assert old.read_text() == "my edited annotations"
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".musicapp.log"))
    assert left == ["old.jams", "song.wav"], left


@pytest.mark.parametrize("source", ["fifo", "/dev/zero"])
def test_from_audio_on_a_fifo_or_endless_device_does_not_hang(tmp_path, source):
    # before: the analysis cache hashed the "file" to find its entry: a FIFO blocked for ever and
    # /dev/zero was read for ever, before the decoder could refuse it
    if source == "fifo":
        os.mkfifo(tmp_path / "song.wav")
        source = "song.wav"
    try:
        run = run_cli(["chords", "--from-audio", source], tmp_path, timeout=60)
    except subprocess.TimeoutExpired:  # pragma: no cover - the failure being tested for
        pytest.fail(f"chords --from-audio {source} hung")
    assert_clear_error(run, "not a regular file")


@pytest.mark.parametrize("entry", [
    b"[" * 100_000 + b"]" * 100_000,  # RecursionError in the JSON reader
    b'{"version": "V", "analysis": [1, 2]}',  # an analysis that is not an object
    b'{"version": "V", "analysis": {"duration_s": "long"}}',
])
def test_a_damaged_cache_entry_is_recomputed(tmp_path, entry):
    from musicapp.analysis_cache import AnalysisCache, analyze_cached
    from musicapp.track_analysis import TrackAnalysis

    song = tmp_path / "song.wav"
    song.write_bytes(b"RIFF....WAVE")  # only its bytes matter for the key
    store = AnalysisCache(tmp_path / "cache", version="V")
    path = store._entry(store.key(song))
    path.parent.mkdir(parents=True)
    path.write_bytes(entry)
    fresh = TrackAnalysis(path=str(song), duration_s=1.0)
    got = analyze_cached(song, store=store, analyze=lambda p, **kw: fresh)
    assert got is fresh


@pytest.mark.parametrize("key", ['{"tonic": "H#", "mode": "major"}', '"Xyz"',
                                 '{"tonic": "C", "mode": "lydian"}', '{"tonic": ["C"]}'])
def test_an_unusable_key_in_the_analysis_is_stated_not_fatal(key, tmp_path, capsys):
    # like an unusable tempo or meter (a note and a fallback); before: "'H# major': not a key"
    # without naming the file, and no loop at all
    src = tmp_path / "a.json"
    src.write_text('{"valence": -0.5, "arousal": 0.2, "key": ' + key + '}')
    assert main(["chords", "--from-json", str(src), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["key"] == "C minor"  # negative valence: minor, on the default tonic
    assert any("the track's key" in n and "unusable" in n for n in out["notes"])
