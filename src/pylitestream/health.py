"""`check`: are the backups current? One record per database, from what the Litestream line can
tell, without writing to the database (that is `verify`'s job).

How each number is found (docs/check.md documents the same):

- 0.5, through the control socket: `/info` and `/list` (daemon up? database stopped? last
  successful sync), then per database one `/sync` without wait, which moves the WAL into local
  LTX and answers with the local TXID and the replica's TXID. It uploads nothing, so a check
  never hides a stall by repairing it. A `/sync` that does not answer within the timeout means
  the daemon cannot reach the replica (0.5 retries an unreachable replica for two minutes).
- 0.3, which has no socket: the daemon is found through pylitestream's state file (or
  /proc), and `litestream generations` per database gives the replica's last write and
  whether the database changed after it (its `lag`). TXIDs are unknown there: null.
- Lag, how long committed data has waited for the replica, is 0 when the replica has
  everything. Otherwise it is the longest of: the time since the replica was first seen behind
  at this same position (an observation kept in the user state dir between checks) and, on
  0.5, the time since the daemon's last successful sync (everything committed before that sync
  reached the replica). On 0.3, where the replica has no sync time of its own, the second term
  is the time since the database last changed, so a stall shows from the second check on.
- A stall is the local position advancing since the previous check while the replica's stays
  where it was, beyond --max-lag.
- When the daemon is down or frozen (0.5), the lag is measured from the last sync an earlier
  check saw, once the WAL holds commits litestream has not read (litestream/wal_position.py):
  it keeps climbing until the daemon is back.
- Every check is added to the history (history_store.py); failing to keep it is only a warning.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import cache
from .errors import DaemonError, DaemonNotRunning, SocketTimeout
from .litestream.control_socket import ControlSocket, parse_time, txid_number
from .litestream.failures import classify, endpoint_of, timeout_reason

Record = dict[str, Any]
PathLike = str | os.PathLike[str]

DEFAULT_MAX_LAG = 60.0
DEFAULT_TIMEOUT = 5.0
"""Seconds per request to the daemon (and per `generations` on 0.3): a probe must answer fast."""
RECORD_KEYS = ("database", "ok", "status", "reason", "local_txid", "replica_txid", "lag_seconds",
               "seconds_since_sync", "last_sync_at", "replica_reachable")  # fmt: skip
TABLE_KEYS = ("database", "status", "lag_seconds", "seconds_since_sync", "local_txid",
              "replica_txid", "replica_reachable")  # fmt: skip


def _record(db: str, **values: Any) -> Record:
    record: Record = dict.fromkeys(RECORD_KEYS)
    record.update(database=db, **values)
    return record


def _age(moment: dt.datetime | None, now: float) -> float | None:
    return None if moment is None else round(max(now - moment.timestamp(), 0.0), 3)


# --- observations kept between checks -----------------------------------------------------------


def _observations_path(config: Path) -> Path:
    return cache.state_path("check", str(config.resolve()))


def _store_observations(path: Path, data: dict[str, Any]) -> None:
    # Without a memory, stalls show from the time since the last sync alone.
    with contextlib.suppress(OSError):
        cache.write_json(path, data)


def _judge(record: Record, seen: dict[str, Any], now: float, max_lag: float, local: Any,
           replica: Any, behind: bool | None, floor: float | None) -> None:  # fmt: skip
    """Fill in lag, status and reason from this look and the previous one (`seen`, updated)."""
    db = record["database"]
    previous = seen.get(db) if isinstance(seen.get(db), dict) else None
    since = None
    if behind and previous and previous.get("replica") == replica:
        since = previous.get("behind_since")
    if behind:
        since = since if isinstance(since, (int, float)) else now
        waits = [now - since, *([floor] if floor is not None else [])]
        record["lag_seconds"] = round(max(waits), 3)
    elif behind is False:
        record["lag_seconds"] = 0.0
    seen[db] = {
        "local": local,
        "replica": replica,
        "behind_since": since,
        "observed_at": now,
        "last_sync_at": record["last_sync_at"],
    }
    if record["status"] is not None:
        return  # already decided: stopped, unreachable, ...
    lag = record["lag_seconds"]
    if lag is None or lag <= max_lag:
        record.update(status="ok", ok=True)
        return
    advanced = previous is not None and previous.get("local") != local
    stalled = advanced and previous is not None and previous.get("replica") == replica
    record.update(status="stalled" if stalled else "lagging", ok=False)
    record["reason"] = (
        f"{db}: stalled: the local position moved on since the last check but the replica "
        f"stayed at {replica}; committed data has waited {lag:.0f} s (max {max_lag:g} s)"
        if stalled
        else f"{db}: lagging: committed data has waited {lag:.0f} s for the replica "
        f"(max {max_lag:g} s)"
    )


# --- 0.5: the control socket --------------------------------------------------------------------


CONCURRENCY = 4
"""Requests in flight to the daemon at once (0.5): a thousand databases must not become a
thousand threads and a thousand simultaneous syncs."""
CONCURRENCY_03 = 4
"""`litestream generations` processes at once (0.3)."""


def _bounded(one: Callable[[str], Record], dbs: list[str], workers: int) -> Iterator[Record]:
    """`one` of each of `dbs`, in order, with at most `workers` running; records are yielded
    as they are ready, and at most twice `workers` wait unread (so memory stays flat)."""
    if not dbs:
        return
    with ThreadPoolExecutor(max_workers=min(workers, len(dbs))) as pool:
        pending: deque[Future[Record]] = deque()
        for db in dbs:
            pending.append(pool.submit(one, db))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _check_through_socket(config: Path, plain: list[str], tenants: list[str], max_lag: float,
                          timeout: float, seen: dict[str, Any], endpoints: dict[str, str | None],
                          named: bool) -> Iterator[Record]:  # fmt: skip
    """The `path:` entries, then whatever else the daemon replicates: the tenants of `dir:`
    entries it found, was told about by `watch`, or got through `register` (its /list is the
    truth about those; a tenant it dropped or never took is not shown)."""
    from .config.load import load_config
    from .config.tenants import tenants as on_disk
    from .services.daemon import connect

    client = connect("sync", config, timeout)
    try:
        info = client.info()
        listing = {row["database"]: row for row in client.databases()}
    except (DaemonNotRunning, SocketTimeout) as exc:
        if not named:
            tenants = [str(db) for db, _ in on_disk(load_config(config))]
        entries = _entries(config)
        yield from _all_down(exc, [(db, entries.get(db)) for db in plain + tenants], seen)
        return
    started = parse_time(info.get("started_at"))
    known = set(plain)
    dbs = plain + tenants if named else plain + [db for db in listing if db not in known]

    def one(db: str) -> Record:
        return _one_05(client, db, listing.get(db), started, max_lag, seen, endpoints.get(db))

    yield from _bounded(one, dbs, CONCURRENCY)


def _all_down(exc: DaemonNotRunning | SocketTimeout, found: Sequence[tuple[str, Record | None]],
              seen: dict[str, Any]) -> Iterator[Record]:  # fmt: skip
    """Every database of `found` ((path, its `dbs:` entry)) when the daemon cannot be asked:
    not running, or not answering (frozen)."""
    status = "not_running" if isinstance(exc, DaemonNotRunning) else "not_responding"
    for db, entry in found:
        yield _down(db, status, f"{db}: {exc}", seen, entry)


def _down(db: str, status: str, reason: str, seen: dict[str, Any] | None = None,
          entry: dict[str, Any] | None = None) -> Record:  # fmt: skip
    """A database whose daemon is down or frozen (0.5). Nothing reaches the replica then, so
    when an earlier check saw a sync reach it and the WAL now holds commits litestream has not
    read (or the replica was already behind), committed data has waited since that sync: the
    lag keeps climbing while the daemon is gone. The observations are left as they were, so
    each check measures from the same sync."""
    from .litestream.wal_position import has_unread_commits

    record = _record(db, ok=False, status=status, reason=reason)
    previous = (seen or {}).get(db)
    if not isinstance(previous, dict):
        return record
    now = time.time()
    last_sync = parse_time(previous.get("last_sync_at"))
    record.update(
        last_sync_at=previous.get("last_sync_at"), seconds_since_sync=_age(last_sync, now)
    )
    since = previous.get("behind_since")
    waits = [now - since] if isinstance(since, (int, float)) else []
    if last_sync is not None and entry is not None and has_unread_commits(Path(db), entry):
        waits.append(now - last_sync.timestamp())
    if waits:
        record["lag_seconds"] = round(max(waits), 3)
    elif last_sync is not None:
        record["lag_seconds"] = 0.0  # nothing written since the replica last had everything
    return record


def _one_05(client: ControlSocket, db: str, listed: Record | None, started: dt.datetime | None,
            max_lag: float, seen: dict[str, Any], endpoint: str | None,
            kept: Record | None = None) -> Record:  # fmt: skip
    """One database's record: from a /sync now, or, given `kept` (an earlier /sync's answer,
    {"txid", "replica_txid"}), from that and this /list alone."""
    now = time.time()
    if listed is None:
        return _down(
            db,
            "not_replicated",
            f"{db}: the running litestream does not replicate it "
            "(restart replicate after changing the config, or 'pylitestream register')",
        )
    last_sync = parse_time(listed.get("last_sync_at"))
    record = _record(
        db, last_sync_at=listed.get("last_sync_at"), seconds_since_sync=_age(last_sync, now)
    )
    if listed.get("status") == "stopped":
        record.update(
            ok=False,
            status="stopped",
            reason=f"{db}: stopped in the daemon ('pylitestream start -d {db}')",
        )
        return record
    floor = _age(last_sync or started, now)
    try:
        synced = kept if kept is not None else client.sync(db)
    except (SocketTimeout, DaemonError) as exc:
        # /info and /list answered, so the daemon runs: its sync waits on the replica (0.5
        # retries an unreachable one for about two minutes before it says so).
        said = None if isinstance(exc, SocketTimeout) else str(exc)
        status, reason = replica_failure(db, said, endpoint, client.timeout)
        record.update(
            ok=False, status=status, replica_reachable=False, lag_seconds=floor, reason=reason
        )
        try:
            record["local_txid"] = client.txid(db)["txid"]
        except (SocketTimeout, DaemonError):
            pass
        return record
    local, replica = synced["txid"], synced["replica_txid"]
    record.update(local_txid=local, replica_txid=replica)
    local_n, replica_n = txid_number(local), txid_number(replica)
    behind = None if local_n is None else (replica_n or 0) < local_n
    since_sync = record["seconds_since_sync"]
    # litestream syncs every sync-interval, idle or not, but only a sync that reached the
    # replica moves last_sync_at: data waiting while it stands still means the replica does
    # not take it. An idle database with an old last_sync_at (a long interval) says nothing.
    if since_sync is not None and since_sync <= max_lag:
        record["replica_reachable"] = True
    elif behind and since_sync is not None:
        record["replica_reachable"] = False
    _judge(record, seen, now, max_lag, local, replica, behind, floor)
    if record["replica_reachable"] is False:
        record["reason"] = (
            f"{record['reason']}; no sync has reached the replica for {since_sync:.0f} s "
            "(is it reachable? see litestream's log)"
        )
    return record


class FleetHealth:
    """check's records for a dashboard of many databases (0.5), at a bounded cost to the
    daemon per refresh whatever their number: one /info, one /list, and at most `probes`
    /sync requests (each may add one /txid when the replica fails). Every other database is
    judged from /list (its last successful sync; litestream syncs an idle database too, so a
    last sync that stands still means the replica does not take it) and its latest probe. A
    database whose last sync is older than max_lag and that no probe has cleared within
    max_lag is `unconfirmed`, never `ok`: in an outage of a thousand databases each one shows
    it until a probe says more. The probes go first to databases that failed or whose last
    sync is older than half of max_lag (the least recently probed first, so that all of them
    are reached in turn), then to those never probed, then to the longest unprobed. A
    database not probed yet shows null TXIDs. The observations between refreshes are kept in
    memory (a `check` run keeps its own)."""

    def __init__(self, config: PathLike, *, probes: int = 8, max_lag: float = DEFAULT_MAX_LAG,
                 timeout: float = DEFAULT_TIMEOUT) -> None:  # fmt: skip
        self.config = config
        self.probes = probes
        self.max_lag = max_lag
        self.timeout = timeout
        self._seen: dict[str, Any] = {}
        self._kept: dict[str, Record] = {}
        self._probed_at: dict[str, float] = {}
        self._failed: set[str] = set()

    def refresh(self) -> list[Record]:
        """One look at the daemon: every database's record (as check's)."""
        from .config.load import database_entries, load_config
        from .litestream.binary import find_binary
        from .services.daemon import connect
        from .services.prepare import checked_config

        path = Path(checked_config(find_binary(), self.config)).absolute()
        settings = load_config(path)
        entries = database_entries(settings, path, tenants=False)
        endpoints = _Endpoints(settings, entries)
        client = connect("sync", path, self.timeout)
        try:
            info = client.info()
            listing = {row["database"]: row for row in client.databases()}
        except (DaemonNotRunning, SocketTimeout) as exc:
            found = [(str(db), entry) for db, entry in database_entries(settings, path)]
            return list(_all_down(exc, found, self._seen))
        started = parse_time(info.get("started_at"))
        plain, _tenants = _split(settings, entries)
        dbs = list(dict.fromkeys([*plain, *listing]))
        chosen = set(self._choose(dbs, listing))
        for gone in set(self._kept) - set(listing):
            self._kept.pop(gone, None)

        def one(db: str) -> Record:
            kept = None if db in chosen else self._kept.get(db, _UNPROBED)
            record = _one_05(client, db, listing.get(db), started, self.max_lag, self._seen,
                             endpoints.get(db), kept)  # fmt: skip
            if db not in chosen:
                probed = time.monotonic() - self._probed_at.get(db, float("-inf"))
                _unconfirmed_unless_cleared(record, probed, self.max_lag)
            else:
                self._probed_at[db] = time.monotonic()
                if record["local_txid"] is not None and record["replica_reachable"] is not False:
                    self._kept[db] = {"txid": record["local_txid"],
                                      "replica_txid": record["replica_txid"]}  # fmt: skip
                (self._failed.add if not record["ok"] else self._failed.discard)(db)
            return record

        return list(_bounded(one, dbs, CONCURRENCY))

    def _choose(self, dbs: list[str], listing: dict[str, Record]) -> list[str]:
        """The databases to probe now: those that failed or whose last sync is past half of
        max_lag (a stalled one stops syncing), the least recently probed first; then those
        never probed; then the longest unprobed."""
        now = time.time()

        def urgency(db: str) -> tuple[int, float]:
            listed = listing.get(db)
            if listed is None or listed.get("status") == "stopped":
                return (3, 0.0)  # nothing a probe could add
            since = _age(parse_time(listed.get("last_sync_at")), now)
            waited = float("inf") if since is None else since
            if db in self._failed or waited > self.max_lag / 2:
                return (0, self._probed_at.get(db, float("-inf")))
            return (1 if db not in self._probed_at else 2, self._probed_at.get(db, 0.0))

        ready = [db for db in dbs if urgency(db)[0] < 3]
        return sorted(ready, key=urgency)[: self.probes]


_UNPROBED: Record = {"txid": None, "replica_txid": None}


def _unconfirmed_unless_cleared(record: Record, probed_ago: float, max_lag: float) -> None:
    """A database judged without a probe: its last sync older than max_lag and no probe within
    max_lag that found the replica holding everything (an idle database) leaves it unknown,
    which is not `ok`."""
    since_sync = record["seconds_since_sync"]
    if not record["ok"] or since_sync is None or since_sync <= max_lag or probed_ago <= max_lag:
        return
    record.update(
        ok=False,
        status="unconfirmed",
        lag_seconds=None,
        reason=f"{record['database']}: no sync has reached the replica for {since_sync:.0f} s "
        f"(max {max_lag:g} s) and no probe has looked since; one will soon",
    )


# --- 0.3: state file, generations ---------------------------------------------------------------


def _daemon_running_03(config: Path) -> bool:
    """Whether a litestream replicate for `config` runs: pylitestream's state file first, then
    (Linux) any process whose argv names the config."""
    from .supervise import is_litestream, read_state, state_path

    record = read_state(state_path(config))
    if record is not None and is_litestream(record.get("pid"), config):
        return True
    if not sys.platform.startswith("linux"):
        return False
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and is_litestream(int(entry.name), config):
            return True
    return False


def _changed_at(db: Path) -> float | None:
    """When the database last changed: the newest mtime of the file and its -wal."""
    times = []
    for path in (db, Path(f"{db}-wal")):
        try:
            times.append(path.stat().st_mtime)
        except OSError:
            pass
    return max(times) if times else None


def _one_03(config: Path, db: str, running: bool, max_lag: float, timeout: float,
            seen: dict[str, Any], endpoint: str | None) -> Record:  # fmt: skip
    from .errors import CommandFailed, CommandTimeout
    from .services.listings import generations

    now = time.time()
    record = _record(db)
    if not running:
        record.update(
            ok=False, status="not_running", reason=f"{db}: litestream is not running for {config}"
        )
    try:
        rows = generations(db, config=config, timeout=timeout, validate=False)
    except CommandFailed as exc:
        said = None if isinstance(exc, CommandTimeout) else str(exc)
        status, reason = replica_failure(db, said, endpoint, timeout)
        record.update(ok=False, status=record["status"] or status, replica_reachable=False)
        if record["reason"]:  # not running, and the replica fails too: say both
            reason = f"{record['reason']}; {reason.removeprefix(f'{db}: ')}"
        record["reason"] = reason
        return record
    record["replica_reachable"] = True
    if not rows:
        behind, replica = True, None
    else:
        latest = max(rows, key=lambda row: str(row["end"]))
        replica = f"{latest['generation']}/{latest['end']}"
        behind = int(latest["lag_ms"]) > 0
        end = parse_time(str(latest["end"]))
        record["last_sync_at"] = latest["end"]
        record["seconds_since_sync"] = _age(end, now)
    changed = _changed_at(Path(db))
    floor = None if changed is None else now - changed
    _judge(record, seen, now, max_lag, changed, replica, behind, floor)
    return record


def _check_through_listings(config: Path, plain: list[str], tenants: list[str],
                            max_lag: float, timeout: float, seen: dict[str, Any],
                            endpoints: dict[str, str | None],
                            named: bool) -> Iterator[Record]:  # fmt: skip
    running = _daemon_running_03(config)

    def one(db: str) -> Record:
        return _one_03(config, db, running, max_lag, timeout, seen, endpoints.get(db))

    yield from _bounded(one, plain + tenants, CONCURRENCY_03)


# --- the API ------------------------------------------------------------------------------------


def check(
    db: PathLike | None = None,
    *,
    config: PathLike | None = None,
    max_lag: float = DEFAULT_MAX_LAG,
    timeout: float | None = None,
) -> list[Record]:
    """How current each database's backup is: one record per database (RECORD_KEYS), `ok`
    false with a one-line `reason` naming the database when it lags more than `max_lag`
    seconds, is stalled or stopped, its replica is unreachable, or the daemon is not running.
    Never raises for an unhealthy database; raises UsageError for a bad request."""
    return list(iter_check(db, config=config, max_lag=max_lag, timeout=timeout))


def iter_check(
    db: PathLike | None = None,
    *,
    config: PathLike | None = None,
    max_lag: float = DEFAULT_MAX_LAG,
    timeout: float | None = None,
) -> Iterator[Record]:
    """check's records one at a time, as they are ready (in the order check lists them), so
    a check of thousands of databases never holds them all. The bad requests check refuses
    are refused before the first record."""
    from .config.load import database_entries, load_config
    from .config.tenants import dir_entries
    from .errors import UsageError
    from .litestream.binary import find_binary
    from .services.daemon import database_path
    from .services.prepare import checked_config

    if not max_lag > 0:
        raise UsageError(f"--max-lag must be a positive number of seconds, not {max_lag:g}")
    seconds = DEFAULT_TIMEOUT if timeout is None else float(timeout)
    if not seconds > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, not {seconds:g}")
    binary = find_binary()
    path = Path(checked_config(binary, config)).absolute()
    settings = load_config(path)
    # With the daemon up its /list names the tenants: the disk is read only without it.
    entries = database_entries(settings, path, tenants=not binary.profile.control_socket)
    endpoints = _Endpoints(settings, entries)
    plain, tenants = _split(settings, entries)
    if db is not None:
        from .config.load import database_entry

        name = database_path(db)
        entry = database_entry(settings, Path(name))
        if entry is None:
            raise UsageError(f"{name} is not in {path} (see 'pylitestream databases')")
        plain, tenants = ([name], []) if name in plain else ([], [name])
    if not plain and not tenants and not dir_entries(settings):
        raise UsageError(f"{path} lists no databases: there is nothing to check")
    memory = _observations_path(path)
    seen = cache.read_json(memory) or {}
    through = _check_through_socket if binary.profile.control_socket else _check_through_listings
    return _remembering(
        through(path, plain, tenants, max_lag, seconds, seen, endpoints, db is not None),
        memory,
        seen,
    )


class _Endpoints(dict[str, str | None]):
    """Each database's S3-compatible endpoint (None for AWS or another replica type): a
    tenant's is its `dir:` entry's, found when asked for."""

    def __init__(self, settings: dict[str, Any], entries: list[tuple[Path, Record]]) -> None:
        super().__init__((str(p), endpoint_of(entry)) for p, entry in entries)
        self.settings = settings

    def get(self, db: str, default: str | None = None) -> str | None:  # type: ignore[override]
        from .config.tenants import owner

        if db not in self:
            entry = owner(self.settings, Path(db))
            self[db] = None if entry is None else endpoint_of(entry)
        return self[db]


def _split(
    settings: dict[str, Any], entries: list[tuple[Path, Record]]
) -> tuple[list[str], list[str]]:
    """The databases of `entries` (database_entries) in `path:` entries, and the tenants of
    `dir:` entries: database_entries gives a `path:` entry as it is, a tenant's as a new dict."""
    listed = {id(e) for e in settings.get("dbs") or []}
    plain = [str(p) for p, entry in entries if id(entry) in listed]
    return plain, [str(p) for p, entry in entries if id(entry) not in listed]


