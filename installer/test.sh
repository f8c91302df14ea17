#!/usr/bin/env bash
# Set up (first time only) with the test tools, start a PulseAudio null sink (a real audio device
# without a sound card), then run the linter and the whole test suite. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/installer/setup.sh" --test
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
export QT_QPA_PLATFORM=offscreen
.venv/bin/python -c "from tests.helpers.pulse import ensure_null_sink as e; p = e(); print('[musicapp test] audio:', p or 'PulseAudio null sink ready')"
echo "[musicapp test] ruff"
.venv/bin/ruff check musicapp tests
echo "[musicapp test] pytest"
exec .venv/bin/python -m pytest "$@"
