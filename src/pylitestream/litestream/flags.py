"""litestream's own flags, read the way Go's flag package reads them and checked against the
flag table of the Litestream line in use (profile.Profile.flags)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import NoReturn

from ..errors import UnsupportedOnVersion, UsageError
from .binary import Binary


def parse_go_flags(
    args: Sequence[str], binary: Binary, command: str = "restore"
) -> dict[str, str | bool]:
    """Read litestream flags ('-o x', '--o=x', '-if-db-not-exists') into {name: value}, the way
    Go's flag package does, checking each against the flag table of this Litestream line, value
    included. Flags the line lacks are refused with the name of what to use instead. For
    `replicate`, the first positional argument ends the flags (litestream's DB and URLs)."""
    table = binary.profile.flags[command]
    parsed: dict[str, str | bool] = {}
    items = list(args)
    while items:
        item = items.pop(0)
        if command == "replicate" and (not item.startswith("-") or item == "-"):
            break
        if not item.startswith("-") or item in ("-", "--"):
            raise UsageError(
                f"unexpected argument {item!r}: pass the database with --database, "
                "and litestream flags as -name value"
            )
        body = item[2:] if item.startswith("--") else item[1:]
        name, has_value, value = body.partition("=")
        if not name or name.startswith(("-", "=")):
            raise UsageError(f"bad flag syntax: {item}")
        if command == "restore" and f"-{name}" in binary.profile.missing:
            raise UnsupportedOnVersion(binary.profile.missing[f"-{name}"])
        kind = table.get(name)
        if kind is None:
            import difflib

            close = difflib.get_close_matches(name, table, n=1)
            hint = f"did you mean -{close[0]}? " if close else ""
            raise UsageError(
                f"unknown {command} flag -{name} for Litestream {binary.line}; {hint}"
                f"known: {', '.join('-' + k for k in sorted(table))}"
            )
        if kind == "bool":
            parsed[name] = check_flag_value(name, kind, value) if has_value else True
            continue
        if not has_value:
            if not items:
                raise UsageError(f"{command} flag -{name} needs a value")
            value = items.pop(0)
        parsed[name] = check_flag_value(name, kind, value)
    return parsed


_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_GO_DURATION = re.compile(r"[+-]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)")


def check_flag_value(name: str, kind: str, value: str) -> str | bool:
    """`value` as litestream takes it for a flag of `kind` (see profile.Profile.flags), or
    UsageError saying what it wants, where Go would refuse it or litestream misuse it."""
    import datetime

    def refuse(wants: str) -> NoReturn:
        raise UsageError(f"-{name} {value!r}: {wants}")

    if kind == "bool":
        if value not in _GO_TRUE + _GO_FALSE:
            refuse("expected true or false (written -flag or -flag=false)")
        return value in _GO_TRUE
    if "|" in kind and value not in kind.split("|"):
        refuse(f"expected one of {kind.replace('|', ', ')}")
    # ASCII digits only: str.isdigit() takes "٣", which Go's strconv refuses.
    if kind == "count" and not (
        value.isascii() and value.isdigit() and 0 < int(value) <= 1_000_000
    ):
        refuse("expected a whole number of at least 1")
    if kind == "txid" and not re.fullmatch(r"[0-9a-fA-F]{16}", value):
        refuse("expected exactly 16 hex digits, e.g. 0000000000000005 (see 'pylitestream ltx')")
    if kind == "index" and not re.fullmatch(r"[0-9a-fA-F]{1,8}", value):
        refuse("expected a hex WAL index of up to 8 digits, e.g. 0000001f (see 'pylitestream wal')")
    if kind == "generation" and not re.fullmatch(r"[0-9a-f]{16}", value):
        refuse("expected a 16-hex-digit generation (see 'pylitestream generations')")
    if kind == "duration" and not _GO_DURATION.fullmatch(value):
        refuse("expected a Go duration such as 1s or 500ms")
    if kind == "timestamp":
        try:
            if not _RFC3339.fullmatch(value):
                raise ValueError(value)
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            refuse("expected an RFC 3339 time such as 2026-01-02T15:04:05Z")
    # An existing path of any kind, a directory included, is restore's own refusal (placement).
    if kind == "output" and (not value or value.endswith(("/", os.sep))):
        refuse("names a directory; give the database file to restore into, e.g. -o dir/app.db")
    return value
