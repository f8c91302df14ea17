"""The numpy reader of TensorFlow checkpoints, on checkpoints written from the format description
and (when the musicnn wheel is cached locally) on the real musicnn checkpoints."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from musicapp_lab.models.tf_checkpoint import (
    TFCheckpoint,
    crc32c,
    is_model_variable,
    masked_crc32c,
    read_checkpoint,
    read_varint,
)

from musicapp.errors import ModelError
from tests.lab.models.ckpt_writer import varint, write_checkpoint


def _tensors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    t = {
        "conv2d/kernel": rng.standard_normal((7, 38, 1, 4)).astype(np.float32),
        "conv2d/bias": rng.standard_normal(4).astype(np.float32),
        "conv2d/kernel/Adam": rng.standard_normal((7, 38, 1, 4)).astype(np.float32),
        "conv2d/kernel/Adam_1": rng.standard_normal((7, 38, 1, 4)).astype(np.float32),
        "batch_normalization/moving_variance": np.abs(rng.standard_normal(3)).astype(np.float32),
        "dense/kernel": rng.standard_normal((30, 5)).astype(np.float64),
        "global_step": np.array(12345, dtype=np.int64),
        "beta1_power": np.array(0.9, dtype=np.float32),
        "counts": np.arange(-5, 5, dtype=np.int32),
        "half": np.linspace(-2, 2, 9).astype(np.float16),
    }
    for i in range(20):  # many similar names: shared key prefixes across restarts and blocks
        t[f"batch_normalization_{i}/gamma"] = rng.standard_normal(i + 1).astype(np.float32)
    return t


def test_crc32c_known_vectors():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert masked_crc32c(b"abc") != crc32c(b"abc")


def test_varint_round_trip():
    for n in (0, 1, 127, 128, 300, 2**31, 2**63 - 1):
        assert read_varint(varint(n), 0) == (n, len(varint(n)))


def test_reads_every_tensor_bit_exactly(tmp_path: Path):
    tensors = _tensors()
    write_checkpoint(tmp_path / "model.ckpt", tensors)
    ckpt = TFCheckpoint(tmp_path / "model.ckpt")
    assert set(ckpt.names()) == set(tensors)
    for name, arr in tensors.items():
        got = ckpt.read(name)
        assert got.dtype == arr.dtype and got.shape == arr.shape, name
        assert got.tobytes() == arr.tobytes(), name


def test_accepts_prefix_index_file_and_folder(tmp_path: Path):
    tensors = {"w": np.ones((2, 3), np.float32)}
    write_checkpoint(str(tmp_path) + "/", tensors)  # musicnn style: DIR/.index
    for spec in (tmp_path, tmp_path / ".index", str(tmp_path) + "/"):
        np.testing.assert_array_equal(TFCheckpoint(spec).read("w"), tensors["w"])


def test_model_only_skips_optimiser_state(tmp_path: Path):
    write_checkpoint(tmp_path / "m", _tensors())
    names = set(read_checkpoint(tmp_path / "m"))
    assert "conv2d/kernel" in names and "batch_normalization_7/gamma" in names
    assert not {"conv2d/kernel/Adam", "conv2d/kernel/Adam_1", "global_step", "beta1_power"} & names
    assert not is_model_variable("dense/bias/Adam_1")


def test_corrupted_data_fails_the_crc(tmp_path: Path):
    write_checkpoint(tmp_path / "m", {"a": np.arange(100, dtype=np.float32)})
    data_file = tmp_path / "m.data-00000-of-00001"
    raw = bytearray(data_file.read_bytes())
    raw[17] ^= 0x01
    data_file.write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="checksum mismatch"):
        TFCheckpoint(tmp_path / "m").read("a")
    # The corrupted value is still readable on request, and it differs.
    assert not np.array_equal(TFCheckpoint(tmp_path / "m").read("a", verify_crc=False),
                              np.arange(100, dtype=np.float32))  # fmt: skip


def test_truncated_data_file(tmp_path: Path):
    write_checkpoint(tmp_path / "m", {"a": np.zeros(10, np.float32), "b": np.ones(50, np.float32)})
    data_file = tmp_path / "m.data-00000-of-00001"
    data_file.write_bytes(data_file.read_bytes()[:-8])
    ckpt = TFCheckpoint(tmp_path / "m")
    ckpt.read("a")
    with pytest.raises(ModelError, match="beyond the end"):
        ckpt.read("b")


def test_bad_index_files(tmp_path: Path):
    write_checkpoint(tmp_path / "m", {"a": np.zeros(10, np.float32)})
    index = tmp_path / "m.index"
    good = index.read_bytes()
    index.write_bytes(good[:-1] + b"\x00")
    with pytest.raises(ModelError, match="bad table magic"):
        TFCheckpoint(tmp_path / "m")
    index.write_bytes(good[:20])
    with pytest.raises(ModelError, match="too short"):
        TFCheckpoint(tmp_path / "m")
    index.write_bytes(good[25:])
    with pytest.raises(ModelError):
        TFCheckpoint(tmp_path / "m")
    with pytest.raises(ModelError, match="cannot read"):
        TFCheckpoint(tmp_path / "missing")
    index.write_bytes(good)
    with pytest.raises(ModelError, match="no tensor named"):
        TFCheckpoint(tmp_path / "m").read("nope")


def _cached_wheel() -> Path | None:
    candidates = [os.environ.get("MUSICAPP_MUSICNN_WHEEL", ""),
                  str(Path.home() / ".cache/musicapp/musicnn-0.1.0-py3-none-any.whl"),
                  "/tmp/musicnn_dl/musicnn-0.1.0-py3-none-any.whl"]  # fmt: skip
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


@pytest.mark.skipif(_cached_wheel() is None, reason="musicnn 0.1.0 wheel not cached locally")
def test_real_musicnn_conversion_reproduces_shipped_weights(tmp_path: Path):
    """Converting the original checkpoints again gives byte-identical shipped files."""
    from musicapp_lab.models.musicnn_convert import convert_musicnn

    from musicapp.models.musicnn import weights_path
    from musicapp.models.weights import sha256_file

    summary = convert_musicnn(_cached_wheel(), tmp_path, ("MSD_musicnn", "MTT_musicnn"))
    for name, s in summary.items():
        assert s["sha256"] == sha256_file(weights_path(name)), name
        assert s["parameters"] == 792079
