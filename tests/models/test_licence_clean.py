"""No number or text derived from the Warriner et al. (2013) word norms (CC BY-NC-ND) remains.

The project is MIT and ships only permissively licensed material. The tagger's valence/arousal
placements used to be taken from those norms; they are now our own (``musicapp/moods.py``). This
test scans every tracked or new source file, the model cards and the safetensors metadata for the
norms' name and for the numbers that were quoted from them (34 ratings, 4 lexicon statistics).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from musicapp.models.weights import load_metadata

REPO = Path(__file__).resolve().parents[2]
# Assembled from pieces so that this file does not itself contain the searched strings.
NAME = re.compile("warr" + "iner|kuperman|bryss?baert", re.IGNORECASE)
#: Lexicon statistics that were quoted (mean/SD of valence and arousal over all lemmas).
LEXICON = ("5." + "064", "1." + "275", "4." + "211", "0." + "896")
#: The per-lemma ratings that were quoted (valence, arousal on 1-9), as printed with 2 decimals.
RATINGS = tuple(
    f"{x:.2f}"
    for x in (847, 605, 210, 349, 668, 281, 725, 249, 761, 571, 718, 608, 742, 680, 522, 400,
              703, 320, 608, 457, 590, 516, 645, 510, 400, 289, 321, 515, 647, 195, 713, 304,
              633, 320)
    for x in [x / 100]
)
#: Old placements derived from them (tag coordinates as the old card printed them).
DERIVED = ("+0.89 | +0.68", "-0.77 | -0.27", "+0.62 | +0.96", "+0.04 | -0.08")
TEXT_SUFFIXES = {".py", ".md", ".json", ".txt", ".toml", ".cfg", ".ini", ".yml", ".yaml", ".csv"}


def _repo_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout")
    return [REPO / line for line in out.splitlines() if line and (REPO / line).is_file()]


def _number_hits(numbers: tuple[str, ...], text: str) -> set[str]:
    """The ``numbers`` that occur in ``text`` as whole numbers ("0.896" but not "0.8961507")."""
    return {r for r in set(numbers) if re.search(rf"(?<![\d.]){re.escape(r)}(?!\d)", text)}


def _rating_hits(text: str) -> set[str]:
    return _number_hits(RATINGS, text)


def test_no_name_or_numbers_in_code_cards_and_configs():
    files = [p for p in _repo_files() if p.suffix in TEXT_SUFFIXES and p != Path(__file__)]
    assert any(p.name == "HASHNET_MODEL_CARD.md" for p in files)
    problems = []
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        rel = p.relative_to(REPO)
        if NAME.search(text):
            problems.append(f"{rel}: names the norms")
        if lexicon := _number_hits(LEXICON, text):  # a metric of 0.8961... is not one of them
            problems.append(f"{rel}: lexicon statistics {sorted(lexicon)}")
        hits = _rating_hits(text)
        if len(hits) >= 6:  # single common numbers (4.00, 3.20 ...) occur elsewhere by chance
            problems.append(f"{rel}: {len(hits)} of the quoted ratings {sorted(hits)}")
        if any(d in text for d in DERIVED):
            problems.append(f"{rel}: old derived placements")
    assert not problems, "\n".join(problems)


def test_no_name_or_numbers_in_weights_metadata():
    models = REPO / "resources" / "models"
    files = sorted(models.glob("*.safetensors"))
    assert files
    for p in files:
        meta = " ".join(f"{k}={v}" for k, v in load_metadata(p).items())
        assert not NAME.search(meta), p.name
        assert not any(s in meta for s in LEXICON), p.name
        assert len(_rating_hits(meta)) < 6, p.name


def test_valence_arousal_targets_are_the_own_placements():
    meta = load_metadata(REPO / "resources" / "models" / "hashnet.safetensors")
    assert meta.get("va_targets", "").startswith("musicapp.moods"), meta.get("va_targets")


def test_sanity_the_scanner_finds_what_it_looks_for(tmp_path):
    old = "| happy | 8.47 | 6.05 | sad | 2.10 | 3.49 | mellow | 6.68 | 2.81 |"
    assert len(_rating_hits(old)) == 6
    assert NAME.search("Norms of " + "Warr" + "iner et al.")
    assert not _rating_hits("tempo 120.00 bpm, 4/4")
    assert _number_hits(LEXICON, "mean 5." + "064, sd 1." + "275") == {"5." + "064", "1." + "275"}
    assert not _number_hits(LEXICON, '"majmin": 0.' + "8961507570094958")  # a metric, not a statistic
