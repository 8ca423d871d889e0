"""Small JSON files pylitestream keeps for itself: caches in the user cache dir, so repeated
commands skip work already done, and records in the user state dir (the replicate state files,
check's observations, the latest verify results).

A cache is only ever an optimisation: unreadable means empty, unwritable means not kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

MAX_ENTRIES = 64


def cache_dir() -> Path:
    # platformdirs' answer, without importing it on every command: its import costs more than
    # the lookup it saves.
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "pylitestream"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pylitestream"


def state_dir(kind: str) -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("pylitestream")) / kind


def state_name(key: str) -> str:
    """The file name of the record about `key` (a config or database path) in a state dir."""
    import hashlib  # here: its OpenSSL import costs every command's start-up 2 ms

    return f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def state_path(kind: str, key: str) -> Path:
    """Where pylitestream keeps its `kind` record about `key` (a config or database path)."""
    return state_dir(kind) / state_name(key)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`; None when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace `path` with `data` in one step, so a reader never sees half a file; OSError
    propagates."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)


def load(name: str) -> dict[str, Any]:
    return read_json(cache_dir() / f"{name}.json") or {}


def store(name: str, entries: dict[str, Any]) -> None:
    """Write atomically, keeping the newest MAX_ENTRIES (dicts keep insertion order)."""
    with contextlib.suppress(OSError):
        write_json(cache_dir() / f"{name}.json", dict(list(entries.items())[-MAX_ENTRIES:]))
