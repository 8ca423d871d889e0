"""Django system checks: `manage.py check` runs the same validation as `pylitestream config
check`, and `check --deploy` warns about what would leave a database without a backup.

The ids are stable (docs/frameworks/django.md keeps the table). A config problem is an Error in
production (DEBUG off), so `migrate` and the server stop rather than run without a backup; in
development (DEBUG on, where there are often no credentials) it is a Warning, W1xx for E0xx:

    pylitestream.E001  no litestream config found
    pylitestream.E002  the config is invalid (the problem's text, as `config check` says it)
    pylitestream.E003  pylitestream's settings cannot be read (settings.LITESTREAM, pyproject)
    pylitestream.E004  no usable litestream binary
    pylitestream.E005  settings.LITESTREAM_DASHBOARD is invalid (the dashboard's rules)
    pylitestream.E006  the dashboard is in the URLconf, but MIDDLEWARE cannot tell who is asking
    pylitestream.W001  (deploy) an SQLite database in DATABASES that the config does not
                       replicate
    pylitestream.W002  (deploy) Litestream 0.5 without the control socket enabled
    pylitestream.W003  (deploy) a dashboard built with public=True: served to everyone

Every message is redacted with the secrets pylitestream knows (settings.LITESTREAM's
credentials included); the config's verdict is cached by the validation itself, so a check
after the first costs a read of the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core import checks

TAG = "pylitestream"
HINT_INIT = "run 'manage.py litestream init' to write one from DATABASES"


def _redacted(text: str) -> str:
    from ..api import known_secrets
    from ..masking import redact

    return redact(text, known_secrets())


def _problem(number: int, message: str, hint: str | None = None) -> checks.CheckMessage:
    """Error pylitestream.E00N in production, Warning pylitestream.W10N under DEBUG."""
    if getattr(settings, "DEBUG", False):
        return checks.Warning(message, hint=hint, id=f"pylitestream.W{100 + number}")
    return checks.Error(message, hint=hint, id=f"pylitestream.E{number:03d}")


def _config_problems() -> tuple[list[checks.CheckMessage], dict[str, Any] | None]:
    """The E (or, under DEBUG, W1xx) messages, and `config check`'s result when there are
    none."""
    from .. import api
    from ..errors import ConfigError, ConfigNotFound, PylitestreamError

    try:
        api.settings_sources()
    except PylitestreamError as exc:
        return [_problem(3, _redacted(str(exc)))], None
    try:
        return [], api.check_config()
    except ConfigNotFound as exc:
        error = _problem(1, _redacted(str(exc)), HINT_INIT)
    except ConfigError as exc:
        hint = "'manage.py litestream config check' says the same; fix the config file"
        error = _problem(2, _redacted(str(exc)), hint)
    except PylitestreamError as exc:
        # A usage error here is a setting (PYLITESTREAM_TIMEOUT, [tool.pylitestream]); anything
        # else (BinaryNotFound, UnsupportedVersion, a version probe that hangs) stops litestream
        # from running at all.
        error = _problem(3 if exc.exit_code == 2 else 4, _redacted(str(exc)))
    return [error], None


def check_config(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    """E001-E004 (W101-W104 under DEBUG): the config pylitestream would use, validated as
    every command does."""
    problems, _result = _config_problems()
    return problems


def check_deploy(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    """W001, W002: a valid config that still leaves something unprotected in production."""
    from .. import api
    from ..errors import PylitestreamError
    from .aliases import sqlite_databases

    problems, result = _config_problems()
    if problems or result is None:
        return []  # check_config reports them; a second copy would only be noise
    try:
        overview = api.config_databases()
    except PylitestreamError:
        return []
    found: list[Any] = []
    for name in sqlite_databases(getattr(settings, "DATABASES", {})):
        # A `dir:` entry covers a database its pattern takes, even one migrate has not made.
        if not api.is_replicated(name, overview["config"]):
            found.append(
                checks.Warning(
                    f"SQLite database {name} is not replicated by {overview['config']}",
                    hint="add it to the config ('manage.py litestream init --force' rewrites "
                    "it from DATABASES)",
                    id="pylitestream.W001",
                )
            )
    if result["line"] == "0.5" and overview["socket"] is None:
        found.append(
            checks.Warning(
                f"{overview['config']} does not enable Litestream 0.5's control socket, so "
                "'pylitestream check', 'sync', 'info' and verify's sync cannot reach litestream",
                hint="add 'socket: {enabled: true}' with a private path, as "
                "'manage.py litestream init' writes it",
                id="pylitestream.W002",
            )
        )
    return found


def check_dashboard(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    """E005: settings.LITESTREAM_DASHBOARD refused by its key, before any page is served."""
    from django.core.exceptions import ImproperlyConfigured

    from .dashboard import rules

    try:
        rules()
    except ImproperlyConfigured as exc:
        hint = 'e.g. {"view": "myapp.rules.staff", "actions": lambda user: user.is_superuser}'
        return [checks.Error(str(exc), hint=hint, id="pylitestream.E005")]
    return []


AUTH_MIDDLEWARE = (
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
)


def _dashboard_mounted() -> bool | None:
    """Whether the URLconf includes pylitestream.django.urls; None when the URLconf does not
    import (Django's own URL checks report that)."""
    from django.urls import URLResolver, get_resolver

    from .dashboard import dashboard

    def walk(patterns: Any) -> bool:
        return any(walk(p.url_patterns) if isinstance(p, URLResolver)
                   else getattr(p, "callback", None) is dashboard for p in patterns)  # fmt: skip

    try:
        return walk(get_resolver().url_patterns)
    except Exception:
        return None


def check_dashboard_middleware(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[Any]:
    """E006: the dashboard's view needs request.user, and so the session and auth middleware."""
    missing = [m for m in AUTH_MIDDLEWARE if m not in getattr(settings, "MIDDLEWARE", [])]
    if not missing or not _dashboard_mounted():
        return []
    return [checks.Error(
        f"the Litestream dashboard is in the URLconf, but MIDDLEWARE lacks {', '.join(missing)}: "
        "it could not tell who is asking, and refuses every request",
        hint="add them to MIDDLEWARE, as startproject does", id="pylitestream.E006",
    )]  # fmt: skip


def check_deploy_public(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    """W003: a dashboard built in this process (the URLconf imported) with public=True."""
    from .. import web

    _dashboard_mounted()  # imports the URLconf, where such a dashboard would be built
    return [checks.Warning(
        f"a Litestream dashboard for {config} is served to everyone (public=True, no "
        "credentials)",
        hint="include('pylitestream.django.urls') puts it behind Django's login; or pass "
        "authorize=, or set PYLITESTREAM_DASHBOARD_USERNAME and PYLITESTREAM_DASHBOARD_PASSWORD",
        id="pylitestream.W003",
    ) for config in web.served_to_everyone()]  # fmt: skip


# Registered by call, not as decorators: Django has no type information, and mypy would call the
# decorated functions untyped.
checks.register(check_config, TAG)
checks.register(check_deploy, TAG, deploy=True)
checks.register(check_dashboard, TAG)
checks.register(check_dashboard_middleware, TAG)
checks.register(check_deploy_public, TAG, deploy=True)
