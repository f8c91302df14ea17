"""``chords --wav W -o M --overwrite`` replaces both files or neither (the real CLI on a real
1 MB tmpfs); the free space it reports is the real free space. Before: idea.mid was replaced,
then the WAV failed and the message said "nothing was changed" and "0 bytes free"."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.helpers.tmpfs import small_tmpfs

ARGS = ["chords", "--valence", "0.5", "--arousal", "0.2", "--seed", "1"]


def _cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "musicapp", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_no_room_for_the_wav_keeps_the_old_midi(tmp_path):
    with small_tmpfs(tmp_path / "small", "1m") as mnt:
        (mnt / "idea.mid").write_bytes(b"old midi")
        (mnt / "idea.wav").write_bytes(b"old wav")
        r = _cli([*ARGS, "--wav", str(mnt / "idea.wav"), "-o", str(mnt / "idea.mid"), "--overwrite"])
        assert r.returncode == 2, r.stderr
        assert (mnt / "idea.mid").read_bytes() == b"old midi"  # before: replaced
        assert (mnt / "idea.wav").read_bytes() == b"old wav"
        assert sorted(p.name for p in mnt.iterdir()) == ["idea.mid", "idea.wav"]  # no leftovers
        assert "nothing was changed" in r.stderr and "idea.wav" in r.stderr, r.stderr
        free_kb = float(re.search(r"([\d.]+) KB free", r.stderr).group(1))
        real_kb = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize / 1024
        assert abs(free_kb - real_kb) <= 8, (free_kb, real_kb)  # before: "0 bytes free"


def test_both_files_are_replaced_when_both_fit(tmp_path):
    (tmp_path / "idea.mid").write_bytes(b"old midi")
    (tmp_path / "idea.wav").write_bytes(b"old wav")
    r = _cli([*ARGS, "--wav", str(tmp_path / "idea.wav"), "-o", str(tmp_path / "idea.mid"),
              "--overwrite"])
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "idea.mid").read_bytes().startswith(b"MThd")
    assert (tmp_path / "idea.wav").read_bytes().startswith(b"RIFF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idea.mid", "idea.wav"]
    r = _cli([*ARGS, "--wav", str(tmp_path / "idea.wav"), "-o", str(tmp_path / "new.mid")])
    assert r.returncode == 2 and "exists" in r.stderr  # without --overwrite: refused up front
    assert not (tmp_path / "new.mid").exists()
