"""Score any progression file against the chord model and the n-gram baselines
(``musicapp evaluate chords --external FILE.jsonl``).

**Format** (JSON Lines, UTF-8, one progression per line; blank lines and lines starting with
``#`` are skipped)::

    {"key": "E", "mode": "minor", "chords": ["i", "VI", "III", "VII"], "beats": [4, 4, 4, 4]}
    {"key": "Bb", "chords": ["Bb:maj", "G:min7", "C:min7", "F:7"], "meter": "4/4",
     "style": "jazz"}

* ``key`` (required): tonic (``"E"``, ``"F#"``, ``"Bb"``) or a key with mode (``"E minor"``,
  ``"F#m"``);
* ``mode``: ``"major"`` or ``"minor"`` (default: from ``key``, else major);
* ``chords`` (required, at least 2): Roman numerals read in the mode (``"i"``, ``"VI"``,
  ``"V7/V"``), chord tokens (``"bVI:maj"``) or Harte labels (``"E:min7"``, ``"C"``,
  ``"A:min/b3"``; the bass is ignored); mixing is allowed;
* ``beats`` (optional): quarter notes per chord (default one 4/4 bar each);
* ``meter`` (optional, default ``"4/4"``) and ``style`` (optional: pop, cpop, jazz, chorale).

Chords are converted to key-relative tokens; chords outside the model's vocabulary count as the
unknown token for every model (reported). The baselines are trained on the same training split
and vocabulary as the shipped model.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path

from musicapp.compose.conditioning import check_style, condition_vector
from musicapp.compose.model import ChordModel
from musicapp.compose.rhythm import Meter
from musicapp.compose.theory import ChordToken, Key, canonical
from musicapp.errors import MusicappError

MAX_BYTES = 64 << 20
_HARTE_RE = re.compile(r"[A-G][b#]*(:.*)?")


def parse_chord(text: str, key: Key) -> ChordToken:
    """A Roman numeral, token or Harte label as a canonical key-relative token."""
    from musicapp_lab.compose.realcorpus import parse_harte, to_token

    t = str(text).strip()
    if _HARTE_RE.fullmatch(t):
        ch = parse_harte(t)
        if ch is None:
            raise MusicappError(f"{text!r}: not a chord we model")
        return to_token(*ch, key)
    return canonical(ChordToken.parse(t, key.mode), key.mode)


def load_external(path: str | Path) -> list[dict]:
    """Parse and validate the file; any problem is a :class:`MusicappError` naming the line."""
    p = Path(path)
    if not p.is_file():
        raise MusicappError(f"{p}: no such file")
    if p.stat().st_size > MAX_BYTES:
        raise MusicappError(f"{p}: larger than {MAX_BYTES >> 20} MB")
    out = []
    for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{p}:{n}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise MusicappError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(rec, dict) or "key" not in rec or "chords" not in rec:
            raise MusicappError(f"{where}: expected an object with 'key' and 'chords'")
        chords = rec["chords"]
        if not isinstance(chords, list) or len(chords) < 2:
            raise MusicappError(f"{where}: 'chords' must be a list of at least 2 chords")
        try:
            key = Key.parse(str(rec["key"]), rec.get("mode"))
            toks = [parse_chord(c, key) for c in chords]
            meter = Meter.parse(rec.get("meter", "4/4"))
            style = check_style(rec.get("style"))
        except MusicappError as exc:
            raise MusicappError(f"{where}: {exc}") from None
        beats = rec.get("beats") or [meter.bar_beats] * len(toks)
        if (not isinstance(beats, list) or len(beats) != len(toks)
                or not all(isinstance(b, int | float) and math.isfinite(b) and b > 0
                           for b in beats)):
            raise MusicappError(f"{where}: 'beats' must be positive numbers, one per chord")
        out.append({"mode": key.mode, "tokens": [t.token for t in toks],
                    "beats": [float(b) for b in beats], "meter": meter, "style": style})
    if not out:
        raise MusicappError(f"{p}: no progressions")
    return out


def score_external(path: str | Path, model_path: str | None = None,
                   log: Callable[[str], None] = print) -> dict:
    """Perplexity and top-1 of the GRU and the n-gram baselines on the file's progressions."""
    from musicapp.compose.generate import single_thread_blas
    from musicapp_lab.compose.evaluate import baseline_models, score_gru, score_ngram
    from musicapp_lab.compose.train import prepare

    recs = load_external(path)
    model = ChordModel.load(model_path)
    if model.meta.get("cond_version") != 2:
        raise MusicappError("the model predates the real-song corpus; retrain it")
    excl = model.meta.get("training", {}).get("exclude_source")
    _, splits, vocab = prepare(seed=0, exclude_source=excl)
    if vocab.itos != model.itos:
        raise MusicappError("the model's vocabulary differs from its training data's")
    groups = model.meta["group_conditions"]
    ids = [vocab.encode(r["tokens"]) for r in recs]
    unk = sum(i == 3 for x in ids for i in x)
    items = []
    for r, x in zip(recs, ids, strict=True):
        m: Meter = r["meter"]
        v, a = groups.get(f"{r['style']}|{r['mode']}|{m.family}", groups[f"*|{r['mode']}|*"])
        cond = condition_vector(v, a, r["mode"], r["style"], m.family)
        items.append((x, [model.dur_class_of(b, m.bar_beats) for b in r["beats"]], cond))
    res = {name: score_ngram(lm, ids) for name, lm in baseline_models(splits, vocab).items()}
    with single_thread_blas():
        res["ChordGRU"] = score_gru(model, items)
    n_tok = sum(len(x) for x in ids)
    log(f"{path}: {len(recs)} progressions, {n_tok} chords ({unk} outside the vocabulary of "
        f"{len(vocab)}); scored tokens incl. end: {res['unigram']['tokens']}")
    log(f"{'model':26s} {'perplexity':>10s} {'top-1':>7s}")
    for name, r in res.items():
        log(f"{name:26s} {r['perplexity']:10.3f} {r['top1']:7.3f}")
    return {"progressions": len(recs), "chords": n_tok, "unknown": unk,
            "scores": {k: {kk: float(vv) for kk, vv in v.items() if not isinstance(vv, list)}
                       for k, v in res.items()}, "vocab": len(vocab)}
