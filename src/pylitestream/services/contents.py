"""Whether a restored copy holds exactly what the live database holds, table by table and row by
row: the check that finds a replica missing rows the database had before the restore point (a
hole in the chain of LTX files), which an integrity check cannot see."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

from .integrity import immutable_uri


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(conn: sqlite3.Connection) -> list[str]:
    # Virtual tables need their module to be read; their shadow tables are ordinary tables and
    # are compared like any other.
    return [
        name
        for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
        if not (sql or "").upper().startswith("CREATE VIRTUAL")
    ]


def _count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()[0])


def first_difference(live: sqlite3.Connection, copy: Path) -> str | None:
    """None if every table `live` sees (in its current read transaction) has the same rows in
    `copy`; else the first difference, in words. Both files have the same b-trees when they are
    the same database, so a plain scan returns their rows in the same order."""
    restored = sqlite3.connect(immutable_uri(copy), uri=True)
    try:
        theirs = set(_tables(restored))
        for table in _tables(live):
            if table not in theirs:
                return f"table {table} is missing from the restore"
            scan = f"SELECT * FROM {_quoted(table)}"
            pairs = itertools.zip_longest(live.execute(scan), restored.execute(scan))
            if any(ours != restored_row for ours, restored_row in pairs):
                have, got = _count(live, table), _count(restored, table)
                if have != got:
                    return f"table {table} has {have} rows in the database, {got} in the restore"
                return f"table {table} has rows that differ from the database's"
        return None
    finally:
        restored.close()
