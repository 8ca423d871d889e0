"""Every failure pylitestream reports is one of these; the CLI turns each into one line and
exits with the class's `exit_code` (1 unless noted below).

    PylitestreamError (Exception)         exit 1
    ├── UsageError                        exit 2: the request itself is wrong
    │   ├── ConfigNotFound
    │   ├── ConfigError
    │   ├── DatabaseRequired
    │   ├── UnsupportedOnVersion
    │   ├── SocketNotConfigured
    │   ├── UnknownDatabase
    │   ├── AppNotFound                   exit 127
    │   └── AppNotExecutable              exit 126
    ├── BinaryNotFound
    │   └── UnsupportedPlatform
    ├── UnsupportedVersion
    ├── CommandFailed
    │   ├── IntegrityCheckFailed
    │   ├── CommandTimeout
    │   └── ParseError                    (also a ValueError)
    ├── SocketError                       Litestream 0.5's control socket
    │   ├── DaemonNotRunning
    │   ├── SocketPermissionDenied
    │   ├── SocketTimeout
    │   └── DaemonError
    ├── AlreadyRunning
    ├── VerificationFailure
    ├── OutputError
    ├── MissingExtra
    ├── StorageError                      audit: nothing under the replica URL can be audited
    └── HistoryError                      the history file cannot be read

    ActionFailed (Exception)              a dashboard action's outcome; never leaves the web app
    Terminated (KeyboardInterrupt)        SIGTERM, raised like Ctrl-C, reported as such (exit 130)
    Interrupted (KeyboardInterrupt)       a verify_all worker told to stop

Nothing here imports anything, so `except pylitestream.UsageError` stays cheap.
"""

from __future__ import annotations


class PylitestreamError(Exception):
    """Base class. `exit_code` is what the CLI exits with."""

    exit_code = 1


class UsageError(PylitestreamError):
    """The request itself is wrong: a bad flag, a missing config, an existing restore target."""

    exit_code = 2


class BinaryNotFound(PylitestreamError):
    """No litestream binary where we looked (or where LITESTREAM_INSTALL_DIR points)."""


class UnsupportedPlatform(BinaryNotFound):
    """This OS/architecture has no bundled litestream and none was provided."""


class UnsupportedVersion(PylitestreamError):
    """The binary is a Litestream line pylitestream does not drive (not 0.3.x or 0.5.x)."""


class ConfigNotFound(UsageError):
    """No litestream config in any of the places searched."""


class ConfigError(UsageError):
    """The config would make litestream do something other than intended; the message starts
    with `FILE:LINE:`."""


class DatabaseRequired(UsageError):
    """The command needs --database."""


class UnsupportedOnVersion(UsageError):
    """The running Litestream line lacks this command or flag; the message names the alternative."""


class CommandFailed(PylitestreamError):
    """litestream exited non-zero, or logged an ERROR while exiting 0 (0.3 listing commands)."""

    def __init__(
        self,
        message: str,
        *,
        argv: list[str] | None = None,
        returncode: int | None = None,
        stdout: str = "",
        stderr: str = "",
    ) -> None:
        super().__init__(message)
        self.argv = argv or []
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class IntegrityCheckFailed(CommandFailed):
    """A restore gave a database that fails its integrity check, so nothing was placed.
    `passing` holds the restore flags of the newest older point that passes ({"txid": ...} or
    {"generation": ..., "index": ...}), or None when none was found."""

    passing: dict[str, str] | None = None


class CommandTimeout(CommandFailed):
    """litestream did not finish in time (0.5 retries a dead endpoint for about two minutes)."""


class ParseError(CommandFailed, ValueError):
    """litestream's answer is not what its version prints; the message names the command."""


class AlreadyRunning(PylitestreamError):
    """A litestream replicate for this config is already running (see `pylitestream ps`)."""


class VerificationFailure(PylitestreamError):
    """A backup failed verification. `reason` is one of "auth", "not_found", "unreachable",
    "timeout" (litestream.failures), "no_backup", "stale", "corrupt", "incomplete",
    "not_in_config", "no_database", "database_error", "restore_failed"; `record` is the verify
    record (ok=False) with everything learned before it failed."""

    def __init__(self, message: str, *, reason: str, record: dict[str, object] | None = None):
        super().__init__(message)
        self.reason = reason
        self.record = record or {}


class AppNotFound(UsageError):
    """`run`'s app command does not exist (the shell's 127)."""

    exit_code = 127


class AppNotExecutable(UsageError):
    """`run`'s app command exists but cannot be executed (the shell's 126)."""

    exit_code = 126


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; raised like Ctrl-C so cleanup runs, reported as such."""


class OutputError(PylitestreamError):
    """stdout or stderr could not be written (a full disk, /dev/full); a closed pipe is not
    this, it ends the command quietly."""


class MissingExtra(PylitestreamError):
    """An optional extra's dependencies are not installed (the dashboard's, the metrics',
    audit's boto3)."""


class StorageError(PylitestreamError):
    """`audit` could not find a database to audit under a replica URL: the storage is
    unreachable or refused the credentials, the bucket or directory does not exist, or the
    prefix is empty or holds only files Litestream did not write."""


class HistoryError(PylitestreamError):
    """The history file (user state dir) cannot be read: corrupt, or not SQLite. `check` and
    `verify` only warn when they cannot write it; `history` fails with this."""


# Litestream 0.5's control socket (litestream/control_socket.py).


class SocketNotConfigured(UsageError):
    """The config does not enable the control socket (`socket: {enabled: true, path: ...}`)."""


class SocketError(PylitestreamError):
    """The control socket could not answer the request."""


class DaemonNotRunning(SocketError):
    """No litestream listens on the socket: the file is missing, or stale after a crash."""


class SocketPermissionDenied(SocketError):
    """The socket exists but belongs to another user (it is created with mode 0600)."""


class SocketTimeout(SocketError):
    """litestream accepted the connection but did not answer in time (frozen, or overloaded)."""


class UnknownDatabase(UsageError):
    """The daemon does not replicate that database."""


class DaemonError(SocketError):
    """litestream answered with an error of its own (e.g. 409: the database is stopped)."""


# Internal signals: they never reach the CLI or a caller of the API.


class Interrupted(KeyboardInterrupt):
    """A verify_all worker told to stop: its own cleanup runs, then it ends."""


class ActionFailed(Exception):
    """A dashboard action's honest failure, one line; the job shows it as its outcome."""
