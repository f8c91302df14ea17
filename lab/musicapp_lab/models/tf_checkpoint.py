"""Read TensorFlow v2 ("tensor bundle") checkpoints with numpy alone — no TensorFlow.

A checkpoint ``PREFIX`` is two files:

* ``PREFIX.index`` — a LevelDB-style sorted string table (SSTable). Its 48-byte footer points at
  an index block whose entries point at data blocks. Each data-block entry maps a tensor name to a
  serialised ``BundleEntryProto`` (dtype, shape, shard id, byte offset, byte size, masked CRC32C).
  The entry with the empty key is the ``BundleHeaderProto`` (number of shards, endianness).
* ``PREFIX.data-0000S-of-0000N`` — the raw little-endian tensor bytes, concatenated.

Only the subset of the format that TensorFlow writes for dense numeric tensors is supported:
uncompressed blocks, numeric dtypes, unsliced tensors. Anything else raises
:class:`musicapp.errors.ModelError` naming the file and the problem.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicapp.errors import ModelError

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5  # 1 byte compression type + 4 bytes CRC

# tensorflow/core/framework/types.proto -> numpy little-endian dtype
_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),  # DT_FLOAT
    2: np.dtype("<f8"),  # DT_DOUBLE
    3: np.dtype("<i4"),  # DT_INT32
    4: np.dtype("u1"),  # DT_UINT8
    5: np.dtype("<i2"),  # DT_INT16
    6: np.dtype("i1"),  # DT_INT8
    9: np.dtype("<i8"),  # DT_INT64
    10: np.dtype("?"),  # DT_BOOL
    17: np.dtype("<u2"),  # DT_UINT16
    19: np.dtype("<f2"),  # DT_HALF
    22: np.dtype("<u4"),  # DT_UINT32
    23: np.dtype("<u8"),  # DT_UINT64
}
DT_STRING = 7

# Name fragments of optimiser state and bookkeeping that are not model variables.
OPTIMIZER_MARKERS = (
    "/Adam", "/Momentum", "/RMSProp", "/Adagrad", "/Ftrl", "/ExponentialMovingAverage",
)  # fmt: skip
NON_MODEL_NAMES = ("global_step", "beta1_power", "beta2_power", "_CHECKPOINTABLE_OBJECT_GRAPH")


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives in the data file(s)."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int | None
    has_slices: bool = False


# --------------------------------------------------------------------------- protobuf wire format


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; return (value, next position)."""
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def iter_proto_fields(buf: bytes) -> Iterable[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value) of a serialised protobuf message.

    Varints and fixed-width values are returned as ints, length-delimited fields as bytes.
    """
    pos = 0
    n = len(buf)
    while pos < n:
        key, pos = read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            if pos + 8 > n:
                raise ValueError("truncated fixed64")
            value = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            if pos + length > n:
                raise ValueError("truncated length-delimited field")
            value = bytes(buf[pos : pos + length])
            pos += length
        elif wire == 5:
            if pos + 4 > n:
                raise ValueError("truncated fixed32")
            value = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def parse_shape(buf: bytes) -> tuple[int, ...]:
    """Parse a ``TensorShapeProto`` (field 2: repeated Dim{1: size}; field 3: unknown_rank)."""
    dims: list[int] = []
    for field, _, value in iter_proto_fields(buf):
        if field == 2:
            size = 0
            for dfield, _, dvalue in iter_proto_fields(value):  # type: ignore[arg-type]
                if dfield == 1:
                    size = _signed64(int(dvalue))  # type: ignore[arg-type]
            dims.append(size)
        elif field == 3 and value:
            raise ValueError("tensor shape has unknown rank")
    return tuple(dims)


def parse_bundle_entry(name: str, buf: bytes) -> TensorEntry:
    """Parse a ``BundleEntryProto``: 1 dtype, 2 shape, 3 shard_id, 4 offset, 5 size, 6 crc32c,
    7 slices."""
    dtype = 0
    shape: tuple[int, ...] = ()
    shard_id = offset = size = 0
    crc: int | None = None
    has_slices = False
    for field, _, value in iter_proto_fields(buf):
        if field == 1:
            dtype = int(value)  # type: ignore[arg-type]
        elif field == 2:
            shape = parse_shape(value)  # type: ignore[arg-type]
        elif field == 3:
            shard_id = int(value)  # type: ignore[arg-type]
        elif field == 4:
            offset = _signed64(int(value))  # type: ignore[arg-type]
        elif field == 5:
            size = _signed64(int(value))  # type: ignore[arg-type]
        elif field == 6:
            crc = int(value)  # type: ignore[arg-type]
        elif field == 7:
            has_slices = True
    return TensorEntry(name, dtype, shape, shard_id, offset, size, crc, has_slices)


# --------------------------------------------------------------------------- CRC32C (Castagnoli)


def _crc32c_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data`` (pure Python; used once per conversion)."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """LevelDB/TensorFlow masked CRC32C: rotate right by 15 bits and add a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# --------------------------------------------------------------------------- SSTable


