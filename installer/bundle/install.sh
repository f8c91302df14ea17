#!/usr/bin/env bash
# Install the unpacked musicapp bundle for the current user (no root): the app goes to
# ~/.local/opt/musicapp, the command to ~/.local/bin/musicapp, the menu entry and icon to
# ~/.local/share. Run it from the unpacked folder: ./install.sh   (./install.sh --uninstall)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PREFIX="${PREFIX:-$HOME/.local}"
APP_DIR="$PREFIX/opt/musicapp"
if [[ "${1:-}" == "--uninstall" ]]; then
  rm -rf "$APP_DIR" "$PREFIX/bin/musicapp" "$PREFIX/share/applications/musicapp.desktop" \
    "$PREFIX/share/icons/hicolor/256x256/apps/musicapp.png"
  echo "musicapp removed from $PREFIX (your library and settings are kept)"
  exit 0
fi
[[ -x "$HERE/musicapp/musicapp" ]] || { echo "install.sh: run me from the unpacked bundle (musicapp/ beside me)" >&2; exit 2; }
mkdir -p "$PREFIX/opt" "$PREFIX/bin" "$PREFIX/share/applications" "$PREFIX/share/icons/hicolor/256x256/apps"
rm -rf "$APP_DIR.new"
cp -a "$HERE/musicapp" "$APP_DIR.new"
rm -rf "$APP_DIR"
mv "$APP_DIR.new" "$APP_DIR"
ln -sfn "$APP_DIR/musicapp" "$PREFIX/bin/musicapp"
install -m 0644 "$HERE/musicapp.png" "$PREFIX/share/icons/hicolor/256x256/apps/musicapp.png"
sed "s|^Exec=musicapp|Exec=$APP_DIR/musicapp|" "$HERE/musicapp.desktop" \
  > "$PREFIX/share/applications/musicapp.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$PREFIX/share/applications" || true
echo "musicapp installed: run 'musicapp' (make sure $PREFIX/bin is on your PATH) or pick it from the menu"
