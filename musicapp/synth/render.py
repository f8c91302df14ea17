"""Render MIDI to audio offline: tinysoundfont with a General MIDI soundfont, or an additive
fallback synth when no soundfont is installed (so a preview is always audible)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np

from musicapp.errors import MusicappError
from musicapp.synth.soundfont import find_soundfont

DRUM_CHANNEL = 9
#: the highest peak a render keeps (a louder one is scaled down to it, never clipped)
PEAK = 0.95
_CACHE: dict[tuple[str, int], tuple[object, int]] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Event:
    time_s: float
    msg: mido.Message


def _load_midi(midi: mido.MidiFile | str | os.PathLike[str]) -> mido.MidiFile:
    if isinstance(midi, mido.MidiFile):
        return midi
    path = Path(midi)
    try:
        return mido.MidiFile(path)
    except FileNotFoundError as exc:
        raise MusicappError(f"{path}: MIDI file does not exist") from exc
    except (OSError, EOFError, ValueError, KeyError, IndexError) as exc:
        raise MusicappError(f"{path}: not a readable MIDI file ({exc})") from exc


def _events(mid: mido.MidiFile) -> list[_Event]:
    """Channel messages with absolute times in seconds (tempo map applied by mido)."""
    out: list[_Event] = []
    now = 0.0
    for msg in mid:  # iterating a MidiFile merges tracks and yields delta times in seconds
        now += msg.time
        if not msg.is_meta and hasattr(msg, "channel"):
            out.append(_Event(now, msg))
    return out


def _get_synth(path: Path, sample_rate: int):
    """Load (once per process) a tinysoundfont synth for ``path``; loading FluidR3 takes ~1.5 s."""
    import tinysoundfont

    key = (str(path), int(sample_rate))
    if key not in _CACHE:
        from musicapp.synth.sf2check import check_soundfont

        check_soundfont(path)  # a damaged table would make the C renderer crash the process
        synth = tinysoundfont.Synth(samplerate=int(sample_rate))
        try:
            sfid = synth.sfload(str(path))
        except Exception as exc:
            raise MusicappError(f"{path}: cannot load soundfont ({exc})") from exc
        _CACHE[key] = (synth, sfid)
    return _CACHE[key]


def _render_soundfont(events: list[_Event], end_s: float, sample_rate: int, path: Path
                      ) -> np.ndarray:
    synth, sfid = _get_synth(path, sample_rate)
    n_total = int(np.ceil(end_s * sample_rate))
    out = np.zeros((n_total, 2), dtype=np.float32)
    with _LOCK:
        synth.sounds_off()
        for ch in range(16):
            synth.control_change(ch, 121, 0)  # reset controllers
            synth.program_select(ch, sfid, 0, 0, is_drums=ch == DRUM_CHANNEL)
            synth.pitchbend(ch, 8192)
        pos = 0
        for ev in events:
            target = min(round(ev.time_s * sample_rate), n_total)
            if target > pos:
                block = np.frombuffer(synth.generate(target - pos), dtype=np.float32)
                out[pos:target] = block.reshape(-1, 2)
                pos = target
            msg = ev.msg
            ch = msg.channel
            if msg.type == "note_on" and msg.velocity > 0:
                synth.noteon(ch, msg.note, msg.velocity)
            elif msg.type in ("note_off", "note_on"):
                synth.noteoff(ch, msg.note)
            elif msg.type == "program_change":
                drums = ch == DRUM_CHANNEL
                try:
                    synth.program_select(ch, sfid, 0, msg.program, is_drums=drums)
                except Exception: # preset missing in this soundfont
                    synth.program_select(ch, sfid, 0, 0, is_drums=drums)
            elif msg.type == "control_change":
                synth.control_change(ch, msg.control, msg.value)
            elif msg.type == "pitchwheel":
                synth.pitchbend(ch, msg.pitch + 8192)
        if n_total > pos:
            block = np.frombuffer(synth.generate(n_total - pos), dtype=np.float32)
            out[pos:] = block.reshape(-1, 2)
        synth.sounds_off()
    return out


def _notes(events: list[_Event]) -> list[tuple[float, float, int, int, int]]:
    """Pair note-on/off into (start_s, end_s, pitch, velocity, channel)."""
    open_notes: dict[tuple[int, int], list[tuple[float, int]]] = {}
    notes = []
    last = events[-1].time_s if events else 0.0
    for ev in events:
        msg = ev.msg
        if msg.type not in ("note_on", "note_off"):
            continue
        key = (msg.channel, msg.note)
        if msg.type == "note_on" and msg.velocity > 0:
            open_notes.setdefault(key, []).append((ev.time_s, msg.velocity))
        elif open_notes.get(key):
            start, vel = open_notes[key].pop(0)
            notes.append((start, ev.time_s, msg.note, vel, msg.channel))
    for (ch, pitch), starts in open_notes.items():
        for start, vel in starts:
            notes.append((start, last, pitch, vel, ch))
    return notes


def _render_additive(events: list[_Event], end_s: float, sample_rate: int) -> np.ndarray:
    """A small additive synth: 6 harmonics (1/k), attack/decay/release envelope, per-channel pan."""
    n_total = int(np.ceil(end_s * sample_rate))
    out = np.zeros((n_total, 2), dtype=np.float64)
    release = 0.15
    for start, end, pitch, vel, ch in _notes(events):
        if ch == DRUM_CHANNEL:
            continue
        i0 = int(start * sample_rate)
        dur = max(end - start, 0.02) + release
        n = min(int(dur * sample_rate), n_total - i0)
        if n <= 0:
            continue
        t = np.arange(n) / sample_rate
        f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
        wave = np.zeros(n)
        for k in range(1, 7):
            if k * f0 >= sample_rate / 2:
                break
            wave += np.sin(2 * np.pi * k * f0 * t) / k * np.exp(-t * (1.0 + 0.8 * k))
        env = np.minimum(t / 0.01, 1.0)
        held = end - start
        env = env * np.where(t <= held, 1.0, np.exp(-(t - held) / (release / 4)))
        sig = 0.12 * (vel / 127.0) * wave * env
        pan = 0.5 + 0.25 * np.sin(ch * 1.7)  # spread channels a little
        out[i0:i0 + n, 0] += sig * (1.0 - pan)
        out[i0:i0 + n, 1] += sig * pan
    peak = float(np.max(np.abs(out))) if out.size else 0.0
    if peak > PEAK:
        out *= PEAK / peak
    return out.astype(np.float32)


def render_midi(midi: mido.MidiFile | str | os.PathLike[str], sample_rate: int = 44100,
                soundfont: str | os.PathLike[str] | None = None, *, mono: bool = False,
                tail_s: float = 1.0, use_soundfont: bool = True) -> np.ndarray:
    """Render a MIDI file to float32 audio.

    Returns shape ``(2, n)`` (stereo, channels first like :func:`musicapp.audio.load_audio`,
    :func:`musicapp.audio.write_wav` and the Player) or ``(n,)`` with ``mono=True``.
    ``soundfont`` overrides :func:`find_soundfont`; with no soundfont found (or
    ``use_soundfont=False``) the additive fallback synth is used. ``tail_s`` seconds are appended
    so releases ring out. Raises :class:`~musicapp.errors.MusicappError` for an unreadable MIDI
    file or soundfont.
    """
    mid = _load_midi(midi)
    events = _events(mid)
    end_s = (events[-1].time_s if events else 0.0) + max(tail_s, 0.0)
    sf_path = find_soundfont(soundfont) if use_soundfont else None
    if sf_path is not None:
        audio = _render_soundfont(events, end_s, sample_rate, Path(sf_path))
        # a strummed guitar chord over the bass can sum past full scale: scale down as the
        # fallback synth does, so a 16-bit WAV or the sound card never clips
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak > PEAK:
            audio *= np.float32(PEAK / peak)
    else:
        audio = _render_additive(events, end_s, sample_rate)
    if mono:
        return audio.mean(axis=1).astype(np.float32)
    return np.ascontiguousarray(audio.T)
