"""The analysis cache: keyed by content and version, atomic under concurrent writers, bounded."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from musicapp.analysis_cache import AnalysisCache, analyze_cached, cache_key
from musicapp.pipeline import analyze_path
from musicapp.track_analysis import TrackAnalysis
from tests.helpers.signals import chord, write_audio

SR = 22050


@pytest.fixture
def song(tmp_path):
    y = chord([220.0, 261.63, 329.63], 4.0, SR)
    return write_audio(tmp_path / "song.wav", y, SR)


def _result(tempo: float = 120.0) -> TrackAnalysis:
    return TrackAnalysis(duration_s=4.0, path="x.wav", tags={"moods": [{"tag": "sad",
                         "percentile": 80.0}], "hash": "00ff00ff00ff00ff"},
                         music={"tempo_bpm": tempo, "chords": [{"start": 0.0, "end": 4.0,
                                                                "label": "A:min"}]})


def test_real_analysis_is_computed_once_then_read_back(tmp_path, song):
    store = AnalysisCache(tmp_path / "cache")
    calls = []

    def counting(path, **kw):
        calls.append(path)
        return analyze_path(path, **kw)

    first = analyze_cached(song, store=store, analyze=counting)
    again = analyze_cached(song, store=store, analyze=counting)
    assert len(calls) == 1
    assert again.to_dict() == first.to_dict()
    # a copy of the same bytes under another name is a hit, and names the copy
    copy = tmp_path / "copy.wav"
    copy.write_bytes(song.read_bytes())
    hit = analyze_cached(copy, store=store, analyze=counting)
    assert len(calls) == 1 and hit.path == str(copy)


def test_changed_bytes_or_version_miss(tmp_path, song):
    store = AnalysisCache(tmp_path / "c", version="one")
    assert store.put(song, _result())
    assert store.get(song).tempo_bpm == 120.0
    assert AnalysisCache(tmp_path / "c", version="two").get(song) is None
    data = bytearray(song.read_bytes())
    data[-1] ^= 0x01
    song.write_bytes(bytes(data))
    assert store.get(song) is None
    assert cache_key(song, "a") != cache_key(song, "b")


def test_failed_parts_are_not_stored(tmp_path, song):
    store = AnalysisCache(tmp_path / "c")
    bad = _result()
    bad.errors["tags"] = "model file tampered"
    assert not store.put(song, bad)
    assert store.get(song) is None


def test_damaged_entry_is_ignored_and_removed(tmp_path, song):
    store = AnalysisCache(tmp_path / "c")
    store.put(song, _result())
    (entry,) = store.entries()
    entry.write_text("{not json", encoding="utf-8")
    assert store.get(song) is None
    assert not entry.exists()


def test_size_limit_removes_least_recently_used(tmp_path):
    import os

    store = AnalysisCache(tmp_path / "c", max_bytes=10**9)
    files = []
    for i in range(6):
        f = tmp_path / f"f{i}.bin"
        f.write_bytes(bytes([i]) * 100)
        store.put(f, _result(100.0 + i))
        files.append(f)
    entries = sorted(store.entries(), key=lambda p: p.stat().st_mtime)
    for age, p in enumerate(entries):  # make the order of use explicit
        os.utime(p, (1000 + age, 1000 + age))
    store.get(files[0])  # used just now: kept
    one = entries[0].stat().st_size
    store.max_bytes = one * 3 + one // 2
    assert store.trim() == 3
    assert store.size_bytes() <= store.max_bytes
    assert store.get(files[0]) is not None


def test_concurrent_writers_leave_a_whole_entry(tmp_path, song):
    folder = tmp_path / "c"
    code = textwrap.dedent(f"""
        import sys
        from musicapp.analysis_cache import AnalysisCache
        from musicapp.track_analysis import TrackAnalysis
        store = AnalysisCache({str(folder)!r}, version="v")
        big = {{"chords": [{{"start": i, "end": i + 1, "label": "C:maj"}} for i in range(3000)],
               "tempo_bpm": float(sys.argv[1])}}
        for _ in range(40):
            assert store.put({str(song)!r}, TrackAnalysis(duration_s=4.0, music=big))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(100 + i)]) for i in range(3)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    store = AnalysisCache(folder, version="v")
    (entry,) = store.entries()
    json.loads(entry.read_text())  # whole JSON, not interleaved writes
    assert store.get(song).tempo_bpm in (100.0, 101.0, 102.0)
    assert not list(folder.glob("*/*.tmp"))


