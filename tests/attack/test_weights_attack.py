"""Issue 14, C8: hostile weights files and checksum sidecars give a clear ModelError.

The checksum is verified before the header is parsed; even a file whose checksum matches cannot
make the parser overflow (``1e999``) or recurse (deep nesting); a foreign model file is refused.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from musicapp.errors import ModelError
from musicapp.models import weights
from musicapp.paths import resource_path
from tests.attack._cli import assert_clear_error, run_cli


def _safetensors(path: Path, header: bytes, tail: bytes = bytes(16), register: bool = True) -> Path:
    path.write_bytes(struct.pack("<Q", len(header)) + header + tail)
    if register:
        weights.register_checksum(path)
    return path


HOSTILE_HEADERS = {
    "offset-1e999": b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,1e999]}}',
    "offset-string": b'{"a":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}',
    "offset-negative": b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[-8,4]}}',
    "offset-nan": b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,NaN]}}',
    "shape-float": b'{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}',
    "deep-nesting": b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "list": b"[1, 2, 3]",
    "metadata-object": b'{"__metadata__":{"x":{"y":1}}}',
    "binary": bytes(range(256)),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_HEADERS))
def test_hostile_header_with_a_matching_checksum_is_refused(tmp_path, name):
    p = _safetensors(tmp_path / "m.safetensors", HOSTILE_HEADERS[name])
    with pytest.raises(ModelError, match="not a safetensors file"):
        weights.load_state(p)
    with pytest.raises(ModelError):
        weights.load_metadata(p)


def test_checksum_is_checked_before_the_header_is_parsed(tmp_path):
    p = _safetensors(tmp_path / "m.safetensors", HOSTILE_HEADERS["deep-nesting"], register=False)
    weights.checksum_path(p).write_text("0" * 64 + "  m.safetensors\n")
    with pytest.raises(ModelError, match="checksum mismatch"):
        weights.load_state(p)


def test_header_length_is_limited(tmp_path):
    p = tmp_path / "m.safetensors"
    p.write_bytes(struct.pack("<Q", weights.MAX_HEADER_BYTES + 1) + b"{}")
    weights.register_checksum(p)
    with pytest.raises(ModelError, match="header length"):
        weights.load_state(p)


@pytest.mark.parametrize(
    "sidecar, problem",
    [(b"", "empty"), (b"\xff\xfe\x00\x81binary", "binary"), (b"a" * 10_000, "larger than"),
     (b"zz" * 32, "not a sha256 checksum file")],
    ids=["empty", "binary", "huge", "not-hex"],
)  # fmt: skip
def test_bad_sidecar_is_a_clear_error(tmp_path, sidecar, problem):
    p = _safetensors(tmp_path / "m.safetensors", b'{"__metadata__":{}}')
    weights.checksum_path(p).write_bytes(sidecar)
    with pytest.raises(ModelError, match=problem):
        weights.load_state(p)


def test_foreign_weights_for_chords_are_a_clear_error(tmp_path):
    src = resource_path("models", "musicnn_mtt.safetensors")
    foreign = tmp_path / "foreign.safetensors"
    shutil.copy(src, foreign)
    weights.register_checksum(foreign)
    assert_clear_error(run_cli(["chords", "--model", foreign.name], tmp_path, timeout=120), "foreign")
    weights.checksum_path(foreign).write_bytes(b"")  # an empty sidecar: was IndexError
    assert_clear_error(run_cli(["chords", "--model", foreign.name], tmp_path, timeout=120), "empty")


def _resources_copy(tmp_path: Path) -> Path:
    """A copy of the shipped resources folder whose chord model the test may tamper with."""
    root = tmp_path / "resources"
    shutil.copytree(resource_path(), root, ignore=shutil.ignore_patterns("screenshots", "musicnn*"))
    return root


class _Payload:
    """Unpickling this creates a marker file: proof that something unpickled the weights."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_tampered_default_chord_model_in_a_resources_copy(tmp_path):
    import pickle

    from musicapp.models.weights import register_checksum

    root = _resources_copy(tmp_path)
    model = root / "models" / "chordgru.safetensors"
    env = {"MUSICAPP_RESOURCES": str(root)}
    # the shipped file is named "None" in the message when the default model is bad: the default
    # weights file must be named instead
    weights.checksum_path(model).write_bytes(b"")
    run = run_cli(["chords", "--mood", "happy"], tmp_path, timeout=120, env=env)
    assert_clear_error(run, "chordgru.safetensors.sha256", "empty")
    assert "None:" not in run.stderr
    weights.checksum_path(model).write_bytes(b"\xff\xfe\x00binary")
    assert_clear_error(run_cli(["chords", "--mood", "happy"], tmp_path, timeout=120, env=env),
                       "chordgru.safetensors.sha256", "binary")
    # a pickle disguised as safetensors, with a matching checksum: refused, never unpickled
    marker = tmp_path / "UNPICKLED"
    model.write_bytes(pickle.dumps(_Payload(marker)))
    register_checksum(model)
    assert_clear_error(run_cli(["chords", "--mood", "happy"], tmp_path, timeout=120, env=env),
                       "chordgru.safetensors", "not a safetensors file")
    assert not marker.exists()


def test_chord_model_sidecar_is_read_by_the_shared_parser(tmp_path):
    from musicapp.compose.model import DEFAULT_WEIGHTS, ChordModel

    copy = tmp_path / "chordgru.safetensors"
    shutil.copy(DEFAULT_WEIGHTS, copy)
    side = weights.checksum_path(copy)
    for content, needle in ((b"", "empty"), (b"\xff\xfe", "binary"), (b"x" * 5000, "larger"),
                            (b"not-a-digest  chordgru.safetensors\n", "not a sha256")):
        side.write_bytes(content)  # before: IndexError / UnicodeDecodeError from its own parser
        with pytest.raises(ModelError, match=needle):
            ChordModel.load(copy)
    weights.register_checksum(copy)
    assert ChordModel.load(copy).itos  # the real file still loads
    data = copy.read_bytes()
    copy.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="does not match"):
        ChordModel.load(copy)
