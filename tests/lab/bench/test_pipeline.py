"""``musicapp bench pipeline`` runs end to end on a short real file and reports identical
results of the one-core and the concurrent path."""

from __future__ import annotations

from musicapp.cli import main
from tests.helpers.signals import chord, write_audio

SR = 22050


def test_bench_pipeline_prints_both_paths_and_their_ratio(tmp_path, capsys):
    y = chord([220.0, 277.18, 329.63], 8.0, SR, 0.4)
    path = write_audio(tmp_path / "short.wav", y, SR)
    assert main(["bench", "pipeline", str(path), "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    for line in ("one core", "all cores", "ratio one core / all cores",
                 "results identical on both paths: yes", "load average before",
                 "estimate on idle cores"):
        assert line in out
