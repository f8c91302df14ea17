"""The chord model's token vocabulary: special ids, duration classes and the n-gram hash.

Shared by the shipped generator and the lab's training code, so that the product never imports
training-data modules.
"""

from __future__ import annotations

import hashlib

SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
PAD, BOS, EOS, UNK = 0, 1, 2, 3
DUR_BEATS = (1.0, 2.0, 4.0)


def dur_class(beats: float) -> int:
    """Snap a chord duration in beats to a class of :data:`DUR_BEATS`."""
    return 0 if beats <= 1.5 else (1 if beats <= 3.0 else 2)


def ngram_hash(tokens: list[str] | tuple[str, ...]) -> int:
    """Stable signed 64-bit hash of a token n-gram (for the shipped novelty filter)."""
    d = hashlib.blake2b(" ".join(tokens).encode(), digest_size=8).digest()
    return int.from_bytes(d, "little", signed=True)
