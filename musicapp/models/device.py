"""Choosing the torch device and the CPU thread count at run time.

Device: ``auto`` picks CUDA, then Apple MPS, then the CPU. Asking for a device that is not there
raises :class:`musicapp.errors.ModelError` with a message that says what was found instead.

Threads: torch defaults to one intra-op thread per core. On the project's 2-core machines, shared
with other work, a second thread made the musicnn front end much slower, not faster: measured in
one process, interleaved, batches of 2 patches, load average ~4.7: 88 ms/patch with 1 thread,
245 ms/patch with 2; ``musicapp bench tagger`` on a 3-minute track (load ~6): engine 6.7 s with
1 thread, 20.9 s with 2 (shared/ENVIRONMENT.md saw 2-10x for small batches too). Thread
hand-offs and the other processes' time slices dominate. :func:`configure_threads` therefore
chooses:

* an explicit ``n`` (or the environment variable ``MUSICAPP_THREADS``) wins;
* ``batch`` small (< 4 patches: live input, one short segment): 1 thread;
* up to 3 usable logical cores: 1 thread (leaves a core to decoding and the GUI);
* more: half the logical cores (SMT siblings do not speed up GEMMs), at most 8.

That is the one-core path's choice (:func:`musicapp.pipeline.analyze_samples` with ``cores=1``:
the batch indexer's serial run and its worker processes, one core each). The pipeline's
concurrent path (``cores`` > 1: ``musicapp analyze FILE``, the GUI's worker) uses the cores
differently: one Python thread per usable core (:func:`usable_cores`), each running torch with
one intra-op thread (set in that thread by :meth:`musicapp.models.engine.TaggingRun.work`), the
music analysis in one of them and tagger batches shared by all. Two intra-op threads on one
batch instead were 3.2x slower than that in one run of ``musicapp bench pipeline
--alternatives`` (load average ~5 on the 2-core machine: OpenMP's barriers wait for a thread
that another process holds), and two Python threads do not wait for each other on the GIL
(torch and the analysis's numpy/FFT work release it; measured from the threads' schedstat).
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


def preferred_device() -> str:
    """The user's compute-device choice: ``$MUSICAPP_DEVICE`` (``auto`` when unset)."""
    return os.environ.get("MUSICAPP_DEVICE", "").strip() or "auto"


def describe_device(device: torch.device) -> str:
    """A short name for the status bar: ``"CUDA: <GPU name>"``, ``"Apple MPS"`` or ``"CPU"``."""
    import torch

    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return "CPU"


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
    cores = usable_cores()
    if (batch is not None and batch < SMALL_BATCH) or cores <= 3:
        return 1
    return max(1, min(cores // 2, MAX_AUTO_THREADS))


def configure_threads(n: int | None = None, batch: int | None = None) -> int:
    """Set torch's intra-op thread count deliberately (see the module docs); return it."""
    import torch

    threads = choose_threads(n, batch)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
