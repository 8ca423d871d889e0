"""Running one bad-input case and judging it by the README's contract: exactly one
`pylitestream: error:` line, the documented exit code, no traceback, nothing that existed
changed, finished within its bound. Totals per verdict are kept for the closing summary."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from click.testing import CliRunner

from pylitestream import cli

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import fetch_litestream  # noqa: E402

VERSIONS = {"0.3": "0.3.13", "0.5": "0.5.17"}
LINES = tuple(VERSIONS)
TOTALS: Counter[str] = Counter()
"""cases, tracebacks, unclear, wrong_code, changed, hangs: written out at the end of the run."""

# What an error line must never look like: Python's internals, or a Go stack frame in place of
# the message.
_UNCLEAR = re.compile(
    r"Traceback|\b(KeyError|TypeError|AttributeError|IndexError|UnicodeDecodeError|"
    r"RecursionError|NameError|AssertionError)\b|\.go:\d+|object at 0x|^pylitestream: error: *$"
)
MAX_ERROR_CHARS = 1500


def binary_dir(line: str) -> Path:
    return fetch_litestream.fetch(VERSIONS[line], fetch_litestream.host_target()).parent


@dataclass
class Case:
    id: str
    argv: list[str]
    code: int
    """The documented exit code: 0 ok, 1 litestream or the check failed, 2 usage or config,
    126/127 run's app, 130 interrupted."""
    line: str = "0.5"
    files: dict[str, bytes] = field(default_factory=dict)
    """Written into the sandbox before it is hashed (relative path -> content)."""
    env: dict[str, str | None] = field(default_factory=dict)
    """@ROOT@ in a value is the sandbox."""
    fragments: tuple[str, ...] = ()
    """Each must appear in the error line (or, for code 0, in stdout)."""
    absent: tuple[str, ...] = ()
    """None of these may appear anywhere in the output."""
    bound: float = 20.0
    may_change: tuple[str, ...] = ()
    """Files the command may write by design (verify's sentinel row in the live database)."""
    install_dir: Path | None = None
    """LITESTREAM_INSTALL_DIR; default: the real binary of `line`."""
    also: tuple[int, ...] = ()
    """Other exit codes that are right for this input (generated cases: 0 when the input
    happens to be valid, or 1 when litestream itself refuses it)."""
    quiet: bool = False
    """A failure that says nothing (a closed pipe: the reader went away on purpose)."""


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    seconds: float
    crash: str = ""


def sandbox_files(root: Path, line: str) -> dict[str, bytes]:
    """The files every case starts from: a live database, a valid config for `line`, a data dir."""
    if line == "0.3":
        block = f"    replicas:\n      - type: file\n        path: {root}/replica"
    else:
        block = f"    replica:\n      type: file\n      path: {root}/replica"
    config = f"dbs:\n  - path: {root}/app.db\n{block}\n"
    return {"litestream.yml": config.encode(), "data/keep.txt": b"keep\n"}


def make_sandbox(root: Path, case: Case) -> None:
    root.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(root / "app.db")
    conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.close()
    for name, content in {**sandbox_files(root, case.line), **case.files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.replace(b"@ROOT@", str(root).encode()))


def snapshot(root: Path) -> dict[str, str]:
    """Every file and symlink under root: its kind, mode and content hash."""
    found = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = Path(directory, name)
            st = path.lstat()
            if path.is_symlink():
                digest = "link:" + os.readlink(path)
            elif path.is_file():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                digest = "special"
            found[str(path.relative_to(root))] = f"{st.st_mode:o}:{digest}"
    return found


class _Main(click.Command):
    """pylitestream's real entry point (cli.main), so CliRunner sees exactly what a user sees:
    the one-line errors and exit codes are made there, not by click."""

    def main(self, args: Sequence[str] | None = None, **_extra: object) -> None:  # type: ignore[override]
        cli.main(list(args or []))


def _refuse_exec(*args: object) -> None:
    raise AssertionError("the case reached exec: litestream would have replaced the test")


def invoke(argv: Sequence[str], env: Mapping[str, str | None], cwd: Path) -> Outcome:
    """In-process, through click's CliRunner (Typer's is a thin wrapper of it)."""
    runner = CliRunner()
    previous_dir = os.getcwd()
    previous_term = signal.getsignal(signal.SIGTERM)
    real_exec = os.execvpe
    os.execvpe = _refuse_exec  # type: ignore[assignment]
    os.chdir(cwd)
    start = time.monotonic()
    try:
        result = runner.invoke(_Main("pylitestream"), list(argv), env=dict(env))
    finally:
        seconds = time.monotonic() - start
        os.chdir(previous_dir)
        os.execvpe = real_exec
        signal.signal(signal.SIGTERM, previous_term)
    crash = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        crash = "".join(traceback.format_exception(result.exception))
    code = result.exit_code if result.exit_code is not None else -1
    return Outcome(code, result.stdout, result.stderr, seconds, crash)


