"""The tagger engine on real (generated) audio: bad input, streaming, batching, feature maps,
devices, and the distilled-model path when the student's hashnet API is present."""

from __future__ import annotations

import itertools
import json
import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musicapp.errors import ModelError
from musicapp.models import engine as eng
from musicapp.models.engine import PatchCutter, TaggerEngine, clean_samples
from musicapp.params import MEL
from tests.helpers.signals import chord, noise, sine, write_audio

SR = MEL.sample_rate


@pytest.fixture(scope="module")
def teacher() -> TaggerEngine:
    return TaggerEngine(device="cpu", threads=1, use_student=False)


def music(seconds: float, seed: int = 0) -> np.ndarray:
    """A little chord progression with a noise hi-hat: something tag-able."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(int(math.ceil(seconds / 0.5))):
        root = [220, 247, 262, 196][i % 4]
        y = chord([root, root * 1.25, root * 1.5], 0.5, SR, amp=0.4)
        y[: SR // 40] += 0.2 * rng.standard_normal(SR // 40).astype(np.float32)
        parts.append(y)
    return np.concatenate(parts)[: int(seconds * SR)].astype(np.float32)


def check_result(d: dict, duration: float) -> None:
    """Structure and value ranges every result must have."""
    json.dumps({k: v for k, v in d.items() if k != "feature_maps"})
    assert d["duration_s"] == pytest.approx(duration, abs=1e-3)
    if d.get("status", "ok") != "ok":  # silence / too short: nothing musical is reported
        assert d["status"] in ("silence", "too short", "too short for moods")
        assert d["moods"] == [] and d["genres"] == [] and d["segments"] == []
        assert d["valence"] is None and d["arousal"] is None and d["energy"] is None
        return
    assert d["genres"] and d["segments"]
    for row in d["moods"] + d["genres"]:
        assert {"tag", "score", "percentile"} <= set(row) <= {"tag", "score", "percentile",
                                                              "over", "over_score"}
        assert 0.0 <= row["score"] <= 1.0 and 0.0 <= row["percentile"] <= 100.0
    assert all(m["score"] >= eng.NEGLIGIBLE_MOOD for m in d["moods"])
    assert all(g["score"] >= eng.NEGLIGIBLE_GENRE for g in d["genres"])
    shown = {m["tag"] for m in d["moods"]}
    assert not any({a, b} <= shown for a, b in eng.CONTRADICTIONS)
    pct = [m["percentile"] for m in d["moods"]]
    assert pct == sorted(pct, reverse=True)
    for key in ("valence", "arousal"):
        assert d[key] is None or -1.0 <= d[key] <= 1.0
    assert d["energy"] is None or (isinstance(d["energy"], int) and 1 <= d["energy"] <= 10)
    if d["valence"] is not None:
        c = d["curves"]
        assert c["step_s"] == 3.0 and len(c["start"]) == len(d["segments"])
        assert all(1.0 <= e <= 10.0 for e in c["energy"])
        assert all(-1.0 <= v <= 1.0 for v in c["valence"] + c["arousal"])
    segs = d["segments"]
    assert segs[0]["start"] == 0.0
    assert segs[-1]["end"] == pytest.approx(duration, abs=1e-3)
    for a, b in itertools.pairwise(segs):
        assert a["end"] == pytest.approx(b["start"], abs=1e-3)
    for s in segs:
        assert s["end"] >= s["start"] and len(s["moods"]) <= eng.SEGMENT_MOODS
        for key in ("valence", "arousal"):
            assert s[key] is None or -1.0 <= s[key] <= 1.0


BAD_INPUTS = {
    "silence": lambda: np.zeros(6 * SR, np.float32),
    "half_second": lambda: chord([440, 550, 660], 0.5, SR),
    "white_noise": lambda: noise(4.0, SR, amp=0.5),
    "clipped": lambda: np.clip(music(4.0) * 20, -1, 1),
    "far_beyond_full_scale": lambda: music(3.5) * 100,
    "empty": lambda: np.zeros(0, np.float32),
    "one_sample": lambda: np.ones(1, np.float32),
    "nan_and_inf": lambda: np.where(np.arange(4 * SR) % 7 == 0, np.nan, music(4.0)).astype(
        np.float32) + np.where(np.arange(4 * SR) == 5, np.inf, 0).astype(np.float32),
    "stereo": lambda: np.stack([music(3.2), sine(440, 3.2, SR)]),
    "dc_offset": lambda: np.full(3 * SR, 0.9, np.float32),
}  # fmt: skip


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=(
        "known, issue 16 follow-up: the teachers' fallback tables (musicnn_calibration) were not "
        "refitted for the level-normalised input; white noise at -14 dBFS reads 'party 100%' "
        "from the engine alone (the pipeline withholds moods on noise: "
        "tests/models/test_no_music.py)")))
    if n == "white_noise" else n for n in BAD_INPUTS])
def test_bad_input_gives_sensible_output(teacher, name):
    y = BAD_INPUTS[name]()
    n = y.shape[-1]
    d = teacher.analyze(y).to_dict()
    check_result(d, n / SR)
    assert d["model"].startswith("musicnn teachers") and d["device"] == "cpu"
    if name in ("silence", "empty", "one_sample", "nan_and_inf"):
        assert d["status"] == ("too short" if n < SR // 2 else "silence")
    elif n < eng.MIN_MOOD_SECONDS * SR:  # shorter than one patch: no tags at all
        assert d["status"] == eng.TOO_SHORT_FOR_MOODS and d["segments"] == []
    elif n <= MEL.patch_frames * MEL.hop_length:
        assert len(d["segments"]) == 1
    if name in ("white_noise", "dc_offset"):  # not music: no mood is confidently reported
        assert all(m["percentile"] < 99.5 or m["tag"] in ("loud", "fast") for m in d["moods"])


def test_teacher_scores_are_calibrated_with_the_shipped_table(teacher):
    from musicapp.models.calibration import to_percentile
    from musicapp.models.musicnn import models_dir

    if not (models_dir() / "musicnn_calibration.safetensors").exists():
        pytest.skip("no teacher calibration table shipped")
    backend = teacher.backend
    assert backend.mood_quantiles.shape == (15, 101)
    assert backend.genre_quantiles.shape == (len(eng.FALLBACK_GENRES), 101)
    d = teacher.analyze(music(3.5)).to_dict()
    assert d["moods"]
    for row in d["moods"]:
        i = backend.mood_tags.index(row["tag"])
        expected = to_percentile(np.array([row["score"]]), backend.mood_quantiles[i : i + 1])[0]
        assert row["percentile"] == pytest.approx(float(expected), abs=0.15)


def test_silence_is_explicit_and_near_silence_too(teacher):
    for y in (np.zeros(4 * SR, np.float32), noise(4.0, SR, amp=1e-4), music(5.0) * 1e-4):
        d = teacher.analyze(y).to_dict()
        assert d["status"] == "silence" and d["moods"] == [] and d["genres"] == []
        assert d["valence"] is None and d["energy"] is None
    d = teacher.analyze(np.zeros(SR // 4, np.float32) + 0.5).to_dict()
    assert d["status"] == "too short" and d["moods"] == []
    assert teacher.analyze(music(5.0) * 0.01).to_dict().get("status", "ok") == "ok"  # -40 dBFS


def test_level_meter_matches_the_pipeline_level():
    from musicapp.pipeline import loudest_window_dbfs

    rng = np.random.default_rng(0)
    y = np.concatenate([0.01 * rng.standard_normal(5 * SR), 0.3 * rng.standard_normal(4 * SR),
                        np.zeros(2 * SR)]).astype(np.float32)
    meter = eng.LevelMeter()
    for i in range(0, len(y), 7777):
        meter.push(y[i : i + 7777])
    assert meter.dbfs() == pytest.approx(loudest_window_dbfs(y, SR), abs=1.0)
    short = eng.LevelMeter()  # shorter than a window: RMS 0.1 of a sine is -20 dBFS
    short.push((0.1 * np.sqrt(2) * np.sin(2 * np.pi * 400 * np.arange(SR // 2) / SR)).astype(np.float32))
    assert short.dbfs() == pytest.approx(-20.0, abs=0.01)
    dc = eng.LevelMeter()  # a constant offset is inaudible: no level
    dc.push(np.full(SR // 2, 0.1, np.float32))
    assert dc.dbfs() < -120.0  # rounding leaves at most ~1e-16 of power


def test_readable_moods_hide_negligible_and_resolve_contradictions():
    tags = ["happy", "sad", "loud", "quiet", "soft", "ambient"]
    score = np.array([0.004, 0.02, 0.2, 0.05, 0.0005, 0.1])
    pct = np.array([86.0, 99.0, 90.0, 95.0, 99.9, 10.0])
    rows = eng.readable_moods(tags, score, pct)
    shown = [r["tag"] for r in rows]
    assert shown == ["sad", "quiet", "ambient"]  # soft: negligible; happy, loud: contradicted
    sad = rows[0]
    assert sad["over"] == "happy" and sad["over_score"] == pytest.approx(0.004)
    assert rows[1]["over"] == "loud"
    assert eng.readable_tags(["opera", "metal"], np.array([0.0014, 0.4]), np.array([84.0, 60.0]),
                             eng.NEGLIGIBLE_GENRE) == [{"tag": "metal", "score": 0.4,
                                                        "percentile": 60.0}]


def test_engine_scores_equal_the_ported_teacher(teacher):
    """The engine's plumbing: segment scores are musicnn's probabilities on the same patch."""
    from musicapp.features import log_mel, mel_patches
    from musicapp.models.musicnn import MSD_TAGS, MTT_TAGS, load_musicnn

    y = music(6.5, seed=3)
    d = teacher.analyze(y).to_dict()
    scaled = eng.normalise_level(eng.clean_samples(y))[0]  # the engine's level-normalised input
    patches = np.array(mel_patches(log_mel(scaled)))  # writable copy for torch
    with torch.inference_mode():
        msd = load_musicnn("MSD_musicnn")(torch.from_numpy(patches))["prob"].numpy()
        mtt = load_musicnn("MTT_musicnn")(torch.from_numpy(patches))["prob"].numpy()
    first = {m["tag"]: m["score"] for m in d["segments"][0]["moods"]}
    assert first
    for tag, score in first.items():
        src, name = next((s, t) for s, t in eng.FALLBACK_MOODS if t.lower() == tag)
        ref = msd[0, MSD_TAGS.index(name)] if src == "MSD" else mtt[0, MTT_TAGS.index(name)]
        assert score == pytest.approx(float(ref), abs=1e-4)
    # whole-track scores are the duration-weighted mean over segments (the tail patch overlaps)
    assert len(d["segments"]) == 3


def test_block_size_and_batch_size_do_not_change_results(teacher, monkeypatch):
    y = music(7.0, seed=1)
    ref = teacher.analyze(y).to_dict()
    monkeypatch.setattr(eng, "BLOCK_SECONDS", 1.3)
    small = TaggerEngine(device="cpu", threads=1, batch_size=1, use_student=False)
    seen: list[float] = []
    got = small.analyze(y, progress=seen.append).to_dict()
    assert len(seen) == math.ceil(7.0 / 1.3) and seen == sorted(seen) and seen[-1] == 1.0
    for a, b in zip(ref["segments"], got["segments"], strict=True):
        assert (a["start"], a["end"]) == (b["start"], b["end"])
        for ma, mb in zip(a["moods"], b["moods"], strict=True):
            assert ma["score"] == pytest.approx(mb["score"], abs=2e-4)
    for ma, mb in zip(ref["moods"], got["moods"], strict=False):
        assert ma["tag"] == mb["tag"] or abs(ma["percentile"] - mb["percentile"]) < 0.5


def test_analyze_path_streams_the_file(teacher, tmp_path: Path):
    y = music(8.0, seed=2)
    wav = write_audio(tmp_path / "song.wav", y, SR)
    flac44 = write_audio(tmp_path / "song44.flac", np.interp(
        np.arange(int(8.0 * 44100)) / 44100, np.arange(len(y)) / SR, y).astype(np.float32), 44100)
    seen = []
    d = teacher.analyze_path(wav, progress=seen.append).to_dict()
    check_result(d, 8.0)
    assert seen and seen[-1] == pytest.approx(1.0, abs=1e-3)
    direct = teacher.analyze(y).to_dict()
    for a, b in zip(d["moods"], direct["moods"], strict=True):
        assert a["score"] == pytest.approx(b["score"], abs=2e-3)  # 16-bit WAV quantisation
    d44 = teacher.analyze_path(flac44).to_dict()
    check_result(d44, 8.0)
    top = {m["tag"] for m in direct["moods"][:5]}
    assert len(top & {m["tag"] for m in d44["moods"][:5]}) >= 3


def test_unreadable_file_raises_decode_error(teacher, tmp_path: Path):
    from musicapp.errors import AudioDecodeError

    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(AudioDecodeError):
        teacher.analyze_path(bad)
    with pytest.raises(AudioDecodeError):
        teacher.analyze_path(tmp_path / "missing.mp3")


def test_feature_maps_on_request(teacher):
    y = music(5.0)
    plain = teacher.analyze(y)
    assert plain.feature_maps is None and "feature_maps" not in plain.to_dict()
    r = teacher.analyze(y, feature_maps=True)
    maps = r.feature_maps
    assert set(maps) == {"timbral", "temporal", "mid1", "mid2", "mid3"}
    frames = 1 + len(y) // MEL.hop_length
    for layer, m in maps.items():
        assert m.dtype == np.float32 and np.isfinite(m).all(), layer
        assert m.shape[1] == frames, layer
    assert maps["timbral"].shape[0] == 408 and maps["mid3"].shape[0] == 64
    assert r.feature_map_seconds_per_column == pytest.approx(MEL.frame_seconds)
    pooled = TaggerEngine(device="cpu", threads=1, use_student=False, feature_map_columns=40)
    rp = pooled.analyze(y, feature_maps=True)
    assert all(m.shape[1] <= 41 for m in rp.feature_maps.values())
    assert rp.feature_map_seconds_per_column * rp.feature_maps["mid1"].shape[1] == pytest.approx(
        5.0, rel=0.1)


def test_patch_cutter_covers_the_track_once():
    rng = np.random.default_rng(0)
    frames = rng.random((1000, 96)).astype(np.float32)
    cutter = PatchCutter()
    patches = []
    for i in range(0, 1000, 77):
        patches += cutter.push(frames[i : i + 77])
    patches += cutter.finish(1000 * MEL.frame_seconds)
    assert len(patches) == 6  # 5 full patches + the overlapping tail
    np.testing.assert_array_equal(patches[0].logmel, frames[:187])
    np.testing.assert_array_equal(patches[-1].logmel, frames[-187:])
    assert patches[-1].weight == pytest.approx((1000 - 5 * 187) / 187)
    assert [p.start_s for p in patches[1:]] == pytest.approx([p.end_s for p in patches[:-1]])


def test_clean_samples():
    y = np.linspace(-2, 2, 1000).astype(np.float32)
    y[5] = np.nan  # 0.1 %: a dropout, silenced
    c = clean_samples(y)
    assert c[5] == 0 and np.abs(c).max() == 1.0 and c[500] == pytest.approx(y[500])
    y[:20] = np.inf  # 2 %: damaged beyond use
    assert not clean_samples(y).any()
    assert clean_samples(np.zeros((2, 10))).shape == (10,)
    assert clean_samples(np.zeros((10, 2))).shape == (10,)
    assert np.isfinite(clean_samples(np.array([np.nan, np.inf, -np.inf]))).all()
    with pytest.raises(ModelError):
        clean_samples(np.zeros((2, 2, 2)))


class _EnergyBackend(eng._Backend):
    """A cheap, real computation standing in for the network, to test streaming memory only."""

    name = "energy"
    mood_tags = ("low", "high")
    genre_tags = ("a", "b")
    mood_quantiles = genre_quantiles = None
    has_code = False

    def run(self, x, feature_maps):
        e = x.float().mean(dim=(1, 2)).numpy()[:, None] / 5.0
        s = np.clip(np.concatenate([e, 1 - e], axis=1), 0, 1)
        out = {"mood": s, "genre": s}
        if feature_maps:  # per-frame energy: (B, 1, 187)
            out["maps.energy"] = x.float().mean(dim=2, keepdim=True).transpose(1, 2).numpy()
        return out


def test_long_tracks_stream_in_bounded_memory(teacher, monkeypatch):
    """20 minutes of audio in 30-s blocks: memory stays bounded by the block, not the track."""
    engine = TaggerEngine.__new__(TaggerEngine)
    engine.__dict__.update(teacher.__dict__)
    engine.backend, engine.note = _EnergyBackend(), ""
    minutes = 20

    def blocks():
        for i in range(minutes * 2):
            yield noise(30.0, SR, amp=0.1, seed=i)

    from musicapp.features import log_mel

    log_mel(np.zeros(4096, np.float32))  # imports and caches (librosa's filter bank) first
    tracemalloc.start()
    r = engine._analyze_blocks(blocks(), minutes * 60.0, feature_maps=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert r.duration_s == pytest.approx(minutes * 60.0)
    assert len(r.segments) == math.ceil(minutes * 60 / MEL.patch_seconds)
    whole_track_bytes = minutes * 60 * SR * 4
    assert peak < whole_track_bytes / 4, f"peak {peak / 1e6:.1f} MB"


def test_device_errors():
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="no CUDA GPU"):
            TaggerEngine(device="cuda")
    with pytest.raises(ModelError, match="half precision"):
        TaggerEngine(device="cpu", half=True)


def _hashnet_api():
    try:
        from musicapp.models import hashnet
    except ImportError:
        return None
    needed = ("HashNetConfig", "HashNetHead", "save_hashnet", "load_hashnet", "WEIGHTS_PATH")
    return hashnet if all(hasattr(hashnet, n) for n in needed) else None


def test_distilled_model_path_gives_hash_and_embedding(tmp_path: Path, monkeypatch):
    """With hashnet weights present (here: an untrained head saved through the student's own
    API), the engine reports its code, embedding and V/A; a tampered file is refused."""
    from musicapp.models.calibration import fit_quantiles
    from musicapp.models.weights import checksum_path

    hashnet = _hashnet_api()
    assert hashnet is not None, "the distilled model's API is part of the product"
    torch.manual_seed(0)
    cfg = hashnet.HashNetConfig()
    head = hashnet.HashNetHead(cfg).eval()
    rng = np.random.default_rng(0)
    calib = {
        "mood_quantiles": torch.from_numpy(fit_quantiles(rng.random((500, len(cfg.mood_tags))))),
        "genre_quantiles": torch.from_numpy(fit_quantiles(rng.random((500, len(cfg.genre_tags))))),
    }
    path = tmp_path / "hashnet.safetensors"
    hashnet.save_hashnet(path, head, calib)
    monkeypatch.setattr(hashnet, "WEIGHTS_PATH", path)
    eng._load_backend.cache_clear()
    try:
        engine = TaggerEngine(device="cpu", threads=1)
        assert engine.backend.has_code, engine.note
        d = engine.analyze(music(6.2), feature_maps=True).to_dict()
        check_result(d, 6.2)
        assert d["model"].startswith("hashnet")
        assert len(d["hash"]) == cfg.bits // 4 and int(d["hash"], 16) >= 0
        assert all(len(s["hash"]) == cfg.bits // 4 for s in d["segments"])
        emb = np.array(d["embedding"])
        assert emb.shape == (cfg.emb_dim,) and np.linalg.norm(emb) == pytest.approx(1, abs=1e-4)
        assert d["valence"] is not None and d["arousal"] is not None
        assert d["moods"] and {m["tag"] for m in d["moods"]} <= set(cfg.mood_tags)
        assert d["energy"] in range(1, 11) and d["curves"]["step_s"] == 3.0
        assert d["feature_maps"] and all(m.ndim == 2 for m in d["feature_maps"].values())

        raw = bytearray(path.read_bytes())
        raw[-10] ^= 0xFF
        path.write_bytes(bytes(raw))
        eng._load_backend.cache_clear()
        with pytest.raises(ModelError, match="checksum mismatch"):
            TaggerEngine(device="cpu", threads=1)
        path.unlink()
        checksum_path(path).unlink()
        eng._load_backend.cache_clear()
        with pytest.raises(ModelError, match="distilled tagging model is missing"):
            TaggerEngine(device="cpu", threads=1)  # never a silent fall-back to the teachers
    finally:
        eng._load_backend.cache_clear()


def test_default_engine_uses_the_shipped_distilled_model():
    eng._load_backend.cache_clear()
    engine = TaggerEngine()  # auto device, auto threads, the shipped weights
    d = engine.analyze(music(4.0)).to_dict()
    check_result(d, 4.0)
    assert d["model"].startswith("hashnet") and d["hash"] and d["embedding"]
    assert d["valence"] is not None



@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(n=st.integers(0, 4 * 187 * 256 + 3000), block=st.integers(1, 70000),
       maps=st.booleans(), columns=st.integers(1, 3000))  # fmt: skip
def test_segmentation_any_length_and_block_size(teacher, n, block, maps, columns):
    """Any signal length, any block size: contiguous segments covering the track exactly once,
    and feature maps as wide as the track (pooled to at most ``columns``)."""
    engine = TaggerEngine.__new__(TaggerEngine)
    engine.__dict__.update(teacher.__dict__)
    engine.backend, engine.note = _EnergyBackend(), ""
    engine.feature_map_columns = columns
    y = noise(n / SR, SR, amp=0.2, seed=n % 97)[:n] if n else np.zeros(0, np.float32)
    blocks = [y[i : i + block] for i in range(0, max(n, 1), block)]
    r = engine._analyze_blocks(iter(blocks), n / SR, feature_maps=maps)
    d = r.to_dict()
    if n < eng.MIN_MOOD_SECONDS * SR - 1e-6:  # under 0.5 s "too short", else too short for moods
        assert d["status"] == ("too short" if n < 0.5 * SR else eng.TOO_SHORT_FOR_MOODS)
        assert d["segments"] == [] and r.feature_maps is None
        return
    segs = d["segments"]
    assert segs[0]["start"] == 0.0
    assert segs[-1]["end"] == pytest.approx(n / SR, abs=1e-3)
    for a, b in itertools.pairwise(segs):
        assert a["end"] == pytest.approx(b["start"], abs=1e-3) and a["end"] > a["start"]
    frames = 1 + n // MEL.hop_length
    full = frames // MEL.patch_frames
    assert len(segs) in (max(full, 1), full + 1)
    if maps:
        width = r.feature_maps["energy"].shape[1]
        pool = round(r.feature_map_seconds_per_column / MEL.frame_seconds)
        assert width <= columns + 1
        assert (width - 1) * pool < frames <= width * pool
    else:
        assert r.feature_maps is None


def test_one_engine_serves_several_threads(teacher):
    """The GUI and the pipeline share a cached engine across threads: results do not mix."""
    from concurrent.futures import ThreadPoolExecutor

    signals = [music(3.3, seed=s) for s in range(3)] + [noise(3.3, SR, amp=0.4)]
    alone = [teacher.analyze(y).to_dict() for y in signals]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda y: teacher.analyze(y).to_dict(), signals))
    for a, b in zip(alone, together, strict=True):
        assert [m["score"] for m in a["moods"]] == pytest.approx(
            [m["score"] for m in b["moods"]], abs=1e-5)


def test_truncated_and_odd_files(teacher, tmp_path: Path):
    """A file cut in the middle of its data, and a mono 8 kHz file: a result or a clear
    AudioDecodeError, never another exception."""
    from musicapp.errors import AudioDecodeError

    wav = write_audio(tmp_path / "cut.wav", music(6.0), SR)
    raw = wav.read_bytes()
    wav.write_bytes(raw[: len(raw) // 2 + 1])  # odd byte count: half a sample at the end
    try:
        d = teacher.analyze_path(wav).to_dict()
    except AudioDecodeError as exc:
        assert "cut.wav" in str(exc)
    else:
        assert 2.5 < d["duration_s"] <= 6.0 and d["segments"]
    low = write_audio(tmp_path / "low.flac", chord([200, 300], 4.0, 8000), 8000)
    check_result(teacher.analyze_path(low).to_dict(), 4.0)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioDecodeError):
        teacher.analyze_path(empty)


def _resampled_source(y: np.ndarray, sr: int, block: int):
    """A stream of ``y`` resampled to 16 kHz in ``block``-sample pieces (the pipeline's)."""
    from musicapp.audio.blockwise import resampled_blocks

    return resampled_blocks(y, sr, SR, block=block)


@pytest.mark.parametrize("block", [12345, 1 << 18])
def test_start_stream_equals_start_on_the_whole_signal(teacher, block):
    """The streamed run (level pass, then Mel pass, blocks of any size re-cut into the 30-s
    blocks) gives the whole-signal run's result bit for bit."""
    from musicapp.audio import resample

    y22 = np.concatenate([music(25.0, seed=3), music(20.0, seed=4)]) * 0.5
    whole = teacher.start(resample(y22, 22050, SR))
    whole.work()
    streamed = teacher.start_stream(_resampled_source(y22, 22050, block), y22.size / 22050)
    streamed.work()
    assert eng.result_json(streamed.result()) == eng.result_json(whole.result())


def test_rechunk_cuts_like_the_whole_signal():
    y = np.arange(1000, dtype=np.float32)
    for sizes in ([1000], [1, 999], [300, 0, 300, 400], [7] * 142 + [6]):
        pieces = np.split(y, np.cumsum(sizes)[:-1])
        got = list(eng.rechunk(iter(pieces), 128))
        want = list(eng._frames_of_samples(y, 128))
        assert len(got) == len(want) and all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
    assert [b.size for b in eng.rechunk(iter([]), 128)] == [0]  # as the whole form's one block


def _stream_peak(engine: TaggerEngine, minutes: float) -> int:
    """tracemalloc peak of a streamed tagging run of ``minutes`` of 22.05 kHz audio (the
    signal itself is made before tracing starts)."""
    y22 = np.tile(noise(30.0, 22050, amp=0.1, seed=2), int(minutes * 2))
    tracemalloc.start()
    run = engine.start_stream(_resampled_source(y22, 22050, 1 << 18), y22.size / 22050)
    run.work()
    r = run.result()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(r.segments) == math.ceil(minutes * 60 / MEL.patch_seconds)
    return peak


def test_streamed_tagging_memory_does_not_grow_with_the_track(teacher):
    """2 vs 12 minutes through :meth:`TaggerEngine.start_stream`: the peak stays nearly the
    same (measured: ~23 MB both; the per-patch results are all that grows), below one whole
    16 kHz copy of the longer track (the whole-signal path held that plus two float64 copies
    for the level)."""
    engine = TaggerEngine.__new__(TaggerEngine)
    engine.__dict__.update(teacher.__dict__)
    engine.backend, engine.note = _EnergyBackend(), ""
    _stream_peak(engine, 0.5)  # imports and filter caches first
    short, long = _stream_peak(engine, 2), _stream_peak(engine, 12)
    assert long < short + 2e6, f"2 min: {short / 1e6:.1f} MB, 12 min: {long / 1e6:.1f} MB"
    assert long < 12 * 60 * SR * 4  # the 16 kHz float32 signal
