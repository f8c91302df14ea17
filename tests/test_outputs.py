"""musicapp.outputs.write_atomically: the one temp-file-and-rename write of the core."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from musicapp.errors import FileExistsRefusal, ModelError, MusicappError
from musicapp.outputs import write_atomically
from tests.helpers.tmpfs import small_tmpfs


def _put(data: bytes):
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    return write


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(params=[0o022, 0o002, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_new_file_gets_the_mode_of_the_umask_not_0600(umask, tmp_path):
    out = write_atomically(tmp_path / "a.mid", _put(b"data"), overwrite=False)
    assert out == tmp_path / "a.mid" and out.read_bytes() == b"data"
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
    replaced = write_atomically(out, _put(b"new"), overwrite=True, mode=0o644)
    assert replaced.read_bytes() == b"new"
    assert stat.S_IMODE(replaced.stat().st_mode) == 0o644 & ~umask
    assert _names(tmp_path) == ["a.mid"]


def test_the_writer_gets_an_empty_temporary_file_beside_the_target(tmp_path):
    seen: list[str] = []

    def write(tmp: str) -> None:
        seen.append(tmp)
        assert Path(tmp).parent == tmp_path and Path(tmp).stat().st_size == 0
        assert Path(tmp).name.startswith(".take.wav.") and tmp.endswith(".wav")
        Path(tmp).write_bytes(b"x")

    write_atomically(tmp_path / "take.wav", write, overwrite=False)
    assert len(seen) == 1 and not Path(seen[0]).exists()


def test_a_failing_writer_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "a.csv"
    target.write_bytes(b"old")

    def half_then_bug(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise ValueError("a bug in the writer")

    with pytest.raises(ValueError, match="a bug in the writer"):  # not disguised as a user error
        write_atomically(target, half_then_bug, overwrite=True)
    assert target.read_bytes() == b"old" and _names(tmp_path) == ["a.csv"]

    def os_failure(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise PermissionError(13, "Permission denied")

    with pytest.raises(MusicappError, match=r"a\.csv: cannot write the CSV file \(Permission "
                       r"denied\); nothing was changed"):
        write_atomically(target, os_failure, overwrite=True, kind="CSV")
    assert target.read_bytes() == b"old" and _names(tmp_path) == ["a.csv"]


def test_other_failure_types_and_the_error_type_are_the_callers(tmp_path):
    class DecoderError(Exception):
        pass

    def fails(tmp: str) -> None:
        raise DecoderError("System error.")

    with pytest.raises(ModelError, match=r"m\.safetensors: cannot write the weights file "
                       r"\(System error\.\)"):
        write_atomically(tmp_path / "m.safetensors", fails, overwrite=True, kind="weights",
                         error=ModelError, catch=(DecoderError,))
    with pytest.raises(ModelError, match=r"folder .*missing does not exist"):
        write_atomically(tmp_path / "missing" / "m.safetensors", _put(b""), overwrite=True,
                         error=ModelError)
    assert _names(tmp_path) == []


def test_refuses_to_overwrite_before_writing_and_when_the_file_appears(tmp_path):
    target = tmp_path / "idea.mid"
    target.write_bytes(b"mine")
    called: list[str] = []
    with pytest.raises(FileExistsRefusal, match=r"idea\.mid: already exists; use --force"):
        write_atomically(target, called.append, overwrite=False, flag="--force")
    assert called == [] and target.read_bytes() == b"mine"

    other = tmp_path / "other.mid"

    def another_program_saves_first(tmp: str) -> None:
        other.write_bytes(b"theirs")
        Path(tmp).write_bytes(b"ours")

    with pytest.raises(FileExistsRefusal, match="appeared while writing; not replaced"):
        write_atomically(other, another_program_saves_first, overwrite=False)
    assert other.read_bytes() == b"theirs"
    assert _names(tmp_path) == ["idea.mid", "other.mid"]


def test_full_disk_keeps_the_old_file_and_says_so(tmp_path):
    with small_tmpfs(tmp_path / "small", "64k") as disk:
        target = disk / "a.mid"
        target.write_bytes(b"old export")

        def big(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                fh.write(b"\0" * (1 << 20))

        with pytest.raises(MusicappError, match=r"a\.mid: cannot write the MIDI file \(No space "
                           r"left on device\); nothing was changed"):
            write_atomically(target, big, overwrite=True, kind="MIDI")
        assert target.read_bytes() == b"old export" and _names(disk) == ["a.mid"]

        # with the expected size the message says how much room there is (libsndfile reports
        # a full disk only as "System error.")
        with pytest.raises(MusicappError, match=r"no space left on the device: .* free, the file "
                           r"needs about 1\.0 MB"):
            write_atomically(target, big, overwrite=True, kind="WAV", need_bytes=1 << 20)
        assert target.read_bytes() == b"old export" and _names(disk) == ["a.mid"]


def test_a_fifo_or_device_target_is_refused_and_left_in_place(tmp_path):
    """Renaming onto ``/dev/null`` (as root) or a FIFO replaced the device node or the pipe with
    a regular file; such targets are refused before anything is written."""
    from musicapp.outputs import check_output

    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    link = tmp_path / "link.mid"
    link.symlink_to(fifo)
    for target in (fifo, link):
        for overwrite in (True, False):
            with pytest.raises(MusicappError, match=r"FIFO.*not a regular file"):
                write_atomically(target, _put(b"MThd"), overwrite=overwrite, kind="MIDI")
            with pytest.raises(MusicappError, match=r"FIFO.*not a regular file"):
                check_output(target, overwrite=overwrite)
    assert stat.S_ISFIFO(fifo.stat().st_mode) and link.is_symlink()
    assert _names(tmp_path) == ["link.mid", "pipe.mid"]
    # a device node of its own (never the real /dev/null: a regression would replace it)
    device = tmp_path / "null.mid"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (PermissionError, OSError):
        return  # not root: no device node to make (and /dev is not writable anyway)
    with pytest.raises(ModelError, match="character device"):  # the caller's error type
        write_atomically(device, _put(b"x"), overwrite=True, error=ModelError)
    assert stat.S_ISCHR(device.stat().st_mode)


def test_a_symlinked_target_stays_a_link_and_its_file_is_replaced(tmp_path):
    """The rename used to replace the user's link itself with a regular file (the file it
    pointed to kept the old content)."""
    real_dir = tmp_path / "project"
    real_dir.mkdir()
    real = real_dir / "idea.mid"
    real.write_bytes(b"old")
    link = tmp_path / "idea.mid"
    link.symlink_to(real)
    with pytest.raises(FileExistsRefusal):
        write_atomically(link, _put(b"new"), overwrite=False)
    assert write_atomically(link, _put(b"new"), overwrite=True) == link
    assert link.is_symlink() and real.read_bytes() == b"new"
    assert _names(tmp_path) == ["idea.mid", "project"] and _names(real_dir) == ["idea.mid"]


def test_dev_stdout_and_proc_files_are_refused_before_anything_is_written():
    """``-o /dev/stdout --overwrite`` as root replaced the /dev/stdout link with a MIDI file.
    Only the checks are called here: a regression must not get to rename onto /dev."""
    from musicapp.outputs import check_output, special_file_reason

    for name in ("/dev/stdout", "/dev/stderr", "/proc/self/status"):
        assert special_file_reason(name), name
        with pytest.raises(MusicappError, match="not a regular file"):
            check_output(name, overwrite=True)
    assert special_file_reason("/dev/null").startswith("is a character device")


def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path):
    """kill -9 between creating the temporary and renaming it left a hidden file in the user's
    export folder for ever; the next write of that target removes it (a live writer's is kept)."""
    import os
    import signal
    import subprocess
    import sys
    import textwrap
    import time
    from pathlib import Path

    from musicapp.outputs import remove_stale_temporaries, write_atomically

    target = tmp_path / "song.mid"
    script = textwrap.dedent(f"""
        import time
        from musicapp.outputs import write_atomically
        def slow(tmp):
            open(tmp, "wb").write(b"partial")
            print("writing", flush=True)
            time.sleep(60)
        write_atomically({str(target)!r}, slow, overwrite=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    (left,) = [p for p in tmp_path.iterdir() if p.name.startswith(".song.mid.")]
    assert remove_stale_temporaries(target) == []  # its writer is alive: kept
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert left.exists() and not target.exists()
    assert remove_stale_temporaries(target) == []  # too recent: a writer elsewhere may own it
    old = time.time() - 3600
    os.utime(left, (old, old))
    dead = proc.pid
    look_alikes = [tmp_path / f".song.mid.{os.getpid()}.0123abcd.tmp.mid",  # a live writer's
                   tmp_path / f".song.mid.{dead}.notes.tmp.mid",  # a user's file, other shape
                   tmp_path / f".song.mid.{dead}.0123abcd.tmp.midi",  # another extension
                   tmp_path / f".other.mid.{dead}.0123abcd.tmp.mid"]  # another target
    for p in look_alikes:
        p.write_bytes(b"x")
        os.utime(p, (old, old))
    write_atomically(target, lambda tmp: Path(tmp).write_bytes(b"MThd"), overwrite=False)
    assert target.read_bytes() == b"MThd"
    assert not left.exists() and all(p.exists() for p in look_alikes)
