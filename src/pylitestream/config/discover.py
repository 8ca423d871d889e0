"""Which litestream config is in effect: --config, LITESTREAM_CONFIG, configure()/pyproject,
./litestream.yml, the user's and the system's."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigNotFound

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
