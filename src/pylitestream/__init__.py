"""pylitestream: Litestream for Python.

The functions here are the Python API; each returns plain data with the keys that
`pylitestream COMMAND --json` prints. Importing this package runs nothing and imports
little: the API loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .about import __version__ as __version__
from .lazy import load

# Every function and class of the API comes from pylitestream.api, the front door.
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
    "verify",
    "verify_all",
    "init_config",
    "check_config",
    "show_config",
    "migrate_config",
    "last_verify",
    "daemon_status",
    "configure",
    "Replicator",
    "processes",
    "daemon_info",
    "daemon_databases",
    "sync",
    "txid",
    "register",
    "unregister",
    "start",
    "stop",
    "check",
    "restore_plan",
    "audit",
    "history",
    "metrics_text",
    "check_overview",
)
_ERRORS = (
    "PylitestreamError",
    "UsageError",
    "BinaryNotFound",
    "UnsupportedPlatform",
    "UnsupportedVersion",
    "ConfigNotFound",
    "ConfigError",
    "DatabaseRequired",
    "UnsupportedOnVersion",
    "CommandFailed",
    "CommandTimeout",
    "IntegrityCheckFailed",
    "VerificationFailure",
    "AlreadyRunning",
    "StorageError",
    "HistoryError",
)
# The errors of Litestream 0.5's control socket (litestream/control_socket.py raises them).
_SOCKET_ERRORS = (
    "SocketNotConfigured",
    "SocketError",
    "DaemonNotRunning",
    "SocketPermissionDenied",
    "SocketTimeout",
    "UnknownDatabase",
    "DaemonError",
)

__all__ = ["__version__", *_API, *_ERRORS, *_SOCKET_ERRORS]

if TYPE_CHECKING:
    from .api import Replicator as Replicator
    from .api import audit as audit
    from .api import check as check
    from .api import check_config as check_config
    from .api import check_overview as check_overview
    from .api import configure as configure
    from .api import daemon_databases as daemon_databases
    from .api import daemon_info as daemon_info
    from .api import daemon_status as daemon_status
    from .api import databases as databases
    from .api import env_vars as env_vars
    from .api import generations as generations
    from .api import history as history
    from .api import init_config as init_config
    from .api import last_verify as last_verify
    from .api import ltx as ltx
    from .api import metrics_text as metrics_text
    from .api import migrate_config as migrate_config
    from .api import processes as processes
    from .api import register as register
    from .api import replicate as replicate
    from .api import restore as restore
    from .api import restore_plan as restore_plan
    from .api import show_config as show_config
    from .api import snapshots as snapshots
    from .api import start as start
    from .api import status as status
    from .api import stop as stop
    from .api import sync as sync
    from .api import txid as txid
    from .api import unregister as unregister
    from .api import verify as verify
    from .api import verify_all as verify_all
    from .api import version as version
    from .api import wal as wal
    from .errors import AlreadyRunning as AlreadyRunning
    from .errors import BinaryNotFound as BinaryNotFound
    from .errors import CommandFailed as CommandFailed
    from .errors import CommandTimeout as CommandTimeout
    from .errors import ConfigError as ConfigError
    from .errors import ConfigNotFound as ConfigNotFound
    from .errors import DaemonError as DaemonError
    from .errors import DaemonNotRunning as DaemonNotRunning
    from .errors import DatabaseRequired as DatabaseRequired
    from .errors import HistoryError as HistoryError
    from .errors import IntegrityCheckFailed as IntegrityCheckFailed
    from .errors import PylitestreamError as PylitestreamError
    from .errors import SocketError as SocketError
    from .errors import SocketNotConfigured as SocketNotConfigured
    from .errors import SocketPermissionDenied as SocketPermissionDenied
    from .errors import SocketTimeout as SocketTimeout
    from .errors import StorageError as StorageError
    from .errors import UnknownDatabase as UnknownDatabase
    from .errors import UnsupportedOnVersion as UnsupportedOnVersion
    from .errors import UnsupportedPlatform as UnsupportedPlatform
    from .errors import UnsupportedVersion as UnsupportedVersion
    from .errors import UsageError as UsageError
    from .errors import VerificationFailure as VerificationFailure


# Exceptions load from their own small modules, so `except pylitestream.UsageError` stays cheap.
_SOURCES = {
    **dict.fromkeys(_API, "pylitestream.api"),
    **dict.fromkeys(_ERRORS, "pylitestream.errors"),
    **dict.fromkeys(_SOCKET_ERRORS, "pylitestream.errors"),
}


def __getattr__(name: str) -> Any:
    return load(__name__, name, _SOURCES)
