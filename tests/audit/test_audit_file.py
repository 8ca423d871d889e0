"""`pylitestream audit` of a config and of a file:// URL on both Litestream lines, from a host
where the database file is gone: only the replica is read, and the drill leaves TMPDIR empty."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import (
    VERSIONS,
    Litestream,
    Workspace,
    binary_dir,
    cli,
    insert_rows,
    stop_process,
    wait_for,
)


def audit_json(*args: str) -> list[dict[str, object]]:
    result = cli("audit", "--json", *args)
    assert result.code == 0, result
    rows: list[dict[str, object]] = json.loads(result.out)
    return rows


def test_audit_reads_the_replica_alone(
    ls: Litestream, workspace: Workspace, replicating: subprocess.Popen[bytes], private_tmp: Path
) -> None:
    insert_rows(workspace.db, ["a", "b", "c"])
    wait_for(lambda: audit_json("-c", str(workspace.config))[0]["ok"], 30)
    stop_process(replicating)
    workspace.db.rename(workspace.root / "elsewhere.db")  # no database file on this host

    by_config = audit_json("-c", str(workspace.config), "--restore", "--max-age", "1h")
    assert [row["database"] for row in by_config] == [str(workspace.db)]
    assert by_config[0]["drill"] == "ok" and by_config[0]["line"] == ls.line
    assert by_config[0]["newest_restore_point"] and by_config[0]["span_seconds"] is not None

    # The URL of the replica itself, and a directory above it: the same database found.
    for url in (f"file://{workspace.replica}", f"file://{workspace.root}"):
        rows = audit_json(url, "--restore")
        assert [row["database"] for row in rows] == [f"file://{workspace.replica}"], url
        assert rows[0]["drill"] == "ok"
        assert rows[0]["newest_restore_point"] == by_config[0]["newest_restore_point"]
    assert not workspace.db.exists()

    # The other line's litestream cannot list this replica (0.3 cannot read 0.5 replicas, 0.5
    # lists 0.3 ones as empty): said so, not reported as empty.
    other = next(v for v in VERSIONS if v != ls.version)
    result = cli("audit", "--json", f"file://{workspace.replica}",
                 env={"LITESTREAM_INSTALL_DIR": str(binary_dir(other))})  # fmt: skip
    assert result.code == 1, result
    assert json.loads(result.out)[0]["status"] == "other_line"
    assert f"written by Litestream {ls.line}" in result.err
