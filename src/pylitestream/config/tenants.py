"""Databases found through a `dir:` entry (Litestream 0.5's directory replication), worked out the
way litestream 0.5.17 does (cmd/litestream/main.go: FindSQLiteDatabases, newDBFromDirectoryEntry):

- a tenant is a file under `dir` (directly, or at any depth with `recursive: true`) whose base
  name matches `pattern` (Go's filepath.Match) and that starts with the SQLite header;
- its entry is the `dir:` entry with `path` set to it, its replica's `path` (or `url` path)
  extended by the tenant's path relative to `dir`, and `meta-dir` turned into its `meta-path`.

So a tenant's replica is known without the daemon, which is what lets `restore -d TENANT` work
where litestream's own restore says "database not found in config".
"""

from __future__ import annotations

import copy
import os
import posixpath
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SQLITE_HEADER = b"SQLite format 3\x00"
DIR_KEYS = ("dir", "pattern", "recursive", "watch", "meta-dir")
META_SUFFIX = "-litestream"
"""litestream.MetaDirSuffix: a tenant's meta-path is META_DIR/RELPATH-litestream."""


def go_pattern(pattern: str) -> re.Pattern[str]:
    """Go's filepath.Match `pattern` as a regex for a base name; ValueError (Go's
    ErrBadPattern) when it is malformed."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        index += 1
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\":
            if index >= len(pattern):
                raise ValueError("a trailing '\\' escapes nothing")
            out.append(re.escape(pattern[index]))
            index += 1
        elif char == "[":
            index = _char_class(pattern, index, out)
        else:
            out.append(re.escape(char))
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _char_class(pattern: str, index: int, out: list[str]) -> int:
    """Translate `[...]` starting after its '['; return the index after its ']'."""
    negate = index < len(pattern) and pattern[index] == "^"
    index += negate
    ranges: list[str] = []
    while True:
        if index >= len(pattern):
            raise ValueError("a '[' is never closed")
        if pattern[index] == "]" and ranges:
            break
        low, index = _class_char(pattern, index)
        if index < len(pattern) and pattern[index] == "-":
            high, index = _class_char(pattern, index + 1)
            if high < low:
                raise ValueError(f"the range {low}-{high} runs backwards")
            ranges.append(f"{re.escape(low)}-{re.escape(high)}")
        else:
            ranges.append(re.escape(low))
    out.append(f"[{'^/' if negate else ''}{''.join(ranges)}]")
    return index + 1


def _class_char(pattern: str, index: int) -> tuple[str, int]:
    if index >= len(pattern) or pattern[index] in "-]":
        raise ValueError("a '[...]' class is malformed")
    if pattern[index] == "\\":
        index += 1
        if index >= len(pattern):
            raise ValueError("a trailing '\\' escapes nothing")
    return pattern[index], index + 1


def pattern_problem(pattern: str) -> str | None:
    """Why litestream cannot use `pattern` for a base name, or None."""
    if "/" in pattern:
        return (
            f"pattern '{pattern}' contains '/', but litestream matches it against file names "
            "only (use 'recursive: true' for subdirectories)"
        )
    try:
        go_pattern(pattern)
    except ValueError as exc:
        return f"pattern '{pattern}' is not a valid file-name pattern: {exc}"
    return None


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(16) == SQLITE_HEADER
    except OSError:
        return False


def discover(directory: Path, pattern: str, recursive: bool) -> list[Path]:
    """The SQLite databases litestream finds under `directory` (sorted), as FindSQLiteDatabases
    does: a malformed pattern finds nothing."""
    try:
        match = go_pattern(pattern).match
    except ValueError:
        return []
    found: list[Path] = []
    for root, dirs, files in os.walk(directory):
        if not recursive:
            dirs.clear()
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if match(name) and is_sqlite(path):
                found.append(path)
    return found


def absolute(raw: Any) -> Path:
    return Path(str(raw)).expanduser().absolute()


def dir_entries(settings: dict[str, Any]) -> list[dict[str, Any]]:
    """The `dir:` entries of a loaded config."""
    entries = settings.get("dbs") or []
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict) and e.get("dir") and not e.get("path")]


def owns(entry: dict[str, Any], db: Path) -> bool:
    """Whether litestream would take `db` (absolute) as a tenant of the `dir:` entry, from its
    name alone (the file may not exist: it may be the one to restore)."""
    directory = absolute(entry["dir"])
    try:
        relative = db.relative_to(directory)
    except ValueError:
        return False
    if len(relative.parts) > 1 and not entry.get("recursive"):
        return False
    try:
        return go_pattern(str(entry.get("pattern") or "")).match(db.name) is not None
    except ValueError:
        return False


def owner(settings: dict[str, Any], db: Path) -> dict[str, Any] | None:
    """The first `dir:` entry `db` is a tenant of, or None."""
    return next((e for e in dir_entries(settings) if owns(e, db)), None)


def tenant_entry(entry: dict[str, Any], db: Path) -> dict[str, Any]:
    """The `path:` entry litestream makes for tenant `db` of the `dir:` entry."""
    relative = db.relative_to(absolute(entry["dir"])).as_posix()
    tenant = {k: copy.deepcopy(v) for k, v in entry.items() if k not in DIR_KEYS}
    tenant = {"path": str(db), **tenant}
    if entry.get("meta-dir"):
        tenant["meta-path"] = str(absolute(entry["meta-dir"]) / f"{relative}{META_SUFFIX}")
    elif entry.get("meta-path"):
        parent, name = posixpath.split(relative)
        tenant["meta-path"] = str(absolute(entry["meta-path"]) / parent / f".{name}{META_SUFFIX}")
    if isinstance(tenant.get("replica"), dict):
        tenant["replica"] = tenant_replica(tenant["replica"], relative)
    if isinstance(tenant.get("replicas"), list):
        tenant["replicas"] = [
            tenant_replica(r, relative) if isinstance(r, dict) else r for r in tenant["replicas"]
        ]
    return tenant


def tenant_replica(replica: dict[str, Any], relative: str) -> dict[str, Any]:
    """cloneReplicaConfigWithRelativePath: the tenant's path appended to the replica's."""
    out = dict(replica)
    if out.get("url"):
        parts = urlsplit(str(out["url"]))
        joined = posixpath.join(parts.path, relative) if parts.path else relative
        out["url"] = urlunsplit(parts._replace(path="/" + joined.lstrip("/")))
    elif str(out.get("type") or "file") == "file":
        out["path"] = str(Path(str(out["path"])) / relative) if out.get("path") else relative
    else:
        base = str(out.get("path") or "")
        out["path"] = posixpath.join(base, relative) if base else relative
    return out


def tenants(settings: dict[str, Any]) -> Iterator[tuple[Path, dict[str, Any]]]:
    """Each tenant on disk of each `dir:` entry, with its derived entry."""
    for entry in dir_entries(settings):
        directory = absolute(entry["dir"])
        for db in discover(
            directory, str(entry.get("pattern") or ""), bool(entry.get("recursive"))
        ):
            yield db, tenant_entry(entry, db)


def describe(entry: dict[str, Any]) -> str:
    """'DIR (pattern P[, recursive])' for messages."""
    recursive = ", recursive" if entry.get("recursive") else ""
    return f"{absolute(entry['dir'])} (pattern {entry.get('pattern')!r}{recursive})"
