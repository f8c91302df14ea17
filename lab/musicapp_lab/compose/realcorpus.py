"""Build ``resources/compose/chord_corpus.json.gz`` from local copies of real-song corpora.

Sources (each brought with the ``fetch`` tool and extracted under ``data/corpus/``; see
``resources/compose/NOTICE``):

* **McGill Billboard** (CC0): ``billboard-2.0-salami_chords/NNNN/salami_chords.txt`` — bars,
  chords (Harte), sections, tonic, metre and the time of every line (so the tempo).
* **POP909** (MIT): ``POP909/NNN/chord_midi.txt`` (timed Harte chords), ``key_audio.txt``,
  ``beat_midi.txt`` (beats and downbeats), ``NNN.mid`` (the MELODY track).
* **OpenEWLD** (MIT repository of public-domain lead sheets): ``dataset/**/*.mxl`` (MusicXML
  harmony symbols, key, time signature, melody).
* **music21 corpus** extraction already shipped in ``resources/compose/corpus_tokens.json``.

Every record: ``id, song, source, licence, style, title, tonic, mode, meter, bpm, tokens``
(key-relative chord tokens, see ``musicapp.compose.theory``), ``roman`` (Roman numerals as
written in the mode), ``harte`` (absolute Harte labels), ``beats`` (quarter notes per chord),
``sections`` (``[[chord index, label], ...]`` where known) and ``melody`` (``[[onset, duration,
MIDI pitch], ...]`` in sixteenths, where the source has one). Consecutive identical chords are
merged. A modulation (a new tonic line or key segment) starts a new record of the same song.

Run ``musicapp build-chord-corpus --data data/corpus`` (lab command). Every source is required
unless ``--sources`` names fewer (the shipped corpus is built from all four): a missing data
folder, or a source whose files are not in it, is an error before any parsing.
"""

from __future__ import annotations

import gzip
import itertools
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np

from musicapp.compose.theory import ChordToken, Key, canonical, parse_note
from musicapp.errors import MusicappError
from musicapp_lab.cli._out import refuse_existing, write_out
from musicapp_lab.musicxml import MeasureEnd, MusicXMLError, pitch_midi, read_mxl, walk

LICENCES = {"billboard": "CC0-1.0", "pop909": "MIT", "ewld": "MIT (public-domain songs)",
            "music21": "BSD-3 (music21 corpus; public-domain works)"}
STYLE_OF = {"billboard": "pop", "pop909": "cpop", "ewld": "jazz", "music21": "chorale"}

#: Harte shorthand (before any parenthesis) -> our quality; None = not a chord we model
_HARTE_BASE = {
    "maj": "maj", "min": "min", "7": "7", "min7": "m7", "maj7": "maj7", "5": "maj", "1": None,
    "maj6": "maj", "min6": "min", "sus4": "sus4", "sus2": "sus2", "min9": "m7", "maj9": "maj7",
    "9": "9", "11": "7", "13": "7", "min11": "m7", "min13": "m7", "maj13": "maj7", "dim": "dim",
    "dim7": "dim7", "hdim7": "m7b5", "aug": "aug", "minmaj7": "min", "7sus4": "sus4",
}
#: MusicXML <kind> -> our quality
_XML_KIND = {
    "major": "maj", "minor": "min", "dominant": "7", "minor-seventh": "m7",
    "major-seventh": "maj7", "diminished": "dim", "dominant-ninth": "9", "major-sixth": "maj",
    "minor-sixth": "min", "diminished-seventh": "dim7", "augmented": "aug",
    "augmented-seventh": "aug", "half-diminished": "m7b5", "suspended-fourth": "sus4",
    "suspended-second": "sus2", "minor-ninth": "m7", "dominant-13th": "7",
    "augmented-ninth": "9", "major-ninth": "maj7", "dominant-11th": "7", "minor-major": "min",
    "minor-11th": "m7", "minor-13th": "m7", "major-minor": "min", "power": "maj",
    "dominant-seventh": "7", "major-13th": "maj7", "major-11th": "maj7",
}
_FIFTHS_MAJOR = ("Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#")
_FIFTHS_MINOR = ("Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#")


def song_key(*parts: str) -> str:
    """Normalised song identity (accents, punctuation, case removed) for the split."""
    t = " ".join(parts)
    t = unicodedata.normalize("NFKD", t).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


