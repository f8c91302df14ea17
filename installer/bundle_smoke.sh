#!/usr/bin/env bash
# Smoke-test a built bundle folder (default: the newest build/bundle/musicapp-*): install it into
# a temporary prefix with its install.sh, then, from the installed copy only: --version, analyse a
# generated WAV (JSON checked), write a chord idea as MIDI (header checked), and start the GUI
# offscreen with the file, let it analyse and quit. Prints the cold start to a visible window.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STAGE="${1:-$(ls -d "$ROOT"/build/bundle/musicapp-*/ 2>/dev/null | sort | tail -n 1)}"
[[ -d "$STAGE" ]] || { echo "bundle_smoke.sh: no bundle folder (build one with installer/build_bundle.sh)" >&2; exit 2; }
say() { printf '\033[1m[musicapp smoke]\033[0m %s\n' "$*"; }
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
export PREFIX="$WORK/prefix" HOME="$WORK/home" MUSICAPP_DATA_DIR="$WORK/data" XDG_CONFIG_HOME="$WORK/config"
mkdir -p "$HOME"
"$STAGE/install.sh" >/dev/null
APP="$PREFIX/bin/musicapp"
say "installed: $("$APP" --version)"
python3 - "$WORK/song.wav" <<'PY'
import math, struct, sys, wave
sr, out = 22050, []
for bar, root in enumerate([261.63, 220.0, 174.61, 196.0] * 3):  # C Am F G, 2 s each, with a kick
    for i in range(2 * sr):
        t = i / sr
        v = sum(0.18 * math.sin(2 * math.pi * root * r * t) for r in (1, 1.26, 1.5))
        v += 0.3 * math.exp(-(t % 0.5) * 40) * math.sin(2 * math.pi * 2 * root * t)
        out.append(max(-1.0, min(1.0, v)))
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(sr)
    w.writeframes(b"".join(struct.pack("<h", int(v * 32000)) for v in out))
PY
"$APP" analyze --json "$WORK/song.wav" > "$WORK/analysis.json"
python3 - "$WORK/analysis.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "ok" and r.get("key") and r.get("tempo_bpm") and r.get("moods") and r.get("hash"), r
print(f"[musicapp smoke] analyze: key {r['key']['tonic']} {r['key']['mode']}, {r['tempo_bpm']} BPM, hash {r['hash']}")
PY
"$APP" chords --mood happy --key G -o "$WORK/idea.mid" >/dev/null
[[ "$(head -c 4 "$WORK/idea.mid")" == "MThd" ]] || { echo "chords -o did not write a MIDI file" >&2; exit 1; }
say "chords: wrote a $(stat -c %s "$WORK/idea.mid")-byte MIDI file"
QT_QPA_PLATFORM=offscreen MUSICAPP_GUI_REPORT_START=1 MUSICAPP_GUI_SMOKE=1 \
  timeout 600 "$APP" "$WORK/song.wav" 2>"$WORK/gui.err" | sed 's/^/[musicapp smoke] gui: /'
status=${PIPESTATUS[0]}
if [[ $status != 0 ]]; then
  echo "GUI smoke test failed (exit $status):" >&2; tail -20 "$WORK/gui.err" >&2; exit 1
fi
say "passed"
