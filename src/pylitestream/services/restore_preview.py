"""`restore --dry-run`: what a Litestream 0.5 restore would fetch, from `restore -dry-run -json`.

Kept apart from restore itself: a plan writes nothing, so none of restore's guards (existing
target, leftovers) apply.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Record = dict[str, Any]
PathLike = str | os.PathLike[str]

PLAN_KEYS = ("database", "target", "replica", "min_txid", "max_txid", "files")
FILE_KEYS = ("level", "name", "min_txid", "max_txid", "size", "created")
FLAGS = ("timestamp", "txid", "o")
"""The restore flags a plan takes (after --, in litestream's form)."""


def restore_plan(
    db: PathLike | None,
    timestamp: str | None = None,
    txid: str | None = None,
    *,
    output: PathLike | None = None,
    config: PathLike | None = None,
    timeout: float | None = None,
    validate: bool = True,
) -> Record:
    """The plan of restoring `db` (latest, or to `timestamp` / `txid`, 16 hex digits) without
    restoring: {"database", "target", "replica", "min_txid", "max_txid", "files": [{"level",
    "name", "min_txid", "max_txid", "size", "created"}]}. Litestream 0.5 only."""
    from ..errors import CommandFailed, UnsupportedOnVersion, UsageError
    from ..litestream.binary import find_binary
    from ..litestream.flags import check_flag_value
    from ..litestream.runner import run_litestream
    from .placement import default_target
    from .prepare import checked_config, database_arg, litestream_config

    db_path = database_arg(db)
    binary = find_binary()
    if "-dry-run" in binary.profile.missing:
        raise UnsupportedOnVersion(binary.profile.missing["-dry-run"])
    if timestamp and txid:
        raise UsageError("pass either -timestamp or -txid, not both")
    if txid is not None:
        check_flag_value("txid", "txid", txid)
    if timestamp:
        check_flag_value("timestamp", "timestamp", timestamp)
    checked = checked_config(binary, config, validate)
    flags = ["-dry-run", "-json"]
    if output is not None:
        flags.append(f"-o={os.path.abspath(os.path.expanduser(str(output)))}")
    if timestamp:
        flags.append(f"-timestamp={timestamp}")
    if txid:
        flags.append(f"-txid={txid}")
    with litestream_config(checked, [db_path]) as config_file:
        argv = ["restore", "-config", config_file, *flags, db_path]
        completed = run_litestream(binary, argv, timeout=timeout)
    try:
        data = json.loads(completed.stdout)
        files = [
            {
                "level": entry.get("level"),
                "name": entry.get("name"),
                "min_txid": entry.get("min_txid"),
                "max_txid": entry.get("max_txid"),
                "size": entry.get("size"),
                "created": entry.get("timestamp"),
            }
            for entry in data.get("files") or []
        ]
        # Without -o litestream names the database itself; pylitestream's restore never
        # writes there when it exists, so the plan names where the restore really goes.
        target = (
            data.get("target_path") if output is not None else str(default_target(Path(db_path)))
        )
        return {
            "database": data.get("source") or db_path,
            "target": target,
            "replica": data.get("replica"),
            "min_txid": data.get("min_txid"),
            "max_txid": data.get("max_txid"),
            "files": files,
        }
    except (ValueError, AttributeError, TypeError):
        raise CommandFailed(
            f"litestream restore -dry-run -json printed no plan: {completed.stdout[:200]!r}",
            argv=completed.argv,
            stdout=completed.stdout,
        ) from None


def restore_plan_from_args(db: PathLike | None, args: Sequence[str], *, config: PathLike | None,
                   timeout: float | None, validate: bool) -> Record:  # fmt: skip
    """restore_plan from `pylitestream restore --dry-run -- -timestamp T | -txid X | -o PATH`."""
    from ..errors import UnsupportedOnVersion, UsageError
    from ..litestream.binary import find_binary
    from ..litestream.flags import parse_go_flags

    binary = find_binary()
    if "-dry-run" in binary.profile.missing:
        raise UnsupportedOnVersion(binary.profile.missing["-dry-run"])
    flags = parse_go_flags(args, binary)
    extra = sorted(set(flags) - set(FLAGS) - {"dry-run"})
    if extra:
        raise UsageError(f"restore --dry-run takes only -timestamp, -txid and -o, not -{extra[0]}")
    return restore_plan(
        db,
        None if flags.get("timestamp") is None else str(flags["timestamp"]),
        None if flags.get("txid") is None else str(flags["txid"]),
        output=None if flags.get("o") is None else str(flags["o"]),
        config=config,
        timeout=timeout,
        validate=validate,
    )
