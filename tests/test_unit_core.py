"""Parsing of outputs recorded from the real binaries, error-line extraction, lookup rules."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pylitestream.errors import (
    BinaryNotFound,
    ParseError,
    UnsupportedPlatform,
    UnsupportedVersion,
    UsageError,
)
from pylitestream.litestream import binary, records
from pylitestream.masking import mask_env_value, redact

DATA = Path(__file__).parent / "data"


def read(name: str) -> str:
    return (DATA / name).read_text()


def test_parse_03_tables() -> None:
    assert records.databases_03(read("0.3-databases.txt")) == [
        {"path": "/srv/appdat/db.sqlite", "replicas": ["file"]}
    ]
    (gen,) = records.generations_03(read("0.3-generations.txt"))
    assert gen == {"replica": "file", "generation": "4e0083199c4820c1", "lag_ms": 984,
                   "start": "2026-11-26T20:16:41Z", "end": "2026-11-26T20:16:42Z"}  # fmt: skip
    (snap,) = records.snapshots_03(read("0.3-snapshots.txt"))
    assert snap["index"] == 0 and snap["size"] == 354 and snap["min_txid"] is None
    wal = records.wal_03(read("0.3-wal.txt"))
    assert [(w["offset"], w["size"]) for w in wal] == [(0, 451), (16512, 95)]
    assert tuple(wal[0]) == records.WAL_KEYS


def test_parse_05_json() -> None:
    assert records.databases_05(read("0.5-databases.json")) == [
        {"path": "/srv/appdat/db5.sqlite", "replicas": ["file"]}
    ]
    (status,) = records.status_05(read("0.5-status.json"))
    assert status == {"database": "/srv/appdat/db5.sqlite", "status": "ok",
                      "local_txid": "0000000000000002", "wal_size": 21000}  # fmt: skip
    ltx = records.ltx_05(read("0.5-ltx-all.json"))
    assert [entry["level"] for entry in ltx] == [0, 0, 1, 9]
    assert ltx[0]["created"] == "2026-11-26T20:16:41Z"  # JSON says "timestamp"
    snaps = records.snapshots_05(json.dumps([e for e in json.loads(read("0.5-ltx-all.json"))
                                             if e["level"] == 9]))  # fmt: skip
    assert tuple(snaps[0]) == records.SNAPSHOT_KEYS and snaps[0]["index"] is None
    assert records.ltx_05("[]") == [] and records.ltx_05("null") == []


def test_table_parser_keeps_spaces_and_empty_cells() -> None:
    text = "path                 replicas\n/srv/my app/db.sqlite  s3,file\n/srv/b.db\n"
    rows = records.parse_table(text)
    assert rows == [{"path": "/srv/my app/db.sqlite", "replicas": "s3,file"},
                    {"path": "/srv/b.db", "replicas": ""}]  # fmt: skip
    assert records.databases_03(text)[1]["replicas"] == []


@pytest.mark.parametrize(
    ("text", "ms"),
    [("984ms", 984), ("-179ms", -179), ("0s", 0), ("1.5s", 1500), ("2m3.5s", 123500),
     ("1h0m0s", 3600000), ("250µs", 0), ("1500us", 2)],
)  # fmt: skip
def test_go_durations(text: str, ms: int) -> None:
    assert records.duration_ms(text) == ms


def test_bad_values_raise_parse_error() -> None:
    with pytest.raises(ParseError):
        records.duration_ms("soon")
    with pytest.raises(ParseError):
        records.generations_03("name  generation  lag  start  end\nfile  abc  1ms  never  never\n")
    assert records.humanized_bytes("1.2 MB") == 1_200_000
    assert records.humanized_bytes("-") is None


@pytest.mark.parametrize(
    ("stdout", "stderr", "expected"),
    [
        ("", "0.3-missing-config.stderr.txt", "config file not found: /srv/appdat/nope.yml"),
        ("0.3-not-in-config.stdout.txt", "", "database not found in config: /tmp/other.db"),
        ("", "0.5-not-in-config.stderr.txt", "database not found in config: /tmp/other.db"),
        ("", "0.5-bad-txid.stderr.txt", 'invalid value "2" for flag -txid: invalid txid format'),
        ("", "0.3-bad-flag.stderr.txt", "flag provided but not defined: -bogus"),
        ("", "0.5-bad-flag.stderr.txt", "flag provided but not defined: -bogus"),
    ],
)
def test_error_line_from_recorded_output(stdout: str, stderr: str, expected: str) -> None:
    out = read(stdout) if stdout else ""
    err = read(stderr) if stderr else ""
    assert records.error_line(out, err) == expected


def test_03_listing_error_in_log_is_found_even_with_exit_0() -> None:
    out = read("0.3-generations-unreachable.stdout.txt")
    line = records.error_line(out, "")
    assert line is not None
    assert line.startswith("cannot list generations: RequestError: send request failed")
    assert "connection refused" in line and "\n" not in line
    # ...and the table after the log line still parses (to nothing).
    assert records.generations_03(out) == []


@pytest.mark.parametrize(
    ("text", "version", "line"),
    [("v0.3.13\n", "0.3.13", "0.3"), ("0.5.17\n", "0.5.17", "0.5"), ("v0.5.2", "0.5.2", "0.5")],
)
def test_version_strings(text: str, version: str, line: str) -> None:
    assert binary.parse_version(text) == version
    assert binary.version_line(version) == line


@pytest.mark.parametrize("text", ["(development build)", "", "1.0.0", "0.4.0"])
def test_unsupported_versions(text: str) -> None:
    with pytest.raises(UnsupportedVersion):
        binary.version_line(binary.parse_version(text))


def test_wheel_candidates_cover_venv_user_prefix_target(monkeypatch: pytest.MonkeyPatch) -> None:
    candidates = [str(p) for p in binary._wheel_candidates()]
    import sysconfig

    assert candidates[0] == os.path.join(sysconfig.get_path("scripts"), "litestream")
    assert any(".local/bin/litestream" in c for c in candidates)
    # --target layout: <target>/pylitestream/ -> <target>/bin/litestream
    package_parent = (
        Path(binary.__file__).resolve().parent.parent.parent
    )  # litestream/ is one deeper
    assert str(package_parent / "bin" / "litestream") in candidates


def test_no_binary_errors_name_platform_and_fix(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.delenv("LITESTREAM_INSTALL_DIR", raising=False)
    monkeypatch.setattr(binary, "_wheel_candidates", lambda: [tmp_path / "litestream"])
    with pytest.raises(BinaryNotFound) as found:
        binary.find_binary_path()
    message = str(found.value)
    assert binary.target_name() in message and "LITESTREAM_INSTALL_DIR" in message

    monkeypatch.setattr(binary.sys, "platform", "win32")
    with pytest.raises(UnsupportedPlatform, match="does not run on Windows"):
        binary.find_binary_path()

    monkeypatch.setattr(binary.sys, "platform", "linux")
    monkeypatch.setattr("platform.machine", lambda: "armv7l")
    with pytest.raises(UnsupportedPlatform) as unsupported:
        binary.find_binary_path()
    assert "linux-armv7l" in str(unsupported.value)
    assert "linux-x86_64" in str(unsupported.value)
    assert "LITESTREAM_INSTALL_DIR" in str(unsupported.value)


def test_import_runs_nothing_and_loads_little() -> None:
    code = (
        "import subprocess, sys\n"
        "calls = []\n"
        "subprocess.Popen.__init__ = lambda *a, **k: calls.append(a)\n"
        "import pylitestream\n"
        "heavy = [m for m in ('typer', 'rich', 'yaml', 'httpx', 'pylitestream.api') "
        "if m in sys.modules]\n"
        "print(calls, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] []"


def test_every_public_name_resolves_and_unknown_names_raise_attribute_error() -> None:
    import pylitestream
    from pylitestream import api

    for name in pylitestream.__all__:
        assert getattr(pylitestream, name) is not None, name
    # The package's API names are the front door's, lazily loaded ones included.
    assert pylitestream.restore is api.restore
    assert pylitestream.Replicator is api.Replicator
    assert pylitestream.check is api.check
    with pytest.raises(AttributeError, match="module 'pylitestream' has no attribute 'nope'"):
        _ = pylitestream.nope  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match=r"module 'pylitestream\.api' has no attribute 'nope'"):
        _ = api.nope  # type: ignore[attr-defined]


def test_command_modules_give_typer_real_annotations() -> None:
    """With `from __future__ import annotations`, Typer evaluates every command's annotations
    from strings at each start (10 ms of start-up, bench/bench_cli.py)."""
    import pylitestream

    cli_dir = Path(pylitestream.__file__).parent / "cli"
    commands = [p for p in cli_dir.glob("*.py") if "@app." in p.read_text()]
    assert {p.name for p in commands} >= {"__init__.py", "listings.py", "daemon.py"}
    future = re.compile(r"^from __future__ import annotations", re.M)
    assert [p.name for p in commands if future.search(p.read_text())] == []


def test_masking() -> None:
    assert mask_env_value("LITESTREAM_SECRET_ACCESS_KEY", "abc") == "****"
    assert mask_env_value("AWS_SESSION_TOKEN", "abcdef") == "****"
    assert mask_env_value("LITESTREAM_ACCESS_KEY_ID", "AKIAABCDEFGH1234") == "****1234"
    assert mask_env_value("LITESTREAM_REPLICA_BUCKET", "b") == "b"
    assert mask_env_value("LITESTREAM_REPLICA_URL", "sftp://u:pw@h/x") == "sftp://u:****@h/x"
    assert redact("error: key hunter2 bad", ["hunter2"]) == "error: key **** bad"


def test_the_front_doors_helpers_for_the_cli_resolve() -> None:
    """The CLI and the dashboard reach the library only through pylitestream.api (an
    import-linter contract): every lazily loaded name and every command's columns must load."""
    from pylitestream import api

    for name in api._SOURCES:
        assert getattr(api, name) is not None, name
    for command in api._COLUMNS:
        assert api.columns(command) and all(isinstance(c, str) for c in api.columns(command))
    assert api.profile("0.5").control_socket and not api.profile("0.3").control_socket
    with pytest.raises(UsageError):
        api.profile("0.4")
