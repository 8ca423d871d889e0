"""`init`: writing a new litestream.yml for the databases given, DATABASE_URL or a Django settings
module."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import UsageError
from ..masking import mask_urls
from .load import env_refs
from .schema import LAYOUTS, REPLICA_SCHEMES, known_line
from .socket import (
    default_socket_path,
    socket_problem,
)

S3_PLACEHOLDERS = {
    "bucket": "LITESTREAM_REPLICA_BUCKET",
    "region": "LITESTREAM_REPLICA_REGION",
    "endpoint": "LITESTREAM_REPLICA_ENDPOINT",
    "access-key-id": "LITESTREAM_ACCESS_KEY_ID",
    "secret-access-key": "LITESTREAM_SECRET_ACCESS_KEY",
}
_PLAIN = re.compile(r"^[A-Za-z0-9_/.${}~+@:-]+$")


def _scalar(value: str) -> str:
    """A YAML scalar: plain when that is safe, else JSON-quoted (JSON strings are valid YAML)."""
    if _PLAIN.match(value) and not value.startswith(("-", ":", "@", "~")) and ": " not in value:
        return value
    return json.dumps(value)


def replica_names(databases: Sequence[Path]) -> list[str]:
    """A distinct replica path per database: its file name, or, where names clash, its path
    relative to the directory the databases share."""
    names = [db.name for db in databases]
    if len(set(names)) == len(names):
        return names
    common = Path(os.path.commonpath([str(db.parent) for db in databases]))
    return [str(db.relative_to(common)) for db in databases]


def replica_block(replica: str | None, name: str, line: str) -> list[tuple[str, str]]:
    """The (key, YAML scalar) pairs of one database's replica."""
    if replica is None:
        pairs = [("type", "s3"), ("bucket", "${LITESTREAM_REPLICA_BUCKET}"), ("path", name)]
        pairs += [(k, f"${{{v}}}") for k, v in S3_PLACEHOLDERS.items() if k != "bucket"]
        return [(k, _scalar(v)) for k, v in pairs]
    scheme, sep, rest = replica.partition("://")
    if not sep or scheme == "file":
        base = Path(rest if sep else replica).expanduser().absolute()
        return [("type", "file"), ("path", _scalar(str(base / name)))]
    if scheme not in REPLICA_SCHEMES[line]:
        known = ", ".join(f"{s}://" for s in REPLICA_SCHEMES[line])
        raise UsageError(
            f"--replica {mask_urls(replica)}: Litestream {line} has no '{scheme}' replica; "
            f"use one of {known}, or a directory path"
        )
    location, qmark, query = rest.partition("?")
    if query and not LAYOUTS[line].reads_url_query:
        raise UsageError(
            f"--replica {mask_urls(replica)}: Litestream {line} ignores '?{query}' in replica "
            "URLs; for an S3-compatible endpoint leave out --replica and set "
            "LITESTREAM_REPLICA_ENDPOINT (the default S3 layout uses it)"
        )
    url = f"{scheme}://{location.rstrip('/')}/{name}{qmark}{query}"
    return [("url", _scalar(url))]


def replica_lines(block: Sequence[tuple[str, str]], line: str) -> list[str]:
    """One database's replica, as YAML lines under its `- path:`: a `replica:` mapping where the
    line reads one (0.5), otherwise the one-item `replicas:` list (0.3 reads only that)."""
    if LAYOUTS[line].single_replica:
        return ["    replica:", *(f"      {k}: {v}" for k, v in block)]
    return ["    replicas:", *(f"      {'- ' if i == 0 else '  '}{k}: {v}"
                              for i, (k, v) in enumerate(block))]  # fmt: skip


def has_socket(line: str) -> bool:
    return "socket" in LAYOUTS[line].sections


class Directory(NamedTuple):
    """A `dir:` entry to write (0.5 directory replication)."""

    path: Path
    pattern: str = "*.db"
    recursive: bool = False
    watch: bool = False


