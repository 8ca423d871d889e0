"""Reading a config as litestream will: Go-faithful ${VAR} expansion, bounded YAML, the databases
it lists, the control socket it enables."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, UsageError
from .files import read_text
from .socket import (
    enabled_socket,
)

if TYPE_CHECKING:
    import yaml


_BUILTIN_VARS = {"PID"}
# Go's os.Expand reads these single characters after '$' as a variable name ('$$', '$1', '$?').
_GO_SPECIAL = "*#$@!?-0123456789"


def env_refs(text: str) -> list[tuple[int, int, str | None]]:
    """(start, end, name) of each reference Go's os.ExpandEnv (which litestream uses) expands in
    `text`. name is None for bad syntax Go drops without a word: an unclosed '${', or '${}'."""
    found: list[tuple[int, int, str | None]] = []
    index = 0
    while True:
        start = text.find("$", index)
        if start < 0 or start + 1 >= len(text):
            return found
        rest = text[start + 1 :]
        name: str | None
        if rest[0] == "{":
            if len(rest) > 2 and rest[1] in _GO_SPECIAL and rest[2] == "}":
                name, width = rest[1], 3
            else:
                close = rest.find("}")
                name, width = (None, 1) if close < 0 else (rest[1:close] or None, close + 1)
        elif rest[0] in _GO_SPECIAL:
            name, width = rest[0], 1
        else:
            match = re.match(r"[A-Za-z0-9_]*", rest)
            width = match.end() if match else 0
            name = rest[:width]
            if not width:  # a lone '$': Go leaves it as it is
                index = start + 1
                continue
        found.append((start, start + 1 + width, name))
        index = start + 1 + width


def expand_env(text: str, environ: dict[str, str] | None = None) -> str:
    """Expand $VAR and ${VAR} the way litestream does (Go's os.ExpandEnv): an unset variable
    becomes '', bad syntax disappears. By default with the environment litestream gets
    (configure() and pyproject settings filled in where the environment has no value)."""
    from .settings import effective_env

    source = effective_env() if environ is None else environ
    out, index = [], 0
    for start, end, name in env_refs(text):
        out += [text[index:start], source.get(name, "") if name else ""]
        index = end
    out.append(text[index:])
    return "".join(out)


MAX_CONFIG_BYTES = 1 << 20
"""A litestream config is a few hundred bytes; anything past this is not one."""
MAX_YAML_DEPTH = 64
MAX_YAML_VALUES = 100_000
"""Values in a config once its aliases are expanded: bounds a YAML alias bomb."""


_LOADED: dict[tuple[str, str], Any] = {}
_LOADED_LOCK = threading.Lock()
"""The last few configs parsed in this process, by path and text as litestream sees it: a
command reads its config more than once, and a thousand entries take a tenth of a second."""


def load_config(path: str | os.PathLike[str], *, expand: bool = True) -> dict[str, Any]:
    """The config as litestream will see it (env expanded unless expand=False)."""
    import copy

    text = read_text(Path(path))
    source = expand_env(text) if expand else text
    key = (str(Path(path).absolute()), source)
    with _LOADED_LOCK:
        data = _LOADED.get(key)
    if data is None:
        data = load_yaml(Path(path), source)
        with _LOADED_LOCK:
            if len(_LOADED) >= 4:
                del _LOADED[next(iter(_LOADED))]
            _LOADED[key] = data
    # A copy: callers may change what they get (the tests' helpers and init do).
    return copy.deepcopy(data) if isinstance(data, dict) else {}


def socket_path(config: str | os.PathLike[str]) -> str | None:
    """The control socket path the config enables, or None when it does not enable one."""
    return enabled_socket(load_config(config))


def configured_databases(config: Path) -> list[Path]:
    """Absolute paths of the config's databases (relative paths resolve against the CWD, as
    litestream does)."""
    return [db for db, _ in database_entries(load_config(config), config)]


def database_entries(settings: dict[str, Any], config: Path,
                     tenants: bool = True) -> list[tuple[Path, dict[str, Any]]]:  # fmt: skip
    """Each database of the loaded config `settings`, absolute, with its `dbs:` entry: the
    `path:` entries, then (unless tenants=False) the tenants on disk of each `dir:` entry
    (0.5), each with the entry litestream derives for it (see tenants)."""
    from .tenants import tenants as on_disk

    entries = settings.get("dbs") or []
    if not isinstance(entries, list):
        raise UsageError(f"{config}: 'dbs' must be a list")
    found = [
        (Path(str(entry["path"])).expanduser().absolute(), entry)
        for entry in entries
        if isinstance(entry, dict) and entry.get("path")
    ]
    known = {db for db, _ in found}
    if tenants:
        found += [(db, entry) for db, entry in on_disk(settings) if db not in known]
    return found


def replicas_of(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The replica blocks of a `dbs:` entry: 0.5's `replica:`, or 0.3's `replicas:`."""
    found = entry.get("replicas") or ([entry["replica"]] if entry.get("replica") else [])
    return [r for r in found if isinstance(r, dict)]


