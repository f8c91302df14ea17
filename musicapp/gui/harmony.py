"""Qt-free computations behind the musician's views: chromagram, key strength over time,
spectrum and the pitch of a sustained note (the tuner), and the analysis' key timeline in words
(key changes, "A major → C major at 4:59.6").

All work on mono float32 audio with numpy only, quickly enough for the GUI thread (spectrum and
pitch of one block) or a worker thread (chromagram and key curve of a whole track).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from musicapp.pitch import note_name


def midi_of(hz: float) -> float:
    """MIDI note number (fractional) of ``hz`` (A4 = 440 Hz = 69)."""
    return 69.0 + 12.0 * math.log2(max(float(hz), 1e-9) / 440.0)


def note_and_cents(hz: float) -> tuple[str, float]:
    """("A4", cents from it) of the nearest equal-tempered note."""
    m = midi_of(hz)
    n = int(round(m))
    return note_name(n), (m - n) * 100.0


def chromagram(y: np.ndarray, sr: int, hop: int = 1024, n_fft: int = 4096,
               fmin: float = 55.0, fmax: float = 2000.0) -> np.ndarray:
    """(12, frames) energy per pitch class (C first), each frame scaled to a maximum of 1
    (silent frames stay 0). Frame ``i`` is centred at ``i * hop / sr`` seconds."""
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    if y.size < n_fft:
        y = np.pad(y, (0, n_fft - y.size))
    n_frames = 1 + (y.size - n_fft) // hop
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    use = (freqs >= fmin) & (freqs <= fmax)
    pcs = np.round(np.array([midi_of(f) for f in freqs[use]])).astype(int) % 12
    mapping = np.zeros((12, int(use.sum())), np.float32)
    mapping[pcs, np.arange(pcs.size)] = 1.0
    window = np.hanning(n_fft).astype(np.float32)
    out = np.zeros((12, n_frames), np.float32)
    step = 256  # frames per batch: bounded memory for long tracks
    for a in range(0, n_frames, step):
        b = min(n_frames, a + step)
        idx = np.arange(a, b)[:, None] * hop + np.arange(n_fft)[None, :]
        spec = np.abs(np.fft.rfft(y[idx] * window, axis=1))[:, use].astype(np.float32)
        out[:, a:b] = mapping @ (spec.T ** 2)
    peak = out.max(axis=0, keepdims=True)
    loud = peak > peak.max() * 1e-4 if peak.size and peak.max() > 0 else np.zeros_like(peak, bool)
    return np.where(loud, out / np.maximum(peak, 1e-12), 0.0).astype(np.float32)


def key_strength(chroma: np.ndarray, frame_s: float, window_s: float = 8.0,
                 hop_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(times, r): correlation ``r`` (24, m) of each key profile (rows: C..B major, then C..B
    minor) with the chroma summed over ``window_s`` around each time (every ``hop_s``)."""
    from musicapp.analysis.key import key_correlations

    c = np.asarray(chroma, dtype=np.float64)
    n = c.shape[1]
    if n == 0:
        return np.zeros(0), np.zeros((24, 0))
    half = max(1, int(round(window_s / frame_s / 2)))
    step = max(1, int(round(hop_s / frame_s)))
    centres = np.arange(0, n, step)
    csum = np.concatenate([np.zeros((12, 1)), np.cumsum(c, axis=1)], axis=1)
    lo = np.clip(centres - half, 0, n)
    hi = np.clip(centres + half, 0, n)
    windows = csum[:, hi] - csum[:, lo]
    return centres * frame_s, key_correlations(windows)


def key_name(index: int) -> str:
    """Name of key row ``index`` of :func:`key_strength` ("A minor"), spelled as the analysis
    spells keys (:func:`musicapp.pitch.key_name`: G# minor, Db major)."""
    from musicapp.pitch import key_name as spelled

    return spelled(index % 12, "major" if index < 12 else "minor")


def key_index(tonic: str, mode: str) -> int | None:
    """Row of :func:`key_strength` for a key given by name, or None when not understood."""
    from musicapp.pitch import PitchError, note_pc

    try:
        pc = note_pc(str(tonic))
    except (PitchError, ValueError):
        return None
    return pc + (12 if str(mode).lower().startswith("min") else 0)


