"""What a C decoder prints on descriptor 2 is captured; everything else still reaches stderr."""

from __future__ import annotations

import os

from musicapp.audio import native_stderr

DECODER = (b"[src/libmpg123/layer3.c:INT123_do_layer3():1844] error: dequantization failed!\n"
           b"Note: Illegal Audio-MPEG-Header 0x7db87d01 at offset 111977.\n"
           b"Note: Trying to resync...\n")


def test_decoder_lines_are_kept_and_other_output_passes_through(capfd):
    with native_stderr.capture() as outer:
        os.write(2, b"the program's own message\n")
        with native_stderr.capture() as inner:  # nested: one redirection, both see the lines
            os.write(2, DECODER)
        os.write(2, b"progress 50%")  # no newline: passed on at once
    err = capfd.readouterr().err
    assert "the program's own message" in err and "progress 50%" in err
    assert "mpg123" not in err and "Note:" not in err
    assert len(outer.lines) == 3 and inner.lines == outer.lines
    summary = outer.summary()
    assert summary is not None and "3 problems" in summary and "dequantization failed" in summary
    assert "; Illegal Audio-MPEG-Header N at offset N; " in summary  # numbers folded together
    os.write(2, b"after\n")  # descriptor 2 is the terminal (here: pytest's capture) again
    assert "after" in capfd.readouterr().err


def test_a_capture_with_nothing_printed_has_no_summary():
    with native_stderr.capture() as notes:
        pass
    assert notes.lines == [] and notes.summary() is None
    with native_stderr.capture() as notes:
        os.write(2, b"Warning: Xing stream size off by more than 1%, fuzzy seeking may be even "
                    b"more fuzzy than by design!\n")
    assert len(notes.lines) == 1 and notes.summary() is None  # a truncated file's note: logged
