"""heldout2: which files count as music tracks, their labels by the unchanged mapping, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from musicapp_lab.models import heldout2 as h2
from musicapp_lab.models.dataset import MIN_BYTES


def _file(root: Path, rel: str, size: int = MIN_BYTES) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"\0" * size)
    return p


def test_discover_keeps_music_folders_and_labels_by_the_documented_mapping(tmp_path: Path) -> None:
    ex = tmp_path / "extracted"
    base = "wesnoth-1.16-music/usr/share/games/wesnoth/1.16/data/core/music/"
    for name in ("battle-epic.ogg", "love_theme.ogg", "sad.ogg", "victory2.ogg", "knolls.ogg"):
        _file(ex, base + name)
    _file(ex, "supertux-data/usr/share/games/supertux2/music/castle/fortress.ogg")
    _file(ex, "xmoto-data/usr/share/games/xmoto/Textures/Musics/menu.ogg")
    _file(ex, "openclonk-data/usr/share/games/openclonk/Music.ocg/LucidDream.ogg")
    # not music tracks: a sound effect outside a music folder, a tiny file, a non-audio file
    _file(ex, "megaglest-data/usr/share/games/megaglest/data/sounds/air_attack1.wav")
    _file(ex, "flare-game/usr/share/games/flare/music/boss_theme.ogg", size=MIN_BYTES - 1)
    _file(ex, "flare-game/usr/share/games/flare/music/notes.txt")
    tracks = h2.discover(ex)
    got = {t.rel: (t.label.arousal, t.label.valence) for t in tracks}
    assert got == {
        "battle-epic.ogg": (1, None),
        "love_theme.ogg": (-1, 1),
        "sad.ogg": (-1, -1),
        "victory2.ogg": (1, 1),
        "knolls.ogg": (None, None),
        "castle/fortress.ogg": (None, -1),
        "menu.ogg": (-1, None),
        "LucidDream.ogg": (-1, None),
    }
    scored = [t for t in tracks if t.labelled]
    assert len(scored) == 7
    assert h2.label_counts(scored) == {"energetic": 2, "calm": 4, "bright": 2, "dark": 2}
    keys = {t.key for t in tracks}
    assert len(keys) == len(tracks)  # stable ids differ per file


@pytest.mark.parametrize("pkg", ["hedgewars-data", "ufoai-music", "singularity-music"])
def test_discover_refuses_the_cards_packages(tmp_path: Path, pkg: str) -> None:
    _file(tmp_path / "extracted", f"{pkg}/usr/share/games/x/music/battle.ogg")
    with pytest.raises(ValueError, match=pkg):
        h2.discover(tmp_path / "extracted")


def test_scoring_a_second_time_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    (tmp_path / "extracted").mkdir()
    (tmp_path / "looks.txt").write_text("1")
    assert h2.main(["--data", str(tmp_path)]) == 2
    assert "scored 1 time(s) already" in capsys.readouterr().out
    assert (tmp_path / "looks.txt").read_text() == "1"
    assert not (tmp_path / "results.json").exists()


def test_heldout3_counts_music_in_the_file_name_and_refuses_heldout2_packages(
        tmp_path: Path) -> None:
    ex = tmp_path / "extracted"
    _file(ex, "naev-data/usr/share/naev/dat/snd/music/combat1.ogg")
    _file(ex, "lugaru-data/usr/share/games/lugaru/Sounds/Music1Snow.ogg")
    _file(ex, "lugaru-data/usr/share/games/lugaru/Sounds/DesertAmbient.ogg")  # not music
    p3 = h2.PROTOCOLS["heldout3"]
    got = {t.rel: t.label.arousal for t in h2.discover(ex, p3)}
    assert got == {"combat1.ogg": 1, "Music1Snow.ogg": -1}
    # heldout2's rules are unchanged: music folders only
    assert {t.rel for t in h2.discover(ex)} == {"combat1.ogg"}
    _file(ex, "wesnoth-1.16-music/usr/share/games/wesnoth/music/battle.ogg")
    with pytest.raises(ValueError, match=r"wesnoth-1\.16-music was used by an earlier"):
        h2.discover(ex, p3)
    assert len(h2.discover(ex)) == 2  # heldout2 itself still accepts its own package


def test_protocol_follows_the_data_folder_and_looks_are_counted_per_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert h2.protocol_for(tmp_path / "heldout3", None).name == "heldout3"
    assert h2.protocol_for(tmp_path / "other", None).name == "heldout2"
    assert h2.protocol_for(tmp_path / "other", "heldout3").name == "heldout3"
    d2, d3 = tmp_path / "heldout2", tmp_path / "heldout3"
    for d in (d2, d3):
        (d / "extracted").mkdir(parents=True)
    (d2 / "looks.txt").write_text("1")
    assert h2.main(["--data", str(d2)]) == 2
    assert h2.main(["--data", str(d3), "--list"]) == 0
    out = capsys.readouterr().out
    assert "heldout2" in out and "heldout3: 0 music tracks" in out
    assert not (d3 / "looks.txt").exists()


def test_table_puts_secondary_rows_under_their_axis() -> None:
    res = {"rows": {}, "std": {},
           "singles": {"key_major alone / valence": {"auc": 0.7, "lo": 0.1, "hi": 0.9}},
           "within": {"shipped": {"arousal": {"auc": 0.6, "lo": 0.2, "hi": 0.8},
                                  "valence": {"auc": 0.5, "lo": 0.0, "hi": 1.0}}}}
    lines = h2.table(res).splitlines()
    assert "| key_major alone / valence (secondary) |  | 0.700 [0.100, 0.900] | |" in lines
    assert "| shipped, within-package pairs | 0.600 [0.200, 0.800] | 0.500 [0.000, 1.000] | |" \
        in lines
