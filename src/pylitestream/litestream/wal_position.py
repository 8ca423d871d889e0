"""Where Litestream 0.5 resumes in a database's WAL, read from its own files, and whether the WAL
holds commits it has not read: the case in which 0.5 can resume past a gap (see
supervise.state.close_wal_gaps).

0.5 keeps its position in the newest level-0 LTX file of the database's meta directory
(`<dir>/.<name>-litestream/ltx/0/`, or the entry's `meta-path`): the header records the WAL
salt, offset and size of its last sync. SQLite gives the WAL a new salt each time it restarts
it, and each frame carries the salt of the WAL it was written in."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, NamedTuple

META_DIR_SUFFIX = "-litestream"

LTX_HEADER = struct.Struct(">4sIIIQQqQqqII")
"""superfly/ltx's header: magic, flags, page size, commit, min and max TXID, timestamp,
pre-apply checksum, WAL offset, WAL size, WAL salt 1 and 2."""

WAL_HEADER = struct.Struct(">IIIIII")
"""SQLite's 32-byte WAL header (the first 24 bytes): magic, version, page size, checkpoint
sequence, salt 1 and 2."""
WAL_HEADER_SIZE = 32
FRAME_HEADER = struct.Struct(">IIII")
"""A WAL frame's header (the first 16 of 24 bytes): page number, database size after a commit
(0 on other frames), salt 1 and 2."""
FRAME_HEADER_SIZE = 24


class Position(NamedTuple):
    salt: tuple[int, int]
    end: int
    """Offset just past the last commit frame: what litestream has read, or what the WAL holds."""


def meta_path(db: Path, entry: dict[str, Any]) -> Path:
    """The database's meta directory, as litestream 0.5 derives it from its `dbs:` entry."""
    configured = entry.get("meta-path")
    if configured:
        return Path(str(configured)).expanduser().absolute()
    return db.parent / f".{db.name}{META_DIR_SUFFIX}"


def synced_position(meta: Path) -> Position | None:
    """Where litestream's last sync ended (its newest level-0 LTX file), or None if it has no
    position: litestream then starts with a snapshot anyway."""
    try:
        newest = max((meta / "ltx" / "0").glob("*.ltx"), default=None)
        if newest is None:
            return None
        with newest.open("rb") as f:
            raw = f.read(LTX_HEADER.size)
    except OSError:
        return None
    if len(raw) < LTX_HEADER.size or raw[:4] != b"LTX1":
        return None  # litestream refuses a damaged LTX file with an error of its own
    *_, offset, size, salt1, salt2 = LTX_HEADER.unpack(raw)
    return Position((salt1, salt2), offset + size)


def wal_position(db: Path) -> Position | None:
    """The WAL's salt and the end of its last commit, or None if it has no WAL header (missing
    or truncated: litestream then finds the WAL shorter than its position and snapshots)."""
    try:
        with open(f"{db}-wal", "rb") as f:
            header = f.read(WAL_HEADER_SIZE)
            if len(header) < WAL_HEADER_SIZE:
                return None
            _, _, page_size, _, salt1, salt2 = WAL_HEADER.unpack(header[: WAL_HEADER.size])
            frame = FRAME_HEADER_SIZE + page_size
            end = offset = WAL_HEADER_SIZE
            while True:
                f.seek(offset)
                raw = f.read(FRAME_HEADER.size)
                if len(raw) < FRAME_HEADER.size:
                    break
                _, commit, frame_salt1, frame_salt2 = FRAME_HEADER.unpack(raw)
                if (frame_salt1, frame_salt2) != (salt1, salt2):
                    break  # a frame of an earlier WAL: the current one ends here
                offset += frame
                if commit:
                    end = offset
    except OSError:
        return None
    return Position((salt1, salt2), end)


def has_unread_commits(db: Path, entry: dict[str, Any]) -> bool:
    """Whether `db`'s WAL holds commits litestream 0.5 has not read: it restarted since
    litestream's last sync, or grew past it."""
    synced = synced_position(meta_path(db, entry))
    current = wal_position(db)
    if synced is None or current is None:
        return False
    return current.salt != synced.salt or current.end > synced.end
