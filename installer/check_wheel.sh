#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtual environment (outside the checkout, so nothing
# can be found through the source tree), and run `musicapp analyze` and `musicapp chords -o`
# there. Proves the wheel carries its models and needs neither the lab nor the checkout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '\033[1m[musicapp wheel]\033[0m %s\n' "$*"; }
PY="${PYTHON:-python3}"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
"$ROOT/.venv/bin/python" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/dist" "$ROOT" \
  2>&1 | grep -v "^WARNING: Location" || true
WHEEL="$(ls "$WORK"/dist/musicapp-*.whl)"
say "built $(basename "$WHEEL") ($(du -h "$WHEEL" | cut -f1))"
"$PY" -m venv "$WORK/venv"
VPIP=("$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check)
"${VPIP[@]}" torch==2.13.0 2>&1 | grep -v "^WARNING: Location" || true
"${VPIP[@]}" "$WHEEL" 2>&1 | grep -v "^WARNING: Location" || true
cd "$WORK"  # away from the checkout
export MUSICAPP_DATA_DIR="$WORK/data" NUMBA_CACHE_DIR="$WORK/numba"
"$WORK/venv/bin/python" - <<'PY'
import math, struct, wave
sr, frames = 22050, []
for root in [220.0, 174.61, 261.63, 196.0] * 2:
    for i in range(sr):
        t = i / sr
        frames.append(sum(0.2 * math.sin(2 * math.pi * root * r * t) for r in (1, 1.19, 1.5)))
with wave.open("song.wav", "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(sr)
    w.writeframes(b"".join(struct.pack("<h", int(v * 30000)) for v in frames))
PY
"$WORK/venv/bin/musicapp" analyze --json song.wav > analysis.json
"$WORK/venv/bin/python" - <<'PY'
import importlib.util, json
r = json.load(open("analysis.json"))
assert r["status"] == "ok" and r.get("key") and r.get("moods") and r.get("hash"), r
assert not r.get("errors"), r["errors"]
assert importlib.util.find_spec("musicapp_lab") is None, "the lab must not be installed with the wheel"
print(f"[musicapp wheel] analyze: key {r['key']['tonic']} {r['key']['mode']}, hash {r['hash']}")
PY
"$WORK/venv/bin/musicapp" chords --mood calm --key "A minor" -o idea.mid >/dev/null
[[ "$(head -c 4 idea.mid)" == "MThd" ]] || { echo "chords -o wrote no MIDI" >&2; exit 1; }
if "$WORK/venv/bin/musicapp" train --help >/dev/null 2>&1; then
  echo "the product CLI offers lab commands without the lab" >&2; exit 1
fi
say "installed wheel works outside the checkout: analyze, chords -o (no lab commands)"
