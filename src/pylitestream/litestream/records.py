"""Turning litestream's output into plain records with the same keys on 0.3 and 0.5.

Every record is a dict of JSON types. Keys a Litestream line has no concept for are None, so a
program reading --json sees one schema whatever binary produced it. See docs/json.md.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..errors import ParseError

Record = dict[str, Any]

DATABASE_KEYS = ("path", "replicas")
GENERATION_KEYS = ("replica", "generation", "lag_ms", "start", "end")
SNAPSHOT_KEYS = ("replica", "generation", "index", "index_hex", "min_txid", "max_txid", "size",
                 "created")  # fmt: skip
WAL_KEYS = ("replica", "generation", "index", "index_hex", "offset", "min_txid", "max_txid", "size",
            "created")  # fmt: skip
LTX_KEYS = ("level", "min_txid", "max_txid", "size", "created")
STATUS_KEYS = ("database", "status", "local_txid", "wal_size")

SNAPSHOT_LEVEL = 9
"""0.5 keeps full snapshots at LTX level 9 and fresh changes at level 0."""


def parses(
    command: str,
) -> Callable[[Callable[[str], list[Record]]], Callable[[str], list[Record]]]:
    """Whatever shape the text has, the parser returns records or raises one ParseError naming
    `litestream COMMAND`: never a KeyError or TypeError from a surprising answer."""

    def decorate(parse: Callable[[str], list[Record]]) -> Callable[[str], list[Record]]:
        @functools.wraps(parse)
        def checked(text: str) -> list[Record]:
            try:
                return parse(text)
            except ParseError as exc:
                detail = str(exc)
            except KeyError as exc:
                detail = f"a record has no {exc.args[0]!r} field"
            except (TypeError, ValueError, AttributeError, IndexError):
                detail = "it is not the list of records litestream prints"
            if detail.startswith("cannot read"):
                raise ParseError(detail)
            raise ParseError(f"cannot read the output of 'litestream {command}': {detail}")

        return checked

    return decorate


def parse_table(text: str) -> list[dict[str, str]]:
    """Parse a Go tabwriter table. Columns are found from the header's offsets, so values may
    hold single spaces and cells may be empty."""
    lines = [line for line in text.splitlines() if line.strip() and not _is_log_line(line)]
    if not lines:
        return []
    header = lines[0]
    starts = [match.start() for match in re.finditer(r"(?:^|(?<=  ))\S", header)]
    names = [header[start:end].strip() for start, end in zip(starts, [*starts[1:], None])]
    rows = []
    for line in lines[1:]:
        cells = [line[start:end].strip() for start, end in zip(starts, [*starts[1:], None])]
        rows.append(dict(zip(names, cells)))
    return rows


def _is_log_line(line: str) -> bool:
    return line.startswith("time=") or bool(re.match(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ", line))


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ParseError(f"expected a number, got {value!r}") from None


def _time(value: str) -> str:
    """Check an RFC 3339 time and hand it back unchanged (it already is ISO 8601)."""
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ParseError(f"expected an RFC 3339 time, got {value!r}") from None
    return value


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "μs": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4,
                "h": 3.6e6}  # fmt: skip


def duration_ms(value: str) -> int:
    """A Go duration ('984ms', '-1m2.5s', '0s') in whole milliseconds."""
    sign = -1 if value.startswith("-") else 1
    body = value.lstrip("+-")
    parts = _DURATION_PART.findall(body)
    if body != "0" and "".join(number + unit for number, unit in parts) != body:
        raise ParseError(f"expected a Go duration, got {value!r}")
    total = sum(float(number) * _DURATION_MS[unit] for number, unit in parts)
    return sign * round(total)


_SI = {"B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15}


def humanized_bytes(value: str) -> int | None:
    """go-humanize's SI sizes ('21 kB', '1.2 MB', '0 B') back to a byte count; '-' is None."""
    if value in ("-", ""):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?) ?([kMGTP]?B)", value.strip())
    if not match:
        raise ParseError(f"expected a size like '21 kB', got {value!r}")
    return round(float(match.group(1)) * _SI[match.group(2)])


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ParseError(f"expected JSON, got {text.strip()[:80]!r}") from None


# --- databases ----------------------------------------------------------------------------------


@parses("databases")
def databases_03(text: str) -> list[Record]:
    return [
        {"path": row["path"], "replicas": [r for r in row.get("replicas", "").split(",") if r]}
        for row in parse_table(text)
    ]


@parses("databases")
def databases_05(text: str) -> list[Record]:
    return [
        {"path": item["path"], "replicas": [item["replica"]] if item.get("replica") else []}
        for item in _load_json(text) or []
    ]


# --- generations (0.3 only) ---------------------------------------------------------------------


