"""The config check in process, table by table: each rule's exact `FILE:LINE: message` on both
Litestream lines, the configs that must pass, the variable rules, and the verdict cache (what a
hit skips, what invalidates it, that a failure is never kept). Fast, so mutation testing can run
them once per mutant; the CLI's own one-line errors are tested end to end in
test_config_commands.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from internals import (
    bad_reference,
    code_part,
    config_validate,
    default_socket_path,
    may_be_empty,
    unset_variables,
    verdict_key,
)

from pylitestream import cache
from pylitestream.config import validate_config
from pylitestream.errors import ConfigError, UsageError


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A tmp dir with data/ (for databases) and sock/ (private, for a control socket), the
    config's own dir conf/, and a different current dir cwd/; the verdict cache kept in it."""
    for name in ("data", "conf", "cwd"):
        (tmp_path / name).mkdir()
    (tmp_path / "sock").mkdir(mode=0o700)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path / "cwd")
    yield tmp_path


def write(home: Path, text: str) -> Path:
    """The config `text` ('@' standing for the tmp dir) written to conf/litestream.yml."""
    path = home / "conf" / "litestream.yml"
    path.write_text(text.replace("@", str(home)))
    return path


def refusal(home: Path, line: str, text: str, env: dict[str, str] | None = None) -> str:
    cfg = write(home, text)
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg, line, {} if env is None else env)
    return str(caught.value)


def verdicts() -> list[Any]:
    return list(cache.load("validated").values())


DB = "dbs:\n  - path: @/data/app.db\n"
DIR = ("dbs:\n  - dir: @/data\n    pattern: '*.db'\n    watch: true\n    replica:\n"
       "      type: file\n      path: @/backup\n")  # fmt: skip

