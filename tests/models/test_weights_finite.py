"""Weights with NaN/infinity whose sidecar digest was rewritten to match are refused at load,
for every shipped model file, naming the file (real copies of the shipped safetensors)."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from musicapp.errors import ModelError
from musicapp.models.weights import load_state, read_verified_numpy, register_checksum
from musicapp.paths import resource_path

SHIPPED = sorted(Path(resource_path("models")).glob("*.safetensors"))


def _poison(path: Path, value: float = float("nan"), every: bool = False) -> str:
    """Set one float tensor (or all of them) of ``path`` to ``value``, keep the metadata and
    rewrite the sha256 sidecar so the checksum matches; returns the poisoned tensor's name."""
    data = path.read_bytes()
    (n,) = struct.unpack_from("<Q", data, 0)
    meta = json.loads(data[8:8 + n]).get("__metadata__")
    tensors = load_file(str(path))
    names = [k for k, v in tensors.items() if v.dtype.kind == "f" and v.size]
    for k in names if every else names[-1:]:
        tensors[k] = np.full_like(tensors[k], value)
    save_file(tensors, str(path), metadata=meta)
    register_checksum(path)
    return names[-1]


@pytest.mark.parametrize("src", SHIPPED, ids=lambda p: p.name)
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_every_model_file_with_non_finite_weights_is_refused(tmp_path, src, value):
    path = tmp_path / src.name
    shutil.copyfile(src, path)
    shutil.copyfile(f"{src}.sha256", f"{path}.sha256")
    load_state(path)  # the untouched copy loads (before: the poisoned one loaded too)
    try:  # the numpy reader is for files whose metadata values are JSON (chord models)
        read_verified_numpy(path)
        numpy_reader = True
    except ModelError:
        numpy_reader = False
    name = _poison(path, value)
    with pytest.raises(ModelError, match="non-finite") as err:
        load_state(path)
    assert str(path) in str(err.value) and name in str(err.value)
    if numpy_reader:
        with pytest.raises(ModelError, match="non-finite"):
            read_verified_numpy(path)


def test_analyze_with_nan_hashnet_is_not_a_confident_result(tmp_path):
    """Before: status ok, valence -0.97, hash 0000000000000000, moods listed."""
    import soundfile as sf

    res = tmp_path / "res"
    shutil.copytree(resource_path(""), res)
    _poison(res / "models" / "hashnet.safetensors", every=True)
    t = np.arange(22050 * 8) / 22050
    clip = tmp_path / "clip.wav"
    y = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t))
    sf.write(clip, y.astype(np.float32), 22050)
    env = {"MUSICAPP_RESOURCES": str(res), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin",
           "MUSICAPP_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "musicapp", "analyze", "--json", "--no-music", str(clip)],
                       capture_output=True, text=True, timeout=300, env=env)
    out = r.stdout + r.stderr
    assert "hashnet.safetensors" in out and "non-finite" in out, out[-2000:]
    if r.returncode == 0:
        d = json.loads(r.stdout)
        assert d.get("hash") in (None, "") and not d.get("moods") and d.get("valence") is None, d
