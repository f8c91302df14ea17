"""What the tagger's percentiles are relative to, read without numpy or torch.

Command-line help shows it, so it sits on the start-up path: this module imports only the
standard library and the weights header reader.
"""

from __future__ import annotations

from typing import Any


def mood_reference(path: Any = None) -> str:
    """What the tagger's percentiles are relative to, from the distilled model's metadata
    (e.g. "among 1686 3-s clips of game music (...)"); a generic phrase when unknown.

    Reads only the safetensors header (no torch), so command-line help can show it.
    """
    from musicapp.errors import ModelError
    from musicapp.models.weights import load_metadata
    from musicapp.paths import resource_path

    p = path if path is not None else resource_path("models", "hashnet.safetensors")
    try:
        text = load_metadata(p).get("reference", "")
    except ModelError:
        text = ""
    return text or "among 3-s clips of a reference collection of game music"
