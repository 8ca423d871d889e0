"""The litestream config: which file is in effect, checking it before litestream runs, showing it
with secrets masked, writing a new one (`init`), and rewriting a 0.3 one for 0.5 (`migrate`)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .. import cache
from ..errors import ConfigError, ConfigNotFound, UsageError
from ..masking import MASK, is_secret_name, mask_env_value, mask_urls
from .files import read_text
from .socket import (
    LITESTREAM_DEFAULT_SOCKET,
    default_socket_path,
    enabled_socket,
    socket_problem,
)

if TYPE_CHECKING:
    import yaml

CONFIG_VAR = "LITESTREAM_CONFIG"
SYSTEM_CONFIG = Path("/etc/litestream.yml")


def user_config_file() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("pylitestream")) / "litestream.yml"


def config_candidates(explicit: str | os.PathLike[str] | None = None) -> list[tuple[Path, str]]:
    """(path, why) in the order they are tried."""
    if explicit:
        return [(Path(explicit).expanduser(), "--config")]
    from .settings import config_path_setting

    setting = config_path_setting()
    if setting:
        return [(Path(setting[0]).expanduser(), setting[1])]
    return [
        (Path("litestream.yml"), "current directory"),
        (Path("config/litestream.yml"), "current directory"),
        (user_config_file(), "user config dir"),
        (SYSTEM_CONFIG, "litestream default"),
    ]


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config to pass to litestream, as an absolute path. Raise ConfigNotFound, listing
    every place searched."""
    candidates = config_candidates(explicit)
    for path, _why in candidates:
        if path.is_file():
            return path.absolute()
    if len(candidates) == 1:
        path, why = candidates[0]
        raise ConfigNotFound(f"config file not found: {path} (from {why})")
    searched = ", ".join(str(path) for path, _why in candidates)
    raise ConfigNotFound(
        f"no litestream config found; searched {searched} "
        f"(pass --config, set {CONFIG_VAR}, or run 'pylitestream init')"
    )


# litestream 0.5 fills in $PID itself.
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


def load_config(path: str | os.PathLike[str], *, expand: bool = True) -> dict[str, Any]:
    """The config as litestream will see it (env expanded unless expand=False)."""
    text = read_text(Path(path))
    data = load_yaml(Path(path), expand_env(text) if expand else text)
    return data if isinstance(data, dict) else {}


def socket_path(config: str | os.PathLike[str]) -> str | None:
    """The control socket path the config enables, or None when it does not enable one."""
    return enabled_socket(load_config(config))


def configured_databases(config: Path) -> list[Path]:
    """Absolute paths of the config's databases (relative paths resolve against the CWD, as
    litestream does)."""
    data = load_config(config)
    entries = data.get("dbs") or []
    if not isinstance(entries, list):
        raise UsageError(f"{config}: 'dbs' must be a list")
    paths = []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("path"):
            paths.append(Path(str(entry["path"])).expanduser().absolute())
    return paths


def database_entry(settings: dict[str, Any], db: Path) -> dict[str, Any] | None:
    """The `dbs:` entry of the loaded config `settings` whose path names `db` (symlinks and
    relative paths resolved), or None."""
    wanted = db.expanduser().absolute().resolve()
    for entry in settings.get("dbs") or []:
        if not (isinstance(entry, dict) and entry.get("path")):
            continue
        if Path(str(entry["path"])).expanduser().absolute().resolve() == wanted:
            return entry
    return None


# --- the keys each Litestream line reads ---------------------------------------------------------
# From the config structs of cmd/litestream/main.go at v0.3.13 and v0.5.x, cross-checked against
# the yaml tags compiled into the 0.3.13 and 0.5.17 binaries. Both lines ignore any other key
# without a word, which is exactly the kind of mistake this check exists for.

_LOGGING = frozenset({"level", "type", "stderr"})
_AGE = frozenset({"identities", "recipients"})

