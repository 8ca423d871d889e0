"""Running litestream to its end: the error line taken from its output, 0.3 listings that
log an ERROR and exit 0, and an interrupted command that leaves no process behind."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import pytest
from conftest import (
    Litestream,
    Workspace,
    recorded,
    wait_for,
)

from pylitestream.litestream import records


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
    out = recorded(stdout) if stdout else ""
    err = recorded(stderr) if stderr else ""
    assert records.error_line(out, err) == expected


def test_03_listing_error_in_log_is_found_even_with_exit_0() -> None:
    out = recorded("0.3-generations-unreachable.stdout.txt")
    line = records.error_line(out, "")
    assert line is not None
    assert line.startswith("cannot list generations: RequestError: send request failed")
    assert "connection refused" in line and "\n" not in line
    # ...and the table after the log line still parses (to nothing).
    assert records.generations_03(out) == []


def _litestream_children() -> list[tuple[int, str]]:
    """(pid, state) of this process's litestream children, zombies included."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        if int(ppid) == os.getpid() and name.startswith("litestream"):
            found.append((int(stat.parent.name), state))
    return found


def test_an_interrupted_litestream_command_is_gone_before_the_interrupt_goes_on(
    ls: Litestream, workspace: Workspace
) -> None:
    """Ctrl-C during a litestream command: by the time KeyboardInterrupt reaches the caller
    (whose cleanup then runs, such as verify's removal of its work directory), litestream has
    been killed and reaped, so nothing it was writing can land after the cleanup."""
    from internals import run_litestream

    main_thread = threading.get_ident()

    def waiting_for_litestream() -> bool:
        """The main thread is in communicate(): litestream runs and the interrupt lands there."""
        frame = sys._current_frames().get(main_thread)
        while frame is not None:
            if frame.f_code.co_name == "_communicate":
                return True
            frame = frame.f_back
        return False

    def interrupt_once_running() -> None:
        wait_for(lambda: _litestream_children() and waiting_for_litestream(), 30)
        signal.pthread_kill(main_thread, signal.SIGINT)

    interrupter = threading.Thread(target=interrupt_once_running)
    interrupter.start()
    try:
        with pytest.raises(KeyboardInterrupt) as interrupted:
            # replicate runs until stopped: the interrupt always lands while it runs.
            run_litestream("replicate", "-config", str(workspace.config), timeout=60)
        # Checked while the interrupt is still in flight (its traceback alive), as a caller's
        # cleanup would run: a child left to Popen.__del__ would still be here, a zombie.
        assert _litestream_children() == []
        assert interrupted.traceback
    finally:
        interrupter.join()
