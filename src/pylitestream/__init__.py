"""pylitestream: Litestream for Python.

The functions here are the Python API; each returns plain data with the keys that
`pylitestream COMMAND --json` prints. Importing this package runs nothing and imports
little: the API loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = (
    "databases",
    "generations",
    "snapshots",
    "wal",
    "ltx",
    "status",
    "restore",
    "replicate",
    "version",
    "env_vars",
)
_ERRORS = (
    "PylitestreamError",
    "UsageError",
    "BinaryNotFound",
    "UnsupportedPlatform",
    "UnsupportedVersion",
    "ConfigNotFound",
    "DatabaseRequired",
    "UnsupportedOnVersion",
    "CommandFailed",
    "CommandTimeout",
)

__all__ = ["__version__", *_API, *_ERRORS]

if TYPE_CHECKING:
    from .api import (
        databases,
        env_vars,
        generations,
        ltx,
        replicate,
        restore,
        snapshots,
        status,
        version,
        wal,
    )
    from .errors import (
        BinaryNotFound,
        CommandFailed,
        CommandTimeout,
        ConfigNotFound,
        DatabaseRequired,
        PylitestreamError,
        UnsupportedOnVersion,
        UnsupportedPlatform,
        UnsupportedVersion,
        UsageError,
    )


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in _ERRORS:
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'pylitestream' has no attribute {name!r}")
