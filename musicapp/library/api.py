"""High-level library operations used by the CLI and the GUI: add, list, search, similar, identify.

``identify`` loads every stored fingerprint into an in-memory ``FingerprintIndex`` once per
``Library`` object (a few seconds for a 1,000-track library) and answers each query from it.
"""

from __future__ import annotations

import difflib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicapp.library import fingerprint as fp
from musicapp.library.indexer import Analyser, Indexer, IndexReport, Progress, default_analyser
from musicapp.library.matcher import FingerprintIndex, Match
from musicapp.library.schema import analysis_status, analysis_truncated
from musicapp.library.similarity import CodeIndex, Hit, code_from_hex
from musicapp.library.store import LibraryError, Store, Track, content_hash
from musicapp.library.textsafe import display

# Score (the best verified candidate's signature z in units of the query's own null spread, see
# ``matcher``) from which a query is called a match: the smallest multiple of 0.1 that <= 1 % of
# held-out NON-library queries reach (3/5/10 s excerpts, all degradations pooled: 0.94 % of the
# calibration queries, 1.06 % of the unseen test ones), measured by ``musicapp evaluate library``
# with fingerprint format 4 (see musicapp/library/README.md for the figures).
DEFAULT_MATCH_THRESHOLD = 5.2


def clock(seconds: float) -> str:
    """``62.34`` -> ``"1:02.3"`` (minutes and seconds to 0.1 s; 59.96 -> ``"1:00.0"``)."""
    tenths = round(max(0.0, float(seconds)) * 10)
    minutes, rest = divmod(tenths, 600)
    return f"{minutes}:{rest // 10:02d}.{rest % 10}"


#: shorter query clips get a warning with their result (a few landmarks cannot vote reliably)
MIN_CLIP_SECONDS = 3.0
#: a recording is identified from its first this many seconds (the matcher's memory grows with
#: the clip; two minutes is far more than a noisy recording needs)
MAX_CLIP_SECONDS = 120.0


@dataclass
class Identification:
    """Result of ``Library.identify``."""

    match: Match | None
    threshold: float
    path: str | None
    warnings: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Whether the best candidate scored above the threshold."""
        return self.match is not None and self.match.score >= self.threshold

    def summary(self) -> str:
        """One line for a musician: where the recording starts in the track, its tempo factor and
        how far above chance the match is (the score's unit), or why there is no match."""
        m = self.match
        if m is None:
            return "no match (no library track shares enough landmarks with the recording)"
        strength = (f"{m.score:.1f} standard deviations above chance; "
                    f"{self.threshold:g} needed")
        if self.accepted:
            # the tempo factor only when one other than 1 matched: "x1.00" is also what a
            # slightly faster or slower clip often gets (the search stops at the first good one)
            tempo = f", played about x{m.stretch:.2f}" if abs(m.stretch - 1.0) >= 0.005 else ""
            return f"starts at {clock(m.offset_s)} in the track{tempo} ({strength})"
        return f"no match (the closest track reached {strength})"

    def as_dict(self) -> dict:
        """JSON-friendly form."""
        return {
            "summary": self.summary(),
            "identified": self.accepted,
            "path": self.path if self.accepted else None,
            "threshold": self.threshold,
            "best": None if self.match is None else {**self.match.as_dict(), "path": self.path},
            "warnings": list(self.warnings),
        }


def parse_range(text: str | None) -> tuple[float, float] | None:
    """``"80-100"`` -> (80, 100); ``"90"`` -> (90, 90); None passes through."""
    if text is None:
        return None
    parts = text.replace("..", "-").split("-")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) in (1, 2) and all(np.isfinite(values)):
        return min(values), max(values)
    raise LibraryError(f"bad range {text!r}: expected LOW-HIGH, e.g. 80-100")


def parse_key(text: str | None) -> tuple[str | None, str | None]:
    """A key filter: ``"D minor"`` / ``"Dm"`` / ``"F# major"`` -> (tonic, mode); ``"D"`` -> (D, any
    mode); ``"minor"`` -> (any tonic, minor). Notes and modes are read by :mod:`musicapp.pitch`."""
    from musicapp.pitch import PitchError, parse_mode, parse_note
    from musicapp.pitch import parse_key as parse_full_key

    if not text or not text.strip():
        return None, None
    words = text.replace("_", " ").split()
    try:
        if len(words) == 1:
            word = words[0]
            try:
                return None, parse_mode(word)  # "minor", "maj"
            except PitchError:
                pass
            if word[-1:] == "m" and len(word) > 1:  # "Am", "F#m"
                key = parse_full_key(word)
                return key.tonic, key.mode
            parse_note(word)  # "D": any mode
            return word[0].upper() + word[1:], None
        key = parse_full_key(" ".join(words))
        return key.tonic, key.mode
    except PitchError as exc:
        raise LibraryError(f"bad key {text!r}: expected e.g. 'D minor', 'F# major', 'Am' ({exc})") from exc


