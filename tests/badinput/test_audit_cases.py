"""Bad input to `audit`, held to the bad-input contract on both Litestream lines: a bucket that
cannot be reached, an empty prefix, a prefix (or directory) holding files Litestream did not
write, a bucket or directory that is not there (exit 1: nothing could be audited), and requests
that are wrong in themselves (exit 2). Wrong credentials are in test_s3_auth.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from badinput_harness import LINES, Case, run_case
from support import S3_KEY_ID, S3_SECRET, S3Server, start_s3

BUCKET = "audit-cases"
CREDENTIALS = {"LITESTREAM_ACCESS_KEY_ID": S3_KEY_ID, "LITESTREAM_SECRET_ACCESS_KEY": S3_SECRET}


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    """moto with a bucket holding files Litestream did not write under junk/."""
    server = start_s3()
    try:
        client = server.client()
        server.create_bucket(BUCKET)
        for key in ("junk/readme.txt", "junk/deeper/data.csv", "junk/deeper/more/x.bin"):
            client.put_object(Bucket=BUCKET, Key=key, Body=b"not litestream")
        yield server
    finally:
        server.stop()


# id -> (url, the words of the one error line)
STORAGE = {
    "empty-prefix": (f"s3://{BUCKET}/nothing-here", "is empty: no Litestream replica under it"),
    "foreign-files": (f"s3://{BUCKET}/junk", "holds no Litestream replica (3 file(s)"),
    "no-bucket": ("s3://no-such-audit-bucket/apps", "the bucket does not exist"),
}


@pytest.mark.parametrize("line", LINES)
@pytest.mark.parametrize("variant", STORAGE)
def test_storage_with_nothing_to_audit(
    s3: S3Server, variant: str, line: str, tmp_path: Path
) -> None:
    url, fragment = STORAGE[variant]
    case = Case(f"audit-{variant}-{line}", ["audit", url, "--endpoint", s3.endpoint], 1, line,
                env=CREDENTIALS, fragments=(fragment,), absent=(S3_SECRET,))  # fmt: skip
    run_case(case, tmp_path)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


CASES = [
    *(
        Case(
            f"audit-unreachable-{line}",
            ["audit", "s3://bucket/apps", "--endpoint", f"http://127.0.0.1:{_closed_port()}"],
            1,
            line,
            env=CREDENTIALS,
            fragments=("the storage is unreachable", "connection refused"),
            absent=(S3_SECRET,),
            bound=15,
        )
        for line in LINES
    ),
    *(
        Case(f"audit-{name}-{line}", argv, code, line, fragments=(fragment,))
        for line in LINES
        for name, argv, code, fragment in [
            (
                "file-foreign",
                ["audit", "file://@ROOT@/data"],
                1,
                "holds no Litestream replica (1 file(s) in 1 directory",
            ),
            ("file-missing", ["audit", "file://@ROOT@/nope"], 1, "nope: no such directory"),
            ("file-relative", ["audit", "file://data"], 2, "a file:// URL names a local path"),
            ("scheme", ["audit", "gs://bucket/apps"], 2, "audit reads s3:// and file:// URLs"),
            ("no-bucket-name", ["audit", "s3:///apps"], 2, "no bucket"),
            (
                "max-age-word",
                ["audit", "file://@ROOT@/data", "--max-age", "soon"],
                2,
                "--max-age takes seconds or a duration",
            ),
            ("max-age-zero", ["audit", "--max-age", "0"], 2, "--max-age must be more than 0"),
            ("max-age-inf", ["audit", "--max-age", "1e999"], 2, "--max-age takes seconds"),
            (
                "url-and-config",
                ["audit", "file://@ROOT@/data", "-c", "litestream.yml"],
                2,
                "either a replica URL or --config",
            ),
            (
                "endpoint-without-url",
                ["audit", "--endpoint", "http://x"],
                2,
                "--endpoint and --region go with a replica URL",
            ),
            (
                "config-without-replica",
                ["audit", "-c", "bare.yml"],
                2,
                "replicates no database: there is nothing to audit",
            ),
        ]
    ),
]


def _unreachable_config(line: str) -> bytes:
    key = "replicas:\n      - " if line == "0.3" else "replica:\n        "
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    return (f"dbs:\n  - path: @ROOT@/app.db\n    {key}type: s3\n        bucket: b\n"
            f"        path: app\n        endpoint: {endpoint}\n").encode()  # fmt: skip


# A replica directory with a Litestream layout and no backup in it.
EMPTY_REPLICA = {
    "0.3": "replica/generations/0123456789abcdef/wal/.keep",
    "0.5": "replica/ltx/0/.keep",
}

CASES += [
    *(
        Case(
            f"audit-config-unreachable-{line}",
            ["audit"],
            1,
            line,
            files={"litestream.yml": _unreachable_config(line)},
            fragments=("the storage is unreachable", "connection refused"),
            bound=15,
        )
        for line in LINES
    ),
    *(
        Case(
            f"audit-empty-replica-{line}",
            ["audit", "file://@ROOT@/replica"],
            1,
            line,
            files={EMPTY_REPLICA[line]: b""},
            fragments=("holds no restore point",),
        )
        for line in LINES
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_audit_bad_input(case: Case, tmp_path: Path) -> None:
    if "bare.yml" in case.argv:
        case.files = {"bare.yml": b"dbs:\n  - path: @ROOT@/app.db\n"}
    run_case(case, tmp_path)
