"""Choosing the torch device and the CPU thread count at run time.

Device: ``auto`` picks CUDA, then Apple MPS, then the CPU. Asking for a device that is not there
raises :class:`musicapp.errors.ModelError` with a message that says what was found instead.

Threads: torch defaults to one intra-op thread per core. On the project's 2-core machines,
2 threads were 2-10x *slower* than 1 for small-batch inference (thread hand-off dominates tiny
convolutions; see shared/ENVIRONMENT.md) while batches of whole-track musicnn patches gain from a
second thread (measured with ``musicapp bench tagger``; figures in the module docs of
:mod:`musicapp.bench.tagger`). :func:`configure_threads` therefore chooses:

* an explicit ``n`` (or the environment variable ``MUSICAPP_THREADS``) wins;
* ``batch`` small (< 4 patches: live input, one short segment): 1 thread;
* otherwise all usable cores up to 8 (beyond ~8 the per-layer work of a batch of 3-s patches
  no longer splits usefully, and leaving cores free keeps the GUI responsive).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from musicapp.errors import ModelError

if TYPE_CHECKING:
    import torch

MAX_AUTO_THREADS = 8
SMALL_BATCH = 4


def usable_cores() -> int:
    """CPU cores this process may run on (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _mps_available() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def select_device(requested: str | None = "auto") -> torch.device:
    """Return the torch device for ``requested``: ``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``.

    Raises ModelError when the requested accelerator is not available or the name is unknown.
    """
    import torch

    name = (requested or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "gpu":
        name = "cuda"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
            raise ModelError(
                f"device {requested!r}: no CUDA GPU is available (torch {torch.__version__}, "
                f"{build}); use --device cpu or auto, or install a CUDA build of torch"
            )
        try:
            device = torch.device(name)
        except RuntimeError as exc:
            raise ModelError(f"device {requested!r}: not a valid device name ({exc})") from exc
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ModelError(f"device {requested!r}: only {count} CUDA device(s) present")
        return device
    if name == "mps":
        if not _mps_available():
            raise ModelError(
                f"device {requested!r}: Apple MPS is not available on this machine; "
                "use --device cpu or auto"
            )
        return torch.device("mps")
    raise ModelError(f"device {requested!r}: unknown device; use auto, cpu, cuda, cuda:N or mps")


def choose_threads(n: int | None = None, batch: int | None = None) -> int:
    """The thread count :func:`configure_threads` would set (without setting it)."""
    if n is None:
        env = os.environ.get("MUSICAPP_THREADS", "").strip()
        if env:
            try:
                n = int(env)
            except ValueError:
                raise ModelError(f"MUSICAPP_THREADS={env!r} is not a whole number") from None
    if n is not None:
        if n < 1:
            raise ModelError(f"thread count must be at least 1, got {n}")
        return int(n)
    if batch is not None and batch < SMALL_BATCH:
        return 1
    return min(usable_cores(), MAX_AUTO_THREADS)


def configure_threads(n: int | None = None, batch: int | None = None) -> int:
    """Set torch's intra-op thread count deliberately (see the module docs); return it."""
    import torch

    threads = choose_threads(n, batch)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
