"""Restore: litestream restores into a private directory, and the result is linked into place,
so nothing that exists is ever replaced (see placement)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from .. import logs
from ..errors import CommandFailed, CommandTimeout, IntegrityCheckFailed, UsageError
from ..litestream.binary import Binary, find_binary
from ..litestream.flags import check_flag_value, parse_go_flags
from ..litestream.runner import run_litestream
from ..litestream.timeouts import default_timeout
from . import integrity, placement
from .prepare import PathLike, checked_config, database_arg, litestream_config

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

    Nothing that fails an integrity check is placed either: integrity_check="quick" (the
    default) or "full" on both lines; only "none" turns it off. A failure raises
    IntegrityCheckFailed naming the newest older restore point that passes, if there is one.
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
    if skip_if_exists and os.path.lexists(target):
        return None
    if not named_output and not force:
        target = placement.default_target(target)
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

    check = str(flags.pop("integrity-check", integrity.DEFAULT_CHECK))
    checked = checked_config(binary, config, validate, [f"-{f}" for f in flags])
    # A tenant of a `dir:` entry restores through a copy of the config naming it (see
    # prepare.litestream_config): litestream's own restore does not find it.
    with litestream_config(checked, [db_path]) as config_path, \
            placement.scratch_dir(target) as scratch:  # fmt: skip
        scratch_db = scratch / "restore.db"
        complaint = _restore_into(binary, config_path, db_path, flags, scratch_db, check, timeout)
        if complaint is not None:
            raise _integrity_failure(
                binary, config_path, db_path, flags, check, complaint, scratch, timeout
            )
        if not scratch_db.exists():
            return None  # -if-replica-exists and the replica has no backup
        if force:
            for suffix in ("-wal", "-shm"):
                aside = placement.move_aside(Path(f"{target}{suffix}"))
                if aside is not None:
                    logs.get(__name__).info(f"moved stale {target}{suffix} aside to {aside}")
        placement.place(scratch_db, target, replace=force)
    return str(target)


def _restore_into(
    binary: Binary,
    config: str,
    db: str,
    flags: dict[str, str | bool],
    out: Path,
    check: str,
    timeout: float | None,
) -> str | None:
    """Let litestream restore `db` into `out` (a private path), then check the result: None
    when it passes, was not checked (check "none") or nothing was restored, else the check's
    complaint. 0.5 checks inside litestream (-integrity-check); 0.3 here."""
    argv = ["restore", "-config", config]
    forwarded = {**flags, "o": str(out)}
    if binary.profile.restore_checks_integrity:
        forwarded["integrity-check"] = check
    for flag, value in forwarded.items():
        argv.append(f"-{flag}" if value is True else f"-{flag}={value}")
    argv.append(db)
    try:
        run_litestream(binary, argv, timeout=timeout)
    except CommandTimeout:
        raise
    except CommandFailed as exc:
        complaint = integrity.litestream_complaint(str(exc))
        if complaint is None or check == "none":
            raise
        return complaint
    if check == "none" or binary.profile.restore_checks_integrity or not out.exists():
        return None
    verdict = integrity.sqlite_check(out, check)
    return None if verdict == "ok" else verdict


def _integrity_failure(
    binary: Binary,
    config: str,
    db: str,
    flags: dict[str, str | bool],
    check: str,
    complaint: str,
    scratch: Path,
    timeout: float | None,
) -> IntegrityCheckFailed:
    """The error for a restore that failed its check, naming the newest older restore point
    that passes, found by restoring older points into `scratch` one at a time."""
    message = (
        f"the restore of {db} fails its integrity check ({check}): {complaint}; "
        "nothing was restored"
    )
    seconds = default_timeout() if timeout is None else timeout
    deadline = time.monotonic() + seconds
    try:
        points = integrity.older_points(binary, config, db, flags, timeout)
    except CommandFailed:
        points = []  # the listing failed too: the error above is still the one to report
    same_point = {k: v for k, v in flags.items() if k not in integrity.POINT_FLAGS}
    tries = iter(range(integrity.STEP_BACK_LIMIT))

    def fails(point: dict[str, str]) -> bool:
        out = scratch / f"step-back-{next(tries)}.db"
        try:
            return _restore_into(binary, config, db, {**same_point, **point}, out, check,
                                 timeout) is not None or not out.exists()  # fmt: skip
        except CommandFailed:
            return True
        finally:
            for leftover in scratch.glob(f"{out.name}*"):
                leftover.unlink(missing_ok=True)

    found = integrity.newest_passing(points, fails, deadline)
    if found is None:
        tried = min(len(points), integrity.STEP_BACK_LIMIT)
        message += f"; none of the {tried} older restore point(s) tried passes" if tried else ""
        return IntegrityCheckFailed(message)
    point, name = found
    flags_text = " ".join(f"-{flag} {value}" for flag, value in point.items())
    error = IntegrityCheckFailed(
        f"{message}; the newest restore point that passes is {name}: restore it with "
        f"-- {flags_text}"
    )
    error.passing = point
    return error


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