def directory_lines(directory: Directory, replica: str | None, line: str) -> list[str]:
    """The `- dir:` entry: litestream derives each database's replica path from this one
    (the replica's path plus the database's path under the directory)."""
    out = [
        f"  - dir: {_scalar(str(directory.path))}",
        f"    pattern: {json.dumps(directory.pattern)}",
    ]
    out += ["    recursive: true"] if directory.recursive else []
    out += ["    watch: true"] if directory.watch else []
    return out + replica_lines(replica_block(replica, directory.path.name, line), line)


def checked_directory(directory: Directory, line: str) -> Directory:
    """`directory` made absolute, or UsageError: no directory replication on the line, a
    missing directory, a malformed pattern, or one that matches nothing without watch."""
    from .tenants import discover, pattern_problem

    where = directory.path.expanduser().absolute()
    if "dir" not in LAYOUTS[line].database:
        raise UsageError(
            f"--dir: Litestream {line} has no directory replication; pass each database with "
            "--database, or use Litestream 0.5"
        )
    if not where.is_dir():
        what = "is not a directory" if where.exists() else "does not exist"
        raise UsageError(f"--dir {where} {what}; nothing was written")
    problem = pattern_problem(directory.pattern)
    if problem:
        raise UsageError(f"--pattern: {problem}; nothing was written")
    if not directory.watch and not discover(where, directory.pattern, directory.recursive):
        raise UsageError(
            f"--pattern {directory.pattern!r} matches no SQLite database in {where}"
            f"{' or below' if directory.recursive else ''}, and litestream refuses to start "
            "then; pass --watch to replicate databases created later; nothing was written"
        )
    return directory._replace(path=where)


def render_config(databases: Sequence[Path], replica: str | None, line: str, source: str,
                  directory: Directory | None = None) -> str:  # fmt: skip
    """The text of a new litestream.yml in the layout of `line`."""
    names = replica_names(databases) if databases else []
    out = [
        f"# Written by 'pylitestream init' for Litestream {line} ({source}).",
        "# Check it with 'pylitestream config check'; see the effective values with "
        "'pylitestream config show'.",
    ]
    if replica is None:
        out += [
            "# Settings come from these variables (or pylitestream.configure()); an empty",
            "# region/endpoint means AWS itself. Set the endpoint for R2, MinIO and other S3 APIs.",
        ]
    out.append("dbs:")
    for db, name in zip(databases, names):
        out.append(f"  - path: {_scalar(str(db))}")
        out += replica_lines(replica_block(replica, name, line), line)
    if directory is not None:
        out += directory_lines(directory, replica, line)
    if has_socket(line):
        # On by default: `pylitestream info/list/sync/check` and verify's sync-wait use it.
        out += [
            "# The control socket: 'pylitestream check', 'sync', 'info' and 'list' talk to it.",
            "socket:",
            "  enabled: true",
            f"  path: {_scalar(str(default_socket_path()))}",
            "  permissions: 0600",
        ]
    return "\n".join(out) + "\n"


