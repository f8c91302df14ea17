"""``musicapp bench gui --base REV``: the before/after harness runs one tree's musicapp in a
fresh process and reports worse figures only beyond the runs' spread."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from musicapp_lab.bench import gui_compare

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture()
def offscreen(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")


def test_child_env_puts_the_tree_first_and_keeps_bytecode(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = gui_compare.child_env(tmp_path)
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path), "/elsewhere"]
    assert "PYTHONDONTWRITEBYTECODE" not in env


def test_a_start_part_runs_the_trees_own_musicapp(offscreen):
    res = gui_compare.run_part(ROOT, "start")
    assert 0 < res["start_s"] < 120 and res["torch"] is False


def test_a_tree_without_musicapp_fails_with_its_name(tmp_path, offscreen):
    # an empty folder first on the path still finds the installed package; a tree whose
    # musicapp is broken must fail loudly, not measure the installed one
    broken = tmp_path / "musicapp"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('broken tree')\n")
    with pytest.raises(RuntimeError, match=r"start on .* failed"):
        gui_compare.run_part(tmp_path, "start")


def test_report_calls_worse_only_beyond_the_spread(capsys):
    figures = {"base": {"start_s": [1.00, 1.10, 0.90], "analysis_ms": [40.0, 45.0],
                        "fps": [47.0, 48.0], "overflows": [0.0]},
               "now": {"start_s": [1.02, 1.08, 0.95], "analysis_ms": [40.0, 44.0],
                       "fps": [47.5, 47.9], "overflows": [0.0]}}
    assert gui_compare.report(figures, "base") is True
    figures["now"]["start_s"] = [1.60, 1.70, 1.65]
    assert gui_compare.report(figures, "base") is False
    out = capsys.readouterr().out
    assert "cold start" in out and "worse" in out
    figures["now"]["start_s"] = [1.0, 1.0, 1.0]
    figures["now"]["overflows"] = [1.0]
    assert gui_compare.report(figures, "base") is False


def test_base_tree_is_a_detached_worktree_of_the_revision():
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    path, tmp = gui_compare.base_tree(head, ROOT)
    try:
        assert (path / "musicapp" / "__init__.py").is_file()
        got = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], check=True,
                             capture_output=True, text=True).stdout.strip()
        assert got == head
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                       check=False, capture_output=True)
        tmp.cleanup()


@pytest.mark.parametrize("rev", ["nosuchrev", "--upload-pack=touch pwned", "", "HEAD~99999"])
def test_a_base_that_is_no_commit_is_a_clear_error(rev, tmp_path):
    """A typo printed git's CalledProcessError traceback; a REV starting with '-' reached
    ``git worktree add`` as an option."""
    from musicapp.errors import MusicappError

    repo = Path(__file__).resolve().parents[3]
    with pytest.raises(MusicappError, match="not a commit"):
        gui_compare.base_tree(rev, repo)
    assert gui_compare.resolve_commit("HEAD", repo) == subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
        check=True).stdout.strip()
