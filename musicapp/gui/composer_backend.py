"""Qt-free glue between the composer panel and :mod:`musicapp.compose`.

Everything here runs in worker threads: loading the chord model, sampling, regenerating one
chord, arranging, writing MIDI and rendering the audible preview.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musicapp.errors import MusicappError
from musicapp.pitch import TONIC_CHOICES

#: where "drag the MIDI out" files are written
DRAG_DIR = Path.home() / ".cache" / "musicapp" / "drag"
#: chord-track instruments offered: (name, General MIDI program, 0-based)
#: (None: the pattern's sound, musicapp.compose.midi_export.chord_program: a strum is a guitar)
INSTRUMENTS = (("Auto (pattern)", None), ("Electric piano", 4), ("Acoustic piano", 0),
               ("Nylon guitar", 24), ("Steel guitar", 25), ("Strings", 48), ("Warm pad", 89),
               ("Organ", 19), ("Vibraphone", 11))
#: rhythm patterns of the chord track, as the arranger names them, with what they sound like
PATTERN_NAMES = {"block": "Block chords", "arpeggio": "Arpeggio", "strum": "Strum",
                 "pop": "Pop comping"}
#: the conventional tonic of every major and minor key (musicapp.pitch.conventional): G# minor
#: (5 sharps) must not turn into Ab minor (7 flats) when a track's key seeds the composer
TONICS = TONIC_CHOICES
MODES = ("major", "minor")
PREVIEW_RATE = 44100


@dataclass
class EmotionChoice:
    """What the user picked as the emotion source."""

    source: str  # "track" | "mood" | "pad" | "picture"
    mood: str | None = None
    valence: float = 0.0
    arousal: float = 0.0
    picture: str | None = None
    analysis: dict | None = None


def mood_names() -> list[str]:
    """Moods the generator knows (from :data:`musicapp.compose.labels.MOODS`)."""
    from musicapp.compose.labels import MOODS

    return sorted(MOODS)


def resolve_emotion(choice: EmotionChoice):
    """A :class:`musicapp.compose.emotion.Emotion` for the user's choice."""
    from musicapp.compose import emotion

    if choice.source == "track":
        if not choice.analysis:
            raise MusicappError("no analysed track: analyse a track first, or pick another "
                                "emotion source")
        return emotion.from_analysis(choice.analysis, unit_scale=False)  # tagger: -1..1
    if choice.source == "mood":
        return emotion.from_mood(choice.mood or "happy")
    if choice.source == "picture":
        if not choice.picture:
            raise MusicappError("choose a picture first")
        return emotion.from_image(choice.picture)
    return emotion.from_va(choice.valence, choice.arousal)


def track_key(analysis: dict | None) -> tuple[str, str] | None:
    """(tonic, mode) of an analysed track's key in the key chooser's spelling, or None when the
    analysis has no key or an unreadable one (logged; never a silent fallback to C)."""
    import logging

    from musicapp.pitch import PitchError, conventional, parse_key

    key = (analysis or {}).get("key")
    if not key:
        return None
    try:
        k = conventional(parse_key(key))
    except PitchError as exc:
        logging.getLogger(__name__).warning("analysis key ignored: %s", exc)
        return None
    return (k.tonic, k.mode) if k.tonic in TONICS else None


