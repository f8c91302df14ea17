"""The desktop application (PySide6 + pyqtgraph).

Entry point: :func:`musicapp.gui.app.main`. Importing this package never imports torch; the
models are loaded lazily inside worker threads or child processes when first needed.
"""
