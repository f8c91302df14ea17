"""The long fuzz run of issue 14: hostile WAV/FLAC headers, mutated files and CLI arguments.

Usage (from the repository root)::

    python -m tests.attack.long_fuzz --cases 10000 [--seed 0] [--json report.json]

Cases rotate over five kinds: WAV headers (every field chosen), FLAC STREAMINFO fields, byte
mutations and cuts of valid WAV/FLAC/MP3/OGG files, numeric CLI options (parsed), and full
``musicapp chords`` runs. Each case must end in a clear refusal (``AudioDecodeError``, an argparse
error) or in finite audio / a valid result, within 30 s; the process runs under a 4 GiB address
space limit so a runaway allocation shows as a failure, not a dead machine. Prints the counts
per kind and outcome and each failure with the parameters that reproduce it; exits 1 on any.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import soundfile as sf

from tests.attack import fuzzcases as fc
from tests.attack.hostile import tone

KINDS = ("wav-header", "flac-header", "mutation", "cli-parse", "chords-run")
CASE_SECONDS = 30


class _Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise _Hang(f"no result after {CASE_SECONDS} s")


def _seeds() -> dict[str, bytes]:
    out = {}
    for ext, fmt, subtype in (("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_16"),
                              ("mp3", "MP3", "MPEG_LAYER_III"), ("ogg", "OGG", "VORBIS")):  # fmt: skip
        buf = io.BytesIO()
        sf.write(buf, tone(1.0, 22050), 22050, format=fmt, subtype=subtype)
        out[ext] = buf.getvalue()
    return out


def _pick_int(rng: random.Random, edges: list[int], hi: int) -> int:
    return rng.choice(edges) if rng.random() < 0.4 else rng.randint(0, hi)


def _run_case(kind: str, rng: random.Random, folder: Path, seeds: dict[str, bytes], params: dict) -> str:
    """Draw one case of ``kind`` into ``params`` (before running it, so a failure can be replayed)."""
    if kind == "wav-header":
        params.update({
            "payload": rng.randint(0, 8192),
            "rate": _pick_int(rng, [0, 1, 999, 1000, 8000, 44100, 768_000, 768_001], 2**32 - 1),
            "channels": _pick_int(rng, [0, 1, 2, 64, 65, 65535], 65535),
            "bits": rng.choice([0, 1, 7, 8, 12, 16, 24, 32, 64, 65535]),
            "fmt_tag": rng.choice([0, 1, 2, 3, 6, 7, 0x55, 0xFFFE, 0x1234]),
            "data_size": rng.choice([None, 0, 1, 0xFFFFFFFF, rng.randint(0, 2**32 - 1)]),
            "riff_size": rng.choice([None, rng.randint(0, 2**32 - 1)]),
            "seed": rng.randint(0, 2**31),
        })
        if rng.random() < 0.4:  # a plausible format whose sizes lie
            params["rate"] = rng.choice([8000, 22050, 44100, 96000])
            params["channels"] = rng.choice([1, 2, 6])
            params["bits"] = rng.choice([8, 16, 24, 32])
            params["fmt_tag"] = rng.choice([1, 3, 0xFFFE])
        return fc.check_decode(fc.wav_case(folder, **params))
    if kind == "flac-header":
        params.update({
            "rate": _pick_int(rng, [0, 1, 999, 1000, 22050, 655350, 2**20 - 1], 2**20 - 1),
            "channels_m1": rng.randint(0, 7), "bps_m1": rng.randint(0, 31),
            "total": _pick_int(rng, [0, 1, 11025, 22050, 2**36 - 1], 2**36 - 1),
            "min_block": rng.choice([0, 16, 4096, 65535]), "max_block": rng.choice([0, 16, 4096, 65535]),
        })  # fmt: skip
        if rng.random() < 0.4:  # the real format, lying lengths and block sizes
            params.update({"rate": 22050, "channels_m1": 0, "bps_m1": 15})
        return fc.check_decode(fc.flac_case(folder, seeds["flac"], **params))
    if kind == "mutation":
        ext = rng.choice(sorted(seeds))
        size = len(seeds[ext])
        params.update({
            "ext": ext,
            "edits": [
                (rng.randrange(min(size, 256) if rng.random() < 0.5 else size), rng.randrange(256))
                for _ in range(rng.randint(1, 16))
            ],
            "cut": rng.choice([None, rng.randrange(size + 1)]),
        })
        return fc.check_decode(fc.mutated_case(folder, seeds[ext], **params))
    command = "chords" if kind == "chords-run" else rng.choice(["chords", "record", "analyze"])
    options = [o for o in fc.NUMERIC_OPTIONS if o[0] == command]
    chosen = rng.sample(options, rng.randint(1, min(3, len(options))))
    values = {}
    for _, option, is_int in chosen:
        r = rng.random()
        if r < 0.35:
            values[option] = rng.choice(fc.NASTY_VALUES)
        elif r < 0.7:
            values[option] = str(rng.randint(-(10**6), 10**6) if is_int else rng.uniform(-500, 500))
        else:
            values[option] = str(rng.randint(0, 300) if is_int else rng.uniform(0, 2))
    argv = fc.cli_argv(command, values)
    params["argv"] = argv
    if kind == "chords-run":
        return fc.check_chords_run(argv)
    return fc.check_cli_parse(argv)


def run(cases: int, seed: int) -> dict:
    """Run ``cases`` cases; return the counts and failures."""
    rng = random.Random(seed)
    seeds = _seeds()
    counts: Counter[str] = Counter()
    failures: list[dict] = []
    signal.signal(signal.SIGALRM, _alarm)
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        for i in range(cases):
            kind = KINDS[i % len(KINDS)] if rng.random() < 0.9 else "chords-run"
            if kind == "chords-run" and rng.random() < 0.7:
                kind = "cli-parse"  # full runs are slower; keep them at about 5 % of the cases
            params: dict = {}
            signal.alarm(CASE_SECONDS)
            try:
                outcome = _run_case(kind, rng, folder, seeds, params)
            except BaseException as exc:  # every escape is a finding
                if isinstance(exc, KeyboardInterrupt):
                    raise
                outcome = "FAIL"
                failures.append({"case": i, "kind": kind, "params": params, "error": repr(exc)[:500],
                                 "where": traceback.format_exc(limit=3)[-800:]})  # fmt: skip
            finally:
                signal.alarm(0)
            counts[f"{kind}:{outcome}"] += 1
            if (i + 1) % 1000 == 0:
                print(f"[long_fuzz] {i + 1}/{cases} cases, {len(failures)} failures, "
                      f"{time.monotonic() - start:.0f} s", flush=True)  # fmt: skip
    return {"cases": cases, "seed": seed, "seconds": round(time.monotonic() - start, 1),
            "counts": dict(sorted(counts.items())), "failures": failures}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: run, print a summary, exit 1 on any failure."""
    ap = argparse.ArgumentParser(prog="python -m tests.attack.long_fuzz", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mem-gib", type=float, default=4.0, help="address-space limit (GiB)")
    ap.add_argument("--json", help="also write the report as JSON")
    args = ap.parse_args(argv)
    cap = int(args.mem_gib * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    report = run(args.cases, args.seed)
    for key, n in report["counts"].items():
        print(f"  {key:28s} {n}")
    for f in report["failures"][:20]:
        print(f"FAIL case {f['case']} {f['kind']} {f['params']}: {f['error']}")
    print(f"{report['cases']} cases in {report['seconds']} s (seed {report['seed']}): "
          f"{len(report['failures'])} failures")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
