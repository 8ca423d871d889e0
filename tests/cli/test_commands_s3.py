"""The core commands against a real S3 API (moto on 127.0.0.1) on both binaries."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import (
    Litestream,
    S3Server,
    create_db,
    insert_rows,
    read_rows,
    s3_replica,
    stop_process,
    wait_for,
    write_config,
)

import pylitestream


def test_s3_replicate_list_restore(
    ls: Litestream, s3_server: S3Server, s3_bucket: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import subprocess
    import sys

    db = tmp_path / "app.db"
    create_db(db)
    cfg = write_config(tmp_path / "ls.yml", ls.line, [(db, s3_replica(s3_server, s3_bucket, "db"))])
    proc = subprocess.Popen(
        [sys.executable, "-m", "pylitestream", "replicate", "-c", str(cfg)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        insert_rows(db, ["x", "y", "z"])
        out = tmp_path / "out.db"

        def restored() -> bool:
            out.unlink(missing_ok=True)
            pylitestream.restore(db, out, config=cfg, if_replica_exists=True)
            return out.exists() and read_rows(out) == ["x", "y", "z"]

        wait_for(restored, 20)
        assert pylitestream.wal(db, config=cfg)
        objects = s3_server.client().list_objects_v2(Bucket=s3_bucket)["Contents"]
        assert all(o["Key"].startswith("db/") for o in objects)
    finally:
        stop_process(proc)
