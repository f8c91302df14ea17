"""How much memory a decode may take, and the message when a file needs more.

A 6.5 MB FLAC can declare 10 hours of (silent) stereo audio: decoded for analysis that is 3 GB of
float32, and a machine without it ended in a numpy ``_ArrayMemoryError`` traceback. The decoder
checks the buffer it is about to allocate against :func:`available_bytes` and refuses early with
:func:`too_long_message`; a ``MemoryError`` that still happens becomes the same message.
"""

from __future__ import annotations

import resource

#: a decode buffer may take at most this share of the memory available now
SHARE = 0.9


def _meminfo_available() -> int | None:
    """MemAvailable from /proc/meminfo in bytes (Linux), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _address_space_left() -> int | None:
    """Bytes this process may still map under its RLIMIT_AS (``ulimit -v``), or None when
    unlimited or unknown."""
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ValueError, OSError):
        return None
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return max(0, soft - int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_bytes() -> int | None:
    """Memory a new allocation can use now: the smaller of the system's available memory
    (psutil, else /proc/meminfo) and what ``ulimit -v`` leaves this process; None if unknown."""
    found: list[int] = []
    try:
        import psutil

        found.append(int(psutil.virtual_memory().available))
    except (ImportError, OSError, AttributeError):
        meminfo = _meminfo_available()
        if meminfo is not None:
            found.append(meminfo)
    left = _address_space_left()
    if left is not None:
        found.append(left)
    return min(found) if found else None


def too_long_message(seconds: float, need_bytes: int, available: int | None = None) -> str:
    """"10.0 h of audio needs at least 3.0 GB of memory to analyse (1.1 GB are available);
    more than this machine can give" (the ``AudioDecodeError`` reason)."""
    length = f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"
    have = "" if available is None else f" ({available / 1e9:.1f} GB are available)"
    return (f"{length} of audio needs at least {need_bytes / 1e9:.1f} GB of memory to "
            f"analyse{have}; more than this machine can give (decode it in parts with "
            "offset/duration, or split the file)")