# (line, config, line number, message); '@' is the tmp dir, CWD the current directory, DEFAULT
# the per-user socket path; a message ending in ' ...' is the start of the message.
REFUSED = [
    ("0.5", "", 1, "the config is empty; it needs a 'dbs:' list (see 'pylitestream init')"),
    ("0.3", "# nothing here\n", 1,
     "the config is empty; it needs a 'dbs:' list (see 'pylitestream init')"),
    ("0.5", "- a\n- b\n", 1, "the config must be a mapping of keys to values"),
    ("0.3", "just text\n", 1, "the config must be a mapping of keys to values"),
    ("0.5", "# a comment\n\nlogging:\n  level: info\n", 3,
     "the config lists no databases under 'dbs:'"),
    ("0.3", "dbs: []\n", 1, "the config lists no databases under 'dbs:'"),
    ("0.3", DB + "sync-interval: 1s\n", 3,
     "unknown key 'sync-interval' in the config (Litestream 0.3 ignores it)"),
    ("0.5", DB + "dbz: []\n", 3,
     "unknown key 'dbz' in the config (Litestream 0.5 ignores it); did you mean 'dbs'?"),
    ("0.3", "logging:\n  levle: info\n" + DB, 2,
     "unknown key 'levle' in 'logging' (Litestream 0.3 ignores it); did you mean 'level'?"),
    ("0.5", "logging: info\n" + DB, 1, "'logging' must be a mapping of keys to values"),
    ("0.5", "snapshot:\n  interval: 1h\n  retention: 24h\n  retain: 1\n" + DB, 4,
     "unknown key 'retain' in 'snapshot' (Litestream 0.5 ignores it)"),
    ("0.5", "validation:\n  intervall: 1h\n" + DB, 2,
     "unknown key 'intervall' in 'validation' (Litestream 0.5 ignores it); "
     "did you mean 'interval'?"),
    ("0.5", "levels:\n  - interval: 5m\n  - intervall: 1h\n" + DB, 3,
     "unknown key 'intervall' in a compaction level (Litestream 0.5 ignores it); "
     "did you mean 'interval'?"),
    ("0.5", "levels: 5m\n" + DB, 1, "'levels' must be a list (each entry starting with '- ')"),
    ("0.3", "levels:\n  - interval: 5m\n" + DB, 1,
     "unknown key 'levels' in the config (Litestream 0.3 ignores it)"),
    ("0.5", "dbs:\n  path: @/data/app.db\n", 2,
     "'dbs' must be a list (each entry starting with '- ')"),
    ("0.3", "dbs:\n  - @/data/app.db\n", 2, "a database must be a mapping of keys to values"),
    ("0.5", DB + "    pth: x\n", 3,
     "unknown key 'pth' in a database (Litestream 0.5 ignores it); did you mean 'path'?"),
    ("0.3", DB + "    dir: @/data\n", 3,
     "Litestream 0.3 has no directory replication ('dir:'); list each database with "
     "'- path:', or use Litestream 0.5"),
    # Directory replication (0.5): what litestream refuses at start, and a dir: without replica.
    ("0.5", DIR.replace("    pattern: '*.db'\n", ""), 2,
     "a 'dir:' entry needs 'pattern:' (e.g. pattern: \"*.db\")"),
    ("0.5", DIR.replace("'*.db'", "'[a-'"), 3,
     "pattern '[a-' is not a valid file-name pattern: a '[...]' class is malformed"),
    ("0.5", DIR.replace("'*.db'", "'sub/*.db'"), 3,
     "pattern 'sub/*.db' contains '/', but litestream matches it against file names only (use "
     "'recursive: true' for subdirectories)"),
    ("0.5", DIR.replace("'*.db'", "'*.sqlite'").replace("    watch: true\n", ""), 3,
     "pattern '*.sqlite' matches no SQLite database in @/data, and litestream refuses to start "
     "then; add 'watch: true' to pick up databases created later"),
    ("0.5", DIR.split("    replica:")[0], 2,
     "the 'dir: @/data' entry has no 'replica:', so none of its databases would be replicated "
     "(each one's replica path is the replica's plus its own)"),
    ("0.5", DIR.replace("watch: true", "watch: sometimes"), 4,
     "'watch' must be true or false, not sometimes"),
    ("0.5", DB + "    watch: true\n", 3, "'watch' only applies to a 'dir:' entry"),
    ("0.5", DIR + "    path: @/data/a.db\n", 2, "a database has both 'path:' and 'dir:'; keep one"),
    ("0.5", "dbs:\n  - monitor-interval: 1s\n", 2,
     "a database needs 'path:' (one file) or 'dir:' (a directory of them)"),
    # A later database is checked as well as the first.
    ("0.5", DB + "  - path: @/data/b.db\n    bogus: 1\n", 4,
     "unknown key 'bogus' in a database (Litestream 0.5 ignores it)"),
    # Database paths.
    ("0.5", "dbs:\n  - path: [a, b]\n", 2,
     "database 'path' must be a path, not a YAML list or mapping"),
    ("0.5", "dbs:\n  - path:\n", 2, "database 'path' is empty"),
    ("0.3", "dbs:\n  - path: ~\n", 2, "database 'path' is empty"),
    ("0.5", "dbs:\n  - path: ''\n", 2, "database 'path' is empty"),
    ("0.5", "dbs:\n  - dir: ''\n", 2, "database 'dir' is empty"),
    ("0.5", "dbs:\n  - path: 123\n", 2,
     "database 'path' is the YAML int 123, not a path; quote it if it really is a file name"),
    ("0.5", "dbs:\n  - path: '123'\n", 2, "database path '123' is relative ..."),
    ("0.5", "dbs:\n  - path: !x foo\n", 2,
     "database 'path' is the YAML !x foo, not a path; quote it if it really is a file name"),
    ("0.3", "dbs:\n  - path: yes\n", 2,
     "database 'path' is the YAML bool yes, not a path; quote it if it really is a file name"),
    ("0.5", "dbs:\n  - path: app.db\n", 2,
     "database path 'app.db' is relative, so litestream resolves it against the current "
     "directory (CWD/app.db), not the config's directory (@/conf/app.db); write the absolute "
     "path, e.g. path: @/conf/app.db"),
    ("0.5", "dbs:\n  - dir: sub/dbs\n", 2,
     "database dir 'sub/dbs' is relative, so litestream resolves it against the current "
     "directory (CWD/sub/dbs), not the config's directory (@/conf/sub/dbs); write the absolute "
     "path, e.g. dir: @/conf/sub/dbs"),
    ("0.3", "dbs:\n  - path: @/nowhere/app.db\n", 2,
     "directory @/nowhere of database path '@/nowhere/app.db' does not exist"),
    ("0.5", "dbs:\n  - dir: @/data/missing\n", 2,
     "directory @/data/missing of database dir '@/data/missing' does not exist"),
    # Replicas: the layout of each line.
    ("0.3", DB + "    replica:\n      type: s3\n      bucket: b\n", 3,
     "'replica:' is ignored by Litestream 0.3, so this database would not be replicated; "
     "write it as a list under 'replicas:' (- type: ...)"),
    ("0.3", DB + "    replicas:\n      type: s3\n", 4,
     "'replicas' must be a list (each entry starting with '- ')"),
    ("0.5", DB + "    replica:\n      type: s3\n      bucket: b\n"
     "    replicas:\n      - type: s3\n        bucket: c\n", 7,
     "a database has both 'replica:' and 'replicas:'; Litestream 0.5 takes one replica: "
     "keep only 'replica:'"),
    ("0.5", DB + "    replicas:\n      - type: s3\n        bucket: a\n"
     "      - type: s3\n        bucket: b\n", 4,
     "this database has 2 replicas but Litestream 0.5 replicates each database to one: keep "
     "one here (then 'pylitestream config migrate' rewrites it as 'replica:'), or split the "
     "others into a second config run by its own 'pylitestream replicate'"),
    ("0.5", DB + "    replicas:\n      - url: s3://a/x\n      - url: s3://b/x\n"
     "      - url: s3://c/x\n", 4, "this database has 3 replicas but Litestream 0.5 ..."),
    ("0.5", DB + "    replica:\n      type: s3\n      sync-intervall: 1s\n", 5,
     "unknown key 'sync-intervall' in a replica (Litestream 0.5 ignores it); "
     "did you mean 'sync-interval'?"),
    ("0.5", DB + "    replicas:\n      - type: s3\n        buckett: b\n", 5,
     "unknown key 'buckett' in a replica (Litestream 0.5 ignores it); did you mean 'bucket'?"),
    ("0.3", DB + "    replicas:\n      - type: s3\n        bucket: b\n"
     "      - type: s3\n        sas-token: t\n", 7,
     "unknown key 'sas-token' in a replica (Litestream 0.3 ignores it)"),
    ("0.3", DB + "    replicas:\n      - s3://b/x\n", 4,
     "a replica must be a mapping of keys to values"),
    # File replicas' paths; other replicas' paths are object keys.
    ("0.5", DB + "    replica:\n      type: file\n      path: backups\n", 5,
     "file replica path 'backups' is relative, so litestream resolves it against the current "
     "directory (CWD/backups), not the config's directory (@/conf/backups); write the "
     "absolute path, e.g. path: @/conf/backups"),
    ("0.3", DB + "    replicas:\n      - path: backups\n", 4,
     "file replica path 'backups' is relative ..."),
    ("0.3", DB + "    replicas:\n      - type: file\n        path: 123\n", 5,
     "replica 'path' is the YAML int 123, not a path; quote it if it really is a file name"),
    ("0.5", DB + "    replica:\n      path: [a]\n", 4,
     "replica 'path' must be a path, not a YAML list or mapping"),
    ("0.5", DB + "    replica:\n      type: s3\n      age:\n        identities: [x]\n"
     "        recipents: [y]\n", 7,
     "unknown key 'recipents' in 'age' (Litestream 0.5 ignores it); did you mean 'recipients'?"),
    ("0.3", DB + "    replicas:\n      - type: s3\n        age: x\n", 5,
     "'age' must be a mapping of keys to values"),
    ("0.3", DB + "    replicas:\n      - url: s3://b/db?endpoint=http://127.0.0.1:9000\n", 4,
     "Litestream 0.3 ignores the '?...' part of a replica url (an endpoint there sends the "
     "data to AWS instead); write type, bucket, path and endpoint as keys"),
    ("0.3", DB + "    replicas:\n      - type: s3\n        endpoint: minio:9000\n", 5,
     "endpoint 'minio:9000' has no scheme, and Litestream 0.3 then uses https://minio:9000; "
     "write http://minio:9000 or https://minio:9000"),
    # 0.5 also speaks TLS to it: `ltx` then fails after its timeout, "is the replica reachable?"
    ("0.5", DB + "    replica:\n      type: s3\n      endpoint: 127.0.0.1:5999\n", 5,
     "endpoint '127.0.0.1:5999' has no scheme, and Litestream 0.5 then uses "
     "https://127.0.0.1:5999; write http://127.0.0.1:5999 or https://127.0.0.1:5999"),
    # The control socket (0.5).
    ("0.5", "socket:\n  enabled: true\n  path: @/nosock/l.sock\n" + DB, 3,
     "directory @/nosock of the control socket path '@/nosock/l.sock' does not exist, so "
     "litestream cannot create its socket; create it (mkdir -m 700 @/nosock) or use the "
     "per-user default DEFAULT"),
    ("0.5", "socket:\n  enabled: true\n  path: @/sock/l.sock\n  permissions: 0644\n" + DB, 3,
     "socket permissions 0644 let other users drive litestream (stop replication, register "
     "databases); use 0600"),
    ("0.5", "socket:\n  enabled: true\n  permissions: rw\n" + DB, 2,
     "directory /var/run of the control socket ..."),
    ("0.5", "socket:\n  path: @/sock/l.sock\n  enabled: yes\n  permissions: abc\n" + DB, 2,
     "socket permissions 'abc' are not a file mode such as 0600"),
    ("0.5", "socket:\n  enabled: true\n  pth: x\n" + DB, 3,
     "unknown key 'pth' in 'socket' (Litestream 0.5 ignores it); did you mean 'path'?"),
    ("0.3", "socket:\n  enabled: true\n" + DB, 1,
     "unknown key 'socket' in the config (Litestream 0.3 ignores it)"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "text", "number", "message"), REFUSED)
