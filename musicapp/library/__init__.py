"""The music library: SQLite store, resumable indexer, landmark identification, similar tracks.

Entry point: :class:`musicapp.library.api.Library`. See ``README.md`` in this folder for the
design, the commands and the measured figures. Importing this package imports nothing heavy.
"""
