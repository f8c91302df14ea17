"""Library panel: add folders (progress, cancel), search by mood/key/tempo, similar tracks,
identify a recording. Every database call runs in a worker thread with its own connection
(SQLite connections belong to the thread that opened them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from musicapp.filetypes import dialog_filter
from musicapp.gui.workers import TaskContext
from musicapp.library.similarity import CODE_BITS, similarity_percent

COLUMNS = ("Track", "Length", "Tempo", "Key", "Moods", "Match", "Status")
#: how the tempo column marks a track found by the tempo filter at half or double time:
#: "70 (x2 140)" is a 70 BPM track matched at double time 140
LEVEL_MARKS = {"double": "x2", "half": "/2"}


def track_title(row: dict) -> str:
    """"Title — Artist · Album" from the file's tags, or the file name when it has none."""
    title = (row.get("title") or "").strip()
    if not title:
        return Path(str(row.get("path", "?"))).name
    extra = " · ".join(v.strip() for v in (row.get("artist"), row.get("album"))
                       if v and v.strip())
    return f"{title} — {extra}" if extra else title


def similarity_tooltip(row: dict) -> str:
    """What the similarity percentage means, with the underlying numbers."""
    text = ("Similarity of sound: 100% = the same sound, 0% = no more alike than two unrelated "
            "tracks; the list is in this order.\n")
    if row.get("cosine") is not None and -1.0 <= float(row["cosine"]) <= 1.0:
        text += f"Embedding cosine {float(row['cosine']):.2f}; "
    return text + f"{row['hamming']} of {CODE_BITS} sound-code bits differ"
MOOD_FILTERS = ("any mood", "happy", "sad", "mellow", "chill", "beautiful", "party", "sexy",
                "catchy", "easy listening", "fast", "slow", "loud", "quiet", "soft", "ambient")


def scan_summary(scan: dict) -> str:
    """"11 new, 2 changed, 1 moved, 3 missing (kept), 2 skipped" from a folder scan's JSON form
    (lists of paths, or counts); the parts that are zero are left out."""

    def count(key: str) -> int:
        value = scan.get(key) or 0
        return value if isinstance(value, int) else len(value)

    parts = [f"{count(key)} {name}" for key, name in (
        ("added", "new"), ("changed", "changed"), ("moved", "moved"), ("returned", "back"),
        ("missing", "missing (kept)"), ("skipped", "skipped"), ("unchanged", "unchanged"))
        if count(key)]
    return ", ".join(parts)


def _open(db: str | None):
    from musicapp.library.api import Library

    return Library(db)


def add_folder_task(ctx: TaskContext, db: str | None, folder: str, analyse: bool = True,
                    workers: int | None = None) -> dict:
    """Scan and index ``folder`` with the library's pipelined batch indexer (``workers``
    processes, None: one per core); cancelling stops after the tracks in flight (kept).

    With ``analyse`` each track also gets the full analysis (moods, key, tempo, hash code for
    "similar"); without it only the fingerprint for "identify" is stored (much faster).
    """
    from musicapp.library.indexer import Indexer, default_analyser, no_analyser

    lib = _open(db)
    try:
        def progress(done: int, total: int, path: str) -> None:
            if ctx.cancelled:
                indexer.cancel()
                return
            ctx.progress(done / max(total, 1), f"indexed {done}/{total}: {Path(path).name}")

        indexer = Indexer(lib.store, analyser=default_analyser if analyse else no_analyser,
                          workers=workers, progress=progress)
        ctx.progress(0.0, f"scanning {folder}")
        report = indexer.add(folder)
        out = report.as_dict()
        out["cancelled"] = bool(report.cancelled or ctx.cancelled)
        out["count"] = lib.store.count()
        return out
    finally:
        lib.close()


def list_task(ctx: TaskContext, db: str | None, mood: str | None, key: str | None,
              bpm: str | None) -> list[dict]:
    """Tracks passing the filters (all tracks when no filter is set)."""
    lib = _open(db)
    try:
        if not any((mood, key, bpm)):
            return lib.list()
        return lib.search(mood=mood, key=key, bpm=bpm)
    finally:
        lib.close()


def similar_task(ctx: TaskContext, db: str | None, path: str, k: int = 10) -> list[dict]:
    """Tracks most similar to ``path`` (in the library or not; an outside file's analysis
    comes from the analysis cache when it was analysed before)."""
    from musicapp.analysis_cache import cached_analyser

    lib = _open(db)
    try:
        return lib.similar(path, k, analyser=cached_analyser)
    finally:
        lib.close()


