"""Every failure pylitestream reports is one of these; the CLI turns each into one line."""

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
