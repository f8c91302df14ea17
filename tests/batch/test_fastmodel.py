"""The frozen CPU tagger of the batch path gives the eager model's outputs; the original is untouched."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def test_frozen_backend_equals_eager_for_any_batch_size():
    from musicapp.batch.fastmodel import frozen_backend
    from musicapp.pipeline import get_engine

    backend = get_engine("cpu", 1).backend
    eager_model = backend.model
    fast = frozen_backend(backend)
    assert fast is not backend and backend.model is eager_model  # a copy: the GUI keeps the eager one
    assert isinstance(fast.model, torch.jit.ScriptModule)
    assert frozen_backend(backend) is fast  # built once per process
    x = torch.from_numpy(np.random.default_rng(5).uniform(0, 3, (5, 187, 96)).astype(np.float32))
    with torch.inference_mode():
        for n in (1, 2, 5):
            ref, got = backend.run(x[:n], False), fast.run(x[:n], False)
            assert set(ref) == set(got)
            for key in ref:
                np.testing.assert_allclose(got[key], ref[key], atol=1e-4, rtol=0)
            assert np.array_equal(got["code"] >= 0, ref["code"] >= 0)
