"""The Python API, pylitestream's front door: what the CLI and the web dashboard do, as
functions returning plain data (the --json keys).

It only imports downward (services, supervise, verification, config, litestream; scripts/test
checks this with import-linter), and every public name of the package maps here. The CLI and
the dashboard reach the library only through this module (an import-linter contract forbids
them the layers below), so the few helpers they need beside the API proper (table columns,
summary lines, the timeout and secrets of the process) are here too. The heavier parts
(supervision, verification, the daemon's commands, check) load on first use.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .about import __version__, docs
from .config import find_config, known_line, validate_config
from .config.framework import use_django_settings as use_django_settings
from .config.settings import configure as configure
from .config.settings import known_secrets as known_secrets
from .errors import VerificationFailure
from .lazy import load
from .litestream.binary import find_binary, path_note
from .litestream.profile import PROFILES
from .litestream.profile import Profile as Profile
from .litestream.records import Record
from .litestream.runner import exec_litestream, litestream_env
from .litestream.timeouts import use_timeout as use_timeout
from .masking import mask_env_value
from .services.listings import databases as databases
from .services.listings import generations as generations
from .services.listings import ltx as ltx
from .services.listings import snapshots as snapshots
from .services.listings import wal as wal
from .services.prepare import checked_config as checked_config

if TYPE_CHECKING:
    from .config.migrate import dump_yaml as dump_yaml
    from .config.migrate import migrate_config as migrate_config
    from .config.show import show_config as show_config
    from .health import FleetHealth as FleetHealth
    from .health import check as check
    from .health import iter_check as iter_check
    from .litestream.flags import check_flag_value as check_flag_value
    from .litestream.flags import parse_go_flags as parse_go_flags
    from .metrics import newest_restore_point_at as newest_restore_point_at
    from .services.audit import audit as audit
    from .services.daemon import daemon_databases as daemon_databases
    from .services.daemon import daemon_info as daemon_info
    from .services.daemon import register as register
    from .services.daemon import start as start
    from .services.daemon import stop as stop
    from .services.daemon import sync as sync
    from .services.daemon import txid as txid
    from .services.daemon import unregister as unregister
    from .services.demo import run_demo as run_demo
    from .services.restore import replicate_argv as replicate_argv
    from .services.restore import restore as restore
    from .services.restore_preview import restore_plan as restore_plan
    from .services.restore_preview import restore_plan_from_args as restore_plan_from_args
    from .supervise import OnExit as OnExit
    from .supervise import Replicator as Replicator
    from .supervise import on_exit_mode as on_exit_mode
    from .supervise import processes as processes
    from .supervise import run as run

PathLike = str | os.PathLike[str]

# Loaded on first use: restore, supervision, the daemon's commands, check and the config
# writers cost start-up time that the listing commands should not pay.
_DAEMON = ("daemon_info", "daemon_databases", "sync", "txid", "register", "unregister", "start",
           "stop")  # fmt: skip
_SOURCES = {
    **dict.fromkeys(("restore", "replicate_argv"), "pylitestream.services.restore"),
    **dict.fromkeys(("check_flag_value", "parse_go_flags"), "pylitestream.litestream.flags"),
    "show_config": "pylitestream.config.show",
    **dict.fromkeys(("migrate_config", "dump_yaml"), "pylitestream.config.migrate"),
    **dict.fromkeys(
        ("OnExit", "Replicator", "processes", "run", "on_exit_mode"), "pylitestream.supervise"
    ),
    **dict.fromkeys(_DAEMON, "pylitestream.services.daemon"),
    **dict.fromkeys(("check", "iter_check", "FleetHealth"), "pylitestream.health"),
    **dict.fromkeys(
        ("restore_plan", "restore_plan_from_args"), "pylitestream.services.restore_preview"
    ),
    "run_demo": "pylitestream.services.demo",
    "audit": "pylitestream.services.audit",
    "newest_restore_point_at": "pylitestream.metrics",
}


def __getattr__(name: str) -> Any:
    return load(__name__, name, _SOURCES)


# The columns of each command's table (--json prints every key), where the records are made.
_COLUMNS = {
    "databases": ("pylitestream.litestream.records", "DATABASE_KEYS"),
    "generations": ("pylitestream.litestream.records", "GENERATION_KEYS"),
    "snapshots": ("pylitestream.litestream.records", "SNAPSHOT_KEYS"),
    "wal": ("pylitestream.litestream.records", "WAL_KEYS"),
    "ltx": ("pylitestream.litestream.records", "LTX_KEYS"),
    "status": ("pylitestream.litestream.records", "STATUS_KEYS"),
    "list": ("pylitestream.services.daemon", "LIST_KEYS"),
    "sync": ("pylitestream.services.daemon", "SYNC_KEYS"),
    "check": ("pylitestream.health", "TABLE_KEYS"),
    "audit": ("pylitestream.services.audit", "TABLE_KEYS"),
    "verify": ("pylitestream.verification", "TABLE_KEYS"),
    "restore --dry-run": ("pylitestream.services.restore_preview", "FILE_KEYS"),
    "history": ("pylitestream.history_store", "KEYS"),
}


def columns(command: str) -> tuple[str, ...]:
    """The columns `pylitestream COMMAND` shows in its table, from the module that makes the
    records (loaded here only if the command has not loaded it already)."""
    module, name = _COLUMNS[command]
    return tuple(getattr(importlib.import_module(module), name))


def profile(line: str | None = None) -> Profile:
    """What the Litestream line `line` ("0.3" or "0.5"; default: the binary in use's) has,
    lacks and how it behaves."""
    return find_binary().profile if line is None else PROFILES[known_line(line)]


def status(
    db: PathLike | None = None,
    *,
    config: PathLike | None = None,
    timeout: float | None = None,
    validate: bool = True,
) -> list[Record]:
    """0.5 status per database: [{"database", "status", "local_txid", "wal_size"}]. litestream's
    own `status` reads only the local files and says "ok" whether or not anything replicates;
    here "status" is "not_running" when no litestream replicates the config (as `check` says)."""
    from .services.listings import status as local_status
    from .supervise.ps import daemon_status

    rows = local_status(db, config=config, timeout=timeout, validate=validate)
    if rows and not daemon_status(config=config)["running"]:
        for row in rows:
            row["status"] = "not_running"
    return rows


def check_config(
    config: str | os.PathLike[str] | None = None, *, line: str | None = None
) -> dict[str, Any]:
    """Validate the config for the binary in use (or `line`): {"config", "line", "databases"
    (`path:` entries), "directories" (`dir:` entries)}. Raise ConfigError naming file and line
    of the first problem."""
    path = find_config(config)
    if line is None:
        binary = find_binary()
        return validate_config(path, binary.line, litestream_env(binary))
    return validate_config(path, known_line(line))


def settings_sources() -> dict[str, str]:
    """{LITESTREAM_* variable: where pylitestream's own settings set it} (configure(), Django's
    settings.LITESTREAM or Flask's app.config["LITESTREAM"], [tool.pylitestream]). Raise
    UsageError when a layer cannot be read."""
    from .config.settings import settings_env

    return {var: source for var, (_value, source) in settings_env().items()}


def use_framework_settings(source: str, read: Callable[[], object | None] | None) -> None:
    """The framework's settings layer (below the environment and configure(), above
    [tool.pylitestream]) from `read()` from now on, for a framework that holds its settings in
    the process: pylitestream.flask passes the app's config["LITESTREAM"]. `source` names them
    in errors; None goes back to Django's settings.LITESTREAM."""
    from .config.framework import use_host_settings

    use_host_settings(source, read)


def framework_settings() -> dict[str, str]:
    """The framework's settings, checked (ConfigError naming a bad key, never its value) and by
    configure()'s names."""
    from .config.framework import framework_settings as checked
    from .config.settings import SETTING_VARS

    return checked(tuple(SETTING_VARS))


def config_databases(config: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """What the config replicates: {"config", "databases": [{"path", "replicated"}], "socket"}.
    "replicated" is False for a `dbs:` entry without a replica; "socket" is the control socket
    path it enables, or None."""
    from .config.load import database_entries, load_config
    from .config.socket import enabled_socket

    path = find_config(config)
    settings = load_config(path)
    entries = database_entries(settings, path)
    return {
        "config": str(path),
        "databases": [
            {"path": str(db), "replicated": bool(entry.get("replica") or entry.get("replicas"))}
            for db, entry in entries
        ],
        "socket": enabled_socket(settings),
    }


def is_replicated(db: PathLike, config: PathLike | None = None) -> bool:
    """Whether the config replicates `db`: a `path:` entry with a replica, or a `dir:` entry
    whose directory and pattern take it, whether or not the file exists yet."""
    from pathlib import Path

    from .config.load import database_entry, load_config

    entry = database_entry(load_config(find_config(config)), Path(db))
    return entry is not None and bool(entry.get("replica") or entry.get("replicas"))


def init_config(
    databases: Sequence[str | os.PathLike[str]] = (),
    *,
    replica: str | None = None,
    django: str | None = None,
    output: str | os.PathLike[str] = "litestream.yml",
    force: bool = False,
    line: str | None = None,
    directory: str | os.PathLike[str] | None = None,
    pattern: str = "*.db",
    recursive: bool = False,
    watch: bool = False,
) -> dict[str, Any]:
    """Write a litestream.yml for `databases` (else DATABASE_URL when it is sqlite:///), plus the
    SQLite databases of the Django settings module `django`. The replica defaults to S3 through
    LITESTREAM_* placeholders; `replica` takes a URL or a directory. Never overwrites unless
    force=True. Return {"config", "line", "databases", "dir", "replica", "variables"}. `line`
    (0.3 or 0.5) defaults to the line of the binary in use. `directory` (0.5) adds a `dir:`
    entry: every SQLite file in it whose name matches `pattern` (and below it with
    `recursive`; those created later too with `watch`), each replicated to the replica's path
    plus its own path under the directory."""
    from .config.init import Directory
    from .config.init import init_config as write_config

    in_use: Callable[[], str] = lambda: find_binary().line  # noqa: E731
    chosen = None if directory is None else Directory(Path(directory), pattern, recursive, watch)
    return write_config(databases, replica=replica, django=django, output=output, force=force,
                        line=line, line_in_use=in_use, directory=chosen)  # fmt: skip


def version() -> Record:
    """{"pylitestream", "litestream", "line", "path", "source", "on_path", "note", "warning"}:
    on_path is the litestream a shell runs (None if none), note says so when it is not `path`;
    warning says when running that litestream directly cannot work here."""
    binary = find_binary()
    on_path, note = path_note(binary.path)
    warning = None
    if binary.profile.ca_bundle_breaks_s3 and os.environ.get("AWS_CA_BUNDLE"):
        warning = (
            f"AWS_CA_BUNDLE is set: litestream {binary.version} run directly fails on every S3 "
            f"call; pylitestream's own commands move it aside (see {docs('install/')})"
        )
    return {
        "pylitestream": __version__,
        "litestream": binary.version,
        "line": binary.line,
        "path": str(binary.path),
        "source": binary.source,
        "on_path": on_path,
        "note": note,
        "warning": warning,
    }


def replicate(
    config: PathLike | None = None, args: Sequence[str] = (), *, validate: bool = True
) -> NoReturn:
    """Become `litestream replicate` (this process is replaced; the function never returns).
    To run it beside your own code instead, see the supervision API."""
    from .services.restore import replicate_argv
    from .supervise import claim_for_exec

    binary = find_binary()
    argv = replicate_argv(config, args, validate=validate)
    claim_for_exec(Path(argv[argv.index("-config") + 1]), binary)
    exec_litestream(binary, argv)


def check_summary(records: list[Record], *, total: int | None = None) -> str:
    """One line about check's records: the failing databases with their reasons, or how many
    are current. `total` counts the databases when `records` holds only the failing ones."""
    from .health import summary

    return summary(records, total=total)


def audit_summary(records: list[Record]) -> str:
    """One line about audit's records: the failing databases with their reasons, or how many
    passed."""
    from .services.audit import summary

    return summary(records)


def env_vars(environ: dict[str, str] | None = None) -> list[Record]:
    """The LITESTREAM_* (and AWS_*) variables in effect, secrets masked: [{"name", "value"}]."""
    source = os.environ if environ is None else environ
    names = sorted(n for n in source if n.startswith(("LITESTREAM_", "PYLITESTREAM_", "AWS_")))
    return [{"name": name, "value": mask_env_value(name, source[name])} for name in names]


# --- verify: proof that a backup restores ---------------------------------------------------------


def verify(
    db: PathLike,
    *,
    config: PathLike | None = None,
    timeout: float | None = None,
    quick: bool = False,
    validate: bool = True,
) -> Record:
    """Prove `db`'s backup is restorable, fresh and intact: write a sentinel row, wait until a
    restore shows it, integrity-check the copy. Returns {"database", "ok", "reason", "message",
    "seconds_to_visible", "restored_size", "replica", "litestream", "integrity", "method"};
    raises VerificationFailure (with .reason and .record) otherwise. Either way the outcome is
    kept as `last_verify(db)` (in the user's state dir, never in the database)."""
    from . import verification

    return verification.verify(db, config=config, timeout=timeout, quick=quick, validate=validate)


def verify_all(
    *,
    config: PathLike | None = None,
    timeout: float | None = None,
    quick: bool = False,
    validate: bool = True,
) -> list[Record]:
    """Verify every configured database concurrently: one verify record each (failures have
    ok=False and a reason instead of raising)."""
    from . import verification

    return verification.verify_all(config=config, timeout=timeout, quick=quick, validate=validate)


def verify_summary(records: list[Record]) -> str:
    """One line about verify records: the failed databases with their reasons, or how many
    passed."""
    from .verification import summary

    return summary(records)


def verify_failure(records: list[Record]) -> VerificationFailure | None:
    """What a set of verify records fails with (the summary line, the first failed database's
    reason and record), or None when every one passed."""
    from .verification import failure_of

    return failure_of(records)


def last_verify(db: PathLike) -> Record | None:
    """The latest verify outcome for `db` (the verify record plus "finished_at"), or None if it
    was never verified on this machine. Kept in the user's state dir, never in the database."""
    from . import verification

    return verification.last_verify(db)


def last_verifies(dbs: Sequence[PathLike]) -> dict[str, Record | None]:
    """last_verify for many databases at once, keyed by absolute path (the dashboard's fleet)."""
    from . import verification

    return verification.last_verifies(dbs)


def last_verifies_stamp() -> int | None:
    """A value that changes whenever a verify result is kept (the dashboard keeps its fleet's
    last_verifies until then)."""
    from . import verification

    return verification.last_verifies_stamp()


# --- the daemon, as the dashboard shows it --------------------------------------------------------


def daemon_status(*, config: PathLike | None = None, timeout: float = 5.0) -> Record:
    """The litestream replicate for `config`, found without systemctl or ps (so it works in a
    container): {"running", "pid", "version", "uptime_seconds", "started_at", "started_by",
    "state_file", "socket", "error"}. Never raises for a daemon that is down."""
    from .supervise.ps import daemon_status as status_of

    return status_of(config=config, timeout=timeout)


# --- metrics and history --------------------------------------------------------------------------


def metrics_text(overview: Record, *, openmetrics: bool = False) -> bytes:
    """The dashboard's overview (or check_overview's) as Prometheus metrics: the text format,
    or OpenMetrics. Raises MissingExtra without prometheus_client (py-litestream[metrics])."""
    from .metrics import render

    return render(overview, openmetrics=openmetrics)


def audit_metrics_text(records: list[Record], seconds: float, *, storage_ok: bool = True,
                       openmetrics: bool = True) -> bytes:  # fmt: skip
    """audit()'s records as Prometheus metrics (docs/audit.md), with how long it took (seconds);
    storage_ok=False (and no records) when it raised StorageError. Raises MissingExtra without
    prometheus_client (py-litestream[metrics])."""
    from .metrics import render_audit

    return render_audit(records, seconds, storage_ok=storage_ok, openmetrics=openmetrics)


def require_metrics() -> None:
    """Raise MissingExtra unless prometheus_client is installed (py-litestream[metrics])."""
    from .metrics import require_extra

    require_extra()


def metrics_content_type(openmetrics: bool = False) -> str:
    from .metrics import content_type

    return content_type(openmetrics)


def metrics_registry(gather: Callable[[], Record]) -> Any:
    """A prometheus_client CollectorRegistry whose every scrape calls `gather()` for an overview
    (what `pylitestream metrics --serve` serves)."""
    from .metrics import registry

    return registry(gather)


def check_overview(records: list[Record], *, config: PathLike | None = None,
                   timeout: float = 5.0) -> Record:  # fmt: skip
    """What a single `check` knows, in the shape of the dashboard's overview (for metrics): the
    records, the daemon's status and each database's latest verify. Restore points are left
    out: listing them takes one litestream process per database."""
    import time

    started = time.monotonic()
    return {
        "line": find_binary().line,
        "daemon": daemon_status(config=config, timeout=timeout),
        "databases": [
            {"database": r["database"], "health": r, "restore_points": None,
             "verify": last_verify(r["database"])}
            for r in records
        ],
        "seconds": round(time.monotonic() - started, 3),
    }  # fmt: skip


def history(db: PathLike | None = None, *, since: float | None = None) -> list[Record]:
    """What checks saw and verifies proved, oldest first: [{"at", "database", "kind" ("check" or
    "verify"), "ok", "status", "lag_seconds", "seconds_since_sync", "local_txid",
    "replica_txid"}], of `db` (else every database) for the last `since` seconds (else all
    that is kept, 14 days at most). Kept in the user state dir, never in the databases; raises
    HistoryError when that file cannot be read."""
    import time

    from . import history_store as kept
    from .services.prepare import database_arg

    name = None if db is None else database_arg(db)
    return kept.read(name, None if since is None else time.time() - since)


def record_history(records: Sequence[Record]) -> None:
    """Keep check `records` in the history (what the dashboard's own refresh saw on 0.5); a
    history file that cannot be written is logged, never raised."""
    from . import history_store as kept

    kept.record_checks(list(records))


def history_charts(since: float, db: PathLike | None = None) -> dict[str, Record]:
    """Per database (or of `db` alone), the lag (highest per interval) and verify outcomes of
    the last `since` seconds, for the dashboard's charts: {db: {"lag": [(unix time, seconds)],
    "verifies": [(unix time, ok)], "start", "end"}}. Raises HistoryError when the file cannot
    be read."""
    import time

    from . import history_store as kept
    from .services.prepare import database_arg

    return kept.charts(time.time() - since, db=None if db is None else database_arg(db))