@parses("generations")
def generations_03(text: str) -> list[Record]:
    return [
        {
            "replica": row["name"],
            "generation": row["generation"],
            "lag_ms": duration_ms(row["lag"]),
            "start": _time(row["start"]),
            "end": _time(row["end"]),
        }
        for row in parse_table(text)
    ]


# --- snapshots and wal --------------------------------------------------------------------------


def _index(value: str) -> tuple[int, str]:
    """0.3 prints the index in decimal; -index wants it in hex. Give both."""
    index = _int(value)
    return index, f"{index:08x}"


def _positions_03(text: str, keys: tuple[str, ...]) -> list[Record]:
    """0.3 snapshots and wal tables: the same columns, wal with an offset as well."""
    records = []
    for row in parse_table(text):
        index, index_hex = _index(row["index"])
        record = {
            "replica": row["replica"],
            "generation": row["generation"],
            "index": index,
            "index_hex": index_hex,
            "offset": _int(row["offset"]) if "offset" in keys else None,
            "min_txid": None,
            "max_txid": None,
            "size": _int(row["size"]),
            "created": _time(row["created"]),
        }
        records.append({key: record[key] for key in keys})
    return records


@parses("snapshots")
def snapshots_03(text: str) -> list[Record]:
    return _positions_03(text, SNAPSHOT_KEYS)


@parses("wal")
def wal_03(text: str) -> list[Record]:
    return _positions_03(text, WAL_KEYS)


@parses("ltx")
def ltx_05(text: str) -> list[Record]:
    return [
        {
            "level": int(item["level"]),
            "min_txid": item["min_txid"],
            "max_txid": item["max_txid"],
            "size": int(item["size"]),
            "created": _time(item["timestamp"]),
        }
        for item in _load_json(text) or []
    ]


@parses("ltx")
def snapshots_05(text: str) -> list[Record]:
    return [_ltx_as(record, SNAPSHOT_KEYS) for record in ltx_05(text)]


@parses("ltx")
def wal_05(text: str) -> list[Record]:
    return [_ltx_as(record, WAL_KEYS) for record in ltx_05(text)]


def _ltx_as(record: Record, keys: tuple[str, ...]) -> Record:
    return {key: record.get(key) for key in keys}


# --- status (0.5 only) --------------------------------------------------------------------------


@parses("status")
def status_05(text: str) -> list[Record]:
    return [
        {
            "database": item["database"],
            "status": item["status"],
            "local_txid": None if item.get("local_txid") in (None, "-", "") else item["local_txid"],
            "wal_size": humanized_bytes(item.get("wal_size", "-")),
        }
        for item in _load_json(text) or []
    ]


# --- errors in litestream's own log ----------------------------------------------------------

# 0.3 slog text: time=... level=ERROR msg="cannot list generations" db=... error="..."
_SLOG_ERROR = re.compile(r'level=ERROR msg=(?P<msg>"(?:[^"\\]|\\.)*"|\S+)(?P<rest>.*)')
_SLOG_ERROR_FIELD = re.compile(r'error=(?P<err>"(?:[^"\\]|\\.)*"|\S+)')
# 0.3 Go std log before config is loaded: 2026/11/26 19:55:14 ERROR failed to run error="..."
_STDLOG_ERROR = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ERROR (?P<msg>.*?)(?P<rest> \w+=.*)?$")


def _unquote(value: str) -> str:
    if value.startswith('"') and value.endswith('"'):
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return " ".join(value.replace("\\n", " ").split())


def _log_error(line: str) -> str | None:
    """The message of an ERROR log line, as 'msg: error', or None if it is not one."""
    match = _SLOG_ERROR.search(line) or _STDLOG_ERROR.search(line)
    if not match:
        return None
    msg = _unquote(match.group("msg"))
    field = _SLOG_ERROR_FIELD.search(match.group("rest") or "")
    if field:
        error = _unquote(field.group("err"))
        return error if msg == "failed to run" else f"{msg}: {error}"
    return msg


def error_line(stdout: str, stderr: str) -> str | None:
    """litestream's own error message from either stream, in one line."""
    lines = stderr.splitlines()
    for line in lines:
        # A Go panic ends with a stack trace: its message is the first line, not the last.
        if line.startswith(("panic: ", "fatal error: ")):
            return f"litestream crashed: {line.strip()}"
    for line in lines:
        if line.startswith("Error: "):
            return line[len("Error: ") :].strip()
    for line in [*lines, *stdout.splitlines()]:
        found = _log_error(line)
        if found:
            return found
    for line in lines:
        # Go's flag package: "flag provided but not defined: -bogus", "invalid value ..."
        if line.startswith(("flag provided", "invalid value", "flag needs")):
            return line.strip()
    return None
