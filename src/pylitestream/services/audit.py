"""`audit`: the check from outside. From replica access alone (a config, or a replica URL with
credentials in the environment) it finds the databases, says how old each one's newest restore
point is and how far back its restore points reach, and with a drill restores each into a
private temporary directory and checks it. It needs no app, daemon, socket or database file, so
one monitoring host can watch every machine that replicates into a bucket.

Storage is read through litestream (its listings and restore, which never write to a replica),
with one exception: finding the databases under a prefix. Litestream cannot list a bucket's
prefixes, so that walk uses boto3 (the optional extra `py-litestream[audit]`) for s3:// and the
file system for file://; it lists, never reads or writes an object. Each database is then named
to litestream in a private config written into the audit's temporary directory (credentials as
${VARIABLES} only), which is how both lines take an S3 endpoint: 0.3 ignores `?endpoint=` in a
replica URL.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import (
    CommandFailed,
    CommandTimeout,
    IntegrityCheckFailed,
    MissingExtra,
    StorageError,
    UsageError,
)
from ..litestream.binary import Binary, find_binary
from ..litestream.failures import classify, endpoint_of, endpoint_problem, plain_message
from ..litestream.records import Record
from ..litestream.runner import litestream_env
from ..litestream.timeouts import default_timeout
from ..masking import mask_urls
from . import integrity, listings
from .prepare import PathLike, checked_config

RECORD_KEYS = ("database", "replica", "line", "ok", "status", "reason", "newest_restore_point",
               "newest_at", "age_seconds", "oldest_at", "span_seconds", "drill",
               "drill_reason")  # fmt: skip
TABLE_KEYS = ("database", "status", "newest_restore_point", "newest_at", "age_seconds",
              "span_seconds", "drill")  # fmt: skip

EXTRA = "py-litestream[audit]"
MAX_DEPTH = 8
"""How many directory levels under the prefix the walk descends looking for replicas."""
MAX_DIRECTORIES = 10_000
"""Directories listed at most: a prefix that holds more is not a backup prefix."""
WORKERS = 8

# Transport and local troubles: the drill could not tell whether the backup restores.
_INCONCLUSIVE = {"auth", "not_found", "unreachable", "timeout"}
_STORAGE_WORDS = {
    "auth": "the storage refused the credentials",
    "not_found": "the bucket does not exist",
    "unreachable": "the storage is unreachable",
    "timeout": "the storage did not answer in time",
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)?")
_UNITS = {None: 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str | float, option: str = "--max-age") -> float:
    """Seconds, from a number of seconds or a number with a unit: 90, 90s, 15m, 2h, 1d."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        found = _DURATION.fullmatch(str(value).strip())
        if not found:
            raise UsageError(f"{option} takes seconds or a duration such as 90s, 15m, 2h, 1d, "
                             f"not {value!r}")  # fmt: skip
        seconds = float(found[1]) * _UNITS[found[2]]
    if not 0 < seconds < float("inf"):
        raise UsageError(f"{option} must be more than 0 seconds, not {value!r}")
    return seconds


# --- what is audited ---------------------------------------------------------------------------


@dataclass
class Target:
    """One database to audit: how litestream knows it (`db` in `config`) and how to name it."""

    name: str
    replica: str
    db: str
    config: str
    line: str
    endpoint: str | None = None


@dataclass
class Storage:
    """Where a replica URL points: s3 (bucket, prefix, endpoint, region) or file (prefix)."""

    scheme: str
    bucket: str
    prefix: str
    endpoint: str | None
    region: str | None

    def url(self, path: str) -> str:
        if self.scheme == "file":
            return f"file://{path}"
        return f"s3://{self.bucket}/{path}".rstrip("/")


