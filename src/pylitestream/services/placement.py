"""Putting a restored database in place without destroying anything that exists.

Litestream restores by renaming its `<out>.tmp` over `<out>`, and 0.5 treats an empty file as
absent, so it would replace an empty file, a FIFO or even /dev/null. pylitestream therefore never
lets litestream write to the target: it restores into a private directory and then links the
result into place with a primitive that fails if the name exists (link(2) never replaces).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import CommandFailed, UsageError

SIDECARS = ("-wal", "-shm", ".tmp")
"""Names SQLite (-wal, -shm) and litestream (.tmp, its scratch file) use beside a database."""


def existing_form(path: Path) -> str | None:
    """What is at `path`, in words ("an empty file", "a FIFO", "a dangling symlink", ...), or
    None when nothing is. Looks at the name itself: a symlink is never followed."""
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # a parent that is a file: nothing there
        return None
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return "a symlink" if path.exists() else "a dangling symlink"
    if stat.S_ISREG(mode):
        return "a file" if info.st_size else "an empty file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device node"
    return "something"


def occupied(target: Path, *, sidecars: bool = True) -> list[tuple[Path, str]]:
    """Each of `target` (and its -wal, -shm, .tmp) that exists in any form, with that form."""
    names = [target, *(Path(f"{target}{suffix}") for suffix in SIDECARS)] if sidecars else [target]
    found = [(name, existing_form(name)) for name in names]
    return [(name, form) for name, form in found if form is not None]


def refuse_occupied(target: Path, hint: str) -> None:
    """Raise UsageError naming the first of target/-wal/-shm/.tmp that exists."""
    taken = occupied(target)
    if not taken:
        return
    name, form = taken[0]
    if name == target:
        what = f"restore target {target} already exists ({form})"
    else:  # a sidecar comes first only when the target itself is absent
        what = (
            f"{name} exists ({form}) but {target} does not: SQLite would replay it into the "
            "restored database"
        )
    raise UsageError(f"{what}; nothing was changed ({hint})")


def sibling(db: Path, now: dt.datetime | None = None) -> Path:
    """app.db -> app-20261127093000.db: where a restore goes when the database exists."""
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d%H%M%S")
    return db.with_name(f"{db.stem}-{stamp}{db.suffix}")


def default_target(db: Path) -> Path:
    """Where a restore without -o goes: the database's path if nothing is there, else a
    timestamped sibling, so that the live database is never touched."""
    return sibling(db) if os.path.lexists(db) else db


@contextlib.contextmanager
def scratch_dir(target: Path) -> Iterator[Path]:
    """A private (0700) directory for litestream to restore into: beside the target when its
    directory exists (so the move is a link on one file system), else in the temp dir, so
    nothing is created under a path that may be a typo. Removed afterwards, whatever happens."""
    parent = target.parent if target.parent.is_dir() else None
    directory = Path(tempfile.mkdtemp(prefix=".pylitestream-restore-", dir=parent))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def place(restored: Path, target: Path, *, replace: bool = False) -> None:
    """Move `restored` to `target`. Without `replace`, fail (UsageError) if `target` exists by
    then in any form: link(2) refuses an existing name, so there is no check-then-rename race.
    With `replace` (asked for by name), only a regular file is replaced."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if replace:
        form = existing_form(target)
        if form not in (None, "a file", "an empty file"):
            raise UsageError(f"restore target {target} is {form}; -force replaces only a file")
        os.replace(_same_fs_copy(restored, target), target)
        return
    source = _same_fs_copy(restored, target)
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        raise UsageError(
            f"restore target {target} appeared while restoring; nothing was changed"
        ) from None
    except OSError as exc:
        # No fallback to rename(2): it would replace whatever appeared at the target.
        raise CommandFailed(
            f"cannot link the restored database into place at {target}: "
            f"{exc.strerror or exc}; nothing was changed"
        ) from None
    finally:
        if source != restored:
            source.unlink(missing_ok=True)


def _same_fs_copy(restored: Path, target: Path) -> Path:
    """`restored`, or a copy of it in the target's directory when the two are on different
    file systems (link and rename work only within one)."""
    if os.stat(restored).st_dev == os.stat(target.parent).st_dev:
        return restored
    handle, name = tempfile.mkstemp(prefix=".pylitestream-restore-", dir=target.parent)
    with os.fdopen(handle, "wb") as out, restored.open("rb") as source:
        shutil.copyfileobj(source, out)
        out.flush()
        os.fsync(out.fileno())
    return Path(name)


def move_aside(path: Path) -> Path | None:
    """Rename a stale -wal/-shm to `<name>.stale-<time>` (never over anything); None if absent."""
    if not os.path.lexists(path):
        return None
    stamp = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    for n in range(100):
        aside = Path(f"{path}.stale-{stamp}" + (f"-{n}" if n else ""))
        try:
            os.link(path, aside, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP):
                raise
            if os.path.lexists(aside):
                continue
            os.rename(path, aside)
            return aside
        path.unlink()
        return aside
    raise UsageError(f"cannot move {path} aside: too many stale copies beside it")
