#!/usr/bin/env bash
# Build the desktop bundle a musician downloads: a PyInstaller one-folder build of the GUI and
# the CLI with the CPU build of torch, packed with its .desktop file, icon and install script as
# dist/musicapp-<version>-linux-<arch>.tar.gz. Then smoke-test it (installer/bundle_smoke.sh).
#
#   installer/build_bundle.sh            # set up (installer/setup.sh) if needed, build, smoke-test
#   installer/build_bundle.sh --no-smoke # build only
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SMOKE=1
for arg in "$@"; do
  case "$arg" in
    --no-smoke) SMOKE=0 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "build_bundle.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
say() { printf '\033[1m[musicapp bundle]\033[0m %s\n' "$*"; }
[[ -x .venv/bin/python ]] || "$ROOT/installer/setup.sh"
VPY="$ROOT/.venv/bin/python"
"$VPY" -m pip install -q --disable-pip-version-check "pyinstaller>=6.10,<7"
VERSION="$("$VPY" -c 'import musicapp; print(musicapp.__version__)')"
ARCH="$(uname -m)"
NAME="musicapp-$VERSION-linux-$ARCH"
say "building $NAME (PyInstaller, one folder)"
start=$(date +%s)
"$VPY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath build/bundle/dist --workpath build/bundle/work installer/bundle/musicapp.spec
STAGE="build/bundle/$NAME"
rm -rf "$STAGE" && mkdir -p "$STAGE"
mv build/bundle/dist/musicapp "$STAGE/musicapp"
cp installer/bundle/install.sh installer/bundle/musicapp.desktop resources/icons/musicapp.png "$STAGE/"
cat > "$STAGE/README.txt" <<TXT
musicapp $VERSION for Linux ($ARCH)

Run without installing:   ./musicapp/musicapp            (or ./musicapp/musicapp song.flac)
Install for your user:     ./install.sh                   (no root; ./install.sh --uninstall)
Command line:              ./musicapp/musicapp --help
TXT
mkdir -p dist
tar -C build/bundle -czf "dist/$NAME.tar.gz" "$NAME"
say "built in $(( $(date +%s) - start )) s: $(du -sh "$STAGE/musicapp" | cut -f1) unpacked, $(du -h "dist/$NAME.tar.gz" | cut -f1) packed -> dist/$NAME.tar.gz"
if [[ $SMOKE == 1 ]]; then
  "$ROOT/installer/bundle_smoke.sh" "$STAGE"
fi
