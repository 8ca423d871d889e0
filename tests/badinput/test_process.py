"""Bad input only a real process shows: a full disk or a closed pipe on stdout, SIGTERM during
verify, and output that is not a terminal (never cut at 80 columns)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from badinput_harness import LINES, Case, Outcome, binary_dir, invoke_process, run_case
from support import default_sigint

WRITERS = [["env", "--json"], ["version"], ["version", "--json"], ["config", "show"],
           ["databases", "--json"], ["databases"], ["config", "check", "--json"]]  # fmt: skip


@pytest.mark.parametrize("line", LINES)
@pytest.mark.parametrize("argv", WRITERS, ids=["-".join(a) for a in WRITERS])
def test_full_disk(argv: list[str], line: str, tmp_path: Path) -> None:
    """/dev/full: one line saying stdout could not be written, exit 1."""

    def runner(args: list[str], env: dict[str, Any], cwd: Path) -> Outcome:
        with open("/dev/full", "w") as full:
            return invoke_process(args, env, cwd, stdout=full)

    case = Case(f"full-{line}", argv, 1, line, fragments=("cannot write to stdout",))
    run_case(case, tmp_path, runner)


@pytest.mark.parametrize("line", LINES)
@pytest.mark.parametrize("argv", WRITERS, ids=["-".join(a) for a in WRITERS])
def test_closed_pipe(argv: list[str], line: str, tmp_path: Path) -> None:
    """`| head` that has already gone: exit 1 and not a word on stderr."""

    def runner(args: list[str], env: dict[str, Any], cwd: Path) -> Outcome:
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            return invoke_process(args, env, cwd, stdout=write_end, stderr=subprocess.PIPE)
        finally:
            os.close(write_end)

    run_case(Case(f"pipe-{line}", argv, 1, line, quiet=True), tmp_path, runner)


@pytest.mark.parametrize("line", LINES)
def test_not_a_terminal_is_not_cut(line: str, tmp_path: Path) -> None:
    """Off a terminal every character of a long path comes through (Rich would cut at 80)."""
    deep = tmp_path / ("d" * 60) / ("e" * 60) / ("f" * 60)
    deep.mkdir(parents=True)
    (deep / "litestream").symlink_to(binary_dir(line) / "litestream")
    db = f"{deep}/application-database-with-a-long-name.sqlite3"
    replica = "replicas:\n      - path: /srv/r" if line == "0.3" else "replica:\n      path: /srv/r"
    config = f"dbs:\n  - path: {db}\n    {replica}\n"
    files = {"litestream.yml": config.encode()}
    for argv, wanted in ((["databases"], db), (["version"], str(deep / "litestream"))):
        case = Case(f"wide-{line}", argv, 0, line, files=files, fragments=(wanted,),
                    install_dir=deep)  # fmt: skip
        run_case(case, tmp_path / argv[0], lambda a, e, c: invoke_process(a, e, c))


@pytest.mark.parametrize("line", LINES)
@pytest.mark.parametrize(("signum", "said"), [(signal.SIGTERM, "SIGTERM"),
                                              (signal.SIGINT, "interrupted")])  # fmt: skip
def test_signal_during_verify(line: str, signum: int, said: str, tmp_path: Path) -> None:
    """verify, waiting for a sentinel that never arrives (no replication), gets SIGTERM or
    Ctrl-C: one line saying which, exit 130, and its sentinel row is gone from the database."""

    def runner(args: list[str], env: dict[str, Any], cwd: Path) -> Outcome:
        full_env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "pylitestream", *args], cwd=cwd, env=full_env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=default_sigint,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()  # "verifying …": the handler is in place
            time.sleep(0.5)  # into the restore loop, past the sentinel insert
            proc.send_signal(signum)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return Outcome(proc.returncode, first + out, err, time.monotonic() - start)

    case = Case(f"signal-verify-{line}", ["verify", "-d", "app.db", "--timeout", "60"], 130,
                line, fragments=(said,), bound=30, may_change=("app.db",))  # fmt: skip
    run_case(case, tmp_path, runner)
    conn = sqlite3.connect(tmp_path / "app.db")
    try:
        rows = conn.execute("SELECT count(*) FROM _litestream_verification").fetchone()[0]
    except sqlite3.OperationalError:
        rows = 0  # the sentinel table was never created
    finally:
        conn.close()
    assert rows == 0
