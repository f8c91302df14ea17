"""Tests of the CNN-LSTM hashing model: shapes, variants, codes, losses, weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from musicapp.errors import ModelError
from musicapp.models.hashnet import (
    GENRE_TAGS,
    LAYER_NAMES,
    CnnLstmHashNet,
    HashNetConfig,
    HashNetHead,
    binary_code,
    bit_balance_loss,
    build_sequence,
    code_to_hex,
    hamming_distance,
    hashnet_loss,
    load_hashnet,
    quantization_loss,
    save_hashnet,
)


@pytest.fixture(scope="module")
def frontend():
    from musicapp.models.musicnn import load_musicnn

    torch.set_num_threads(1)
    return load_musicnn("MSD_musicnn")


def _patches(b: int = 2, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 187, 96, generator=g) * 3.0


@pytest.mark.parametrize("variant", ["layers", "time"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_forward_shapes_all_variants(frontend, variant, cell):
    cfg = HashNetConfig(variant=variant, cell=cell, d_model=32, hidden=32, bits=64, emb_dim=16)
    model = CnnLstmHashNet(cfg, frontend).eval()
    out = model(_patches(), return_features=True)
    assert out["mood_logits"].shape == (2, 15)
    assert out["genre_logits"].shape == (2, len(GENRE_TAGS))
    assert out["valence_arousal"].shape == (2, 2)
    assert out["valence_arousal"].abs().max() <= 1.0
    assert out["code"].shape == (2, 64) and out["code"].abs().max() < 1.0
    assert out["embedding"].shape == (2, 16)
    torch.testing.assert_close(out["embedding"].norm(dim=1), torch.ones(2))
    assert set(out["feature_maps"]) == set(LAYER_NAMES)
    assert out["feature_maps"]["timbral_7x38"].shape == (2, 204, 187)
    assert out["feature_maps"]["mid3"].shape == (2, 64, 187)
    assert out["sequence"].shape == (2, cfg.seq_len, cfg.step_dim)


def test_front_end_is_frozen(frontend):
    model = CnnLstmHashNet(HashNetConfig(d_model=16, hidden=16), frontend)
    model.train()
    assert not model.frontend.training
    assert all(not p.requires_grad for p in model.frontend.parameters())
    assert all(p.requires_grad for p in model.head.parameters())


def test_layer_sequence_is_bilinear_resize_of_each_map():
    torch.manual_seed(0)
    feats = {"frontend": torch.randn(1, 561, 187), "mid1": torch.randn(1, 64, 187),
             "mid2": torch.randn(1, 64, 187), "mid3": torch.randn(1, 64, 187)}  # fmt: skip
    cfg = HashNetConfig(variant="layers")
    seq = build_sequence(feats, cfg)
    assert seq.shape == (1, 8, 64 * 32)
    want = F.interpolate(feats["mid2"][:, None], size=(64, 32), mode="bilinear",
                         align_corners=False, antialias=True).flatten(1)  # fmt: skip
    torch.testing.assert_close(seq[:, 6], want)
    # time variant: the 753 channels averaged into 32 slices
    tseq = build_sequence(feats, HashNetConfig(variant="time"))
    assert tseq.shape == (1, 32, 753)
    want_t = F.adaptive_avg_pool1d(feats["mid1"], 32)[0].T
    torch.testing.assert_close(tseq[0, :, 561:625], want_t)
    # single conv layer
    single = build_sequence(feats, HashNetConfig(variant="time", layers=["mid3"]))
    assert single.shape == (1, 32, 64)


def test_config_roundtrip_and_validation():
    cfg = HashNetConfig(variant="time", cell="gru", layers=["mid1", "mid3"], bits=128)
    assert HashNetConfig.from_json(cfg.to_json()) == cfg
    for bad in ({"variant": "space"}, {"cell": "transformer"}, {"layers": ["conv9"]}, {"bits": 4}):
        with pytest.raises(ValueError):
            HashNetConfig(**bad)
    head = HashNetHead(HashNetConfig(d_model=16, hidden=16))
    with pytest.raises(ValueError):
        head(torch.zeros(2, 5, 2048))


def test_codes_binary_and_balance_loss_balances_bits():
    torch.manual_seed(0)
    cfg = HashNetConfig(layers=["mid2", "mid3"], grid=[8, 8], d_model=32, hidden=32)
    head = HashNetHead(cfg)
    x_eval = torch.randn(512, 2, 64)

    def bit_stats():
        head.eval()
        with torch.no_grad():
            code = head(x_eval)["code"]
        b = binary_code(code)
        assert b.dtype == torch.bool and b.shape == (512, 64)
        return b, (b.float().mean(0) - 0.5).abs().mean().item()

    _, before = bit_stats()
    opt = torch.optim.Adam(head.parameters(), lr=3e-3)
    for _ in range(40):  # hashing regularisers alone, on random input
        head.train()
        code = head(torch.randn(128, 2, 64))["code"]
        loss = bit_balance_loss(code) + 0.1 * quantization_loss(code)
        opt.zero_grad()
        loss.backward()
        opt.step()
    b, after = bit_stats()
    assert after < before and after < 0.15  # each bit on for roughly half of the inputs
    assert len({code_to_hex(row) for row in b}) > 50  # codes differ between inputs


def test_code_hex_and_hamming():
    a = torch.tensor([[True] * 4 + [False] * 4, [False] * 8])
    assert code_to_hex(a[0]) == "f0" and code_to_hex(a[1]) == "00"
    d = hamming_distance(a, a)
    assert d.tolist() == [[0, 4], [4, 0]]


def test_loss_functions():
    ones = torch.ones(4, 8)
    assert quantization_loss(ones) == 0 and quantization_loss(-ones) == 0
    assert quantization_loss(torch.zeros(4, 8)) == 1
    balanced = torch.tensor([[1.0] * 8, [-1.0] * 8])
    assert bit_balance_loss(balanced) == 0
    assert bit_balance_loss(ones) == 1
    torch.manual_seed(0)
    head = HashNetHead(HashNetConfig(variant="time", layers=["mid3"], d_model=16, hidden=16))
    out = head(torch.randn(8, 32, 64))
    tgt = {"mood_z": torch.randn(8, 15), "genre_z": torch.randn(8, len(GENRE_TAGS)),
           "teacher_z": torch.randn(8, 100), "valence_arousal": torch.rand(8, 2) - 0.5}  # fmt: skip
    loss, parts = hashnet_loss(out, tgt)
    assert torch.isfinite(loss) and set(parts) >= {"mood", "quant", "balance", "va"}
    loss.backward()
    assert head.hash.weight.grad is not None and head.hash.weight.grad.abs().sum() > 0


def test_save_load_roundtrip_and_tamper(tmp_path: Path, frontend):
    torch.manual_seed(1)
    cfg = HashNetConfig(d_model=16, hidden=16, emb_dim=8)
    head = HashNetHead(cfg).eval()
    calib = {"mood_quantiles": torch.linspace(0, 1, 101).repeat(15, 1)}
    path = tmp_path / "h.safetensors"
    digest = save_hashnet(path, head, calib)
    model, meta = load_hashnet(path=path, frontend=frontend)
    assert meta["bits"] == 64 and meta["variant"] == "layers" and meta["mood_quantiles"].shape == (15, 101)
    x = _patches(1)
    with torch.no_grad():
        a = model(x)["code"]
        b = head(build_sequence(frontend(x), cfg))["code"]
    torch.testing.assert_close(a, b)
    assert load_hashnet(path=path, sha256=digest, frontend=frontend)[1]["bits"] == 64
    # tampered: one byte of tensor data flipped
    bad = tmp_path / "bad.safetensors"
    shutil.copy(path, bad)
    # the sidecar of the copy names the copy (a sidecar naming another file is refused as such)
    bad.with_name(bad.name + ".sha256").write_text(f"{digest}  {bad.name}\n")
    data = bytearray(bad.read_bytes())
    data[-10] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        load_hashnet(path=bad, frontend=frontend)
    # truncated
    bad.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ModelError, match="truncated"):
        load_hashnet(path=bad, frontend=frontend)
    with pytest.raises(ModelError):
        load_hashnet(path=tmp_path / "missing.safetensors", frontend=frontend)



def test_shipped_weights_load_and_run(frontend):
    model, meta = load_hashnet(frontend=frontend)
    assert meta["bits"] in (64, 128) and len(meta["mood_tags"]) == 15
    for k in ("mood_quantiles", "genre_quantiles", "va_quantiles"):
        assert meta[k].shape[1] == 101
    with torch.no_grad():
        out = model(_patches(3))
    assert out["code"].shape == (3, meta["bits"])
    assert torch.isfinite(out["mood_logits"]).all()
