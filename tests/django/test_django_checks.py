"""Django's system checks from "pylitestream.django": `manage.py check` lists the config's
problems with their ids (the same text `pylitestream config check` prints), `check --deploy`
warns about unreplicated SQLite databases and a missing control socket. Both Litestream lines,
file replicas, a real startproject."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import Litestream, write_config
from django_project import DjangoProject, include_dashboard, start_project

SECRET = "django-settings-secret-value"


def _project(root: Path, **litestream: object) -> DjangoProject:
    """A production project (DEBUG off): config problems are errors there."""
    project = start_project(root, {"replica_access_key": SECRET, **litestream})
    project.add_settings("DEBUG = False")
    project.add_settings('ALLOWED_HOSTS = ["localhost"]')
    return project


def _config(project: DjangoProject, line: str, **extra: object) -> Path:
    config = write_config(
        project.root / "litestream.yml",
        line,
        [(project.db, {"type": "file", "path": str(project.root / "r")})],
    )
    if extra:
        config.write_text(yaml.safe_dump({**yaml.safe_load(config.read_text()), **extra}))
    return config


def test_check_reports_missing_and_broken_config_by_id(ls: Litestream, tmp_path: Path) -> None:
    project = _project(tmp_path / "site")
    missing = project.manage("check")
    assert missing.code == 1
    assert "(pylitestream.E001) no litestream config found" in missing.err
    assert "HINT: run 'manage.py litestream init'" in missing.err
    # An error stops migrate as any system-check error does; --tag runs these checks alone.
    assert project.manage("migrate", "--noinput").code == 1 and not project.db.exists()
    tagged = project.manage("check", "--tag", "pylitestream")
    assert tagged.code == 1 and "pylitestream.E001" in tagged.err

    config = _config(project, ls.line)
    text = config.read_text().replace("path: " + str(project.root / "r"), "pth: /x")
    config.write_text(text)
    problem = project.pylitestream("config", "check")
    assert problem.code == 2
    message = problem.err.strip().removeprefix("pylitestream: error: ")
    broken = project.manage("check")
    assert broken.code == 1
    assert f"(pylitestream.E002) {message}" in broken.err  # the same words as `config check`
    for ran in (missing, broken, problem):
        assert SECRET not in ran.out + ran.err

    # Silenced like any Django check.
    project.add_settings('SILENCED_SYSTEM_CHECKS = ["pylitestream.E002"]')
    assert project.manage("check").code == 0


def test_in_development_the_problems_are_warnings(ls: Litestream, tmp_path: Path) -> None:
    """startproject's DEBUG = True, no config and no credentials, as on a laptop: the same
    problems as W1xx warnings, and migrate and check go on."""
    project = start_project(tmp_path / "site", {"replica_access_key": SECRET})
    ran = project.manage("check")
    assert ran.code == 0, ran.err
    assert "(pylitestream.W101) no litestream config found" in ran.err
    assert "pylitestream.E0" not in ran.err
    assert project.manage("migrate", "--noinput").code == 0 and project.db.exists()
    config = _config(project, ls.line)
    config.write_text(config.read_text().replace("path: " + str(project.root / "r"), "pth: /x"))
    broken = project.manage("check")
    assert broken.code == 0 and "(pylitestream.W102) " in broken.err
    assert SECRET not in ran.err + broken.err


def test_check_reports_unreadable_settings_and_binary(ls: Litestream, tmp_path: Path) -> None:
    project = _project(tmp_path / "site", replica_bucket=42)
    _config(project, ls.line)
    ran = project.manage("check")
    assert ran.code == 1
    assert (
        "(pylitestream.E003) Django settings.LITESTREAM['replica_bucket'] must be a string, not int"
    ) in ran.err

    fine = _project(tmp_path / "other")
    _config(fine, ls.line)
    nowhere = tmp_path / "no-binary"
    nowhere.mkdir()
    ran = fine.manage("check", env={"LITESTREAM_INSTALL_DIR": str(nowhere)})
    assert ran.code == 1 and "(pylitestream.E004) " in ran.err


def test_check_deploy_warns_unreplicated_database_and_socket(
    ls: Litestream, tmp_path: Path
) -> None:
    project = _project(tmp_path / "site")
    _config(project, ls.line)
    project.add_settings(
        'DATABASES["cache"] = {"ENGINE": "django.db.backends.sqlite3", '
        '"NAME": BASE_DIR / "cache.sqlite3"}'
    )
    plain = project.manage("check")
    assert plain.code == 0, plain.err  # the warnings are for deploys only
    deploy = project.manage("check", "--deploy")
    assert deploy.code == 0, deploy.err
    cache = project.root / "cache.sqlite3"
    assert (
        f"(pylitestream.W001) SQLite database {cache} is not replicated by "
        f"{project.root}/litestream.yml"
    ) in deploy.err
    assert f"(pylitestream.W001) SQLite database {project.db}" not in deploy.err
    assert ("(pylitestream.W002)" in deploy.err) == (ls.line == "0.5")

    if ls.line == "0.3":
        return  # 0.3 has no control socket (its config check refuses a socket: key)
    _config(project, ls.line, socket={"enabled": True, "path": str(tmp_path / "ls.sock")})
    with_socket = project.manage("check", "--deploy")
    assert with_socket.code == 0 and "(pylitestream.E" not in with_socket.err
    assert "(pylitestream.W002)" not in with_socket.err and "(pylitestream.W001)" in with_socket.err

    # A watched `dir:` entry whose pattern takes the cache database covers it, before the file
    # exists too.
    settings = yaml.safe_load(project.root.joinpath("litestream.yml").read_text())
    replica = {"type": "file", "path": str(tmp_path / "tenants")}
    settings["dbs"].append(
        {"dir": str(project.root), "pattern": "cache.sqlite3", "watch": True, "replica": replica}
    )
    project.root.joinpath("litestream.yml").write_text(yaml.safe_dump(settings))
    covered = project.manage("check", "--deploy")
    assert covered.code == 0 and "(pylitestream.W" not in covered.err, covered.err


def test_the_dashboards_gates_are_checked(ls: Litestream, tmp_path: Path) -> None:
    """E006: the dashboard included without the middleware that tells who is asking. W003 (deploy):
    a dashboard built in the URLconf with public=True, named by its config."""
    project = _project(tmp_path / "site")
    config = _config(project, ls.line)
    include_dashboard(project)
    assert "pylitestream.E006" not in project.manage("check").err
    settings = project.settings.read_text()
    project.add_settings(
        'MIDDLEWARE.remove("django.contrib.auth.middleware.AuthenticationMiddleware")'
    )
    missing = project.manage("check", "--tag", "pylitestream")
    assert missing.code == 1
    assert (
        "(pylitestream.E006) the Litestream dashboard is in the URLconf, but MIDDLEWARE lacks "
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    ) in missing.err
    project.settings.write_text(settings)

    assert "pylitestream.W003" not in project.manage("check", "--deploy").err
    with (project.root / "mysite" / "urls.py").open("a") as file:
        file.write(f"from pylitestream.web import create_wsgi_app\n"
                   f"OPEN = create_wsgi_app({str(config)!r}, public=True)\n")  # fmt: skip
    deploy = project.manage("check", "--deploy")
    assert deploy.code == 0, deploy.err
    assert (
        f"(pylitestream.W003) a Litestream dashboard for {config} is served to everyone"
    ) in deploy.err
    assert "pylitestream.W003" not in project.manage("check").err  # for deploys only


def test_the_docs_table_lists_every_check_id() -> None:
    import re

    import pylitestream.django.checks as checks

    source = Path(checks.__file__).read_text()
    ids = set(re.findall(r'id="pylitestream\.([EW]\d{3})"', source))
    # check_config's E001-E004 are built by number, W101-W104 under DEBUG.
    numbered = {f"E{n:03d}" for n in range(1, 5)} | {f"W{100 + n}" for n in range(1, 5)}
    assert "{100 + number}" in source and ":03d}" in source
    docs = Path(__file__).resolve().parents[2] / "docs" / "frameworks" / "django.md"
    rows = [line for line in docs.read_text().splitlines() if line.startswith("| `pylitestream.")]
    documented = {i for row in rows for i in re.findall(r"`(?:pylitestream\.)?([EW]\d{3})`", row)}
    assert documented == ids | numbered
