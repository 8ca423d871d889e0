"""The documentation is a contract (as sqlite-utils tests its docs): the command table lists
exactly the CLI's commands, each table of JSON keys lists exactly the keys the code produces, and
the exceptions table gives every exception and the exit code the CLI gives it. A command, key,
exception or exit code added, renamed or dropped on one side only fails here. (The CLI reference
page and the site's links are checked by scripts/test: scripts/cli_reference.py --check and
mkdocs build --strict.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from conftest import Launches, Litestream, Workspace, invoke
from internals import app, record_keys

import pylitestream

DOCS_DIR = Path(__file__).resolve().parents[2] / "docs"
DOCS = "\n\n".join(page.read_text() for page in sorted(DOCS_DIR.rglob("*.md")))
CODE = re.compile(r"`([^`]+)`")


def _tables() -> list[tuple[str, list[list[str]]]]:
    """(the heading above it, rows of cells) for every table in the docs."""
    found: list[tuple[str, list[list[str]]]] = []
    heading, rows = "", []
    for line in [*DOCS.splitlines(), ""]:
        if line.startswith("#"):
            heading = line.strip()
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not set("".join(cells)) <= set("-: "):
                rows.append(cells)
        elif rows:
            found.append((heading, rows))
            rows = []
    return found


def _table(first_header: str, second_header: str) -> tuple[str, list[list[str]]]:
    matches = [(h, rows) for h, rows in _tables() if rows[0][:2] == [first_header, second_header]]
    assert matches, (first_header, second_header)
    return matches[0]


def _outside_parentheses(text: str) -> str:
    depth, kept = 0, []
    for char in text:
        depth += char == "("
        if depth == 0:
            kept.append(char)
        depth -= char == ")" and depth > 0
    return "".join(kept)


def _keys(cell: str) -> tuple[str, ...]:
    return tuple(CODE.findall(_outside_parentheses(cell)))


def _cli_commands() -> set[str]:
    group: Any = typer.main.get_command(app)
    names: set[str] = set()
    for name, command in group.commands.items():
        if command.hidden:
            continue
        if hasattr(command, "commands"):  # a group: `config check`, `config show`, …
            names |= {f"{name} {sub}" for sub, c in command.commands.items() if not c.hidden}
        else:
            names.add(name)
    return names


def test_the_command_table_is_the_cli() -> None:
    _, rows = _table("command", "what it does")
    documented: set[str] = set()
    for row in rows[1:]:
        for span in CODE.findall(row[0]):
            words = span.replace("\\|", "|").split()
            if words[0] == "config":  # `config check|show|migrate`
                documented |= {f"config {sub}" for sub in words[1].split("|")}
            else:
                documented.add(words[0])
    assert documented == _cli_commands()


def test_each_json_key_row_is_the_code() -> None:
    _, rows = _table("command", "record keys")
    code = record_keys()
    checked = set()
    for cell, keys in rows[1:]:
        if keys.startswith("see "):
            continue  # `check`: its own table below
        for command in CODE.findall(_outside_parentheses(cell)):
            checked.add(command)
            if command in ("version", "env", "restore"):
                continue  # records built in place; checked by running them below
            assert _keys(keys) == code[command], command
            if command == "restore --dry-run":
                files = re.search(r"`files` \(([^)]*)\)", keys)
                assert files and _keys(files[1]) == code["restore --dry-run files"]
    assert {
        "databases",
        "ltx",
        "status",
        "info",
        "list",
        "sync",
        "txid",
        "register",
        "restore --dry-run",
        "version",
        "env",
        "restore",
        "history",
    } <= checked


@pytest.mark.parametrize(
    "heading",
    [
        "## Python API and JSON keys",
        "# Check: are the backups current?",
        "# Audit: the check from outside",
        "# The state file and `pylitestream ps`",
    ],
)
def test_each_key_table_is_the_code(heading: str) -> None:
    tables = [rows for h, rows in _tables() if h == heading and rows[0][0] == "key"]
    assert len(tables) == 1, heading
    documented = tuple(k for row in tables[0][1:] for k in _keys(row[0]))
    assert documented == record_keys()[heading]
    if heading.endswith("`pylitestream ps`"):
        cells = {row[0]: row[1] for row in tables[0][1:]}
        info = re.findall(r'"(\w+)"', cells["`info`"])
        databases = re.findall(r'"(\w+)"', cells["`databases`"])
        assert tuple(info) == record_keys()["ps info"]
        assert tuple(databases) == record_keys()["ps databases"]


def _row(command: str) -> tuple[str, ...]:
    _, rows = _table("command", "record keys")
    return next(_keys(keys) for cell, keys in rows[1:] if f"`{command}`" in cell)


def test_version_and_env_records_are_the_docs(ls: Litestream) -> None:
    assert tuple(pylitestream.version()) == _row("version")
    assert all(tuple(r) == _row("env") for r in pylitestream.env_vars({"LITESTREAM_X": "1"}))
    assert pylitestream.env_vars({"LITESTREAM_X": "1"})


def test_restore_record_is_the_docs(
    launches: Launches,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = workspace.root / "copy.db"
    result = invoke(
        capsys,
        "restore",
        "-d",
        str(workspace.db),
        "-c",
        str(workspace.config),
        "--json",
        "--",
        "-o",
        str(out),
    )
    assert result.code == 0, result
    assert tuple(json.loads(result.out)) == _row("restore")


def _error_classes() -> set[type[BaseException]]:
    """Every PylitestreamError subclass the package defines (its modules imported first)."""
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages(pylitestream.__path__, "pylitestream."):
        if module.name != "pylitestream.__main__":
            importlib.import_module(module.name)
    found: set[type[BaseException]] = set()
    todo: list[type[BaseException]] = [pylitestream.PylitestreamError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo.extend(cls.__subclasses__())
    return found - {pylitestream.PylitestreamError}


def test_the_exceptions_table_is_every_exception_and_its_exit_code() -> None:
    _, rows = _table("exception", "when")
    by_name = {cls.__name__: cls for cls in _error_classes()}
    documented: dict[str, int] = {}
    for cell, _when, code in rows[1:]:
        for name in _keys(cell):
            if not name.startswith("."):
                documented[name] = int(code)
    if "SocketError" in by_name:  # the base class the text names, not a row of its own
        documented.setdefault("SocketError", by_name["SocketError"].exit_code)
    assert set(documented) == set(by_name)
    assert {name: by_name[name].exit_code for name in documented} == documented


def test_every_exit_code_the_cli_gives_is_documented() -> None:
    _, rows = _table("code", "meaning")
    codes = {row[0] for row in rows[1:]}
    assert {str(cls.exit_code) for cls in _error_classes()} <= codes
    assert {"0", "1", "2", "126", "127", "130"} <= codes  # success, Ctrl-C and run's shell codes


def _slugs(page: Path) -> set[str]:
    """The anchors MkDocs gives the page's headings (its toc extension's default slugify)."""
    from markdown.extensions.toc import slugify

    headings = re.findall(r"^#+ (.+)$", page.read_text(), flags=re.M)
    return {slugify(heading.replace("`", ""), "-") for heading in headings}


def test_every_docs_link_in_a_message_exists() -> None:
    """Messages point at pages of the site (pylitestream.about.docs): each page and anchor must be
    in docs/."""
    source = Path(pylitestream.__file__).parent
    # Lower-case page names only: mutmut's copy of the source also holds "XX…XX" mutants.
    links = [m for path in source.rglob("*.py")
             for m in re.findall(r"docs\('([a-z][a-z0-9/#-]*)'\)", path.read_text())]  # fmt: skip
    assert len(links) >= 2
    for link in links:
        page, _, anchor = link.partition("#")
        path = DOCS_DIR / (page.rstrip("/") + ".md")
        assert path.is_file(), link
        assert not anchor or anchor in _slugs(path), link


README = DOCS_DIR.parent / "README.md"


def test_every_readme_link_into_the_docs_exists() -> None:
    links = re.findall(r"\]\((docs/[^)#]+)(?:#([^)]+))?\)", README.read_text())
    assert links
    for page, anchor in links:
        path = DOCS_DIR.parent / page
        assert path.is_file(), page
        assert not anchor or anchor in _slugs(path), (page, anchor)
