"""``musicapp chords``, ``musicapp train chords``, ``musicapp evaluate chords``,
``musicapp bench compose``: the composition assistant from the command line."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

from musicapp.cli._args import check_output_kind, file_name, finite_float, int_range, text
from musicapp.cli._text import shown
from musicapp.errors import ModelError, MusicappError
from musicapp.wording import signed

#: Largest ``--from-json`` file read (an analysis result is a few KB).
MAX_JSON_BYTES = 16 << 20

_EPILOG = """examples:
  musicapp chords --mood happy --key G -o idea.mid
  musicapp chords --valence -0.6 --arousal 0.7 --mode minor --length 16 --wav idea.wav
  musicapp chords --from-image sunset.jpg --lock 1=I --lock 4=V7/V --seed 3
  musicapp chords --from-audio song.flac --play
  musicapp chords --mood calm --progression "I V vi IV" --regenerate 2
"""


#: the most chords --progression takes (the positions --regenerate and --lock can name)
MAX_PROGRESSION = 64


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``musicapp chords``."""
    p = subparsers.add_parser(
        "chords", help="generate a chord progression that fits a mood and a key",
        description="Generate a chord loop with the ChordGRU model, conditioned on an emotion "
        "(mood name, valence/arousal point, an analysed track, or a picture), arrange it "
        "(voicings, bass, melody) and optionally write MIDI/WAV or play it.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_argument_group("emotion source (one of)")
    src.add_argument("--mood", type=text("mood"),
                     help="a mood name, e.g. happy, sad, calm, tense, epic, dreamy")
    src.add_argument("--valence", type=finite_float(-1, 1), help="valence in [-1, 1] (with --arousal)")
    src.add_argument("--arousal", type=finite_float(-1, 1), help="arousal in [-1, 1] (with --valence)")
    src.add_argument("--from-audio", metavar="FILE", type=file_name, help="analyse a track and "
                     "use its emotion (and its key unless --key is given)")
    src.add_argument("--from-json", metavar="FILE", type=file_name, help="use a saved "
                     "`musicapp analyze --json` result")
    src.add_argument("--from-image", metavar="IMG", type=file_name, help="derive valence/arousal from a "
                     "picture's colours (Valdez & Mehrabian 1994)")
    p.add_argument("--key", type=text("key"), help="key tonic, e.g. C, F#, Bb, or with mode: "
                   "'A minor', F#m (default: the analysed key, else C); a key that names its "
                   "mode and a --mode that says the other are refused")
    p.add_argument("--mode", choices=["major", "minor"], help="mode (default: from the key, "
                   "else from a --progression's tonic chord, i minor, I major, else minor for "
                   "negative valence); with --from-audio/--from-json it "
                   "replaces the analysed key's mode")
    p.add_argument("--length", type=int, default=None, choices=[4, 8, 16], help="chords "
                   "(default 8; with --from-midi: the chords `continue` adds; not with "
                   "--progression, whose length is its number of chords)")
    p.add_argument("--seed", type=int_range(0, 2**32 - 1), default=0,
                   help="random seed (same seed, same result)")
    p.add_argument("--temperature", type=finite_float(0, 10, lo_open=True), default=1.0,
                   help="sampling temperature in (0, 10] (default 1.0; lower = safer)")
    p.add_argument("--top-p", type=finite_float(0, 1, lo_open=True), default=0.95,
                   help="nucleus sampling mass in (0, 1] (0.95)")
    p.add_argument("--candidates", type=int_range(1, 256), default=8,
                   help="loops sampled and reranked, 1..256 (8)")
    p.add_argument("--lock", action="append", default=[], metavar="POS=CHORD",
                   help="keep CHORD (Roman numeral like V7/V, bVI, iv, or a token like V:7) at "
                   "1-based position POS; repeatable, one chord per position; a lock wins over "
                   "the tonic start and the cadence (not with --from-midi)")
    p.add_argument("--progression", metavar="CHORDS", type=str, help="start from this loop (Roman "
                   "numerals, chord symbols' numerals like i9, iiø7, V7b9, or tokens, "
                   "space-separated, e.g. 'I V vi IV'); alone it is arranged and written as given, "
                   "with --regenerate / --regenerate-from only those chords are regenerated; "
                   "typed chords (and --lock chords) keep the quality typed, the jazz style's "
                   "colours (m9, 7(b9)) are for chords the model chooses")
    p.add_argument("--regenerate", type=int_range(1, 64), action="append", default=[], metavar="POS",
                   help="with --progression: regenerate the chord at 1-based POS (repeatable; not "
                   "with --regenerate-from)")
    p.add_argument("--regenerate-from", type=int_range(1, 64), metavar="POS", help="with --progression: "
                   "keep chords before POS and regenerate the rest")
    p.add_argument("--alternatives", type=int_range(1, 64), metavar="POS",
                   help="list the 5 most probable other chords for 1-based POS of the loop "
                   "(the given --progression, else the generated one), with probabilities and "
                   "the current chord's own; fewer where the loop's rules allow fewer (the "
                   "first chord is a tonic chord, the last a cadence chord)")
    p.add_argument("--meter", type=text("meter"),
                   help="time signature, e.g. 4/4, 3/4, 6/8 (default: the analysed "
                   "track's or clip's, else 4/4)")
    p.add_argument("--from-midi", metavar="CLIP.mid", type=file_name, help="start from a MIDI "
                   "clip: its chords, key, meter and tempo are recognised, then --midi-action")
    p.add_argument("--midi-action", choices=["continue", "reharmonise", "fill"],
                   default=None, help="with --from-midi: continue the clip's progression "
                   "by --length chords, reharmonise it (new chords, same rhythm), or fill its "
                   "silent/unclear spans (default continue)")
    p.add_argument("--chords-per-bar", default="auto", choices=["1", "2", "auto"],
                   help="harmonic rhythm: 1 or 2 chords in every bar, or auto (one or two per "
                   "bar, chosen by the model; 4 or 8 bars for 8 chords, a power of two). Default auto")
    p.add_argument("--melody", choices=["chord-tone", "learned"], default="chord-tone",
                   help="melody: chord tones on strong beats (default) or the small model "
                   "learned from POP909 and OpenEWLD melodies")
    p.add_argument("--style", type=text("style"),
                   help="style the model leans towards: pop (pop/rock/soul), cpop "
                   "(C-pop ballad), jazz (standards), chorale, or any (default)")
    p.add_argument("--max-nondiatonic", type=int_range(0, 16), default=2, help="cap on chords outside the "
                   "scale (default 2)")
    p.add_argument("--no-tonic-start", action="store_true", help="do not force a tonic start")
    p.add_argument("--no-cadence", action="store_true", help="do not force a cadential last chord")
    p.add_argument("--pattern", choices=["block", "arpeggio", "strum", "pop"],
                   help="chord rhythm (default: follows arousal)")
    p.add_argument("--tempo", type=finite_float(20, 400), help="tempo in quarter notes a "
                   "minute, 20..400, as in the MIDI file and a DAW's tempo field (in 6/8 the "
                   "felt dotted-quarter beat is 2/3 of it: --tempo 90 is 60 dotted quarters a "
                   "minute); default: follows arousal")
    p.add_argument("-o", "--output", type=file_name, metavar="OUT.mid", help="write a MIDI file")
    p.add_argument("--wav", type=file_name, metavar="OUT.wav",
                   help="render the arrangement to a WAV file")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--play", action="store_true", help="play the arrangement")
    p.add_argument("--soundfont", type=file_name, help="soundfont (.sf2/.sf3) for --wav/--play "
                   "(only with one of them)")
    p.add_argument("--model", type=file_name, help="weights file (default: the shipped chordgru.safetensors)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run_chords)


def _emotion(args: argparse.Namespace):
    from musicapp.compose import emotion as emo

    given = [x for x in (args.mood, args.from_audio, args.from_image, args.from_json) if x]
    if args.valence is not None or args.arousal is not None:
        if args.valence is None or args.arousal is None:
            raise MusicappError("--valence and --arousal go together")
        given.append("va")
    if len(given) > 1:
        raise MusicappError("choose one emotion source: --mood, --valence/--arousal, "
                            "--from-audio, --from-json or --from-image")
    if args.mood:
        return emo.from_mood(args.mood)
    if args.valence is not None:
        return emo.from_va(args.valence, args.arousal)
    if args.from_image:
        return _from_image(args.from_image)
    if args.from_json:
        args.analysis = {}
        return _from_json(args.from_json, args.analysis)
    if args.from_audio:
        try:
            from musicapp.analysis_cache import analyze_cached
        except ImportError as exc:
            raise MusicappError("track analysis is not available in this installation "
                                f"({exc})") from exc
        args.analysis = analyze_cached(args.from_audio).to_dict()
        _refuse_no_mood(args.from_audio, args.analysis)
        return emo.from_analysis(args.analysis)
    return None


def _refuse_no_mood(path: str, result: dict) -> None:
    """``--from-audio`` on a track the analysis found no music in (silent, too short, damaged)
    or whose mood tagger failed: say which file and why, instead of "analysis result has
    neither valence/arousal nor known moods"."""
    status = result.get("status")
    duration = result.get("duration_s")
    length = f" ({duration:.2f} s)" if isinstance(duration, int | float) else ""
    damaged = next((w for w in result.get("warnings") or [] if str(w).startswith("damaged")), None)
    why = {
        "silence": "it is silent (nothing above the silence level)",
        "too short": f"it is too short{length} for a mood to be heard",
        "damaged": f"it is damaged ({damaged or 'too many samples are not audio'})",
    }.get(str(status))
    if why is None and result.get("valence") is None and not result.get("moods"):
        failed = (result.get("errors") or {}).get("tags")
        moods_status = result.get("moods_status")
        if failed:
            why = f"the mood tagger failed ({failed})"
        elif isinstance(moods_status, str) and moods_status:
            why = f"{moods_status}{length}"  # e.g. "too short for moods (0.50 s)"
    if why:
        raise MusicappError(f"{shown(path)}: no mood to follow: {why}; give another track or "
                            "--valence/--arousal or --mood")


def _track_rhythm(analysis: dict, tempo: float | None, meter: str | None, said: list[str]
                  ) -> tuple[float | None, str | None]:
    """The analysed track's tempo and meter where the user gave none (stated when unusable)."""
    import math

    from musicapp.compose.rhythm import Meter

    if tempo is None:
        bpm = analysis.get("tempo_bpm")
        if isinstance(bpm, int | float) and math.isfinite(bpm) and 20 <= bpm <= 400:
            tempo = float(bpm)
        elif bpm is not None:
            said.append(f"the track's tempo {bpm!r} is unusable; tempo follows arousal")
    if meter is None and analysis.get("meter"):
        try:
            meter = Meter.parse(str(analysis["meter"])).text
        except MusicappError:
            said.append(f"the track's meter {analysis['meter']!r} is unusable; using 4/4")
    return tempo, meter


def _regular_input(path: str, what: str) -> Path:
    """``path`` as a regular file (a FIFO or device would block or never end)."""
    import stat

    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise MusicappError(f"{p}: {what} does not exist") from None
    except OSError as exc:
        raise MusicappError(f"{p}: cannot read {what} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise MusicappError(f"{p}: not a regular file; {what} is read from regular files only")
    return p


def _from_image(path: str):
    """Emotion of a picture, refusing non-regular files, and decompression bombs from their
    header before decoding (:func:`musicapp.compose.emotion.check_image_size`, the limit the GUI
    uses too)."""
    from musicapp.compose import emotion as emo

    p = _regular_input(path, "the picture")
    try:
        return emo.from_image(p)
    except (ValueError, MemoryError) as exc:
        raise MusicappError(f"{p}: not a readable image ({exc})") from None


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def _from_json(path: str, args_analysis: dict):
    """Emotion of a saved ``analyze --json`` result; any malformed content is a clear error."""
    import math

    from musicapp.compose import emotion as emo

    p = _regular_input(path, "the analysis JSON")
    if p.stat().st_size > MAX_JSON_BYTES:
        raise MusicappError(f"{p}: too large for an analysis result (over {MAX_JSON_BYTES >> 20} MB)")
    try:
        text = p.read_bytes().decode("utf-8")
        first = text.strip().splitlines()[0] if text.strip() else ""
        try:
            result = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError:  # `analyze --json` prints JSON Lines: take the first
            result = json.loads(first, parse_constant=_reject_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MusicappError(f"{p}: cannot read analysis JSON ({str(exc)[:200]})") from None
    if not isinstance(result, dict):
        raise MusicappError(f"{p}: not an analysis result (expected a JSON object, got "
                            f"{type(result).__name__})")
    try:
        em = emo.from_analysis(result)
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError, RecursionError) as exc:
        raise MusicappError(f"{p}: not a usable analysis result ({str(exc)[:200]})") from None
    if not (math.isfinite(em.valence) and math.isfinite(em.arousal)):
        raise MusicappError(f"{p}: the analysis result has no finite valence/arousal")
    args_analysis.clear()
    args_analysis.update(result)
    return em


def _load_model(path: str | None):
    """The chord model; the sidecar is validated first and an unfit file is a ModelError."""
    from musicapp.compose.model import DEFAULT_WEIGHTS, ChordModel

    if path is not None:
        from musicapp.models.weights import expected_sha256

        p = Path(path)
        if not p.is_file():
            raise ModelError(f"{p}: weights file not found (or not a regular file)")
        expected_sha256(p)
    try:
        return ChordModel.load(path)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelError(f"{path or DEFAULT_WEIGHTS}: not a chord model weights file "
                         f"({str(exc)[:200]})") from None


def _check_combinations(args: argparse.Namespace) -> None:
    """Refuse options that would be ignored or that contradict each other (each used to be
    accepted silently: the musician got a loop that did not do what was asked)."""
    if args.progression is None:
        if args.regenerate or args.regenerate_from is not None:
            raise MusicappError("--regenerate and --regenerate-from need --progression (the "
                                "loop whose chords are regenerated)")
    elif args.length is not None:
        raise MusicappError(f"--length {args.length} and --progression: the progression's "
                            "length is its number of chords; drop --length")
    if args.regenerate and args.regenerate_from is not None:
        raise MusicappError("give --regenerate POS or --regenerate-from POS, not both")
    if args.midi_action is not None and not args.from_midi:
        raise MusicappError(f"--midi-action {args.midi_action} needs --from-midi CLIP.mid")
    if args.from_midi and args.lock:
        raise MusicappError("--lock and --from-midi: the clip's chords are kept (continue, fill) "
                            "or all replaced (reharmonise); a lock would not be applied")
    if args.from_midi and args.length is not None and args.midi_action in ("reharmonise", "fill"):
        raise MusicappError(f"--length and --midi-action {args.midi_action}: the result has the "
                            "clip's length; --length is how many chords `continue` adds")
    if args.soundfont and not (args.wav or args.play):
        raise MusicappError("--soundfont is used by --wav and --play only; add one of them")
    if args.key and args.mode:
        stated = _stated_mode(args.key)
        if stated is not None and stated != args.mode:
            raise MusicappError(f"--key {args.key!r} is {stated} but --mode says {args.mode}; "
                                f"give one of them (e.g. --key {args.key!r} alone)")


def _stated_mode(key_text: str) -> str | None:
    """The mode ``key_text`` names itself (``"A minor"``, ``"Am"``, ``"a"``, ``"C major"``), or
    ``None`` for a bare tonic (``"C"``, ``"F#"``, ``"Bb"``), which takes --mode."""
    import re

    from musicapp.compose.theory import Key

    if re.fullmatch(r"[A-G](?:##|bb|[#b♯♭x])?", key_text.strip()):
        return None
    return Key.parse(key_text).mode  # an unreadable key is reported here, naming it


def _progression_mode(args: argparse.Namespace, key, said: list[str]):
    """The key's mode as a typed ``--progression`` names it: a lowercase tonic (i, i7) is
    minor, I is major. It decides where the user named no mode (a bare ``--key D``, no key),
    over the emotion's or the analysed track's mode; a mode the user named (``--key 'D
    major'``, ``--mode``) that the tonic chord contradicts is kept, and said."""
    from musicapp.compose.theory import Key, tonic_mode

    if not args.progression:
        return key
    typed = tonic_mode(args.progression.split())
    if typed is None or typed == key.mode:
        return key
    named = args.mode or (_stated_mode(args.key) if args.key else None)
    if named is None:
        return Key(key.tonic, typed)
    tonic = "i" if typed == "minor" else "I"
    said.append(f"the progression's tonic chord is {tonic} ({typed}) but the key given is "
                f"{key.name}; kept {key.name}, so {tonic} is a chord borrowed from "
                f"{key.tonic} {typed} (a bare --key {key.tonic} follows the progression)")
    return key


def _locks(items: list[str], n_chords: int, loop: str, mode: str) -> dict[int, str]:
    """``--lock POS=CHORD`` items as ``{0-based position: token}``. The same chord locked twice
    at a position is one lock; two different chords at one position are refused (the last one
    silently won)."""
    from musicapp.compose.theory import ChordToken

    locked: dict[int, str] = {}
    given: dict[int, str] = {}
    for item in items:
        pos, _, chord = item.partition("=")
        if not pos.strip().isdecimal() or not chord.strip():
            raise MusicappError(f"--lock {item!r}: expected POS=CHORD, e.g. 4=V7")
        index = int(pos) - 1
        if not 0 <= index < n_chords:
            raise MusicappError(f"--lock {item!r}: position outside {loop}")
        token = ChordToken.parse(chord.strip(), mode).token
        if index in locked and locked[index] != token:
            raise MusicappError(f"--lock {given[index]!r} and --lock {item!r}: two different "
                                f"chords locked at position {index + 1}; keep one")
        locked[index], given[index] = token, item
    return locked


def run_chords(args: argparse.Namespace) -> int:
    """Generate, arrange, print, and write/play as asked."""
    from musicapp.compose.arrange import arrange
    from musicapp.compose.conditioning import check_style
    from musicapp.compose.generate import Constraints, Generator, Progression
    from musicapp.compose.rhythm import (
        Meter,
        beat_bpm,
        beat_unit_text,
        fixed_plan,
        length_text,
        plan_beats,
        tempo_text,
    )
    from musicapp.compose.theory import ChordToken, Key, conventional_key
    from musicapp.outputs import check_outputs

    _check_combinations(args)
    if args.length is None:
        args.length = 8
    if args.midi_action is None:
        args.midi_action = "continue"
    # Every output is checked before any work or any write: no partial output.
    check_outputs([args.output, args.wav], overwrite=args.overwrite,
                  inputs=[args.from_audio, args.from_json, args.from_image, args.from_midi,
                          args.soundfont, args.model])
    check_output_kind(args.output, "MIDI", "-o/--output")
    check_output_kind(args.wav, "WAV", "--wav")
    args.analysis = None
    em = _emotion(args)
    if args.from_midi and args.progression:
        raise MusicappError("--from-midi and --progression are two starting points; give one")
    said: list[str] = []
    if args.mood:  # a synonym is used as its mood word: say which (issue 16's one vocabulary)
        from musicapp.moods import substitution_note

        said += [n for n in [substitution_note(args.mood)] if n]
    em_key = em.key if em is not None else None
    if em_key and not args.key:
        try:
            Key.parse(em_key)
        except MusicappError:  # like an unusable tempo or meter: stated, not fatal
            said.append(f"the track's key {em_key!r} is unusable; the key follows the emotion")
            em_key = None
    key = Key.parse(args.key) if args.key else (
        conventional_key(Key.parse(em_key)) if em_key else Key("C"))
    if args.mode:
        key = Key(key.tonic, args.mode)
    elif args.key and _stated_mode(args.key) is None:
        # a bare tonic ("D") names no mode: the analysed key's, else the emotion's (minor for
        # negative valence), as --help says; a clip's own mode is read from the clip
        if em_key:
            key = Key(key.tonic, Key.parse(em_key).mode)
        elif em is not None and not args.from_midi:
            key = Key(key.tonic, em.suggested_mode)
    elif not args.key and not em_key and em is not None:
        key = Key(key.tonic, em.suggested_mode)
    key = _progression_mode(args, key, said)
    usual = conventional_key(key)
    if usual.tonic != key.tonic and not key.has_signature():
        # E# major, Fb minor, A# major ...: their scales need double sharps or flats (C##m).
        said.append(f"{key.tonic} {key.mode} has no key signature of its own (its chords would "
                    f"need double sharps or flats); written as {usual.tonic} {usual.mode}")
        key = usual
    tempo, meter_text = args.tempo, args.meter
    if args.analysis:  # the analysed track's tempo and meter, unless given
        tempo, meter_text = _track_rhythm(args.analysis, tempo, meter_text, said)
    if em is None and not args.from_midi:
        from musicapp.compose import emotion as emo

        em = emo.from_va(0.3, 0.0)
    # with --progression a lock names a chord of that progression (not of a --length loop)
    given = args.progression is not None
    n_chords = len(args.progression.split()) if given else args.length
    if given and not 1 <= n_chords <= MAX_PROGRESSION:
        # 10,000 chords rendered to --wav ran out of memory with a traceback
        raise MusicappError(f"--progression has {n_chords} chords: give 1 to {MAX_PROGRESSION} "
                            "(a loop; longer pieces are built from loops in the DAW)")
    loop = f"the {n_chords}-chord progression" if args.progression else f"a loop of {n_chords}"
    locked = _locks(args.lock, n_chords, loop, key.mode)
    typed_locks = {p: ChordToken.parse(t) for p, t in locked.items()}  # as typed (i7, i9)
    meter = Meter.parse(meter_text or "4/4")
    style = check_style(args.style)
    if style == "jazz":  # a lock typed as the jazz style shows it (i9, V7b9): its seventh chord
        from musicapp.compose.jazz import uncoloured

        locked = {p: uncoloured(ChordToken.parse(t), key.mode).token for p, t in locked.items()}
    cons = Constraints(length=args.length, start_on_tonic=not args.no_tonic_start,
                       cadence=not args.no_cadence, max_nondiatonic=args.max_nondiatonic,
                       locked=locked, chords_per_bar=args.chords_per_bar, meter=meter)
    gen = Generator(_load_model(args.model))
    kw = {"candidates": args.candidates, "temperature": args.temperature, "top_p": args.top_p,
          "style": style}
    if args.from_midi:
        from musicapp.compose.from_clip import idea_from_clip

        _regular_input(args.from_midi, "the MIDI clip")
        idea = idea_from_clip(
            args.from_midi, gen, action=args.midi_action,
            key=key if (args.key or args.mode) else None,
            valence=None if em is None else em.valence,
            arousal=None if em is None else em.arousal, length=args.length, seed=args.seed,
            candidates=args.candidates, style=style, constraints=cons,
            temperature=args.temperature, top_p=args.top_p)
        prog, key, meter = idea.progression, idea.key, idea.clip.meter
        from musicapp.compose.emotion import Emotion

        em = em or Emotion(prog.valence, prog.arousal, f"clip:{Path(args.from_midi).name}")
        tempo = tempo or idea.clip.tempo_bpm
        said.append(f"clip: {idea.clip.meter.text}, "
                    f"{tempo_text(idea.clip.tempo_bpm, idea.clip.meter)}, key "
                    f"{idea.key.name}; recognised: " + " ".join(
                        "-" if r.token is None else r.token.name(idea.key)
                        for r in idea.recognised))
    elif args.progression:
        toks = [ChordToken.parse(t, key.mode) for t in args.progression.split()]
        if len(toks) < 2:
            raise MusicappError("--progression needs at least 2 chords")
        for pos, token in typed_locks.items():  # a locked chord replaces the given one (the
            toks[pos] = token  # kept chords ignored the lock)
        typed = dict(enumerate(toks))  # each plays and is named exactly as typed
        if style == "jazz":  # i9, V7b9 as the jazz style shows them: the i7, V7 it colours
            from musicapp.compose.jazz import uncoloured

            toks = [uncoloured(t, key.mode) for t in toks]
        for pos in [*args.regenerate, args.regenerate_from or 1, args.alternatives or 1]:
            if not 1 <= pos <= len(toks):
                raise MusicappError(f"position {pos} outside the {len(toks)}-chord progression")
        cpb = args.chords_per_bar if args.chords_per_bar != "auto" else "1"
        beats = plan_beats(fixed_plan(len(toks), cpb), meter)
        base = Progression(key, toks, beats, em.valence, em.arousal, meter=meter, style=style,
                           typed=typed)
        cons.length = len(toks)
        cons.max_nondiatonic = max(args.max_nondiatonic,
                                   sum(not t.is_diatonic(key.mode) for t in toks))
        if args.regenerate_from is not None:
            prog = gen.regenerate(base, from_position=args.regenerate_from - 1,
                                  constraints=cons, seed=args.seed, **kw)
        elif args.regenerate:
            prog = gen.regenerate(base, [p - 1 for p in args.regenerate], constraints=cons,
                                  seed=args.seed, **kw)
        else:
            prog = base
    else:
        if args.alternatives is not None and args.alternatives > args.length:
            raise MusicappError(f"--alternatives {args.alternatives}: outside a loop of "
                                f"{args.length}")
        prog = gen.generate(em.valence, em.arousal, key, cons, seed=args.seed, **kw)
    if not args.from_midi:  # a locked chord plays and is named as typed (the jazz colours
        prog.typed.update(typed_locks)  # belong to the chords the generator chose)
    alts, current_p = None, None
    if args.alternatives is not None:
        alts, current_p = gen.ranked_alternatives(prog, args.alternatives - 1, constraints=cons)
    arr = arrange(prog, pattern=args.pattern, tempo_bpm=tempo, seed=args.seed,
                  melody=args.melody)
    audio = None
    if args.wav or args.play:
        from musicapp.compose.preview import render_arrangement

        audio = render_arrangement(arr, 44100, soundfont=args.soundfont)
    _write_outputs(args, arr, audio)
    if args.json:
        from musicapp.compose.midi_export import chord_program

        print(json.dumps({
            "key": key.name, "valence": em.valence, "arousal": em.arousal, "source": em.source,
            "chords": prog.names, "roman": prog.romans, "harte": prog.harte,
            "tokens": [t.token for t in prog.tokens], "beats": prog.beats,
            "lengths": [length_text(b, meter) for b in prog.beats],
            "beat_unit": beat_unit_text(meter),
            "tempo_bpm": arr.tempo_bpm, "tempo_unit": "quarter",
            "beat_bpm": round(beat_bpm(arr.tempo_bpm, meter), 3), "pattern": arr.pattern,
            "loglik": prog.loglik,
            "chord_program": chord_program(arr.pattern),
            "meter": meter.text, "bars": prog.bars, "style": style,
            "notes": said + prog.notes,
            "alternatives": None if alts is None else {
                "position": args.alternatives, "current": prog.names[args.alternatives - 1],
                "current_probability": current_p,
                "ranked": [{"chord": a.name, "roman": a.roman, "token": a.token.token,
                            "probability": a.probability} for a in alts]},
            "midi": args.output, "wav": args.wav}, indent=1))
    else:
        print(f"{key.name}  (valence {signed(em.valence)}, arousal {signed(em.arousal)} from "
              f"{em.source}; {tempo_text(arr.tempo_bpm, meter)}, {meter.text}, {prog.bars:g} bars, "
              f"{arr.pattern})")
        print("  ".join(prog.names))
        print("  ".join(prog.romans))
        print("  ".join(length_text(b, meter) for b in prog.beats)
              + f"  (beat = {beat_unit_text(meter)})")
        for note in said + prog.notes:
            print(f"note: {shown(note)}", file=sys.stderr)
        if alts is not None:
            now = prog.names[args.alternatives - 1]
            if current_p is not None:
                now += f", itself {100 * current_p:.1f}%"
            print(f"alternatives for position {args.alternatives} ({now}; probabilities "
                  "given the rest of the loop):")
            for a in alts:
                print(f"  {a.name:8s} {a.roman:8s} {100 * a.probability:5.1f}%")
        for path in (args.output, args.wav):
            if path:
                print(f"wrote {shown(path)}")
    if args.play:
        from musicapp.synth import play

        play(audio, 44100)
    return 0


def _write_outputs(args: argparse.Namespace, arr, audio) -> None:
    """Write the MIDI and WAV files (both already checked), all or nothing: each is first
    written completely to a hidden file beside its target, and only when both are complete are
    they renamed into place (a rename needs no space). Before, ``--overwrite`` on a nearly full
    disk replaced idea.mid, then failed on the WAV and said "nothing was changed"."""
    from musicapp.outputs import _place, _temp_prefix, remove_stale_temporaries, write_target

    targets = [(args.output, "MIDI"), (args.wav, "WAV")]
    staged: list[tuple[Path, Path, str]] = []  # (complete hidden file, target, given name)
    try:
        for given, kind in targets:
            if not given:
                continue
            final = write_target(Path(given))
            remove_stale_temporaries(final)
            tmp = final.parent / f"{_temp_prefix(final)}{secrets.token_hex(4)}.tmp{final.suffix}"
            staged.append((tmp, final, given))
            try:
                if kind == "MIDI":
                    from musicapp.compose.midi_export import write_midi

                    write_midi(arr, tmp, overwrite=True)
                else:
                    _write_wav(str(tmp), audio, 44100, True)
            except OSError as exc:
                raise MusicappError(f"{given}: cannot write the {kind} file "
                                    f"({exc.strerror or exc}); nothing was changed") from None
            except MusicappError as exc:
                raise type(exc)(str(exc).replace(str(tmp), given)) from None
        placed: list[str] = []
        for tmp, final, given in staged:
            try:
                _place(str(tmp), final, args.overwrite)
            except (OSError, MusicappError) as exc:
                done = (f"{', '.join(placed)} was already written" if placed
                        else "nothing was changed")
                raise MusicappError(f"{given}: cannot put the file in place "
                                    f"({getattr(exc, 'strerror', None) or exc}); {done}") from None
            placed.append(given)
    finally:
        for tmp, _, _ in staged:
            tmp.unlink(missing_ok=True)


def _write_wav(path: str, audio, sr: int, overwrite: bool) -> None:
    """Atomic 16-bit WAV via the project's writer; ``audio`` is ``(channels, n)``."""
    from musicapp.audio import write_wav
    from musicapp.errors import FileExistsRefusal

    if os.path.exists(path) and not overwrite:
        raise FileExistsRefusal(f"{path}: file exists; use --overwrite to replace it")
    write_wav(path, audio, sr)