_REPLICA_03 = frozenset(
    {
        *("type", "name", "path", "url", "retention", "retention-check-interval"),
        *("sync-interval", "snapshot-interval", "validation-interval"),
        *("access-key-id", "secret-access-key", "region", "bucket", "endpoint"),
        *("force-path-style", "skip-verify", "account-name", "account-key"),
        *("host", "user", "password", "key-path", "age"),
    }
)
_DB_03 = frozenset(
    {
        *("path", "meta-path", "monitor-interval", "checkpoint-interval"),
        *("min-checkpoint-page-count", "max-checkpoint-page-count", "replicas"),
    }
)
_TOP_03 = frozenset({"dbs", "addr", "exec", "access-key-id", "secret-access-key", "logging"})

# 0.5 accepts every replica setting at the top level too, as a default for all replicas.
_REPLICA_SETTINGS_05 = frozenset(
    {
        *("sync-interval", "validation-interval", "auto-recover"),
        *("access-key-id", "secret-access-key", "region", "bucket", "endpoint"),
        *("force-path-style", "sign-payload", "require-content-md5", "skip-verify"),
        *("part-size", "concurrency", "storage-class", "sign-accept-encoding"),
        *("sse-customer-algorithm", "sse-customer-key", "sse-customer-key-path", "sse-kms-key-id"),
        *("account-name", "account-key", "sas-token"),
        *("host", "user", "password", "key-path", "concurrent-writes", "host-key"),
        *("webdav-url", "webdav-username", "webdav-password"),
        *("jwt", "seed", "creds", "nkey", "username", "token", "tls", "root-cas"),
        *("client-cert", "client-key", "max-reconnects", "reconnect-wait", "timeout", "age"),
    }
)
_REPLICA_05 = _REPLICA_SETTINGS_05 | {"type", "name", "path", "url"}
_DB_05 = frozenset(
    {
        *("path", "dir", "pattern", "recursive", "watch", "meta-path", "meta-dir"),
        *("monitor-interval", "checkpoint-interval", "busy-timeout"),
        *("min-checkpoint-page-count", "truncate-page-n", "max-sync-wal-bytes"),
        *("max-sync-ltx-files", "snapshot", "restore-if-db-not-exists", "replica", "replicas"),
    }
)
_TOP_05 = _REPLICA_SETTINGS_05 | {
    *("dbs", "addr", "exec", "logging", "socket", "levels", "snapshot", "validation"),
    *("l0-retention", "l0-retention-check-interval", "verify-compaction", "max-sync-ltx-files"),
    *("heartbeat-url", "heartbeat-interval", "mcp-addr"),
    *("shutdown-sync-timeout", "shutdown-sync-interval"),
}
_SECTIONS_05 = {
    "socket": frozenset({"enabled", "path", "permissions"}),
    "snapshot": frozenset({"interval", "retention"}),
    "validation": frozenset({"interval"}),
    "logging": _LOGGING,
    "age": _AGE,
}
_SECTIONS_03 = {"logging": _LOGGING, "age": _AGE}

# Left empty, these mean "the provider's default" (AWS itself, its region lookup).
_MAY_BE_EMPTY_KEYS = ("endpoint", "region")

# Which configure() argument sets which variable, for the hint in an "unset" message.
_SETTING_HINTS = {
    "LITESTREAM_REPLICA_BUCKET": "replica_bucket",
    "LITESTREAM_ACCESS_KEY_ID": "replica_key_id",
    "LITESTREAM_SECRET_ACCESS_KEY": "replica_access_key",
    "LITESTREAM_REPLICA_REGION": "replica_region",
    "LITESTREAM_REPLICA_ENDPOINT": "replica_endpoint",
}


# --- validation ----------------------------------------------------------------------------------