def test_each_refusal_names_the_file_line_and_problem(
    home: Path, line: str, text: str, number: int, message: str
) -> None:
    got = refusal(home, line, text)
    expected = f"{home}/conf/litestream.yml:{number}: " + message.replace("@", str(home))
    expected = expected.replace("CWD", str(home / "cwd"))
    expected = expected.replace("DEFAULT", str(default_socket_path()))
    if expected.endswith(" ..."):  # the rest is asserted in full by another row
        assert got.startswith(expected[:-4])
    else:
        assert got == expected
    assert verdicts() == []  # a failing verdict is never cached


# (line, config, number of databases, database directories the verdict relies on)
PASSING = [
    ("0.5", DB, 1, ["@/data"]),
    ("0.3", DB + "  - path: @/data/b.db\n  - path: @/sock/c.db\n", 3,
     ["@/data", "@/data", "@/sock"]),
    ("0.5", DIR, 0, ["@/data"]),  # no `path:` entry, one `dir:` entry
    ("0.5", DB + "    meta-path: 5\n    monitor-interval: 1s\n", 1, ["@/data"]),
    ("0.5", DB + "    replica:\n      type: s3\n      bucket: b\n      path: app\n"
     "      endpoint: https://minio:9000\n      region: ''\n", 1, ["@/data"]),
    ("0.3", DB + "    replicas:\n      - type: s3\n        bucket: b\n        path: app\n"
     "        endpoint: http://minio:9000\n      - type: file\n        path: @/backup\n"
     "      - url: s3://b/app\n        path: rel\n      - type: gs\n        path: rel\n"
     "        endpoint: ''\n", 1, ["@/data"]),
    ("0.5", DB + "    replicas:\n      - url: s3://b/db?endpoint=http://127.0.0.1:9000\n",
     1, ["@/data"]),
    ("0.5", DB + "    replica:\n      type: file\n      path: ~/backups\n", 1, ["@/data"]),
    ("0.3", DB + "    replicas:\n      - url: ~\n      - type: s3\n        endpoint:\n", 1,
     ["@/data"]),
    ("0.5", DB + "    replica:\n      type: s3\n      age:\n        identities: [x]\n"
     "        recipients: [y]\n", 1, ["@/data"]),
    # 0.5: an empty 'replicas:' list beside 'replica:' is no second replica.
    ("0.5", DB + "    replica:\n      url: s3://b/x\n    replicas: []\n", 1, ["@/data"]),
    # A YAML merge key: its keys are checked where they are used.
    ("0.5", DB + "    replica: &r\n      type: s3\n      bucket: b\n"
     "  - path: @/data/b.db\n    replica:\n      <<: *r\n      path: @/b\n", 2,
     ["@/data", "@/data"]),
    ("0.5", "logging:\n  level: debug\nsnapshot:\n  interval: 1h\nvalidation:\n  interval: 1h\n"
     "levels:\n  - interval: 5m\nsync-interval: 1s\n" + DB, 1, ["@/data"]),
    ("0.3", "addr: ':9090'\nlogging:\n  level: info\n" + DB, 1, ["@/data"]),
    # A socket is checked only when enabled; its directory joins those the verdict relies on.
    ("0.5", "socket:\n  enabled: false\n  path: @/nosock/l.sock\n" + DB, 1, ["@/data"]),
    ("0.5", "socket:\n  enabled: no\n  path: @/nosock/l.sock\n" + DB, 1, ["@/data"]),
    ("0.5", "socket:\n  path: @/nosock/l.sock\n" + DB, 1, ["@/data"]),
    ("0.5", "socket:\n  enabled: true\n  path: @/sock/l.sock\n  permissions: '0600'\n" + DB,
     1, ["@/sock", "@/data"]),
    ("0.5", "socket:\n  enabled: true\n  path: ~/sock/l.sock\n" + DB, 1, ["@/sock", "@/data"]),
    ("0.5", DB + "socket:\n  enabled: 1\n  path: @/sock/l.sock\n  permissions: 384\n",
     1, ["@/data", "@/sock"]),
]  # fmt: skip


