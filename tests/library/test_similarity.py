"""Hamming search: exactness against brute force, tie handling, cosine re-ranking, filters."""

from __future__ import annotations

import numpy as np
import pytest

from musicapp.library.api import Library, parse_key, parse_range
from musicapp.library.similarity import (
    CodeIndex,
    code_from_hex,
    hamming_topk,
    pack_codes,
    similarity_percent,
)
from musicapp.library.store import LibraryError


@pytest.mark.parametrize("n_bits", [64, 128, 96])
def test_hamming_topk_matches_brute_force(n_bits):
    rng = np.random.default_rng(n_bits)
    bits = rng.integers(0, 2, size=(5000, n_bits))
    q = rng.integers(0, 2, size=n_bits)
    packed = pack_codes(bits)
    qp = pack_codes(q[None, :])[0]
    idx, dist = hamming_topk(packed, qp, 25)
    brute = (bits != q).sum(axis=1)
    order = np.lexsort((np.arange(brute.size), brute))[:25]
    assert np.array_equal(dist, brute[order])
    assert np.array_equal(idx, order)


def test_pack_codes_bytes_equals_bits():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(10, 64))
    raw = [np.packbits(b).tobytes() for b in bits]
    assert np.array_equal(pack_codes(raw), pack_codes(bits))
    assert np.array_equal(code_from_hex(raw[3].hex()), pack_codes(bits)[3])


def test_cosine_reranks_ties():
    codes = pack_codes(np.array([[0] * 64, [0] * 64, [0] * 63 + [1], [1] * 64]))
    emb = {1: np.array([1.0, 0.0]), 2: np.array([0.0, 1.0]), 3: np.array([0.7, 0.7]), 4: np.array([0.0, 1.0])}
    index = CodeIndex(np.array([1, 2, 3, 4]), codes, 64, emb)
    q = pack_codes(np.zeros((1, 64), int))[0]
    hits = index.search(q, 3, embedding=np.array([0.0, 1.0]))
    assert [h.track_id for h in hits][:1] in ([2], [4])
    hits_plain = index.search(q, 3)
    assert [h.track_id for h in hits_plain] == [1, 2, 3]  # by distance then id
    assert index.search(q, 2, allowed=np.array([3, 4]))[0].track_id == 3
    assert 1 not in [h.track_id for h in index.search(q, 4, exclude=1)]


def test_the_percentage_follows_the_order_of_the_results():
    """What a musician reads ("93% alike") never contradicts the order of the list: the
    percentage comes from the embeddings' cosine that orders the results (on the codes' scale:
    a right angle, like half the bits differing, is 0 %); without embeddings, from the code."""
    rng = np.random.default_rng(3)
    bits = rng.integers(0, 2, (40, 64))
    emb = {i + 1: rng.standard_normal(16) for i in range(40)}
    index = CodeIndex(np.arange(1, 41), pack_codes(bits), 64, emb)
    hits = index.search(pack_codes(bits[:1])[0], 10, embedding=emb[1], exclude=1)
    shown = [h.as_dict()["similarity_percent"] for h in hits]
    assert shown == sorted(shown, reverse=True) and len(set(shown)) > 3
    assert similarity_percent(5, cosine=1.0) == 100.0
    assert similarity_percent(0, cosine=0.0) == 0.0 and similarity_percent(0, cosine=-0.5) == 0.0
    assert similarity_percent(0, cosine=np.cos(np.pi / 4)) == pytest.approx(50.0)
    # no embedding (or the "none" sentinel of tracks without one): the code's distance
    assert similarity_percent(16) == similarity_percent(16, cosine=-2.0) == pytest.approx(50.0)
    assert similarity_percent(32) == similarity_percent(40) == 0.0


def _fake_analyser(table):
    def analyse(path):
        return table[path.rsplit("/", 1)[-1]]

    return analyse


def test_library_filters_and_similar(tmp_path):
    from tests.library.music import write_song

    rng = np.random.default_rng(5)
    table = {}
    keys = [("D", "minor"), ("C#", "major"), ("A", "minor")]
    base = rng.integers(0, 2, 64)
    for i in range(12):
        name = f"t{i:02d}.wav"
        write_song(tmp_path / "m" / name, i, 1.0)
        code = base.copy()
        code[: i * 3] ^= 1  # distance to base grows with i
        tonic, mode = keys[i % 3]
        table[name] = {
            "hash": np.packbits(code).tobytes().hex(),
            "embedding": rng.standard_normal(8).tolist(),
            "key": {"tonic": tonic, "mode": mode, "confidence": 0.8},
            "tempo_bpm": 70.0 + 5 * i,
            "duration_s": 1.0,
            "moods": [
                {"tag": "calm", "score": 0.1, "percentile": 95.0 if i % 2 else 10.0},
                {"tag": "happy", "score": 0.05, "percentile": 50.0},
            ],
        }
    with Library(tmp_path / "lib.sqlite3") as lib:
        report = lib.add(tmp_path / "m", workers=0, analyser=_fake_analyser(table))
        assert report.done == 12
        got = {t["path"].rsplit("/", 1)[-1] for t in lib.search(mood="calm", key="D minor", bpm="80-100")}
        expect = {n for i, n in enumerate(sorted(table)) if i % 2 and i % 3 == 0 and 80 <= 70 + 5 * i <= 100}
        assert got == expect and got
        assert {t["key"] for t in lib.search(key="Db major")} == {"C# major"}
        q = str(tmp_path / "m" / "t00.wav")
        hits = lib.similar(q, 3, analyser=None)
        # 11 candidates < the re-rank depth: the order is exact embedding cosine.
        qe = np.asarray(table["t00.wav"]["embedding"])
        cos = {
            n: float(np.dot(qe, v["embedding"]) / np.linalg.norm(qe) / np.linalg.norm(v["embedding"]))
            for n, v in table.items()
            if n != "t00.wav"
        }
        best3 = sorted(cos, key=cos.get, reverse=True)[:3]
        assert [h["path"].rsplit("/", 1)[-1] for h in hits] == best3
        assert [h["cosine"] for h in hits] == pytest.approx([cos[n] for n in best3], abs=1e-4)
        lib.store.con.execute("DELETE FROM embeddings")
        lib._code_index = None
        hits = lib.similar(q, 3, analyser=None)
        assert [h["hamming"] for h in hits] == [3, 6, 9]  # t01, t02, t03
        filtered = lib.similar(q, 5, analyser=None, key="A minor")
        assert all(h["key"] == "A minor" for h in filtered) and filtered


def test_parsers():
    assert parse_range("80-100") == (80, 100)
    assert parse_key("D minor") == ("D", "minor")
    assert parse_key("Am") == ("A", "minor")
    assert parse_key("F# major") == ("F#", "major")
    with pytest.raises(LibraryError):
        parse_range("fast")
    with pytest.raises(LibraryError):
        parse_key("H dorian")
