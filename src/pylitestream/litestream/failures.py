"""One classification of Litestream and S3 failures, shared by `verify`, `check` and the
dashboard (which shows theirs):

    auth            the replica refused the credentials or the permission
    not_found       the bucket does not exist (or is not at this endpoint or region)
    unreachable     nothing answers: connection refused, DNS, TLS, no route
    timeout         the endpoint takes connections, but litestream did not finish in time
    no_backup       the replica holds no backup of this database
    corrupt         the replica's files cannot be decoded
    restore_failed  anything else litestream said

`auth` and `not_found` are PERMANENT: waiting does not change them, so verify fails on them at
once instead of retrying until its timeout. Litestream 0.5 retries a dead endpoint for about two
minutes without a word, so a timeout is told apart from an unreachable endpoint by trying a TCP
connection to the endpoint ourselves.
"""

from __future__ import annotations

import re
import socket
from typing import Any
from urllib.parse import urlparse

PERMANENT = frozenset({"auth", "not_found"})

# Error codes of S3 and its clones, as litestream passes them on (0.3: "InvalidAccessKeyId: ...",
# 0.5: "api error InvalidAccessKeyId: ..."). Matched first and whole, case and all: the generic
# words below would misread them ("InvalidAccessKeyId" contains "invalid").
_AUTH_CODES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken",
               "ExpiredToken", "InvalidClientTokenId", "AuthorizationHeaderMalformed",
               "AccountProblem", "AllAccessDisabled", "NoCredentialProviders")  # fmt: skip
_NOT_FOUND_CODES = ("NoSuchBucket", "PermanentRedirect", "InvalidBucketName")
_S3_CODES = {**dict.fromkeys(_AUTH_CODES, "auth"), **dict.fromkeys(_NOT_FOUND_CODES, "not_found")}
_S3_CODE = re.compile(r"\b(" + "|".join(_S3_CODES) + r")\b")
# litestream's other messages (0.3 and 0.5) sorted into reasons; the first match wins.
_NO_BACKUP = ("no matching backup", "no generations", "no snapshots available")
_AUTH = ("forbidden", "credentials", "status code: 401", "status code: 403", "statuscode: 401",
         "statuscode: 403")  # fmt: skip
_NOT_FOUND = ("status code: 404", "statuscode: 404", "bucket does not exist")
_TIMEOUT = ("i/o timeout", "deadline exceeded", "timeout", "timed out")
_UNREACHABLE = ("connection refused", "dial tcp", "no such host", "connection reset", "tls:",
                "send request", "requesterror", "network is unreachable", "broken pipe",
                "http response to https client",
                # Go's url.Parse on the replica URL: the replica, as written, cannot be reached.
                'parse "', "invalid port", "missing protocol scheme")  # fmt: skip
_CORRUPT = ("decode", "lz4", "unexpected eof", "checksum", "corrupt", "malformed", "invalid",
            "magic", "header", "cannot restore snapshot", "not a database")  # fmt: skip
_WORDS = (("no_backup", _NO_BACKUP), ("auth", _AUTH), ("not_found", _NOT_FOUND),
          ("unreachable", _UNREACHABLE), ("timeout", _TIMEOUT), ("corrupt", _CORRUPT))  # fmt: skip

# The AWS SDK's wording, which Litestream 0.5 passes on behind its own call chain ("get v0.3.x
# time bounds: s3: list generations: ..."): it says "https" even for an http:// endpoint.
_AWS_ERROR = re.compile(
    r"operation error S3: (?P<operation>\w+), https? response error StatusCode: (?P<status>\d+)"
    r"(?:, RequestID: [^,]*)?(?:, HostID: [^,]*)?, (?P<error>.+)"
)

PROBE_SECONDS = 2.0
"""How long the TCP probe of an endpoint waits for the connection."""


def classify(message: str) -> str:
    """The reason for one of litestream's error messages."""
    code = _S3_CODE.search(message)
    if code:
        return _S3_CODES[code.group(1)]
    text = message.lower()
    for reason, fragments in _WORDS:
        if any(fragment in text for fragment in fragments):
            return reason
    return "restore_failed"


def plain_message(message: str) -> str:
    """litestream's error with an AWS SDK error reduced to what it says: "S3 ListObjectsV2:
    HTTP 404: NoSuchBucket: The specified bucket does not exist" instead of a chain naming 0.3
    layouts, "https" and request ids."""
    found = _AWS_ERROR.search(message)
    if not found:
        return message
    return f"S3 {found['operation']}: HTTP {found['status']}: {found['error']}"


def endpoint_of(entry: dict[str, Any]) -> str | None:
    """The S3-compatible endpoint a `dbs:` entry's replica names (`endpoint:`, or `?endpoint=`
    in its `url:`), or None: AWS itself, or not S3."""
    from ..config.load import replicas_of

    for replica in replicas_of(entry):
        if replica.get("endpoint"):
            return str(replica["endpoint"])
        found = re.search(r"[?&]endpoint=([^&]+)", str(replica.get("url") or ""))
        if found:
            return found.group(1)
    return None


def endpoint_problem(endpoint: str, timeout: float = PROBE_SECONDS) -> str | None:
    """Why a TCP connection to `endpoint` fails ("connection refused", ...), or None if it
    connects (or the endpoint cannot be parsed: litestream says so itself)."""
    parsed = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}")
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        return None
    if not parsed.hostname:
        return None
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout):
            return None
    except socket.gaierror as exc:
        return f"{parsed.hostname} does not resolve ({exc.strerror})"
    except TimeoutError:
        return f"{parsed.hostname}:{port} did not accept a connection within {timeout:g} s"
    except OSError as exc:
        return f"{parsed.hostname}:{port}: {(exc.strerror or str(exc)).lower()}"


def timeout_reason(endpoint: str | None) -> tuple[str, str]:
    """("unreachable", why) when a TCP connection to `endpoint` fails, else ("timeout", ""):
    for a litestream command against that replica that did not finish in time."""
    problem = endpoint_problem(endpoint) if endpoint else None
    return ("unreachable", problem) if problem else ("timeout", "")
