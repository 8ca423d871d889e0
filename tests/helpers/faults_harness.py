"""Fault injection against real processes, shared by tests/faults and bench/bench_faults.py (no
pytest here): a loopback TCP fault proxy for S3, the supervisors pylitestream offers started as
real processes, a writer that logs every committed row, and row counting after a restore."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import stop_process, wait_for, write_config

# --- a TCP proxy that can reset or stall connections ----------------------------------------


class FaultProxy:
    """Forwards 127.0.0.1:port to `upstream` (host, port). mode "pass" forwards; "reset" closes
    every connection, new and open, with RST; "stall" accepts and forwards nothing."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode: str) -> None:
        assert mode in ("pass", "reset", "stall")
        self.mode = mode
        if mode == "reset":
            with self._lock:
                conns, self._conns = self._conns, []
            for conn in conns:
                _reset(conn)

    def close(self) -> None:
        self._closed = True
        self._server.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            _reset(conn)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.mode == "reset":
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._conns += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self.mode == "stall" and not self._closed:
                    time.sleep(0.05)
                if self.mode == "reset" or self._closed:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            _reset(sock) if self.mode == "reset" else _close(sock)


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


# --- configs ------------------------------------------------------------------------------------


def replica_block(
    kind: str, root: Path, s3: dict[str, Any] | None, interval: str
) -> dict[str, Any]:
    if kind == "file":
        return {"type": "file", "path": str(root / "replica"), "sync-interval": interval}
    assert s3 is not None
    return {**s3, "sync-interval": interval}


def fault_config(
    line: str, root: Path, db: Path, replica: dict[str, Any], monitor: str | None = None
) -> Path:
    path = write_config(root / "litestream.yml", line, [(db, replica)])
    if monitor:
        import yaml

        data = yaml.safe_load(path.read_text())
        data["dbs"][0]["monitor-interval"] = monitor
        path.write_text(yaml.safe_dump(data))
    return path


# --- supervisors as real processes ----------------------------------------------------------------

# An app for `run`: it sleeps until SIGTERM and then exits 0; the test writes the rows itself.
SLEEPER = "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n" \
    "time.sleep(3600)\n"  # fmt: skip

REPLICATOR_SCRIPT = textwrap.dedent(
    """
    import signal, sys, time
    import pylitestream
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    restart = sys.argv[2:] == ["restart"]
    with pylitestream.Replicator(config=sys.argv[1],
                                 on_litestream_exit="restart" if restart else "stop"):
        print("ready", flush=True)
        time.sleep(3600)
    """
)

SUPERVISORS = ("replicate", "run", "Replicator")


def start_supervisor(
    kind: str,
    config: Path,
    log: Path,
    env: dict[str, str] | None = None,
    extra: tuple[str, ...] = (),
) -> subprocess.Popen[bytes]:
    """Start `pylitestream replicate`, `pylitestream run -- SLEEPER` or a script holding a
    Replicator, logging to `log`. The caller stops it by pid (stop_process)."""
    python = sys.executable
    if kind == "replicate":
        argv = [python, "-m", "pylitestream", "replicate", "-c", str(config)]
    elif kind == "run":
        argv = [python, "-m", "pylitestream", "run", "-c", str(config), *extra, "--", python,
                "-c", SLEEPER]  # fmt: skip
    else:
        argv = [python, "-c", REPLICATOR_SCRIPT, str(config), *extra]
    with log.open("ab") as out:
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )


def litestream_pids(config: Path) -> list[int]:
    """Every live `litestream replicate` process for `config`, found in /proc (not in our state
    files, so a daemon pylitestream lost track of is counted too)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state == "Z" or not argv or Path(argv[0].decode(errors="replace")).name != "litestream":
            continue
        if b"replicate" in argv and str(config).encode() in argv:
            found.append(int(entry.name))
    return found


def wait_daemon(config: Path, timeout: float = 30) -> int:
    """The pid of the one litestream for `config`, once it has opened its database."""
    pids: list[int] = wait_for(lambda: litestream_pids(config), timeout)
    return pids[0]


def kill_all(config: Path) -> list[int]:
    """SIGKILL every litestream for `config`; return the pids that were found (orphans)."""
    pids = litestream_pids(config)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return pids


# --- rows -----------------------------------------------------------------------------------------


@dataclass
class Writer:
    """Commits numbered rows to `db` and remembers when each was committed."""

    db: Path
    committed: dict[int, float] = field(default_factory=dict)
    _next: int = 0

    def create(self) -> None:
        with sqlite3.connect(self.db) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)")
        conn.close()

    def commit(self, count: int = 1) -> list[int]:
        conn = sqlite3.connect(self.db, timeout=10)
        ids = []
        try:
            for _ in range(count):
                with conn:
                    conn.execute("INSERT INTO items (name) VALUES (?)", (f"row-{self._next}",))
                self.committed[self._next] = time.monotonic()
                ids.append(self._next)
                self._next += 1
        finally:
            conn.close()
        return ids

    def checkpoint(self) -> None:
        conn = sqlite3.connect(self.db, timeout=10)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()


def restored_ids(db: Path, config: Path, out: Path) -> tuple[set[int], str]:
    """The row numbers in a fresh restore of `db`, and its integrity_check verdict."""
    import pylitestream

    for leftover in (out, Path(f"{out}-wal"), Path(f"{out}-shm")):
        leftover.unlink(missing_ok=True)
    if pylitestream.restore(db, out, config=config, if_replica_exists=True) is None:
        return set(), "ok"
    conn = sqlite3.connect(out)
    try:
        verdict = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        names = [r[0] for r in conn.execute("SELECT name FROM items")]
    finally:
        conn.close()
    return {int(n.split("-")[1]) for n in names}, verdict


def stop(proc: subprocess.Popen[bytes]) -> None:
    stop_process(proc, 40)


# --- one fault cycle ----------------------------------------------------------------------------

SYNC_INTERVAL = 1.0
"""Seconds; the replica's sync-interval in every cycle. Rows committed within this long before
a crash of litestream may be lost by Litestream's design; anything older may not."""

