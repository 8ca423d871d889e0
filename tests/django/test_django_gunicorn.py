"""settings.LITESTREAM reaches the Gunicorn hooks without --preload: the arbiter never imports
the Django app, only DJANGO_SETTINGS_MODULE tells it where the settings are, and the config
path exists nowhere but in the settings. Both Litestream lines; every process checked by pid."""

from __future__ import annotations

import signal
from pathlib import Path

from conftest import Litestream, create_db, pid_alive, write_config
from django_project import SETTINGS_MODULE, start_project
from servers import Server

from pylitestream import supervise


def test_gunicorn_hook_reads_litestream_setting_without_preload(
    ls: Litestream, tmp_path: Path
) -> None:
    root = tmp_path / "site"
    db = root / "db.sqlite3"
    # Not litestream.yml in the project directory: only the setting can point at it.
    config_dir = tmp_path / "elsewhere"
    config_dir.mkdir()
    config = write_config(
        config_dir / "backup.yml",
        ls.line,
        [(db, {"type": "file", "path": str(tmp_path / "replica")})],
    )
    project = start_project(root, {"config_path": str(config)})
    create_db(project.db)
    server = Server(
        root,
        config,
        db,
        app="mysite.wsgi:application",
        config_from_env=False,
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
    )
    try:
        row = server.litestream()  # started by this arbiter, for the config in the setting
        assert row["config"] == str(config) and supervise.is_litestream(row["pid"], str(config))
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(30) == 0, server.log()
    finally:
        left = server.cleanup()
    assert not pid_alive(row["pid"]) and left == []
    assert f"replicating {config}" in server.log()
