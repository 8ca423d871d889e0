"""What every command does before litestream runs: find and check the config, and make the
database argument absolute."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
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


@contextlib.contextmanager
def litestream_config(config: str, dbs: Sequence[str] | None = None) -> Iterator[str]:
    """The config file to hand litestream's one-shot commands for `dbs` (default: all):
    `config` itself, or, when it has `dir:` entries, a private copy in which each tenant is a
    `path:` entry (config.tenants.expanded_text), removed afterwards."""
    from ..config.expand import expanded_text

    wanted = None if dbs is None else [Path(db) for db in dbs]
    text = expanded_text(Path(config), wanted)
    if text is None:
        yield config
        return
    import shutil
    import tempfile  # here: a command on a config without `dir:` entries never needs it

    directory = Path(tempfile.mkdtemp(prefix="pylitestream-config-"))
    try:
        copy = directory / "litestream.yml"
        descriptor = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        yield str(copy)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