FAULTS = (
    "sigterm",
    "sigkill-litestream",
    "sigkill-supervisor",
    "sigkill-app",
    "s3-reset",
    "s3-stall",
)


@dataclass
class Outcome:
    line: str
    replica: str
    fault: str
    supervisor: str
    committed: int = 0
    lost: int = 0
    lost_old: int = 0
    """Lost rows committed more than SYNC_INTERVAL before the fault (a broken guarantee)."""
    loss_window: float = 0.0
    """The oldest lost row's age at the fault, in seconds (0 when nothing was lost)."""
    gap: int = 0
    """Lost rows committed after the fault: after a restart or during an outage."""
    orphans: int = 0
    integrity: str = "ok"


class Background:
    """Commits a row every `pause` seconds (20 ms by default) on a thread until stopped, padded
    to `pad` bytes: rows of half a page make every lost commit a missing row, where small rows
    share pages and a later write of the same page would bring a lost one back."""

    def __init__(self, writer: Writer, pause: float = 0.02, pad: int = 0) -> None:
        self.writer = writer
        self.pause = pause
        self.pad = "-" + "x" * pad if pad else ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        conn = sqlite3.connect(self.writer.db, timeout=10)
        try:
            while not self._stop.is_set():
                with conn:
                    conn.execute(
                        "INSERT INTO items (name) VALUES (?)",
                        (f"row-{self.writer._next}{self.pad}",),
                    )
                self.writer.committed[self.writer._next] = time.monotonic()
                self.writer._next += 1
                time.sleep(self.pause)
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _app_pid(supervisor: int) -> int | None:
    """`run`'s app: the child of the supervisor that is not litestream."""
    try:
        tasks = Path(f"/proc/{supervisor}/task").iterdir()
        children = {int(c) for t in tasks for c in (t / "children").read_text().split()}
    except OSError:
        return None
    for pid in children:
        try:
            argv0 = (Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") or [b""])[0]
        except OSError:
            continue
        if Path(argv0.decode(errors="replace")).name != "litestream":
            return pid
    return None


def run_cycle(
    line: str,
    replica_kind: str,
    fault: str,
    supervisor: str,
    root: Path,
    s3: dict[str, Any] | None = None,
    proxy: FaultProxy | None = None,
) -> Outcome:
    """Start `supervisor`, write rows continuously, inject `fault`, recover (restart what died,
    end the outage), stop gracefully, restore and count. The caller points LITESTREAM_INSTALL_DIR
    at the line's binary."""
    from pylitestream import supervise

    root.mkdir(parents=True)
    db = root / "app.db"
    writer = Writer(db)
    writer.create()
    replica = replica_block(replica_kind, root, s3, f"{SYNC_INTERVAL:g}s")
    config = fault_config(line, root, db, replica)
    log = root / "supervisor.log"
    outcome = Outcome(line, replica_kind, fault, supervisor)
    procs = [start_supervisor(supervisor, config, log)]
    background: Background | None = None
    fault_at = 0.0
    try:
        daemon = wait_daemon(config)
        wait_for(lambda: "initialized db" in log.read_text(), 30)
        time.sleep(supervise.FIRST_LOOK)
        background = Background(writer)
        time.sleep(1.5)
        fault_at = time.monotonic()
        if fault == "sigterm":
            background.stop()
            procs[0].send_signal(signal.SIGTERM)
            procs[0].wait(60)
        elif fault in ("sigkill-litestream", "sigkill-supervisor", "sigkill-app"):
            target = {
                "sigkill-litestream": daemon,
                "sigkill-supervisor": procs[0].pid,
                "sigkill-app": _app_pid(procs[0].pid) or 0,
            }[fault]
            assert target, f"no target for {fault}"
            os.kill(target, signal.SIGKILL)
            wait_for(lambda: litestream_pids(config) == [], 40)
            procs[0].wait(40)
            time.sleep(0.5)  # rows committed while nothing replicates
            procs.append(start_supervisor(supervisor, config, log))
            wait_daemon(config)
            time.sleep(supervise.FIRST_LOOK)
        else:
            assert proxy is not None
            proxy.set_mode("reset" if fault == "s3-reset" else "stall")
            time.sleep(2.0)
            proxy.set_mode("pass")
        if background is not None:
            time.sleep(1.0)
            background.stop()
        for proc in procs:
            stop(proc)
    finally:
        if background is not None:
            background.stop()
        for proc in procs:
            stop(proc)
        if proxy is not None:
            proxy.set_mode("pass")
    time.sleep(0.2)
    orphans = kill_all(config)
    outcome.orphans = len(orphans)
    ids, outcome.integrity = restored_ids(db, config, root / "check.db")
    outcome.committed = len(writer.committed)
    lost = {i: t for i, t in writer.committed.items() if i not in ids}
    outcome.lost = len(lost)
    before = [fault_at - t for t in lost.values() if t <= fault_at]
    outcome.lost_old = sum(age > SYNC_INTERVAL for age in before)
    outcome.loss_window = round(max(before, default=0.0), 3)
    outcome.gap = sum(t > fault_at for t in lost.values())
    return outcome


def cycle_plan(replicas: tuple[str, ...]) -> list[tuple[str, str, str]]:
    """Every (replica, fault, supervisor) that makes sense: S3 outages need S3; killing the app
    needs `run`; killing the supervisor of `replicate` is killing litestream."""
    plan = []
    for replica_kind in replicas:
        for fault in FAULTS:
            if fault.startswith("s3-") and replica_kind != "s3":
                continue
            for supervisor in SUPERVISORS:
                if fault == "sigkill-app" and supervisor != "run":
                    continue
                if fault == "sigkill-supervisor" and supervisor == "replicate":
                    continue
                plan.append((replica_kind, fault, supervisor))
    return plan


# --- SIGKILL of litestream, restarted by its own supervisor -------------------------------------


@dataclass
class RestartOutcome:
    supervisor: str
    kill_after: float
    committed: int = 0
    holes: int = 0
    """Rows missing from the latest restore while a later row is present: a state the app
    never had."""
    missing: int = 0
    """Rows the local database holds that the latest restore lacks."""
    integrity: str = "ok"
    orphans: int = 0


def restart_cycle(
    line: str, supervisor: str, root: Path, replica: dict[str, Any], kill_after: float
) -> RestartOutcome:
    """`run` or a Replicator with on-litestream-exit=restart; the app commits about 200 rows a
    second of 2 KB each, one transaction each; litestream is SIGKILLed `kill_after` seconds
    after it started and its supervisor restarts it; the app writes 3 s more, then everything
    stops gracefully.
    Replication is started once more and stopped gracefully, and the latest restore is
    counted against the local database. The caller points LITESTREAM_INSTALL_DIR at the line's
    binary."""
    assert supervisor in ("run", "Replicator")
    root.mkdir(parents=True)
    db = root / "app.db"
    writer = Writer(db)
    writer.create()
    config = fault_config(line, root, db, replica)
    log = root / "supervisor.log"
    outcome = RestartOutcome(supervisor, kill_after)
    extra = ("--on-litestream-exit", "restart") if supervisor == "run" else ("restart",)
    proc = start_supervisor(supervisor, config, log, extra=extra)
    background: Background | None = None
    try:
        daemon = wait_daemon(config)
        started = time.monotonic()
        background = Background(writer, pause=0.005, pad=2000)
        time.sleep(max(0.0, kill_after - (time.monotonic() - started)))
        os.kill(daemon, signal.SIGKILL)
        wait_for(lambda: set(litestream_pids(config)) - {daemon}, 40)
        time.sleep(3.0)
        background.stop()
        background = None
    finally:
        if background is not None:
            background.stop()
        stop(proc)
    again = start_supervisor(supervisor, config, log)
    try:
        wait_daemon(config)
        time.sleep(2.5)
    finally:
        stop(again)
    outcome.orphans = len(kill_all(config))
    ids, outcome.integrity = restored_ids(db, config, root / "check.db")
    local = local_ids(db)
    outcome.committed = len(writer.committed)
    outcome.missing = len(local - ids)
    newest = max(ids, default=-1)
    outcome.holes = sum(1 for i in local if i < newest and i not in ids)
    return outcome


def local_ids(db: Path) -> set[int]:
    conn = sqlite3.connect(db)
    try:
        return {int(name.split("-")[1]) for (name,) in conn.execute("SELECT name FROM items")}
    finally:
        conn.close()