def database_entry(settings: dict[str, Any], db: Path) -> dict[str, Any] | None:
    """The `dbs:` entry of the loaded config `settings` whose path names `db` (symlinks and
    relative paths resolved), else the entry litestream derives for `db` as a tenant of a
    `dir:` entry (whether or not the file exists), or None."""
    from .tenants import owner, tenant_entry

    wanted = db.expanduser().absolute().resolve()
    for entry in settings.get("dbs") or []:
        if not (isinstance(entry, dict) and entry.get("path")):
            continue
        if Path(str(entry["path"])).expanduser().absolute().resolve() == wanted:
            return entry
    plain = db.expanduser().absolute()
    for name in dict.fromkeys((plain, wanted)):
        found = owner(settings, name)
        if found is not None:
            return tenant_entry(found, name)
    return None


def _syntax_error(path: Path, exc: Exception) -> ConfigError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return ConfigError(f"{path}: YAML syntax error: {problem}")
    return ConfigError(
        f"{path}:{mark.line + 1}: YAML syntax error: {problem} (column {mark.column + 1})"
    )


def _compose(path: Path, text: str) -> yaml.Node | None:
    """The YAML node tree of a config, refused (ConfigError) when it is too big, too deep or
    expands to too many values, so no input can make a command spin or overflow the stack."""
    import yaml

    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: {len(text)} characters is too large for a litestream config "
            f"(the limit is {MAX_CONFIG_BYTES})"
        )
    root: yaml.Node | None = None
    try:
        # libyaml's loader when PyYAML has it: same nodes and marks, several times faster.
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        try:
            # The pure-Python loader says more about what it expected where.
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            raise _syntax_error(path, exc) from None
        except RecursionError:
            raise ConfigError(f"{path}: the YAML is nested too deeply") from None
    _check_size(path, root)
    return root


def _check_size(path: Path, root: yaml.Node | None) -> None:
    """Walk the tree as a loader would, aliases expanded, stopping at the limits."""
    stack = [(root, 1)] if root is not None else []
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        line_number = node.start_mark.line + 1
        if depth > MAX_YAML_DEPTH:
            raise ConfigError(
                f"{path}:{line_number}: the YAML is nested more than {MAX_YAML_DEPTH} levels deep"
            )
        if seen > MAX_YAML_VALUES:
            raise ConfigError(
                f"{path}:{line_number}: the YAML expands to more than {MAX_YAML_VALUES} values "
                "(aliases referring to aliases?); a litestream config has a few dozen"
            )
        if isinstance(node.value, list):
            for item in node.value:
                pairs = item if isinstance(item, tuple) else (item,)
                stack.extend((child, depth + 1) for child in pairs)


def load_yaml(path: Path, text: str) -> Any:
    """The Python data of a config's YAML, within the limits _compose enforces."""
    import yaml

    root = _compose(path, text)
    if root is None:
        return None
    try:
        return yaml.SafeLoader("").construct_document(root)
    except yaml.YAMLError as exc:
        raise _syntax_error(path, exc) from None
