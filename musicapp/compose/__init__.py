"""Composition assistant: chord progressions that fit a mood and a key, arranged and exported.

Modules: ``theory`` (tokens, spelling), ``labels`` (emotion labels and the condition vector),
``corpus``/``dataset`` (training data), ``model`` (ChordGRU: torch training, numpy inference),
``ngram`` (baselines), ``train``, ``generate`` (constrained sampling), ``emotion`` (emotion sources),
``arrange`` (voicing, bass, melody, rhythm), ``midi_export``, ``preview``, ``evaluate``.
No module imports torch at import time.
"""
