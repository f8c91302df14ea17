"""Paths and text that are safe to store in SQLite and to print.

File names on POSIX are bytes. Python decodes undecodable bytes to lone surrogates
(``surrogateescape``), which SQLite's UTF-8 text cannot hold (``UnicodeEncodeError``). A path
that is valid UTF-8 is stored as TEXT; any other path is stored as a BLOB of its raw bytes
(``os.fsencode``), so every name is kept exactly and the two forms can never collide (a BLOB
path is by construction not valid UTF-8). :func:`display` escapes control characters, line
breaks, bidirectional overrides and undecodable bytes for human-readable output.
"""

from __future__ import annotations

import os
import unicodedata

#: Characters escaped by :func:`display` besides the categories Cc/Zl/Zp (bidi controls).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def db_path(path: str) -> str | bytes:
    """The stored form of an absolute path: the text itself, or its raw bytes when it holds
    undecodable bytes (surrogate escapes)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def py_path(value: str | bytes) -> str:
    """The path (``str``, surrogate-escaped where needed) of a stored path value."""
    if isinstance(value, bytes | bytearray | memoryview):
        return os.fsdecode(bytes(value))
    return str(value)


def db_text(text: object) -> str | None:
    """Any text (an error message, a tag) in a form SQLite can store: lone surrogates become
    ``\\udcxx`` escapes. None stays None."""
    if text is None:
        return None
    s = str(text)
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "backslashreplace").decode("utf-8")
    return s


def display(text: object) -> str:
    """``text`` for a terminal: control characters, line breaks, bidi overrides and undecodable
    bytes escaped (``\\n``, ``\\x1b``, ``\\u202e``, ``\\xff``); everything else unchanged."""
    if text is None:
        return ""
    s = str(text)
    out = []
    for ch in s:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        elif ch in _NAMED:
            out.append(_NAMED[ch])
        elif ch in _BIDI or unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
