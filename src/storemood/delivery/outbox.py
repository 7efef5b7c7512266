"""A durable first-in-first-out queue of visit rows in a local SQLite file, with a dead-letter table.

Every finished visit is put here before anything else happens to it, so a signal, a locked or unreachable
database or a broker outage can delay a visit but never lose it. Rows that a destination refuses for their
content (not for an outage) move to the ``dead`` table, so they never block the visits behind them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from storemood.errors import UserError
from storemood.paths import data_dir

Row = dict[str, object]


def default_outbox_path(store_id: str, camera_id: str) -> Path:
    """The database outbox of one store camera in the user's data directory (one writer process each);
    the outboxes of other destinations lie beside it."""
    return data_dir() / "outbox" / f"{store_id}--{camera_id}.sqlite"


class Outbox:
    """The queue in one SQLite file; open one instance per thread (SQLite connections are per thread).

    >>> import tempfile, pathlib
    >>> box = Outbox(pathlib.Path(tempfile.mkdtemp()) / "outbox.sqlite")
    >>> box.put([{"id": "a"}, {"id": "b"}])
    >>> [row["id"] for _, row in box.head(10)], len(box)
    (['a', 'b'], 2)
    >>> seq, row = box.head(1)[0]
    >>> box.bury(seq, row, "brand too long")
    >>> len(box), box.dead_count()
    (1, 1)
    """

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30)  # `with self._db:` = one transaction, one fsync
            self._db.execute("PRAGMA journal_mode=WAL")
            with self._db:
                self._db.execute("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, row TEXT NOT NULL)")
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS dead (seq INTEGER PRIMARY KEY, row TEXT NOT NULL, reason TEXT NOT NULL)"
                )
        except (OSError, sqlite3.Error) as error:
            raise UserError(f"cannot keep an outbox at {path}: {error}") from None
        self.path = path

    def put(self, rows: Iterable[Row]) -> None:
        """Append rows in one transaction: after this returns they survive a crash."""
        with self._db:
            self._db.executemany("INSERT INTO outbox (row) VALUES (?)", [(json.dumps(row),) for row in rows])

    def head(self, limit: int) -> list[tuple[int, Row]]:
        """The oldest ``limit`` entries as ``(seq, row)``."""
        cursor = self._db.execute("SELECT seq, row FROM outbox ORDER BY seq LIMIT ?", (limit,))
        return [(seq, json.loads(text)) for seq, text in cursor]

    def drop_through(self, seq: int) -> None:
        """Remove every entry up to and including ``seq`` (they have been delivered)."""
        with self._db:
            self._db.execute("DELETE FROM outbox WHERE seq <= ?", (seq,))

    def bury(self, seq: int, row: Row, reason: str) -> None:
        """Move one entry the destination refused for its content to the dead-letter table."""
        with self._db:
            self._db.execute("INSERT INTO dead (seq, row, reason) VALUES (?, ?, ?)", (seq, json.dumps(row), reason))
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def dead_letters(self) -> list[tuple[Row, str]]:
        """The refused rows with the reason each was refused, oldest first."""
        cursor = self._db.execute("SELECT row, reason FROM dead ORDER BY seq")
        return [(json.loads(text), reason) for text, reason in cursor]

    def dead_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM dead").fetchone()[0]

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def close(self) -> None:
        self._db.close()
