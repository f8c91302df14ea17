"""Calibrating raw model scores as percentiles of a reference distribution.

Raw tag probabilities are not comparable across tags (musicnn's MSD "sad" rarely exceeds 0.02
while "rock" often exceeds 0.5). A calibration table holds, for each of K outputs, the 0th, 1st,
..., 100th percentile of its scores over a reference set of segments: an array (K, 101). A new
score is then reported as the percentile (0..100) it reaches in that table, by linear
interpolation between neighbouring table entries; a score equal to a run of tied entries gets the
middle of the run (so a constant output maps to 50, not 0 or 100).
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: File name of the musicnn teachers' percentile tables under ``resources/models``.
CALIBRATION_FILE = "musicnn_calibration.safetensors"
N_QUANTILES = 101
GRID = np.linspace(0.0, 100.0, N_QUANTILES)


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().to("cpu").float().numpy()
    # Through float32: tables are stored in float32, so a score equal to a table entry must
    # compare equal whatever precision it arrives in.
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def fit_quantiles(values: Any) -> np.ndarray:
    """Percentile table of reference scores ``values`` (N, K) -> float32 (K, 101).

    Non-finite values are ignored; a column without finite values raises ``ValueError``.
    """
    v = _as_numpy(values)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2 or v.shape[0] == 0:
        raise ValueError(f"fit_quantiles expects (N, K) values with N >= 1, got {v.shape}")
    v = np.where(np.isfinite(v), v, np.nan)
    if np.isnan(v).all(axis=0).any():
        raise ValueError("fit_quantiles: a column has no finite values")
    q = np.nanquantile(v, GRID / 100.0, axis=0)  # (101, K)
    q = np.maximum.accumulate(q, axis=0)  # guard against rounding making it non-monotonic
    return np.ascontiguousarray(q.T, dtype=np.float32)


def to_percentile(scores: Any, quantiles: Any) -> np.ndarray:
    """Percentiles (0..100, float32) of ``scores`` (..., K) against ``quantiles`` (K, 101).

    Scores below the table's minimum give 0, above its maximum 100; NaN scores give NaN.
    """
    s = _as_numpy(scores)
    q = _as_numpy(quantiles)
    if q.ndim != 2 or q.shape[1] < 2:
        raise ValueError(f"quantile table must be (K, n>=2), got {q.shape}")
    if s.shape[-1:] != (q.shape[0],):
        raise ValueError(f"scores (..., {q.shape[0]}) expected, got {s.shape}")
    n = q.shape[1]
    grid = np.linspace(0.0, 100.0, n)
    step = 100.0 / (n - 1)
    flat = s.reshape(-1, q.shape[0])
    out = np.empty_like(flat)
    for k in range(q.shape[0]):
        qk = q[k]
        col = flat[:, k]
        lo = np.searchsorted(qk, col, side="left")
        hi = np.searchsorted(qk, col, side="right")
        # Strictly between two table entries: interpolate linearly.
        i = np.clip(lo, 1, n - 1)
        left, right = qk[i - 1], qk[i]
        span = np.where(right > left, right - left, 1.0)
        between = grid[i - 1] + step * np.clip((col - left) / span, 0.0, 1.0)
        # Equal to one or several (tied) entries: the middle of the run.
        tied = (lo + hi - 1) * (step / 2.0)
        res = np.where(hi > lo, tied, between)
        res = np.where(hi == 0, 0.0, res)
        res = np.where(lo >= n, 100.0, res)
        out[:, k] = np.where(np.isnan(col), np.nan, res)
    return out.reshape(s.shape).astype(np.float32)


# kept here for callers of the calibration module; it lives in a numpy-free module
from musicapp.models.reference import mood_reference  # noqa: E402,F401