def parse_url(url: str, endpoint: str | None, region: str | None) -> Storage:
    """The storage a replica URL or bucket prefix names (`s3://bucket/prefix`, 0.5's
    `?endpoint=&region=` accepted; `file:///path`). The endpoint and region default to
    LITESTREAM_REPLICA_ENDPOINT and LITESTREAM_REPLICA_REGION, as in a config `init` writes."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UsageError(f"{mask_urls(url)!r} is not a replica URL") from None
    env = _effective_env()
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise UsageError(f"{url}: a file:// URL names a local path (file:///path)")
        path = unquote(parts.path)
        if not path.startswith("/"):
            raise UsageError(f"{url}: a file:// URL needs an absolute path (file:///path)")
        return Storage("file", "", os.path.normpath(path), None, None)
    if parts.scheme != "s3":
        raise UsageError(
            f"audit reads s3:// and file:// URLs, not {mask_urls(url)!r}; for other replica "
            "types, audit a config that names them (--config)"
        )
    if not parts.hostname:
        raise UsageError(f"{url}: no bucket (s3://bucket/prefix)")
    query = parse_qs(parts.query)
    endpoint = (
        endpoint or (query.get("endpoint") or [""])[0] or env.get("LITESTREAM_REPLICA_ENDPOINT")
    )
    region = (region or (query.get("region") or [""])[0] or env.get("LITESTREAM_REPLICA_REGION")
              or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"))  # fmt: skip
    if endpoint and "://" not in endpoint:
        endpoint = f"https://{endpoint}"  # as litestream 0.3 reads an endpoint without scheme
    return Storage("s3", parts.hostname, unquote(parts.path).strip("/"), endpoint or None,
                   region or None)  # fmt: skip


def _effective_env() -> dict[str, str]:
    from ..config.settings import effective_env

    return effective_env()


# --- finding the databases under a prefix ------------------------------------------------------

Children = Callable[[str], tuple[list[str], int]]
"""A directory's subdirectory names and how many files it holds directly."""


def _layout(dirs: list[str]) -> str | None:
    """The Litestream line whose replica layout a directory with these subdirectories has:
    0.3 `generations/`, 0.5 `ltx/` (file) or level directories `0000/`…`0009/` (S3)."""
    if "generations" in dirs:
        return "0.3"
    if "ltx" in dirs or any(re.fullmatch(r"[0-9a-f]{4}", d) for d in dirs):
        return "0.5"
    return None


def discover(children: Children, root: str, described: str) -> list[tuple[str, str]]:
    """(path, line) of each replica under `root`, breadth first. StorageError when there is
    none: the prefix is empty, or holds only files Litestream did not write."""
    found: list[tuple[str, str]] = []
    other_files, listed = 0, 0
    level = [root]
    for _depth in range(MAX_DEPTH + 1):
        below: list[str] = []
        for path in level:
            listed += 1
            if listed > MAX_DIRECTORIES:
                raise StorageError(
                    f"{described} holds more than {MAX_DIRECTORIES} directories without "
                    "finishing the search; audit a narrower prefix"
                )
            dirs, files = children(path)
            line = _layout(dirs)
            if line is not None:
                found.append((path, line))
                continue
            other_files += files
            # A database's own `.NAME-litestream` directory beside it has a replica's layout but
            # is litestream's local working state, not a backup.
            kept = [d for d in dirs if not (d.startswith(".") and d.endswith("-litestream"))]
            below.extend(_join(path, d) for d in sorted(kept))
        level = below
        if not level:
            break
    if found:
        return found
    if other_files or listed > 1:
        raise StorageError(
            f"{described} holds no Litestream replica ({other_files} file(s) in "
            f"{listed} director{'y' if listed == 1 else 'ies'}, none in a Litestream layout)"
        )
    raise StorageError(f"{described} is empty: no Litestream replica under it")


def _join(path: str, name: str) -> str:
    return f"{path.rstrip('/')}/{name}" if path else name


def _file_children(path: str) -> tuple[list[str], int]:
    dirs, files = [], 0
    with os.scandir(path) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                dirs.append(entry.name)
            else:
                files += 1
    return dirs, files


