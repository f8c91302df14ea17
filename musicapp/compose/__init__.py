"""Composition assistant: chord progressions that fit a mood, a key, a style and a meter,
arranged and exported.

Modules: ``theory`` (tokens, Roman numerals in major and minor, spelling), ``rhythm`` (meters,
whole-bar harmonic rhythm), ``conditioning`` (the model's condition: emotion, mode, style,
meter), ``labels`` (mood points, the reranker's valence rule), ``model`` (ChordGRU: torch
training, numpy inference), ``generate`` (constrained sampling, regeneration, alternatives),
``emotion`` (emotion sources), ``midi_input`` / ``from_clip`` (start from a MIDI clip),
``melody`` (the small learned melody model), ``jazz`` (the jazz reading: seventh chords and
colour tones), ``arrange`` (voicing, bass, melody, rhythm),
``midi_export``, ``preview``. Training and evaluation live in the lab package
(``musicapp_lab.compose``). No module imports torch at import time.
"""
