"""Persistent settings (QSettings): devices, last folders, recent files, window state, theme."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

ORG = "musicapp"
APP = "musicapp"
MAX_RECENT = 10


def default_settings() -> QSettings:
    """The user's settings store (INI file in the platform's config folder)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)


class Settings:
    """Typed access to the values the app keeps between sessions."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else default_settings()

    def get(self, key: str, default=None, type_=None):
        """Read ``key`` (with a type conversion when ``type_`` is given)."""
        if type_ is None:
            return self.store.value(key, default)
        value = self.store.value(key, default)
        if value is None:
            return default
        if type_ is bool and isinstance(value, str):
            return value.lower() in ("1", "true", "yes")
        try:
            return type_(value)
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value) -> None:
        """Store ``key``."""
        self.store.setValue(key, value)

    @property
    def recent_files(self) -> list[str]:
        """Most recently opened files, newest first."""
        value = self.store.value("files/recent", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str) -> list[str]:
        """Put ``path`` first in the recent list."""
        path = str(Path(path).resolve())
        items = [p for p in self.recent_files if p != path]
        items.insert(0, path)
        items = items[:MAX_RECENT]
        self.store.setValue("files/recent", items)
        return items

    def last_dir(self, kind: str, fallback: str | None = None) -> str:
        """Last folder used for ``kind`` (open, export, record, library)."""
        return str(self.store.value(f"folders/{kind}", fallback or str(Path.home())))

    def set_last_dir(self, kind: str, path: str) -> None:
        """Remember the folder of ``path`` for ``kind``."""
        p = Path(path)
        self.store.setValue(f"folders/{kind}", str(p if p.is_dir() else p.parent))

    def sync(self) -> None:
        """Write to disk."""
        self.store.sync()
