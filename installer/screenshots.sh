#!/usr/bin/env bash
# Take screenshots of the main window states in a real X server (Xvfb) into resources/screenshots/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/installer/setup.sh" --test
DISPLAY_NUM="${SCREENSHOT_DISPLAY:-:99}"
Xvfb "$DISPLAY_NUM" -screen 0 1920x1200x24 -nolisten tcp &
XVFB_PID=$!
trap 'kill $XVFB_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do [[ -e "/tmp/.X11-unix/X${DISPLAY_NUM#:}" ]] && break; sleep 0.1; done
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}"
.venv/bin/python -c "from tests.helpers.pulse import ensure_null_sink as e; print(e() or 'audio ready')"
DISPLAY="$DISPLAY_NUM" QT_QPA_PLATFORM=xcb .venv/bin/python -m musicapp_lab.gui.screenshots "${1:-resources/screenshots}"