def _s3_client(storage: Storage, timeout: float) -> Any:
    """A boto3 S3 client with the credentials litestream would use: LITESTREAM_ACCESS_KEY_ID and
    LITESTREAM_SECRET_ACCESS_KEY when set, else the AWS SDK's own chain (AWS_* variables,
    profiles). Few retries and short waits: a dead endpoint fails in seconds."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise MissingExtra(
            f"audit of an s3:// URL needs boto3 to find the databases under it: pip install "
            f"'{EXTRA}' (or audit a config, which names them)"
        ) from None
    env = _effective_env()
    keys = {}
    if env.get("LITESTREAM_ACCESS_KEY_ID") and env.get("LITESTREAM_SECRET_ACCESS_KEY"):
        keys = {"aws_access_key_id": env["LITESTREAM_ACCESS_KEY_ID"],
                "aws_secret_access_key": env["LITESTREAM_SECRET_ACCESS_KEY"]}  # fmt: skip
    config = Config(
        connect_timeout=min(timeout, 5.0),
        read_timeout=timeout,
        retries={"max_attempts": 2, "mode": "standard"},
        s3={"addressing_style": "path"} if storage.endpoint else {},
    )
    return boto3.client("s3", endpoint_url=storage.endpoint,
                        region_name=storage.region or "us-east-1", config=config,
                        **keys)  # fmt: skip


def _s3_children(client: Any, storage: Storage) -> Children:
    def children(path: str) -> tuple[list[str], int]:
        prefix = f"{path}/" if path else ""
        dirs: list[str] = []
        files = 0
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=storage.bucket, Prefix=prefix, Delimiter="/"
        )
        for page in pages:
            common = page.get("CommonPrefixes", [])
            dirs.extend(p["Prefix"][len(prefix) :].rstrip("/") for p in common)
            files += len(page.get("Contents", []))
        return dirs, files

    return children


def _storage_failure(described: str, exc: Exception, storage: Storage) -> StorageError:
    """One line for a listing the storage refused, sorted the way verify and check sort
    litestream's errors (auth, not_found, unreachable, timeout)."""
    said = plain_message(" ".join(str(exc).split())) or type(exc).__name__
    # boto3's "An error occurred (NoSuchBucket) when calling the ListObjectsV2 operation: ..."
    said = re.sub(r"^An error occurred \((\w+)\) when calling the (\w+) operation:",
                  r"S3 \2: \1:", said)  # fmt: skip
    reason = classify(f"{type(exc).__name__}: {said}")
    if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
        reason = "auth"
    elif type(exc).__name__ in ("EndpointConnectionError", "ConnectTimeoutError"):
        problem = endpoint_problem(storage.endpoint) if storage.endpoint else None
        reason, said = "unreachable", problem or said
    elif type(exc).__name__ == "ReadTimeoutError":
        reason = "timeout"
    words = _STORAGE_WORDS.get(reason, "the storage cannot be listed")
    return StorageError(f"{described}: {words}: {said}")


def _find_in_storage(storage: Storage, timeout: float) -> list[tuple[str, str]]:
    described = storage.url(storage.prefix)
    if storage.scheme == "file":
        if not os.path.isdir(storage.prefix):
            raise StorageError(f"{described}: no such directory")
        try:
            return discover(_file_children, storage.prefix, described)
        except OSError as exc:
            raise StorageError(f"{described}: {exc.strerror or exc}") from None
    client = _s3_client(storage, timeout)
    try:
        return discover(_s3_children(client, storage), storage.prefix, described)
    except StorageError:
        raise
    except Exception as exc:  # botocore's errors: imported only with the extra
        if type(exc).__module__.split(".")[0] not in ("botocore", "boto3", "urllib3"):
            raise
        raise _storage_failure(described, exc, storage) from None


def _replica_block(storage: Storage, path: str) -> dict[str, Any]:
    if storage.scheme == "file":
        return {"type": "file", "path": path}
    block: dict[str, Any] = {"type": "s3", "bucket": storage.bucket, "path": path}
    if storage.region:
        block["region"] = storage.region
    if storage.endpoint:
        block.update({"endpoint": storage.endpoint, "force-path-style": True})
    env = _effective_env()
    for key, var in (("access-key-id", "LITESTREAM_ACCESS_KEY_ID"),
                     ("secret-access-key", "LITESTREAM_SECRET_ACCESS_KEY")):  # fmt: skip
        if env.get(var):
            block[key] = f"${{{var}}}"  # litestream expands it; the value never reaches a file
    return block


def _url_targets(binary: Binary, storage: Storage, timeout: float, work: Path) -> list[Target]:
    """The databases under the URL, each named in a private config in `work`."""
    import yaml

    found = _find_in_storage(storage, timeout)
    entries, targets = [], []
    for number, (path, line) in enumerate(found):
        db = str(work / f"db-{number}.db")
        block = _replica_block(storage, path)
        entry: dict[str, Any] = {"path": db}
        if binary.line == "0.3":
            entry["replicas"] = [block]
        else:
            entry["replica"] = block
        entries.append(entry)
        url = storage.url(path)
        targets.append(Target(url, url, db, str(work / "audit.yml"), line, storage.endpoint))
    (work / "audit.yml").write_text(yaml.safe_dump({"dbs": entries}))
    return targets


