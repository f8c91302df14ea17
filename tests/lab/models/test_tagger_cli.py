"""The tagger commands: convert-musicnn, calibrate-musicnn and bench tagger (run for real on
small generated inputs; no timing asserts)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from musicapp.cli import main
from musicapp.models.calibration import to_percentile
from musicapp.models.weights import load_metadata, load_state
from tests.helpers.signals import chord, noise, write_audio

REPO = Path(__file__).resolve().parents[2]


def test_cli_module_imports_no_torch():
    code = ("import sys, musicapp.cli, musicapp_lab.cli.tagger; musicapp.cli.build_parser(); "
            "print('torch' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("argv", [["convert-musicnn", "--help"], ["calibrate-musicnn", "--help"],
                                  ["bench", "tagger", "--help"]])  # fmt: skip
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "musicnn" in capsys.readouterr().out


def test_convert_refuses_bad_sources(tmp_path: Path, capsys):
    assert main(["convert-musicnn", "--src", str(tmp_path / "nope.whl"), "--out",
                 str(tmp_path)]) == 2  # fmt: skip
    assert "no such file" in capsys.readouterr().err
    junk = tmp_path / "junk.whl"
    junk.write_bytes(b"not a zip")
    assert main(["convert-musicnn", "--src", str(junk), "--out", str(tmp_path)]) == 2
    assert "neither a folder nor a wheel" in capsys.readouterr().err
    assert main(["convert-musicnn", "--src", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "no musicnn checkpoints" in capsys.readouterr().err


def test_calibrate_on_a_small_folder(tmp_path: Path, capsys):
    src = tmp_path / "music"
    src.mkdir()
    write_audio(src / "a.wav", chord([220, 277, 330], 7.0, 16000), 16000)
    write_audio(src / "b.flac", noise(4.0, 22050, amp=0.2), 22050)
    (src / "notes.txt").write_text("not audio")
    out = tmp_path / "out"
    assert main(["calibrate-musicnn", "--src", str(src), "--out", str(out), "--per-file", "2",
                 "--min-kb", "1"]) == 0
    path = out / "musicnn_calibration.safetensors"
    tables = load_state(path)  # checksum sidecar written and verified
    assert set(tables) == {"MSD_musicnn", "MTT_musicnn"}
    assert tables["MSD_musicnn"].shape == (50, 101)
    meta = load_metadata(path)
    assert meta["segments"] == "3" and len(json.loads(meta["files"])) == 2
    q = tables["MTT_musicnn"].numpy()
    assert (np.diff(q, axis=1) >= 0).all()
    assert to_percentile(q[:, 100], q).min() >= 99.0
    assert "Calibration table" in (out / "MUSICNN_MODEL_CARD.md").read_text()


def test_bench_runs_and_reports_ratios(capsys):
    assert main(["bench", "tagger", "--seconds", "4", "--repeats", "1", "--threads", "1",
                 "--json"]) == 0  # fmt: skip
    figures = json.loads(capsys.readouterr().out)
    row = figures["cpu"][0]
    assert row["threads"] == 1 and row["engine_s"] > 0 and row["reference_s"] > 0
    # Times are printed rounded to the millisecond: the ratio must lie in the interval they allow.
    e, r, half_ms = row["engine_s"], row["reference_s"], 0.0005
    assert (e - half_ms) / (r + half_ms) - half_ms <= row["ratio"] <= (e + half_ms) / (r - half_ms) + half_ms
    assert row["segments"] == 2 and row["reference_patches"] == 1
    assert figures["duration_s"] == pytest.approx(4.0)
