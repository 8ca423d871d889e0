"""`config show`: the effective config, secrets masked."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..masking import MASK, is_secret_name, mask_env_value
from .discover import find_config
from .files import read_text
from .load import expand_env, load_yaml

# --- config show ---------------------------------------------------------------------------------

# Config keys whose values are secrets even though masking's env-name rules miss them.
_SECRET_KEYS = {"jwt", "seed", "nkey", "creds", "sas-token", "token", "sse-customer-key"}


def _mask_value(key: str, value: Any, secrets: Sequence[str]) -> Any:
    if isinstance(value, dict):
        return {k: _mask_value(str(k), v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_value(key, v, secrets) for v in value]
    if key == "permissions" and isinstance(value, int) and not isinstance(value, bool):
        return f"{value:04o}"  # YAML reads 0600 as the int 384: show the mode as written
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


def show_config(config: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The effective config after env expansion, secrets masked: {"config", "settings"}."""
    path = find_config(config)
    return {"config": str(path), "settings": masked_config(path)}