def _config_targets(binary: Binary, config: PathLike | None, validate: bool) -> list[Target]:
    from ..config.load import database_entries, load_config, replicas_of

    path = Path(checked_config(binary, config, validate))
    targets = []
    for db, entry in database_entries(load_config(path), path):
        blocks = replicas_of(entry)
        if not blocks:
            continue  # a database the config does not replicate has no replica to audit
        targets.append(Target(str(db), _describe(blocks[0]), str(db), str(path), binary.line,
                              endpoint_of(entry)))  # fmt: skip
    if not targets:
        raise UsageError(f"{path} replicates no database: there is nothing to audit")
    return targets


def _describe(block: dict[str, Any]) -> str:
    """A replica block as a URL, without credentials."""
    if block.get("url"):
        return mask_urls(str(block["url"]).split("?", 1)[0])
    kind = str(block.get("type") or "file")
    where = str(block.get("path") or "").lstrip("/") if kind != "file" else block.get("path")
    bucket = block.get("bucket")
    return f"{kind}://{bucket}/{where}" if bucket else f"{kind}://{where}"


# --- one database ------------------------------------------------------------------------------


def _moment(value: object) -> dt.datetime:
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def restore_points(target: Target, timeout: float | None) -> tuple[str, str, str] | None:
    """(newest restore point, when it reached the replica, the oldest point a restore can start
    from), or None when the replica holds none. 0.5: from `ltx -level all` (the point is a
    TXID; a restore starts from a file beginning at TXID 1, snapshots included). 0.3: from
    `wal` and `snapshots` (the point is generation/index; a restore starts from a snapshot)."""
    if target.line == "0.5":
        files = listings.ltx(target.db, level="all", config=target.config, timeout=timeout,
                             validate=False)  # fmt: skip
        if not files:
            return None
        newest = max(str(f["max_txid"]).lower() for f in files)
        reached = min(str(f["created"]) for f in files if str(f["max_txid"]).lower() == newest)
        bases = [str(f["created"]) for f in files if int(str(f["min_txid"]), 16) <= 1]
        return newest, reached, min(bases or [str(f["created"]) for f in files])
    segments = listings.wal(target.db, config=target.config, timeout=timeout, validate=False)
    snapshots = listings.snapshots(target.db, config=target.config, timeout=timeout,
                                   validate=False)  # fmt: skip
    points = segments or snapshots
    if not points:
        return None

    def position(point: Record) -> tuple[str, int, int]:
        return str(point["created"]), int(point["index"]), int(point.get("offset") or 0)

    last = max(points, key=position)
    newest = f"{last['generation']}/{int(last['index']):08x}"
    bases = [str(s["created"]) for s in snapshots] or [str(p["created"]) for p in points]
    return newest, str(last["created"]), min(bases)


