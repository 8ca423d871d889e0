"""Which litestream config file is in effect."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .errors import ConfigNotFound

CONFIG_VAR = "LITESTREAM_CONFIG"
SYSTEM_CONFIG = Path("/etc/litestream.yml")


def user_config_file() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("pylitestream")) / "litestream.yml"


def config_candidates(explicit: str | os.PathLike[str] | None = None) -> list[tuple[Path, str]]:
    """(path, why) in the order they are tried."""
    if explicit:
        return [(Path(explicit).expanduser(), "--config")]
    from_env = os.environ.get(CONFIG_VAR)
    if from_env:
        return [(Path(from_env).expanduser(), CONFIG_VAR)]
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


_ENV_REF = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def expand_env(text: str, environ: dict[str, str] | None = None) -> str:
    """Expand $VAR and ${VAR} the way litestream does: an unset variable becomes ''."""
    source = os.environ if environ is None else environ
    return _ENV_REF.sub(lambda m: source.get(m.group(1) or m.group(2), ""), text)


def load_config(path: str | os.PathLike[str], *, expand: bool = True) -> dict[str, Any]:
    """The config as litestream will see it (env expanded unless expand=False)."""
    import yaml

    text = Path(path).read_text()
    data = yaml.safe_load(expand_env(text) if expand else text)
    return data if isinstance(data, dict) else {}
