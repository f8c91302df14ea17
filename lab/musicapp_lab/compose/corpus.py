"""Extract key-relative chord-token sequences from music21's bundled corpus (offline, BSD/PD).

Sources (all shipped inside the music21 wheel):

* ``bach-expert``: the 20 Riemenschneider chorales with expert Roman-numeral analyses (.rntxt);
  tokens are taken relative to the *local* key the analyst wrote (modulations included).
* ``monteverdi-expert``: the 48 Monteverdi madrigals with expert analyses (.rntxt).
* ``bach-auto``: every Bach chorale score (bwv*.mxl/.mxl/.krn) analysed automatically: global key
  by ``analyze('key')`` (Krumhansl-Schmuckler), ``chordify``, ``romanNumeralFromChord``; onsets whose
  pitch set is not one of our qualities (passing tones) are merged into the previous chord, as are
  repeats. Automatic labels agree with experts only ~62% of the time (ENVIRONMENT.md) — noisy data.

Each sequence records its *tune* (the chorale's title from music21's Riemenschneider/BWV list,
or the madrigal's title) so that train/validation/test can be split by tune, never by file.

Run ``python -m musicapp_lab.compose.corpus OUT.json`` (about 4 minutes on one core); the result is
shipped as ``resources/compose/corpus_tokens.json``.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import unicodedata
from pathlib import Path

from musicapp.compose.theory import ChordToken, canonical, from_root, parse_note, quality_from_pcs


def tune_key(title: str) -> str:
    """Normalise a title for grouping: accents, punctuation and case removed."""
    t = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


def token_from_m21(rn, key_tonic: str, mode: str) -> ChordToken | None:
    """Convert a music21 RomanNumeral/Chord (with its root) to a canonical token, or None."""
    try:
        root = rn.root()
    except Exception:
        return None
    if root is None:
        return None
    t_letter, t_pc = parse_note(key_tonic)
    r_letter, r_pc = parse_note(root.name)
    rel = {(pc - r_pc) % 12 for pc in rn.pitchClasses}
    q = quality_from_pcs(rel)
    if q is None:
        return None
    sec = getattr(rn, "secondaryRomanNumeral", None)
    if sec is not None:
        try:
            s_letter, s_pc = parse_note(sec.root().name)
            target = from_root((s_letter - t_letter) % 7, (s_pc - t_pc) % 12, "maj")
            own = from_root((r_letter - s_letter) % 7, (r_pc - s_pc) % 12, q)
            tok = ChordToken(own.degree, own.alter, q, target.degree, target.alter)
            return canonical(tok, mode)
        except Exception:
            pass
    tok = from_root((r_letter - t_letter) % 7, (r_pc - t_pc) % 12, q)
    return canonical(tok, mode)


def _merge(seq: list[tuple[str, float]]) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for tok, dur in seq:
        if out and out[-1][0] == tok:
            out[-1] = (tok, out[-1][1] + dur)
        else:
            out.append((tok, dur))
    return out


def _m21_key(k) -> tuple[str, str]:
    return k.tonic.name.replace("-", "b"), ("minor" if k.mode == "minor" else "major")


def _melody(score, n: int = 12) -> list[int]:
    """The first ``n`` pitch intervals of the top part (repeated notes removed): a fingerprint
    that identifies settings of the same chorale tune even when they are transposed."""
    parts = list(score.parts)
    if not parts:
        return []
    pitches = [nt.pitch.midi for nt in parts[0].recurse().notes if nt.isNote]
    dedup = [p for i, p in enumerate(pitches) if i == 0 or p != pitches[i - 1]]
    return [b - a for a, b in itertools.pairwise(dedup)][:n]


def _meter(score) -> float:
    ts = list(score.recurse().getElementsByClass("TimeSignature"))
    return float(ts[0].barDuration.quarterLength) if ts else 4.0


def extract_rntxt(path: Path, source: str, title_by_riem: dict[int, str]) -> dict | None:
    from music21 import converter, roman

    score = converter.parse(str(path), format="romantext")
    rns = list(score.recurse().getElementsByClass(roman.RomanNumeral))
    if not rns:
        return None
    global_key = _m21_key(rns[0].key)
    seq: list[tuple[str, float]] = []
    for rn in rns:
        tonic, mode = _m21_key(rn.key)
        tok = token_from_m21(rn, tonic, mode)
        if tok is None:
            if seq:
                seq[-1] = (seq[-1][0], seq[-1][1] + float(rn.quarterLength))
            continue
        seq.append((tok.token, float(rn.quarterLength)))
    title = score.metadata.title if score.metadata and score.metadata.title else path.stem
    bwv = None
    m = re.search(r"riemenschneider(\d+)", path.stem)
    if m and int(m.group(1)) in title_by_riem:
        title, bwv = title_by_riem[int(m.group(1))]
    seq = _merge(seq)
    return {"source": source, "id": path.name, "tune": tune_key(title), "title": title,
            "bwv": bwv, "melody": None,
            "tonic": global_key[0], "mode": global_key[1], "meter_beats": _meter(score),
            "tokens": [t for t, _ in seq], "beats": [d for _, d in seq]}


def extract_auto(path: Path, title_by_bwv: dict[str, str]) -> dict | None:
    from music21 import corpus

    score = corpus.parse(str(path))
    k = score.analyze("key")
    tonic, mode = _m21_key(k)
    seq: list[tuple[str, float]] = []
    for ch in score.chordify().recurse().getElementsByClass("Chord"):
        if len(ch.pitches) < 2:
            tok = None
        else:
            tok = token_from_m21(ch, tonic, mode)
        if tok is None:
            if seq:
                seq[-1] = (seq[-1][0], seq[-1][1] + float(ch.quarterLength))
            continue
        seq.append((tok.token, float(ch.quarterLength)))
    seq = _merge(seq)
    if len(seq) < 4:
        return None
    bwv = re.sub(r"^bwv", "", path.stem)
    title = title_by_bwv.get(bwv) or title_by_bwv.get(bwv.split(".")[0] + "." + bwv.split(".")[1]
                                                     if "." in bwv else bwv) or path.stem
    return {"source": "bach-auto", "id": path.name, "tune": tune_key(title), "title": title,
            "bwv": bwv, "melody": _melody(score),
            "tonic": tonic, "mode": mode, "meter_beats": _meter(score),
            "tokens": [t for t, _ in seq], "beats": [d for _, d in seq]}


def main(out_path: str) -> int:
    from music21 import corpus
    from music21.corpus.chorales import ChoraleList, ChoraleListRKBWV

    rk = ChoraleListRKBWV()
    title_by_riem = {int(n): (d["title"], str(d["bwv"])) for n, d in rk.byRiemenschneider.items()}
    title_by_bwv = {str(b): d["title"] for b, d in rk.byBWV.items()}
    for b, d in ChoraleList().byBWV.items():
        title_by_bwv.setdefault(str(b), d["title"])
    records = []
    for p in sorted(corpus.getPaths(fileExtensions=("rntxt",))):
        source = "monteverdi-expert" if "monteverdi" in str(p) else "bach-expert"
        try:
            r = extract_rntxt(Path(p), source, title_by_riem)
        except Exception as exc:
            print(f"skip {p}: {exc}", file=sys.stderr)
            continue
        if r:
            records.append(r)
            print(source, r["id"], r["title"], len(r["tokens"]), flush=True)
    for p in sorted(corpus.getComposer("bach")):
        p = Path(p)
        if not p.name.startswith("bwv") or p.suffix not in (".mxl", ".krn", ".xml"):
            continue
        try:
            r = extract_auto(p, title_by_bwv)
        except Exception as exc:
            print(f"skip {p}: {exc}", file=sys.stderr)
            continue
        if r:
            records.append(r)
            print("bach-auto", r["id"], r["title"], len(r["tokens"]), flush=True)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(json.dumps({"generator": "musicapp_lab.compose.corpus",
                                          "records": records}, ensure_ascii=False))
    print(f"wrote {len(records)} sequences to {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "resources/compose/corpus_tokens.json"))