def invoke_process(
    argv: Sequence[str], env: Mapping[str, str | None], cwd: Path, *, timeout: float = 60,
    **popen: object,
) -> Outcome:  # fmt: skip
    """The real CLI in a subprocess, for what only a real process shows (pipes, signals)."""
    full_env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    start = time.monotonic()
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
    proc = subprocess.run(
        [sys.executable, "-m", "pylitestream", *argv],
        text=True, env=full_env, cwd=cwd, timeout=timeout, check=False,
        **streams,  # type: ignore[call-overload]
    )  # fmt: skip
    return Outcome(proc.returncode, proc.stdout or "", proc.stderr or "",
                   time.monotonic() - start)  # fmt: skip


def case_env(case: Case) -> dict[str, str | None]:
    install = case.install_dir or binary_dir(case.line)
    return {"LITESTREAM_INSTALL_DIR": str(install), "PYLITESTREAM_TIMEOUT": None,
            "LITESTREAM_CONFIG": None, **case.env}  # fmt: skip


def judge(case: Case, outcome: Outcome, before: dict[str, str], after: dict[str, str]) -> None:
    """Count the verdicts, then assert them all at once with everything needed to debug."""
    problems = []
    errors = [line for line in outcome.err.splitlines() if line.startswith("pylitestream: error:")]
    others = [
        line
        for line in outcome.err.splitlines()
        if line.strip() and not line.startswith(("pylitestream: error:", "pylitestream: warning:"))
    ]
    everything = outcome.out + outcome.err + outcome.crash
    if case.quiet and outcome.err.strip():
        problems.append("said something on a closed pipe")
    if outcome.crash or "Traceback" in everything:
        TOTALS["tracebacks"] += 1
        problems.append("traceback")
    right_code = outcome.code == case.code or outcome.code in case.also
    code = outcome.code if right_code else case.code
    wanted_lines = 0 if code == 0 or case.quiet else 1
    unclear = len(errors) != wanted_lines or bool(others and code != 0)
    for line in errors:
        unclear |= bool(_UNCLEAR.search(line)) or len(line) > MAX_ERROR_CHARS
    text = errors[0] if errors else outcome.out
    missing = [f for f in case.fragments if f not in text]
    present = [a for a in case.absent if a in everything]
    if unclear or missing or present:
        TOTALS["unclear"] += 1
        problems.append(f"unclear (missing {missing}, present {present})")
    if not right_code:
        TOTALS["wrong_code"] += 1
        problems.append(f"exit {outcome.code}, documented {case.code}")
    changed = [
        name for name, digest in before.items()
        if after.get(name) != digest and name not in case.may_change
    ]  # fmt: skip
    if changed:
        TOTALS["changed"] += 1
        problems.append(f"changed {changed}")
    if outcome.seconds > case.bound:
        TOTALS["hangs"] += 1
        problems.append(f"took {outcome.seconds:.1f} s, bound {case.bound} s")
    TOTALS["cases"] += 1
    log = os.environ.get("PYLITESTREAM_BADINPUT_LOG")  # for reading every message at once
    if log:
        with open(log, "a") as file:
            file.write(f"{case.id}\t{outcome.code}\t{errors[0] if errors else '-'}\n")
    assert not problems, (problems, case.argv, outcome)


def run_case(case: Case, root: Path, runner: Callable[..., Outcome] | None = None) -> Outcome:
    make_sandbox(root, case)
    before = snapshot(root)
    argv = [arg.replace("@ROOT@", str(root)) for arg in case.argv]
    env = {k: v if v is None else v.replace("@ROOT@", str(root)) for k, v in case_env(case).items()}
    outcome = (runner or invoke)(argv, env, root)
    judge(case, outcome, before, snapshot(root))
    return outcome


def report(terminalreporter: Any) -> None:
    """The totals line at the end of a run (tests/conftest.py calls this), also kept in
    .cache/badinput-totals.json for the record."""
    import json

    if not TOTALS["cases"]:
        return
    keys = ("cases", "tracebacks", "unclear", "wrong_code", "changed", "hangs")
    totals = {key: TOTALS[key] for key in keys}
    terminalreporter.write_line(f"bad-input cases: {json.dumps(totals)}")
    out = ROOT / ".cache" / "badinput-totals.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(totals, indent=2) + "\n")