def harte_quality(label: str) -> str | None:
    """Our quality for a Harte label's shorthand (``"min7/b3"`` -> ``"m7"``)."""
    q = label.split("/")[0]
    base, _, ext = q.partition("(")
    if base == "maj" and ext.startswith("9"):
        return "add9"
    return _HARTE_BASE.get(base)


def parse_harte(label: str) -> tuple[int, int, str] | None:
    """(root letter index, root pitch class, quality) of a Harte label; None for N/X/unknown."""
    label = label.strip()
    if ":" not in label:
        if re.fullmatch(r"[A-G][b#]*", label):
            label += ":maj"
        else:
            return None
    root, _, q = label.partition(":")
    try:
        letter, pc = parse_note(root)
    except Exception:
        return None
    quality = harte_quality(q)
    return None if quality is None else (letter, pc, quality)


#: semitones above the tonic -> (degree, alteration against the major scale)
_DEGREE_OF = ((1, 0), (2, -1), (2, 0), (3, -1), (3, 0), (4, 0), (4, 1), (5, 0), (6, -1),
              (6, 0), (7, -1), (7, 0))


def to_token(letter: int, pc: int, quality: str, key: Key) -> ChordToken:
    """Key-relative canonical token of an absolute chord, from pitch classes only (the sources
    spell enharmonics loosely, e.g. B for Cb in Gb major)."""
    del letter
    deg, alt = _DEGREE_OF[(pc - key.pc) % 12]
    return canonical(ChordToken(deg, alt, quality), key.mode)


def infer_mode(tonic_pc: int, chords: list[tuple[int, int, str, float]]) -> str:
    """Minor when chords on the tonic are mostly minor-third chords (duration-weighted)."""
    maj = sum(d for _, pc, q, d in chords if pc == tonic_pc and q in ("maj", "7", "maj7", "add9",
                                                                       "9", "aug"))
    mnr = sum(d for _, pc, q, d in chords if pc == tonic_pc and q in ("min", "m7"))
    return "minor" if mnr > maj else "major"


def make_record(*, rid: str, song: str, source: str, title: str, tonic: str, mode: str,
                meter: str, bpm: float | None,
                chords: list[tuple[int, int, str, float]],
                sections: list[tuple[int, str]] | None = None,
                melody: list[list[int]] | None = None) -> dict | None:
    """Merge repeats, convert to key-relative tokens; None when fewer than 4 chords remain."""
    key = Key(tonic, mode)
    toks: list[str] = []
    beats: list[float] = []
    sec_out: list[list] = []
    sec_iter = dict(sections or [])
    for i, (letter, pc, q, d) in enumerate(chords):
        if d <= 0:
            continue
        t = to_token(letter, pc, q, key).token
        if i in sec_iter:
            sec_out.append([len(toks) if not toks or toks[-1] != t else len(toks) - 1,
                            sec_iter[i]])
        if toks and toks[-1] == t:
            beats[-1] += d
        else:
            toks.append(t)
            beats.append(d)
    if len(toks) < 4:
        return None
    parsed = [ChordToken.parse(t) for t in toks]
    return {"id": rid, "song": song, "source": source, "licence": LICENCES[source],
            "style": STYLE_OF[source], "title": title, "tonic": tonic, "mode": mode,
            "meter": meter, "bpm": None if bpm is None else round(float(bpm), 1),
            "tokens": toks, "roman": [p.roman(mode) for p in parsed],
            "harte": [p.harte(key) for p in parsed],
            "beats": [round(b, 3) for b in beats], "sections": sec_out,
            "melody": melody or []}


# ---- McGill Billboard ----------------------------------------------------------------------------
def _meter_quarters(meter: str) -> float:
    n, d = meter.split("/")
    return int(n) * 4.0 / int(d)