def _why_no_code(analysis: dict) -> str:
    """Why an analysis of a query file has no hash code, in the user's terms."""
    status = analysis.get("status", "ok")
    if status != "ok":  # silence or too short: the pipeline does not run the tagger
        level = _num(analysis.get("level_dbfs"))
        loudest = f"; loudest 3 s at {level:.0f} dBFS" if level is not None and status == "silence" else ""
        return f"{status}: nothing to compare with the library{loudest}"
    errors = analysis.get("errors") if isinstance(analysis.get("errors"), dict) else {}
    if errors.get("tags"):
        return f"the tagger failed, so there is no hash code ({display(errors['tags'])})"
    return "the analysis produced no hash code (is the tagger model installed?)"


def _mood_rank(mood: dict) -> tuple[int, float]:
    """Sort key of a stored mood: by percentile (highest first), raw score only without one."""
    pct = _num(mood.get("percentile"))
    if pct is not None:
        return (0, -pct)
    return (1, -(_num(mood.get("score")) or 0.0))


class Library:
    """A library database plus the in-memory indexes built from it.

    ``readonly``: see :class:`Store` (None: read-only only when the file cannot be written, what
    the read commands use). Damaged rows met while reading are skipped; :attr:`warnings` says
    how many.
    """

    def __init__(self, db: str | Path | None = None, *, readonly: bool | None = False) -> None:
        self.store = Store(db, readonly=readonly)
        self._fp_index: FingerprintIndex | None = None
        self.fingerprint_warnings: list[str] = []
        self._code_index: CodeIndex | None = None

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- indexing ---------------------------------------------------------------------------
    def add(
        self,
        root: str | Path,
        *,
        workers: int | None = None,
        analyser: Analyser | None = default_analyser,
        progress: Progress | None = None,
    ) -> IndexReport:
        """Scan ``root`` and index its new or changed audio files."""
        report = Indexer(self.store, analyser=analyser, workers=workers, progress=progress).add(root)
        self._fp_index = self._code_index = None
        return report

    @property
    def warnings(self) -> list[str]:
        """Why the library was opened read-only (a full disk), damaged rows skipped so far and
        fingerprints left out of identification."""
        damage = self.store.damage_warning()
        note = getattr(self.store, "open_note", None)
        return ([note] if note else []) + ([damage] if damage else []) + list(self.fingerprint_warnings)

    def remove(self, target: str | Path, *, dry_run: bool = False) -> list[str]:
        """Remove a track by path (or every track under a folder; ``/``: all) from the library.

        A path that matches no track is a :class:`LibraryError` (nothing is removed)."""
        removed = self.store.remove_under(target, dry_run=dry_run)
        if not removed:
            raise LibraryError(
                f"{display(os.path.abspath(os.fspath(target)))}: no track of the library is this "
                "file or lies under this folder; nothing removed (see `musicapp library list`)"
            )
        self._fp_index = self._code_index = None
        return removed

    def prune(self, *, dry_run: bool = False) -> list[str]:
        """Remove every track whose file is gone now (``dry_run``: only list them)."""
        removed = self.store.prune_missing(dry_run=dry_run)
        self._fp_index = self._code_index = None
        return removed

    def set_tempo(self, track: int | str | Path, bpm: float) -> dict:
        """Store the tempo the user chose for a track (a metrical level of the analysed tempo:
        half, double ...; see :func:`musicapp.analysis.tempo_choice.choose_tempo`). ``track`` is
        a track id or path. Returns the updated analysis; searches by BPM use the new value."""
        import json

        from musicapp.analysis.tempo_choice import choose_tempo
        from musicapp.library.schema import write_analysis_columns

        found = self.store.track(track) if isinstance(track, int) else self.store.track_by_path(track)
        if found is None:
            raise LibraryError(f"{display(str(track))}: not a track of the library")
        analysis = self.store.analysis(found.id)
        if analysis is None:
            raise LibraryError(f"{display(found.path)}: not analysed yet")
        new = choose_tempo(analysis, bpm)
        with self.store._transaction():
            self.store.con.execute("UPDATE analysis SET json = ? WHERE track_id = ?",
                                   (json.dumps(new), found.id))
            write_analysis_columns(self.store.con, found.id, new)
        return new

    def list(self, status: str | None = None) -> list[dict]:
        """Every track (or those in one state: ok/pending/error/missing) with its status, tags
        and the main analysis fields. Damaged rows are skipped (see :attr:`warnings`)."""
        return [self.describe(t.id, t) for t in self.store.tracks(status)]

    def describe(self, track_id: int, track: Track | None = None, analysis: dict | None = None) -> dict:
        """Short description of a track: ``status`` is ``missing`` while its file is gone,
        else the analysis status; ``title``/``artist``/``album`` come from the file's tags."""
        t = track or self.store.track(track_id)
        if t is None:
            raise LibraryError(f"no track with id {track_id}")
        a = analysis if analysis is not None else (self.store.analysis(t.id) or {})
        key = a.get("key") if isinstance(a.get("key"), dict) else {}
        mood_list = [m for m in a.get("moods") or [] if isinstance(m, dict)]
        # by percentile, as `analyze` shows them: raw scores favour tags that are common
        # everywhere ("slow", "ambient"), which then headed every track's list
        moods = sorted(mood_list, key=_mood_rank)[:3]
        # the pipeline's verdict (silence / too short / damaged) once the track is analysed;
        # before, every analysed track was listed as "ok"
        astatus = analysis_status(a) if t.status == "ok" else t.status
        from musicapp.analysis.tempo_choice import tempo_label

        return {
            "id": t.id,
            "path": t.path,
            "status": astatus if t.state == "ok" else t.state,
            "analysis_status": astatus,
            "truncated": analysis_truncated(a),
            "error": t.error,
            "title": t.title,
            "artist": t.artist,
            "album": t.album,
            "duration_s": _num(a.get("duration_s")),
            "tempo_bpm": _num(a.get("tempo_bpm")),
            # "~60.6" / "60.6 (or 121.2)": see musicapp.analysis.tempo_choice.tempo_label
            "tempo_label": tempo_label(a) if _num(a.get("tempo_bpm")) else None,
            "key": f"{key['tonic']} {key.get('mode', '')}".strip() if key.get("tonic") else None,
            "moods": [m.get("tag") for m in moods],
        }

    # -- filters and similarity --------------------------------------------------------------
    def search(
        self,
        *,
        mood: str | None = None,
        key: str | None = None,
        bpm: str | None = None,
        duration: str | None = None,
        mood_percentile: float = 70.0,
        text: str | None = None,
        bpm_levels: bool = True,
    ) -> list[dict]:
        """Tracks passing the filters. ``mood``: any word of the mood vocabulary
        (:mod:`musicapp.moods`); tracks are ranked by their best percentile among the tagger
        tags of that mood. ``text``: part of the title, artist, album or path.

        ``bpm``: with ``bpm_levels`` (the default) a track also passes when a half/double tempo
        its analysis lists is in the range; such a track has ``bpm_match`` (level, bpm, score,
        unsure) and ``bpm_note`` ("70.0 BPM, matched at double time 140.0") and comes after
        the tracks whose own tempo is in the range."""
        tags = self.mood_tags(mood) if mood else None
        ids = self._filter(None, key, bpm, duration, mood_percentile, text=text, mood_tags=tags,
                           bpm_levels=bpm_levels)
        found = []
        for i in ids:
            t = self.store.track(i)
            if t is not None:
                d = self._with_tempo_match(self.describe(i, t), bpm, bpm_levels)
                if d is not None:
                    found.append(d)
        if tags:
            best = self.store.mood_percentiles(tags)
            for d in found:
                d["mood_percentile"] = best.get(d["id"])
            found.sort(key=lambda d: -(d["mood_percentile"] or 0.0))
        found.sort(key=lambda d: d.get("bpm_match") is not None)  # exact tempo first (stable)
        return found

    def _with_tempo_match(self, described: dict, bpm: str | None, bpm_levels: bool) -> dict | None:
        """``described`` with ``bpm_match``/``bpm_note`` when it passes ``bpm`` only at half or
        double time; None when its stored analysis does not pass the range after all."""
        if not bpm or not bpm_levels:
            return described
        from musicapp.library.tempo_levels import match_text, tempo_match

        low, high = parse_range(bpm) or (0.0, 0.0)
        match = tempo_match(self.store.analysis(described["id"]) or {}, low, high)
        if match is None:
            return None
        if match["level"] != "tactus":
            described["bpm_match"] = match
            described["bpm_note"] = match_text(described.get("tempo_bpm"), match)
        return described

    def mood_tags(self, word: str) -> list[str]:
        """The stored tagger tags that answer a mood word (the word itself first).

        An unknown word raises an error listing the nearest known words: those of
        :mod:`musicapp.moods`, or, without it, the mood tags stored in this library."""
        try:
            from musicapp import moods as vocabulary
        except ImportError:  # pragma: no cover - the vocabulary module ships with musicapp
            vocabulary = None
        if vocabulary is not None:
            mood = vocabulary.resolve(word)
            return list(dict.fromkeys([mood.word, *mood.tags]))
        known = self.store.known_moods()
        w = " ".join(str(word).lower().replace("_", " ").split())
        if w in known:
            return [w]
        near = difflib.get_close_matches(w, known, n=4, cutoff=0.5)
        hint = f"; nearest: {', '.join(near)}" if near else ""
        listed = ", ".join(known) if known else "none yet (index without --fingerprint-only)"
        raise LibraryError(f"{display(word)!r}: unknown mood{hint} (moods in this library: {listed})")

    def _filter(
        self, mood, key, bpm, duration, mood_percentile=70.0, *, text=None, mood_tags=None,
        bpm_levels=False,
    ) -> list[int]:
        tonic, mode = parse_key(key)
        return self.store.filter_ids(
            mood=mood,
            mood_percentile=mood_percentile,
            tonic=tonic,
            mode=mode,
            bpm=parse_range(bpm),
            duration=parse_range(duration),
            text=text or None,
            mood_tags=mood_tags,
            bpm_levels=bpm_levels,
        )

    def code_index(self) -> CodeIndex:
        """The in-memory code index (built on first use)."""
        if self._code_index is None:
            self._code_index = CodeIndex.from_store(self.store)
        return self._code_index

    def similar(
        self,
        query: str | Path | int,
        k: int = 10,
        *,
        analyser: Analyser | None = default_analyser,
        mood: str | None = None,
        key: str | None = None,
        bpm: str | None = None,
        duration: str | None = None,
        bpm_levels: bool = True,
    ) -> list[dict]:
        """Tracks most similar to a library track (id or path) or to any audio file, in order
        of similarity. ``bpm`` also passes half/double-time matches as in :meth:`search`
        (marked with ``bpm_match``/``bpm_note``; the order stays that of similarity)."""
        index = self.code_index()
        if len(index) == 0 and self.store.damage_summary().get("codes"):
            raise LibraryError(f"the library's hash codes cannot be read: {self.store.damage_warning()}")
        if len(index) == 0:
            raise LibraryError(
                "the library has no hash codes yet: index it with the tagger installed "
                "(musicapp library add DIR without --fingerprint-only)"
            )
        if k < 1:
            raise LibraryError(f"-k {k}: the number of results must be at least 1")
        track_id, hex_code, emb = self._query_code(query, analyser)
        filtered = any(v is not None for v in (mood, key, bpm, duration))
        tags = self.mood_tags(mood) if mood else None
        allowed = (np.array(self._filter(None, key, bpm, duration, mood_tags=tags,
                                         bpm_levels=bpm_levels)) if filtered else None)
        try:
            code = code_from_hex(hex_code)
        except ValueError as exc:
            raise LibraryError(f"{display(query)}: its stored hash code is damaged ({exc})") from exc
        if code.shape[0] != index.packed.shape[1]:
            raise LibraryError(
                f"{display(query)}: its hash code has {4 * len(hex_code)} bits, the library's {index.n_bits}"
            )
        hits: list[Hit] = index.search(code, k, embedding=emb, allowed=allowed, exclude=track_id)
        out = []
        for h in hits:
            t = self.store.track(h.track_id)
            d = self._with_tempo_match(self.describe(h.track_id, t), bpm, bpm_levels) if t else None
            if d is not None:
                out.append({**d, **h.as_dict()})
        return out

    def _query_code(self, query, analyser) -> tuple[int | None, str, np.ndarray | None]:
        track = None
        if isinstance(query, int):
            track = self.store.track(query)
        else:
            path = Path(query)
            try:
                mode = path.stat().st_mode
            except OSError as exc:
                raise LibraryError(f"{display(path)}: {exc.strerror or 'no such file'}") from exc
            if not stat.S_ISREG(mode):
                raise LibraryError(f"{display(path)}: not a regular audio file (give a file or a track id)")
            track = self.store.track_by_path(path)
            if track is None:
                same = [t for t in self.store.tracks_by_content(content_hash(path)) if t.status == "ok"]
                track = same[0] if same else None
        if track is not None:
            a = self.store.analysis(track.id) or {}
            if isinstance(a.get("hash"), str) and a["hash"]:
                return track.id, a["hash"], _vector(a.get("embedding"))
        if isinstance(query, int):
            raise LibraryError(f"track {query} has no hash code" if track else f"no track with id {query}")
        if analyser is None:
            raise LibraryError(f"{query}: not in the library and no analyser to compute its code")
        a = analyser(str(query))
        if not a.get("hash"):
            raise LibraryError(f"{display(query)}: {_why_no_code(a)}")
        return None, a["hash"], _vector(a.get("embedding"))

    # -- identification ---------------------------------------------------------------------
    def fingerprint_index(self) -> FingerprintIndex:
        """The in-memory fingerprint index (built on first use).

        Fingerprints of an older format or damaged ones are left out and counted in
        ``fingerprint_warnings`` (``library add`` recomputes the old ones).
        """
        if self._fp_index is None:
            stale, damaged = 0, 0

            def usable():
                nonlocal stale, damaged
                for tid, blob, version in self.store.iter_fingerprints():
                    if version != fp.FINGERPRINT_VERSION:
                        stale += 1
                        continue
                    try:
                        yield tid, fp.Fingerprint.unpack(blob)
                    except Exception:  # any damaged blob is left out, counted
                        damaged += 1

            self._fp_index = FingerprintIndex.build(usable())
            self.fingerprint_warnings = []
            if stale:
                self.fingerprint_warnings.append(
                    f"{stale} track(s) have fingerprints of an older format and cannot be identified "
                    "until `musicapp library add` has recomputed them"
                )
            if damaged:
                self.fingerprint_warnings.append(
                    f"{damaged} track(s) have damaged fingerprints and were left out of identification"
                )
        return self._fp_index

    def identify_samples(self, y8k: np.ndarray, threshold: float = DEFAULT_MATCH_THRESHOLD) -> Identification:
        """Identify 8 kHz mono samples."""
        match = self.fingerprint_index().match_samples(y8k)
        path = None
        if match is not None:
            t = self.store.track(match.track_id)
            path = t.path if t else None
        warnings = list(self.fingerprint_warnings)
        seconds = len(y8k) / fp.SAMPLE_RATE
        if seconds < MIN_CLIP_SECONDS:  # a "no match" alone would blame the library
            warnings.append(f"the clip is only {seconds:.1f} s long: too short to identify "
                            f"reliably (give at least {MIN_CLIP_SECONDS:g} s)")
        return Identification(match, threshold, path, warnings)

    def identify(self, clip: str | Path, threshold: float = DEFAULT_MATCH_THRESHOLD) -> Identification:
        """Identify a recording (any decodable audio file) from its first
        :data:`MAX_CLIP_SECONDS` (a longer recording says so in the warnings): the matcher's
        memory grows with the clip, and a 3-hour file took 10 GB."""
        from musicapp.audio import load_audio

        audio = load_audio(clip, sr=fp.SAMPLE_RATE, mono=True, duration=MAX_CLIP_SECONDS)
        total = float(audio.info.duration_s or 0.0)  # the whole file's, from its header
        y8k = np.ascontiguousarray(audio.samples, dtype=np.float32)
        result = self.identify_samples(y8k, threshold)
        if total > MAX_CLIP_SECONDS + 1.0:
            result.warnings.append(
                f"identified from the first {clock(MAX_CLIP_SECONDS)} of the "
                f"{clock(total)} recording")
        return result


def _num(value: object) -> float | None:
    """A finite number from a stored analysis, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if np.isfinite(value) else None


def _vector(value: object) -> np.ndarray | None:
    """A stored embedding as a finite float32 vector, else None."""
    if not isinstance(value, list) or not value:
        return None
    try:
        vec = np.asarray(value, np.float32).reshape(-1)
    except (TypeError, ValueError):
        return None
    return vec if np.all(np.isfinite(vec)) else None
