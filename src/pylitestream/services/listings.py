"""The listing commands (databases, generations, snapshots, wal, ltx, status): litestream's
output as records, the same keys on both lines wherever the lines agree."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import CommandFailed, UnsupportedOnVersion, UsageError
from ..litestream import records
from ..litestream.binary import Binary, find_binary
from ..litestream.records import Record
from ..litestream.runner import run_litestream
from .prepare import PathLike, checked_config, database_arg, litestream_config


def _require(binary: Binary, command: str) -> None:
    if command not in binary.profile.commands:
        raise UnsupportedOnVersion(binary.profile.missing[command])


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
    path = checked_config(binary, config, validate)
    named = None if db is None else [database_arg(db)]
    with litestream_config(path, named) as config_file:
        args = [command, "-config", config_file, *extra]
        if binary.profile.json_listings:
            args.append("-json")
        args += named or []
        completed = run_litestream(
            binary, args, timeout=timeout, errors_in_log_fail=binary.profile.errors_only_in_log
        )
    return binary, completed.stdout


def databases(
    *, config: PathLike | None = None, timeout: float | None = None, validate: bool = True
) -> list[Record]:
    """The databases in the config: [{"path", "replicas"}]. Every function that runs litestream
    checks the config first (validate=False skips it; see check_config)."""
    binary, out = _listing("databases", None, config, timeout, validate=validate)
    return records.databases_05(out) if binary.profile.json_listings else records.databases_03(out)


def generations(
    db: PathLike | None,
    *,
    config: PathLike | None = None,
    timeout: float | None = None,
    validate: bool = True,
) -> list[Record]:
    """0.3 generations: [{"replica", "generation", "lag_ms", "start", "end"}]."""
    database_arg(db)
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
    database_arg(db)
    parse_03, level, parse_05 = _BACKUP_FILES[command]
    if not find_binary().profile.ltx_levels:
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
    database_arg(db)
    # ASCII digits only: str.isdigit() takes "٣", which litestream (Go) refuses.
    if str(level) != "all" and str(level) not in tuple("0123456789"):
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
        raise CommandFailed(f"database not found in config: {database_arg(db)}")
    return rows