def spectrum_db(block: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies in Hz, level in dB full scale) of a Hann-windowed block."""
    y = np.asarray(block, dtype=np.float64).reshape(-1)
    if y.size < 16:
        return np.zeros(0), np.zeros(0)
    w = np.hanning(y.size)
    mag = np.abs(np.fft.rfft(y * w)) * 2.0 / w.sum()
    return np.fft.rfftfreq(y.size, 1.0 / sr), 20.0 * np.log10(np.maximum(mag, 1e-9))


def estimate_pitch(block: np.ndarray, sr: int, fmin: float = 50.0, fmax: float = 1200.0,
                   threshold: float = 0.15, min_rms: float = 1e-3) -> float | None:
    """Fundamental frequency of a sustained note (YIN's cumulative mean normalised
    difference), or None for silence, noise or several notes at once."""
    y = np.asarray(block, dtype=np.float64).reshape(-1)
    if y.size < 2 * int(sr / fmin) or float(np.sqrt(np.mean(y ** 2))) < min_rms:
        return None
    y = y - y.mean()
    max_lag = int(sr / fmin)
    min_lag = max(2, int(sr / fmax))
    w = y.size - max_lag
    # difference function d(tau) = sum (x_j - x_{j+tau})^2, via FFT autocorrelation
    n = 1 << int(math.ceil(math.log2(y.size + w)))
    f = np.fft.rfft(y, n)
    g = np.fft.rfft(y[:w][::-1], n)
    corr = np.fft.irfft(f * g, n)[w - 1: w - 1 + max_lag + 1]
    energy = np.concatenate([[0.0], np.cumsum(y ** 2)])
    e0 = energy[w] - energy[0]
    et = energy[np.arange(max_lag + 1) + w] - energy[np.arange(max_lag + 1)]
    d = e0 + et - 2 * corr
    d[0] = 0.0
    cmnd = np.ones_like(d)
    run = np.cumsum(d[1:])
    cmnd[1:] = d[1:] * np.arange(1, d.size) / np.maximum(run, 1e-12)
    below = np.nonzero(cmnd[min_lag:] < threshold)[0]
    if below.size == 0:
        return None
    tau = int(below[0] + min_lag)
    while tau + 1 < cmnd.size and cmnd[tau + 1] < cmnd[tau]:
        tau += 1
    if 1 <= tau < d.size - 1:  # parabolic interpolation of the difference function
        a, b, c = d[tau - 1], d[tau], d[tau + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if abs(denom) > 1e-12 else 0.0
    else:
        shift = 0.0
    return float(sr / (tau + shift))


# ---- the analysis' key timeline, in words -------------------------------------------------------
def time_text(seconds: float) -> str:
    """``299.6`` -> ``"4:59.6"`` (minutes, seconds to a tenth)."""
    tenths = round(max(0.0, float(seconds)) * 10)
    minutes, rest = divmod(tenths, 600)
    return f"{minutes}:{rest // 10:02d}.{rest % 10}"


def entry_name(entry: dict) -> str:
    """The name of one ``key_timeline`` (or ``key_candidates``) entry: "C major"."""
    return str(entry.get("name") or f"{entry.get('tonic', '?')} {entry.get('mode', '')}".strip())


def key_changes(timeline: list[dict] | None) -> list[tuple[float, str, str]]:
    """(time in seconds, key before, key after) of each key change of the analysis'
    ``key_timeline`` (local keys that agree with the global key unless a confident
    modulation); [] for a track in one key."""
    out = []
    entries = list(timeline or [])
    for before, after in itertools.pairwise(entries):
        a, b = entry_name(before), entry_name(after)
        if a != b:
            out.append((float(after.get("start") or 0.0), a, b))
    return out


def key_timeline_summary(timeline: list[dict] | None) -> str:
    """The key timeline in one line: "A major → C major at 4:59.6" (each later change adds
    "→ KEY at TIME"), the one key's name for a track in one key, "" without a timeline."""
    entries = list(timeline or [])
    if not entries:
        return ""
    changes = key_changes(entries)
    text = entry_name(entries[0])
    for t, _before, after in changes:
        text += f" → {after} at {time_text(t)}"
    return text


def timeline_key_rows(timeline: list[dict] | None, times: np.ndarray) -> np.ndarray:
    """The :func:`key_strength` row of the timeline's key at each of ``times`` (-1 where no
    section covers a time or its key is not understood); the last section also covers any
    time after its end."""
    times = np.asarray(times, dtype=np.float64)
    rows = np.full(times.shape, -1, dtype=int)
    entries = list(timeline or [])
    for i, e in enumerate(entries):
        row = key_index(str(e.get("tonic", "")), str(e.get("mode", "major")))
        if row is None:
            continue
        start = float(e.get("start") or 0.0) if i else -np.inf
        end = float(e.get("end") or 0.0) if i < len(entries) - 1 else np.inf
        rows[(times >= start) & (times < end)] = row
    return rows
