"""Render note lists through a General MIDI soundfont (for the evaluation set and the tests).

This is deliberately tiny: a note list (start, end, channel, key, velocity) plus a program per
channel is rendered offline with ``tinysoundfont`` (MIT), which needs no audio device. Channel 9
is the GM drum channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicapp.errors import ModelError

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
DRUM_CHANNEL = 9


@dataclass(frozen=True)
class Note:
    """One MIDI note: times in seconds, GM channel 0-15, key 0-127, velocity 1-127."""

    start: float
    end: float
    channel: int
    key: int
    velocity: int


def find_soundfont(path: str | Path | None = None) -> Path:
    """Return the soundfont path, raising :class:`ModelError` when it is missing."""
    sf = Path(path) if path is not None else DEFAULT_SOUNDFONT
    if not sf.is_file():
        raise ModelError(
            f"{sf}: General MIDI soundfont not found (install Debian package fluid-soundfont-gm)"
        )
    return sf


_SYNTH_CACHE: dict[tuple[str, int], object] = {}


def _synth(soundfont: Path, sample_rate: int):
    import tinysoundfont

    key = (str(soundfont), sample_rate)
    synth = _SYNTH_CACHE.get(key)
    if synth is None:
        synth = tinysoundfont.Synth(samplerate=sample_rate, gain=-3.0)
        sfid = synth.sfload(str(soundfont))
        synth._musicapp_sfid = sfid  # type: ignore[attr-defined]
        _SYNTH_CACHE[key] = synth
    return synth


def render_notes(
    notes: Iterable[Note],
    programs: Mapping[int, int],
    sample_rate: int = 22050,
    tail: float = 1.0,
    soundfont: str | Path | None = None,
) -> np.ndarray:
    """Render ``notes`` to mono float32 audio at ``sample_rate``.

    ``programs`` maps each melodic channel to a GM program number (0-127); channel 9 always uses
    the standard drum kit. The result is peak-normalised to 0.9 (silence stays silence).
    """
    sf = find_soundfont(soundfont)
    synth = _synth(sf, sample_rate)
    sfid = synth._musicapp_sfid  # type: ignore[attr-defined]
    synth.notes_off()
    synth.sounds_off()
    for chan in range(16):
        if chan == DRUM_CHANNEL:
            synth.program_select(chan, sfid, 128, 0, is_drums=True)
        else:
            synth.program_select(chan, sfid, 0, int(programs.get(chan, 0)))
    events: list[tuple[float, int, int, int, int]] = []
    end_time = 0.0
    for n in notes:
        start = max(0.0, float(n.start))
        end = max(start + 0.01, float(n.end))
        events.append((start, 1, n.channel, n.key, n.velocity))
        events.append((end, 0, n.channel, n.key, 0))
        end_time = max(end_time, end)
    events.sort(key=lambda e: (e[0], e[1]))
    total = int((end_time + tail) * sample_rate)
    out = np.zeros((total, 2), dtype=np.float32)
    pos = 0
    for time, is_on, chan, key, vel in events:
        target = min(total, int(round(time * sample_rate)))
        if target > pos:
            buf = synth.generate_simple(target - pos)
            out[pos:target] = np.frombuffer(buf, dtype=np.float32).reshape(-1, 2)
            pos = target
        if is_on:
            synth.noteon(chan, key, vel)
        else:
            synth.noteoff(chan, key)
    if total > pos:
        buf = synth.generate_simple(total - pos)
        out[pos:] = np.frombuffer(buf, dtype=np.float32).reshape(-1, 2)
    synth.notes_off()
    synth.sounds_off()
    mono = out.mean(axis=1)
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    if peak > 1e-9:
        mono *= 0.9 / peak
    return mono.astype(np.float32)
