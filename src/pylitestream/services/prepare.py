"""What every command does before litestream runs: find and check the config, and make the
database argument absolute."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..config import find_config
from ..config import validate_config as _validate_config
from ..errors import DatabaseRequired
from ..litestream.binary import Binary
from ..litestream.runner import litestream_env

PathLike = str | os.PathLike[str]


def checked_config(
    binary: Binary,
    config: PathLike | None,
    validate: bool = True,
    args: Sequence[str] = (),
    *,
    missing_dirs_ok: bool = False,
) -> str:
    """The config litestream gets, checked first (see config.validate_config) unless told not
    to: a config litestream would misread never reaches it."""
    path = find_config(config)
    if validate:
        expand = not any(a.lstrip("-") == "no-expand-env" for a in args)
        _validate_config(
            path,
            binary.line,
            litestream_env(binary),
            expand=expand,
            missing_dirs_ok=missing_dirs_ok,
        )
    return str(path)


def database_arg(db: PathLike | None, listed_by: str = "databases") -> str:
    """The absolute path litestream (and the daemon) know a database by; DatabaseRequired,
    pointing at the command `listed_by` that lists them, when there is none."""
    if db is None or str(db) == "":
        raise DatabaseRequired(
            f"this command needs --database PATH (see 'pylitestream {listed_by}')"
        )
    return str(Path(db).expanduser().absolute())
