"""The Python API: what the CLI does, as functions returning plain data (the --json keys)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__
from .cli.output import log as log_event
from .config import check_config as check_config
from .config import find_config
from .config import init_config as init_config
from .config import migrate_config as migrate_config
from .config import show_config as show_config
from .config import validate_config as _validate_config
from .errors import CommandFailed, DatabaseRequired, UnsupportedOnVersion, UsageError
from .litestream import records
from .litestream.binary import Binary, find_binary, path_note
from .litestream.records import Record
from .litestream.runner import exec_litestream, litestream_env, run
from .masking import mask_env_value
from .services import placement

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


def _require(binary: Binary, command: str) -> None:
    if command not in binary.caps.commands:
        raise UnsupportedOnVersion(binary.caps.missing[command])


def _db_arg(db: PathLike | None) -> str:
    if db is None or str(db) == "":
        raise DatabaseRequired("this command needs --database PATH (see 'pylitestream databases')")
    return str(Path(db).expanduser().absolute())


def _listing(
    command: str,
    db: PathLike | None,
    config: PathLike | None,
    timeout: float | None,
    extra: Sequence[str] = (),
    validate: bool = True,
) -> tuple[Binary, str]:
    """Run a listing command; return the binary used and its stdout."""
    binary = find_binary()
    _require(binary, command)
    args = [command, "-config", checked_config(binary, config, validate), *extra]
    if binary.line == "0.5":
        args.append("-json")
    if db is not None:
        args.append(_db_arg(db))
    completed = run(binary, args, timeout=timeout, errors_in_log_fail=binary.line == "0.3")
    return binary, completed.stdout


def databases(
    *, config: PathLike | None = None, timeout: float | None = None, validate: bool = True
) -> list[Record]:
    """The databases in the config: [{"path", "replicas"}]. Every function that runs litestream
    checks the config first (validate=False skips it; see check_config)."""
    binary, out = _listing("databases", None, config, timeout, validate=validate)
    return records.databases_03(out) if binary.line == "0.3" else records.databases_05(out)


def generations(
    db: PathLike | None,
    *,
    config: PathLike | None = None,
    timeout: float | None = None,
    validate: bool = True,
) -> list[Record]:
    """0.3 generations: [{"replica", "generation", "lag_ms", "start", "end"}]."""
    _db_arg(db)
    _, out = _listing("generations", db, config, timeout, validate=validate)
    return records.generations_03(out)


def _ltx_level(
    db: PathLike | None,
    level: int | str,
    config: PathLike | None,
    timeout: float | None,
    validate: bool = True,
) -> str:
    _, out = _listing("ltx", db, config, timeout, ["-level", str(level)], validate)
    return out


def snapshots(
    db: PathLike | None,
    *,
    config: PathLike | None = None,
    timeout: float | None = None,
    validate: bool = True,
) -> list[Record]:
    """Snapshots; on 0.5 these are the LTX files at level 9."""
    return _backup_files("snapshots", db, config, timeout, validate)


def wal(
    db: PathLike | None,
    *,
    config: PathLike | None = None,
    timeout: float | None = None,
    validate: bool = True,
) -> list[Record]:
    """WAL segments; on 0.5 these are the LTX files at level 0."""
    return _backup_files("wal", db, config, timeout, validate)


# 0.3 command -> (its parser, the 0.5 LTX level that plays its part, that level's parser)
_BACKUP_FILES = {
    "snapshots": (records.snapshots_03, records.SNAPSHOT_LEVEL, records.snapshots_05),
    "wal": (records.wal_03, 0, records.wal_05),
}


def _backup_files(
    command: str, db: PathLike | None, config: PathLike | None, timeout: float | None,
    validate: bool,
) -> list[Record]:  # fmt: skip
    _db_arg(db)
    parse_03, level, parse_05 = _BACKUP_FILES[command]
    if find_binary().line == "0.3":
        _, out = _listing(command, db, config, timeout, validate=validate)
        return parse_03(out)
    return parse_05(_ltx_level(db, level, config, timeout, validate))


def ltx(
    db: PathLike | None,
    *,
    level: int | str = 0,
    config: PathLike | None = None,
    timeout: float | None = None,
    validate: bool = True,
) -> list[Record]:
    """0.5 LTX files at `level` (0-9 or "all"): [{"level", "min_txid", "max_txid", "size",
    "created"}]."""
    _db_arg(db)
    if str(level) != "all" and not (str(level).isdigit() and 0 <= int(level) <= 9):
        raise UsageError(f"--level must be 0-9 or 'all', not {level!r}")
    _require(find_binary(), "ltx")
    return records.ltx_05(_ltx_level(db, level, config, timeout, validate))


def status(
    db: PathLike | None = None,
    *,
    config: PathLike | None = None,
    timeout: float | None = None,
    validate: bool = True,
) -> list[Record]:
    """0.5 local status per database: [{"database", "status", "local_txid", "wal_size"}]."""
    _, out = _listing("status", db, config, timeout, validate=validate)
    rows = records.status_05(out)
    if db is not None and not rows:
        # 0.5 prints [] and exits 0 here; every other command fails on such a database.
        raise CommandFailed(f"database not found in config: {_db_arg(db)}")
    return rows


def version() -> Record:
    """{"pylitestream", "litestream", "line", "path", "source", "on_path", "note"}: on_path is the
    litestream a shell runs (None if none), note says so when it is not `path`."""
    binary = find_binary()
    on_path, note = path_note(binary.path)
    return {
        "pylitestream": __version__,
        "litestream": binary.version,
        "line": binary.line,
        "path": str(binary.path),
        "source": binary.source,
        "on_path": on_path,
        "note": note,
    }


# --- restore ------------------------------------------------------------------------------------


def parse_go_flags(
    args: Sequence[str], binary: Binary, command: str = "restore"
) -> dict[str, str | bool]:
    """Read litestream flags ('-o x', '--o=x', '-if-db-not-exists') into {name: value}, the way
    Go's flag package does, checking each against the flag table of this Litestream line, value
    included. Flags the line lacks are refused with the name of what to use instead. For
    `replicate`, the first positional argument ends the flags (litestream's DB and URLs)."""
    table = binary.caps.flags[command]
    parsed: dict[str, str | bool] = {}
    items = list(args)
    while items:
        item = items.pop(0)
        if command == "replicate" and (not item.startswith("-") or item == "-"):
            break
        if not item.startswith("-") or item in ("-", "--"):
            raise UsageError(
                f"unexpected argument {item!r}: pass the database with --database, "
                "and litestream flags as -name value"
            )
        body = item[2:] if item.startswith("--") else item[1:]
        name, has_value, value = body.partition("=")
        if not name or name.startswith(("-", "=")):
            raise UsageError(f"bad flag syntax: {item}")
        if command == "restore" and f"-{name}" in binary.caps.missing:
            raise UnsupportedOnVersion(binary.caps.missing[f"-{name}"])
        kind = table.get(name)
        if kind is None:
            import difflib

            close = difflib.get_close_matches(name, table, n=1)
            hint = f"did you mean -{close[0]}? " if close else ""
            raise UsageError(
                f"unknown {command} flag -{name} for Litestream {binary.line}; {hint}"
                f"known: {', '.join('-' + k for k in sorted(table))}"
            )
        if kind == "bool":
            parsed[name] = check_flag_value(name, kind, value) if has_value else True
            continue
        if not has_value:
            if not items:
                raise UsageError(f"{command} flag -{name} needs a value")
            value = items.pop(0)
        parsed[name] = check_flag_value(name, kind, value)
    return parsed


_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_GO_DURATION = re.compile(r"[+-]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)")


def check_flag_value(name: str, kind: str, value: str) -> str | bool:
    """`value` as litestream takes it for a flag of `kind` (see binary.Capabilities.flags), or
    UsageError saying what it wants, where Go would refuse it or litestream misuse it."""
    import datetime

    def refuse(wants: str) -> NoReturn:
        raise UsageError(f"-{name} {value!r}: {wants}")

    if kind == "bool":
        if value not in _GO_TRUE + _GO_FALSE:
            refuse("expected true or false (written -flag or -flag=false)")
        return value in _GO_TRUE
    if "|" in kind and value not in kind.split("|"):
        refuse(f"expected one of {kind.replace('|', ', ')}")
    if kind == "count" and not (value.isdigit() and 0 < int(value) <= 1_000_000):
        refuse("expected a whole number of at least 1")
    if kind == "txid" and not re.fullmatch(r"[0-9a-fA-F]{16}", value):
        refuse("expected exactly 16 hex digits, e.g. 0000000000000005 (see 'pylitestream ltx')")
    if kind == "index" and not re.fullmatch(r"[0-9a-fA-F]{1,8}", value):
        refuse("expected a hex WAL index of up to 8 digits, e.g. 0000001f (see 'pylitestream wal')")
    if kind == "generation" and not re.fullmatch(r"[0-9a-f]{16}", value):
        refuse("expected a 16-hex-digit generation (see 'pylitestream generations')")
    if kind == "duration" and not _GO_DURATION.fullmatch(value):
        refuse("expected a Go duration such as 1s or 500ms")
    if kind == "timestamp":
        try:
            if not _RFC3339.fullmatch(value):
                raise ValueError(value)
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            refuse("expected an RFC 3339 time such as 2026-01-02T15:04:05Z")
    # An existing path of any kind, a directory included, is restore's own refusal (placement).
    if kind == "output" and (not value or value.endswith(("/", os.sep))):
        refuse("names a directory; give the database file to restore into, e.g. -o dir/app.db")
    return value


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
    db_path = _db_arg(db)
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
            ", or pass -force to replace a file" if binary.line == "0.5" else ""
        )
        placement.refuse_occupied(target, hint)

    config_path = checked_config(binary, config, validate, [f"-{f}" for f in flags])
    with placement.scratch_dir(target) as scratch:
        scratch_db = scratch / "restore.db"
        argv = ["restore", "-config", config_path]
        for flag, value in {**flags, "o": str(scratch_db)}.items():
            argv.append(f"-{flag}" if value is True else f"-{flag}={value}")
        argv.append(db_path)
        run(binary, argv, timeout=timeout)
        if not scratch_db.exists():
            return None  # -if-replica-exists and the replica has no backup
        if force:
            for suffix in ("-wal", "-shm"):
                aside = placement.move_aside(Path(f"{target}{suffix}"))
                if aside is not None:
                    log_event(f"moved stale {target}{suffix} aside to {aside}")
        placement.place(scratch_db, target, replace=force)
    return str(target)


