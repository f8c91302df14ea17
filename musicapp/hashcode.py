"""The binary hash code's text form: sign bits, most significant first, as lowercase hex.

One definition for the tagger (which makes codes), the library (which stores and searches them)
and the tests. A 64-bit code is 16 hex digits.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def bits_to_hex(bits: Iterable) -> str:
    """Hex string of a code given as booleans or as relaxed values (``>= 0`` counts as a 1 bit)."""
    values = np.asarray(list(bits) if not hasattr(bits, "shape") else bits)
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    flags = values.astype(bool) if values.dtype == bool else values >= 0
    value = 0
    for bit in flags.reshape(-1).tolist():
        value = (value << 1) | int(bit)
    return f"{value:0{(flags.size + 3) // 4}x}"


def hex_to_bytes(hex_code: str) -> bytes:
    """The code's bytes (most significant first); ValueError names a malformed code."""
    try:
        return bytes.fromhex(hex_code)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a hash code: {hex_code!r}") from exc