@pytest.mark.parametrize(("line", "text", "count", "dirs"), PASSING)
def test_valid_configs_pass_and_their_verdict_is_cached(
    home: Path, monkeypatch: pytest.MonkeyPatch, line: str, text: str, count: int, dirs: list[str]
) -> None:
    monkeypatch.setenv("HOME", str(home))
    cfg = write(home, text)
    result = validate_config(cfg, line, {})
    directories = text.count("  - dir:")
    assert result == {"config": str(cfg), "line": line, "databases": count,
                      "directories": directories}  # fmt: skip
    expected_dirs = [d.replace("@", str(home)) for d in dirs]
    assert verdicts() == [{"databases": count, "directories": directories, "dirs": expected_dirs}]


def test_keys_after_a_merge_key_are_still_checked(home: Path) -> None:
    text = DB + "    replica: &r\n      type: s3\n  - path: @/data/b.db\n    replica:\n"
    text += "      <<: *r\n      bukket: b\n"
    assert refusal(home, "0.5", text) == (
        f"{home}/conf/litestream.yml:8: unknown key 'bukket' in a replica "
        "(Litestream 0.5 ignores it); did you mean 'bucket'?"
    )


def test_a_merged_replica_type_is_seen(home: Path) -> None:
    text = DB + "    replica: &r\n      type: s3\n  - path: @/data/b.db\n    replica:\n"
    text += "      <<: *r\n      path: b\n"
    assert validate_config(write(home, text), "0.5", {})["databases"] == 2


