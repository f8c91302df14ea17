"""Weak mood labels from soundtrack titles (documented word rules)."""

from __future__ import annotations

from musicapp_lab.models.weak_labels import label_path, music_relpath, rules_table, title_words


def test_words_split_at_case_and_non_letters():
    assert title_words("MarineFireFight.ogg") == ("marine", "fire", "fight")
    assert title_words("lose/March Thee to Dis.ogg") == ("lose", "march", "thee", "to", "dis")
    assert title_words("Crystan-Battlescape01.ogg") == ("crystan", "battlescape")


def test_labels_of_typical_titles():
    assert (label_path("Crystan-Battlescape03.ogg").arousal, label_path("menu.opus").arousal) == (1, -1)
    win = label_path("win/Apex Aleph.ogg")
    assert (win.arousal, win.valence) == (1, 1)
    sad = label_path("Crystan-IntroSad.ogg")
    assert (sad.arousal, sad.valence) == (-1, -1)
    assert label_path("hr3-graveyard.ogg").valence == -1
    assert label_path("track17.opus").arousal is None and label_path("track17.opus").valence is None


def test_both_sides_leave_the_axis_unlabelled_and_short_words_match_whole_words():
    assert label_path("AmbientBattle.ogg").arousal is None  # ambient (calm) + battle (energetic)
    assert label_path("winter.ogg").arousal is None  # "win" only as a whole word
    assert label_path("sadness-warp.ogg").valence is None and label_path("sad.ogg").valence == -1


def test_relpath_keeps_the_folder_below_the_music_folder():
    p = "/x/extracted/usr/share/games/singularity/music/win/Apex Aleph.ogg"
    assert music_relpath(p) == "win/Apex Aleph.ogg"
    assert music_relpath("/c/pk3/nexuiz/sound/cdtracks/infight.ogg") == "infight.ogg"
    assert music_relpath("/a/b/solo.ogg") == "solo.ogg"
    assert "battle" in rules_table() and "menu" in rules_table()
