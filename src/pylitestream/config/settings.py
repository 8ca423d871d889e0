"""Settings from Python: `configure()`, the web framework's settings (Django's
`settings.LITESTREAM` or Flask's `app.config["LITESTREAM"]`, read in config/framework.py) and a
`[tool.pylitestream]` table in pyproject.toml.

Each setting reaches litestream as its LITESTREAM_* variable, and only where the environment
does not already set that variable. This is the one place the layers are stacked: the
environment always wins, then configure(), then the framework's settings, then pyproject.toml.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import UsageError

SETTING_VARS = {
    "replica_bucket": "LITESTREAM_REPLICA_BUCKET",
    "replica_key_id": "LITESTREAM_ACCESS_KEY_ID",
    "replica_access_key": "LITESTREAM_SECRET_ACCESS_KEY",
    "replica_region": "LITESTREAM_REPLICA_REGION",
    "replica_endpoint": "LITESTREAM_REPLICA_ENDPOINT",
    "config_path": "LITESTREAM_CONFIG",
}
# Credentials do not belong in a file that is committed with the code.
PYPROJECT_FORBIDDEN = ("replica_key_id", "replica_access_key")

_configured: dict[str, str] = {}


def configure(
    *,
    replica_bucket: str | None = None,
    replica_key_id: str | None = None,
    replica_access_key: str | None = None,
    replica_region: str | None = None,
    replica_endpoint: str | None = None,
    config_path: str | os.PathLike[str] | None = None,
) -> None:
    """Settings for every litestream this process runs, the Python counterpart of the
    environment variables. A setting given here is used only where its LITESTREAM_* variable
    is not set in the environment. None leaves a setting as it was; "" clears it."""
    given = {
        "replica_bucket": replica_bucket,
        "replica_key_id": replica_key_id,
        "replica_access_key": replica_access_key,
        "replica_region": replica_region,
        "replica_endpoint": replica_endpoint,
        "config_path": None if config_path is None else str(config_path),
    }
    for name, value in given.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise UsageError(f"configure({name}=...) takes a string, not {type(value).__name__}")
        if value == "":
            _configured.pop(name, None)
        elif name == "config_path":
            _configured[name] = str(Path(value).expanduser().absolute())
        else:
            _configured[name] = value


def configured_secrets() -> list[str]:
    """Secret values given to configure(), so output can redact them like secret env vars."""
    return [_configured[n] for n in ("replica_key_id", "replica_access_key") if n in _configured]


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml at or above `start` (default: the current directory)."""
    here = (start or Path.cwd()).absolute()
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


# (path, text) -> settings: every litestream call reads the environment it gets and a command
# makes several, so each version of the file is parsed once. Keyed by the text, not the mtime,
# whose granularity lets two quick writes look alike.
_parsed: dict[tuple[Path, str], dict[str, str]] = {}


def pyproject_settings(start: Path | None = None) -> dict[str, str]:
    """The [tool.pylitestream] table of the nearest pyproject.toml, keys as in configure()."""
    path = find_pyproject(start)
    if path is None:
        return {}
    from .files import read_text

    text = read_text(path)
    if (path, text) not in _parsed:
        _parsed[(path, text)] = _parse_pyproject(path, text)
    return dict(_parsed[(path, text)])


def _parse_pyproject(path: Path, text: str) -> dict[str, str]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except ValueError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise UsageError(f"{path}: 'tool' must be a table ([tool.NAME] sections), not a value")
    table = tool.get("pylitestream", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.pylitestream] must be a table")
    settings: dict[str, str] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name in PYPROJECT_FORBIDDEN:
            raise UsageError(
                f"{path}: [tool.pylitestream] {key} is a credential; keep it out of "
                f"pyproject.toml and set {SETTING_VARS[name]} or call pylitestream.configure()"
            )
        if name not in SETTING_VARS:
            known = ", ".join(n for n in SETTING_VARS if n not in PYPROJECT_FORBIDDEN)
            raise UsageError(f"{path}: unknown key {key!r} in [tool.pylitestream]; known: {known}")
        if not isinstance(value, str):
            raise UsageError(f"{path}: [tool.pylitestream] {key} must be a string")
        if name == "config_path":
            # Relative to the project, not to wherever the command happens to run.
            value = str((path.parent / Path(value).expanduser()).absolute())
        settings[name] = value
    return settings


def settings_env() -> dict[str, tuple[str, str]]:
    """{LITESTREAM_* variable: (value, source)} from configure() over the framework's settings
    over pyproject.toml."""
    from . import framework

    merged = {n: (v, "pyproject.toml [tool.pylitestream]") for n, v in pyproject_settings().items()}
    from_framework = framework.framework_settings(tuple(SETTING_VARS))
    merged.update({n: (v, framework.source()) for n, v in from_framework.items()})
    merged.update({n: (v, "pylitestream.configure()") for n, v in _configured.items()})
    return {SETTING_VARS[name]: value for name, value in merged.items()}


def effective_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment plus every setting whose variable it does not already set."""
    env = dict(os.environ if environ is None else environ)
    for var, (value, _source) in settings_env().items():
        env.setdefault(var, value)
    return env


def config_path_setting() -> tuple[str, str] | None:
    """(path, where it came from) for the config, from LITESTREAM_CONFIG or the settings."""
    from_env = os.environ.get("LITESTREAM_CONFIG")
    if from_env:
        return from_env, "LITESTREAM_CONFIG"
    return settings_env().get("LITESTREAM_CONFIG")


def known_secrets(environ: dict[str, str] | None = None) -> list[str]:
    """Values of secret-named variables in the environment, and the credentials given to
    configure() or the framework's settings (which never pass through os.environ): to be
    redacted wherever they appear."""
    from ..masking import is_secret_name
    from .framework import framework_secrets

    source = os.environ if environ is None else environ
    found = [value for name, value in source.items() if value and is_secret_name(name)]
    return found + configured_secrets() + framework_secrets()