def sqlite_url_path(url: str) -> Path | None:
    """The file of an sqlite:/// URL (sqlite:///rel.db, sqlite:////abs.db), None if not sqlite."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("sqlite"):
        return None
    if not rest.startswith("/") or rest in ("/", "/:memory:"):
        raise UsageError(
            f"DATABASE_URL {mask_urls(url)} names no database file "
            "(expected sqlite:///relative/path.db or sqlite:////absolute/path.db)"
        )
    return Path(rest[1:].split("?")[0])


def django_databases(settings_module: str) -> list[Path]:
    """The SQLite files in a Django settings module's DATABASES. The module is imported as plain
    Python (Django itself is not needed, nor set up)."""
    import importlib
    import sys

    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(settings_module)
    except SystemExit as exc:
        raise UsageError(
            f"settings module {settings_module!r} called sys.exit({exc.code!r}) while it was "
            "imported; nothing was written"
        ) from None
    except Exception as exc:
        raise UsageError(
            f"cannot import settings module {settings_module!r}: {type(exc).__name__}: {exc} "
            "(run from your project directory, or put it on PYTHONPATH)"
        ) from None
    finally:
        sys.path.remove(os.getcwd())
    entries = getattr(module, "DATABASES", None)
    if not isinstance(entries, dict):
        raise UsageError(f"settings module {settings_module!r} defines no DATABASES dict")
    found = []
    for entry in entries.values():
        if isinstance(entry, dict) and "sqlite" in str(entry.get("ENGINE", "")):
            name = str(entry.get("NAME") or "")
            if name and name != ":memory:" and not name.startswith("file:"):
                found.append(Path(name))
    if not found:
        raise UsageError(f"{settings_module}.DATABASES has no SQLite database")
    return found


# --- the API: init, check, show, migrate ---------------------------------------------------------


def init_config(
    databases: Sequence[str | os.PathLike[str]] = (),
    *,
    replica: str | None = None,
    django: str | None = None,
    output: str | os.PathLike[str] = "litestream.yml",
    force: bool = False,
    line: str | None = None,
    line_in_use: Callable[[], str],
    directory: Directory | None = None,
) -> dict[str, Any]:
    """Write a litestream.yml for `databases` (else DATABASE_URL when it is sqlite:///), plus the
    SQLite databases of the Django settings module `django`. The replica defaults to S3 through
    LITESTREAM_* placeholders; `replica` takes a URL or a directory. Never overwrites unless
    force=True. Return {"config", "line", "databases", "replica", "variables"}."""
    target = Path(output).expanduser().absolute()
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; nothing was changed (pass --force to replace)")
    found = [Path(db).expanduser() for db in databases]
    source = "--database" if found else ""
    if django:
        found += django_databases(django)
        source = f"{source} and --django {django}" if source else f"--django {django}"
    if not found and directory is None:
        url = os.environ.get("DATABASE_URL", "")
        from_url = sqlite_url_path(url) if url else None
        if url and from_url is None:
            raise UsageError(
                f"DATABASE_URL ({url.partition(':')[0]}://...) is not an sqlite:/// URL; "
                "pass the database with --database PATH"
            )
        if from_url is not None:
            found, source = [from_url], "DATABASE_URL"
    chosen = line_in_use() if line is None else known_line(line)
    if directory is not None:
        directory = checked_directory(directory, chosen)
        source = f"{source} and --dir {directory.path}" if source else f"--dir {directory.path}"
    if not found and directory is None:
        raise UsageError(
            "no database to replicate: pass --database PATH (repeatable), --dir DIRECTORY, "
            "set DATABASE_URL=sqlite:///PATH, or use --django SETTINGS_MODULE"
        )
    absolute = list(dict.fromkeys(db.absolute() for db in found))
    text = render_config(absolute, replica, chosen, source, directory)
    socket = None
    if has_socket(chosen):
        socket = str(default_socket_path())
        problem = socket_problem(socket, "0600")  # creates pylitestream's runtime dir
        if problem:
            raise UsageError(problem)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    variables = sorted({name for _s, _e, name in env_refs(text) if name})
    return {
        "config": str(target),
        "line": chosen,
        "databases": [str(db) for db in absolute],
        "dir": None if directory is None else str(directory.path),
        "replica": "s3" if replica is None else mask_urls(replica),
        "variables": variables,
        "socket": socket,
        "next_steps": next_steps(target, variables),
    }


def next_steps(config: Path, variables: Sequence[str]) -> list[str]:
    steps = []
    if variables:
        names = " ".join(f"{name}=..." for name in variables if "REGION" not in name
                         and "ENDPOINT" not in name)  # fmt: skip
        steps.append(
            f"set {names} in the environment, or call pylitestream.configure(...) in your "
            "settings; LITESTREAM_REPLICA_ENDPOINT and LITESTREAM_REPLICA_REGION are for R2, "
            "MinIO and other S3-compatible stores"
        )
    steps.append(f"pylitestream config check --config {config}")
    steps.append(f"pylitestream replicate --config {config}")
    return steps
