"""Play rendered audio through the default output device."""

from __future__ import annotations

import numpy as np

from musicapp.errors import AudioDeviceError


def play(samples: np.ndarray, sr: int, *, blocking: bool = True) -> None:
    """Play ``samples`` (float32, shape ``(n,)`` or ``(channels, n)``) at ``sr`` Hz.

    Uses :class:`musicapp.audio.player.Player` when it exists, otherwise sounddevice directly.
    Raises :class:`~musicapp.errors.AudioDeviceError` when no output device can be opened.
    """
    data = np.ascontiguousarray(samples, dtype=np.float32)
    try:
        from musicapp.audio.player import Player
    except ImportError:
        Player = None
    if Player is not None:
        player = Player(data, sr)
        player.play()
        if blocking:
            try:
                player.wait()
            finally:
                player.stop()  # release the device
        return
    frames = data if data.ndim == 1 else np.ascontiguousarray(data.T)  # sounddevice: (n, ch)
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        raise AudioDeviceError(f"audio output unavailable: {exc}") from exc
    try:
        sd.play(frames, sr)
        if blocking:
            sd.wait()
    except Exception as exc:
        raise AudioDeviceError(f"default output device: {exc}") from exc
