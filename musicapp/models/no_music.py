"""Moods need music: a track in which the analysis finds neither a pitch centre nor a steady beat
(white noise, a test tone, mains hum, wind) gets no moods, genres, valence/arousal or hash code.

The tagger answers every input with confident-looking percentiles (3 s of white noise read
"party 98 %, loud 97 %", a 440 Hz sine "beautiful 99 %, sad 98 %"), because it was trained on
music only. The key/tempo analysis already tells noise and lone tones from music
(:func:`musicapp.analysis.key_report.no_key_reason`, the tempo's steadiness test), so where it
found neither a key nor a tempo the tagger's answer is withheld and the reason is given as
``moods_status``, as for a clip too short for moods. Drums alone (a steady beat, no key) and
rubato piano (a key, no steady beat) keep their moods. Used by the pipeline and the batch path
alike, so both give the same result.
"""

from __future__ import annotations

from typing import Any

#: The key analysis' reasons that mean "no pitched music" (prefixes of ``key_reason``).
NO_MUSIC_KEY_REASONS = ("no pitched sound", "no tonal centre", "too few different pitches")
#: ``moods_status`` of such a track.
NO_MUSIC_STATUS = "no music found (noise or a lone tone)"


def withhold_moods_without_music(analysis: Any) -> bool:
    """Drop the tagger's moods etc. from ``analysis`` (a
    :class:`~musicapp.track_analysis.TrackAnalysis`) when its music part found neither a key
    (for one of :data:`NO_MUSIC_KEY_REASONS`) nor a tempo; returns True when it did."""
    tags, music = analysis.tags, analysis.music
    if analysis.status != "ok" or not tags or not music or tags.get("moods_status"):
        return False
    if music.get("tempo_bpm") is not None or music.get("key") is not None:
        return False
    if not str(music.get("key_reason") or "").startswith(NO_MUSIC_KEY_REASONS):
        return False
    from musicapp.models.engine import FIELDS_WITHOUT_MOODS  # the too-short result's fields

    analysis.tags = {k: tags[k] for k in FIELDS_WITHOUT_MOODS if k in tags}
    analysis.tags["moods_status"] = NO_MUSIC_STATUS
    return True
