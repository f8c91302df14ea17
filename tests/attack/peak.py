"""Run ``musicapp ARGS...`` in this process; write its peak RSS in KiB to ``$MUSICAPP_PEAK_FILE``.

Used by the attack tests (and by hand) to measure the memory a command needs::

    MUSICAPP_PEAK_FILE=/tmp/peak python -m tests.attack.peak analyze long.wav
"""

from __future__ import annotations

import os
import resource
import sys


def peak_rss_kib() -> int:
    """This process's peak resident set in KiB: ``VmHWM`` of /proc/self/status.

    Not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux carries that across ``execve``, so a child
    forked from a large test runner would report the runner's size, not its own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> int:
    """Run the CLI with ``sys.argv[1:]`` and record the peak resident set size."""
    from musicapp.cli import main as cli_main

    code = 1
    try:
        code = cli_main(sys.argv[1:])
    except SystemExit as exc:  # argparse errors
        code = exc.code if isinstance(exc.code, int) else 2
    finally:
        out = os.environ.get("MUSICAPP_PEAK_FILE")
        if out:
            with open(out, "w", encoding="ascii") as fh:
                fh.write(str(peak_rss_kib()))
    return code


if __name__ == "__main__":
    sys.exit(main())
