#!/usr/bin/env bash
# Set up musicapp on a fresh Debian/Ubuntu machine: system libraries, a .venv with the pinned
# Python dependencies, and a warm-up of librosa's JIT so nothing is slow the first time.
#
#   installer/setup.sh            # what the app needs
#   installer/setup.sh --test     # plus what the tests need (PulseAudio, Xvfb, FluidSynth, TiMidity)
#   installer/setup.sh --cuda     # a CUDA build of torch 2.13.0 instead of the CPU one
#   installer/setup.sh --no-system  # skip apt-get (you installed the system packages yourself)
#
# Re-running is cheap: each step is skipped when already done.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WITH_TEST=0; WITH_CUDA=0; WITH_SYSTEM=1
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    --cuda) WITH_CUDA=1 ;;
    --no-system) WITH_SYSTEM=0 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
say() { printf '\033[1m[musicapp setup]\033[0m %s\n' "$*"; }

# --- 1. system packages ---------------------------------------------------------------------
APP_PKGS=(python3 python3-venv libportaudio2 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0
  libfontconfig1 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
  libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xkb1 fluid-soundfont-gm)
TEST_PKGS=(pulseaudio pulseaudio-utils libasound2-plugins xvfb fluidsynth timidity)
if [[ $WITH_SYSTEM == 1 ]] && command -v apt-get >/dev/null; then
  want=("${APP_PKGS[@]}"); [[ $WITH_TEST == 1 ]] && want+=("${TEST_PKGS[@]}")
  missing=()
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    SUDO=""; [[ $(id -u) != 0 ]] && SUDO="sudo"
    say "installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
elif [[ $WITH_SYSTEM == 1 ]]; then
  say "no apt-get here: install PortAudio, Qt's xcb libraries and a GM soundfont with your package manager"
fi

# --- 2. virtual environment -----------------------------------------------------------------
PY="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  say "creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
VPY="$ROOT/.venv/bin/python"
PIP=("$VPY" -m pip install -q --disable-pip-version-check)

# --- 3. Python dependencies (skipped when pyproject.toml and options are unchanged) ---------
EXTRAS="[eval]"; [[ $WITH_TEST == 1 ]] && EXTRAS="[test]"  # eval: evaluation/training commands
STAMP=".venv/.musicapp-setup-$(cat pyproject.toml lab/pyproject.toml installer/setup.sh | sha256sum | cut -c1-16)-t${WITH_TEST}-c${WITH_CUDA}"
if [[ ! -f "$STAMP" ]]; then
  if [[ $WITH_CUDA == 1 ]]; then
    say "installing torch 2.13.0 with CUDA (the default build on PyPI; several GB)"
    PIP_FIND_LINKS="" "${PIP[@]}" torch==2.13.0
  elif ! "$VPY" -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
    say "installing torch 2.13.0"
    "${PIP[@]}" torch==2.13.0
  fi
  say "installing musicapp (extras: ${EXTRAS}) and its lab (training, evaluation, benchmarks)"
  "${PIP[@]}" -e ".${EXTRAS}" -e ./lab
  # tinysoundfont declares pyaudio, which it only needs for live playback we do with sounddevice.
  "${PIP[@]}" --no-deps "tinysoundfont>=0.3.7"
  say "warming up librosa's JIT (first run only, ~30 s)"
  "$VPY" -m musicapp.warmup
  rm -f .venv/.musicapp-setup-*
  touch "$STAMP"
fi
say "ready: $("$VPY" -c 'import musicapp, torch; print("musicapp", musicapp.__version__, "torch", torch.__version__)')"