def _remembering(records: Iterator[Record], memory: Path, seen: dict[str, Any]) -> Iterator[Record]:
    """`records`, then the observations kept for the next check and the history of this one
    (also when the reader stops)."""
    from . import history_store as history

    done: list[tuple[Any, ...]] = []
    try:
        for record in records:
            done.append(history.check_row(record))
            yield record
    finally:
        _store_observations(memory, seen)
        history.record_check_rows(done)


def _entries(config: Path) -> dict[str, dict[str, Any]]:
    """Each database's `dbs:` entry, by path."""
    from .config.load import database_entries, load_config

    return {str(db): entry for db, entry in database_entries(load_config(config), config)}


REPLICA_FAILURES = {
    "auth": "the replica refused the credentials",
    "not_found": "the replica's bucket does not exist",
    "timeout": "the replica did not answer in time",
    "unreachable": "the replica is unreachable",
}


def replica_failure(db: str, said: str | None, endpoint: str | None,
                    timeout: float) -> tuple[str, str]:  # fmt: skip
    """(status, reason) when litestream could not reach the replica: what it `said`, or None
    when it did not finish within `timeout` s. One classification with verify's
    (litestream.failures)."""
    if said is None:
        status, why = timeout_reason(endpoint)
        said = f"litestream did not finish within {timeout:g} s" + (f" ({why})" if why else "")
    else:
        status = classify(said)
        status = status if status in REPLICA_FAILURES else "unreachable"
    return status, f"{db}: {REPLICA_FAILURES[status]}: {said}"


def summary(records: list[Record], *, total: int | None = None) -> str:
    """One line: every failing database with its reason, or how many are current. `total`
    counts the databases when `records` holds only the failing ones."""
    failing = [r for r in records if not r["ok"]]
    count = len(records) if total is None else total
    if not failing:
        return f"{count} database(s) replicated within the lag limit"
    return f"{len(failing)} of {count} database(s) failing: " + "; ".join(
        str(r["reason"]) for r in failing
    )
