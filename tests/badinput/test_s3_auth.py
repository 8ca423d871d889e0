"""Wrong credentials and missing buckets on a real S3 API: moto's server with authentication on
(IAM users and keys created first, then /moto-api/reset-auth turns checking on). Credentials
and permissions are `auth`, a missing bucket `not_found`, never `corrupt`. verify fails on them
at once: they do not go away by waiting, so its 30 s timeout is never waited out (`bound`)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from badinput_harness import LINES, Case, run_case
from support import S3Server, start_s3

BUCKET = "badinput"
WRONG_SECRET = "wrong-secret-value-for-tests"


@pytest.fixture(scope="module")
def auth_s3() -> Iterator[tuple[S3Server, dict[str, tuple[str, str, str]]]]:
    import boto3

    server = start_s3()
    try:
        iam = boto3.client("iam", endpoint_url=server.endpoint, region_name="us-east-1",
                           aws_access_key_id="setup", aws_secret_access_key="setup")  # fmt: skip
        iam.create_user(UserName="allowed")
        policy = {"Version": "2012-10-17",
                  "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}  # fmt: skip
        iam.put_user_policy(UserName="allowed", PolicyName="all", PolicyDocument=json.dumps(policy))
        good = iam.create_access_key(UserName="allowed")["AccessKey"]
        iam.create_user(UserName="powerless")  # no policy: every action is denied
        weak = iam.create_access_key(UserName="powerless")["AccessKey"]
        server.create_bucket(BUCKET)
        request = urllib.request.Request(
            server.endpoint + "/moto-api/reset-auth", data=b"0", method="POST",
            headers={"Content-Type": "text/plain"},
        )  # fmt: skip
        urllib.request.urlopen(request, timeout=10).read()
        credentials = {
            "unknown-key": ("AKIANOSUCHKEY0000000", WRONG_SECRET, BUCKET),
            "wrong-secret": (good["AccessKeyId"], WRONG_SECRET, BUCKET),
            "no-permission": (weak["AccessKeyId"], weak["SecretAccessKey"], BUCKET),
            "no-bucket": (good["AccessKeyId"], good["SecretAccessKey"], "no-such-bucket"),
        }
        yield server, credentials
    finally:
        server.stop()


# variant -> (S3 error code litestream passes on, verify's reason)
EXPECTED = {
    "unknown-key": ("InvalidAccessKeyId", "auth"),
    "wrong-secret": ("SignatureDoesNotMatch", "auth"),
    "no-permission": ("AccessDenied", "auth"),
    "no-bucket": ("NoSuchBucket", "not_found"),
}


def _config(line: str, endpoint: str, key_id: str, secret: str, bucket: str) -> bytes:
    replica = (f"type: s3\n{{i}}bucket: {bucket}\n{{i}}path: app\n{{i}}endpoint: {endpoint}\n"
               f"{{i}}region: us-east-1\n{{i}}force-path-style: true\n"
               f"{{i}}access-key-id: {key_id}\n{{i}}secret-access-key: {secret}\n")  # fmt: skip
    if line == "0.3":
        block = "    replicas:\n      - " + replica.format(i="        ")
    else:
        block = "    replica:\n      " + replica.format(i="      ")
    return f"dbs:\n  - path: @ROOT@/app.db\n{block}".encode()


COMMANDS = {
    "restore": (["restore", "-d", "app.db", "--", "-o", "restored.db"], "code"),
    "verify": (["verify", "-d", "app.db", "--timeout", "30"], "reason"),
    "snapshots": (["snapshots", "-d", "app.db"], "code"),
    "wal": (["wal", "-d", "app.db"], "code"),
}


@pytest.mark.parametrize("line", LINES)
@pytest.mark.parametrize("variant", EXPECTED)
@pytest.mark.parametrize("command", COMMANDS)
def test_wrong_credentials(
    auth_s3: tuple[S3Server, dict[str, tuple[str, str, str]]], command: str, variant: str,
    line: str, tmp_path: Path,
) -> None:  # fmt: skip
    server, credentials = auth_s3
    key_id, secret, bucket = credentials[variant]
    code, reason = EXPECTED[variant]
    argv, wants = COMMANDS[command]
    fragment = f"{reason}:" if wants == "reason" else code
    case = Case(
        f"s3-{variant}-{line}-{command}", argv, 1, line,
        files={"litestream.yml": _config(line, server.endpoint, key_id, secret, bucket)},
        fragments=(fragment,), bound=20,
        # litestream 0.5's call chain and the AWS SDK's "https" (said of an http:// endpoint)
        absent=("corrupt", WRONG_SECRET, secret, "v0.3.x", "https response error"),
        may_change=("app.db",) if command == "verify" else (),
    )  # fmt: skip
    run_case(case, tmp_path)


CHECK_SAYS = {"auth": "the replica refused the credentials", "not_found": "bucket does not exist"}


@pytest.mark.parametrize("variant", EXPECTED)
def test_check_names_the_failure_as_verify_does(
    auth_s3: tuple[S3Server, dict[str, tuple[str, str, str]]], variant: str, tmp_path: Path
) -> None:
    """0.3's check lists the replica itself (0.5's asks the daemon, which needs one running):
    the same words as verify's reason, not "unreachable"."""
    server, credentials = auth_s3
    key_id, secret, bucket = credentials[variant]
    reason = EXPECTED[variant][1]
    case = Case(
        f"s3-{variant}-0.3-check", ["check", "-d", "app.db"], 1, "0.3",
        files={"litestream.yml": _config("0.3", server.endpoint, key_id, secret, bucket)},
        fragments=(CHECK_SAYS[reason],), absent=("unreachable", WRONG_SECRET, secret), bound=20,
    )  # fmt: skip
    run_case(case, tmp_path)


AUDIT_SAYS = {
    "auth": "the storage refused the credentials",
    "not_found": "the bucket does not exist",
}
CONFIG_AUDIT_SAYS = {
    "auth": "the storage refused the credentials",
    "not_found": "the bucket does not exist",
}


@pytest.mark.parametrize("line", LINES)
@pytest.mark.parametrize("variant", EXPECTED)
def test_audit_with_wrong_credentials(
    auth_s3: tuple[S3Server, dict[str, tuple[str, str, str]]], variant: str, line: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    """audit of a bucket prefix with the credentials in the environment (its listing of the
    prefixes), and of a config (litestream's listing of each replica): one line each, the S3
    code named, the secret nowhere."""
    server, credentials = auth_s3
    key_id, secret, bucket = credentials[variant]
    code, reason = EXPECTED[variant]
    env = {"LITESTREAM_ACCESS_KEY_ID": key_id, "LITESTREAM_SECRET_ACCESS_KEY": secret}
    by_url = Case(
        f"s3-{variant}-{line}-audit-url", ["audit", f"s3://{bucket}/apps", "--endpoint",
        server.endpoint], 1, line, env=env, fragments=(AUDIT_SAYS[reason], code),
        absent=(WRONG_SECRET, secret), bound=20,
    )  # fmt: skip
    run_case(by_url, tmp_path / "url")
    by_config = Case(
        f"s3-{variant}-{line}-audit-config", ["audit"], 1, line,
        files={"litestream.yml": _config(line, server.endpoint, key_id, secret, bucket)},
        fragments=(AUDIT_SAYS[reason], code),
        absent=("corrupt", WRONG_SECRET, secret, "v0.3.x", "https response error"), bound=20,
    )  # fmt: skip
    run_case(by_config, tmp_path / "config")
