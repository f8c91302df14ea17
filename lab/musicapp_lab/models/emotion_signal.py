"""Simple signal descriptors of the cached emotion excerpts (baselines for issue 16).

For every excerpt analysed by :mod:`musicapp_lab.models.emotion_features` (same file, same offset
and length) this computes a handful of textbook descriptors from the audio alone, at the
analysis sample rate (16 kHz mono), STFT 1024 / hop 256:

* ``rms_db``: mean frame RMS in dBFS (loudness);
* ``flux``: mean onset strength (spectral flux of the log-Mel spectrogram, librosa);
* ``onset_rate``: detected onsets per second (log2(1 + rate));
* ``percussive``: share of the 64-band Mel power in the percussive part of a median-filter
  harmonic/percussive separation (librosa ``hpss`` on the Mel spectrogram);
* ``centroid``: log2 of the energy-weighted mean spectral centroid in Hz (brightness).

Cached as JSON per excerpt under ``data/va_fusion/signal/`` (resumable), keyed like the
analyses (``PACKAGE_KEY_W.json``). Tempo and mode majorness are not recomputed: they come from
the cached analyses (``tempo_bpm``; ``key_major`` of :func:`musicapp.models.va_fusion.descriptors`).

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python -m musicapp_lab.models.emotion_signal [ANALYSES]
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from musicapp_lab.models.dataset import REPO

OUT = REPO / "data" / "va_fusion" / "signal"
N_FFT = 1024
HOP = 256
#: Descriptor names, in the order used by the baselines.
SIGNAL_FEATURES: tuple[str, ...] = ("rms_db", "flux", "onset_rate", "percussive", "centroid")


def signal_features(y: np.ndarray, sr: int) -> dict[str, float]:
    """The :data:`SIGNAL_FEATURES` of one mono excerpt ``y`` at ``sr`` Hz."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.size < N_FFT or not np.any(np.isfinite(y)) or float(np.max(np.abs(y))) < 1e-6:
        return {k: float("nan") for k in SIGNAL_FEATURES}
    y = np.nan_to_num(y)
    spec = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    power = spec**2
    rms = librosa.feature.rms(S=spec, frame_length=N_FFT)[0]
    rms_db = float(20 * np.log10(np.mean(rms) + 1e-10))
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=64)
    env = librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=sr, hop_length=HOP)
    onsets = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=HOP)
    dur = y.size / sr
    harm, perc = librosa.decompose.hpss(mel)  # on the Mel power spectrogram (8x cheaper)
    e_h, e_p = float(np.sum(harm)), float(np.sum(perc))
    freqs = librosa.fft_frequencies(sr=sr, n_fft=N_FFT)
    frame_e = power.sum(axis=0)
    cent = (freqs[:, None] * power).sum(axis=0) / np.maximum(frame_e, 1e-20)
    centroid = float(np.sum(cent * frame_e) / max(float(frame_e.sum()), 1e-20))
    return {"rms_db": rms_db, "flux": float(np.mean(env)),
            "onset_rate": float(np.log2(1 + len(onsets) / dur)),
            "percussive": e_p / max(e_h + e_p, 1e-20),
            "centroid": float(np.log2(max(centroid, 1.0)))}


def run(analyses: Path, out: Path, log=print) -> int:
    """Compute the descriptors of every cached excerpt in ``analyses`` not yet in ``out``."""
    from musicapp.audio import load_audio
    from musicapp.params import ANALYSIS

    out.mkdir(parents=True, exist_ok=True)
    files = sorted(analyses.glob("*.json"))
    new, t0 = 0, time.time()
    for n, f in enumerate(files):
        dest = out / f.name
        if dest.exists():
            continue
        a = json.loads(f.read_text())
        audio = load_audio(a["track_path"], sr=ANALYSIS.sample_rate, mono=True,
                           offset=float(a["offset_s"]), duration=float(a["duration_s"]))
        d = signal_features(audio.samples, audio.sample_rate)
        d.update({"package": a["package"], "track_key": a["track_key"], "window": a["window"]})
        tmp = dest.with_suffix(".tmp")
        tmp.write_text(json.dumps(d))
        os.replace(tmp, dest)
        new += 1
        if n % 20 == 0:
            log(f"{n + 1}/{len(files)} ({time.time() - t0:.0f} s)")
    return new


def load_signal(out: Path = OUT) -> dict[tuple[str, str, int], dict[str, float]]:
    """Cached descriptors by (package, track key, window)."""
    res = {}
    for p in sorted(out.glob("*.json")):
        d = json.loads(p.read_text())
        res[(d["package"], d["track_key"], int(d["window"]))] = d
    return res


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "data" / "va_fusion" / "analyses"
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    np.seterr(all="ignore")
    print(f"{run(src, dst)} new", flush=True)