@pytest.mark.parametrize("merge", ["*r", "[*r]", "[*other, *r]", "*nested"])
def test_a_merged_type_is_seen_through_lists_and_nested_merges(home: Path, merge: str) -> None:
    """The merge key after the replica's own keys, as YAML allows."""
    text = DB + "    replica: &r\n      type: s3\n      bucket: b\n"
    text += "  - path: @/data/c.db\n    replica: &other\n      bucket: c\n      type: s3\n"
    text += "  - path: @/data/d.db\n    replica: &nested\n      <<: *r\n      path: d\n"
    text += f"  - path: @/data/b.db\n    replica:\n      path: relative\n      <<: {merge}\n"
    assert validate_config(write(home, text), "0.5", {})["databases"] == 4


def test_merged_keys_are_checked_and_a_replicas_own_keys_win(home: Path) -> None:
    """Both binaries read YAML merge keys (checked with `litestream databases`): a merged key
    litestream would ignore is refused at its own line, and a replica's own `type:` beats the
    merged one, as in YAML."""
    anchor = DB + "    replica: &r\n      type: s3\n      bucket: b\n      pth: x\n"
    merged = anchor + "  - path: @/data/b.db\n    replica:\n      <<: *r\n"
    assert refusal(home, "0.5", merged).endswith(
        ":6: unknown key 'pth' in a replica (Litestream 0.5 ignores it); did you mean 'path'?"
    )
    own_type = DB + "    replica: &r\n      type: s3\n      bucket: b\n"
    own_type += "  - path: @/data/b.db\n    replica:\n      <<: [*r]\n      type: file\n"
    own_type += "      path: relative/dir\n"
    assert "file replica path" in refusal(home, "0.5", own_type)


@pytest.mark.parametrize("enabled", ["true", "True", "yes", "on", "ON", "1"])
def test_every_spelling_of_true_enables_the_socket_check(home: Path, enabled: str) -> None:
    text = f"socket:\n  enabled: {enabled}\n  path: @/nosock/l.sock\n" + DB
    assert "directory" in refusal(home, "0.5", text)


def test_a_missing_database_directory_is_expected_when_run_restores(home: Path) -> None:
    missing_dir = DIR.replace("dbs:\n", "").replace("@/data", "@/also/missing")
    cfg = write(home, "dbs:\n  - path: @/nowhere/app.db\n" + missing_dir)
    result = validate_config(cfg, "0.5", {}, missing_dirs_ok=True)
    assert (result["databases"], result["directories"]) == (1, 1)  # a path: and a dir: entry
    assert verdicts() == [{"databases": 1, "directories": 1, "dirs": []}]


def test_a_home_relative_database_path_is_absolute(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(home))
    cfg = write(home, "dbs:\n  - path: ~/data/app.db\n  - path: ~/nowhere/b.db\n")
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg, "0.5", {})
    assert str(caught.value) == (
        f"{cfg}:3: directory {home}/nowhere of database path '~/nowhere/b.db' does not exist"
    )


# --- variables ------------------------------------------------------------------------------

UNSET = [
    ("a: $A\nb: ${B}\n", {}, [(1, "A", False), (2, "B", False)]),
    ("a: $A\nb: ${B}\n", {"A": "", "B": "x"}, [(1, "A", True)]),
    ("a: $A\nb: $A\nc: ${A}\n", {}, [(1, "A", False)]),
    ("a: $PID-x\n", {}, []),
    ("a: ${PID}/$A\n", {}, [(1, "A", False)]),
    ("a: x # $A\n# $B\nc: '#$C'\n", {}, [(3, "C", False)]),
    ("endpoint: $E\nregion: '${R}'\n  - endpoint: \"$E\"\nbucket: $E\n", {},
     [(4, "E", False)]),
    ("endpoint: $E/x\n", {}, [(1, "E", False)]),
    ("a: ${A\nb: ${}\nc: $1\n", {}, [(3, "1", False)]),
    ("\n\na: ok\nb: $B", {"B": ""}, [(4, "B", True)]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "environ", "expected"), UNSET)
def test_unset_variables(text: str, environ: dict[str, str], expected: list[Any]) -> None:
    assert unset_variables(text, environ) == expected


CODE = [
    ("a: b # c", "a: b "),
    ("# c", ""),
    ("a: b\t# c", "a: b\t"),
    ("a: b#c", "a: b#c"),
    ("a: 'x # y' # z", "a: 'x # y' "),
    ('a: "x # y" # z', 'a: "x # y" '),
    ('a: "it\'s # x" # z', 'a: "it\'s # x" '),
    ("a: 'say \"hi # x' # z", "a: 'say \"hi # x' "),
    ("a: 'x' 'y # z'", "a: 'x' 'y # z'"),
    ("plain", "plain"),
    ("a: b #c", "a: b "),
    ("a: bX#c", "a: bX#c"),
    ("X: b #c", "X: b "),
]


@pytest.mark.parametrize(("line", "code"), CODE)
def test_code_part_drops_only_a_real_comment(line: str, code: str) -> None:
    assert code_part(line) == code