def test_cli_chords_from_audio_uses_the_cache(tmp_path, song, monkeypatch, capsys):
    from musicapp.cli import main

    monkeypatch.setenv("MUSICAPP_DATA_DIR", str(tmp_path / "data"))
    assert main(["chords", "--from-audio", str(song), "--seed", "1"]) == 0
    store = AnalysisCache(tmp_path / "data" / "cache" / "analysis")
    (entry,) = store.entries()
    first = capsys.readouterr().out
    stamp = entry.stat().st_mtime_ns
    assert main(["chords", "--from-audio", str(song), "--seed", "1"]) == 0
    assert capsys.readouterr().out == first  # same emotion, same chords
    assert store.entries() == [entry] and entry.stat().st_mtime_ns >= stamp


def test_a_fifo_planted_as_an_entry_is_a_miss_not_a_hang(tmp_path, song):
    import os
    import threading

    store = AnalysisCache(tmp_path / "c")
    store.put(song, _result())
    (entry,) = store.entries()
    entry.unlink()
    os.mkfifo(entry)
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("got", store.get(song)), daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "blocked on the FIFO"
    assert out["got"] is None and not entry.exists()
    store.put(song, _result(90.0))  # and the next analysis is stored again
    assert store.get(song).music["tempo_bpm"] == 90.0


def test_a_huge_planted_entry_is_a_miss_not_gigabytes_in_memory(tmp_path, song):
    from musicapp.paths import NotARegularFile, read_regular_file

    store = AnalysisCache(tmp_path / "c")
    store.put(song, _result())
    (entry,) = store.entries()
    with open(entry, "r+b") as fh:
        fh.truncate(3 * 2**30)  # sparse: 3 GB on paper, nothing on disk
    with pytest.raises(NotARegularFile, match="more than"):
        read_regular_file(entry)
    assert store.get(song) is None and not entry.exists()


def _nan_wav(tmp_path):
    """A real WAV whose samples are 30% NaN: the pipeline's status is 'damaged'."""
    import numpy as np
    import soundfile as sf

    y = chord([220.0, 261.63, 329.63], 4.0, SR).astype(np.float32)
    y[np.random.default_rng(2).random(y.size) < 0.3] = np.nan
    p = tmp_path / "holes.wav"
    sf.write(str(p), y, SR, subtype="FLOAT")
    return p


def _truncated_ogg(tmp_path):
    import numpy as np
    import soundfile as sf

    from tests.library.music import song as music

    y = music(31, 8.0, sr=SR).astype(np.float32)
    full = tmp_path / "full.ogg"
    with sf.SoundFile(str(full), "w", SR, 1, format="OGG", subtype="VORBIS") as f:
        for start in range(0, y.size, 8192):
            f.write(y[start:start + 8192])
    cut = tmp_path / "half.ogg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return cut


def _counting(calls):
    def analyze(path, **kw):
        calls.append(path)
        return analyze_path(path, **kw)
    return analyze


def test_damaged_and_truncated_results_come_back_with_status_and_warnings(tmp_path):
    store = AnalysisCache(tmp_path / "cache")
    calls = []
    for path in (_nan_wav(tmp_path), _truncated_ogg(tmp_path)):
        first = analyze_cached(path, store=store, analyze=_counting(calls))
        again = analyze_cached(path, store=store, analyze=_counting(calls))
        assert calls == [path] and again.to_dict() == first.to_dict()
        calls.clear()
    holes = store.get(tmp_path / "holes.wav")
    assert holes.status == "damaged" and holes.key is None
    assert any("NaN" in w for w in holes.warnings) and any("damaged" in w for w in holes.warnings)
    half = store.get(tmp_path / "half.ogg")
    assert half.status == "ok" and any("truncated" in w for w in half.warnings)


