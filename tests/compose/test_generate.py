"""Generation with the shipped ChordGRU: constraints, determinism, locks, regeneration,
numpy inference == torch forward, safe loading."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from musicapp_lab.compose.evaluate import check_constraints

from musicapp.compose.generate import CADENTIAL, TONIC, ConstraintError, Constraints, Generator
from musicapp.compose.model import DEFAULT_WEIGHTS, ChordModel
from musicapp.compose.theory import Key
from musicapp.errors import ModelError


@pytest.fixture(scope="module")
def gen() -> Generator:
    return Generator(ChordModel.load())


@pytest.mark.parametrize("length", [4, 8, 16])
@pytest.mark.parametrize("mode", ["major", "minor"])
def test_constraints_hold_in_every_sample(gen, length, mode):
    rng = np.random.default_rng(length)
    for cap in (0, 1, 3):
        c = Constraints(length=length, max_nondiatonic=cap)
        progs = gen.sample(0.2, 0.1, Key("D", mode), c, n=100, temperature=1.5, top_p=1.0,
                           rng=rng)
        for p in progs:
            assert check_constraints(p, c) == []
            toks = [t.token for t in p.tokens]
            assert toks[0] in TONIC[mode] and toks[-1] in CADENTIAL[mode]
            assert all(a != b for a, b in zip(toks, toks[1:] + toks[:1], strict=True))
            assert sum(not t.is_diatonic(mode) for t in p.tokens) <= cap


def test_check_constraints_detects_violations(gen):
    c = Constraints(length=4, max_nondiatonic=0)
    p = gen.generate(0.5, 0.0, Key("C"), c, seed=1)
    p.tokens[1] = p.tokens[0]
    assert any(v.startswith("repeat") for v in check_constraints(p, c))


def test_deterministic_with_seed(gen):
    a = gen.generate(0.5, 0.3, Key("G"), Constraints(length=8), seed=42)
    b = gen.generate(0.5, 0.3, Key("G"), Constraints(length=8), seed=42)
    assert a.names == b.names and a.beats == b.beats
    others = {tuple(gen.generate(0.5, 0.3, Key("G"), Constraints(length=8), seed=s).names)
              for s in range(10)}
    assert len(others) > 3  # different seeds give different loops


def test_locks_fill_and_regenerate(gen):
    c = Constraints(length=8, locked={2: "V7/V", 5: "bVI"}, max_nondiatonic=3)
    p = gen.generate(0.0, 0.0, Key("C"), c, seed=3)
    assert p.tokens[2].token == "V:7/V" and p.tokens[5].token == "bVI:maj"
    assert p.names[2] == "D7" and p.names[5] == "Ab"
    assert check_constraints(p, c) == []
    one = gen.regenerate(p, [3], seed=9)
    assert [t.token for i, t in enumerate(one.tokens) if i != 3] == \
        [t.token for i, t in enumerate(p.tokens) if i != 3]
    rest = gen.regenerate(p, from_position=4, seed=9)
    assert [t.token for t in rest.tokens[:4]] == [t.token for t in p.tokens[:4]]
    with pytest.raises(ConstraintError):
        gen.generate(0.0, 0.0, Key("C"), Constraints(length=4, locked={1: "bVI", 2: "bII"},
                                                     max_nondiatonic=1))


def test_numpy_inference_matches_torch(gen):
    torch = pytest.importorskip("torch")
    from musicapp.compose.labels import condition_vector
    from musicapp.compose.model import GRUConfig, build_torch_model

    m = gen.model
    net = build_torch_model(GRUConfig(**m.meta["config"]))
    names = {"emb.weight": "emb", "dur_emb.weight": "dur_emb", "cond_h.weight": "cond_h.w",
             "cond_h.bias": "cond_h.b", "gru.weight_ih_l0": "gru.w_ih",
             "gru.weight_hh_l0": "gru.w_hh", "gru.bias_ih_l0": "gru.b_ih",
             "gru.bias_hh_l0": "gru.b_hh", "out.weight": "out.w", "out.bias": "out.b",
             "dur.weight": "dur.w", "dur.bias": "dur.b"}
    net.load_state_dict({k: torch.tensor(m.t[v], dtype=torch.float32) for k, v in names.items()})
    net.eval()
    ids = [m.stoi[t] for t in ("I:maj", "IV:maj", "V:7", "I:maj", "VI:min")]
    durs = [2, 1, 0, 2, 1]
    cond = condition_vector(0.4, -0.2, "major")
    lp_np = m.sequence_logprobs(ids, durs, cond)
    with torch.no_grad():
        logits, _ = net(torch.tensor([[1, *ids[:-1]]]),
                        torch.tensor([[m.dur_none, *durs[:-1]]]),
                        torch.tensor(cond[None, :]))
        lp_t = torch.log_softmax(logits, -1)[0, np.arange(len(ids)), ids].numpy()
    np.testing.assert_allclose(lp_np, lp_t, atol=1e-4)


def test_tampered_or_missing_weights_refused(tmp_path):
    w = tmp_path / "chordgru.safetensors"
    shutil.copy(DEFAULT_WEIGHTS, w)
    with pytest.raises(ModelError, match=r"checksum|sha256"):
        ChordModel.load(w)  # no sidecar
    shutil.copy(str(DEFAULT_WEIGHTS) + ".sha256", str(w) + ".sha256")
    ChordModel.load(w)
    data = bytearray(w.read_bytes())
    data[-5] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"sha256|checksum"):
        ChordModel.load(w)
    with pytest.raises(ModelError, match="not found"):
        ChordModel.load(tmp_path / "nope.safetensors")
