"""The chord model's condition: emotion (valence, arousal), mode, style and meter.

``condition_vector`` = ``[valence, arousal, is_minor, style one-hot (4), meter family one-hot
(3)]``. An unknown/unspecified style is the uniform mixture (0.25 each), so the model can be asked
for "any style". Styles name the corpora the model learned from:

* ``pop``: pop / rock / soul (McGill Billboard, and the curated formula table);
* ``cpop``: C-pop ballad (POP909);
* ``jazz``: jazz and standards, Tin Pan Alley lead sheets (OpenEWLD);
* ``chorale``: Bach chorales and Monteverdi madrigals (music21 corpus).
"""

from __future__ import annotations

import numpy as np

from musicapp.errors import MusicappError

STYLES = ("pop", "cpop", "jazz", "chorale")
STYLE_NAMES = {"pop": "pop/rock/soul", "cpop": "C-pop ballad", "jazz": "jazz/standards",
               "chorale": "chorale"}
METER_FAMILIES = ("duple", "triple", "compound")
COND_DIM = 3 + len(STYLES) + len(METER_FAMILIES)


def check_style(style: str | None) -> str | None:
    """A known style name (aliases accepted) or None for "any"; unknown names are an error."""
    if style is None:
        return None
    s = style.strip().lower().replace("-", "").replace(" ", "")
    aliases = {"rock": "pop", "soul": "pop", "poprock": "pop", "ballad": "cpop",
               "cpopballad": "cpop", "standards": "jazz", "bach": "chorale", "any": None}
    if s in aliases:
        return aliases[s]
    if s not in STYLES:
        raise MusicappError(f"{style!r}: unknown style; choose one of {', '.join(STYLES)} "
                            "(or any)")
    return s


def condition_vector(valence: float, arousal: float, mode: str, style: str | None = None,
                     meter_family: str = "duple") -> np.ndarray:
    """The condition (float32, :data:`COND_DIM`); valence/arousal are clipped to [-1, 1]."""
    if not (np.isfinite(valence) and np.isfinite(arousal)):
        raise MusicappError("valence and arousal must be finite numbers")
    if meter_family not in METER_FAMILIES:
        raise MusicappError(f"{meter_family!r}: meter family must be one of "
                            f"{', '.join(METER_FAMILIES)}")
    st = np.full(len(STYLES), 1.0 / len(STYLES))
    style = check_style(style)
    if style is not None:
        st = np.zeros(len(STYLES))
        st[STYLES.index(style)] = 1.0
    me = np.zeros(len(METER_FAMILIES))
    me[METER_FAMILIES.index(meter_family)] = 1.0
    return np.asarray([float(np.clip(valence, -1, 1)), float(np.clip(arousal, -1, 1)),
                       1.0 if mode == "minor" else 0.0, *st, *me], dtype=np.float32)
