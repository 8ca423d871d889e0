"""Database aliases where pylitestream takes a path (pylitestream/django/aliases.py): an existing
path wins, an alias becomes its NAME, a bare word that is neither is refused naming the
aliases, `--` ends the rewriting, and a bare `init` gets every SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest

from pylitestream.django.aliases import translate
from pylitestream.errors import UsageError

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/app/db.sqlite3"},
    "cache": {"ENGINE": "django.db.backends.sqlite3", "NAME": Path("/srv/app/cache.sqlite3")},
    "pg": {"ENGINE": "django.db.backends.postgresql", "NAME": "app"},
    "mem": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
}


@pytest.mark.parametrize("flag", ["--database", "-database", "-d"])
def test_alias_becomes_name(flag: str) -> None:
    assert translate(["verify", flag, "default", "--json"], DATABASES) == [
        "verify",
        flag,
        "/srv/app/db.sqlite3",
        "--json",
    ]
    assert translate(["wal", f"{flag}=cache"], DATABASES) == [
        "wal",
        f"{flag}=/srv/app/cache.sqlite3",
    ]


def test_existing_path_wins_and_forwarded_args_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "default").write_text("")  # a file named like the alias: the path wins
    argv = ["restore", "-d", "default", "--", "-o", "default"]
    assert translate(argv, DATABASES) == argv
    assert translate(["restore", "-d", "new.db"], DATABASES) == ["restore", "-d", "new.db"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "defualt",
            "'defualt' is neither a database file nor an alias in settings.DATABASES "
            "(aliases: cache, default, mem, pg)",
        ),
        ("pg", "database alias 'pg' is not an SQLite file (postgresql)"),
        ("mem", "database alias 'mem' is an in-memory SQLite database"),
    ],
)
def test_refused(value: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        translate(["status", "-d", value], DATABASES)
    assert str(caught.value).startswith(message)


def test_bare_init_takes_databases_setting() -> None:
    assert translate(["init", "--line", "0.5"], DATABASES) == [
        "init",
        "--line",
        "0.5",
        "--database",
        "/srv/app/db.sqlite3",
        "--database",
        "/srv/app/cache.sqlite3",
    ]
    assert translate(["init", "-d", "cache"], DATABASES) == ["init", "-d", "/srv/app/cache.sqlite3"]
    with pytest.raises(UsageError, match=r"settings\.DATABASES has no SQLite database"):
        translate(["init"], {"pg": DATABASES["pg"]})
