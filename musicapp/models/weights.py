"""Safe, checksum-verified loading of model weights (safetensors only — nothing is unpickled).

Every weights file ``NAME.safetensors`` ships with a sidecar ``NAME.safetensors.sha256`` in
``sha256sum`` format (``<hex digest>  NAME.safetensors``), so ``sha256sum -c`` can check it too.
:func:`load_state` reads the file once, checks the bytes it read against the recorded digest, and
only then parses them. A missing file, a missing checksum, a truncated file or a file whose digest
differs is refused with :class:`musicapp.errors.ModelError` naming the file and the problem.

Generic: any model of the project (musicnn port, hashing model) uses these functions.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from musicapp.errors import ModelError

if TYPE_CHECKING:  # torch is imported lazily
    import torch

CHECKSUM_SUFFIX = ".sha256"


def checksum_path(path: str | Path) -> Path:
    """The sidecar file that records the sha256 of ``path``."""
    p = Path(path)
    return p.with_name(p.name + CHECKSUM_SUFFIX)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def expected_sha256(path: str | Path) -> str:
    """The digest recorded for ``path`` in its sidecar; ModelError when there is none."""
    side = checksum_path(path)
    try:
        text = side.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ModelError(
            f"{path}: no checksum recorded ({side.name} is missing); refusing to load "
            "unverified weights"
        ) from None
    except OSError as exc:
        raise ModelError(f"{side}: cannot read checksum file ({exc})") from exc
    digest = text.split()[0].lower() if text else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ModelError(f"{side}: not a sha256 checksum file")
    return digest


def register_checksum(path: str | Path) -> str:
    """Record the sha256 of ``path`` in its sidecar (creating or updating it); return the digest."""
    p = Path(path)
    digest = sha256_file(p)
    _atomic_write(checksum_path(p), f"{digest}  {p.name}\n".encode())
    return digest


def _safetensors_declared_size(path: str | Path, data: bytes) -> int:
    """Size in bytes that the safetensors header says the file has; ModelError if unreadable."""
    if len(data) < 8:
        raise ModelError(
            f"{path}: truncated weights file ({len(data)} bytes; no safetensors header)"
        )
    (header_len,) = struct.unpack_from("<Q", data, 0)
    if header_len > 100_000_000:
        raise ModelError(f"{path}: not a safetensors file (header length {header_len})")
    if 8 + header_len > len(data):
        raise ModelError(
            f"{path}: truncated weights file ({len(data)} bytes, its header alone needs "
            f"{8 + header_len})"
        )
    try:
        header = json.loads(data[8 : 8 + header_len])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not a safetensors file (unreadable header: {exc})") from exc
    if not isinstance(header, dict):
        raise ModelError(f"{path}: not a safetensors file (header is not a JSON object)")
    end = 0
    for key, info in header.items():
        if key == "__metadata__":
            continue
        try:
            end = max(end, int(info["data_offsets"][1]))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelError(f"{path}: not a safetensors file (bad entry {key!r})") from exc
    return 8 + header_len + end


def _check(path: str | Path, data: bytes, digest: str | None) -> None:
    declared = _safetensors_declared_size(path, data)
    if len(data) < declared:
        raise ModelError(
            f"{path}: truncated weights file ({len(data)} bytes, its header declares {declared}); "
            "reinstall or re-create it"
        )
    if digest is None:
        digest = expected_sha256(path)
    actual = sha256_bytes(data)
    if actual != digest:
        raise ModelError(
            f"{path}: checksum mismatch (sha256 {actual[:16]}..., expected {digest[:16]}...); "
            "the file is corrupt or was modified — refusing to load it"
        )


def _read(path: str | Path) -> bytes:
    p = Path(path)
    if not p.exists():
        raise ModelError(f"{p}: weights file not found")
    if p.suffix != ".safetensors":
        raise ModelError(f"{p}: only .safetensors weights are loaded (never pickles)")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise ModelError(f"{p}: cannot read weights file ({exc.strerror or exc})") from exc


def verify(path: str | Path, sha256: str | None = None) -> str:
    """Check ``path`` against ``sha256`` (default: its recorded sidecar digest); return the digest.

    Raises ModelError for a missing, truncated, unparsable or modified file.
    """
    data = _read(path)
    _check(path, data, sha256.lower() if sha256 else None)
    return sha256_bytes(data)


def load_state(
    path: str | Path, sha256: str | None = None, device: str = "cpu"
) -> dict[str, torch.Tensor]:
    """Verify and load a safetensors file into ``{name: tensor}`` (on ``device``)."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    data = _read(path)
    _check(path, data, sha256.lower() if sha256 else None)
    try:
        state = load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{path}: unreadable safetensors file ({exc})") from exc
    if device != "cpu":
        state = {k: v.to(device) for k, v in state.items()}
    return state


def load_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata stored in a safetensors header (no checksum check, no tensors read)."""
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise ModelError(f"{p}: truncated weights file (no safetensors header)")
            (n,) = struct.unpack("<Q", head)
            if n > 100_000_000:
                raise ModelError(f"{p}: not a safetensors file")
            raw = fh.read(n)
    except FileNotFoundError:
        raise ModelError(f"{p}: weights file not found") from None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{p}: not a safetensors file (unreadable header)") from exc
    meta = header.get("__metadata__", {}) if isinstance(header, dict) else {}
    return dict(meta or {})


_ST_DTYPES = {
    "float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64", "int64": "I64",
    "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL",
}  # fmt: skip


def serialize_state(
    state: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None
) -> bytes:
    """Serialise tensors to safetensors bytes *deterministically* (sorted names and metadata),
    so that a re-conversion reproduces the recorded checksum byte for byte."""
    import torch

    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(state):
        t = state[name].detach().to("cpu").contiguous()
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype not in _ST_DTYPES:
            raise ModelError(f"{name}: dtype {t.dtype} cannot be saved as safetensors here")
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {"dtype": _ST_DTYPES[dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}  # fmt: skip
        chunks.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def save_state(
    path: str | Path,
    state: Mapping[str, torch.Tensor],
    metadata: Mapping[str, str] | None = None,
    register: bool = True,
) -> str:
    """Write ``state`` as safetensors atomically and, by default, record its checksum in the
    sidecar. The bytes are deterministic for the same tensors and metadata. Returns the sha256."""
    data = serialize_state(state, metadata)
    p = Path(path)
    _atomic_write(p, data)
    digest = sha256_bytes(data)
    if register:
        _atomic_write(checksum_path(p), f"{digest}  {p.name}\n".encode())
    return digest


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
