"""Shared pytest fixtures: headless Qt, a real PulseAudio null-sink audio device, temp audio."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "1")
if "MUSICAPP_DATA_DIR" not in os.environ:
    # The tests' libraries, analysis cache and logs never touch the user's own data folder; child
    # processes inherit the same folder.
    import tempfile

    os.environ["MUSICAPP_DATA_DIR"] = tempfile.mkdtemp(prefix="musicapp-test-data-")


@pytest.fixture(scope="session")
def pulse_audio():
    """A running PulseAudio daemon with a null sink as default output and its monitor as input.

    On CI (``CI`` set) a missing PulseAudio is an error, not a skip: the audio tests must run.
    """
    from tests.helpers.pulse import ensure_null_sink

    problem = ensure_null_sink()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    from musicapp.audio.devices import refresh

    refresh()  # PortAudio enumerates devices only at initialisation
    yield os.environ["XDG_RUNTIME_DIR"]
