"""Small JSON caches in the user cache dir, so repeated commands skip work already done.

A cache is only ever an optimisation: unreadable means empty, unwritable means not kept.
"""

from __future__ import annotations

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


def load(name: str) -> dict[str, Any]:
    try:
        data = json.loads((cache_dir() / f"{name}.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def store(name: str, entries: dict[str, Any]) -> None:
    """Write atomically, keeping the newest MAX_ENTRIES (dicts keep insertion order)."""
    path = cache_dir() / f"{name}.json"
    kept = dict(list(entries.items())[-MAX_ENTRIES:])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(kept))
        tmp.replace(path)
    except OSError:
        pass
