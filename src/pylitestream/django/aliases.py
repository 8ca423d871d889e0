"""Django database aliases where pylitestream takes a database path, and `init` from
settings.DATABASES."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import UsageError

# Every spelling pylitestream's commands accept for a database (cli/options.py).
DATABASE_OPTIONS = ("--database", "-database", "-d")


def _sqlite_file(alias: str, entry: Mapping[str, Any]) -> str | None:
    """The database file of a DATABASES entry, None when it is not an SQLite file."""
    if "sqlite" not in str(entry.get("ENGINE", "")):
        return None
    name = str(entry.get("NAME") or "")
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return name


def resolve(value: str, databases: Mapping[str, Mapping[str, Any]]) -> str:
    """`value` as a database path: an existing path stays itself (a path always wins), an alias
    becomes its NAME. A bare word that is neither is a typo of an alias, refused naming them;
    anything else is a path that may not exist yet (a database to restore)."""
    if Path(value).exists():
        return value
    if value in databases:
        name = _sqlite_file(value, databases[value])
        if name is None and "sqlite" in str(databases[value].get("ENGINE", "")):
            raise UsageError(
                f"database alias {value!r} is an in-memory SQLite database, which has no file "
                "for Litestream to replicate"
            )
        if name is None:
            engine = str(databases[value].get("ENGINE", "")).rsplit(".", 1)[-1] or "no ENGINE"
            raise UsageError(
                f"database alias {value!r} is not an SQLite file ({engine}); Litestream "
                "replicates SQLite databases only"
            )
        return name
    if "/" not in value and "." not in value:
        aliases = ", ".join(sorted(databases)) or "none"
        raise UsageError(
            f"{value!r} is neither a database file nor an alias in settings.DATABASES "
            f"(aliases: {aliases})"
        )
    return value


def sqlite_databases(databases: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every SQLite file in DATABASES, in their order."""
    found = [_sqlite_file(alias, entry) for alias, entry in databases.items()]
    return [name for name in found if name is not None]


def translate(argv: list[str], databases: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """pylitestream's argv with aliases turned into paths (before `--` only: what follows is
    litestream's or the app's). A bare `init` gets every SQLite database of DATABASES."""
    out: list[str] = []
    given = False
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            out += argv[index:]
            break
        name, equals, value = arg.partition("=")
        if arg in DATABASE_OPTIONS and index + 1 < len(argv):
            out += [arg, resolve(argv[index + 1], databases)]
            given = True
            index += 2
            continue
        if equals and name in DATABASE_OPTIONS:
            out.append(f"{name}={resolve(value, databases)}")
            given = True
        else:
            given |= name == "--django"
            out.append(arg)
        index += 1
    if argv[:1] == ["init"] and not given and "--help" not in argv:
        found = sqlite_databases(databases)
        if not found:
            raise UsageError("settings.DATABASES has no SQLite database to replicate")
        extra = [part for name in found for part in ("--database", name)]
        cut = out.index("--") if "--" in out else len(out)
        out[cut:cut] = extra
    return out