def _read_block(path: Path, data: bytes, offset: int, size: int) -> bytes:
    end = offset + size
    if offset < 0 or end + BLOCK_TRAILER_SIZE > len(data):
        raise ModelError(f"{path}: block at {offset}+{size} lies outside the file (truncated?)")
    compression = data[end]
    if compression != 0:
        raise ModelError(f"{path}: compressed table blocks (type {compression}) are not supported")
    return data[offset:end]


def iter_block_entries(block: bytes) -> Iterable[tuple[bytes, bytes]]:
    """Yield (key, value) of one SSTable block (prefix-compressed keys, restart array last)."""
    if len(block) < 4:
        raise ValueError("block shorter than its restart count")
    num_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    limit = len(block) - 4 - 4 * num_restarts
    if limit < 0:
        raise ValueError("restart array larger than the block")
    pos = 0
    key = b""
    while pos < limit:
        shared, pos = read_varint(block, pos)
        non_shared, pos = read_varint(block, pos)
        value_len, pos = read_varint(block, pos)
        if shared > len(key) or pos + non_shared + value_len > limit:
            raise ValueError("corrupt block entry")
        key = key[:shared] + block[pos : pos + non_shared]
        pos += non_shared
        yield key, block[pos : pos + value_len]
        pos += value_len


def _block_handle(buf: bytes, pos: int = 0) -> tuple[int, int, int]:
    offset, pos = read_varint(buf, pos)
    size, pos = read_varint(buf, pos)
    return offset, size, pos


def read_index(index_path: str | Path) -> tuple[dict[str, TensorEntry], int]:
    """Parse a ``.index`` file; return ({tensor name: entry}, number of shards)."""
    path = Path(index_path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"{path}: cannot read checkpoint index ({exc.strerror or exc})") from exc
    if len(data) < FOOTER_SIZE:
        raise ModelError(f"{path}: too short for a checkpoint index ({len(data)} bytes)")
    footer = data[-FOOTER_SIZE:]
    magic = struct.unpack_from("<Q", footer, FOOTER_SIZE - 8)[0]
    if magic != TABLE_MAGIC:
        raise ModelError(f"{path}: not a TensorFlow checkpoint index (bad table magic)")
    entries: dict[str, TensorEntry] = {}
    num_shards = 1
    try:
        _, _, pos = _block_handle(footer)  # metaindex handle (unused by tensor bundles)
        index_offset, index_size, _ = _block_handle(footer, pos)
        index_block = _read_block(path, data, index_offset, index_size)
        for _, handle in iter_block_entries(index_block):
            block_offset, block_size, _ = _block_handle(handle)
            block = _read_block(path, data, block_offset, block_size)
            for key, value in iter_block_entries(block):
                if key == b"":
                    for field, _, fvalue in iter_proto_fields(value):
                        if field == 1:
                            num_shards = int(fvalue)  # type: ignore[arg-type]
                        elif field == 2 and fvalue == 1:
                            raise ModelError(f"{path}: big-endian checkpoints are not supported")
                    continue
                name = key.decode("utf-8")
                entries[name] = parse_bundle_entry(name, value)
    except ValueError as exc:
        raise ModelError(f"{path}: corrupt checkpoint index ({exc})") from exc
    return entries, num_shards


def _prefix_of(path: str | Path) -> str:
    """Accept a prefix, the ``.index`` file, or a directory holding one checkpoint."""
    p = Path(path)
    if p.is_dir():
        indexes = sorted(q for q in p.iterdir() if q.name.endswith(".index"))
        if len(indexes) != 1:
            raise ModelError(f"{p}: expected exactly one .index file, found {len(indexes)}")
        p = indexes[0]
    if p.name.endswith(".index"):
        # str slicing, not with_suffix: musicnn's index is named just ".index" (a "hidden" name)
        return str(p)[: -len(".index")]
    return str(p)


