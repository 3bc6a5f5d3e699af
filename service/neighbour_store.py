"""A persistent cache of each word's thesaurus candidates, shared by processes on one machine.

Looking a word up in WordNet and MyThes (its neighbours, their inflections, the neighbours of its
synonyms) is the largest cost of scoring text whose words a process has not met yet. The answers
depend only on the word, the thesauri and the n-gram vocabulary, so the candidate generator keeps
them in one SQLite file in the cache directory (``neighbours-<key>.sqlite``): a new process, a
second worker or the next batch run reads them instead of walking WordNet again. The key changes
with the thesaurus files, the n-gram model and :data:`VERSION`, so a stale file is never read.

It is only a cache: when the file cannot be opened or written (read-only cache directory, a lock
held too long by another process) the store says so once in the log and the generator computes
the answers itself, as before.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Iterable

log = logging.getLogger(__name__)

#: Bump when what the candidate generator stores per word changes meaning.
VERSION = "3"
#: New answers are written in batches of this many (and when the process exits).
_BATCH = 256


def store_key(parts: Iterable[str | Path | None]) -> str:
    """A short key for the cache file from the files and settings its answers depend on: for a
    path, its name, size and modification time; anything else as text."""
    h = hashlib.sha256(VERSION.encode())
    for p in parts:
        if isinstance(p, Path):
            try:
                st = p.stat()
                h.update(f"{p}|{st.st_size}|{int(st.st_mtime)}".encode())
            except OSError:
                h.update(f"{p}|missing".encode())
        else:
            h.update(repr(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


class NeighbourStore:
    """``get``/``put`` of byte values by (table, word), backed by SQLite; thread-safe."""

    TABLES = ("near", "far")

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._pending: list[tuple[str, str, bytes]] = []
        self._conn: sqlite3.Connection | None = None
        #: answers a failed write dropped, and why the last write failed ('database or disk is full')
        self.unwritten = 0
        self.write_error: str | None = None
        #: why the file could not be opened (None when it could: :attr:`usable`)
        self.open_error: str | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._conn = self._open()
            except sqlite3.DatabaseError as e:
                if isinstance(e, sqlite3.OperationalError):  # locked, read-only, no space: not the file's fault
                    raise
                # not a database, or a damaged one: only a cache, so made again (it would stay unusable)
                log.warning("neighbour cache %s is damaged (%s); it is made again", self.path, e)
                for extra in ("", "-wal", "-shm"):
                    Path(f"{self.path}{extra}").unlink(missing_ok=True)
                self._conn = self._open()
            atexit.register(self.flush)
        except (OSError, sqlite3.Error) as e:
            self.open_error = f"{type(e).__name__}: {e}"
            log.warning("neighbour cache %s not usable (%s); thesaurus answers are not kept across processes",
                        self.path.name, self.open_error)

    def _open(self) -> sqlite3.Connection:
        """The file, opened and holding the tables (made when it is new).

        Raises:
            sqlite3.Error: it cannot be opened, or is not a database.
        """
        conn = sqlite3.connect(str(self.path), timeout=2.0, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            for t in self.TABLES:
                conn.execute(f"CREATE TABLE IF NOT EXISTS {t} (word TEXT PRIMARY KEY, value BLOB NOT NULL)")
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    @property
    def usable(self) -> bool:
        """Whether the file could be opened (otherwise every ``get`` misses)."""
        return self._conn is not None

    def get(self, table: str, word: str) -> bytes | None:
        """The stored value, or None."""
        if self._conn is None:
            return None
        with self._lock:
            try:
                row = self._conn.execute(f"SELECT value FROM {table} WHERE word = ?", (word,)).fetchone()
            except sqlite3.Error:
                return None
        return None if row is None else bytes(row[0])

    def put(self, table: str, word: str, value: bytes) -> None:
        """Remember a value (written with the next batch)."""
        if self._conn is None:
            return
        with self._lock:
            self._pending.append((table, word, value))
            if len(self._pending) < _BATCH:
                return
        self.flush()

    def flush(self) -> None:
        """Write the pending values; a failure drops them (they are only a cache)."""
        with self._lock:
            if self._conn is None or not self._pending:
                return
            batch, self._pending = self._pending, []
            try:
                self._conn.execute("BEGIN")
                for t in self.TABLES:
                    rows = [(w, v) for tt, w, v in batch if tt == t]
                    if rows:
                        self._conn.executemany(f"INSERT OR REPLACE INTO {t} (word, value) VALUES (?, ?)", rows)
                self._conn.execute("COMMIT")
            except sqlite3.Error as e:
                try:
                    self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                log.info("neighbour cache: %d answers not written (%s)", len(batch), type(e).__name__)
                self.unwritten += len(batch)
                self.write_error = str(e) or type(e).__name__
