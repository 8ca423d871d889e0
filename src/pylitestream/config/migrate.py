"""`config migrate`: a 0.3 config rewritten in the 0.5 layout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, UsageError
from .discover import find_config
from .files import read_text
from .load import _compose, load_yaml

if TYPE_CHECKING:
    import yaml


# --- config migrate ------------------------------------------------------------------------------

# 0.3 replica keys with no per-replica counterpart in 0.5 (it snapshots and retains globally, under
# the top-level `snapshot:` key), and 0.3 database keys 0.5 dropped.
_DROPPED_IN_05 = {
    "retention": "snapshot.retention (top level)",
    "retention-check-interval": "none; 0.5 enforces snapshot.retention itself",
    "snapshot-interval": "snapshot.interval (top level)",
    "max-checkpoint-page-count": "truncate-page-n is the nearest",
}


def migrate_data(path: Path, text: str) -> tuple[Any, list[str], bool]:
    """The 0.5 layout of a 0.3 config (env references kept as written), the notes on keys it
    dropped, and whether anything changed. Refuse (ConfigError) when a database has several
    replicas, since 0.5 replicates each database to one."""
    import yaml

    root = _compose(path, text)
    data = load_yaml(path, text)
    if root is None or not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}:1: the config is empty or not a mapping; nothing to migrate")
    db_nodes: list[yaml.Node] = []
    for key_node, value_node in root.value:
        if key_node.value == "dbs" and isinstance(value_node, yaml.SequenceNode):
            db_nodes = list(value_node.value)
    entries = data.get("dbs") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{path}:1: 'dbs' must be a list (each entry starting with '- ')")
    notes: list[str] = []
    changed = False
    for index, db in enumerate(entries):
        if not isinstance(db, dict):
            continue
        line_number = db_nodes[index].start_mark.line + 1 if index < len(db_nodes) else 1
        name = db.get("path") or db.get("dir") or f"database #{index + 1}"
        for key in [k for k in db if k in _DROPPED_IN_05]:
            notes.append(
                f"{path}:{line_number}: dropped '{key}' from {name} (0.5: {_DROPPED_IN_05[key]})"
            )
            del db[key]
            changed = True
        replicas = db.get("replicas")
        if replicas is None:
            continue
        if "replica" in db:
            raise ConfigError(f"{path}:{line_number}: {name} has both 'replica:' and 'replicas:'")
        if not isinstance(replicas, list) or len(replicas) != 1:
            count = len(replicas) if isinstance(replicas, list) else 0
            raise ConfigError(
                f"{path}:{line_number}: cannot migrate: {name} has {count} replicas and "
                "Litestream 0.5 replicates each database to exactly one; keep one, and "
                "replicate to the others from a second config with its own "
                "'pylitestream replicate'; nothing was changed"
            )
        replica = dict(replicas[0]) if isinstance(replicas[0], dict) else replicas[0]
        if isinstance(replica, dict) and replica.get("age"):
            raise ConfigError(
                f"{path}:{line_number}: cannot migrate: {name} uses age encryption, which "
                "Litestream 0.5 does not support (it refuses to start); stay on 0.3 for this "
                "database; nothing was changed"
            )
        if isinstance(replica, dict):
            replica.pop("name", None)  # deprecated in 0.5: a database has one replica
            for key in [k for k in replica if k in _DROPPED_IN_05]:
                notes.append(
                    f"{path}:{line_number}: dropped replica '{key}' from {name} "
                    f"(0.5: {_DROPPED_IN_05[key]})"
                )
                del replica[key]
        db["replica"] = replica
        del db["replicas"]
        changed = True
    return data, notes, changed


def dump_yaml(data: Any) -> str:
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))


def migrate_config(
    config: str | os.PathLike[str] | None = None,
    *,
    output: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Rewrite a 0.3 config (`replicas:` lists) in the 0.5 layout (one `replica:`). In place,
    keeping the original as <config>.bak, unless `output` is given. Return {"config", "output",
    "backup", "changed", "notes"}."""
    path = find_config(config)
    text = read_text(path)
    data, notes, changed = migrate_data(path, text)
    result: dict[str, Any] = {
        "config": str(path),
        "output": None,
        "backup": None,
        "changed": changed,
        "notes": notes,
    }
    if not changed:
        return result
    target = path if output is None else Path(output).expanduser().absolute()
    backup = Path(f"{path}.bak") if output is None else None
    for existing in (backup, None if output is None else target):
        if existing is not None and existing.exists() and not force:
            raise UsageError(f"{existing} already exists; nothing was changed (pass --force)")
    header = "# Migrated to the Litestream 0.5 layout by 'pylitestream config migrate'\n"
    body = dump_yaml(data)
    if backup is not None:
        backup.write_text(text)
    target.write_text(header + body)
    result.update(output=str(target), backup=None if backup is None else str(backup))
    return result
