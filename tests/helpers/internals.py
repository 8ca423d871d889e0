"""The only place tests name pylitestream's internal modules and functions.

Most tests use the public API, the CLI or what is observable from outside; the few that must
reach inside (to patch the launch of litestream, or to unit-test a rule) import it from here,
so a move of the source tree is followed by editing this one file.
"""

from __future__ import annotations

from pylitestream import cli as cli_module
from pylitestream import health, masking, verification
from pylitestream.cli import options as cli_options
from pylitestream.config import validate as config_validate
from pylitestream.config.settings import known_secrets
from pylitestream.config.socket import default_socket_path
from pylitestream.services import placement
from pylitestream.services.restore import replicate_argv
from pylitestream.supervise import entrypoint as supervise_entrypoint
from pylitestream.supervise import process as supervise_process
from pylitestream.supervise import ps as supervise_ps
from pylitestream.supervise import replicator as supervise_replicator
from pylitestream.supervise import state as supervise_state

# The Typer app behind `pylitestream` (what CliRunner invokes).
app = cli_module.app

exit_status = supervise_process.exit_status
redact = masking.redact
mask_urls = masking.mask_urls
classify = verification.classify
VERIFY_RECORD_KEYS = verification.RECORD_KEYS

# The config check's rules, unit-tested in process (tests/test_validate_units.py).
unset_variables = config_validate.unset_variables
bad_reference = config_validate.bad_reference
code_part = config_validate._code_part
may_be_empty = config_validate._may_be_empty
verdict_key = config_validate._verdict_key


def run_litestream(*args: str, timeout: float) -> object:
    """The one way pylitestream runs a litestream command to its end (litestream/runner.py)."""
    from pylitestream.litestream import binary, runner

    return runner.run_litestream(binary.find_binary(), list(args), timeout=timeout)


def record_keys() -> dict[str, tuple[str, ...]]:
    """The record keys in code, by the docs table row (or section) that documents them."""
    from pylitestream import health
    from pylitestream.litestream import records
    from pylitestream.services import audit, daemon, restore_preview

    control = daemon.CONTROL_KEYS
    return {
        "databases": records.DATABASE_KEYS,
        "generations": records.GENERATION_KEYS,
        "snapshots": records.SNAPSHOT_KEYS,
        "wal": records.WAL_KEYS,
        "ltx": records.LTX_KEYS,
        "status": records.STATUS_KEYS,
        "restore --dry-run": restore_preview.PLAN_KEYS,
        "restore --dry-run files": restore_preview.FILE_KEYS,
        "info": daemon.INFO_KEYS,
        "list": daemon.LIST_KEYS,
        "sync": daemon.SYNC_KEYS,
        "txid": ("database", "txid"),  # built inline by the socket client (daemon.txid)
        "register": control,
        "unregister": control,
        "start": control,
        "stop": control,
        "## Python API and JSON keys": verification.RECORD_KEYS,
        "# Check: are the backups current?": health.RECORD_KEYS,
        "# Audit: the check from outside": audit.RECORD_KEYS,
        "# The state file and `pylitestream ps`": (
            *supervise_state.STATE_KEYS,
            "socket",
            "info",
            "databases",
        ),
        "ps info": daemon.INFO_KEYS,
        "ps databases": daemon.LIST_KEYS,
        "history": history_keys(),
    }


def history_keys() -> tuple[str, ...]:
    from pylitestream import history_store as module

    return module.KEYS


__all__ = [
    "VERIFY_RECORD_KEYS",
    "app",
    "bad_reference",
    "classify",
    "cli_module",
    "code_part",
    "config_validate",
    "default_socket_path",
    "exit_status",
    "known_secrets",
    "mask_urls",
    "may_be_empty",
    "placement",
    "redact",
    "replicate_argv",
    "reset_module_state",
    "run_litestream",
    "supervise_entrypoint",
    "supervise_process",
    "supervise_ps",
    "supervise_replicator",
    "supervise_state",
    "unset_variables",
    "verdict_key",
    "verification",
]


def reset_module_state() -> None:
    """Forget what a previous test left in module globals: the configure() settings, the
    chosen --timeout, the parsed pyproject settings, the Gunicorn hooks' Replicator, the
    framework settings a Flask app handed over."""
    from pylitestream.config import framework, settings
    from pylitestream.integrations import gunicorn
    from pylitestream.litestream import runner, timeouts

    settings._configured.clear()
    settings._parsed.clear()
    framework.use_host_settings(framework.SOURCE, None)
    timeouts._chosen = None
    runner._noted.clear()
    gunicorn._replicator = None
    cli_options.argv = None


def history_store() -> object:
    """The history's own module (history_store.py): its bounds, for the tests that fill it."""
    from pylitestream import history_store as module

    return module


# The dashboard's health without a probe (health.FleetHealth), unit-tested in process.
unconfirmed_unless_cleared = health._unconfirmed_unless_cleared
