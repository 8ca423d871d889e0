"""Running litestream: argv lists only, stdout and stderr apart, failures as typed exceptions."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import NamedTuple, NoReturn

from ..errors import CommandFailed, CommandTimeout
from .binary import Binary
from .failures import plain_message
from .records import error_line
from .timeouts import TIMEOUT_VAR, check_timeout, default_timeout


class Completed(NamedTuple):
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def litestream_env(binary: Binary) -> dict[str, str]:
    """The environment litestream runs with: os.environ, plus configure() and pyproject.toml
    settings as LITESTREAM_* variables where the environment has none; for 0.5, AWS_CA_BUNDLE
    moved out of the way (see move_ca_bundle)."""
    from ..config.settings import effective_env

    env = effective_env()
    if binary.profile.ca_bundle_breaks_s3:
        note = move_ca_bundle(env)
        if note:
            _note_once(note)
    return env


# Where Linux distributions and macOS keep the system CA bundle; Go reads these on its own.
SYSTEM_CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
)


def _is_one_of(path: str, others: tuple[str, ...] | list[str]) -> bool:
    """Whether `path` is the same file as one of `others`, symlinks followed."""
    real = os.path.realpath(path)
    return any(os.path.realpath(other) == real for other in others if other)


def move_ca_bundle(env: dict[str, str]) -> str | None:
    """Litestream 0.5's S3 client fails on every call when AWS_CA_BUNDLE is set ("unable to add
    custom RootCAs HTTPClient"), so it never sees the variable. A custom bundle is handed to Go
    the way Go reads one, SSL_CERT_FILE, unless that is already set to something else; then
    the returned note says the bundle is not trusted."""
    bundle = env.pop("AWS_CA_BUNDLE", "")
    if not bundle or _is_one_of(bundle, SYSTEM_CA_FILES):
        return None
    current = env.get("SSL_CERT_FILE", "")
    if not current:
        env["SSL_CERT_FILE"] = bundle
        return None
    if _is_one_of(bundle, [current]):
        return None
    return (
        f"Litestream 0.5 cannot use AWS_CA_BUNDLE={bundle}, and SSL_CERT_FILE={current} is "
        "already set, so the bundle is not trusted; to trust it, set SSL_CERT_FILE to it "
        "(or to a file holding both)"
    )


_noted: set[str] = set()


def _note_once(message: str) -> None:
    if message not in _noted:
        _noted.add(message)
        from .. import logs

        logs.get(__name__).warning(message)


def run_litestream(
    binary: Binary,
    args: list[str],
    *,
    timeout: float | None = None,
    errors_in_log_fail: bool = False,
) -> Completed:
    """Run `litestream ARGS`. Raise CommandFailed on a non-zero exit or, with errors_in_log_fail,
    on an ERROR log line (0.3 listing commands exit 0 when the replica fails)."""
    argv = [str(binary.path), *args]
    seconds = default_timeout() if timeout is None else check_timeout(timeout, "timeout")
    try:
        result = _run_to_the_end(argv, litestream_env(binary), seconds)
    except subprocess.TimeoutExpired as exc:
        raise CommandTimeout(
            f"litestream {args[0]} did not finish within {seconds:g} s "
            f"(is the replica reachable? raise the limit with --timeout or {TIMEOUT_VAR})",
            argv=argv,
            stdout=_text(exc.stdout),
            stderr=_text(exc.stderr),
        ) from None
    except OSError as exc:
        raise CommandFailed(f"cannot run {binary.path}: {exc.strerror or exc}", argv=argv) from None
    completed = Completed(argv, result.returncode, result.stdout, result.stderr)
    if result.returncode != 0:
        message = plain_message(error_line(result.stdout, result.stderr) or _last_line(result))
        raise CommandFailed(
            message,
            argv=argv,
            returncode=result.returncode,
            stdout=result.stdout,
            stderr=result.stderr,
        )
    if errors_in_log_fail:
        logged = error_line(result.stdout, result.stderr)
        if logged:
            raise CommandFailed(
                plain_message(logged),
                argv=argv,
                returncode=0,
                stdout=result.stdout,
                stderr=result.stderr,
            )
    return completed


def _run_to_the_end(
    argv: list[str], env: dict[str, str], seconds: float
) -> subprocess.CompletedProcess[str]:
    """subprocess.run, except that a Ctrl-C or SIGTERM here kills litestream and waits until it
    is gone before going on. subprocess.run kills it and goes on at once, and a restore whose
    last write or rename lands after that leaves a file behind the caller's cleanup (verify's
    work directory in TMPDIR: seen under load in test_verify_interrupted_leaves_nothing)."""
    with subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=env,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=seconds)
        except BaseException:  # the timeout too: its exception holds the output so far
            proc.kill()
            proc.wait()
            raise
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    for stream in (result.stderr, result.stdout):
        lines = [line for line in stream.splitlines() if line.strip()]
        if lines:
            return lines[-1].strip()
    return f"litestream exited {result.returncode} without a message"


def exec_litestream(binary: Binary, args: list[str]) -> NoReturn:
    """Replace this process with litestream: its signals, exit code and logs are then its own."""
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [str(binary.path), *args]
    os.execvpe(argv[0], argv, litestream_env(binary))