def drill(target: Target, work: Path, timeout: float | None) -> tuple[str, str | None]:
    """Restore the latest point into a private directory under `work` with the full integrity
    check (litestream's own on 0.5, then PRAGMA integrity_check on both lines): ("ok", None),
    ("failed", why) or ("inconclusive", why: the storage or this host got in the way)."""
    from .restore import restore

    scratch = Path(tempfile.mkdtemp(prefix="drill-", dir=work))
    try:
        restored = restore(target.db, scratch / "restored.db", config=target.config,
                           timeout=timeout, validate=False, integrity_check="full")  # fmt: skip
        if restored is None:
            return "failed", "litestream found no backup to restore"
        verdict = integrity.sqlite_check(Path(restored), "full")
        if verdict != "ok":
            return "failed", f"the restored copy fails PRAGMA integrity_check: {verdict}"
        return "ok", None
    except IntegrityCheckFailed as exc:
        return "failed", str(exc)
    except CommandTimeout as exc:
        return "inconclusive", str(exc)
    except CommandFailed as exc:
        reason = classify(str(exc))
        return ("inconclusive" if reason in _INCONCLUSIVE else "failed"), f"{reason}: {exc}"
    except OSError as exc:
        return "inconclusive", f"the restore could not be written here: {exc.strerror or exc}"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _one(binary: Binary, target: Target, max_age: float | None, restore: bool,
         timeout: float | None, work: Path) -> Record:  # fmt: skip
    record: Record = dict.fromkeys(RECORD_KEYS)
    record.update(database=target.name, replica=target.replica, line=target.line)
    problems: list[tuple[str, str]] = []

    def fail(status: str, why: str) -> Record:
        problems.append((status, why))
        record.update(ok=False, status=problems[0][0],
                      reason="; ".join(f"{target.name}: {w}" for _, w in problems))  # fmt: skip
        return record

    if target.line != binary.line:
        return fail(
            "other_line",
            f"written by Litestream {target.line}; this litestream is {binary.version} "
            f"(point LITESTREAM_INSTALL_DIR at a {target.line} binary)",
        )
    problem = endpoint_problem(target.endpoint) if target.endpoint else None
    if problem:
        return fail("unreachable", f"{_STORAGE_WORDS['unreachable']}: {problem}")
    try:
        found = restore_points(target, timeout)
    except CommandFailed as exc:
        reason = "timeout" if isinstance(exc, CommandTimeout) else classify(str(exc))
        words = _STORAGE_WORDS.get(reason, "litestream cannot list the replica")
        return fail(reason if reason in _STORAGE_WORDS else "unreadable", f"{words}: {exc}")
    if found is None:
        return fail("empty", "the replica holds no restore point")
    newest, newest_at, oldest_at = found
    age = max(time.time() - _moment(newest_at).timestamp(), 0.0)
    record.update(
        newest_restore_point=newest,
        newest_at=newest_at,
        age_seconds=round(age, 3),
        oldest_at=oldest_at,
        span_seconds=round((_moment(newest_at) - _moment(oldest_at)).total_seconds(), 3),
    )
    if max_age is not None and age > max_age:
        fail("stale", f"stale: the newest restore point is {age:.0f} s old (max {max_age:g} s)")
    if restore:
        outcome, why = drill(target, work, timeout)
        record.update(drill=outcome, drill_reason=why)
        if outcome != "ok":
            fail(f"drill_{outcome}", f"restore drill {outcome}: {why}")
    if not problems:
        record.update(ok=True, status="ok")
    return record


# --- the API -----------------------------------------------------------------------------------


@contextmanager
def _workdir() -> Iterator[Path]:
    """A private directory for the audit's config and drills, removed afterwards."""
    work = Path(tempfile.mkdtemp(prefix="pylitestream-audit-"))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def audit(
    url: str | None = None,
    *,
    config: PathLike | None = None,
    endpoint: str | None = None,
    region: str | None = None,
    max_age: float | str | None = None,
    restore: bool = False,
    timeout: float | None = None,
    validate: bool = True,
) -> list[Record]:
    """Audit backups from replica access alone: the databases of `config` (default: searched),
    or those found under `url` (s3://bucket/prefix, file:///path; credentials from the
    environment as litestream reads them). One record per database (RECORD_KEYS); `ok` is false
    with a `reason` when its replica cannot be listed or is empty, its newest restore point is
    older than `max_age` (seconds, or "15m", "2h", "1d"), or with restore=True its restore drill
    fails. Raises StorageError when nothing under `url` can be audited, UsageError for a bad
    request. Never writes to a replica."""
    seconds = None if max_age is None else parse_duration(max_age)
    if url is not None and config is not None:
        raise UsageError("pass either a replica URL or --config, not both")
    if url is None and (endpoint or region):
        raise UsageError("--endpoint and --region go with a replica URL; a config names its own")
    binary = find_binary()
    litestream_env(binary)  # 0.5 and AWS_CA_BUNDLE: noted once, before the threads start
    with _workdir() as work:
        if url is None:
            targets = _config_targets(binary, config, validate)
        else:
            storage = parse_url(url, endpoint, region)
            listing_timeout = default_timeout() if timeout is None else timeout
            targets = _url_targets(binary, storage, listing_timeout, work)

        def one(target: Target) -> Record:
            return _one(binary, target, seconds, restore, timeout, work)

        with ThreadPoolExecutor(max_workers=min(WORKERS, len(targets))) as pool:
            return list(pool.map(one, targets))


def summary(records: list[Record]) -> str:
    """One line: every failing database with its reason, or how many passed."""
    failing = [r for r in records if not r["ok"]]
    if not failing:
        return f"{len(records)} database(s) audited, all sound"
    return f"{len(failing)} of {len(records)} database(s) failing: " + "; ".join(
        str(r["reason"]) for r in failing
    )
