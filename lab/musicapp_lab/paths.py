"""Folders of the source checkout that the lab reads and writes (it always runs from one)."""

from __future__ import annotations

from pathlib import Path

#: The repository root (``lab/musicapp_lab/paths.py`` -> three levels up).
REPO = Path(__file__).resolve().parents[2]
#: The source of truth for shipped weights, model cards and corpora.
RESOURCES = REPO / "resources"
#: Where the lab keeps downloaded and derived data (git-ignored).
DATA = REPO / "data"
