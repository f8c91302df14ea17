"""Safe, checksum-verified loading of model weights (safetensors only — nothing is unpickled).

Every weights file ``NAME.safetensors`` ships with a sidecar ``NAME.safetensors.sha256`` in
``sha256sum`` format (``<hex digest>  NAME.safetensors``), so ``sha256sum -c`` can check it too.
:func:`load_state` reads the file once, checks the bytes it read against the recorded digest, and
only then parses them. A missing file, a missing or malformed checksum, a truncated file or a file
whose digest differs is refused with :class:`musicapp.errors.ModelError` naming the file and the
problem. Headers are parsed with limits (size, JSON nesting, integer offsets) so that even a file
whose checksum matches cannot make the parser overflow or recurse.

Generic: any model of the project (musicnn port, hashing model) uses these functions.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from musicapp.errors import ModelError
from musicapp.outputs import write_atomically

if TYPE_CHECKING:  # torch is imported lazily
    import torch

CHECKSUM_SUFFIX = ".sha256"
#: The largest safetensors JSON header accepted (the shipped ones are under 10 KB).
MAX_HEADER_BYTES = 4 << 20
#: The deepest JSON nesting accepted in a header (safetensors needs 3).
MAX_HEADER_DEPTH = 8
#: The largest checksum sidecar read (one ``sha256sum`` line is ~100 bytes).
MAX_SIDECAR_BYTES = 4096
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


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
    """The digest recorded for ``path`` in its sidecar; ModelError when there is none.

    The sidecar must be a short text file whose first word is 64 hex digits; an empty, binary,
    huge or otherwise malformed sidecar is refused with a message naming it.
    """
    side = checksum_path(path)
    try:
        with open(side, "rb") as fh:
            raw = fh.read(MAX_SIDECAR_BYTES + 1)
    except FileNotFoundError:
        raise ModelError(
            f"{path}: no checksum recorded ({side.name} is missing); refusing to load "
            "unverified weights"
        ) from None
    except OSError as exc:
        raise ModelError(f"{side}: cannot read checksum file ({exc.strerror or exc})") from exc
    if len(raw) > MAX_SIDECAR_BYTES:
        raise ModelError(f"{side}: not a sha256 checksum file (larger than {MAX_SIDECAR_BYTES} bytes)")
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ModelError(f"{side}: not a sha256 checksum file (binary content)") from None
    if not text:
        raise ModelError(f"{side}: not a sha256 checksum file (empty)")
    words = text.split()
    digest = words[0].lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ModelError(f"{side}: not a sha256 checksum file")
    # the line names the file it is for (sha256sum format): a weights file swapped with another
    # one together with its sidecar would otherwise verify and give confident wrong answers
    named = Path(words[1].lstrip("*")).name if len(words) > 1 else None
    if named is not None and named != Path(path).name:
        raise ModelError(f"{side}: the checksum is for {named}, not {Path(path).name}; refusing "
                         "weights that may have been swapped (reinstall musicapp)")
    return digest


def register_checksum(path: str | Path) -> str:
    """Record the sha256 of ``path`` in its sidecar (creating or updating it); return the digest."""
    p = Path(path)
    digest = sha256_file(p)
    _atomic_write(checksum_path(p), f"{digest}  {p.name}\n".encode(), "checksum")
    return digest


_BRACKETS_ONLY = re.compile(rb"[^\[\]{}]")


def _json_depth(raw: bytes) -> int:
    """The deepest nesting of ``[``/``{`` in a JSON text (strings ignored), without recursion."""
    brackets = _BRACKETS_ONLY.sub(b"", _STRING.sub(b'""', raw))
    depth = deepest = 0
    for code in brackets:  # only the brackets are left: a short loop, no numpy on this path
        depth += 1 if code in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def parse_header(path: str | Path, data: bytes) -> tuple[dict, int]:
    """The safetensors JSON header of ``data`` and its length, checked with limits.

    Refuses (ModelError) a header that is too short, larger than :data:`MAX_HEADER_BYTES`, nested
    deeper than :data:`MAX_HEADER_DEPTH`, not a JSON object, or whose entries are not
    ``{"dtype": str, "shape": [ints >= 0], "data_offsets": [begin, end]}`` with integer offsets
    ``0 <= begin <= end`` (so ``1e999`` or a string never reaches arithmetic).
    """
    if len(data) < 8:
        raise ModelError(f"{path}: truncated weights file ({len(data)} bytes; no safetensors header)")
    (header_len,) = struct.unpack_from("<Q", data, 0)
    if header_len > MAX_HEADER_BYTES:
        raise ModelError(f"{path}: not a safetensors file (header length {header_len})")
    if 8 + header_len > len(data):
        raise ModelError(
            f"{path}: truncated weights file ({len(data)} bytes, its header alone needs "
            f"{8 + header_len})"
        )
    raw = data[8 : 8 + header_len]
    if _json_depth(raw) > MAX_HEADER_DEPTH:
        raise ModelError(f"{path}: not a safetensors file (header nested too deeply)")
    try:
        header = json.loads(raw, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelError(f"{path}: not a safetensors file (unreadable header: {exc})") from exc
    if not isinstance(header, dict):
        raise ModelError(f"{path}: not a safetensors file (header is not a JSON object)")
    for key, info in header.items():
        if key == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                raise ModelError(f"{path}: not a safetensors file (metadata is not text)")
            continue
        if not _valid_entry(info):
            raise ModelError(f"{path}: not a safetensors file (bad entry {key[:60]!r})")
    return header, header_len


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in a safetensors header")


def _valid_entry(info: object) -> bool:
    if not isinstance(info, dict) or not isinstance(info.get("dtype"), str):
        return False
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if not isinstance(shape, list) or not all(type(n) is int and 0 <= n < 1 << 48 for n in shape):
        return False
    if not isinstance(offsets, list) or len(offsets) != 2:
        return False
    begin, end = offsets
    return type(begin) is int and type(end) is int and 0 <= begin <= end < 1 << 53


def _safetensors_declared_size(path: str | Path, data: bytes) -> int:
    """Size in bytes that the safetensors header says the file has; ModelError if unreadable."""
    header, header_len = parse_header(path, data)
    end = max(
        (int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0
    )
    return 8 + header_len + end


def _truncation_note(path: str | Path, data: bytes) -> str:
    """After a checksum mismatch: say whether the file looks truncated (header parsed with limits)."""
    try:
        declared = _safetensors_declared_size(path, data)
    except ModelError as exc:
        return " (truncated)" if "truncated" in str(exc) else ""
    if len(data) < declared:
        return f" (truncated: {len(data)} bytes, its header declares {declared})"
    return ""


def _check(path: str | Path, data: bytes, digest: str | None) -> None:
    """Checksum first; only bytes that match the recorded digest are parsed."""
    if digest is None:
        digest = expected_sha256(path)
    actual = sha256_bytes(data)
    if actual != digest:
        raise ModelError(
            f"{path}: checksum mismatch (sha256 {actual[:16]}..., expected {digest[:16]}...)"
            f"{_truncation_note(path, data)}; the file is corrupt or was modified — refusing "
            "to load it; reinstall or re-create it"
        )
    declared = _safetensors_declared_size(path, data)
    if len(data) < declared:
        raise ModelError(
            f"{path}: truncated weights file ({len(data)} bytes, its header declares {declared}); "
            "reinstall or re-create it"
        )


def _read(path: str | Path) -> bytes:
    p = Path(path)
    if not p.exists():
        raise ModelError(f"{p}: weights file not found")
    if p.suffix != ".safetensors":
        raise ModelError(f"{p}: only .safetensors weights are loaded (never pickles)")
    if not p.is_file():
        raise ModelError(f"{p}: not a regular file; weights are read from regular files only")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise ModelError(f"{p}: cannot read weights file ({exc.strerror or exc})") from exc


def refuse_non_finite(path: str | Path, tensors: dict) -> None:
    """Raise :class:`ModelError` naming ``path`` and the first tensor that holds a NaN or an
    infinity (torch tensors or numpy arrays; integer tensors pass). A file whose sidecar digest
    was rewritten after its floats were set to NaN passes the checksum, and its model then
    reports confident nonsense (valence -0.97, hash 0000000000000000); no trained weight of a
    shipped model is non-finite. A tensor's sum is finite only when every value is (NaN and
    infinities propagate), so one summing pass decides; only a tensor whose sum is not finite
    (or overflows) is counted value by value."""
    import math

    import numpy as np

    for name, t in tensors.items():
        if isinstance(t, np.ndarray):
            if t.dtype.kind not in "fc" or np.isfinite(t.sum()):
                continue
            bad = int(t.size - np.count_nonzero(np.isfinite(t)))
        else:
            if not (t.is_floating_point() or t.is_complex()):
                continue
            total = complex(t.sum().item())
            if math.isfinite(total.real) and math.isfinite(total.imag):
                continue
            import torch

            bad = int(t.numel() - torch.isfinite(t).sum().item())
        if bad:
            raise ModelError(
                f"{path}: tensor {name!r} holds {bad} non-finite value(s) (NaN or infinity); the "
                "weights are damaged or were tampered with — refusing to load them; reinstall "
                "or re-create the file"
            )


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
    refuse_non_finite(path, state)
    if device != "cpu":
        state = {k: v.to(device) for k, v in state.items()}
    return state


def load_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata stored in a safetensors header (no checksum check, no tensors read).

    The header is parsed with the same limits as in :func:`load_state`.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise ModelError(f"{p}: truncated weights file (no safetensors header)")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER_BYTES:
                raise ModelError(f"{p}: not a safetensors file (header length {n})")
            raw = head + fh.read(n)
    except FileNotFoundError:
        raise ModelError(f"{p}: weights file not found") from None
    except OSError as exc:
        raise ModelError(f"{p}: cannot read weights file ({exc.strerror or exc})") from exc
    header, _ = parse_header(p, raw)
    return dict(header.get("__metadata__") or {})


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
        _atomic_write(checksum_path(p), f"{digest}  {p.name}\n".encode(), "checksum")
    return digest


def _atomic_write(path: Path, data: bytes, kind: str = "weights") -> None:
    """Replace ``path`` with ``data`` (:func:`musicapp.outputs.write_atomically`, flushed to
    disk); the folder is created first. ModelError when it cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"{path}: cannot create folder {path.parent} ({exc.strerror or exc})") from None

    def put(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    write_atomically(path, put, overwrite=True, kind=kind, error=ModelError, need_bytes=len(data))


def read_verified_safetensors(path: str | Path, missing: str | None = None) -> bytes:
    """The bytes of a ``.safetensors`` file read once and checked against the digest recorded in
    its sidecar (:func:`expected_sha256`: missing, empty, binary, huge or malformed sidecars are
    ModelErrors) and against the safetensors header limits (:func:`parse_header`), so nothing
    but a verified, well-formed file reaches a model (and nothing is unpickled).

    Args:
        path: the weights file.
        missing: the message when the file does not exist (default: "not a regular file").

    Raises:
        ModelError: naming ``path`` and the problem.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ModelError(f"{path}: only .safetensors weights are loaded (never pickles)")
    if missing is not None and not path.exists():
        raise ModelError(f"{path}: {missing}")
    if not path.is_file():
        raise ModelError(f"{path}: not a regular file; weights are read from regular files only")
    expected = expected_sha256(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read weights ({exc.strerror or exc})") from None
    actual = sha256_bytes(data)
    if actual != expected:
        raise ModelError(f"{path}: sha256 {actual[:16]}... does not match the recorded "
                         f"{expected[:16]}... (file corrupt or modified); refusing to load it")
    parse_header(path, data)
    return data


def read_verified_numpy(path: str | Path, missing: str | None = None) -> tuple[dict, dict]:
    """``(tensors, metadata)`` of a verified ``.safetensors`` file
    (:func:`read_verified_safetensors`) as numpy arrays, each metadata value parsed as JSON.

    Raises:
        ModelError: naming ``path``: not verified, or not readable as safetensors.
    """
    path = Path(path)
    data = read_verified_safetensors(path, missing)
    try:
        from safetensors.numpy import load as load_np

        (header_len,) = struct.unpack_from("<Q", data, 0)
        header = json.loads(data[8:8 + header_len])
        meta = {k: json.loads(v) for k, v in header.get("__metadata__", {}).items()}
        tensors = load_np(data)
    except Exception as exc:
        raise ModelError(f"{path}: not a readable safetensors file ({exc})") from None
    refuse_non_finite(path, tensors)
    return tensors, meta
