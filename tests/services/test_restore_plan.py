"""`restore --dry-run` (litestream's plan, 0.5) and `-integrity-check` forwarded to restore."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import (
    Litestream,
    Workspace,
    assert_one_error_line,
    cli,
    insert_rows,
    read_rows,
    wait_for,
)

import pylitestream
from pylitestream.services.restore_preview import FILE_KEYS, PLAN_KEYS

LS05 = pytest.mark.parametrize("ls", ["0.5.17"], indirect=True)
LS03 = pytest.mark.parametrize("ls", ["0.3.13"], indirect=True)


def replicated(ws: Workspace, names: list[str]) -> None:
    """Write rows and wait until a restore holds them all."""
    insert_rows(ws.db, names)
    copy = ws.root / "probe.db"

    def restored() -> bool:
        copy.unlink(missing_ok=True)
        pylitestream.restore(ws.db, copy, config=ws.config)
        return read_rows(copy)[-len(names) :] == names

    wait_for(restored, 30)
    copy.unlink()


@LS05
def test_dry_run_prints_the_plan(ls: Litestream, workspace: Workspace, replicating: object) -> None:
    ws = workspace
    replicated(ws, ["a", "b", "c"])
    before = ws.db.read_bytes()
    target = ws.root / "never.db"
    result = cli("restore", "--dry-run", "-d", str(ws.db), "-c", str(ws.config), "--json",
                 "--", "-o", str(target))  # fmt: skip
    assert result.code == 0, result.err
    plan = json.loads(result.out)
    assert tuple(plan) == PLAN_KEYS
    assert plan["database"] == str(ws.db) and plan["target"] == str(target)
    assert plan["replica"] == "file"
    assert plan["files"] and tuple(plan["files"][0]) == FILE_KEYS
    assert len(plan["max_txid"]) == 16
    assert plan["max_txid"] == max(f["max_txid"] for f in plan["files"])
    assert not target.exists()  # a plan restores nothing
    assert ws.db.read_bytes() == before

    first = plan["files"][0]["max_txid"]
    earlier = pylitestream.restore_plan(ws.db, txid=first, config=ws.config)
    assert earlier["max_txid"] == first
    # Without -o, where the real restore goes: a timestamped sibling, never the live database.
    sibling = rf"{re.escape(str(ws.root))}/app-\d{{14}}\.db"
    assert re.fullmatch(sibling, earlier["target"]), earlier["target"]
    assert list(ws.root.glob("app-*.db")) == []  # still nothing written
    restored = cli("restore", "-d", str(ws.db), "-c", str(ws.config), "--json")
    assert restored.code == 0, restored.err
    assert re.fullmatch(sibling, json.loads(restored.out)["restored"])

    table = cli("restore", "--dry-run", "-d", str(ws.db), "-c", str(ws.config),
                env={"COLUMNS": "300"})  # fmt: skip
    assert table.code == 0 and "level" in table.out and plan["max_txid"] in table.out


@LS05
@pytest.mark.parametrize("level", ["quick", "full"])
def test_integrity_check_is_forwarded(ls: Litestream, workspace: Workspace, replicating: object,
                                      level: str, tmp_path: Path) -> None:  # fmt: skip
    ws = workspace
    names = [f"row-{i}" for i in range(50)]
    replicated(ws, names)
    # A litestream that records its argv, then runs the real one: proof the flag reaches it.
    shim = tmp_path / "shim"
    shim.mkdir()
    argv_log = tmp_path / "argv.log"
    (shim / "litestream").write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> {argv_log}\nexec {ls.exe} "$@"\n'
    )
    (shim / "litestream").chmod(0o755)
    copy = ws.root / f"copy-{level}.db"
    result = cli("restore", "-d", str(ws.db), "-c", str(ws.config), "--",
                 "-o", str(copy), "-integrity-check", level,
                 env={"LITESTREAM_INSTALL_DIR": str(shim)})  # fmt: skip
    assert result.code == 0, result.err
    assert read_rows(copy) == names
    restores = [line for line in argv_log.read_text().splitlines() if line.startswith("restore")]
    assert len(restores) == 1 and f"-integrity-check={level}" in restores[0].split()
    # A level litestream does not know is refused before litestream runs.
    bad = cli("restore", "-d", str(ws.db), "-c", str(ws.config), "--",
              "-o", str(ws.root / "bad.db"), "-integrity-check", "thorough")  # fmt: skip
    assert_one_error_line(bad, 2, "thorough", "expected one of")
    assert not (ws.root / "bad.db").exists()


@LS05
@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["-txid", "12"], "16 hex digits"),
        (["-txid", "0000000000000001", "-timestamp", "2026-01-01T00:00:00Z"], "not both"),
        (["-force"], "takes only -timestamp, -txid and -o"),
        (["-bogus"], "unknown restore flag"),
    ],
)
def test_dry_run_bad_input(ls: Litestream, workspace: Workspace, extra: list[str],
                           fragment: str) -> None:  # fmt: skip
    result = cli("restore", "--dry-run", "-d", str(workspace.db), "-c", str(workspace.config),
                 "--", *extra)  # fmt: skip
    assert_one_error_line(result, 2, fragment)


@LS05
def test_dry_run_needs_a_database(ls: Litestream, workspace: Workspace) -> None:
    result = cli("restore", "--dry-run", "-c", str(workspace.config))
    assert_one_error_line(result, 2, "--database")


@LS03
@pytest.mark.parametrize(
    "args",
    [["--dry-run"], ["--", "-dry-run"]],
)
def test_refused_on_03(ls: Litestream, workspace: Workspace, args: list[str]) -> None:
    result = cli("restore", "-d", str(workspace.db), "-c", str(workspace.config), *args)
    assert_one_error_line(result, 2, "Litestream 0.3 has no")
