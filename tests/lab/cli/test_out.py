"""The lab's one output writer: refuses a target that is no regular file, then an existing file
without --force, replaces it with --force, writes all or nothing; one file is never named for
two outputs."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest
from musicapp_lab.cli._out import (
    check_out,
    check_outs,
    refuse_existing,
    refuse_same_file,
    write_json,
    write_out,
)

from musicapp.errors import FileExistsRefusal, MusicappError


def test_an_existing_output_is_refused_without_force_and_kept(tmp_path):
    out = tmp_path / "model.json"
    out.write_text("the trained model")
    with pytest.raises(FileExistsRefusal, match=r"model.json exists; pass --force to replace it"):
        write_json(out, {"new": 1}, force=False)
    with pytest.raises(FileExistsRefusal, match="pass --force"):
        check_out(out, force=False)
    assert out.read_text() == "the trained model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_force_replaces_the_file_whole(tmp_path):
    out = tmp_path / "report.json"
    out.write_text("old and longer than the new content " * 50)
    assert check_out(out, force=True) == out
    write_json(out, {"new": [1, 2]}, force=True, indent=1)
    assert json.loads(out.read_text()) == {"new": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary left


def test_a_new_file_and_its_missing_folder_are_written(tmp_path):
    out = tmp_path / "sub" / "new.json"
    write_json(out, [1], force=False)
    assert json.loads(out.read_text()) == [1]


def test_a_writer_failing_half_way_leaves_the_old_file_and_no_temporary(tmp_path):
    out = tmp_path / "weights.bin"
    out.write_bytes(b"old weights")

    def half(tmp: str) -> None:
        Path(tmp).write_bytes(b"half of the new wei")
        raise OSError(28, "No space left on device")

    with pytest.raises(MusicappError):
        write_out(out, half, force=True, kind="weights")
    assert out.read_bytes() == b"old weights"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"]


def test_unwritable_targets_are_named(tmp_path):
    assert check_out(None, force=False) is None
    with pytest.raises(MusicappError, match="is a directory"):
        check_out(tmp_path, force=True)
    with pytest.raises(MusicappError, match="does not exist"):
        check_out(tmp_path / "missing" / "x.json", force=False)


@pytest.mark.parametrize("force", [False, True])
def test_a_device_is_named_as_a_device_not_as_an_existing_file(force):
    """Without --force, /dev/full used to be refused with "exists; pass --force", advice that
    only led to the device refusal."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    for check in (check_out, refuse_existing):
        with pytest.raises(MusicappError, match=r"^/dev/full: is a character device, not a "
                                                r"regular file") as info:
            check("/dev/full", force=force)
        assert not isinstance(info.value, FileExistsRefusal)
        assert "--force" not in str(info.value)


@pytest.mark.parametrize("force", [False, True])
def test_a_fifo_a_socket_and_a_folder_are_refused_before_the_exists_rule(tmp_path, force):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    sock_path = tmp_path / "s"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        for path, what in ((fifo, "is a FIFO"), (sock_path, "is a socket"),
                           (tmp_path, "is a directory")):
            with pytest.raises(MusicappError, match=what) as info:
                check_out(path, force=force)
            assert "pass --force" not in str(info.value)
            with pytest.raises(MusicappError, match=what):
                write_json(path, [1], force=force)
    finally:
        sock.close()
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # the pipe is still a pipe


def test_one_file_named_for_two_outputs_is_refused_through_links(tmp_path):
    out = tmp_path / "weights.bin"
    out.write_bytes(b"w")
    link = tmp_path / "link.bin"
    link.symlink_to(out)
    hard = tmp_path / "hard.bin"
    os.link(out, hard)
    for other in (out, tmp_path / "." / "weights.bin", link, hard):
        with pytest.raises(MusicappError, match=r"the same file is named for -o and --log"):
            refuse_same_file({"-o": out, "--log": other})
        with pytest.raises(MusicappError, match="the same file is named for two outputs"):
            check_outs([out, other], force=True)
    new = tmp_path / "new.json"  # not there yet: same name through a linked folder
    (tmp_path / "alias").symlink_to(tmp_path)
    with pytest.raises(MusicappError, match="the same file"):
        check_outs({"--json": new, "--records": tmp_path / "alias" / "new.json"}, force=False)
    refuse_same_file({"-o": out, "--log": tmp_path / "log.txt", "--json": None})
    check_outs({"--json": new, "--records": tmp_path / "records.json"}, force=False)
    assert out.read_bytes() == b"w" and not new.exists()


def test_an_output_that_is_an_input_is_refused_even_with_force(tmp_path):
    records = tmp_path / "records.json"
    records.write_text("the judged loops")
    with pytest.raises(MusicappError, match=r"--json is the input file .*--from-records"):
        check_outs({"--json": records}, force=True, inputs=[("--from-records", records)])
    assert records.read_text() == "the judged loops"
