"""Everything that differs between the Litestream lines pylitestream supports (0.3 and 0.5), in
one place: the commands each has, the flags of the commands flags are forwarded to, what to use
instead of what a line lacks, and how it behaves. Code asks `binary.profile.X` instead of
comparing version strings."""

from __future__ import annotations

from typing import NamedTuple

# The flags of the commands pylitestream forwards flags to, each with the kind of value litestream
# (Go's flag package, then litestream's own checks) accepts: see api.check_flag_value.
_RESTORE_COMMON = {"config": "string", "o": "output", "timestamp": "timestamp",
                   "parallelism": "count", "no-expand-env": "bool", "if-db-not-exists": "bool",
                   "if-replica-exists": "bool"}  # fmt: skip
_REPLICATE_COMMON = {"config": "string", "exec": "string", "no-expand-env": "bool"}


class Profile(NamedTuple):
    commands: frozenset[str]
    flags: dict[str, dict[str, str]]
    """command -> {flag without '-': kind of value}, for the commands flags are forwarded to."""
    missing: dict[str, str]
    """Command or flag (with leading '-') this line lacks -> what to use instead."""
    ltx_levels: bool
    """Backups are LTX files in levels (0.5): `snapshots` and `wal` read levels 9 and 0 through
    `ltx -level`; 0.3 has commands of those names."""
    json_listings: bool
    """The listing commands take -json (0.5); 0.3 prints tables."""
    errors_only_in_log: bool
    """The listing commands log an ERROR and still exit 0 when they fail (0.3)."""
    control_socket: bool
    """The daemon serves the control socket (0.5): info, list, sync, register, ..."""
    ca_bundle_breaks_s3: bool
    """AWS_CA_BUNDLE breaks every S3 call (0.5), so it is moved aside (runner.move_ca_bundle)."""
    resumes_from_wal_position: bool
    """After a restart, litestream resumes from the WAL position its newest LTX file records
    (0.5), so a WAL restarted meanwhile needs a snapshot (supervise.state.close_wal_gaps); 0.3
    starts a new generation by itself."""
    restore_checks_integrity: bool
    """`restore -integrity-check` is litestream's own (0.5); on 0.3 pylitestream runs the same
    PRAGMA on its private copy before placing it (services.integrity)."""


PROFILES: dict[str, Profile] = {
    "0.3": Profile(
        commands=frozenset(
            {"databases", "generations", "snapshots", "wal", "restore", "replicate"}
        ),
        flags={
            "restore": {
                **_RESTORE_COMMON,
                "replica": "string",
                "generation": "generation",
                "index": "index",
                # Not litestream's: pylitestream checks 0.3's restored copy itself.
                "integrity-check": "none|quick|full",
            },
            "replicate": _REPLICATE_COMMON,
        },
        missing={
            "ltx": "Litestream 0.3 has no 'ltx'; use 'snapshots' and 'wal' for 0.3 backups",
            "status": "Litestream 0.3 has no 'status'; use 'databases' and 'generations'",
            "-txid": "Litestream 0.3 has no -txid; restore to a point with -generation and -index "
            "(hex; see 'pylitestream wal') or -timestamp",
            "-force": "Litestream 0.3 has no -force; move the existing file away "
            "or pass -o NEW_PATH",
            "-dry-run": "Litestream 0.3 has no -dry-run; use 'pylitestream snapshots' and "
            "'pylitestream wal' to see what a restore would use",
            "-json": "Litestream 0.3 has no JSON output; use pylitestream's --json",
            "-f": "Litestream 0.3 has no follow mode (-f); run a restore at intervals instead",
            "-follow-interval": "Litestream 0.3 has no follow mode; run a restore at intervals",
        },
        ltx_levels=False,
        json_listings=False,
        errors_only_in_log=True,
        control_socket=False,
        ca_bundle_breaks_s3=False,
        resumes_from_wal_position=False,
        restore_checks_integrity=False,
    ),
    "0.5": Profile(
        commands=frozenset(
            {"databases", "snapshots", "wal", "ltx", "status", "restore", "replicate"}
        ),
        flags={
            "restore": {
                **_RESTORE_COMMON,
                "txid": "txid",
                "follow-interval": "duration",
                "integrity-check": "none|quick|full",
                "dry-run": "bool",
                "force": "bool",
                "json": "bool",
                "f": "bool",
            },
            "replicate": {
                **_REPLICATE_COMMON,
                "once": "bool",
                "force-snapshot": "bool",
                "enforce-retention": "bool",
                "log-level": "trace|debug|info|warn|error",
                "restore-if-db-not-exists": "bool",
            },
        },
        missing={
            "generations": "Litestream 0.5 has no generations; use "
            "'pylitestream ltx --database DB' (or 'snapshots'/'wal') to list its backups",
            "-index": "Litestream 0.5 has no -index; restore to a point with -txid "
            "(16 hex digits; see 'pylitestream ltx') or -timestamp",
            "-generation": "Litestream 0.5 has no generations; restore to a point with -txid "
            "(see 'pylitestream ltx') or -timestamp",
            "-replica": "Litestream 0.5 has one replica per database; drop -replica",
        },
        ltx_levels=True,
        json_listings=True,
        errors_only_in_log=False,
        control_socket=True,
        ca_bundle_breaks_s3=True,
        resumes_from_wal_position=True,
        restore_checks_integrity=True,
    ),
}