class _Checker:
    """Walks the composed YAML of one config and raises ConfigError at the first problem."""

    def __init__(self, path: Path, line: str, missing_dirs_ok: bool = False) -> None:
        self.path = path
        self.line = line
        # `run` restores into a fresh data dir, creating it: a missing directory is expected there.
        self.missing_dirs_ok = missing_dirs_ok
        self.dirs: list[str] = []
        """Database directories the check relied on: a cached verdict holds while they exist."""

    def fail(self, node: yaml.Node | None, message: str) -> NoReturn:
        number = node.start_mark.line + 1 if node is not None else 1
        raise ConfigError(f"{self.path}:{number}: {message}")

    def keys(self, node: yaml.Node, allowed: frozenset[str], where: str) -> list[tuple[str, Any]]:
        """The (key, value node) pairs of a mapping, refusing keys litestream would ignore."""
        import yaml

        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{where} must be a mapping of keys to values")
        pairs = []
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key == "<<":  # a YAML merge key; its keys are checked where they are used
                continue
            if key not in allowed:
                self.unknown(key_node, key, allowed, where)
            pairs.append((key, value_node))
        return pairs

    def unknown(self, node: yaml.Node, key: str, allowed: Iterable[str], where: str) -> NoReturn:
        import difflib  # only for the "did you mean" hint

        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        self.fail(node, f"unknown key '{key}' in {where} (Litestream {self.line} ignores it){hint}")

    def check(self, root: yaml.Node | None) -> int:
        """Check the whole document; return the number of databases."""
        import yaml

        if root is None:
            self.fail(None, "the config is empty; it needs a 'dbs:' list (see 'pylitestream init')")
        top = _TOP_03 if self.line == "0.3" else _TOP_05
        sections = _SECTIONS_03 if self.line == "0.3" else _SECTIONS_05
        count = 0
        for key, value in self.keys(root, top, "the config"):
            if key in sections:
                pairs = self.keys(value, sections[key], f"'{key}'")
                if key == "socket":
                    self.socket(value, dict(pairs))
            elif key == "levels":
                for level in self.sequence(value, "'levels'"):
                    self.keys(level, frozenset({"interval"}), "a compaction level")
            elif key == "dbs":
                for db in self.sequence(value, "'dbs'"):
                    self.database(db)
                    count += 1
        if isinstance(root, yaml.MappingNode) and count == 0:
            self.fail(root, "the config lists no databases under 'dbs:'")
        return count

    def socket(self, node: yaml.Node, pairs: dict[str, Any]) -> None:
        """An enabled control socket needs a private directory that exists (see daemon.py)."""
        enabled = pairs.get("enabled")
        if enabled is None or str(enabled.value).lower() not in ("true", "yes", "on", "1"):
            return
        path = pairs.get("path")
        where = str(path.value) if path is not None else LITESTREAM_DEFAULT_SOCKET
        permissions = pairs.get("permissions")
        problem = socket_problem(where, None if permissions is None else str(permissions.value))
        if problem:
            self.fail(path or node, problem)
        self.dirs.append(str(Path(where).expanduser().absolute().parent))

    def sequence(self, node: yaml.Node, where: str) -> list[yaml.Node]:
        import yaml

        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{where} must be a list (each entry starting with '- ')")
        return list(node.value)

    def database(self, node: yaml.Node) -> None:
        import yaml

        allowed = _DB_03 if self.line == "0.3" else _DB_05
        if self.line == "0.3" and isinstance(node, yaml.MappingNode):
            for key_node, _value in node.value:
                if key_node.value == "replica":
                    self.fail(
                        key_node,
                        "'replica:' is ignored by Litestream 0.3, so this database would not be "
                        "replicated; write it as a list under 'replicas:' (- type: ...)",
                    )
        pairs = dict(self.keys(node, allowed, "a database"))
        for key in ("path", "dir"):
            if key in pairs:
                self.db_path(pairs[key], key)
        replicas = self.sequence(pairs["replicas"], "'replicas'") if "replicas" in pairs else []
        if self.line == "0.5":
            if "replica" in pairs and replicas:
                self.fail(
                    pairs["replicas"],
                    "a database has both 'replica:' and 'replicas:'; "
                    "Litestream 0.5 takes one replica: keep only 'replica:'",
                )
            if len(replicas) > 1:
                self.fail(
                    pairs["replicas"],
                    f"this database has {len(replicas)} replicas but Litestream 0.5 replicates "
                    "each database to one: keep one here (then 'pylitestream config migrate' "
                    "rewrites it as 'replica:'), or split the others into a second config run "
                    "by its own 'pylitestream replicate'",
                )
            if "replica" in pairs:
                replicas = [pairs["replica"]]
        for replica in replicas:
            self.replica(replica)

    def path_value(self, node: yaml.Node, what: str) -> str:
        """The text of a path setting, refusing what litestream would read as something else."""
        import yaml

        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, f"{what} must be a path, not a YAML list or mapping")
        kind = str(node.tag).rsplit(":", 1)[-1]
        if kind == "null" or not str(node.value):
            self.fail(node, f"{what} is empty")
        if kind != "str":
            self.fail(
                node,
                f"{what} is the YAML {kind} {node.value}, not a path; "
                "quote it if it really is a file name",
            )
        return str(node.value)

    def relative(self, node: yaml.Node, what: str, key: str, raw: str) -> NoReturn:
        path = Path(raw).expanduser()
        self.fail(
            node,
            f"{what} '{raw}' is relative, so litestream resolves it against the "
            f"current directory ({Path.cwd() / path}), not the config's directory "
            f"({self.path.parent / path}); write the absolute path, "
            f"e.g. {key}: {self.path.parent / path}",
        )

    def db_path(self, node: yaml.Node, key: str) -> None:
        raw = self.path_value(node, f"database '{key}'")
        path = Path(raw).expanduser()
        if not path.is_absolute():
            self.relative(node, f"database {key}", key, raw)
        directory = path if key == "dir" else path.parent
        self.dirs.append(str(directory))
        if not directory.is_dir() and not self.missing_dirs_ok:
            self.fail(node, f"directory {directory} of database {key} '{raw}' does not exist")

    def replica(self, node: yaml.Node) -> None:
        allowed = _REPLICA_03 if self.line == "0.3" else _REPLICA_05
        sections = _SECTIONS_03 if self.line == "0.3" else _SECTIONS_05
        pairs = self.keys(node, allowed, "a replica")
        kinds = [str(value.value) for key, value in pairs if key == "type"]
        is_file = (kinds or ["file"])[0] == "file" and not any(key == "url" for key, _ in pairs)
        for key, value in pairs:
            if key == "path" and is_file:
                raw = self.path_value(value, "replica 'path'")
                if not Path(raw).expanduser().is_absolute():
                    self.relative(value, "file replica path", "path", raw)
            if key == "age":
                self.keys(value, sections["age"], "'age'")
            if key == "url" and self.line == "0.3" and "?" in str(value.value or ""):
                self.fail(
                    value,
                    "Litestream 0.3 ignores the '?...' part of a replica url (an endpoint there "
                    "sends the data to AWS instead); write type, bucket, path and endpoint as keys",
                )
            if key == "endpoint" and self.line == "0.3":
                endpoint = str(value.value or "")
                if endpoint and "://" not in endpoint:
                    shown = mask_urls(endpoint)
                    self.fail(
                        value,
                        f"endpoint '{shown}' has no scheme, and Litestream 0.3 then uses "
                        f"https://{shown}; write http://{shown} or https://{shown}",
                    )


