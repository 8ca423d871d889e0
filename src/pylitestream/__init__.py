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
        databases as databases,
    )
    from .api import (
        env_vars as env_vars,
    )
    from .api import (
        generations as generations,
    )
    from .api import (
        ltx as ltx,
    )
    from .api import (
        replicate as replicate,
    )
    from .api import (
        restore as restore,
    )
    from .api import (
        snapshots as snapshots,
    )
    from .api import (
        status as status,
    )
    from .api import (
        version as version,
    )
    from .api import (
        wal as wal,
    )
    from .errors import (
        BinaryNotFound as BinaryNotFound,
    )
    from .errors import (
        CommandFailed as CommandFailed,
    )
    from .errors import (
        CommandTimeout as CommandTimeout,
    )
    from .errors import (
        ConfigNotFound as ConfigNotFound,
    )
    from .errors import (
        DatabaseRequired as DatabaseRequired,
    )
    from .errors import (
        PylitestreamError as PylitestreamError,
    )
    from .errors import (
        UnsupportedOnVersion as UnsupportedOnVersion,
    )
    from .errors import (
        UnsupportedPlatform as UnsupportedPlatform,
    )
    from .errors import (
        UnsupportedVersion as UnsupportedVersion,
    )
    from .errors import (
        UsageError as UsageError,
    )


def __getattr__(name: str) -> Any:
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in _ERRORS:
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'pylitestream' has no attribute {name!r}")
