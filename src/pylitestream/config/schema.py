"""The keys each Litestream line reads, from the config structs of 0.3.13 and 0.5.x, and the
replica schemes each supports."""

from __future__ import annotations

from typing import NamedTuple

from ..errors import UsageError

# --- the keys each Litestream line reads ---------------------------------------------------------
# From the config structs of cmd/litestream/main.go at v0.3.13 and v0.5.x, cross-checked against
# the yaml tags compiled into the 0.3.13 and 0.5.17 binaries. Both lines ignore any other key
# without a word, which is exactly the kind of mistake this check exists for.

_LOGGING = frozenset({"level", "type", "stderr"})
_AGE = frozenset({"identities", "recipients"})

_REPLICA_03 = frozenset(
    {
        *("type", "name", "path", "url", "retention", "retention-check-interval"),
        *("sync-interval", "snapshot-interval", "validation-interval"),
        *("access-key-id", "secret-access-key", "region", "bucket", "endpoint"),
        *("force-path-style", "skip-verify", "account-name", "account-key"),
        *("host", "user", "password", "key-path", "age"),
    }
)
_DB_03 = frozenset(
    {
        *("path", "meta-path", "monitor-interval", "checkpoint-interval"),
        *("min-checkpoint-page-count", "max-checkpoint-page-count", "replicas"),
    }
)
_TOP_03 = frozenset({"dbs", "addr", "exec", "access-key-id", "secret-access-key", "logging"})

# 0.5 accepts every replica setting at the top level too, as a default for all replicas.
_REPLICA_SETTINGS_05 = frozenset(
    {
        *("sync-interval", "validation-interval", "auto-recover"),
        *("access-key-id", "secret-access-key", "region", "bucket", "endpoint"),
        *("force-path-style", "sign-payload", "require-content-md5", "skip-verify"),
        *("part-size", "concurrency", "storage-class", "sign-accept-encoding"),
        *("sse-customer-algorithm", "sse-customer-key", "sse-customer-key-path", "sse-kms-key-id"),
        *("account-name", "account-key", "sas-token"),
        *("host", "user", "password", "key-path", "concurrent-writes", "host-key"),
        *("webdav-url", "webdav-username", "webdav-password"),
        *("jwt", "seed", "creds", "nkey", "username", "token", "tls", "root-cas"),
        *("client-cert", "client-key", "max-reconnects", "reconnect-wait", "timeout", "age"),
    }
)
_REPLICA_05 = _REPLICA_SETTINGS_05 | {"type", "name", "path", "url"}
_DB_05 = frozenset(
    {
        *("path", "dir", "pattern", "recursive", "watch", "meta-path", "meta-dir"),
        *("monitor-interval", "checkpoint-interval", "busy-timeout"),
        *("min-checkpoint-page-count", "truncate-page-n", "max-sync-wal-bytes"),
        *("max-sync-ltx-files", "snapshot", "restore-if-db-not-exists", "replica", "replicas"),
    }
)
_TOP_05 = _REPLICA_SETTINGS_05 | {
    *("dbs", "addr", "exec", "logging", "socket", "levels", "snapshot", "validation"),
    *("l0-retention", "l0-retention-check-interval", "verify-compaction", "max-sync-ltx-files"),
    *("heartbeat-url", "heartbeat-interval", "mcp-addr"),
    *("shutdown-sync-timeout", "shutdown-sync-interval"),
}
_SECTIONS_05 = {
    "socket": frozenset({"enabled", "path", "permissions"}),
    "snapshot": frozenset({"interval", "retention"}),
    "validation": frozenset({"interval"}),
    "logging": _LOGGING,
    "age": _AGE,
}
_SECTIONS_03 = {"logging": _LOGGING, "age": _AGE}

# Left empty, these mean "the provider's default" (AWS itself, its region lookup).
_MAY_BE_EMPTY_KEYS = ("endpoint", "region")

# Which configure() argument sets which variable, for the hint in an "unset" message.
_SETTING_HINTS = {
    "LITESTREAM_REPLICA_BUCKET": "replica_bucket",
    "LITESTREAM_ACCESS_KEY_ID": "replica_key_id",
    "LITESTREAM_SECRET_ACCESS_KEY": "replica_access_key",
    "LITESTREAM_REPLICA_REGION": "replica_region",
    "LITESTREAM_REPLICA_ENDPOINT": "replica_endpoint",
}


REPLICA_SCHEMES = {"0.3": ("s3", "gs", "abs", "sftp", "file"),
                   "0.5": ("s3", "gs", "abs", "sftp", "file", "webdav", "nats", "oss")}  # fmt: skip


class Layout(NamedTuple):
    """What one Litestream line reads from a config, and how."""

    top: frozenset[str]
    sections: dict[str, frozenset[str]]
    database: frozenset[str]
    replica: frozenset[str]
    single_replica: bool
    """One `replica:` per database (0.5); 0.3 reads only the `replicas:` list."""
    reads_url_query: bool
    """A replica url's `?endpoint=...` is read (0.5); 0.3 drops it and talks to AWS."""


LAYOUTS = {
    "0.3": Layout(_TOP_03, _SECTIONS_03, _DB_03, _REPLICA_03, single_replica=False,
                  reads_url_query=False),
    "0.5": Layout(_TOP_05, _SECTIONS_05, _DB_05, _REPLICA_05, single_replica=True,
                  reads_url_query=True),
}  # fmt: skip


def known_line(line: str) -> str:
    """`line` if it names a Litestream line pylitestream supports; UsageError otherwise."""
    if line not in REPLICA_SCHEMES:
        raise UsageError(f"--line must be 0.3 or 0.5, not {line!r}")
    return line
