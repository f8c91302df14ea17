"""A built set is read from its own folder: an index naming pieces that are not there is a
clear error, and a hard-linked copy of a cache built further never changes the original."""

from __future__ import annotations

import json
import os

import pytest
from musicapp_lab.analysis.evalset.dataset import load_split, render_pieces
from musicapp_lab.analysis.evalset.evaluate import evaluate_split


def _fake_set(folder, names):
    folder.mkdir(parents=True)
    for n in names:
        (folder / f"{n}.wav").write_bytes(b"RIFF")
        (folder / f"{n}.json").write_text(json.dumps({"source": n.split("-")[0]}))
    (folder / "index.json").write_text(json.dumps({"version": 1, "pieces": names}))


def test_an_index_listing_pieces_of_another_cache_names_them(tmp_path):
    split = tmp_path / "dev-real"
    _fake_set(split, ["pop909-024", "pop909-040"])
    index = json.loads((split / "index.json").read_text())
    index["pieces"] += ["openewld-00a829a36d", "openewld-017e1f49ba"]
    (split / "index.json").write_text(json.dumps(index))
    with pytest.raises(FileNotFoundError) as err:
        evaluate_split("dev-real", cache_dir=tmp_path, baseline=False)
    msg = str(err.value)
    assert "2 of the 4 pieces" in msg and "openewld-00a829a36d" in msg
    assert str(split) in msg and "--build" in msg
    (split / "index.json").write_text(json.dumps({"version": 1, "pieces": ["pop909-024"]}))
    assert [it.name for it in load_split("dev-real", tmp_path)] == ["pop909-024"]


def test_building_in_a_hard_linked_copy_leaves_the_original_index(tmp_path):
    """`cp -al` of the cache, then a build in the copy: the index used to be rewritten in
    place, through the shared inode, so the original listed the copy's pieces."""
    original = tmp_path / "a" / "dev-real"
    _fake_set(original, ["pop909-024"])
    copy = tmp_path / "b" / "dev-real"
    copy.mkdir(parents=True)
    for f in original.iterdir():
        os.link(f, copy / f.name)
    render_pieces([], copy)  # rewrites the copy's index (no pieces in this build)
    assert json.loads((copy / "index.json").read_text())["pieces"] == []
    assert json.loads((original / "index.json").read_text())["pieces"] == ["pop909-024"]
    assert [it.name for it in load_split("dev-real", tmp_path / "a")] == ["pop909-024"]
