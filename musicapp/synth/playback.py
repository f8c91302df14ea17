"""Play rendered audio through the default output device."""

from __future__ import annotations

import numpy as np

from musicapp.errors import AudioDeviceError


def play(samples: np.ndarray, sr: int, *, blocking: bool = True) -> None:
    """Play ``samples`` (float32, shape ``(n,)`` or ``(n, channels)``) at ``sr`` Hz.

    Uses the lead's :class:`musicapp.audio.player.Player` when it exists, otherwise
    sounddevice directly. Raises :class:`~musicapp.errors.AudioDeviceError` when no output
    device can be opened.
    """
    data = np.ascontiguousarray(samples, dtype=np.float32)
    try:
        from musicapp.audio.player import Player  # type: ignore[import-not-found]
    except ImportError:
        Player = None
    if Player is not None:
        try:
            player = Player()
            player.play(data, sr)
            if blocking and hasattr(player, "wait"):
                player.wait()
            return
        except AudioDeviceError:
            raise
        except Exception: # fall back to sounddevice if the Player API differs
            pass
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        raise AudioDeviceError(f"audio output unavailable: {exc}") from exc
    try:
        sd.play(data, sr)
        if blocking:
            sd.wait()
    except Exception as exc:
        raise AudioDeviceError(f"default output device: {exc}") from exc
