"""app.config["LITESTREAM"] reaches the Gunicorn hooks with --preload: the arbiter builds the app
(the factory calls init_app) before when_ready starts litestream, and the config path exists
nowhere but in the app's config. Both Litestream lines; every process checked by pid."""

from __future__ import annotations

from pathlib import Path

from conftest import Litestream, create_db, write_config
from flask_project import write_app
from servers import Server, assert_the_arbiter_replicates


def test_gunicorn_hook_reads_app_config_with_preload(ls: Litestream, tmp_path: Path) -> None:
    root = tmp_path / "site"
    db = root / "app.db"
    # Not litestream.yml in the app's directory: only the app's config can point at it.
    config_dir = tmp_path / "elsewhere"
    config_dir.mkdir()
    config = write_config(config_dir / "backup.yml", ls.line,
                          [(db, {"type": "file", "path": str(tmp_path / "replica")})])  # fmt: skip
    write_app(root, {"config_path": str(config)})
    create_db(db)
    server = Server(root, config, db, app="app:create_app()", config_from_env=False,
                    GUNICORN_CMD_ARGS="--preload")  # fmt: skip
    # litestream is started by this arbiter, for the config in app.config.
    assert_the_arbiter_replicates(server, config)
