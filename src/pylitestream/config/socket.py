"""Where litestream's control socket lives: the one default path, the checks `init` and the
config validator make, and the socket a loaded config enables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LITESTREAM_DEFAULT_SOCKET = "/var/run/litestream.sock"
"""litestream's own default when `socket.path` is unset (only root may create a socket there);
pylitestream writes default_socket_path() into the configs it makes."""


def enabled_socket(settings: dict[str, Any]) -> str | None:
    """The control socket path the loaded config `settings` enables, or None."""
    section = settings.get("socket")
    if not isinstance(section, dict) or not section.get("enabled"):
        return None
    path = str(section.get("path") or LITESTREAM_DEFAULT_SOCKET)
    return str(Path(path).expanduser().absolute())


def runtime_dir() -> Path:
    """pylitestream's per-user runtime directory (platformdirs): $XDG_RUNTIME_DIR/pylitestream,
    /tmp/runtime-UID/pylitestream without it, a private per-user folder on macOS. Never
    /var/run, where only root may create a socket."""
    import warnings

    from platformdirs import user_runtime_dir

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "XDG_RUNTIME_DIR is not set, falling back to /tmp/..."
        return Path(user_runtime_dir("pylitestream"))


def default_socket_path() -> Path:
    return runtime_dir() / "litestream.sock"


def socket_problem(path: str, permissions: str | None) -> str | None:
    """What is wrong with a control socket at `path` (litestream creates it there with
    `permissions`), or None. pylitestream's own runtime directory is created (mode 0700) when
    missing: it lives on a tmpfs that a reboot empties."""
    import stat

    directory = Path(path).expanduser().absolute().parent
    if directory == runtime_dir() and not directory.exists():
        missing = [directory, *(p for p in directory.parents if not p.exists())]
        for each in reversed(missing):  # each one private, as platformdirs expects its parents
            each.mkdir(mode=0o700, exist_ok=True)
    if not directory.is_dir():
        return (
            f"directory {directory} of the control socket path '{path}' does not exist, so "
            f"litestream cannot create its socket; create it (mkdir -m 700 {directory}) or use "
            f"the per-user default {default_socket_path()}"
        )
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        return (
            f"directory {directory} of the control socket is open to other users (mode "
            f"{mode:04o}); make it private (chmod 700 {directory}) or use the per-user "
            f"default {default_socket_path()}"
        )
    if permissions is not None:
        raw = permissions.strip()
        try:
            bits = int(raw, 8) if raw.startswith("0") else int(raw)
        except ValueError:
            return f"socket permissions '{raw}' are not a file mode such as 0600"
        if bits & 0o077:
            return (
                f"socket permissions {bits:04o} let other users drive litestream (stop "
                "replication, register databases); use 0600"
            )
    return None
