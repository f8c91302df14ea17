"""The single-file reference of ``musicapp bench batch`` analyses real files on every core."""

from __future__ import annotations

import soundfile as sf
from musicapp_lab.bench.batch import synth_track
from musicapp_lab.bench.single_file import single_file_once


def test_analyses_each_file_and_counts_a_broken_one_as_failed(tmp_path):
    paths = []
    for i in range(2):
        p = tmp_path / f"t{i}.flac"
        sf.write(str(p), synth_track(i, 6.0, 22050), 22050)
        paths.append(p)
    broken = tmp_path / "broken.ogg"
    broken.write_bytes(b"OggS" + bytes(200))
    res = single_file_once([*paths, broken])
    assert res["tracks"] == 2 and res["failed"] == 1
    assert res["tracks_per_min"] > 0 and res["cpu_s_per_track"] > 0
    assert abs(res["audio_min_per_s"] * res["seconds"] * 60 - 12.0) < 0.1