EMPTY_OK = [
    ("endpoint: $X", True),
    ("region: ${X}", True),
    ("  - endpoint: $X", True),
    ("endpoint : '$X' ", True),
    ('region: "${X}"', True),
    ("endpoint: '$X\"", False),
    ("endpoint: \"$X'", False),
    ("bucket: $X", False),
    ("xendpoint: $X", False),
    ("endpoint: $X/path", False),
    ("endpoint: $XY", False),
    ("endpoint: ${X", False),
    ("endpoint: http://$X", False),
    ("-endpoint: $X", False),
]


@pytest.mark.parametrize(("code", "expected"), EMPTY_OK)
def test_which_variables_may_be_empty(code: str, expected: bool) -> None:
    assert may_be_empty(code, "X") is expected


_NEVER_CLOSED = "'${{' is never closed, so litestream drops it and reads the rest as text "
_SPECIAL = (
    "'{w}' in '{v}' is Go's special variable '{n}', which is never set, so litestream drops "
    "it ('{v}' becomes '{e}'); a literal '$' cannot be written in a litestream config: put the "
    "value in an environment variable and write ${{NAME}}"
)
BAD = [
    ("a: ${abc\n", (1, _NEVER_CLOSED + "('${abc' becomes 'abc'); close it with '}'")),
    ("a: ok\nb: '${abc' \n", (2, _NEVER_CLOSED + "('${abc' becomes 'abc'); close it with '}'")),
    ("a: ${}\n", (1, "'${}' names no variable; litestream drops it")),
    ("a: $A\n\nb: x${}y\n", (3, "'${}' names no variable; litestream drops it")),
    ("a: x$1y\n", (1, _SPECIAL.format(w="$1", v="x$1y", n="1", e="xy"))),
    ("password: 'pa$$word'\n", (1, _SPECIAL.format(w="$$", v="pa$$word", n="$", e="paword"))),
    ("a: ${1}b\n", (1, _SPECIAL.format(w="${1}", v="${1}b", n="1", e="b"))),
    ("a: $?\n", (1, _SPECIAL.format(w="$?", v="$?", n="?", e=""))),
    ("url: 'a:$1'\n", (1, _SPECIAL.format(w="$1", v="a:$1", n="1", e="a:"))),
    ("  - password: x$1\n", (1, _SPECIAL.format(w="$1", v="x$1", n="1", e="x"))),
    ("- x$1\n", (1, _SPECIAL.format(w="$1", v="- x$1", n="1", e="- x"))),
    ("a: x$1X\n", (1, _SPECIAL.format(w="$1", v="x$1X", n="1", e="xX"))),
    ("a: '${AX'\n", (1, _NEVER_CLOSED + "('${AX' becomes 'AX'); close it with '}'")),
    ("a: ${12}\nb: $A ${B} $ c\n", None),
    ("a: x # ${ and $1\n", None),
    ("a: plain\n", None),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_bad_reference(text: str, expected: tuple[int, str] | None) -> None:
    got = bad_reference(text)
    if expected is None:
        assert got is None
    else:
        assert got == (expected[0], expected[1].replace("{{", "{"))


# --- validate_config: variables, expansion, the result ---------------------------------------

S3 = DB + "    replica:\n      type: s3\n"


def test_the_first_unset_variable_is_named_with_the_others(home: Path) -> None:
    text = S3 + "      bucket: $LITESTREAM_REPLICA_BUCKET\n      path: $P\n      region: $R\n"
    text += "      access-key-id: ${K}\n"
    cfg = write(home, text)
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg, "0.5", {})
    assert str(caught.value) == (
        f"{cfg}:5: $LITESTREAM_REPLICA_BUCKET is not set, and litestream would use an empty "
        "string in its place; set LITESTREAM_REPLICA_BUCKET or "
        "pylitestream.configure(replica_bucket=...) (also unset or empty: P, K)"
    )
    env = {"LITESTREAM_REPLICA_BUCKET": "b", "P": "", "K": "k"}
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg, "0.5", env)
    assert str(caught.value) == (
        f"{cfg}:6: $P is set but empty, and litestream would use an empty string in its "
        "place; set P"
    )
    assert verdicts() == []
    assert validate_config(cfg, "0.5", {**env, "P": "app"})["databases"] == 1


def test_a_bad_reference_is_refused_before_unset_variables(home: Path) -> None:
    cfg = write(home, S3 + "      bucket: $B\n      path: 'pa$$th'\n")
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg, "0.3", {})
    assert str(caught.value) == f"{cfg}:6: " + _SPECIAL.format(w="$$", v="pa$$th", n="$", e="path")
    cfg = write(home, S3 + "      bucket: ${B\n")
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg, "0.5", {"B": "b"})
    assert str(caught.value).startswith(f"{cfg}:5: '${{' is never closed")


def test_a_secret_never_appears_in_a_bad_reference_message(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_X", "hunter2-value")
    cfg = write(home, S3 + "      secret-access-key: $SECRET_X$1\n")
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg, "0.5")
    assert str(caught.value) == f"{cfg}:5: " + _SPECIAL.format(w="$1", v="$SECRET_X$1", n="1", e="")