def parse_billboard(path: Path) -> list[dict]:
    """Records of one ``salami_chords.txt`` (one per tonic segment)."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    title = artist = ""
    meter = "4/4"
    segments: list[dict] = []
    cur: dict | None = None
    times: list[tuple[float, int, float]] = []  # (time, bars on line, quarters per bar)
    section = None
    prev_chord: tuple[int, int, str] | None = None
    for line in lines:
        if line.startswith("#"):
            k, _, v = line[1:].partition(":")
            k, v = k.strip(), v.strip()
            if k == "title":
                title = v
            elif k == "artist":
                artist = v
            elif k == "metre" and re.fullmatch(r"\d+/\d+", v):
                meter = v
                if cur is not None:
                    cur.setdefault("meter", meter)
            elif k == "tonic":
                try:
                    _, pc = parse_note(v)
                except Exception:
                    continue
                cur = {"tonic": v, "pc": pc, "chords": [], "sections": [], "meter": meter}
                segments.append(cur)
            continue
        parts = line.split("\t", 1)
        if len(parts) != 2 or cur is None:
            continue
        try:
            t = float(parts[0])
        except ValueError:
            continue
        body = parts[1]
        m = re.match(r"\s*[A-Z]'*,\s*([^,|]+),", body)
        if m:
            section = m.group(1).strip().lower()
            cur["sections"].append((len(cur["chords"]), section))
        bars = re.findall(r"\|([^|]*)(?=\|)", body)
        rep = re.search(r"\|\s*,?\s*x(\d+)", body)
        reps = int(rep.group(1)) if rep else 1
        bar_meter = meter
        nbars = 0
        for _ in range(reps):
            for bar in bars:
                items = bar.split()
                if items and re.fullmatch(r"\(\d+/\d+\)", items[0]):
                    bar_meter = items[0][1:-1]
                    items = items[1:]
                if not items:
                    continue
                nbars += 1
                q = _meter_quarters(bar_meter)
                slot = q / len(items)
                for it in items:
                    if it == ".":
                        if cur["chords"]:
                            cur["chords"][-1][3] += slot
                        continue
                    ch = parse_harte(it)
                    if ch is None:
                        if it in ("N", "&pause", "*", "X") or prev_chord is None:
                            prev_chord = None
                            cur["chords"].append([0, 0, "__rest__", slot])
                        else:
                            cur["chords"].append([*prev_chord, slot])
                        continue
                    prev_chord = ch
                    cur["chords"].append([*ch, slot])
        if nbars:
            times.append((t, nbars, _meter_quarters(bar_meter)))
    # tempo: median seconds per quarter note over lines with bars
    spq = [(t2 - t1) / (n * q) for (t1, n, q), (t2, _, _) in itertools.pairwise(times)
           if t2 > t1]
    bpm = 60.0 / float(np.median(spq)) if spq else None
    if bpm is not None and not 30 <= bpm <= 300:
        bpm = None
    out = []
    song = song_key(title, artist)
    for k, seg in enumerate(segments):
        chords = []
        secs = []
        sec_at = dict(seg["sections"])
        for i, c in enumerate(seg["chords"]):
            if i in sec_at:
                secs.append((len(chords), sec_at[i]))
            if c[2] != "__rest__":
                chords.append(tuple(c))
        mode = infer_mode(seg["pc"], chords)
        tonic = seg["tonic"]
        rec = make_record(rid=f"billboard/{path.parent.name}/{k}", song=f"billboard:{song}",
                          source="billboard", title=f"{title} ({artist})", tonic=tonic,
                          mode=mode, meter=seg["meter"], bpm=bpm, chords=chords, sections=secs)
        if rec:
            out.append(rec)
    return out


# ---- POP909 ------------------------------------------------------------------------------------
def _read_table(path: Path) -> list[list[str]]:
    return [ln.split() for ln in path.read_text().splitlines() if ln.strip()]


def _pop909_melody(mid_path: Path, beat_times: np.ndarray) -> list[list[int]]:
    """MELODY track notes as [onset, duration, pitch] in sixteenths of a beat grid."""
    import mido

    try:
        mid = mido.MidiFile(mid_path)
    except Exception:
        return []
    tempo_map: list[tuple[int, int]] = [(0, 500000)]
    for tr in mid.tracks:
        t = 0
        for msg in tr:
            t += msg.time
            if msg.type == "set_tempo":
                tempo_map.append((t, msg.tempo))
    tempo_map.sort()

    def tick_to_sec(tick: int) -> float:
        sec, last_tick, tempo = 0.0, 0, tempo_map[0][1]
        for tt, tp in tempo_map[1:]:
            if tt > tick:
                break
            sec += (tt - last_tick) * tempo / 1e6 / mid.ticks_per_beat
            last_tick, tempo = tt, tp
        return sec + (tick - last_tick) * tempo / 1e6 / mid.ticks_per_beat

    notes = []
    for tr in mid.tracks:
        if not any(m.type == "track_name" and "MELODY" in m.name.upper() for m in tr):
            continue
        t = 0
        on: dict[int, int] = {}
        for msg in tr:
            t += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                on[msg.note] = t
            elif msg.type in ("note_off", "note_on") and msg.note in on:
                start = on.pop(msg.note)
                notes.append((tick_to_sec(start), tick_to_sec(t), msg.note))
    idx = np.arange(len(beat_times), dtype=float)
    out = []
    for s, e, p in sorted(notes):
        bs = float(np.interp(s, beat_times, idx))
        be = float(np.interp(e, beat_times, idx))
        o, d = round(bs * 4), max(round((be - bs) * 4), 1)
        out.append([o, d, int(p)])
    return out


def parse_pop909(folder: Path) -> list[dict]:
    """Records of one POP909 song folder (one per key segment)."""
    n = folder.name
    chords_t = _read_table(folder / "chord_midi.txt")
    keys_t = _read_table(folder / "key_audio.txt")
    beats_t = _read_table(folder / "beat_midi.txt")
    if not chords_t or not keys_t or len(beats_t) < 8:
        return []
    bt = np.array([float(r[0]) for r in beats_t])
    down = np.array([float(r[2] if len(r) > 2 else r[1]) for r in beats_t])
    di = np.flatnonzero(down > 0.5)
    bpb = int(np.median(np.diff(di))) if len(di) > 2 else 4
    meter = {2: "2/4", 3: "3/4", 4: "4/4", 6: "6/8"}.get(bpb, "4/4")
    bpm = 60.0 / float(np.median(np.diff(bt)))
    idx = np.arange(len(bt), dtype=float)
    melody = _pop909_melody(folder / f"{n}.mid", bt)
    out = []
    for k, (ks, ke, klabel) in enumerate((float(a), float(b), c) for a, b, c in keys_t):
        root, _, q = klabel.partition(":")
        mode = "minor" if q.startswith("min") else "major"
        chords = []
        for s, e, lab in ((float(a), float(b), c) for a, b, c in chords_t):
            if s < ks - 1e-3 or s >= ke:
                continue
            ch = parse_harte(lab)
            if ch is None:
                continue
            d = float(np.interp(e, bt, idx) - np.interp(s, bt, idx))
            d = max(round(d * 2) / 2, 0.5)
            chords.append((*ch, d))
        b0 = float(np.interp(ks, bt, idx))
        b1 = float(np.interp(ke, bt, idx))
        mel = [[o - round(b0 * 4), d, p] for o, d, p in melody if b0 * 4 <= o < b1 * 4]
        rec = make_record(rid=f"pop909/{n}/{k}", song=f"pop909:{n}", source="pop909",
                          title=f"POP909 {n}", tonic=root, mode=mode, meter=meter, bpm=bpm,
                          chords=chords, melody=mel)
        if rec:
            out.append(rec)
    return out


# ---- OpenEWLD ----------------------------------------------------------------------------------
def _xml_root(path: Path) -> ET.Element | None:
    try:
        return read_mxl(path)
    except MusicXMLError:
        return None


def parse_ewld(path: Path) -> list[dict]:
    """One record per lead sheet (first part only; repeats are not unfolded; the measures are
    walked by :func:`musicapp_lab.musicxml.walk`)."""
    root = _xml_root(path)
    if root is None:
        return []
    part = root.find("part")
    if part is None:
        return []
    fifths, mode_x = 0, None
    meter = None
    bpm = None
    pos = 0.0
    harm: list[tuple[float, int, int, str]] = []
    notes: list[list[int]] = []
    for ev in walk(part):
        if isinstance(ev, MeasureEnd):
            pos = ev.end
            continue
        el, cursor = ev.el, ev.time
        if ev.tag == "attributes":
            k = el.find("key")
            if k is not None and k.findtext("fifths") is not None:
                fifths = int(k.findtext("fifths"))
                mode_x = k.findtext("mode") or mode_x
            t = el.find("time")
            if t is not None and meter is None and t.findtext("beats"):
                meter = f"{t.findtext('beats')}/{t.findtext('beat-type')}"
        elif ev.tag == "sound" and el.get("tempo"):
            bpm = bpm or float(el.get("tempo"))
        elif ev.tag == "direction":
            s = el.find("sound")
            if s is not None and s.get("tempo"):
                bpm = bpm or float(s.get("tempo"))
        elif ev.tag == "harmony":
            step = el.findtext("root/root-step")
            kind = (el.findtext("kind") or "").strip()
            q = _XML_KIND.get(kind)
            if step and q:
                alter = int(float(el.findtext("root/root-alter") or 0))
                letter = "CDEFGAB".index(step)
                pc = ((0, 2, 4, 5, 7, 9, 11)[letter] + alter) % 12
                harm.append((cursor, letter, pc, q))
        elif ev.tag == "note" and not ev.chord:
            dur = ev.duration
            p = el.find("pitch")
            if p is not None and el.find("rest") is None:
                midi = pitch_midi(p)
                tie_stop = any(t.get("type") == "stop" for t in el.findall("tie"))
                if tie_stop and notes and notes[-1][2] == midi:
                    notes[-1][1] += round(dur * 4)
                else:
                    notes.append([round(cursor * 4), max(round(dur * 4), 1), midi])
    if len(harm) < 4:
        return []
    meter = meter or "4/4"
    if not re.fullmatch(r"\d+/\d+", meter):
        return []
    chords = []
    for i, (s, letter, pc, q) in enumerate(harm):
        e = harm[i + 1][0] if i + 1 < len(harm) else pos
        chords.append((letter, pc, q, round((e - s) * 2) / 2))
    f = max(-7, min(7, fifths))
    if mode_x == "minor":
        tonic, mode = _FIFTHS_MINOR[f + 7], "minor"
    else:
        tonic, mode = _FIFTHS_MAJOR[f + 7], "major"
        rel = _FIFTHS_MINOR[f + 7]
        last = chords[-1]
        if mode_x is None and last[1] == parse_note(rel)[1] and last[2] in ("min", "m7"):
            tonic, mode = rel, "minor"
    title = path.stem.replace("_", " ")
    rec = make_record(rid=f"ewld/{path.parent.parent.name}/{path.stem}",
                      song=f"ewld:{song_key(title)}", source="ewld", title=title, tonic=tonic,
                      mode=mode, meter=meter, bpm=bpm, chords=chords, melody=notes)
    return [rec] if rec else []


# ---- music21 (existing extraction) -----------------------------------------------------------
def music21_records(corpus_json: Path) -> list[dict]:
    """The shipped music21 extraction as records (chorales and madrigals; no tempo)."""
    out = []
    data = json.loads(corpus_json.read_text())["records"]
    for r in data:
        meter = {2: "2/4", 3: "3/4", 4: "4/4", 6: "6/8"}.get(int(r.get("meter_beats") or 4),
                                                             "4/4")
        key = Key("C", r["mode"])
        chords = []
        for t, b in zip(r["tokens"], r["beats"], strict=True):
            tok = canonical(ChordToken.parse(t), r["mode"])
            letter, pc = tok.root(key)
            chords.append((letter, pc, tok.quality, float(b)))
        group = r.get("bwv") or r.get("tune") or r["id"]
        rec = make_record(rid=f"music21/{r['source']}/{r['id']}",
                          song=f"music21:{song_key(str(group))}", source="music21",
                          title=r.get("title") or r.get("tune") or "", tonic="C",
                          mode=r["mode"], meter=meter, bpm=None, chords=chords)
        if rec:
            # applied chords survive as tokens only through the absolute round trip when
            # canonical; keep the original tokens where they differ in spelling only
            out.append(rec)
    return out


# ---- the whole corpus -------------------------------------------------------------------------
#: every source, in build order (the shipped corpus holds all four)
SOURCES = ("billboard", "pop909", "ewld", "music21")
#: where each folder source's files lie under the data folder (music21 is the shipped JSON)
SOURCE_PLACES = {"billboard": "billboard-2.0-salami_chords/NNNN/salami_chords.txt",
                 "pop909": "pop909/POP909/NNN/", "ewld": "ewld/dataset/**/*.mxl"}


def parse_sources(text: str) -> tuple[str, ...]:
    """``"billboard,music21"`` -> the named sources in build order.

    Raises:
        MusicappError: an unknown or empty source list.
    """
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SOURCES]
    if unknown or not names:
        raise MusicappError(f"unknown chord-corpus source {', '.join(unknown) or repr(text)}; "
                            f"choose from {', '.join(SOURCES)} (comma-separated)")
    return tuple(s for s in SOURCES if s in names)


def source_files(data_dir: Path, source: str) -> list[Path]:
    """The files (POP909: song folders) of one folder source under ``data_dir``, sorted."""
    if source == "billboard":
        return sorted((data_dir / "billboard-2.0-salami_chords").glob("*/salami_chords.txt"))
    if source == "pop909":
        return sorted(d for d in (data_dir / "pop909" / "POP909").glob("[0-9][0-9][0-9]")
                      if d.is_dir())
    if source == "ewld":
        return sorted((data_dir / "ewld" / "dataset").rglob("*.mxl"))
    raise ValueError(source)


def find_sources(data_dir: Path, corpus_json: Path,
                 sources: tuple[str, ...] = SOURCES) -> dict[str, list[Path]]:
    """Check, before any parsing, that every one of ``sources`` is there; returns each folder
    source's files (music21: ``[corpus_json]``).

    Raises:
        MusicappError: ``data_dir`` is missing (while a folder source is asked for), holds none
            of the sources, or lacks some of them (the message names them and the
            ``--sources`` list that builds without them); or ``corpus_json`` is missing.
    """
    found: dict[str, list[Path]] = {}
    folder_sources = [s for s in sources if s != "music21"]
    if folder_sources:
        if not data_dir.is_dir():
            raise MusicappError(f"{data_dir}: data folder does not exist (expected "
                                f"{', '.join(SOURCE_PLACES[s] for s in folder_sources)} in it)")
        missing = []
        for s in folder_sources:
            files = source_files(data_dir, s)
            if files:
                found[s] = files
            else:
                missing.append(s)
        if missing and not found:
            raise MusicappError(
                f"{data_dir}: holds none of the chord-corpus sources (expected "
                f"{', '.join(SOURCE_PLACES[s] for s in missing)}); name the folder that holds "
                "them with --data, or build from music21 alone with --sources music21")
        if missing:
            rest = ",".join(s for s in sources if s not in missing)
            raise MusicappError(
                f"{data_dir}: no {', '.join(missing)} files in it (expected "
                f"{', '.join(SOURCE_PLACES[s] for s in missing)}); to build without "
                f"{'it' if len(missing) == 1 else 'them'}, pass --sources {rest}")
    if "music21" in sources:
        if not corpus_json.is_file():
            raise MusicappError(f"{corpus_json}: the music21 extraction does not exist")
        found["music21"] = [corpus_json]
    return found


def build(data_dir: Path, out: Path, corpus_json: Path,
          log: Callable[[str], None] = print, *, force: bool = False,
          sources: tuple[str, ...] = SOURCES) -> dict:
    """Parse ``sources`` (default: all four) under ``data_dir`` and write the gzipped JSON file
    atomically. An existing ``out`` (unless ``force``) and a missing source
    (:func:`find_sources`) are refused before any parsing. The result names the sources that
    went in (``sources``) and those left out (``left_out``)."""
    refuse_existing(out, force=force)
    found = find_sources(data_dir, corpus_json, sources)
    records: list[dict] = []
    counts: dict[str, int] = {}
    for p in found.get("billboard", []):
        records += parse_billboard(p)
    for d in found.get("pop909", []):
        records += parse_pop909(d)
    for p in found.get("ewld", []):
        records += parse_ewld(p)
    if "music21" in found:
        records += music21_records(corpus_json)
    for r in records:
        counts[r["source"]] = counts.get(r["source"], 0) + 1
    songs = {r["song"] for r in records}
    chords = sum(len(r["tokens"]) for r in records)
    left_out = [s for s in SOURCES if s not in found]
    log(f"records {len(records)} ({counts}); songs {len(songs)}; chords {chords}; sources "
        f"{', '.join(found)}" + (f" (left out: {', '.join(left_out)})" if left_out else ""))
    doc = {"format": "musicapp chord corpus 1", "fields": [
        "id", "song", "source", "licence", "style", "title", "tonic", "mode", "meter", "bpm",
        "tokens", "roman", "harte", "beats", "sections", "melody"],
        "licences": LICENCES, "records": records}
    data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()

    def save(tmp: str) -> None:
        with gzip.GzipFile(tmp, "wb", mtime=0) as fh:
            fh.write(data)

    write_out(out, save, force=force, kind="corpus")
    return {"sources": list(found), "left_out": left_out, "records": len(records),
            "by_source": counts, "songs": len(songs), "chords": chords,
            "bytes": out.stat().st_size}