@dataclass
class ComposeSession:
    """One progression being worked on: generate, lock, regenerate, arrange, export."""

    generator: Any = None
    progression: Any = None
    locked: set[int] = field(default_factory=set)
    seed: int = 0
    temperature: float = 1.0
    #: None: from the emotion (arousal)
    tempo_bpm: float | None = None
    pattern: str | None = None
    #: General MIDI program of the chord track (None: the exporter's default)
    chord_program: int | None = None
    #: the MIDI clip this idea started from (None: it did not start from a clip)
    clip: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ensure_generator(self) -> None:
        """Load the chord model once (raises ModelError when it is missing)."""
        with self._lock:
            if self.generator is None:
                from musicapp.compose.generate import Generator

                self.generator = Generator()

    def generate(self, emo, tonic: str, mode: str, length: int, temperature: float,
                 seed: int | None = None, *, chords_per_bar: str = "auto",
                 meter: str = "4/4", style: str | None = None):
        """A new progression; locked chords of the current one are kept (same length).

        ``chords_per_bar`` is "1", "2" or "auto" (one or two per bar; whole bars always),
        ``meter`` a time signature such as "3/4", ``style`` one of
        :data:`musicapp.compose.conditioning.STYLES` or None for any.
        """
        from musicapp.compose.generate import Constraints
        from musicapp.compose.theory import Key

        self.ensure_generator()
        key = Key(tonic, mode)
        self.seed = self.seed + 1 if seed is None else seed
        locked = {}
        if self.progression is not None and len(self.progression.tokens) == length \
                and self.progression.key == key:
            locked = {i: self.progression.tokens[i].token for i in self.locked if i < length}
        else:
            self.locked = set()
        from musicapp.compose.conditioning import check_style
        from musicapp.compose.rhythm import Meter, check_chords_per_bar

        cons = Constraints(length=length, locked=locked,
                           chords_per_bar=check_chords_per_bar(chords_per_bar),
                           meter=Meter.parse(meter))
        self.temperature = temperature
        self.progression = self.generator.generate(emo.valence, emo.arousal, key, cons,
                                                   seed=self.seed, temperature=temperature,
                                                   style=check_style(style))
        return self.progression

    def alternatives(self, position: int, top: int = 5):
        """Ranked other chords for ``position`` (0-based) with probabilities given the rest of
        the loop, and the current chord's own probability (None if it is not allowed there):
        ``(list of musicapp.compose.generate.Alternative, float | None)``."""
        if self.progression is None:
            raise MusicappError("generate a progression first")
        self.ensure_generator()
        return self.generator.ranked_alternatives(self.progression, position, top=top)

    def replace_chord(self, position: int, token) -> Any:
        """Put ``token`` (an alternative's token, a Roman numeral or a token string) at
        ``position``; durations stay."""
        from musicapp.compose.theory import ChordToken

        if self.progression is None:
            raise MusicappError("generate a progression first")
        p = self.progression
        if not 0 <= position < len(p.tokens):
            raise MusicappError(f"position {position + 1} outside the {len(p.tokens)}-chord loop")
        tok = ChordToken.parse(token, p.key.mode) if isinstance(token, str) else token
        p.tokens = [*p.tokens[:position], tok, *p.tokens[position + 1:]]
        return p

    def regenerate(self, position: int):
        """Replace the chord at ``position`` by a different chord; every other chord and every
        duration stays."""
        if self.progression is None:
            raise MusicappError("generate a progression first")
        self.ensure_generator()
        self.seed += 1
        self.progression = self.generator.regenerate(self.progression, [position], seed=self.seed,
                                                     temperature=self.temperature)
        return self.progression

    def arrangement(self, tempo_bpm: float | None = None):
        """Voicings, bass and melody for the current progression (tempo and pattern from the
        session's choices, else from the emotion)."""
        from musicapp.compose.arrange import arrange

        if self.progression is None:
            raise MusicappError("generate a progression first")
        return arrange(self.progression, pattern=self.pattern,
                       tempo_bpm=tempo_bpm or self.tempo_bpm, seed=self.seed)

    def midi(self, tempo_bpm: float | None = None):
        """The arrangement as a :class:`mido.MidiFile`, with the chosen chord instrument (the
        pattern's when none is chosen)."""
        from musicapp.compose.midi_export import build_midi

        return build_midi(self.arrangement(tempo_bpm), self.chord_program)

    def export_midi(self, path: str | Path, tempo_bpm: float | None = None) -> Path:
        """Write the arrangement as a MIDI file (replacing ``path``; atomic, with the mode the
        user's umask gives)."""
        from musicapp.compose.midi_export import write_midi_file

        return write_midi_file(self.midi(tempo_bpm), path, overwrite=True)

    def drag_file(self, tempo_bpm: float | None = None) -> Path:
        """A MIDI file in the cache folder to hand to a drag-and-drop target."""
        DRAG_DIR.mkdir(parents=True, exist_ok=True)
        p = self.progression
        name = f"musicapp-{p.key.tonic}{'m' if p.key.mode == 'minor' else ''}-" \
               f"{'-'.join(n.replace('/', '_') for n in p.names)}.mid"
        return self.export_midi(DRAG_DIR / name.replace("#", "s"), tempo_bpm)

    def render_preview(self, tempo_bpm: float | None = None) -> tuple[np.ndarray, int]:
        """Render the arrangement to audio ((channels, n) float32, rate)."""
        from musicapp.synth import render_midi

        y = np.asarray(render_midi(self.midi(tempo_bpm), sample_rate=PREVIEW_RATE), np.float32)
        if y.ndim == 2 and y.shape[1] in (1, 2) and y.shape[0] > y.shape[1]:
            y = y.T
        return np.ascontiguousarray(y), PREVIEW_RATE