def test_a_password_in_an_endpoint_without_scheme_is_masked(home: Path) -> None:
    cfg = write(home, DB + "    replicas:\n      - type: s3\n")
    cfg.write_text(cfg.read_text() + "        endpoint: AK:sekrit-pw@minio:9000\n")  # '@' kept
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg, "0.3", {})
    assert str(caught.value) == (
        f"{cfg}:5: endpoint 'AK:****@minio:9000' has no scheme, and "
        "Litestream 0.3 then uses https://AK:****@minio:9000; write http://AK:****@minio:9000 "
        "or https://AK:****@minio:9000"
    )


def test_yaml_errors_name_the_config_as_written_and_as_expanded(home: Path) -> None:
    cfg = write(home, S3 + "      bucket: [b\n")
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg, "0.5", {})
    assert str(caught.value).startswith(f"{cfg}:6: YAML syntax error: ")
    cfg = write(home, S3 + "      bucket: $B\n")
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg, "0.5", {"B": "a: b"})
    assert str(caught.value).startswith(f"{cfg}:5: YAML syntax error: ")
    assert verdicts() == []


def test_the_expanded_config_is_checked_with_the_given_environment(home: Path) -> None:
    cfg = write(home, "dbs:\n  - path: $DB\n")
    with pytest.raises(ConfigError) as caught:
        validate_config(cfg, "0.5", {"DB": "app.db"})
    assert str(caught.value).startswith(f"{cfg}:2: database path 'app.db' is relative")
    assert validate_config(cfg, "0.5", {"DB": f"{home}/data/app.db"})["databases"] == 1


