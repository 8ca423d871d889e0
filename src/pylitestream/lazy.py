"""Names a module hands out on first use, so that `import pylitestream` and the CLI's start-up
load only what a command needs (bench/bench_cli.py measures it)."""

from __future__ import annotations

import importlib
from typing import Any


def load(module: str, name: str, table: dict[str, str]) -> Any:
    """`name` from the module `table` assigns it to; AttributeError, as Python's own, if none."""
    source = table.get(name)
    if source is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    return getattr(importlib.import_module(source), name)
