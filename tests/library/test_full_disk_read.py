"""A full disk under the library, its -wal/-shm gone: the read commands open it read-only and
say why; a write command says the disk is full (a real tmpfs, the real CLI in-process). Before:
`list` said "not a usable library database (disk I/O error); run check (and --repair)" while
`check` said ok."""

from __future__ import annotations

import json
import os

from musicapp.cli import main
from tests.helpers.tmpfs import small_tmpfs
from tests.library.music import write_song


def _fill(folder) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    assert os.statvfs(folder).f_bavail == 0


def test_read_commands_on_a_full_disk(tmp_path, capsys):
    music = tmp_path / "music"
    music.mkdir()
    write_song(music / "s0.wav", 3, seconds=6.0)
    with small_tmpfs(tmp_path / "tiny", "600k") as mnt:
        db = mnt / "library.sqlite3"
        assert main(["library", "add", str(music), "--fingerprint-only", "--workers", "0",
                     "--db", str(db)]) == 0
        for side in ("-wal", "-shm"):
            (mnt / f"library.sqlite3{side}").unlink(missing_ok=True)
        _fill(mnt)
        capsys.readouterr()
        assert main(["library", "list", "--db", str(db), "--json"]) == 0
        out, err = capsys.readouterr()
        assert [t["path"].rsplit("/", 1)[-1] for t in json.loads(out)] == ["s0.wav"]
        assert "opened read-only because the disk holding it is full" in err, err
        for cmd in (["info"], ["search", "--key", "C major"], ["check"]):
            assert main(["library", *cmd, "--db", str(db)]) == 0, cmd
        capsys.readouterr()
        rc = main(["library", "add", str(music), "--fingerprint-only", "--workers", "0", "--db", str(db)])
        err = capsys.readouterr().err
        assert rc == 2 and "the disk holding the library is full" in err
        assert "not a usable" not in err and "--repair" not in err, err
