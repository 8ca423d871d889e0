"""Write docs/reference/cli.md from the CLI itself: every command's --help, as a user sees it.

    python scripts/cli_reference.py           # rewrite the page
    python scripts/cli_reference.py --check   # exit 1 naming the commands whose help differs

scripts/test runs --check, so a command or option changed without the docs fails the build.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PAGE = Path(__file__).resolve().parent.parent / "docs" / "reference" / "cli.md"
WIDTH = 100  # fixed, so the page does not depend on the terminal that wrote it

HEADER = """\
# CLI reference

Every command's `--help`, generated from the CLI by `scripts/cli_reference.py`; `scripts/test`
fails when this page and the commands disagree. The [Commands](../commands.md) page explains
what they do on each Litestream line.
"""


def commands(command: Any, path: tuple[str, ...], parent: Any = None) -> Iterator[tuple[str, str]]:
    """(the command line, its help) for the command and every subcommand, depth first."""
    info_name = path[-1] if path else "pylitestream"  # click prefixes the parents' names
    ctx = command.make_context(info_name, [], parent=parent, resilient_parsing=True,
                               terminal_width=WIDTH, max_content_width=WIDTH)  # fmt: skip
    name = " ".join(("pylitestream", *path))
    yield name, ctx.get_help()
    for sub_name, sub in getattr(command, "commands", {}).items():
        if not sub.hidden:
            yield from commands(sub, (*path, sub_name), ctx)


def render() -> str:
    import typer

    from pylitestream.cli import app

    sections = [HEADER]
    for name, text in commands(typer.main.get_command(app), ()):
        sections.append(f"## `{name}`\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(sections)


def main(argv: list[str]) -> int:
    wanted = render()
    if argv == ["--check"]:
        current = PAGE.read_text() if PAGE.exists() else ""
        if current == wanted:
            return 0
        diff = difflib.unified_diff(current.splitlines(), wanted.splitlines(),
                                    str(PAGE), "the CLI", lineterm="", n=1)  # fmt: skip
        sys.stderr.write("\n".join(diff) + "\n")
        sys.stderr.write(f"cli_reference: {PAGE} differs from the CLI's --help; "
                         "run python scripts/cli_reference.py\n")  # fmt: skip
        return 1
    if argv:
        sys.stderr.write("usage: cli_reference.py [--check]\n")
        return 2
    PAGE.write_text(wanted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
