"""Everything pylitestream writes to the terminal goes through here.

Rich is imported only when a person-readable table is printed, so --json and errors stay fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..masking import redact

Record = dict[str, Any]


def _secrets() -> list[str]:
    """The values to redact; the API loads here, on the first line written, not at import."""
    from .. import api

    return api.known_secrets()


def _write(text: str, *, stderr: bool = False) -> None:
    """Write and flush now, so a full disk or a closed pipe shows here, as OutputError (one
    line) or BrokenPipeError (the CLI exits quietly), not as a traceback at interpreter exit."""
    stream = sys.stderr if stderr else sys.stdout
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        from ..errors import OutputError

        name = "stderr" if stderr else "stdout"
        raise OutputError(f"cannot write to {name}: {exc.strerror or exc}") from None


def print_json(data: Any) -> None:
    _write(json.dumps(data, indent=2) + "\n")


def print_json_stream(rows: Iterable[Any]) -> None:
    """The text print_json(list(rows)) writes, written row by row as they come."""
    first = True
    chunk: list[str] = []
    for row in rows:
        item = "\n".join(f"  {line}" for line in json.dumps(row, indent=2).splitlines())
        chunk.append(("[\n" if first else ",\n") + item)
        first = False
        if len(chunk) >= 64:  # a write (and flush) per 64 rows, not per row
            _write("".join(chunk))
            chunk.clear()
    chunk.append("[]\n" if first else "\n]\n")
    _write("".join(chunk))


def raw(text: str) -> None:
    """Text as it is (the metrics' exposition format), nothing redacted or reflowed: it holds
    only numbers and database paths."""
    _write(text)


def _stderr_line(prefix: str, message: str) -> None:
    """One line on stderr, whatever newlines the message held, secrets redacted."""
    line = " ".join(redact(str(message), _secrets()).split())
    _write(f"{prefix}{line}\n", stderr=True)


def error(message: str) -> None:
    _stderr_line("pylitestream: error: ", message)


def info(message: str) -> None:
    _write(redact(message, _secrets()) + "\n")


def warning(message: str) -> None:
    """Something that went wrong beside the point (e.g. a failed ping)."""
    _stderr_line("pylitestream: warning: ", message)


@contextmanager
def status(message: str, *, quiet: bool = False) -> Iterator[None]:
    """A Rich spinner on stderr while the block runs, for a person at a terminal; otherwise one
    plain line on stdout first (none when quiet, e.g. under --json)."""
    if sys.stderr.isatty():
        from rich.console import Console

        with Console(stderr=True).status(redact(message, _secrets())):
            yield
        return
    if not quiet:
        info(message)
    yield


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _print_rich(renderable: Any, **style: Any) -> None:
    """Rich's rendering, written through _write. At a terminal, styled to its width; otherwise
    plain text at full width: a pipe or a file gets every character of every path, where Rich
    would cut lines at 80 columns."""
    import io
    import shutil

    from rich.console import Console

    terminal = sys.stdout.isatty()
    buffer = io.StringIO()
    width = shutil.get_terminal_size().columns if terminal else 1_000_000
    console = Console(file=buffer, force_terminal=terminal, width=width, soft_wrap=False)
    console.print(renderable, **style)
    text = buffer.getvalue()
    if not terminal:
        text = "".join(line.rstrip() + "\n" for line in text.splitlines())
    _write(text)


def print_table(rows: Sequence[Record], columns: Sequence[str], *, empty: str) -> None:
    """A Rich table of `rows`; columns that no Litestream line filled (all None) are left out."""
    from rich.table import Table

    if not rows:
        _print_rich(empty, style="dim", highlight=False)
        return
    shown = [c for c in columns if any(row.get(c) is not None for row in rows)]
    table = Table(*shown, box=None, header_style="bold", pad_edge=False)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in shown))
    _print_rich(table)


def print_fields(record: Record) -> None:
    """A two-column name/value table for a single record."""
    from rich.table import Table

    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in record.items():
        table.add_row(key, _cell(value))
    _print_rich(table)


def emit(data: Any, *, as_json: bool, columns: Sequence[str] = (), empty: str = "") -> None:
    if as_json:
        print_json(data)
    elif isinstance(data, list):
        print_table(data, columns, empty=empty)
    else:
        print_fields(data)
