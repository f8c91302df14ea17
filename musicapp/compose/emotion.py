"""Emotion sources for the generator: an analysed track, a mood name, a valence/arousal point,
or a picture.

Picture -> emotion uses the published regression of Valdez & Mehrabian (1994), "Effects of color
on emotions", Journal of Experimental Psychology: General 123(4), 394-409:

    pleasure = 0.69 * brightness + 0.22 * saturation
    arousal  = -0.31 * brightness + 0.60 * saturation

We apply it to the image's mean HSV value (brightness) and mean HSV saturation, both in [0, 1]
(the paper used Munsell brightness/saturation; HSV is our approximation), and rescale linearly so
that the attainable ranges (pleasure 0..0.91, arousal -0.31..0.60) map onto [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicapp import moods as vocabulary
from musicapp.compose.labels import moods_to_va
from musicapp.errors import MusicappError


@dataclass
class Emotion:
    """A point on the valence/arousal plane ([-1, 1] each) plus where it came from."""

    valence: float
    arousal: float
    source: str
    moods: dict[str, float] = field(default_factory=dict)
    key: str | None = None  # suggested key (from an analysed track)

    @property
    def suggested_mode(self) -> str:
        """Minor for negative valence, major otherwise."""
        return "minor" if self.valence < -0.1 else "major"


def _clip(x: float) -> float:
    return float(np.clip(x, -1.0, 1.0))


def from_va(valence: float, arousal: float) -> Emotion:
    """A point chosen on a valence/arousal pad."""
    return Emotion(_clip(valence), _clip(arousal), "valence/arousal")


def from_mood(name: str) -> Emotion:
    """A mood word or synonym of the app's vocabulary (:mod:`musicapp.moods`).

    Raises :class:`musicapp.moods.UnknownMoodError` (a ``MusicappError``) naming the nearest
    known words.
    """
    mood = vocabulary.resolve(name)
    return Emotion(mood.valence, mood.arousal, f"mood:{mood.word}", {mood.word: 1.0})


def from_analysis(result: dict, *, unit_scale: bool = False) -> Emotion:
    """The emotion vector of an analysed track (``musicapp analyze --json`` / ``analyze_path``).

    Uses ``valence``/``arousal`` when present (in [-1, 1], the tagger's convention; pass
    ``unit_scale=True`` for values in [0, 1]), else the mood scores mapped through the mood
    prototypes. ``moods`` may be a dict name -> score or a list of ``{"tag"/"name", "score",
    "percentile"}`` / ``[name, score]`` items (the percentile, when given, is the weight, because
    raw tag probabilities are tiny). The track's key (``"A minor"`` or ``{"tonic", "mode"}``) is
    kept as a suggestion.
    """
    moods_raw = result.get("moods") or {}
    moods: dict[str, float] = {}
    if isinstance(moods_raw, dict):
        moods = {str(k): float(v) for k, v in moods_raw.items() if isinstance(v, int | float)}
    elif isinstance(moods_raw, list):
        for item in moods_raw:
            if isinstance(item, dict):
                name = item.get("name") or item.get("tag") or item.get("mood")
                if item.get("percentile") is not None:
                    score = float(item["percentile"]) / 100.0
                else:
                    score = item.get("score", item.get("value", item.get("probability", 0.0)))
                if name is not None:
                    moods[str(name)] = float(score)
            elif isinstance(item, list | tuple) and len(item) == 2:
                moods[str(item[0])] = float(item[1])
    v, a = result.get("valence"), result.get("arousal")
    if isinstance(v, dict):
        v = v.get("value")
    if isinstance(a, dict):
        a = a.get("value")
    if v is not None and a is not None:
        fv, fa = float(v), float(a)
        if unit_scale:
            fv, fa = 2.0 * fv - 1.0, 2.0 * fa - 1.0
        val, aro = _clip(fv), _clip(fa)
    else:
        va = moods_to_va(moods)
        if va is None:
            raise MusicappError("analysis result has neither valence/arousal nor known moods")
        val, aro = va
    key = result.get("key")
    if isinstance(key, dict):
        tonic = key.get("tonic") or key.get("name")
        key = f"{tonic} {key.get('mode', 'major')}" if tonic else None
    return Emotion(val, aro, "analysis", moods, key if isinstance(key, str) else None)


#: Largest picture read (pixels): a bigger one is refused from its header, before decoding
#: (a decompression bomb), for ``musicapp chords --from-image`` and the GUI alike.
MAX_IMAGE_PIXELS = 64_000_000


def check_image_size(path: str | Path, max_pixels: int = MAX_IMAGE_PIXELS) -> tuple[int, int]:
    """(width, height) of a picture read from its header only; raises :class:`MusicappError`
    when it is not a readable image or holds more than ``max_pixels`` pixels."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    too_large = (f"{p}: the picture is too large (more than {max_pixels:,} pixels); "
                 "scale it down first")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                width, height = img.size
    except FileNotFoundError:
        raise MusicappError(f"{p}: image file does not exist") from None
    except Image.DecompressionBombError:
        raise MusicappError(too_large) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise MusicappError(f"{p}: not a readable image ({exc})") from None
    if width * height > max_pixels:
        raise MusicappError(f"{p}: the picture is too large ({width} x {height} = "
                            f"{width * height:,} pixels, more than {max_pixels:,}); "
                            "scale it down first")
    return width, height


def image_statistics(path: str | Path) -> tuple[float, float]:
    """Mean brightness (HSV value) and mean saturation (HSV saturation) of an image, in [0, 1].
    Pictures over :data:`MAX_IMAGE_PIXELS` are refused before decoding
    (:func:`check_image_size`)."""
    from PIL import Image, UnidentifiedImageError

    p = Path(path)
    check_image_size(p)
    try:
        with Image.open(p) as img:
            img.thumbnail((256, 256))
            hsv = np.asarray(img.convert("RGB").convert("HSV"), dtype=np.float64) / 255.0
    except FileNotFoundError:
        raise MusicappError(f"{p}: image file does not exist") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise MusicappError(f"{p}: not a readable image ({exc})") from exc
    return float(hsv[..., 2].mean()), float(hsv[..., 1].mean())


def va_from_colour(brightness: float, saturation: float) -> tuple[float, float]:
    """Valdez & Mehrabian (1994) pleasure/arousal, rescaled to [-1, 1] (see module docstring)."""
    pleasure = 0.69 * brightness + 0.22 * saturation
    arousal = -0.31 * brightness + 0.60 * saturation
    v = (pleasure - 0.455) / 0.455
    a = (arousal - 0.145) / 0.455
    return _clip(v), _clip(a)


def from_image(path: str | Path) -> Emotion:
    """Valence/arousal of a picture from its colour statistics (Valdez & Mehrabian 1994)."""
    b, s = image_statistics(path)
    v, a = va_from_colour(b, s)
    return Emotion(v, a, f"image:{Path(path).name}", {"brightness": b, "saturation": s})