def _code_part(line: str) -> str:
    """The line without its YAML comment (a '#' at the start or after a space, outside quotes)."""
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index]
    return line


def _may_be_empty(code: str, name: str) -> bool:
    keys = "|".join(_MAY_BE_EMPTY_KEYS)
    pattern = rf"^\s*(?:-\s+)?(?:{keys})\s*:\s*([\"']?)\$(?:\{{{name}\}}|{name})\1\s*$"
    return re.match(pattern, code) is not None


def unset_variables(text: str, environ: dict[str, str]) -> list[tuple[int, str, bool]]:
    """(line, name, is_set) for each variable the config uses that is unset or empty, in order."""
    found: list[tuple[int, str, bool]] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        code = _code_part(line)
        for _start, _end, name in env_refs(code):
            if name is None or name in seen or name in _BUILTIN_VARS or environ.get(name):
                continue
            if _may_be_empty(code, name):
                continue
            seen.add(name)
            found.append((number, name, name in environ))
    return found


def bad_reference(text: str) -> tuple[int, str] | None:
    """(line, message) for the first '$' litestream would expand into something other than
    what was written: an unclosed '${', '${}', or a Go special variable such as '$$' or '$1'."""
    for number, line in enumerate(text.splitlines(), start=1):
        code = _code_part(line)
        for start, end, name in env_refs(code):
            written = code[start:end]
            if name is None and written == "${":
                after = code[end:].strip().strip("'\"")
                return number, (
                    f"'${{' is never closed, so litestream drops it and reads the rest as text "
                    f"('${{{after}' becomes '{after}'); close it with '}}'"
                )
            if name is None:
                return number, "'${}' names no variable; litestream drops it"
            if len(name) == 1 and name in _GO_SPECIAL:
                value = code.split(":", 1)[-1].strip().strip("'\"")
                return number, (
                    f"'{written}' in '{value}' is Go's special variable '{name}', which is never "
                    f"set, so litestream drops it ('{value}' becomes "
                    f"'{expand_env(value, {})}'); a literal '$' cannot be written in a litestream "
                    "config: put the value in an environment variable and write ${NAME}"
                )
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
        line = node.start_mark.line + 1
        if depth > MAX_YAML_DEPTH:
            raise ConfigError(
                f"{path}:{line}: the YAML is nested more than {MAX_YAML_DEPTH} levels deep"
            )
        if seen > MAX_YAML_VALUES:
            raise ConfigError(
                f"{path}:{line}: the YAML expands to more than {MAX_YAML_VALUES} values "
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


def validate_config(
    path: str | os.PathLike[str],
    line: str,
    environ: dict[str, str] | None = None,
    *,
    expand: bool = True,
    missing_dirs_ok: bool = False,
) -> dict[str, Any]:
    """Check a config for Litestream `line` ("0.3"/"0.5") with the environment litestream will
    get; raise ConfigError naming the file and line of the first problem. expand=False checks
    it the way `litestream -no-expand-env` reads it. Return {"config", "line", "databases"}."""
    from .settings import effective_env

    config = Path(path).absolute()
    env = effective_env() if environ is None else environ
    text = read_text(config)
    key = _verdict_key(config, text, line, env, expand, missing_dirs_ok)
    verdicts = cache.load("validated")
    known = verdicts.get(key)
    if isinstance(known, dict) and all(Path(d).is_dir() for d in known.get("dirs", [])):
        return {"config": str(config), "line": line, "databases": known.get("databases")}
    raw = _compose(config, text)
    checker = _Checker(config, line, missing_dirs_ok)
    if not expand:
        count = checker.check(raw)
        verdicts[key] = {"databases": count, "dirs": [] if missing_dirs_ok else checker.dirs}
        cache.store("validated", verdicts)
        return {"config": str(config), "line": line, "databases": count}
    bad = bad_reference(text)
    if bad:
        raise ConfigError(f"{config}:{bad[0]}: {bad[1]}")
    missing = unset_variables(text, env)
    if missing:
        number, name, is_set = missing[0]
        state = "is set but empty" if is_set else "is not set"
        hint = (
            f" or pylitestream.configure({_SETTING_HINTS[name]}=...)"
            if name in _SETTING_HINTS
            else ""
        )
        more = [m[1] for m in missing[1:]]
        also = f" (also unset or empty: {', '.join(more)})" if more else ""
        raise ConfigError(
            f"{config}:{number}: ${name} {state}, and litestream would use an empty "
            f"string in its place; set {name}{hint}{also}"
        )
    root = _compose(config, expand_env(text, env))
    count = checker.check(root)
    verdicts[key] = {"databases": count, "dirs": [] if missing_dirs_ok else checker.dirs}
    cache.store("validated", verdicts)
    return {"config": str(config), "line": line, "databases": count}


def _verdict_key(
    config: Path, text: str, line: str, env: dict[str, str], expand: bool, missing_dirs_ok: bool
) -> str:
    """What a validation verdict depends on, besides the database directories existing: the
    file's text, the Litestream line, the flags, and the values of the variables it uses (hashed
    together, so the cache holds no secret)."""
    try:
        from _blake2 import blake2b  # hashlib's own blake2b, without loading OpenSSL (~3 ms)
    except ImportError:
        from hashlib import blake2b

    names = sorted({name for _s, _e, name in env_refs(text) if name}) if expand else []
    digest = blake2b(digest_size=32)
    parts = [str(config), text, line, str(expand), str(missing_dirs_ok), str(Path.home())]
    parts += [f"{name}={env.get(name)!r}" for name in names]
    for part in parts:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


# --- config show ---------------------------------------------------------------------------------

# Config keys whose values are secrets even though masking's env-name rules miss them.
_SECRET_KEYS = {"jwt", "seed", "nkey", "creds", "sas-token", "token", "sse-customer-key"}


def _mask_value(key: str, value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, dict):
        return {k: _mask_value(str(k), v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_value(key, v, secrets) for v in value]
    if not isinstance(value, str) or not value:
        return value
    name = key.upper().replace("-", "_")
    if key in _SECRET_KEYS or (is_secret_name(name) and not name.endswith("_PATH")):
        return MASK
    masked = mask_env_value(name, value)
    for secret in secrets:
        if len(secret) >= 4 and secret in masked:
            masked = masked.replace(secret, MASK)
    return masked


def masked_config(path: str | os.PathLike[str], environ: dict[str, str] | None = None) -> Any:
    """The config after expansion, as litestream would read it, with secret values masked."""
    from .settings import effective_env, known_secrets

    env = effective_env() if environ is None else environ
    data = load_yaml(Path(path), expand_env(read_text(Path(path)), env))
    return _mask_value("", data, known_secrets(env))


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
        line = db_nodes[index].start_mark.line + 1 if index < len(db_nodes) else 1
        name = db.get("path") or db.get("dir") or f"database #{index + 1}"
        for key in [k for k in db if k in _DROPPED_IN_05]:
            notes.append(f"{path}:{line}: dropped '{key}' from {name} (0.5: {_DROPPED_IN_05[key]})")
            del db[key]
            changed = True
        replicas = db.get("replicas")
        if replicas is None:
            continue
        if "replica" in db:
            raise ConfigError(f"{path}:{line}: {name} has both 'replica:' and 'replicas:'")
        if not isinstance(replicas, list) or len(replicas) != 1:
            count = len(replicas) if isinstance(replicas, list) else 0
            raise ConfigError(
                f"{path}:{line}: cannot migrate: {name} has {count} replicas and Litestream 0.5 "
                "replicates each database to exactly one; keep one, and replicate to the others "
                "from a second config with its own 'pylitestream replicate'; nothing was changed"
            )
        replica = dict(replicas[0]) if isinstance(replicas[0], dict) else replicas[0]
        if isinstance(replica, dict) and replica.get("age"):
            raise ConfigError(
                f"{path}:{line}: cannot migrate: {name} uses age encryption, which Litestream "
                "0.5 does not support (it refuses to start); stay on 0.3 for this database; "
                "nothing was changed"
            )
        if isinstance(replica, dict):
            replica.pop("name", None)  # deprecated in 0.5: a database has one replica
            for key in [k for k in replica if k in _DROPPED_IN_05]:
                notes.append(
                    f"{path}:{line}: dropped replica '{key}' from {name} "
                    f"(0.5: {_DROPPED_IN_05[key]})"
                )
                del replica[key]
        db["replica"] = replica
        del db["replicas"]
        changed = True
    return data, notes, changed


# --- init ----------------------------------------------------------------------------------------

S3_PLACEHOLDERS = {
    "bucket": "LITESTREAM_REPLICA_BUCKET",
    "region": "LITESTREAM_REPLICA_REGION",
    "endpoint": "LITESTREAM_REPLICA_ENDPOINT",
    "access-key-id": "LITESTREAM_ACCESS_KEY_ID",
    "secret-access-key": "LITESTREAM_SECRET_ACCESS_KEY",
}
REPLICA_SCHEMES = {"0.3": ("s3", "gs", "abs", "sftp", "file"),
                   "0.5": ("s3", "gs", "abs", "sftp", "file", "webdav", "nats", "oss")}  # fmt: skip
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
    if query and line == "0.3":
        raise UsageError(
            f"--replica {mask_urls(replica)}: Litestream 0.3 ignores '?{query}' in replica URLs; "
            "for an S3-compatible endpoint leave out --replica and set "
            "LITESTREAM_REPLICA_ENDPOINT (the default S3 layout uses it)"
        )
    url = f"{scheme}://{location.rstrip('/')}/{name}{qmark}{query}"
    return [("url", _scalar(url))]


def render_config(databases: Sequence[Path], replica: str | None, line: str, source: str) -> str:
    """The text of a new litestream.yml in the layout of `line`."""
    names = replica_names(databases)
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
        block = replica_block(replica, name, line)
        if line == "0.3":
            out.append("    replicas:")
            out += [f"      {'- ' if i == 0 else '  '}{k}: {v}" for i, (k, v) in enumerate(block)]
        else:
            out.append("    replica:")
            out += [f"      {k}: {v}" for k, v in block]
    if line == "0.5":
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


def known_line(line: str) -> str:
    """`line` if it names a Litestream line pylitestream supports; UsageError otherwise."""
    if line not in REPLICA_SCHEMES:
        raise UsageError(f"--line must be 0.3 or 0.5, not {line!r}")
    return line


def init_config(
    databases: Sequence[str | os.PathLike[str]] = (),
    *,
    replica: str | None = None,
    django: str | None = None,
    output: str | os.PathLike[str] = "litestream.yml",
    force: bool = False,
    line: str | None = None,
    line_in_use: Callable[[], str],
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
    if not found:
        url = os.environ.get("DATABASE_URL", "")
        from_url = sqlite_url_path(url) if url else None
        if url and from_url is None:
            raise UsageError(
                f"DATABASE_URL ({url.partition(':')[0]}://...) is not an sqlite:/// URL; "
                "pass the database with --database PATH"
            )
        if from_url is not None:
            found, source = [from_url], "DATABASE_URL"
    if not found:
        raise UsageError(
            "no database to replicate: pass --database PATH (repeatable), "
            "set DATABASE_URL=sqlite:///PATH, or use --django SETTINGS_MODULE"
        )
    absolute = list(dict.fromkeys(db.absolute() for db in found))
    chosen = line_in_use() if line is None else known_line(line)
    text = render_config(absolute, replica, chosen, source)
    socket = None
    if chosen == "0.5":
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


def dump_yaml(data: Any) -> str:
    import yaml

    return str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))


def show_config(config: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The effective config after env expansion, secrets masked: {"config", "settings"}."""
    path = find_config(config)
    return {"config": str(path), "settings": masked_config(path)}


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
