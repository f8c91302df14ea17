"""Checksum-verified safetensors loading: missing, truncated, tampered and foreign files are
refused with ModelError; nothing is unpickled."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from musicapp.errors import ModelError
from musicapp.models import musicnn
from musicapp.models.weights import (
    checksum_path,
    expected_sha256,
    load_metadata,
    load_state,
    register_checksum,
    save_state,
    sha256_file,
    verify,
)


def _state() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {
        "a.weight": torch.randn(4, 3, generator=g),
        "b.bias": torch.arange(5, dtype=torch.int64),
        "c.half": torch.randn(7, generator=g).half(),
        "d.bf16": torch.randn(3, generator=g).bfloat16(),
        "e.scalar": torch.tensor(2.5),
    }


def test_round_trip_and_metadata(tmp_path: Path):
    path = tmp_path / "m.safetensors"
    digest = save_state(path, _state(), {"model": "x", "tags": "[1, 2]"})
    assert digest == sha256_file(path) == expected_sha256(path) == verify(path)
    loaded = load_state(path)
    for k, v in _state().items():
        assert loaded[k].dtype == v.dtype and torch.equal(loaded[k], v), k
    assert load_metadata(path) == {"model": "x", "tags": "[1, 2]"}
    assert checksum_path(path).read_text() == f"{digest}  m.safetensors\n"


def test_readable_by_the_safetensors_library(tmp_path: Path):
    from safetensors.torch import load_file

    save_state(tmp_path / "m.safetensors", _state())
    got = load_file(str(tmp_path / "m.safetensors"))
    assert torch.equal(got["a.weight"], _state()["a.weight"])


def test_serialisation_is_deterministic(tmp_path: Path):
    meta = {f"k{i}": str(i) for i in range(20)}
    d1 = save_state(tmp_path / "1.safetensors", _state(), meta)
    d2 = save_state(tmp_path / "2.safetensors", dict(reversed(_state().items())),
                    dict(reversed(meta.items())))  # fmt: skip
    assert d1 == d2


def test_tampered_file_is_refused(tmp_path: Path):
    path = tmp_path / "m.safetensors"
    save_state(path, _state())
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0x40  # one bit of one weight
    path.write_bytes(bytes(raw))
    with pytest.raises(ModelError, match=r"m\.safetensors: checksum mismatch"):
        load_state(path)
    with pytest.raises(ModelError, match="checksum mismatch"):
        verify(path)


def test_truncated_file_is_refused(tmp_path: Path):
    path = tmp_path / "m.safetensors"
    save_state(path, _state())
    full = path.read_bytes()
    for cut in (len(full) - 1, len(full) // 2, 20, 3, 0):
        path.write_bytes(full[:cut])
        with pytest.raises(ModelError, match="truncated"):
            load_state(path)


def test_missing_file_and_missing_checksum(tmp_path: Path):
    with pytest.raises(ModelError, match="not found"):
        load_state(tmp_path / "absent.safetensors")
    path = tmp_path / "m.safetensors"
    save_state(path, _state(), register=False)
    with pytest.raises(ModelError, match="no checksum recorded"):
        load_state(path)
    register_checksum(path)
    assert load_state(path).keys() == _state().keys()
    checksum_path(path).write_text("not a digest\n")
    with pytest.raises(ModelError, match="not a sha256 checksum file"):
        load_state(path)


def test_explicit_digest_overrides_sidecar(tmp_path: Path):
    path = tmp_path / "m.safetensors"
    digest = save_state(path, _state(), register=False)
    assert load_state(path, sha256=digest.upper()).keys() == _state().keys()
    with pytest.raises(ModelError, match="checksum mismatch"):
        load_state(path, sha256="0" * 64)


def test_pickles_and_foreign_files_are_refused(tmp_path: Path):
    pt = tmp_path / "m.pt"
    torch.save(_state(), pt)
    with pytest.raises(ModelError, match=r"only \.safetensors"):
        load_state(pt)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}" + bytes(64))
    register_checksum(junk)  # even with a matching checksum it is not loaded
    with pytest.raises(ModelError, match="not a safetensors file"):
        load_state(junk)
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes(b"\xff" * 64)
    register_checksum(huge)
    with pytest.raises(ModelError, match="not a safetensors file"):
        load_state(huge)


def test_shipped_musicnn_weights_verify():
    for name in musicnn.MODEL_NAMES:
        verify(musicnn.weights_path(name))


def test_load_musicnn_refuses_a_tampered_copy(tmp_path: Path, monkeypatch):
    src = musicnn.weights_path("MTT_musicnn")
    shutil.copy(src, tmp_path / src.name)
    shutil.copy(checksum_path(src), checksum_path(tmp_path / src.name))
    monkeypatch.setattr(musicnn, "models_dir", lambda: tmp_path)
    musicnn.load_musicnn("MTT_musicnn")  # the intact copy loads
    raw = bytearray((tmp_path / src.name).read_bytes())
    raw[len(raw) // 2] ^= 0x01
    (tmp_path / src.name).write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="checksum mismatch"):
        musicnn.load_musicnn("MTT_musicnn")
    (tmp_path / src.name).unlink()
    with pytest.raises(ModelError, match="not found"):
        musicnn.load_musicnn("MTT_musicnn")


def test_weights_that_do_not_fit_the_model(tmp_path: Path, monkeypatch):
    state = load_state(musicnn.weights_path("MSD_musicnn"))
    state["out.weight"] = state["out.weight"][:10]
    save_state(tmp_path / "musicnn_msd.safetensors", state)
    monkeypatch.setattr(musicnn, "models_dir", lambda: tmp_path)
    with pytest.raises(ModelError, match="has shape"):
        musicnn.load_musicnn("MSD_musicnn")
    del state["out.weight"]
    save_state(tmp_path / "musicnn_msd.safetensors", state)
    with pytest.raises(ModelError, match="do not fit"):
        musicnn.load_musicnn("MSD_musicnn")


def test_weights_swapped_with_their_sidecars_are_refused(tmp_path: Path):
    """Swapping musicnn_msd and musicnn_mtt together with their .sha256 files verified, and the
    app gave confident wrong moods: the sidecar names its file, and a file under another name
    is refused."""
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    save_state(a, _state())
    other = {k: v + 1 for k, v in _state().items()}
    save_state(b, other)
    swapped = tmp_path / "swapped"
    swapped.mkdir()
    shutil.copy(a, swapped / "b.safetensors")
    shutil.copy(checksum_path(a), swapped / "b.safetensors.sha256")
    with pytest.raises(ModelError, match=r"the checksum is for a\.safetensors, not b\.safetensors"):
        load_state(swapped / "b.safetensors")
    # sha256sum's binary-mode marker and a digest alone still verify
    digest = checksum_path(a).read_text().split()[0]
    checksum_path(a).write_text(f"{digest} *a.safetensors\n")
    assert load_state(a).keys() == _state().keys()
    checksum_path(a).write_text(f"{digest}\n")
    assert load_state(a).keys() == _state().keys()


def test_every_shipped_sidecar_names_its_own_file():
    from musicapp.paths import resource_path

    sidecars = sorted(Path(resource_path("models")).glob("*.sha256"))
    assert sidecars
    for side in sidecars:
        assert side.read_text().split()[1].lstrip("*") == side.name.removesuffix(".sha256"), side
