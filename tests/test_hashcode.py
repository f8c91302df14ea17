"""The hash code's hex form: one definition for bools, relaxed values and torch tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from musicapp.hashcode import bits_to_hex, hex_to_bytes
from musicapp.models.hashnet import code_to_hex


def test_bits_msb_first() -> None:
    assert bits_to_hex([True, True, True, True, False, False, False, False]) == "f0"
    assert bits_to_hex(np.array([-0.2, 0.0, 0.5, -1.0])) == "6"  # 0 counts as a 1 bit
    assert bits_to_hex(np.ones(64, bool)) == "f" * 16


def test_tagger_and_library_agree() -> None:
    rng = np.random.default_rng(1)
    relaxed = rng.standard_normal(64).astype(np.float32)
    text = bits_to_hex(relaxed)
    assert code_to_hex(torch.from_numpy(relaxed) >= 0) == text
    assert np.unpackbits(np.frombuffer(hex_to_bytes(text), np.uint8)).astype(bool).tolist() == (
        relaxed >= 0).tolist()


def test_malformed_code_is_named() -> None:
    with pytest.raises(ValueError, match="not a hash code"):
        hex_to_bytes("zz")
