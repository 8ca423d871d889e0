"""Reading config-like files (litestream.yml, pyproject.toml): bytes decoded as UTF-8, or one
line saying what the file is instead."""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError


def read_text(path: Path) -> str:
    """A config-like file read as bytes and decoded as UTF-8; UsageError (one line saying what
    the file is instead) when it cannot be read or is not UTF-8 text."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 ({_encoding_hint(data, exc)})") from None
    if "\0" in text:
        raise UsageError(f"{path} holds NUL bytes, so it is not a text file")
    return text


def _encoding_hint(data: bytes, exc: UnicodeDecodeError) -> str:
    head = data[:4096]
    odd_nuls, even_nuls = head[1::2].count(0), head[0::2].count(0)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or (odd_nuls > len(head) // 4 and not even_nuls):
        return "it looks like UTF-16, which PowerShell's '>' writes; save it as UTF-8"
    if 0 in head:
        return "it looks like a binary file, not text"
    line_number = data[: exc.start].count(b"\n") + 1
    return (
        f"byte 0x{data[exc.start]:02x} on line {line_number} looks like Latin-1 or another legacy "
        "encoding; save it as UTF-8"
    )
