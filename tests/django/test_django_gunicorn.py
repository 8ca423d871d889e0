"""settings.LITESTREAM reaches the Gunicorn hooks without --preload: the arbiter never imports
the Django app, only DJANGO_SETTINGS_MODULE tells it where the settings are, and the config
path exists nowhere but in the settings. Both Litestream lines; every process checked by pid."""

from __future__ import annotations

from pathlib import Path

from conftest import Litestream, create_db, write_config
from django_project import SETTINGS_MODULE, start_project
from servers import Server, assert_the_arbiter_replicates


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
    # litestream is started by this arbiter, for the config in the setting.
    assert_the_arbiter_replicates(server, config)
