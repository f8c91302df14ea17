#!/usr/bin/env bash
# Set up (first time only) and start the musicapp desktop app. Extra arguments go to `musicapp`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/installer/setup.sh" ${MUSICAPP_SETUP_ARGS:-}
exec "$ROOT/.venv/bin/musicapp" "$@"