def is_model_variable(name: str) -> bool:
    """True for trainable weights and batch-norm statistics; False for optimiser state."""
    if name in NON_MODEL_NAMES:
        return False
    return not any(marker in name for marker in OPTIMIZER_MARKERS)


class TFCheckpoint:
    """A TensorFlow v2 checkpoint opened for reading.

    ``TFCheckpoint(path)`` takes the checkpoint prefix, its ``.index`` file, or a directory that
    holds exactly one checkpoint (musicnn stores its checkpoints with an empty prefix, as
    ``DIR/.index`` and ``DIR/.data-00000-of-00001``).
    """

    def __init__(self, path: str | Path) -> None:
        self.prefix = _prefix_of(path)
        self.index_path = Path(self.prefix + ".index")
        self.entries, self.num_shards = read_index(self.index_path)
        self._shards: dict[int, bytes] = {}

    def shard_path(self, shard_id: int) -> Path:
        """Path of data shard ``shard_id``."""
        return Path(f"{self.prefix}.data-{shard_id:05d}-of-{self.num_shards:05d}")

    def _shard(self, shard_id: int) -> bytes:
        if shard_id not in self._shards:
            path = self.shard_path(shard_id)
            try:
                self._shards[shard_id] = path.read_bytes()
            except OSError as exc:
                problem = exc.strerror or exc
                raise ModelError(f"{path}: cannot read checkpoint data ({problem})") from exc
        return self._shards[shard_id]

    def names(self, model_only: bool = False) -> list[str]:
        """Sorted tensor names; with ``model_only`` optimiser slots and counters are left out."""
        return sorted(n for n in self.entries if not model_only or is_model_variable(n))

    def read(self, name: str, verify_crc: bool = True) -> np.ndarray:
        """Return tensor ``name`` as a numpy array (a copy), checking its CRC32C by default."""
        try:
            entry = self.entries[name]
        except KeyError:
            raise ModelError(f"{self.index_path}: no tensor named {name!r}") from None
        if entry.has_slices:
            raise ModelError(f"{self.index_path}: tensor {name!r} is partitioned (unsupported)")
        if entry.dtype == DT_STRING or entry.dtype not in _DTYPES:
            raise ModelError(
                f"{self.index_path}: tensor {name!r} has unsupported dtype {entry.dtype}"
            )
        dtype = _DTYPES[entry.dtype]
        count = int(np.prod(entry.shape, dtype=np.int64)) if entry.shape else 1
        if count * dtype.itemsize != entry.size:
            raise ModelError(
                f"{self.index_path}: tensor {name!r} has {entry.size} bytes, "
                f"shape {entry.shape} needs {count * dtype.itemsize}"
            )
        data = self._shard(entry.shard_id)
        end = entry.offset + entry.size
        if entry.offset < 0 or end > len(data):
            raise ModelError(
                f"{self.shard_path(entry.shard_id)}: tensor {name!r} at bytes "
                f"{entry.offset}..{end} lies beyond the end of the file "
                f"({len(data)} bytes; truncated?)"
            )
        raw = data[entry.offset : end]
        if verify_crc and entry.crc32c is not None and masked_crc32c(raw) != entry.crc32c:
            raise ModelError(
                f"{self.shard_path(entry.shard_id)}: checksum mismatch for tensor {name!r} "
                "(corrupt or tampered checkpoint)"
            )
        return np.frombuffer(raw, dtype=dtype).reshape(entry.shape).copy()

    def read_all(self, model_only: bool = True, verify_crc: bool = True) -> dict[str, np.ndarray]:
        """Read every (model) tensor into a dict name -> array."""
        return {n: self.read(n, verify_crc=verify_crc) for n in self.names(model_only=model_only)}


def read_checkpoint(path: str | Path, model_only: bool = True) -> dict[str, np.ndarray]:
    """Convenience: read all model variables of the checkpoint at ``path``."""
    return TFCheckpoint(path).read_all(model_only=model_only)


def sha256_of_files(paths: Iterable[str | Path]) -> dict[str, str]:
    """{file name: sha256} of checkpoint files, for provenance records."""
    import hashlib

    return {Path(p).name: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}