def test_without_an_environment_the_one_litestream_gets_is_used(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write(home, "dbs:\n  - path: $APP_DB\n")
    monkeypatch.setenv("APP_DB", f"{home}/data/app.db")
    assert validate_config(cfg, "0.5")["databases"] == 1
    monkeypatch.delenv("APP_DB")
    with pytest.raises(ConfigError, match=r":2: \$APP_DB is not set"):
        validate_config(cfg, "0.5")


def test_no_expand_checks_the_config_as_written(home: Path) -> None:
    cfg = write(home, S3 + "      bucket: $NOT_SET\n      path: 'a$$b ${'\n")
    assert validate_config(cfg, "0.5", {}, expand=False) == {
        "config": str(cfg),
        "line": "0.5",
        "databases": 1,
        "directories": 0,
    }
    assert verdicts() == [{"databases": 1, "directories": 0, "dirs": [f"{home}/data"]}]
    cfg.write_text(cfg.read_text() + "      bukket: b\n")
    with pytest.raises(ConfigError, match=r":7: unknown key 'bukket' in a replica"):
        validate_config(cfg, "0.5", {}, expand=False)
    # Unexpanded, '$DB' is a relative path: checked as litestream -no-expand-env reads it.
    cfg = write(home, "dbs:\n  - path: $DB\n")
    with pytest.raises(ConfigError, match=r":2: database path '\$DB' is relative"):
        validate_config(cfg, "0.5", {"DB": f"{home}/data/app.db"}, expand=False)


def test_no_expand_with_missing_dirs_ok_relies_on_no_directory(home: Path) -> None:
    cfg = write(home, "dbs:\n  - path: @/nowhere/app.db\n")
    assert validate_config(cfg, "0.3", {}, expand=False, missing_dirs_ok=True)["databases"] == 1
    assert verdicts() == [{"databases": 1, "directories": 0, "dirs": []}]


def test_a_relative_config_path_is_reported_absolute(home: Path) -> None:
    write(home, "dbs:\n  - path: app.db\n")
    with pytest.raises(ConfigError) as caught:
        validate_config("../conf/litestream.yml", "0.5", {})
    assert str(caught.value).startswith(f"{home}/cwd/../conf/litestream.yml:2: ")
    write(home, DB)
    result = validate_config("../conf/litestream.yml", "0.5", {})
    assert result["config"] == f"{home}/cwd/../conf/litestream.yml"


def test_an_unreadable_config_is_a_usage_error(home: Path) -> None:
    with pytest.raises(UsageError, match="cannot read"):
        validate_config(home / "conf" / "missing.yml", "0.5", {})
    (home / "conf" / "latin.yml").write_bytes(b"dbs: caf\xe9\n")
    with pytest.raises(UsageError, match="is not UTF-8"):
        validate_config(home / "conf" / "latin.yml", "0.5", {})


# --- the verdict cache ---------------------------------------------------------------------


@pytest.fixture
def composed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the check parsed as YAML: empty when a verdict came from the cache."""
    texts: list[str] = []
    original = config_validate._compose

    def counting(path: Path, text: str) -> Any:
        texts.append(text)
        return original(path, text)

    monkeypatch.setattr(config_validate, "_compose", counting)
    return texts


def test_a_passing_verdict_is_reused(home: Path, composed: list[str]) -> None:
    cfg = write(home, S3 + "      bucket: $B\n  - path: @/data/b.db\n")
    first = validate_config(cfg, "0.5", {"B": "b", "OTHER": "1"})
    assert len(composed) == 2  # as written, then expanded
    composed.clear()
    os.utime(cfg, (1, 1))  # the verdict follows the text, not the file's times
    again = validate_config(cfg, "0.5", {"B": "b", "OTHER": "2"})
    assert again == first == {"config": str(cfg), "line": "0.5", "databases": 2,
                              "directories": 0}  # fmt: skip
    assert composed == []


def test_whatever_the_verdict_depends_on_makes_the_check_run_again(
    home: Path, composed: list[str]
) -> None:
    cfg = write(home, S3 + "      bucket: $B\n")
    env = {"B": "b"}
    runs = [
        (cfg, "0.5", env, {}),
        (cfg, "0.3", {}, {"expand": False}),
        (cfg, "0.5", {"B": "c"}, {}),
        (cfg, "0.5", env, {"missing_dirs_ok": True}),
        (cfg, "0.5", env, {"expand": False}),
    ]
    for path, line, environ, flags in runs:
        composed.clear()
        try:
            validate_config(path, line, environ, **flags)
        except ConfigError:
            pass
        assert composed, (line, environ, flags)
        composed.clear()
    cfg.write_text(cfg.read_text() + "\n")  # any change of the text
    validate_config(cfg, "0.5", env)
    assert composed


def test_a_verdict_holds_only_while_its_directories_exist(home: Path, composed: list[str]) -> None:
    cfg = write(home, "socket:\n  enabled: true\n  path: @/sock/l.sock\n" + DB)
    validate_config(cfg, "0.5", {})
    (home / "sock").rmdir()
    with pytest.raises(ConfigError, match=r":3: directory .*/sock of the control socket"):
        validate_config(cfg, "0.5", {})
    (home / "sock").mkdir(mode=0o700)
    validate_config(cfg, "0.5", {})
    (home / "data").rmdir()
    composed.clear()
    with pytest.raises(ConfigError, match=r":5: directory .*/data of database path"):
        validate_config(cfg, "0.5", {})
    assert composed


def test_a_failing_verdict_is_never_cached(home: Path, composed: list[str]) -> None:
    cfg = write(home, S3 + "      bucket: $B\n")
    for _ in range(2):
        with pytest.raises(ConfigError):
            validate_config(cfg, "0.5", {})
    assert len(composed) == 2  # refused once parsed as written, both times
    assert verdicts() == []
    cfg = write(home, S3 + "      bukket: b\n")
    for _ in range(2):
        with pytest.raises(ConfigError):
            validate_config(cfg, "0.5", {})
    assert len(composed) == 2 + 2 * 2  # as written and expanded, both times
    assert verdicts() == []


def test_a_stored_verdict_is_trusted_as_it_is(home: Path, composed: list[str]) -> None:
    cfg = write(home, DB)
    key = verdict_key(cfg, cfg.read_text(), "0.5", {}, True, False)
    cache.store("validated", {key: {"databases": 7, "directories": 0}})
    assert validate_config(cfg, "0.5", {})["databases"] == 7
    assert composed == []
    # Not a verdict: the check runs, and its own verdict replaces the entry.
    cache.store("validated", {key: "junk"})
    assert validate_config(cfg, "0.5", {})["databases"] == 1
    assert cache.load("validated") == {
        key: {"databases": 1, "directories": 0, "dirs": [f"{home}/data"]}
    }


def test_the_verdict_key(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = home / "conf" / "litestream.yml"
    base = (cfg, "a: $A ${B}\n", "0.5", {"A": "1", "B": "2"}, True, False)
    key = verdict_key(*base)
    assert len(key) == 64 and int(key, 16) >= 0
    assert verdict_key(*base) == key
    # A variable the config does not use does not count; unexpanded, no variable counts.
    assert verdict_key(cfg, base[1], "0.5", {"A": "1", "B": "2", "C": "3"}, True, False) == key
    unexpanded = verdict_key(cfg, base[1], "0.5", {"A": "1"}, False, False)
    assert verdict_key(cfg, base[1], "0.5", {"A": "9", "B": "2"}, False, False) == unexpanded
    others = [
        unexpanded,
        verdict_key(home / "other.yml", *base[1:]),
        verdict_key(cfg, "a: $A ${B} \n", *base[2:]),
        verdict_key(cfg, base[1], "0.3", *base[3:]),
        verdict_key(cfg, base[1], "0.5", {"A": "1", "B": "3"}, True, False),
        verdict_key(cfg, base[1], "0.5", {"A": "1", "B": ""}, True, False),
        verdict_key(cfg, base[1], "0.5", {"A": "1"}, True, False),
        verdict_key(cfg, base[1], "0.5", base[3], True, True),
    ]
    monkeypatch.setenv("HOME", str(home))
    others.append(verdict_key(*base))
    assert len({key, *others}) == len(others) + 1
    assert verdict_key(cfg, "a: 1\n", "0.5", {}, True, False) != verdict_key(
        cfg, "a: 1\n", "0.5", {}, False, False
    )
    # Bad references name no variable; they do not break the key.
    assert len(verdict_key(cfg, "a: ${ ${} $1\n", "0.5", {}, True, False)) == 64
