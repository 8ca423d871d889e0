"""Everything pylitestream writes to the terminal goes through here.

Rich is imported only when a person-readable table is printed, so --json and errors stay fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .masking import known_secrets, redact

Record = dict[str, Any]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _stderr_line(prefix: str, message: str) -> None:
    """One line on stderr, whatever newlines the message held, secrets redacted."""
    line = " ".join(redact(str(message), known_secrets()).split())
    sys.stderr.write(f"{prefix}{line}\n")
    sys.stderr.flush()


def error(message: str) -> None:
    _stderr_line("pylitestream: error: ", message)


def info(message: str) -> None:
    sys.stdout.write(redact(message, known_secrets()) + "\n")


def warning(message: str) -> None:
    """Something that went wrong beside the point (e.g. a failed ping)."""
    _stderr_line("pylitestream: warning: ", message)


def log(message: str) -> None:
    """A supervisor event (litestream started, restarted, stopped)."""
    _stderr_line("pylitestream: ", message)


def passthrough(line: str, *, stderr: bool) -> None:
    """A line of litestream's own log, forwarded to the same stream it wrote it to."""
    stream = sys.stderr if stderr else sys.stdout
    stream.write(redact(line, known_secrets()) + "\n")
    stream.flush()


@contextmanager
def status(message: str, *, quiet: bool = False) -> Iterator[None]:
    """A Rich spinner on stderr while the block runs, for a person at a terminal; otherwise one
    plain line on stdout first (none when quiet, e.g. under --json)."""
    if sys.stderr.isatty():
        from rich.console import Console

        with Console(stderr=True).status(redact(message, known_secrets())):
            yield
        return
    if not quiet:
        info(message)
        sys.stdout.flush()
    yield


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def print_table(rows: Sequence[Record], columns: Sequence[str], *, empty: str) -> None:
    """A Rich table of `rows`; columns that no Litestream line filled (all None) are left out."""
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=False)
    if not rows:
        console.print(empty, style="dim", highlight=False)
        return
    shown = [c for c in columns if any(row.get(c) is not None for row in rows)]
    table = Table(*shown, box=None, header_style="bold", pad_edge=False)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in shown))
    console.print(table)


def print_fields(record: Record) -> None:
    """A two-column name/value table for a single record."""
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in record.items():
        table.add_row(key, _cell(value))
    Console(soft_wrap=False).print(table)


def emit(data: Any, *, as_json: bool, columns: Sequence[str] = (), empty: str = "") -> None:
    if as_json:
        print_json(data)
    elif isinstance(data, list):
        print_table(data, columns, empty=empty)
    else:
        print_fields(data)
