"""Text the commands print for people: file names and messages made safe for a terminal.

A file name may hold a newline, an ANSI escape (``\\x1b[31m``), a bidi override (``U+202E``) or
bytes that are not UTF-8; printed as they are, they forge extra output lines, recolour or reorder
the terminal, or (with a strict UTF-8 locale such as ``en_US.UTF-8``) crash ``print`` with
``UnicodeEncodeError``. :func:`shown` escapes them (``\\n``, ``\\x1b``, ``\\u202e``, ``\\xff``)
with the library's one escaping rule. JSON output needs nothing: ``json.dumps`` escapes them.
"""

from __future__ import annotations


def shown(text: object) -> str:
    """``text`` escaped for a terminal (see the module docstring)."""
    from musicapp.library.textsafe import display

    return display(text)
