"""Checking a config before litestream runs: unknown keys, unset variables, wrong layouts for the
line, with file and line number; passing verdicts are cached."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .. import cache
from ..errors import ConfigError
from ..masking import mask_urls
from .files import read_text
from .load import _BUILTIN_VARS, _GO_SPECIAL, _compose, env_refs, expand_env
from .schema import _MAY_BE_EMPTY_KEYS, _SETTING_HINTS, LAYOUTS
from .socket import (
    LITESTREAM_DEFAULT_SOCKET,
    socket_problem,
)

if TYPE_CHECKING:
    import yaml


# --- validation ----------------------------------------------------------------------------------


class _Checker:
    """Walks the composed YAML of one config and raises ConfigError at the first problem."""

    def __init__(self, path: Path, line: str, missing_dirs_ok: bool = False) -> None:
        self.path = path
        self.line = line
        self.layout = LAYOUTS[line]
        # `run` restores into a fresh data dir, creating it: a missing directory is expected there.
        self.missing_dirs_ok = missing_dirs_ok
        self.dirs: list[str] = []
        """Database directories the check relied on: a cached verdict holds while they exist."""
        self.directories = 0
        """How many entries are `dir:` ones (each replicates every database it finds)."""

    def fail(self, node: yaml.Node | None, message: str) -> NoReturn:
        number = node.start_mark.line + 1 if node is not None else 1
        raise ConfigError(f"{self.path}:{number}: {message}")

    def keys(self, node: yaml.Node, allowed: frozenset[str], where: str) -> list[tuple[str, Any]]:
        """The (key, value node) pairs of a mapping, refusing keys litestream would ignore."""
        import yaml

        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{where} must be a mapping of keys to values")
        pairs = []
        for key_node, value_node in _merged(node):
            key = str(key_node.value)
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
        """Check the whole document; return the number of entries under 'dbs:' (`path:` ones
        and `dir:` ones, counted apart in self.directories)."""
        import yaml

        if root is None:
            self.fail(None, "the config is empty; it needs a 'dbs:' list (see 'pylitestream init')")
        top, sections = self.layout.top, self.layout.sections
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

        allowed = self.layout.database
        if not self.layout.single_replica and isinstance(node, yaml.MappingNode):
            for key_node, _value in node.value:
                if key_node.value == "replica":
                    self.fail(
                        key_node,
                        "'replica:' is ignored by Litestream 0.3, so this database would not be "
                        "replicated; write it as a list under 'replicas:' (- type: ...)",
                    )
        if "dir" not in allowed and isinstance(node, yaml.MappingNode):
            for key_node, _value in node.value:
                if key_node.value == "dir":
                    self.fail(
                        key_node,
                        f"Litestream {self.line} has no directory replication ('dir:'); list "
                        "each database with '- path:', or use Litestream 0.5",
                    )
        pairs = dict(self.keys(node, allowed, "a database"))
        if "path" in pairs and "dir" in pairs:
            self.fail(pairs["dir"], "a database has both 'path:' and 'dir:'; keep one")
        if "path" in pairs:
            self.db_path(pairs["path"], "path")
        elif "dir" in pairs:
            self.directory(node, pairs)
            self.directories += 1
        elif isinstance(node, yaml.MappingNode):
            self.fail(node, "a database needs 'path:' (one file) or 'dir:' (a directory of them)")
        for key in ("watch", "meta-dir", "pattern", "recursive"):
            if key in pairs and "dir" not in pairs:
                self.fail(pairs[key], f"'{key}' only applies to a 'dir:' entry")
        replicas = self.sequence(pairs["replicas"], "'replicas'") if "replicas" in pairs else []
        if self.layout.single_replica:
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

    def directory(self, node: yaml.Node, pairs: dict[str, Any]) -> None:
        """A `dir:` entry (0.5): litestream refuses it at start without a pattern, with a
        malformed one, or when nothing matches and it does not watch; without a replica no
        tenant would be replicated."""
        import yaml

        from .tenants import discover, pattern_problem

        raw = self.path_value(pairs["dir"], "database 'dir'")
        self.db_path(pairs["dir"], "dir")
        if "pattern" not in pairs:
            self.fail(pairs["dir"], "a 'dir:' entry needs 'pattern:' (e.g. pattern: \"*.db\")")
        pattern = self.path_value(pairs["pattern"], "'pattern'")
        problem = pattern_problem(pattern)
        if problem:
            self.fail(pairs["pattern"], problem)
        if "meta-dir" in pairs and "meta-path" in pairs:
            self.fail(pairs["meta-dir"], "a 'dir:' entry has both 'meta-dir' and 'meta-path'")
        if "replica" not in pairs and "replicas" not in pairs:
            self.fail(
                pairs["dir"],
                f"the 'dir: {raw}' entry has no 'replica:', so none of its databases would be "
                "replicated (each one's replica path is the replica's plus its own)",
            )
        flags = {k: str(pairs[k].value).lower() for k in ("recursive", "watch") if k in pairs}
        for key, value in flags.items():
            if not isinstance(pairs[key], yaml.ScalarNode) or value not in ("true", "false"):
                self.fail(pairs[key], f"'{key}' must be true or false, not {value}")
        directory = Path(raw).expanduser()
        if not directory.is_dir():
            return  # missing_dirs_ok: `run` restores into it
        if not os.access(directory, os.R_OK | os.X_OK | os.W_OK):
            self.fail(
                pairs["dir"],
                f"directory {directory} is not readable and writable by this user, and "
                "litestream lists it and writes each database's -wal and metadata beside it",
            )
        watch = flags.get("watch") == "true"
        if not watch and not discover(directory, pattern, flags.get("recursive") == "true"):
            self.fail(
                pairs["pattern"],
                f"pattern '{pattern}' matches no SQLite database in {directory}, and litestream "
                "refuses to start then; add 'watch: true' to pick up databases created later",
            )

    def replica(self, node: yaml.Node) -> None:
        allowed, sections = self.layout.replica, self.layout.sections
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
            if key == "url" and not self.layout.reads_url_query and "?" in str(value.value or ""):
                self.fail(
                    value,
                    "Litestream 0.3 ignores the '?...' part of a replica url (an endpoint there "
                    "sends the data to AWS instead); write type, bucket, path and endpoint as keys",
                )
            if key == "endpoint":
                endpoint = str(value.value or "")
                if endpoint and "://" not in endpoint:
                    # Masked as the URL it becomes: without a scheme, mask_urls sees no password.
                    shown = mask_urls(f"https://{endpoint}").removeprefix("https://")
                    self.fail(
                        value,
                        f"endpoint '{shown}' has no scheme, and Litestream {self.line} then uses "
                        f"https://{shown}; write http://{shown} or https://{shown}",
                    )


def _merged(node: yaml.MappingNode, depth: int = 0) -> list[tuple[yaml.Node, yaml.Node]]:
    """A mapping's (key, value) nodes with YAML merge keys (`<<: *anchor`) expanded as
    litestream's YAML parser reads them: the mapping's own keys win over merged ones."""
    import yaml

    own = [(k, v) for k, v in node.value if str(k.value) != "<<"]
    names = {str(k.value) for k, _ in own}
    merged = []
    for key_node, value_node in node.value:
        if str(key_node.value) != "<<" or depth > 16:
            continue
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            if isinstance(source, yaml.MappingNode):
                for k, v in _merged(source, depth + 1):
                    if str(k.value) not in names:
                        names.add(str(k.value))
                        merged.append((k, v))
    return own + merged


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
        it the way `litestream -no-expand-env` reads it. Return {"config", "line", "databases" (the
    `path:` entries), "directories" (the `dir:` entries)}."""
    from .settings import effective_env

    config = Path(path).absolute()
    env = effective_env() if environ is None else environ
    text = read_text(config)
    key = _verdict_key(config, text, line, env, expand, missing_dirs_ok)
    verdicts = cache.load("validated")
    known = verdicts.get(key)
    if (isinstance(known, dict) and "directories" in known
            and all(Path(d).is_dir() for d in known.get("dirs", []))):  # fmt: skip
        return {"config": str(config), "line": line, "databases": known.get("databases"),
                "directories": known["directories"]}  # fmt: skip
    raw = _compose(config, text)
    checker = _Checker(config, line, missing_dirs_ok)
    if not expand:
        return _verdict(config, line, checker, checker.check(raw), verdicts, key)
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
    return _verdict(config, line, checker, checker.check(root), verdicts, key)


def _verdict(config: Path, line: str, checker: _Checker, entries: int,
             verdicts: dict[str, Any], key: str) -> dict[str, Any]:  # fmt: skip
    """The result of a check, kept for the next one with the same inputs."""
    kept = {"databases": entries - checker.directories, "directories": checker.directories}
    verdicts[key] = {**kept, "dirs": [] if checker.missing_dirs_ok else checker.dirs}
    cache.store("validated", verdicts)
    return {"config": str(config), "line": line, **kept}


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