def identify_task(ctx: TaskContext, db: str | None, path: str) -> dict:
    """Which library track a recording is (fingerprint match)."""
    lib = _open(db)
    try:
        ctx.progress(0.2, "building the fingerprint index")
        ident = lib.identify(path)
        row = None
        if ident.accepted and ident.match is not None:
            row = lib.describe(ident.match.track_id)
        return {"query": path, "accepted": ident.accepted, "path": ident.path,
                "threshold": ident.threshold, "warnings": ident.warnings, "row": row,
                "summary": ident.summary(),
                "match": None if ident.match is None else ident.match.as_dict()}
    finally:
        lib.close()


class LibraryPanel(QWidget):
    """The library tab."""

    message = Signal(str)
    open_requested = Signal(str)
    #: results shown (list of dicts)
    results_changed = Signal(object)
    #: an indexing run ended (report dict)
    indexing_done = Signal(object)
    #: an identification ended (dict)
    identified = Signal(object)

    def __init__(self, runner, settings=None, current_file: Callable[[], str | None] | None = None,
                 parent=None) -> None:
        super().__init__(parent)
        # one database task at a time, in order: SQLite allows one writer, and a search started
        # while a folder is being added must not meet a half-created database
        from musicapp.gui.workers import TaskRunner

        self.runner = TaskRunner(self, max_threads=1)
        self.app_runner = runner
        self.settings = settings
        self.current_file = current_file or (lambda: None)
        self.task = None
        self.note = ""  # the last indexing report, kept under the results
        self.rows: list[dict] = []
        self.answered = False  # a search, similar or identify answer is on show (even an empty one)
        self._build()
        self._set_enabled()

    @property
    def db(self) -> str | None:
        """Library database path (settings key ``library/db``; None = the default location)."""
        if self.settings is None:
            return None
        value = self.settings.get("library/db")
        return str(value) if value else None

    def _build(self) -> None:
        self.add_button = QPushButton("Add folder…")
        self.add_button.setToolTip("Scan a folder and analyse its audio files into the library")
        self.add_button.clicked.connect(self.add_dialog)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop indexing (tracks already analysed are kept)")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(12)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.add_button)
        top.addWidget(self.progress, 1)
        top.addWidget(self.cancel_button)
        top.addStretch(0 if self.progress.isVisible() else 1)

        self.mood = QComboBox()
        self.mood.addItems(list(MOOD_FILTERS))
        self.mood.setToolTip("Only tracks strong in this mood (70th percentile or more)")
        self.key = QLineEdit()
        self.key.setPlaceholderText("key, e.g. A minor")
        self.key.setToolTip("Only tracks in this key (e.g. 'C', 'F#m', 'Bb minor', 'minor')")
        self.bpm = QLineEdit()
        self.bpm.setPlaceholderText("BPM, e.g. 90-120")
        self.bpm.setToolTip("Only tracks with a tempo in this range; a track whose half or "
                            "double tempo (as its analysis lists them) is in it is shown too, "
                            "after the others, marked x2 or /2")
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        self.key.returnPressed.connect(self.search)
        self.bpm.returnPressed.connect(self.search)
        self.similar_button = QPushButton("Similar to this track")
        self.similar_button.setToolTip("Library tracks that sound most like the open track")
        self.similar_button.clicked.connect(self.similar)
        self.identify_button = QPushButton("Identify recording…")
        self.identify_button.setToolTip("Find which library track a recording (e.g. a take "
                                        "of a speaker playing it) is")
        self.identify_button.clicked.connect(self.identify_dialog)
        filters = QHBoxLayout()
        for w in (self.mood, self.key, self.bpm, self.search_button, self.similar_button,
                  self.identify_button):
            filters.addWidget(w)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        # the track name and its moods share the free width (the moods were cut to "party,
        # fast, c…" at 1920 px while the name took half the table)
        for name in ("Track", "Moods"):
            self.table.horizontalHeader().setSectionResizeMode(
                COLUMNS.index(name), QHeaderView.ResizeMode.Stretch)
        # the short columns fit their text ("~143.8 (or 71.9)" was cut to "~143.8 (or 7…" at
        # 1024 px); the stretched name and moods give way
        for name in ("Length", "Tempo", "Key"):
            self.table.horizontalHeader().setSectionResizeMode(
                COLUMNS.index(name), QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)  # moods stay on one line (full list in the tooltip)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setToolTip("Double-click a track to open it")
        self.table.cellDoubleClicked.connect(self._open_row)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(filters)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.status)

    def _set_enabled(self) -> None:
        busy = self.task is not None
        for w in (self.add_button, self.search_button, self.similar_button,
                  self.identify_button, self.mood, self.key, self.bpm):
            w.setEnabled(not busy)
        self.cancel_button.setVisible(busy)
        self.progress.setVisible(busy)

    # ------------------------------------------------------------------ tasks
    def _run(self, fn, *args, on_finished, label: str) -> None:
        if self.task is not None:
            if self.task.name == "library-index":
                self.status.setText("Indexing is running: wait for it or cancel it first")
                return
            self.task.cancel()  # a search or lookup: the newer request wins
        self.status.setText(label)
        self.progress.setValue(0)
        name = "library-index" if fn is add_folder_task else "library"
        def connect(task) -> None:
            task.signals.finished.connect(lambda r, t=task: self._done(t, on_finished, r))
            task.signals.failed.connect(lambda m, t=task: self._failed(t, m))
            task.signals.progress.connect(lambda f, m, t=task: self._progress(t, f, m))
            task.signals.cancelled.connect(lambda t=task: self._cancelled(t))
            self.task = task  # before it can finish: the slots compare against it

        self.runner.start(fn, self.db, *args, name=name, connect=connect)
        self._set_enabled()

    def _finish(self, task) -> bool:
        if task is not self.task:
            return False  # a superseded request
        self.task = None
        self._set_enabled()
        return True

    def _done(self, task, handler, result) -> None:
        if self._finish(task):
            self.message.emit("")  # an earlier library error no longer applies
            handler(result)

    def _failed(self, task, msg: str) -> None:
        if self._finish(task):
            self.status.setText(f"Library: {msg}")
            self.message.emit(f"Library: {msg}")

    def _cancelled(self, task) -> None:
        if self._finish(task):
            self.status.setText("Cancelled")

    def _progress(self, task, fraction: float, text: str) -> None:
        if task is not self.task:
            return
        self.progress.setValue(int(fraction * 1000))
        if text:
            self.status.setText(text)

    def cancel(self) -> None:
        """Cancel the running library task."""
        if self.task is not None:
            self.task.cancel()

    def add_dialog(self) -> None:
        """Ask for a folder and index it."""
        start = self.settings.last_dir("library") if self.settings else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the library", start)
        if folder:
            if self.settings:
                self.settings.set("folders/library", folder)
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        """Index ``folder`` in the background."""
        analyse = self.settings.get("library/analyse", True, bool) if self.settings else True
        self._run(add_folder_task, folder, analyse, on_finished=self._indexed,
                  label=f"Scanning {folder}…")

    def _indexed(self, report: dict) -> None:
        scan = report.get("scan") or {}
        text = (f"Indexed {report['indexed']} tracks, {report['failed']} failed"
                f"{' (cancelled)' if report.get('cancelled') else ''}; "
                f"{report.get('count', '?')} tracks in the library")
        # counts, not the scan's lists of full paths (which filled the panel)
        summary = scan_summary(scan)
        if summary:
            text += f"; this scan: {summary}"
        errors = report.get("errors") or {}
        skipped = [tuple(s) for s in scan.get("skipped") or [] if isinstance(s, (list, tuple))]
        if errors:
            path, message = next(iter(errors.items()))
            # a decoder's message starts with the full path: the file name is said once
            message = str(message).removeprefix(f"{path}: ")
            text += f"\nFirst problem: {Path(path).name}: {message}"
        elif skipped:
            text += f"\nSkipped: {Path(skipped[0][0]).name}: {skipped[0][1]}"
        self.note = text
        self.status.setText(text)
        self.indexing_done.emit(report)
        self.search()

    def filters(self) -> tuple[str | None, str | None, str | None]:
        """(mood, key, bpm) as typed (None when empty)."""
        mood = self.mood.currentText()
        return (None if mood == MOOD_FILTERS[0] else mood, self.key.text().strip() or None,
                self.bpm.text().strip() or None)

    def search(self) -> None:
        """List the tracks passing the filters."""
        self._run(list_task, *self.filters(), on_finished=self._show, label="Searching…")

    def similar(self) -> None:
        """Tracks similar to the open one."""
        path = self.current_file()
        if not path:
            self.status.setText("Open a track first")
            return
        self._run(similar_task, path, on_finished=self._show,
                  label=f"Finding tracks like {Path(path).name}…")

    def identify_dialog(self) -> None:
        """Ask for a recording (default: the open take) and identify it."""
        start = self.current_file() or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Identify a recording", start,
                                              dialog_filter())
        if path:
            self.identify(path)

    def identify(self, path: str) -> None:
        """Identify ``path`` in the background."""
        self._run(identify_task, path, on_finished=self._identified,
                  label=f"Identifying {Path(path).name}…")

    def _identified(self, out: dict) -> None:
        rows = []
        if out.get("accepted"):
            row = dict(out.get("row") or {"path": out["path"]})
            row.update(score=out["match"]["score"], offset_s=out["match"]["offset_s"])
            rows = [row]
            text = f"{Path(out['query']).name} is {track_title(row)}: {out['summary']}"
        else:
            text = f"{Path(out['query']).name}: {out['summary']}"
        if out.get("warnings"):
            text += " — " + "; ".join(out["warnings"])
        self._show(rows, note=text)  # the table shows the answer, not the previous results
        self.identified.emit(out)

    # ------------------------------------------------------------------ table
    def _show(self, rows: list[dict], note: str | None = None) -> None:
        self.answered = True
        self.rows = list(rows)
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            match, match_tip = "", ""
            if row.get("offset_s") is not None:  # an identification
                off = float(row["offset_s"])
                match = f"at {int(off // 60)}:{off % 60:04.1f}"
                match_tip = (f"The recording matches this track from {match[3:]} on "
                             f"(score {float(row.get('score', 0.0)):.1f})")
            elif row.get("hamming") is not None:
                match = f"{similarity_percent(row['hamming'], cosine=row.get('cosine')):.0f}%"
                match_tip = similarity_tooltip(row)
            dur = row.get("duration_s")
            tempo = row.get("tempo_bpm")
            moods = ", ".join(row.get("moods") or [])
            status = str(row.get("status", "")) + (f": {row['error']}" if row.get("error") else "")
            level = row.get("bpm_match") or {}
            # to 0.1 BPM with the CLI's marks ("~60.6", "60.6 (or 121.2)"): tempo_choice.tempo_label
            tempo_text = (row.get("tempo_label") or f"{tempo:.1f}") if tempo else ""
            if tempo and level.get("level") in LEVEL_MARKS:  # found at half/double time
                tempo_text = (tempo_text.split(" (or ")[0]  # the match names the other level
                              + f" ({LEVEL_MARKS[level['level']]} {float(level['bpm']):.1f})")
            values = (track_title(row),
                      f"{int(dur // 60)}:{dur % 60:04.1f}" if dur else "",
                      tempo_text, row.get("key") or "",
                      moods, match, status)
            tips = (str(row.get("path", "")), "", row.get("bpm_note") or "", "", moods,
                    match_tip, status)
            for c, (v, tip) in enumerate(zip(values, tips, strict=True)):
                item = QTableWidgetItem(str(v))
                if tip:
                    item.setToolTip(tip)
                if row.get("status") == "missing":
                    item.setForeground(self.palette().placeholderText())
                self.table.setItem(r, c, item)
        if note is None:
            levels = sum(1 for row in self.rows if row.get("bpm_match"))
            note = f"{len(self.rows)} tracks shown" + (
                f" ({levels} at half or double time; hover the tempo)" if levels else "") + (
                f". {self.note}" if self.note else "")
        self.status.setText(note)
        self.results_changed.emit(self.rows)

    def _open_row(self, row: int, _col: int) -> None:
        if 0 <= row < len(self.rows) and self.rows[row].get("path"):
            self.open_requested.emit(self.rows[row]["path"])

    def showEvent(self, ev) -> None:  # noqa: N802
        super().showEvent(ev)
        # list the library the first time the tab is shown; an answer already on show (an
        # identify that found no match, an empty search) stays until the user asks again
        if not self.answered and self.task is None:
            self.search()

    def shutdown(self) -> None:
        """Stop indexing (called when the window closes) and wait for the database task."""
        self.cancel()
        self.runner.cancel_all()
        self.runner.wait(30000)
