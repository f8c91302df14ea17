"""A minimal writer of TensorFlow v2 checkpoints, written from the format description, used to
test the reader on files whose content is known. (Not part of the package: tests only.)"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from musicapp_lab.models.tf_checkpoint import TABLE_MAGIC, masked_crc32c

DTYPE_CODES = {np.dtype("<f4"): 1, np.dtype("<f8"): 2, np.dtype("<i4"): 3, np.dtype("<i8"): 9,
               np.dtype("<f2"): 19, np.dtype("u1"): 4}  # fmt: skip


def varint(n: int) -> bytes:
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num: int, value: int) -> bytes:
    return varint(num << 3) + varint(value)


def field_bytes(num: int, value: bytes) -> bytes:
    return varint(num << 3 | 2) + varint(len(value)) + value


def field_fixed32(num: int, value: int) -> bytes:
    return varint(num << 3 | 5) + struct.pack("<I", value)


def bundle_entry(arr: np.ndarray, offset: int, crc: int) -> bytes:
    shape = b"".join(field_bytes(2, field_varint(1, d)) for d in arr.shape)
    return (field_varint(1, DTYPE_CODES[arr.dtype]) + field_bytes(2, shape)
            + field_varint(4, offset) + field_varint(5, arr.nbytes)
            + field_fixed32(6, crc))  # fmt: skip


def block(entries: list[tuple[bytes, bytes]], restart_interval: int = 4) -> bytes:
    out = bytearray()
    restarts = []
    prev = b""
    for i, (key, value) in enumerate(entries):
        if i % restart_interval == 0:
            restarts.append(len(out))
            shared = 0
        else:
            shared = 0
            while shared < min(len(prev), len(key)) and prev[shared] == key[shared]:
                shared += 1
        out += varint(shared) + varint(len(key) - shared) + varint(len(value))
        out += key[shared:] + value
        prev = key
    for r in restarts or [0]:
        out += struct.pack("<I", r)
    out += struct.pack("<I", len(restarts or [0]))
    return bytes(out)


def write_checkpoint(
    prefix: Path | str, tensors: dict[str, np.ndarray], entries_per_block: int = 5
) -> None:
    """Write ``prefix.index`` and ``prefix.data-00000-of-00001``."""
    data = bytearray()
    records = []
    for name in sorted(tensors):
        arr = np.array(tensors[name], order="C")  # keeps 0-d arrays 0-d
        raw = arr.tobytes()
        records.append((name.encode(), bundle_entry(arr, len(data), masked_crc32c(raw))))
        data += raw
    header = field_varint(1, 1) + field_varint(2, 0) + field_bytes(3, field_varint(1, 1))
    records.insert(0, (b"", header))
    table = bytearray()
    index_entries = []

    def emit(blk: bytes) -> tuple[int, int]:
        offset = len(table)
        table.extend(blk + b"\x00" + struct.pack("<I", masked_crc32c(blk + b"\x00")))
        return offset, len(blk)

    for start in range(0, len(records), entries_per_block):
        chunk = records[start : start + entries_per_block]
        off, size = emit(block(chunk))
        index_entries.append((chunk[-1][0], varint(off) + varint(size)))
    meta_off, meta_size = emit(block([]))
    idx_off, idx_size = emit(block(index_entries, restart_interval=1))
    handles = varint(meta_off) + varint(meta_size) + varint(idx_off) + varint(idx_size)
    footer = handles + b"\x00" * (40 - len(handles)) + struct.pack("<Q", TABLE_MAGIC)
    Path(str(prefix) + ".index").write_bytes(bytes(table) + footer)
    Path(str(prefix) + ".data-00000-of-00001").write_bytes(bytes(data))