def test_an_entry_stored_by_other_code_is_not_served(tmp_path):
    """An analysis stored before the damage rules (a confident key for a NaN-riddled file,
    under the older pipeline version) is recomputed, not served."""
    holes = _nan_wav(tmp_path)
    old = AnalysisCache(tmp_path / "cache", version="before-the-damage-rules")
    assert old.put(holes, _result())  # the stale, confident result
    calls = []
    fresh = analyze_cached(holes, store=AnalysisCache(tmp_path / "cache"), analyze=_counting(calls))
    assert calls == [holes] and fresh.status == "damaged" and not fresh.tags


def test_the_version_follows_the_code_that_shapes_a_result(tmp_path):
    from pathlib import Path

    import musicapp
    from musicapp.analysis_cache import RESULT_SOURCES, pipeline_version, source_digest

    root = tmp_path / "pkg"
    for rel, text in {"audio/decode.py": "SAMPLE_LIMIT = 16.0\n", "params.py": "MAX_SHARE = 0.01\n",
                      "analysis/key.py": "K = 1\n", "gui/window.py": "W = 1\n",
                      "cli/main.py": "C = 1\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    before = source_digest(root)
    (root / "gui/window.py").write_text("W = 2\n")  # not a result's code
    (root / "cli/main.py").write_text("C = 2\n")
    assert source_digest(root) == before
    seen = {before}
    for rel, text in (("audio/decode.py", "SAMPLE_LIMIT = 8.0\n"), ("params.py", "MAX_SHARE = 0.02\n"),
                      ("analysis/key.py", "K = 2\n"), ("analysis/new_rule.py", "R = 1\n")):
        (root / rel).write_text(text)
        seen.add(source_digest(root))
    assert len(seen) == 5  # each change to a result's code: a new digest
    assert {"audio", "params.py", "pipeline.py", "analysis", "models"} <= set(RESULT_SOURCES)
    assert f"-p{source_digest(Path(musicapp.__file__).parent)}-" in pipeline_version()


@pytest.mark.parametrize("damage", [
    "cut in half", "random bytes", "empty", "null", "analysis not an object", "unknown status",
    "level not a number", "deeply nested", "a folder",
])
def test_a_damaged_entry_is_recomputed_and_replaced(tmp_path, damage):
    import os
    import shutil

    holes = _nan_wav(tmp_path)
    store = AnalysisCache(tmp_path / "cache")
    calls = []
    good = analyze_cached(holes, store=store, analyze=_counting(calls))
    (entry,) = store.entries()
    data = json.loads(entry.read_text())
    raw = entry.read_bytes()
    planted = {
        "cut in half": raw[: len(raw) // 2],
        "random bytes": os.urandom(3000),
        "empty": b"",
        "null": b"null",
        "analysis not an object": json.dumps({**data, "analysis": 5}).encode(),
        "unknown status": json.dumps({**data, "analysis": {**data["analysis"], "status": "fine"}}).encode(),
        "level not a number": json.dumps({**data, "analysis": {**data["analysis"],
                                                               "level_dbfs": "loud"}}).encode(),
        "deeply nested": b"[" * 200_000 + b"]" * 200_000,
    }
    if damage == "a folder":
        entry.unlink()
        entry.mkdir()
        (entry / "x").write_text("x")
    else:
        entry.write_bytes(planted[damage])
    again = analyze_cached(holes, store=store, analyze=_counting(calls))
    assert len(calls) == 2 and again.to_dict() == good.to_dict()
    if damage == "a folder":
        shutil.rmtree(entry)
    store.put(holes, again)
    third = analyze_cached(holes, store=store, analyze=_counting(calls))
    assert len(calls) == 2 and third.to_dict() == good.to_dict()  # a whole entry again


def test_a_file_rewritten_during_the_analysis_is_not_stored_under_its_old_key(tmp_path, song):
    import numpy as np

    store = AnalysisCache(tmp_path / "cache")
    silent = write_audio(tmp_path / "silent.wav", np.zeros(4 * SR, dtype=np.float32), SR)
    original = song.read_bytes()

    def rerendered_meanwhile(path, **kw):  # a DAW re-render / a download still running
        song.write_bytes(silent.read_bytes())
        return analyze_path(path, **kw)

    first = analyze_cached(song, store=store, analyze=rerendered_meanwhile)
    assert first.status == "silence"  # what was analysed: the new bytes
    assert store.entries() == []  # ... so nothing is stored under the old content's key
    song.write_bytes(original)
    calls = []
    again = analyze_cached(song, store=store, analyze=_counting(calls))
    assert calls == [song] and again.status == "ok"  # the original is analysed, not "silence"
    assert analyze_cached(song, store=store, analyze=_counting(calls)).status == "ok"
    assert len(calls) == 1  # and an unchanged file is stored as before


def _plant_link(store: AnalysisCache, sub: str, victim):
    import os

    store.folder.mkdir(parents=True, exist_ok=True)
    os.symlink(victim, store.folder / sub)


@pytest.fixture
def victim(tmp_path):
    import os

    folder = tmp_path / "victim"
    folder.mkdir()
    precious = folder / "precious.json"
    precious.write_bytes(b"\0" * 70_000)
    os.utime(precious, (1577836800, 1577836800))  # 2020-01-01: the oldest "entry"
    return folder


def test_a_linked_subfolder_is_replaced_not_written_through(tmp_path, song, victim):
    store = AnalysisCache(tmp_path / "cache", max_bytes=50_000)
    key = store.key(song)
    _plant_link(store, key[:2], victim)  # the subfolder this file's entry goes to
    _plant_link(store, "zz", victim)  # and one the trim would walk into
    assert store.get(song) is None  # a miss, nothing read through the link
    assert store.put(song, _result())
    assert sorted(p.name for p in victim.iterdir()) == ["precious.json"]
    assert (victim / "precious.json").stat().st_size == 70_000
    assert not (store.folder / key[:2]).is_symlink() and store.get(song) is not None
    store.max_bytes = 0
    store.trim()
    store.clear()
    assert (victim / "precious.json").exists()  # the trim never deletes outside the cache
    assert store.entries() == []


def test_a_linked_entry_is_never_read_or_deleted_through(tmp_path, song, victim):
    import os

    store = AnalysisCache(tmp_path / "cache", max_bytes=0)
    key = store.key(song)
    (store.folder / key[:2]).mkdir(parents=True)
    os.symlink(victim / "precious.json", store.folder / key[:2] / f"{key}.json")
    assert store.get(song) is None
    assert store.entries() == [] and store.trim() == 0
    assert (victim / "precious.json").stat().st_size == 70_000


def test_cli_chords_through_a_linked_cache_subfolder_leaves_the_target_alone(
        tmp_path, song, victim, monkeypatch, capsys):
    """The attacker's command: a cache subfolder linked to a folder with an old 70 kB file."""
    from musicapp.cli import main

    data = tmp_path / "data"
    monkeypatch.setenv("MUSICAPP_DATA_DIR", str(data))
    store = AnalysisCache(data / "cache" / "analysis")
    _plant_link(store, store.key(song)[:2], victim)
    assert main(["chords", "--from-audio", str(song), "--seed", "1"]) == 0
    assert sorted(p.name for p in victim.iterdir()) == ["precious.json"]
    assert (victim / "precious.json").stat().st_size == 70_000


def test_stale_temporaries_are_counted_and_removed_by_the_trim(tmp_path, song):
    import os

    store = AnalysisCache(tmp_path / "c", max_bytes=10**9)
    assert store.put(song, _result())
    (entry,) = store.entries()
    stale = entry.parent / f".{entry.name[:12]}.abc123.tmp"  # a writer killed mid-write
    stale.write_bytes(b"{" * 5000)
    os.utime(stale, (1000, 1000))
    young = entry.parent / f".{entry.name[:12]}.def456.tmp"  # a writer at work
    young.write_bytes(b"{" * 3000)
    assert store.size_bytes() == entry.stat().st_size + 8000  # counted
    assert store.entries() == [entry]
    assert store.trim() == 1
    assert not stale.exists() and young.exists() and entry.exists()
    store.max_bytes = 3000 + 10  # the young temporary counts: the entry has to go
    assert store.trim() == 1 and not entry.exists() and young.exists()
