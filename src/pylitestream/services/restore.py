"""Restore: litestream restores into a private directory, and the result is linked into place,
so nothing that exists is ever replaced (see placement)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .. import logs
from ..errors import UsageError
from ..litestream.binary import Binary, find_binary
from ..litestream.flags import check_flag_value, parse_go_flags
from ..litestream.runner import run_litestream
from . import placement
from .prepare import PathLike, checked_config, database_arg

# Flags pylitestream manages itself, or whose output a restore that returns a path cannot carry.
_NOT_FORWARDED = {
    "config": "pass --config to pylitestream instead of -config",
    "json": "pass --json to pylitestream instead of -json",
    "dry-run": "pass pylitestream's own --dry-run (API: restore_plan()) instead of forwarding "
    "litestream restore -dry-run",
    "f": "follow mode never finishes; run 'litestream restore -f' under a process supervisor",
    "follow-interval": "follow mode never finishes; run 'litestream restore -f' directly",
}


def restore(
    db: PathLike | None,
    output: PathLike | None = None,
    *,
    config: PathLike | None = None,
    timeout: float | None = None,
    args: Sequence[str] = (),
    validate: bool = True,
    **options: str | int | bool | None,
) -> str | None:
    """Restore `db` from its replica; return the path restored, or None when litestream skipped
    it (-if-db-not-exists with the file present, -if-replica-exists with no backup).

    options are litestream's restore flags with underscores: timestamp="2026-…Z", txid="…" (0.5),
    index/generation/replica (0.3), if_db_not_exists=True, if_replica_exists=True, parallelism=8,
    force=True (0.5). args takes the same flags in litestream's own form, e.g. ["-o", "x.db"].

    Nothing that exists is replaced: an output path (or its -wal, -shm, .tmp) that exists in any
    form is refused with UsageError. Without an output and with the database present, the restore
    goes to a timestamped sibling (app-20261127093000.db) whose path is returned. force=True (0.5)
    replaces only a regular file, and moves its stale -wal/-shm aside first.
    """
    db_path = database_arg(db)
    binary = find_binary()
    flags = parse_go_flags(args, binary)
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = key.replace("_", "-")
        flags.update(parse_go_flags([f"-{flag}" if value is True else f"-{flag}={value}"], binary))
    for flag, message in _NOT_FORWARDED.items():
        if flag in flags:
            raise UsageError(message)
    if output is not None:
        flags["o"] = check_flag_value("o", "output", str(output))
    named_output = "o" in flags
    target = Path(str(flags.pop("o", None) or db_path)).expanduser().absolute()

    return _restore_safely(binary, db_path, target, flags, named_output, config, validate, timeout)


def _restore_safely(
    binary: Binary,
    db_path: str,
    target: Path,
    flags: dict[str, str | bool],
    named_output: bool,
    config: PathLike | None,
    validate: bool,
    timeout: float | None,
) -> str | None:
    """Restore into a private directory, then link the result into place: nothing that exists
    at the target, or at its -wal/-shm/.tmp, is ever replaced (see placement)."""
    force = bool(flags.pop("force", False))
    skip_if_exists = bool(flags.pop("if-db-not-exists", False))
    if os.path.lexists(target):
        if skip_if_exists:
            return None
        if not named_output and not force:
            # Without -o the live database is never touched: restore beside it instead.
            target = placement.sibling(target)
    if force:
        # Asked for by name: a regular file may be replaced, and its -wal/-shm moved aside.
        form = placement.existing_form(target)
        if form not in (None, "a file", "an empty file"):
            raise UsageError(f"restore target {target} is {form}; -force replaces only a file")
    else:
        hint = "restore elsewhere with -o NEW_PATH" + (
            ", or pass -force to replace a file"
            if "force" in binary.profile.flags["restore"]
            else ""
        )
        placement.refuse_occupied(target, hint)

    config_path = checked_config(binary, config, validate, [f"-{f}" for f in flags])
    with placement.scratch_dir(target) as scratch:
        scratch_db = scratch / "restore.db"
        argv = ["restore", "-config", config_path]
        for flag, value in {**flags, "o": str(scratch_db)}.items():
            argv.append(f"-{flag}" if value is True else f"-{flag}={value}")
        argv.append(db_path)
        run_litestream(binary, argv, timeout=timeout)
        if not scratch_db.exists():
            return None  # -if-replica-exists and the replica has no backup
        if force:
            for suffix in ("-wal", "-shm"):
                aside = placement.move_aside(Path(f"{target}{suffix}"))
                if aside is not None:
                    logs.get(__name__).info(f"moved stale {target}{suffix} aside to {aside}")
        placement.place(scratch_db, target, replace=force)
    return str(target)


def replicate_argv(
    config: PathLike | None = None, args: Sequence[str] = (), *, validate: bool = True
) -> list[str]:
    """The litestream arguments `replicate` runs with: the config always named explicitly,
    and checked first unless validate=False."""
    forwarded = list(args)
    binary = find_binary()
    if "config" in parse_go_flags(forwarded, binary, "replicate"):
        raise UsageError("pass the config as pylitestream --config, not as a forwarded -config")
    path = checked_config(binary, config, validate, forwarded)
    return ["replicate", "-config", path, *forwarded]