# --- replicate ----------------------------------------------------------------------------------


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


def replicate(
    config: PathLike | None = None, args: Sequence[str] = (), *, validate: bool = True
) -> NoReturn:
    """Become `litestream replicate` (this process is replaced; the function never returns).
    To run it beside your own code instead, see the supervision API."""
    from .supervise import claim_for_exec

    binary = find_binary()
    argv = replicate_argv(config, args, validate=validate)
    claim_for_exec(Path(argv[argv.index("-config") + 1]), binary)
    exec_litestream(binary, argv)


def env_vars(environ: dict[str, str] | None = None) -> list[Record]:
    """The LITESTREAM_* (and AWS_*) variables in effect, secrets masked: [{"name", "value"}]."""
    source = os.environ if environ is None else environ
    names = sorted(n for n in source if n.startswith(("LITESTREAM_", "PYLITESTREAM_", "AWS_")))
    return [{"name": name, "value": mask_env_value(name, source[name])} for name in names]


# --- verify (issue 5) ---------------------------------------------------------------------------


def verify(
    db: PathLike,
    *,
    config: PathLike | None = None,
    timeout: float | None = None,
    quick: bool = False,
    validate: bool = True,
) -> Record:
    """Prove `db`'s backup is restorable, fresh and intact: write a sentinel row, wait until a
    restore shows it, integrity-check the copy. Returns {"database", "ok", "reason", "message",
    "seconds_to_visible", "restored_size", "replica", "litestream", "integrity", "method"};
    raises VerificationFailure (with .reason and .record) otherwise."""
    from . import verification

    return verification.verify(db, config=config, timeout=timeout, quick=quick, validate=validate)


def verify_all(
    *,
    config: PathLike | None = None,
    timeout: float | None = None,
    quick: bool = False,
    validate: bool = True,
) -> list[Record]:
    """Verify every configured database concurrently: one verify record each (failures have
    ok=False and a reason instead of raising)."""
    from . import verification

    return verification.verify_all(config=config, timeout=timeout, quick=quick, validate=validate)
