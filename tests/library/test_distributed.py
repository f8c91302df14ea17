"""Dask scale-out: a LocalCluster of worker processes computes, this process writes the DB."""

from __future__ import annotations

import pytest

from musicapp.library import fingerprint as fp
from musicapp.library.indexer import no_analyser
from musicapp.library.store import Store
from tests.library.music import write_song

distributed = pytest.importorskip(
    "dask.distributed", reason="dask[distributed] (the 'distributed' extra) is not installed"
)


def test_index_on_local_cluster(tmp_path):
    from musicapp.library.distributed import index_with_dask

    music = tmp_path / "m"
    for i in range(6):
        write_song(music / f"t{i}.wav", 300 + i, 3.0)
    (music / "bad.ogg").write_bytes(b"OggS" + b"\x00" * 100)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        pids = set(client.run(lambda: __import__("os").getpid()).values())
        assert len(pids) == 2
        with Store(tmp_path / "lib.sqlite3") as st:
            seen = []
            report = index_with_dask(
                st,
                music,
                client,
                analyser=no_analyser,
                progress=lambda d, t, p: seen.append(d),
                max_in_flight=3,
            )
            assert (report.done, report.failed) == (6, 1)
            assert seen == list(range(1, 8))
            assert st.count("ok") == 6 and st.count("error") == 1
            assert st.integrity_check() == "ok"
            # Same fingerprints as computed locally.
            for tid, blob, _version in st.iter_fingerprints():
                fresh, _ = fp.fingerprint_file(st.track(tid).path)
                stored = fp.Fingerprint.unpack(blob)
                assert (stored.hashes == fresh.hashes).all() and (stored.times == fresh.times).all()
                assert (stored.signature == fresh.signature).all()
            again = index_with_dask(st, music, client, analyser=no_analyser)
            assert again.done == 0 and again.scan.unchanged == 7
    finally:
        client.close()
        cluster.close()


def test_an_unreachable_scheduler_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    """`library add DIR --dask tcp://127.0.0.1:1` printed a 30-s timeout traceback."""
    from musicapp.cli import main

    music = tmp_path / "music"
    music.mkdir()
    capsys.readouterr()
    rc = main(["library", "add", str(music), "--db", str(tmp_path / "l.sqlite3"),
               "--dask", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert rc == 2 and "cannot reach the Dask scheduler 'tcp://127.0.0.1:1'" in err
    assert "Traceback" not in err
