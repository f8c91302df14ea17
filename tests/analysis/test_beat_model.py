"""The learned beat/downbeat activation: weights, numpy = torch, beats of rendered drums at a
known tempo, refusal of tampered/missing weights with a fallback to the onset cue."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from musicapp.analysis import analyze_music
from musicapp.analysis import beat_model as BM
from musicapp.analysis import features as F
from musicapp.errors import ModelError, MusicappError
from tests.analysis.conftest import needs_soundfont, steady_piece

SR = F.SAMPLE_RATE


def _drum_pattern(bpm: float, seconds: float = 24.0):
    """Kick on beats 1 and 3, snare on 2 and 4, closed hi-hat on eighths (GM drum notes)."""
    from musicapp_lab.analysis.render import DRUM_CHANNEL, Note

    period = 60.0 / bpm
    notes, beats = [], []
    t, k = 0.5, 0
    while t < seconds:
        beats.append(t)
        notes.append(Note(t, t + 0.1, DRUM_CHANNEL, 36 if k % 2 == 0 else 38, 110))
        for h in (t, t + period / 2):
            notes.append(Note(h, h + 0.05, DRUM_CHANNEL, 42, 70))
        t += period
        k += 1
    return notes, np.array(beats)


def test_shipped_weights_load():
    net = BM.BeatNet.load()
    assert net.dilations == [1, 2, 4, 8, 16, 32, 64]
    z = net.logits(np.zeros((BM.N_INPUT, 50), dtype=np.float32))
    assert z.shape == (2, 50) and np.isfinite(z).all()


def test_training_songs_are_outside_the_realistic_dev_and_eval_songs():
    import json

    from musicapp_lab.analysis.evalset.pop909 import SPLIT_SEED, song_split

    info = json.loads(BM.weights_path().with_name("beatnet_train.json").read_text())
    songs = info["train_songs"] + info["val_songs"]
    assert len(songs) >= 150 and len(set(songs)) == len(songs)
    assert all(song_split(s) == "eval" for s in songs)  # no development-pool song at all
    pool = sorted(f"{i:03d}" for i in range(1, 910) if song_split(f"{i:03d}") == "eval")
    order = [pool[i] for i in np.random.default_rng(SPLIT_SEED["eval"]).permutation(len(pool))]
    # the evaluation builder draws its 70 excerpts from the start of this order
    assert not set(songs) & set(order[:150])


def test_numpy_forward_equals_the_torch_module():
    torch = pytest.importorskip("torch")
    from musicapp_lab.analysis.beat_model.model import BeatTCN

    from musicapp.models.weights import load_state

    m = BeatTCN()
    m.load_state_dict(load_state(BM.weights_path()))
    m.eval()
    x = np.random.default_rng(3).random((BM.N_INPUT, 700)).astype(np.float32)
    with torch.no_grad():
        ref = m(torch.from_numpy(x)[None])[0].numpy()
    np.testing.assert_allclose(BM.BeatNet.load().logits(x), ref, atol=1e-4)


@needs_soundfont
@pytest.mark.parametrize("bpm", [96.0, 128.0])
def test_rendered_drums_give_beats_at_the_tempo(bpm):
    import mir_eval
    from musicapp_lab.analysis.render import render_notes

    notes, beats = _drum_pattern(bpm)
    y = render_notes(notes, {}, sample_rate=SR)
    act = BM.learned_activations(y, "learned")
    assert act is not None and act.beat.shape == (F.compute_frames(y).n_frames,)
    est, frames = BM.track(F.compute_frames(y), act)
    assert abs(est.bpm / bpm - 1.0) < 0.04
    est_s = frames / F.FPS
    assert abs(np.median(np.diff(est_s)) * bpm / 60.0 - 1.0) < 0.04
    assert mir_eval.beat.f_measure(mir_eval.beat.trim_beats(beats),
                                   mir_eval.beat.trim_beats(est_s)) >= 0.9


@needs_soundfont
def test_learned_cue_through_the_whole_analysis():
    from musicapp_lab.analysis.render import render_notes

    p = steady_piece(110.0, 2, "major")
    y = render_notes(p.notes, p.programs, sample_rate=SR)
    res = analyze_music(y, SR, beat_cue="learned")
    assert res.tempo_bpm is not None and abs(res.tempo_bpm / 110.0 - 1.0) < 0.04
    assert res.meter == "4/4" and len(res.downbeats) >= 4


def test_silence_has_no_tempo_with_the_learned_cue():
    res = analyze_music(np.zeros(SR * 10, dtype=np.float32), SR, beat_cue="learned")
    assert res.tempo_bpm is None and res.beats == []


def test_unknown_cue_is_a_clear_error():
    with pytest.raises(MusicappError, match="beat cue"):
        analyze_music(np.ones(SR * 2, dtype=np.float32), SR, beat_cue="magic")


def _click_track(bpm: float = 120.0, seconds: float = 12.0) -> np.ndarray:
    y = np.zeros(int(SR * seconds), dtype=np.float32)
    click = np.sin(2 * np.pi * 1000 * np.arange(400) / SR) * np.hanning(400)
    for t in np.arange(0.3, seconds - 0.1, 60.0 / bpm):
        i = int(t * SR)
        y[i:i + 400] += click.astype(np.float32)
    return y


def test_tampered_weights_are_refused_and_the_onset_cue_is_used(tmp_path, caplog):
    bad = tmp_path / "beatnet.safetensors"
    shutil.copy(BM.weights_path(), bad)
    shutil.copy(BM.weights_path().with_name("beatnet.safetensors.sha256"),
                tmp_path / "beatnet.safetensors.sha256")
    data = bytearray(bad.read_bytes())
    data[-7] ^= 0x3C
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="checksum"):
        BM.BeatNet.load(bad)
    y = _click_track()
    with caplog.at_level(logging.WARNING, logger="musicapp.analysis.beat_model"):
        act = BM.learned_activations(y, "learned", path=bad)
    assert act is None
    assert any("onset envelope" in r.getMessage() and "checksum" in r.getMessage()
               for r in caplog.records)
    fr = F.compute_frames(y)
    est, frames = BM.track(fr, act)
    ref_est, ref_frames = BM.track(fr, None)
    assert est == ref_est and np.array_equal(frames, ref_frames)


def test_missing_weights_are_refused_and_the_onset_cue_is_used(tmp_path, caplog):
    missing = tmp_path / "nothing.safetensors"
    with pytest.raises(ModelError, match="not found"):
        BM.BeatNet.load(missing)
    with caplog.at_level(logging.WARNING, logger="musicapp.analysis.beat_model"):
        assert BM.learned_activations(_click_track(), "learned", path=missing) is None
    assert any("not found" in r.getMessage() for r in caplog.records)


def test_onset_cue_computes_no_activation():
    assert BM.learned_activations(_click_track(), "onset") is None
