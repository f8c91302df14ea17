"""Run-time device and thread selection."""

from __future__ import annotations

import pytest
import torch

from musicapp.errors import ModelError
from musicapp.models import device as dev


def test_auto_picks_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    assert dev.select_device("auto").type == "cpu"
    assert dev.select_device(None).type == "cpu"
    monkeypatch.setattr(dev, "_mps_available", lambda: True)
    assert dev.select_device("auto").type == "mps"
    assert dev.select_device("MPS").type == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert dev.select_device("auto").type == "cuda"
    assert dev.select_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ModelError, match="only 1 CUDA device"):
        dev.select_device("cuda:3")


def test_missing_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    with pytest.raises(ModelError, match=r"'cuda': no CUDA GPU is available.*--device cpu"):
        dev.select_device("cuda")
    with pytest.raises(ModelError, match="no CUDA GPU"):
        dev.select_device("gpu")
    with pytest.raises(ModelError, match="MPS is not available"):
        dev.select_device("mps")
    with pytest.raises(ModelError, match="unknown device"):
        dev.select_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_real_cuda_request_fails_without_gpu():
    with pytest.raises(ModelError, match="no CUDA GPU"):
        dev.select_device("cuda")


def test_thread_choice(monkeypatch):
    monkeypatch.delenv("MUSICAPP_THREADS", raising=False)
    monkeypatch.setattr(dev, "usable_cores", lambda: 2)
    assert dev.choose_threads(batch=1) == 1
    assert dev.choose_threads() == 1  # measured: 2 threads were slower on 2 shared cores
    assert dev.choose_threads(3) == 3
    monkeypatch.setattr(dev, "usable_cores", lambda: 8)
    assert dev.choose_threads() == 4
    assert dev.choose_threads(batch=2) == 1
    monkeypatch.setattr(dev, "usable_cores", lambda: 64)
    assert dev.choose_threads() == dev.MAX_AUTO_THREADS
    monkeypatch.setenv("MUSICAPP_THREADS", "5")
    assert dev.choose_threads() == 5
    monkeypatch.setenv("MUSICAPP_THREADS", "many")
    with pytest.raises(ModelError, match="MUSICAPP_THREADS"):
        dev.choose_threads()
    with pytest.raises(ModelError, match="at least 1"):
        dev.choose_threads(0)


def test_configure_threads_sets_torch():
    before = torch.get_num_threads()
    try:
        assert dev.configure_threads(1) == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_preferred_device_and_description(monkeypatch):
    import torch

    monkeypatch.delenv("MUSICAPP_DEVICE", raising=False)
    assert dev.preferred_device() == "auto"
    monkeypatch.setenv("MUSICAPP_DEVICE", "cpu")
    assert dev.preferred_device() == "cpu"
    assert dev.describe_device(dev.select_device(dev.preferred_device())) == "CPU"
    assert dev.describe_device(torch.device("mps")) == "Apple MPS"
