"""A copy of a config for litestream's one-shot commands, with each `dir:` entry written out as
the `path:` entries litestream derives from it (see tenants)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .tenants import absolute, describe, dir_entries, owner, owns, tenant_entry, tenants

# Keys a one-shot command (status, databases, ltx, restore) never needs, and which would make a
# copy of the config start or reach something: the daemon's socket, servers and hooks.
_DAEMON_ONLY = ("socket", "addr", "mcp-addr", "exec", "heartbeat-url", "heartbeat-interval")


def outside_message(config: Path, settings: dict[str, Any], db: Path) -> str:
    dirs = "; ".join(describe(e) for e in dir_entries(settings))
    return (
        f"{db} is not in {config}: it is no 'path:' entry and no database of its 'dir:' "
        f"entries ({dirs}); see 'pylitestream databases'"
    )


def expanded_text(config: Path, dbs: list[Path] | None = None) -> str | None:
    """A copy of the config for litestream's one-shot commands, which do not expand `dir:`
    entries (`litestream databases` shows the current directory for one, `restore` says
    "database not found in config"): each `dir:` entry becomes one `path:` entry per tenant
    (`dbs`, default those on disk). Variables stay unexpanded, so the copy holds no secret the
    config does not. None when the config has no `dir:` entry. UsageError for a `db` that is
    neither a `path:` entry nor a tenant."""
    from ..errors import UsageError
    from .files import read_text
    from .load import load_config, load_yaml

    text = read_text(config)
    if "dir" not in text:
        return None  # no `dir:` entry possible: the common case pays no YAML parse
    settings = load_config(config)
    if not dir_entries(settings):
        return None
    raw = load_yaml(config, text)
    raw = raw if isinstance(raw, dict) else {}
    pairs = list(zip(settings.get("dbs") or [], raw.get("dbs") or []))
    plain = [r for e, r in pairs if isinstance(e, dict) and e.get("path")]
    owned = [(e, r) for e, r in pairs if e in dir_entries(settings) and isinstance(r, dict)]
    if dbs is None:
        chosen = [db for db, _ in tenants(settings)]
    else:
        paths = {absolute(e["path"]) for e, _ in pairs if isinstance(e, dict) and e.get("path")}
        chosen = [db for db in dbs if db not in paths]
        for db in chosen:
            if owner(settings, db) is None:
                raise UsageError(outside_message(config, settings, db))
    derived = []
    for db in chosen:
        entry, raw_entry = next((e, r) for e, r in owned if owns(e, db))
        # Paths come from the expanded entry; the replica keeps its ${VAR}s.
        fixed = {"dir": str(absolute(entry["dir"]))}
        fixed.update((k, entry[k]) for k in ("meta-dir", "meta-path") if entry.get(k))
        derived.append(tenant_entry({**raw_entry, **fixed}, db))
    copied = {k: v for k, v in raw.items() if k not in _DAEMON_ONLY}
    copied["dbs"] = [*plain, *derived]
    import yaml

    return str(yaml.safe_dump(copied, sort_keys=False, default_flow_style=False))
