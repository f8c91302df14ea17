"""The composer's two text lines under the keyboard are whole at 1024x640 (wrapped, never "…",
never cut at the bottom) and one line each at 1920x1080; the long form is the tooltip."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFontMetrics

from tests.gui.test_composer import _generate, composer  # noqa: F401 (the fixture)


def _whole(label) -> bool:
    """Every character shown: no elision, and the label is as tall as its wrapped text."""
    return "…" not in label.text() and label.height() >= label.heightForWidth(label.width())


@pytest.mark.parametrize(("size", "one_line"), [((1024, 640), False), ((1920, 1080), True)])
def test_hint_and_source_lines_are_readable(qtbot, window, composer, size, one_line):  # noqa: F811
    composer.source.setCurrentIndex(1)
    composer.mood.setCurrentText("sad")
    composer.length.setValue(8)
    _generate(qtbot, composer)
    window.resize(*size)
    qtbot.wait(300)
    composer.select(-1)
    qtbot.wait(100)
    info, hint = composer.info, composer.roll_info
    assert hint.full_text == "Whole loop · click a chord for its notes"
    assert "voicing, bass and melody" in hint.toolTip()
    assert info.full_text.startswith(composer.session.progression.key.name + " · from mood:sad")
    assert "valence" in info.full_text and "-1 calm" in info.toolTip()
    for label in (info, hint):
        assert _whole(label), (label.full_text, label.size())
    if one_line:
        line = QFontMetrics(info.font()).lineSpacing()
        assert info.height() < 2 * line and hint.height() < 2 * line
    composer.select(0)  # a chord's notes, whole too
    qtbot.wait(100)
    assert "voicing" in hint.full_text and _whole(hint)
    assert composer.roll.height() >= composer.roll.minimumHeight()
